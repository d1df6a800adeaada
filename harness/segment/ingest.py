"""Segment's tracking API, locally: the endpoints Segment's client libraries post to.

`POST /v1/identify|track|page|screen|group|alias|batch` take the write key in the body or as
Basic `writeKey:`, gzip bodies, 32 KB per event, 500 KB and 2,500 events per batch (CONTRACT A.7).

A request is taken whole or refused whole. It is refused (400 with a `code` and a `message`
naming the event and field; nothing of it journaled, remembered or queued, so the client's retry
is not a duplicate) when it is not valid JSON, is too large, or holds an event the simulator
cannot carry (over 32 KB, nested deeper than 255 levels). Otherwise it gets 200
`{"success": true}` and each of its events is journaled and forwarded or filtered on its own, as
Segment answers even for events it later filters. `GET /journal` and `GET /status` show what
happened.
"""

from __future__ import annotations

import hmac
import zlib
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contract.credentials import read_credentials
from contract.limits import MAX_BATCH_BYTES, MAX_BATCH_EVENTS, SEGMENT_MAX_EVENT_BYTES
from harness.errors import UsageError
from harness.segment.outbox import StorageUnavailable
from harness.segment.pipeline import MESSAGE_TYPES, UnstorableEvent
from harness.segment.tracked import TrackedSimulator
from harness.segment.ui import delivery_routes
from reference_impl.http_io import BodyTooLarge, BodyTooSlow, read_limited_body
from reference_impl.http_io import JSONResponse as _JSON

#: Nesting levels orjson encodes; a deeper event cannot be stored or delivered.
_MAX_DEPTH = 255

__all__ = ["create_ingest_app"]

_SUCCESS = b'{"success":true}'


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
    try:
        body = await read_limited_body(request, limit)
    except BodyTooLarge as too_large:
        raise _Refused(_too_large(too_large.size, limit)) from None
    except BodyTooSlow as too_slow:
        message = f"the body did not arrive within {too_slow.timeout:g} s: send it at once"
        raise _Refused(_error(408, "request_timeout", message)) from None
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
        f"({SEGMENT_MAX_EVENT_BYTES // 1024} KB per event, {MAX_BATCH_BYTES // 1024} KB per batch)",
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
    """The write key of a Basic `writeKey:` header (Segment's API takes no Bearer)."""
    credentials = read_credentials(header) if header else None
    if credentials is None or credentials.scheme != "basic":
        return None
    return credentials.key or None


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


def _check_events(events: list[Any], name: str) -> None:
    """Refuse the request if one event cannot be carried: over 32 KB, or nested deeper than the
    simulator's JSON serializer takes. `name` is how the answer names an event (`batch[3]`)."""
    for index, event in enumerate(events):
        where = name.format(index=index)
        try:
            size = len(orjson.dumps(event))
        except orjson.JSONEncodeError:
            raise _Refused(
                _error(
                    400,
                    "invalid_request",
                    f"{_too_deep(event, where)} nests deeper than {_MAX_DEPTH} levels: the "
                    "simulator cannot store or deliver it; nothing of this request was accepted",
                )
            ) from None
        if size > SEGMENT_MAX_EVENT_BYTES:
            raise _Refused(
                _error(
                    400,
                    "payload_too_large",
                    f"{where or 'the event'} is {size} bytes: Segment takes at most "
                    f"{SEGMENT_MAX_EVENT_BYTES // 1024} KB per event",
                )
            )


def _too_deep(event: Any, where: str) -> str:
    """The first top-level field of `event` that cannot be encoded, as `batch[3].traits`."""
    if isinstance(event, dict):
        for key, value in event.items():
            try:
                orjson.dumps(value)
            except orjson.JSONEncodeError:
                return f"{where}.{key}" if where else key
    elif isinstance(event, list):
        for position, value in enumerate(event):
            try:
                orjson.dumps(value)
            except orjson.JSONEncodeError:
                return f"{where}[{position}]"
    return where or "the event"


def _unavailable(error: StorageUnavailable) -> Response:
    """The simulator could not store the request: a 503 the client retries, nothing taken."""
    response = _error(503, "unavailable", f"{error}; nothing of this request was accepted, retry")
    response.headers["Retry-After"] = "1"
    return response


def _refused_unstorable(error: UnstorableEvent) -> Response:
    return _error(
        400,
        "invalid_request",
        f"{error}: the simulator cannot store or deliver it; nothing of this request was accepted",
    )


def create_ingest_app(simulator: TrackedSimulator) -> Starlette:
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
            _check_events(events, "batch[{index}]")
            simulator.accept(events, sent_at=payload.get("sentAt"))
        except _Refused as refused:
            return refused.response
        except UnstorableEvent as error:
            return _refused_unstorable(error)
        except StorageUnavailable as error:
            return _unavailable(error)
        return _JSON(_SUCCESS)

    def single(message_type: str) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                payload = _parse_object(await _read_body(request, SEGMENT_MAX_EVENT_BYTES))
                _check_write_key(request, payload, expected)
                _check_events([payload], "")
                simulator.accept([payload], path_type=message_type)
            except _Refused as refused:
                return refused.response
            except UnstorableEvent as error:
                return _refused_unstorable(error)
            except StorageUnavailable as error:
                return _unavailable(error)
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
