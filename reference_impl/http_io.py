"""The starlette edge both servers share: a body read only up to a limit, and orjson answers.

The reference destination and the simulator's tracking API read and answer through these, so the
limited reader and the JSON response exist once; what each limit is and how a refusal is worded
stay with each server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "BODY_TIMEOUT_S",
    "BodyTooLarge",
    "BodyTooSlow",
    "JSONResponse",
    "read_limited_body",
    "read_limited_stream",
]

#: How long a body may take to arrive once its headers have (a slow-body connection is refused).
BODY_TIMEOUT_S = 10.0


class JSONResponse(Response):
    """A JSON response serialised with orjson; bytes are sent as they are (already JSON)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)


class BodyTooLarge(Exception):
    """The body is over the limit: at least `size` bytes were declared or read."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the body is {size} bytes or more, over the limit of {limit}")
        self.size = size
        self.limit = limit


class BodyTooSlow(Exception):
    """The body did not arrive within `timeout` seconds."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"the body did not arrive within {timeout:g} s")
        self.timeout = timeout


async def read_limited_body(
    request: Request, limit: int, *, timeout: float = BODY_TIMEOUT_S
) -> bytes:
    """The request body as sent (not decoded), read only as far as `limit` bytes and for at most
    `timeout` seconds: `read_limited_stream` over a starlette request."""
    declared = request.headers.get("content-length", "")
    return await read_limited_stream(declared, request.stream(), limit, timeout=timeout)


async def read_limited_stream(
    declared: str, chunks: AsyncIterator[bytes], limit: int, *, timeout: float = BODY_TIMEOUT_S
) -> bytes:
    """A body from its `chunks`, read only as far as `limit` bytes and for at most `timeout`
    seconds; `declared` is its Content-Length header ("" when there is none).

    A declared length over the limit is refused before anything is read, a streamed body as soon
    as it passes the limit: either way `BodyTooLarge`, and the rest is never buffered. A body
    still incomplete after `timeout` seconds is `BodyTooSlow`.
    """
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared), limit)
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge(size, limit)
                parts.append(chunk)
    except TimeoutError:
        raise BodyTooSlow(timeout) from None
    return b"".join(parts)
