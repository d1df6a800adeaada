"""The reference Nat destination over HTTP: `POST /segment` as Segment calls it, plus a read API.

Routes, auth, body limits and JSON error bodies live here; what a message means is decided by
`rules`, and what it changes by `store`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_impl import rules
from reference_impl.openapi import openapi_document
from reference_impl.rules import Issue, Rejected
from reference_impl.store import Receipt, Store

__all__ = ["Faults", "JSONResponse", "create_app"]

access_logger = logging.getLogger("nat_harness.access")


class JSONResponse(Response):
    """A JSON response serialised with orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


@dataclass(frozen=True, slots=True)
class Faults:
    """Failures the destination injects on `POST /segment`, to exercise a sender's retry path.

    A failed request changes nothing and answers `fail_status`; a slow one waits `slow_seconds`
    and is then processed normally (a sender that gave up will retry it, and be replayed).
    """

    fail_rate: float = 0.0
    fail_status: int = 503
    slow_rate: float = 0.0
    slow_seconds: float = 6.0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("fail_rate", "slow_rate"):
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
        if not 100 <= self.fail_status <= 599:
            raise ValueError(f"fail_status must be an HTTP status, got {self.fail_status}")

    @property
    def active(self) -> bool:
        return self.fail_rate > 0 or self.slow_rate > 0


def _error(status: int, *issues: Issue) -> JSONResponse:
    return JSONResponse(
        Rejected(status, "; ".join(i.message for i in issues), issues).body(), status
    )


def _rejection(rejected: Rejected) -> JSONResponse:
    return JSONResponse(rejected.body(), rejected.status)


def _key_from(authorization: str) -> str | None:
    """The API key carried by an Authorization header (Basic `key:` or Bearer), if readable."""
    scheme, _, credentials = authorization.strip().partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer":
        return credentials or None
    if scheme == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0]
    return None


def _check_auth(request: Request, api_key: bytes) -> JSONResponse | None:
    """None when the request carries the key; otherwise the 401 that says what is wrong."""
    authorization = request.headers.get("authorization")
    if not authorization:
        return _error(
            401,
            Issue(
                "Authorization",
                "missing_key",
                "Missing API key: send Authorization: Basic base64(<api key> + ':')",
            ),
        )
    key = _key_from(authorization)
    if key is None:
        return _error(
            401,
            Issue(
                "Authorization",
                "malformed_authorization",
                "Unreadable Authorization header: use Basic base64(<api key> + ':') "
                "or Bearer <api key>",
            ),
        )
    if not hmac.compare_digest(key.encode("utf-8"), api_key):
        return _error(
            401,
            Issue("Authorization", "wrong_key", "Wrong API key: check the destination's API Key"),
        )
    return None


async def _read_body(request: Request) -> bytes | JSONResponse:
    """The body, read only as far as the 32 KB limit: a larger one is answered 413 unread."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > rules.MAX_BODY_BYTES:
        return _rejection(rules.body_too_large(int(declared)))
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > rules.MAX_BODY_BYTES:
            return _rejection(rules.body_too_large(size))
        chunks.append(chunk)
    return b"".join(chunks)


class _GroupCommit:
    """Records the events that arrive in one event-loop turn in a single transaction.

    Every request is still answered only after its event is committed; under load, many share
    the cost of one commit instead of paying for their own.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: list[tuple[rules.Accepted, asyncio.Future[Receipt]]] = []

    async def record(self, event: rules.Accepted) -> Receipt:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Receipt] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._commit)
        self._pending.append((event, answer))
        return await answer

    def _commit(self) -> None:
        batch, self._pending = self._pending, []
        try:
            receipts = self._store.record_many([event for event, _ in batch])
        except Exception as error:  # nothing was committed: every request gets the error
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(error)
            return
        for (_, answer), receipt in zip(batch, receipts, strict=True):
            if not answer.done():  # the client may have gone; its event is stored all the same
                answer.set_result(receipt)


def create_app(
    store: Store,
    api_key: str,
    *,
    day_zone: tzinfo = UTC,
    faults: Faults | None = None,
    access_log: bool = False,
) -> Starlette:
    """The destination as an ASGI app over `store` (which the caller opens and closes)."""
    if not api_key:
        raise ValueError("the destination needs an API key")
    key_bytes = api_key.encode("utf-8")
    committer = _GroupCommit(store)
    chance = random.Random(faults.seed if faults else None)

    async def segment(request: Request) -> Response:
        denied = _check_auth(request, key_bytes)
        if denied is not None:
            return denied
        body = await _read_body(request)
        if isinstance(body, Response):
            return body
        if faults is not None and faults.active:
            if chance.random() < faults.fail_rate:
                return _error(
                    faults.fail_status,
                    Issue(
                        "body", "injected_failure", "Injected failure (--fail-rate): retry later"
                    ),
                )
            if chance.random() < faults.slow_rate:
                await asyncio.sleep(faults.slow_seconds)
        payload = rules.parse_body(body, request.headers.get("content-type"))
        if isinstance(payload, Rejected):
            return _rejection(payload)
        verdict = rules.evaluate(payload, day_zone=day_zone)
        if isinstance(verdict, Rejected):
            return _rejection(verdict)
        return JSONResponse((await committer.record(verdict)).body())

    def _read_api(
        handler: Callable[[Request], Response],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            return _check_auth(request, key_bytes) or handler(request)

        return guarded

    def _unknown_contact(contact_key: str) -> JSONResponse:
        return _error(
            404,
            Issue("email", "unknown_contact", f"No contact {contact_key!r}: nothing accepted yet"),
        )

    def contact(request: Request) -> Response:
        contact_key = rules.contact_key_of(request.path_params["email"])
        found = store.contact(contact_key)
        return JSONResponse(found) if found is not None else _unknown_contact(contact_key)

    def timeline(request: Request) -> Response:
        contact_key = rules.contact_key_of(request.path_params["email"])
        entries = store.timeline(contact_key)
        if entries is None:
            return _unknown_contact(contact_key)
        return JSONResponse({"contact": contact_key, "entries": entries})

    def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", **store.counts()})

    def reset(request: Request) -> Response:
        store.reset()
        return JSONResponse({"status": "reset"})

    document = openapi_document()

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allowed = exc.headers.get("Allow", "") if exc.headers else ""
            issue = Issue(
                "method",
                "method_not_allowed",
                f"{request.method} is not allowed on {request.url.path}: use {allowed}",
            )
        elif exc.status_code == 404:
            issue = Issue(
                "path",
                "not_found",
                f"No route {request.url.path}: Segment posts to /segment; "
                "the read API is /contacts/{email}, /contacts/{email}/timeline, /health, /reset",
            )
        else:
            issue = Issue("request", "http_error", str(exc.detail))
        response = _error(exc.status_code, issue)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        logging.getLogger("nat_harness.errors").exception("unhandled error on %s", request.url.path)
        return _error(
            500, Issue("server", "internal_error", "Internal error: the event was not stored")
        )

    routes = [
        Route("/segment", segment, methods=["POST"]),
        Route("/contacts/{email:path}/timeline", _read_api(timeline), methods=["GET"]),
        Route("/contacts/{email:path}", _read_api(contact), methods=["GET"]),
        Route("/health", _read_api(health), methods=["GET"]),
        Route("/reset", _read_api(reset), methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(AccessLog)] if access_log else [],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )


class AccessLog:
    """Logs one JSON line per request (method, path, status, ms); never headers, never keys."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            access_logger.info(
                orjson.dumps(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 2),
                    }
                ).decode()
            )
