"""The HTTP/1.1 protocol the reference destination is served with: uvicorn's httptools protocol,
answering its own protocol errors in JSON like every other answer (CONTRACT B.13), with limits on
how large and how slow a request head may be.

uvicorn takes a protocol class as `Config(http=...)`. Its plain-text 400 for a request it cannot
parse is the one answer the app never sees, so it is replaced here. uvicorn has no limit on the
size of a request head with httptools (only h11 has one, `h11_max_incomplete_event_size`, at about
twice the CPU per request) and no timeout before a head is complete (`timeout_keep_alive` runs only
between requests), so both are added here, and nothing else is changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from reference_impl.http_core import error_answer
from reference_impl.rules import Issue

__all__ = ["ConnectionLimits", "JSONErrorsProtocol", "uvicorn_options"]


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How large and how slow a request head may be, and how long an idle connection lives.

    A head (request line and headers) over `max_head_bytes` is answered 431, one not complete
    `head_timeout` seconds after the connection opened or its first byte arrived is answered 408;
    a connection idle that long before its first request, or `keep_alive_timeout` after an answer,
    is closed. Bodies have their own limits (`reference_impl.http_io`).
    """

    max_head_bytes: int = 16 * 1024
    head_timeout: float = 10.0
    keep_alive_timeout: int = 5


def _error_response(status: int, code: str, message: str) -> tuple[bytes, bytes]:
    """The status line, and the headers after uvicorn's own (server, date) with the body, of an
    error answer that closes the connection; the body is every error's (CONTRACT B.10)."""
    body = orjson.dumps(error_answer(status, Issue("request", code, message)).body)
    rest = b"".join(
        [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )
    return STATUS_LINE[status], rest


_MALFORMED = _error_response(
    400,
    "malformed_request",
    "Malformed HTTP request: the request line or a header could not be parsed "
    "(send HTTP/1.1 with an ASCII request target, such as POST /segment HTTP/1.1)",
)


class _HeadTooLarge(Exception):
    """Raised in a parser callback: the parser stops, and the connection gets a 431."""


class JSONErrorsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose own answers are JSON, with `limits` on request heads.

    The head's size is the request target and every header as the parser completes them; a
    header still being received (the parser holds it whole) is bounded by counting the reads
    that arrive while the head is incomplete, except the read in which the request began (where
    in it the head starts is not known). So a head over the limit is refused as soon as a header
    completes, and a single endless header at most one read after it passed the limit.
    """

    limits = ConnectionLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0  # counted from the reads, while a header is incomplete
        self._head_parsed = 0  # the request target and the headers completed so far
        self._in_head = True  # awaiting or reading a request head
        self._head_began = False  # a request began in the read being parsed
        self._head_started = False  # some byte of the current head has arrived
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(
            self.limits.head_timeout, self._head_too_slow
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        counted = self._in_head
        self._head_began = False
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes = 0 if self._head_began or not counted else self._head_bytes + len(data)
        if self._head_bytes > self.limits.max_head_bytes:
            self._refuse_large_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = self._head_began = self._head_started = True
        self._head_bytes = self._head_parsed = 0
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.limits.head_timeout, self._head_too_slow)

    def on_url(self, url: bytes) -> None:
        self._count_parsed(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_parsed(len(name) + len(value) + 4)  # "name: value\r\n"
        super().on_header(name, value)

    def _count_parsed(self, size: int) -> None:
        self._head_parsed += size
        if self._head_parsed > self.limits.max_head_bytes:
            raise _HeadTooLarge  # the parser stops: send_400_response answers 431

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_started = False

    def send_400_response(self, msg: str) -> None:
        if self._head_parsed > self.limits.max_head_bytes:
            self._refuse_large_head()
        else:
            self._send_error(_MALFORMED)

    def _refuse_large_head(self) -> None:
        self._send_error(
            _error_response(
                431,
                "head_too_large",
                f"Request line and headers over {self.limits.max_head_bytes:,} bytes: "
                "send a shorter request target and fewer or smaller headers",
            )
        )

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or not self._in_head:
            return
        if self._head_started:
            self._send_error(
                _error_response(
                    408,
                    "head_too_slow",
                    f"Request line and headers not complete within {self.limits.head_timeout:g} "
                    "s: send the whole head at once",
                )
            )
        else:  # nothing sent at all: close quietly, as uvicorn closes an idle keep-alive
            self.transport.close()

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _send_error(self, response: tuple[bytes, bytes]) -> None:
        """Send an error answer and close, as uvicorn's own error answers do."""
        status_line, rest = response
        own = [b"%s: %s\r\n" % pair for pair in self.server_state.default_headers]
        self.transport.write(b"".join([status_line, *own, rest]))
        self.transport.close()


def uvicorn_options(limits: ConnectionLimits | None = None) -> dict[str, Any]:
    """The `uvicorn.Config` options every server of the reference destination runs with."""
    protocol: type[JSONErrorsProtocol] = JSONErrorsProtocol
    if limits is not None and limits != JSONErrorsProtocol.limits:
        protocol = type("JSONErrorsProtocol", (JSONErrorsProtocol,), {"limits": limits})
    return {
        "http": protocol,
        "timeout_keep_alive": (limits or JSONErrorsProtocol.limits).keep_alive_timeout,
        # No WebSocket routes: an Upgrade request is answered as plain HTTP, in JSON, by the app.
        "ws": "none",
    }
