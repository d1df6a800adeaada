"""The delivery's HTTP client: one keep-alive connection per worker, answers parsed by httptools.

Speed code, fenced: `KeepAliveConnection` is what the delivery uses, because at concurrency 32
the client's CPU, not the network, limits throughput; `PlainConnection` does the same with
`http.client` and is its test oracle (tests/test_segment_keepalive.py, over HTTP and HTTPS).
What the fast one buys is measured in bench/README.md.

Both post to one URL with fixed headers and answer `(status, body, Retry-After seconds)`; both
raise on network errors, and resend once on a fresh connection when a kept-alive one turns out
to have been closed by the server before the request (as urllib3 does).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

import httptools

from contract.endpoints import address_of

__all__ = ["Answer", "KeepAliveConnection", "PlainConnection", "retry_after_seconds"]

#: (status, body, Retry-After in seconds or None): what a POST comes back with.
Answer = tuple[int, bytes, float | None]


def retry_after_seconds(value: bytes | str | None) -> float | None:
    """A Retry-After header in seconds; None when absent, a date, or not a number of seconds."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class _Target:
    """What both clients take from the URL: address, request target and the Host header."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.hostname, self.port = address_of(url)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.host = parts.netloc.rpartition("@")[2]  # never the user and password of the URL


#: What sending on, or reading from, a connection the server has closed raises; over TLS the
#: end of the connection shows as an SSL error rather than as a broken pipe.
_CLOSED = (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError, ssl.SSLZeroReturnError)


class _ClosedBeforeAnswer(http.client.RemoteDisconnected):
    """The connection closed before any byte of the answer (a stale keep-alive, or a crash)."""


class _Answer:
    """httptools callbacks collecting one response."""

    __slots__ = ("body", "complete", "framed", "head_done", "keep_alive", "parser", "retry_after")

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.complete = False
        self.keep_alive = False
        self.retry_after: bytes | None = None
        #: The head is parsed; the body's end is told by a length or chunks (`framed`), or else
        #: by the end of the connection.
        self.head_done = False
        self.framed = False
        self.parser = httptools.HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        # Asked after the message is complete, the parser has already reset and says no.
        self.keep_alive = self.parser.should_keep_alive()
        self.head_done = True

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"retry-after":
            self.retry_after = value
        elif name in (b"content-length", b"transfer-encoding"):
            self.framed = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class KeepAliveConnection:
    """One keep-alive HTTP/1.1 connection to `url`, reopened when it breaks: the fast path.

    The request head is built once; responses are parsed by httptools (uvicorn's C parser).
    Measured (bench/README.md), this posts several times more per CPU second than
    `http.client`, whose header parsing goes through the email package.
    """

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        target = _Target(url)
        self._https = target.https
        self._address = (target.hostname, target.port)
        self._timeout = timeout
        self._ssl_context = ssl_context
        lines = {"Host": target.host, **headers}
        head = f"POST {target.path} HTTP/1.1\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in lines.items()
        )
        self._head = (head + "Content-Length: ").encode("latin-1")
        self._socket: socket.socket | None = None
        self._buffer = bytearray(65536)

    def post(self, body: bytes) -> Answer:
        """(status, body, Retry-After seconds) of one POST; raises on network errors."""
        reused = self._socket is not None
        try:
            return self._post_once(body)
        except _ClosedBeforeAnswer:
            self.close()
            if not reused:
                raise
            # The server closed the idle kept-alive connection before our request: resend once
            # on a fresh one, as urllib3 does.
            try:
                return self._post_once(body)
            except BaseException:
                self.close()
                raise
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection; the next post opens a new one."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def _connect(self) -> socket.socket:
        connection = socket.create_connection(self._address, timeout=self._timeout)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._https:
            context = self._ssl_context or ssl.create_default_context()
            return context.wrap_socket(connection, server_hostname=self._address[0])
        if sys.platform != "linux":
            return connection
        # A Python-level timeout polls before every send and receive; the kernel's own timeouts
        # on a blocking socket save that system call (a timeout then fails with EAGAIN).
        seconds, fraction = divmod(self._timeout, 1.0)
        limit = struct.pack("ll", int(seconds), int(fraction * 1_000_000))
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        connection.settimeout(None)
        return connection

    def _post_once(self, body: bytes) -> Answer:
        if self._socket is None:
            self._socket = self._connect()
        connection = self._socket
        try:
            connection.sendall(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
        except _CLOSED as error:
            raise _ClosedBeforeAnswer(str(error)) from error
        except BlockingIOError:
            raise TimeoutError("timed out sending the event") from None
        answer = _Answer()
        parser = answer.parser
        buffer, received = self._buffer, 0
        while not answer.complete:
            try:
                size = connection.recv_into(buffer)
            except _CLOSED as error:
                if received:
                    raise
                raise _ClosedBeforeAnswer(str(error)) from error
            except BlockingIOError:
                raise TimeoutError("timed out waiting for the answer") from None
            if not size:
                if answer.head_done and not answer.framed:
                    break  # a body that runs to the end of the connection (HTTP/1.1 3.3.3)
                if received:
                    raise http.client.IncompleteRead(b"")
                raise _ClosedBeforeAnswer("the destination closed the connection without answering")
            received += size
            try:
                parser.feed_data(memoryview(buffer)[:size])
            except httptools.HttpParserError as error:
                raise http.client.BadStatusLine(f"malformed HTTP response: {error}") from None
        if not answer.keep_alive:
            self.close()
        status = parser.get_status_code()
        return status, b"".join(answer.body), retry_after_seconds(answer.retry_after)


class PlainConnection:
    """The same POSTs with `http.client`: the plain twin `KeepAliveConnection` is tested
    against. It keeps its connection alive too, and resends once on a stale one."""

    def __init__(
        self,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._target = _Target(url)
        self._headers = {"Host": self._target.host, **headers}
        self._timeout = timeout
        self._ssl_context = ssl_context
        self._connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes) -> Answer:
        """(status, body, Retry-After seconds) of one POST; raises on network errors."""
        reused = self._connection is not None
        try:
            return self._post_once(body)
        except (http.client.RemoteDisconnected, *_CLOSED):
            self.close()
            if not reused:
                raise
            return self._post_once(body)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Close the connection; the next post opens a new one."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _open(self) -> http.client.HTTPConnection:
        target = self._target
        if target.https:
            return http.client.HTTPSConnection(
                target.hostname,
                target.port,
                timeout=self._timeout,
                context=self._ssl_context or ssl.create_default_context(),
            )
        return http.client.HTTPConnection(target.hostname, target.port, timeout=self._timeout)

    def _post_once(self, body: bytes) -> Answer:
        if self._connection is None:
            self._connection = self._open()
        connection = self._connection
        connection.putrequest("POST", self._target.path, skip_host=True, skip_accept_encoding=True)
        for name, value in self._headers.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        content = response.read()
        if response.will_close:
            self.close()
        return response.status, content, retry_after_seconds(response.getheader("Retry-After"))
