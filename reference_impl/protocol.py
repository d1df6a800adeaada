"""The HTTP/1.1 protocol the reference destination is served with: uvicorn's httptools protocol,
answering its own protocol errors in JSON like every other answer (CONTRACT B.13).

uvicorn takes a protocol class as `Config(http=...)`; its plain-text 400 for a request it cannot
parse is the one answer the app never sees, so it is replaced here and nothing else is changed.
"""

from __future__ import annotations

from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from reference_impl.http_core import error_answer
from reference_impl.rules import Issue

__all__ = ["JSONErrorsProtocol", "uvicorn_options"]


def _error_head_and_body(status: int, code: str, message: str) -> tuple[bytes, bytes]:
    """The headers after uvicorn's own (server, date) and the body of an error that closes
    the connection, with the JSON body of every error (CONTRACT B.10)."""
    body = orjson.dumps(error_answer(status, Issue("request", code, message)).body)
    head = b"".join(
        [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
    )
    return head, body


_MALFORMED = _error_head_and_body(
    400,
    "malformed_request",
    "Malformed HTTP request: the request line or a header could not be parsed "
    "(send HTTP/1.1 with an ASCII request target, such as POST /segment HTTP/1.1)",
)


class JSONErrorsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose answer to an unparsable request is JSON."""

    def send_400_response(self, msg: str) -> None:
        self._send_error(400, *_MALFORMED)

    def _send_error(self, status: int, head: bytes, body: bytes) -> None:
        """Answer `status` and close, as uvicorn's own error answers do."""
        own = [b"%s: %s\r\n" % pair for pair in self.server_state.default_headers]
        self.transport.write(b"".join([STATUS_LINE[status], *own, head, body]))
        self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """The `uvicorn.Config` options every server of the reference destination runs with."""
    return {
        "http": JSONErrorsProtocol,
        # No WebSocket routes: an Upgrade request is answered as plain HTTP, in JSON, by the app.
        "ws": "none",
    }
