"""Segment's tracking API, locally: the endpoints Segment's client libraries post to.

`POST /v1/identify|track|page|screen|group|alias|batch` take the write key in the body or as
Basic `writeKey:`, gzip bodies, 32 KB per event, 500 KB and 2,500 events per batch. Invalid JSON
and oversize bodies get 400; everything else 200 `{"success": true}`, even events that are later
filtered, as Segment answers (CONTRACT A.7). `GET /journal` and `GET /status` show what happened.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import zlib
from typing import TYPE_CHECKING, Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness.errors import UsageError
from harness.segment.pipeline import MESSAGE_TYPES
from harness.segment.ui import delivery_routes

if TYPE_CHECKING:
    from harness.segment.simulator import Simulator

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_EVENTS", "MAX_EVENT_BYTES", "create_ingest_app"]

MAX_EVENT_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
MAX_BATCH_EVENTS = 2500
_SUCCESS = b'{"success":true}'


class _JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)


def _error(status: int, code: str, message: str) -> Response:
    """Errors carry `code` and `message`, which Segment's libraries read and log."""
    return _JSON({"success": False, "code": code, "message": message}, status)


class _Refused(Exception):
    """A request the tracking API refuses; carries the response to send."""

    def __init__(self, response: Response) -> None:
        self.response = response


async def _read_body(request: Request, limit: int) -> bytes:
    """The decoded body (gunzipped if so encoded), refused past `limit` bytes."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("identity", "gzip", ""):
        raise _Refused(
            _error(
                400,
                "invalid_request",
                f"Content-Encoding {encoding!r} is not supported: send gzip or no encoding",
            )
        )
    declared = request.headers.get("content-length", "")
    if encoding != "gzip" and declared.isdigit() and int(declared) > limit:
        raise _Refused(_too_large(int(declared), limit))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(_too_large(size, limit))
        chunks.append(chunk)
    body = b"".join(chunks)
    if encoding != "gzip":
        return body
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        inflated = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise _Refused(
            _error(400, "invalid_request", f"the body is not valid gzip: {error}")
        ) from None
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise _Refused(_too_large(len(inflated) + len(inflater.unconsumed_tail), limit))
    if not inflater.eof:
        raise _Refused(_error(400, "invalid_request", "the gzip body is truncated"))
    return inflated


def _too_large(size: int, limit: int) -> Response:
    return _error(
        400,
        "payload_too_large",
        f"the request is {size} bytes or more: Segment takes at most {limit // 1024} KB here "
        f"({MAX_EVENT_BYTES // 1024} KB per event, {MAX_BATCH_BYTES // 1024} KB per batch)",
    )


def _parse_object(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        refusal = _error(400, "invalid_json", f"the body is not valid JSON: {error}")
        raise _Refused(refusal) from None
    if not isinstance(payload, dict):
        raise _Refused(_error(400, "invalid_request", "the body must be a JSON object"))
    return payload


def _key_from_authorization(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


def _check_write_key(request: Request, payload: dict[str, Any], expected: bytes | None) -> None:
    """Any write key passes unless the simulator was given one; then it must be that one."""
    if expected is None:
        return
    key = payload.get("writeKey")
    if not isinstance(key, str) or not key:
        key = _key_from_authorization(request.headers.get("authorization"))
    if key is None:
        raise _Refused(
            _error(
                401,
                "unauthorized",
                "Missing write key: send it as writeKey in the body or as Basic writeKey:",
            )
        )
    if not hmac.compare_digest(key.encode("utf-8"), expected):
        raise _Refused(_error(401, "unauthorized", "Invalid write key"))


def _check_event_sizes(events: list[Any]) -> None:
    for index, event in enumerate(events):
        size = len(orjson.dumps(event))
        if size > MAX_EVENT_BYTES:
            raise _Refused(
                _error(
                    400,
                    "payload_too_large",
                    f"batch[{index}] is {size} bytes: Segment takes at most "
                    f"{MAX_EVENT_BYTES // 1024} KB per event",
                )
            )


def create_ingest_app(simulator: Simulator) -> Starlette:
    """The tracking API in front of `simulator`."""
    write_key = simulator.config.write_key
    expected = write_key.encode("utf-8") if write_key else None

    async def batch(request: Request) -> Response:
        try:
            body = await _read_body(request, MAX_BATCH_BYTES)
            payload = _parse_object(body)
            _check_write_key(request, payload, expected)
            events = payload.get("batch")
            if not isinstance(events, list):
                return _error(400, "invalid_request", "batch must be an array of events")
            if len(events) > MAX_BATCH_EVENTS:
                return _error(
                    400,
                    "payload_too_large",
                    f"the batch has {len(events)} events: Segment takes at most "
                    f"{MAX_BATCH_EVENTS} per batch",
                )
            if len(body) > MAX_EVENT_BYTES:
                _check_event_sizes(events)
        except _Refused as refused:
            return refused.response
        simulator.accept(events, sent_at=payload.get("sentAt"))
        return _JSON(_SUCCESS)

    def single(message_type: str) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                payload = _parse_object(await _read_body(request, MAX_EVENT_BYTES))
                _check_write_key(request, payload, expected)
            except _Refused as refused:
                return refused.response
            simulator.accept([payload], path_type=message_type)
            return _JSON(_SUCCESS)

        return endpoint

    async def journal(request: Request) -> Response:
        query = request.query_params
        limit_text = query.get("limit", "100")
        if not limit_text.isdigit():
            return _error(
                400, "invalid_request", f"limit must be a whole number, got {limit_text!r}"
            )
        try:
            entries = simulator.journal.query(
                message_id=query.get("messageId"),
                status=query.get("status"),
                limit=min(int(limit_text), simulator.journal.capacity),
            )
        except UsageError as error:
            return _error(400, "invalid_request", str(error))
        return _JSON(
            {
                "entries": [entry.as_dict() for entry in entries],
                "counts": simulator.journal.counts(),
            }
        )

    async def status(request: Request) -> Response:
        return _JSON(simulator.status())

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        routes = ", ".join(f"POST /v1/{name}" for name in (*MESSAGE_TYPES, "batch"))
        response = _error(
            exc.status_code,
            "not_found" if exc.status_code == 404 else "invalid_request",
            f"{request.method} {request.url.path}: {exc.detail}. The tracking API has {routes}; "
            "GET /journal and GET /status show what happened",
        )
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    routes = [
        Route("/v1/batch", batch, methods=["POST"]),
        *(Route(f"/v1/{name}", single(name), methods=["POST"]) for name in MESSAGE_TYPES),
        Route("/journal", journal, methods=["GET"]),
        Route("/status", status, methods=["GET"]),
        *delivery_routes(simulator),
    ]
    return Starlette(routes=routes, exception_handlers={HTTPException: http_error})
