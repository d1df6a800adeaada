"""`POST /segment` on plain ASGI: the route every Segment delivery takes, answered without
starlette's routing, `Request` and `Response` objects, which cost more than the rules do
(figures in bench/README.md). Every other request goes to the starlette app behind it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, tzinfo

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from contract.endpoints import SEGMENT_PATH
from contract.limits import MAX_BODY_BYTES
from contract.settings import SettingError
from reference_impl import http_core, rules
from reference_impl.group_commit import GroupCommit
from reference_impl.http_io import BODY_TIMEOUT_S, BodyTooLarge, BodyTooSlow, read_limited_stream
from reference_impl.rules import Issue

__all__ = ["Faults", "SegmentEndpoint", "internal_error", "segment_first"]

#: The request headers the endpoint reads; the others are never decoded.
_READ_HEADERS = frozenset((b"authorization", b"content-type", b"content-length"))
_JSON_HEADER = (b"content-type", b"application/json")


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
                raise SettingError(name, f"must be between 0 and 1, got {rate}")
        if not 100 <= self.fail_status <= 599:
            raise SettingError(
                "fail_status", f"must be an HTTP status (100 to 599), got {self.fail_status}"
            )
        if self.slow_seconds < 0:
            raise SettingError(
                "slow_seconds", f"must be zero or more seconds, got {self.slow_seconds}"
            )

    @property
    def active(self) -> bool:
        return self.fail_rate > 0 or self.slow_rate > 0


def internal_error() -> http_core.Answer:
    """The 500 of an unexpected failure: nothing was stored, so the sender may retry."""
    return http_core.error_answer(
        500, Issue("server", "internal_error", "Internal error: the event was not stored")
    )


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    """The body's chunks as the server hands them over, until the last one."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return


class SegmentEndpoint:
    """The ASGI endpoint of `POST /segment`: auth, the body limits, the rules, the store."""

    def __init__(
        self,
        committer: GroupCommit,
        api_key: str,
        *,
        day_zone: tzinfo = UTC,
        faults: Faults | None = None,
        body_timeout: float = BODY_TIMEOUT_S,
    ) -> None:
        self._committer = committer
        self._api_key = api_key
        self._day_zone = day_zone
        self._faults = faults if faults is not None and faults.active else None
        self._chance = random.Random(faults.seed if faults else None)
        self._body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            status, body = await self._answer(scope, receive)
        except Exception:
            logging.getLogger("nat_harness.errors").exception("unhandled error on /segment")
            failed = internal_error()
            status, body = failed.status, orjson.dumps(failed.body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [_JSON_HEADER, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, scope: Scope, receive: Receive) -> tuple[int, bytes]:
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            if name in _READ_HEADERS:  # the first of repeated headers, as starlette reads them
                headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        denied = http_core.authorize(headers, self._api_key)
        if denied is not None:
            return denied.status, orjson.dumps(denied.body)
        body = await self._read_body(headers.get("content-length", ""), receive)
        if isinstance(body, http_core.Answer):
            return body.status, orjson.dumps(body.body)
        if self._faults is not None:
            injected = await self._inject(self._faults)
            if injected is not None:
                return injected.status, orjson.dumps(injected.body)
        verdict = http_core.judge_segment(
            body, headers.get("content-type"), day_zone=self._day_zone
        )
        if isinstance(verdict, http_core.Answer):
            return verdict.status, orjson.dumps(verdict.body)
        return 200, orjson.dumps((await self._committer.record(verdict)).body())

    async def _read_body(self, declared: str, receive: Receive) -> bytes | http_core.Answer:
        """The body, read only as far as the size limit (a larger one is answered 413 unread)
        and for at most the body timeout (a slower one is answered 408)."""
        timeout = self._body_timeout
        try:
            return await read_limited_stream(
                declared, _chunks(receive), MAX_BODY_BYTES, timeout=timeout
            )
        except BodyTooLarge as too_large:
            return http_core.error_answer(413, *rules.body_too_large(too_large.size).errors)
        except BodyTooSlow:
            issue = Issue(
                "body", "too_slow", f"Body not complete within {timeout:g} s: send it at once"
            )
            return http_core.error_answer(408, issue)
        except ClientDisconnect:  # nobody is left to read the answer; nothing was stored
            issue = Issue(
                "body", "incomplete", "The connection closed before the body was complete"
            )
            return http_core.error_answer(400, issue)

    async def _inject(self, faults: Faults) -> http_core.Answer | None:
        """An injected failure, or None once an injected delay (if any) has passed."""
        if self._chance.random() < faults.fail_rate:
            issue = Issue("body", "injected_failure", "Injected failure (--fail-rate): retry")
            return http_core.error_answer(faults.fail_status, issue)
        if self._chance.random() < faults.slow_rate:
            await asyncio.sleep(faults.slow_seconds)
        return None


def segment_first(endpoint: SegmentEndpoint, app: ASGIApp) -> ASGIApp:
    """An ASGI app that hands `POST /segment` straight to `endpoint` and the rest to `app`."""

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == SEGMENT_PATH and scope["method"] == "POST":
            await endpoint(scope, receive, send)
        else:
            await app(scope, receive, send)

    return dispatch
