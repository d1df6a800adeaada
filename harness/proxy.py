"""A recording proxy: forwards each request to a destination, returns the answer unchanged and
appends the exchange to a recording (`nat-harness record`)."""

from __future__ import annotations

import requests
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harness.recording import RecordedAnswer, RecordedRequest, RecordingWriter, masked_headers

__all__ = ["recording_proxy"]

#: Headers that belong to one connection, not to the message: never forwarded either way.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
        "proxy-connection",
    }
)
_FORWARD_TIMEOUT_S = 30.0


def recording_proxy(forward: str, writer: RecordingWriter) -> Starlette:
    """A starlette app that forwards every request to `forward` + its path and records it."""
    base = forward.rstrip("/")

    def forward_one(
        method: str, url: str, headers: dict[str, str], body: bytes
    ) -> requests.Response:
        # A session per request: closed with it, so the proxy holds no socket between requests.
        with requests.Session() as session:
            session.trust_env = False
            return session.request(
                method,
                url,
                headers=headers,
                data=body,
                timeout=_FORWARD_TIMEOUT_S,
                allow_redirects=False,
            )

    async def handle(request: Request) -> Response:
        body = await request.body()
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        headers = {n: v for n, v in request.headers.items() if n.lower() not in _HOP_BY_HOP}
        sent = RecordedRequest(
            request.method, path, masked_headers(headers), body.decode("utf-8", "backslashreplace")
        )
        try:
            answer = await run_in_threadpool(
                forward_one, request.method, base + path, headers, body
            )
        except requests.RequestException as error:
            reason = f"{type(error).__name__}: {str(error)[:200]}"
            writer.add(sent, RecordedAnswer(None, "", reason))
            return JSONResponse({"message": f"the proxy could not reach {base}: {reason}"}, 502)
        writer.add(
            sent,
            RecordedAnswer(answer.status_code, answer.content.decode("utf-8", "backslashreplace")),
        )
        kept = {
            n: v
            for n, v in answer.headers.items()
            if n.lower() not in _HOP_BY_HOP and n.lower() != "content-encoding"
        }
        return Response(answer.content, answer.status_code, headers=kept)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    return Starlette(
        routes=[Route("/{path:path}", handle, methods=methods)],
    )
