"""The reference Nat destination over HTTP: `POST /segment` as Segment calls it, plus a read API.

Routes, auth, body limits and JSON error bodies live here; what a message means is decided by
`rules`, and what it changes by `store`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, tzinfo
from typing import TextIO

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from contract.endpoints import SEGMENT_PATH
from contract.read_api import CONTACT_PATH, HEALTH_PATH, RESET_PATH, STATS_PATH, TIMELINE_PATH
from reference_impl import http_core
from reference_impl.access_log import AccessLog
from reference_impl.group_commit import GroupCommit
from reference_impl.http_io import BODY_TIMEOUT_S, JSONResponse
from reference_impl.openapi import openapi_document
from reference_impl.rules import Issue
from reference_impl.segment_endpoint import Faults, SegmentEndpoint, internal_error, segment_first
from reference_impl.store import Store
from reference_impl.ui import ui_routes

__all__ = ["Faults", "JSONResponse", "create_app"]


def _any_email(template: str) -> str:
    """A read API path as a starlette route whose `{email}` takes any text, slashes too."""
    return template.replace("{email}", "{email:path}")


def _respond(answer: http_core.Answer) -> JSONResponse:
    return JSONResponse(answer.body, answer.status)


def create_app(
    store: Store,
    api_key: str,
    *,
    day_zone: tzinfo = UTC,
    faults: Faults | None = None,
    access_log: TextIO | None = None,
    body_timeout: float = BODY_TIMEOUT_S,
    close_store_on_shutdown: bool = False,
) -> ASGIApp:
    """The destination as an ASGI app over `store`, which the caller opens and closes, unless
    `close_store_on_shutdown` lets the server's shutdown close it (so its log is truncated)."""
    if not api_key:
        raise ValueError("the destination needs an API key")
    segment = SegmentEndpoint(
        GroupCommit(store), api_key, day_zone=day_zone, faults=faults, body_timeout=body_timeout
    )

    def authorize(request: Request) -> JSONResponse | None:
        denied = http_core.authorize(request.headers, api_key)
        return _respond(denied) if denied is not None else None

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
        return _respond(internal_error())

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
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    # `/segment/` is no route: a JSON 404 naming the right path, never an empty 307 (B.13).
    app.router.redirect_slashes = False
    # The starlette route above answers only the other methods of /segment (405).
    destination = segment_first(segment, app)
    return AccessLog(destination, stream=access_log) if access_log else destination
