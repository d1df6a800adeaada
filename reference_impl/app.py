"""The reference Nat destination over HTTP: `POST /segment` as Segment calls it, plus a read API.

Routes, auth, body limits and JSON error bodies live here; what a message means is decided by
`rules`, and what it changes by `store`.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import TextIO

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from contract.endpoints import SEGMENT_PATH
from contract.limits import MAX_BODY_BYTES
from contract.read_api import CONTACT_PATH, HEALTH_PATH, RESET_PATH, STATS_PATH, TIMELINE_PATH
from reference_impl import http_core, rules
from reference_impl.access_log import AccessLog
from reference_impl.http_io import (
    BODY_TIMEOUT_S,
    BodyTooLarge,
    BodyTooSlow,
    JSONResponse,
    read_limited_body,
)
from reference_impl.openapi import openapi_document
from reference_impl.rules import Issue
from reference_impl.store import Receipt, Store
from reference_impl.ui import ui_routes

__all__ = ["Faults", "JSONResponse", "create_app"]


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


def _any_email(template: str) -> str:
    """A read API path as a starlette route whose `{email}` takes any text, slashes too."""
    return template.replace("{email}", "{email:path}")


def _respond(answer: http_core.Answer) -> JSONResponse:
    return JSONResponse(answer.body, answer.status)


async def _read_body(request: Request, timeout: float) -> bytes | JSONResponse:
    """The body, read only as far as the size limit (a larger one is answered 413 unread) and
    for at most `timeout` seconds (a slower one is answered 408)."""
    try:
        return await read_limited_body(request, MAX_BODY_BYTES, timeout=timeout)
    except BodyTooLarge as too_large:
        return _respond(http_core.error_answer(413, *rules.body_too_large(too_large.size).errors))
    except BodyTooSlow:
        issue = Issue(
            "body", "too_slow", f"Body not complete within {timeout:g} s: send it at once"
        )
        return _respond(http_core.error_answer(408, issue))
    except ClientDisconnect:  # nobody is left to read the answer; nothing was stored
        issue = Issue("body", "incomplete", "The connection closed before the body was complete")
        return _respond(http_core.error_answer(400, issue))


class _GroupCommit:
    """Records the events that arrive in one event-loop turn in a single transaction.

    Every request is still answered only after its event is committed; under load, many share
    the cost of one commit instead of paying for their own. Should the shared transaction fail
    (it is rolled back whole), each event is recorded again on its own, so one event's failure
    is never another's (CONTRACT B.12).
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
        except Exception:  # rolled back, nothing committed: each one again alone, in order
            for event, answer in batch:
                self._record_alone(event, answer)
            return
        for (_, answer), receipt in zip(batch, receipts, strict=True):
            if not answer.done():  # the client may have gone; its event is stored all the same
                answer.set_result(receipt)

    def _record_alone(self, event: rules.Accepted, answer: asyncio.Future[Receipt]) -> None:
        try:
            receipt = self._store.record(event)
        except Exception as error:  # this event's failure, and only this one's
            if not answer.done():
                answer.set_exception(error)
            return
        if not answer.done():
            answer.set_result(receipt)


def create_app(
    store: Store,
    api_key: str,
    *,
    day_zone: tzinfo = UTC,
    faults: Faults | None = None,
    access_log: TextIO | None = None,
    body_timeout: float = BODY_TIMEOUT_S,
    close_store_on_shutdown: bool = False,
) -> Starlette:
    """The destination as an ASGI app over `store`, which the caller opens and closes, unless
    `close_store_on_shutdown` lets the server's shutdown close it (so its log is truncated)."""
    if not api_key:
        raise ValueError("the destination needs an API key")
    committer = _GroupCommit(store)
    chance = random.Random(faults.seed if faults else None)

    def authorize(request: Request) -> JSONResponse | None:
        denied = http_core.authorize(request.headers, api_key)
        return _respond(denied) if denied is not None else None

    async def segment(request: Request) -> Response:
        denied = authorize(request)
        if denied is not None:
            return denied
        body = await _read_body(request, body_timeout)
        if isinstance(body, Response):
            return body
        if faults is not None and faults.active:
            if chance.random() < faults.fail_rate:
                return _respond(
                    http_core.error_answer(
                        faults.fail_status,
                        Issue("body", "injected_failure", "Injected failure (--fail-rate): retry"),
                    )
                )
            if chance.random() < faults.slow_rate:
                await asyncio.sleep(faults.slow_seconds)
        verdict = http_core.judge_segment(
            body, request.headers.get("content-type"), day_zone=day_zone
        )
        if isinstance(verdict, http_core.Answer):
            return _respond(verdict)
        return JSONResponse((await committer.record(verdict)).body())

    def _read_api(
        read: Callable[[Request], http_core.Answer],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            return authorize(request) or _respond(read(request))

        return guarded

    def contact(request: Request) -> http_core.Answer:
        return http_core.read_contact(store, request.path_params["email"])

    def timeline(request: Request) -> http_core.Answer:
        return http_core.read_timeline(store, request.path_params["email"])

    healthy = _respond(http_core.read_health())

    async def health(request: Request) -> Response:
        return healthy

    def stats(request: Request) -> http_core.Answer:
        return http_core.read_stats(store)

    def reset(request: Request) -> http_core.Answer:
        return http_core.reset_store(store)

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
                f"No route {request.url.path}: Segment posts to {SEGMENT_PATH}; "
                f"the read API is {CONTACT_PATH}, {TIMELINE_PATH}, {STATS_PATH}, {RESET_PATH}; "
                f"{HEALTH_PATH} needs no key",
            )
        else:
            issue = Issue("request", "http_error", str(exc.detail))
        response = _respond(http_core.error_answer(exc.status_code, issue))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        logging.getLogger("nat_harness.errors").exception("unhandled error on %s", request.url.path)
        return _respond(
            http_core.error_answer(
                500, Issue("server", "internal_error", "Internal error: the event was not stored")
            )
        )

    routes = [
        Route(SEGMENT_PATH, segment, methods=["POST"]),
        Route(_any_email(TIMELINE_PATH), _read_api(timeline), methods=["GET"]),
        Route(_any_email(CONTACT_PATH), _read_api(contact), methods=["GET"]),
        Route(HEALTH_PATH, health, methods=["GET"]),
        Route(STATS_PATH, _read_api(stats), methods=["GET"]),
        Route(RESET_PATH, _read_api(reset), methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        *ui_routes(store, api_key),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        if close_store_on_shutdown:
            store.close()

    app = Starlette(
        lifespan=lifespan,
        routes=routes,
        middleware=[Middleware(AccessLog, stream=access_log)] if access_log else [],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    # `/segment/` is no route: a JSON 404 naming the right path, never an empty 307 (B.13).
    app.router.redirect_slashes = False
    return app
