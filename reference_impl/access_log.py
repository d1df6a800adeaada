"""A structured access log: one JSON line per request (method, path, status, ms), never headers,
so never a key.

Lines go through a buffer flushed within half a second (and at exit) rather than one write per
request: at thousands of requests a second, per-line writes cost more than the request itself.
"""

from __future__ import annotations

import asyncio
import atexit
import sys
import time
from typing import TextIO

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AccessLog", "buffered_stderr"]

_FLUSH_AFTER_S = 0.5


def buffered_stderr() -> TextIO:
    """Standard error behind a 64 KB buffer (Python's own stderr writes every line at once)."""
    # Lives as long as the process; closefd=False leaves fd 2 itself alone.
    stream = open(sys.stderr.fileno(), "w", buffering=1 << 16, closefd=False, encoding="utf-8")  # noqa: SIM115
    atexit.register(stream.flush)
    return stream


class AccessLog:
    """ASGI middleware writing one JSON line per HTTP request to `stream`."""

    def __init__(self, app: ASGIApp, stream: TextIO) -> None:
        self.app = app
        self._stream = stream
        self._flush_pending = False

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
            line = {
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 2),
            }
            self._stream.write(orjson.dumps(line).decode() + "\n")
            if not self._flush_pending:
                self._flush_pending = True
                asyncio.get_running_loop().call_later(_FLUSH_AFTER_S, self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        self._stream.flush()
