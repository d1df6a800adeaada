"""The delivery's fast keep-alive client against its plain `http.client` twin, over HTTP and
HTTPS (a trustme certificate), on a server whose every answer the test scripts byte by byte."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
import trustme

from harness.segment.keepalive import KeepAliveConnection, PlainConnection

Client = type[KeepAliveConnection] | type[PlainConnection]
CLIENTS = [KeepAliveConnection, PlainConnection]
HEADERS = {"Content-Type": "application/json", "User-Agent": "Segment.io/1.0", "Accept": "*/*"}
LARGE = b"x" * 200_000


def _framed(status: str, body: bytes, *headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


#: What the server sends for a request whose body is {"reply": name}, and whether it then
#: closes the connection.
REPLIES: dict[str, tuple[bytes, bool]] = {
    "ok": (_framed("200 OK", b'{"outcome":"created"}', "Content-Type: application/json"), False),
    "retry-after": (_framed("503 Service Unavailable", b"{}", "Retry-After: 7"), False),
    "retry-after-date": (
        _framed("429 Too Many Requests", b"", "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT"),
        False,
    ),
    "chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        False,
    ),
    "no-content": (b"HTTP/1.1 204 No Content\r\n\r\n", False),
    "large": (_framed("200 OK", LARGE), False),
    "close": (_framed("200 OK", b"bye", "Connection: close"), True),
    "to-the-end": (b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end", True),
    "stale": (_framed("200 OK", b"then gone"), True),  # kept alive, then closed while idle
    "truncated": (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this", True),
    "malformed": (b"HTTP/1.1 abc\r\n\r\n", True),
}

#: What a client's post answers for each reply.
ANSWERS = {
    "ok": (200, b'{"outcome":"created"}', None),
    "retry-after": (503, b"{}", 7.0),
    "retry-after-date": (429, b"", None),
    "chunked": (200, b"hello world", None),
    "no-content": (204, b"", None),
    "large": (200, LARGE, None),
    "close": (200, b"bye", None),
    "to-the-end": (200, b"until the end", None),
    "stale": (200, b"then gone", None),
}


@dataclass
class ScriptedServer:
    """Answers each request as its body's `reply` says; records every request head."""

    url: str
    connections: int = 0
    heads: list[dict[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    #: Notified each time the server has closed a connection (`closed` counts them).
    closing: threading.Condition = field(default_factory=threading.Condition)
    closed: int = 0

    def wait_for_closes(self, count: int) -> None:
        with self.closing:
            assert self.closing.wait_for(lambda: self.closed >= count, 10), "no close came"


def _read_request(stream: socket.socket) -> tuple[dict[str, str], bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = stream.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {
        name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:])
    }
    headers[":request"] = lines[0]
    while len(body) < int(headers.get("content-length", "0")):
        chunk = stream.recv(65536)
        if not chunk:
            return None
        body += chunk
    return headers, body


def _serve_connection(server: ScriptedServer, stream: socket.socket) -> None:
    try:
        _answer_requests(server, stream)
    finally:
        stream.close()
        with server.closing:
            server.closed += 1
            server.closing.notify_all()


def _answer_requests(server: ScriptedServer, stream: socket.socket) -> None:
    while (request := _read_request(stream)) is not None:
        headers, body = request
        server.heads.append(headers)
        reply = orjson.loads(body)["reply"]
        if reply == "never":
            server.release.wait(30)
            return
        raw, close = REPLIES[reply]
        stream.sendall(raw)
        if close:
            return


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(params=["http", "https"])
def scripted(
    request: pytest.FixtureRequest, certificate_authority: trustme.CA
) -> Iterator[tuple[ScriptedServer, ssl.SSLContext | None]]:
    """A scripted server on loopback, plain or TLS, and the client context that trusts it."""
    tls = request.param == "https"
    server_context = client_context = None
    if tls:
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        certificate_authority.issue_cert("127.0.0.1").configure_cert(server_context)
        client_context = ssl.create_default_context()
        certificate_authority.configure_trust(client_context)
    listener = socket.create_server(("127.0.0.1", 0))
    server = ScriptedServer(f"{request.param}://127.0.0.1:{listener.getsockname()[1]}/segment")
    stopping = threading.Event()
    handlers: list[threading.Thread] = []

    def accept() -> None:
        while True:
            try:
                stream, _ = listener.accept()
            except OSError:
                return
            if stopping.is_set():
                stream.close()
                return
            server.connections += 1
            if server_context is not None:
                try:
                    stream = server_context.wrap_socket(stream, server_side=True)
                except (ssl.SSLError, OSError):
                    stream.close()
                    continue
            handler = threading.Thread(target=_serve_connection, args=(server, stream))
            handler.start()
            handlers.append(handler)

    acceptor = threading.Thread(target=accept)
    acceptor.start()
    try:
        yield server, client_context
    finally:
        stopping.set()
        server.release.set()
        socket.create_connection(listener.getsockname()).close()  # wakes accept()
        acceptor.join(10)
        listener.close()
        for handler in handlers:
            handler.join(10)


def _client(client: Client, server: ScriptedServer, context: ssl.SSLContext | None) -> Any:
    return client(server.url, HEADERS, 2.0, ssl_context=context)


def _reply(name: str) -> bytes:
    return orjson.dumps({"reply": name})


@pytest.mark.parametrize("reply", sorted(ANSWERS))
@pytest.mark.parametrize("client", CLIENTS, ids=lambda client: client.__name__)
def test_each_answer_is_read_as_the_plain_client_reads_it(
    scripted: tuple[ScriptedServer, ssl.SSLContext | None], client: Client, reply: str
) -> None:
    server, context = scripted
    connection = _client(client, server, context)
    try:
        assert connection.post(_reply(reply)) == ANSWERS[reply]
        closes = REPLIES[reply][1]
        if closes:  # the next post finds the connection closed, not closing
            server.wait_for_closes(1)
        # The connection is still usable (kept alive, or reopened after a close).
        assert connection.post(_reply("ok")) == ANSWERS["ok"]
    finally:
        connection.close()
    assert server.connections == (2 if closes else 1)
    assert len(server.heads) == 2, "every post reached the server once"


@pytest.mark.parametrize("client", CLIENTS, ids=lambda client: client.__name__)
def test_many_posts_share_one_connection_and_send_the_same_head(
    scripted: tuple[ScriptedServer, ssl.SSLContext | None], client: Client
) -> None:
    server, context = scripted
    connection = _client(client, server, context)
    try:
        for _ in range(20):
            assert connection.post(_reply("ok"))[0] == 200
    finally:
        connection.close()
    assert server.connections == 1
    head = server.heads[0]
    assert head[":request"] == "POST /segment HTTP/1.1"
    assert head["host"] == server.url.split("/")[2]
    assert head["content-length"] == str(len(_reply("ok")))
    assert {name: head[name.lower()] for name in HEADERS} == HEADERS
    assert set(head) == {":request", "host", "content-length", *(name.lower() for name in HEADERS)}


@pytest.mark.parametrize("reply", ["truncated", "malformed"])
@pytest.mark.parametrize("client", CLIENTS, ids=lambda client: client.__name__)
def test_a_broken_answer_raises_an_http_error(
    scripted: tuple[ScriptedServer, ssl.SSLContext | None], client: Client, reply: str
) -> None:
    server, context = scripted
    connection = _client(client, server, context)
    try:
        with pytest.raises(http.client.HTTPException):
            connection.post(_reply(reply))
    finally:
        connection.close()


@pytest.mark.parametrize("client", CLIENTS, ids=lambda client: client.__name__)
def test_no_answer_within_the_timeout_raises_timeout_error(
    scripted: tuple[ScriptedServer, ssl.SSLContext | None], client: Client
) -> None:
    server, context = scripted
    connection = client(server.url, HEADERS, 0.2, ssl_context=context)
    try:
        with pytest.raises(TimeoutError):
            connection.post(_reply("never"))  # held until the test ends
    finally:
        connection.close()


@pytest.mark.parametrize("client", CLIENTS, ids=lambda client: client.__name__)
def test_a_refused_connection_raises_connection_refused(client: Client) -> None:
    with socket.socket() as bound:  # bound, never listening: connecting is refused
        bound.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{bound.getsockname()[1]}/segment"
        with pytest.raises(ConnectionRefusedError):
            client(url, HEADERS, 2.0).post(_reply("ok"))


def test_an_untrusted_certificate_is_refused(
    scripted: tuple[ScriptedServer, ssl.SSLContext | None],
) -> None:
    server, context = scripted
    if context is None:
        pytest.skip("HTTPS only")
    for client in CLIENTS:
        with pytest.raises(ssl.SSLCertVerificationError):
            client(server.url, HEADERS, 2.0).post(_reply("ok"))  # the system's CAs only
