"""The server's own answers: a request the HTTP parser refuses is still answered in JSON (B.13)."""

from __future__ import annotations

import re
import socket
from urllib.parse import urlsplit

import orjson
import pytest

from tests.conftest import basic_auth

AUTH = basic_auth()["Authorization"].encode()


def exchange(url: str, raw: bytes) -> tuple[int, dict[str, bytes], bytes]:
    """Send `raw` bytes on a fresh connection; read one answer (its Content-Length, or until the
    server closes)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
            head, _, body = received.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)", head)
            if length and len(body) >= int(length[1]):
                break
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    headers = dict(line.lower().split(b": ", 1) for line in header_lines)
    return int(status_line.split()[1]), headers, body


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /segment HTTP/1.1\r\nHost: x\r\nContent-Length: \xb2\r\n\r\n",
        b"POST /segment HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}",
        b"POST /segment HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /health HTTP/1.1\r\nBad Header\r\n\r\n",
    ],
    ids=["garbage", "non-ascii-target", "utf8-target", "superscript-length", "two-lengths",
         "bad-chunk", "http2-preface", "header-without-colon"],
)  # fmt: skip
def test_a_request_the_parser_refuses_gets_a_json_400(destination_url: str, raw: bytes) -> None:
    status, headers, body = exchange(destination_url, raw)
    assert status == 400
    assert headers[b"content-type"] == b"application/json"
    assert headers[b"connection"] == b"close"
    assert int(headers[b"content-length"]) == len(body)
    answer = orjson.loads(body)
    assert answer["message"].startswith("Malformed HTTP request")
    assert [error["code"] for error in answer["errors"]] == ["malformed_request"]


def test_a_websocket_upgrade_is_answered_as_plain_http(destination_url: str) -> None:
    raw = (
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Authorization: " + AUTH + b"\r\n\r\n"
    )
    status, headers, body = exchange(destination_url, raw)
    assert (status, headers[b"content-type"]) == (200, b"application/json")
    assert orjson.loads(body)["status"] == "ok"
