"""Limits a long-lived server needs: request heads cannot grow it, slow or idle connections are
let go, and everyone else is still answered meanwhile."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import orjson
import pytest
import requests

from reference_impl import Store, create_app, running_server
from reference_impl.protocol import ConnectionLimits
from tests.conftest import API_KEY, basic_auth
from tests.test_protocol import exchange

IDENTIFY = {"type": "identify", "timestamp": "2020-05-31T17:55:47Z", "email": "a@example.com"}
AUTH = basic_auth()["Authorization"].encode()


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=10)


def _answer(sock: socket.socket) -> tuple[int, dict[str, object]]:
    """Read one answer until the server closes; its status and JSON body."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower()
    return int(head.split()[1]), orjson.loads(body)


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture
def slow_limits_url(tmp_path: Path) -> Iterator[str]:
    """A destination that gives up on a head or a body after 0.3 s (the defaults are 10 s)."""
    store = Store(tmp_path / "nat.db")
    app = create_app(store, API_KEY, body_timeout=0.3)
    with running_server(app, limits=ConnectionLimits(head_timeout=0.3)) as url:
        yield url
    store.close()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmRSS from /proc")
def test_ten_unfinished_50_mb_heads_are_cut_off_and_others_are_still_answered(
    destination_url: str,
) -> None:
    """Before the limit, each 50 MB header was held whole (600 MB for ten of them)."""
    chunk = b"a" * (1 << 20)
    started = threading.Barrier(11)
    sent: list[int] = []

    def attack() -> None:
        with _connect(destination_url) as sock:
            sock.sendall(b"POST /segment HTTP/1.1\r\nHost: x\r\nX-Big: ")
            count = 0
            try:
                sock.sendall(chunk)
                count += 1
                started.wait()
                for _ in range(49):
                    sock.sendall(chunk)
                    count += 1
            except (ConnectionResetError, BrokenPipeError):
                pass
            sent.append(count)

    before = _rss_mb()
    attackers = [threading.Thread(target=attack) for _ in range(10)]
    for attacker in attackers:
        attacker.start()
    started.wait()  # every attacker has a head open
    answered = requests.post(f"{destination_url}/segment", json=IDENTIFY, headers=basic_auth())
    for attacker in attackers:
        attacker.join()
    assert answered.status_code == 200, answered.text
    assert len(sent) == 10 and max(sent) < 50, f"MB sent before the cut: {sent}"
    assert _rss_mb() - before < 100


def test_a_head_over_the_limit_gets_a_json_431(destination_url: str) -> None:
    headers = b"".join(b"X-Filler-%d: %s\r\n" % (n, b"v" * 1000) for n in range(40))
    raw = b"POST /segment HTTP/1.1\r\nHost: x\r\n" + headers + b"Content-Length: 2\r\n\r\n{}"
    status, headers_seen, body = exchange(destination_url, raw)
    assert (status, headers_seen[b"content-type"]) == (431, b"application/json")
    assert orjson.loads(body)["errors"][0]["code"] == "head_too_large"


def test_a_long_request_target_gets_a_json_431(destination_url: str) -> None:
    status, _, body = exchange(destination_url, b"GET /" + b"a" * 40_000 + b" HTTP/1.1\r\n\r\n")
    assert status == 431
    assert "16,384 bytes" in orjson.loads(body)["message"]


def test_a_head_within_the_limit_is_served(destination_url: str) -> None:
    headers = {f"X-Filler-{n}": "v" * 1000 for n in range(12)}  # about 12 KB
    response = requests.post(
        f"{destination_url}/segment", json=IDENTIFY, headers={**basic_auth(), **headers}
    )
    assert response.status_code == 200, response.text


def test_a_head_sent_too_slowly_gets_a_json_408(slow_limits_url: str) -> None:
    with _connect(slow_limits_url) as sock:
        sock.sendall(b"POST /segment HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        status, body = _answer(sock)
    assert status == 408
    assert body["errors"][0]["code"] == "head_too_slow"


def test_a_connection_that_sends_nothing_is_closed(slow_limits_url: str) -> None:
    with _connect(slow_limits_url) as sock:
        assert sock.recv(1) == b""  # closed by the server, without an answer


def test_a_body_sent_too_slowly_gets_a_json_408(slow_limits_url: str) -> None:
    with _connect(slow_limits_url) as sock:
        sock.sendall(
            b"POST /segment HTTP/1.1\r\nHost: x\r\nAuthorization: " + AUTH + b"\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":'
        )
        received = b""
        while b"}]}" not in received:
            received += sock.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert orjson.loads(body)["errors"][0]["code"] == "too_slow"
