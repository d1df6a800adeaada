"""Fuzzing the tracking API over real HTTP: 10,000 seeded requests of random JSON, deep nesting,
huge numbers, lone surrogates, invalid UTF-8, gzip, bogus auth headers and batches. None may get
a 5xx or lose its connection, every answer is JSON, and every event of every request answered
200 is in the journal and the outbox (issue 8)."""

from __future__ import annotations

import base64
import gzip
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httptools
import orjson
import pytest

from harness.segment import (
    DeliveryEndpoint,
    SegmentSimulator,
    SegmentSimulatorConfig,
    create_ingest_app,
)
from reference_impl import running_server

SEED = 20261201
REQUESTS = 10_000
CONNECTIONS = 4
WRITE_KEY = "fuzz-write-key"
PATHS = ("identify", "track", "page", "screen", "group", "alias", "batch")
# Values at the edges of what JSON parsers and serializers take: those the parser takes...
EDGE_NUMBERS = (
    b"0",
    b"-0",
    b"1e308",
    b"-1e308",
    b"5e-324",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"123456789012345678901234567890",
    b"1.0000000000000000000000001",
)
EDGE_STRINGS = (
    b'"\\ud83d\\ude00"',  # a surrogate pair: fine
    b'"\\u0000"',
    '"é ☃ 𝄞 \u202e"'.encode(),
)
# ... and those it refuses (in a share of the requests only, so that most reach the events).
BREAKING = (
    b"1e400",
    b"-1e400",
    b"NaN",
    b"Infinity",
    b'"\\ud800"',  # a lone high surrogate
    b'"\\udfff"',  # a lone low surrogate
    b'"\xed\xa0\x80"',  # a surrogate encoded as UTF-8
    b'"\xc0\x80"',  # an overlong NUL
    b'"\xff\xfe"',  # no UTF-8 at all
    b'"\xe2\x82"',  # a truncated sequence
)
EDGE_TIMES = (
    "0001-01-01T00:00:00+01:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-01:00",
    "9999-12-31T23:59:59.999Z",
    "2026-02-30T10:00:00Z",
    "2026-05-01T10:00:00",
    "2026-05-01T10:00:00.123456789+14:00",
    "yesterday",
    "",
)
DEPTHS = (10, 254, 255, 256, 300, 1000, 1023, 1024, 1025, 4000)
_ALPHABET = 'abcxyz019 _-@.é☃𝄞"\\/\n\t'


def _basic(text: bytes) -> bytes:
    return b"Basic " + base64.b64encode(text)


# The right key about half the time, so that most requests reach the events.
AUTHORIZATIONS = (
    *[_basic(f"{WRITE_KEY}:".encode())] * 14,
    _basic(b"wrong:"),
    _basic(b"\xff\xfe:"),  # credentials that are no UTF-8
    _basic(b""),
    b"Basic \xff",
    "Basic é".encode(),
    b"Basic \xc3\xa9\xff==",
    b"Basic",
    b"Basic ====",
    b"Basic not base64 at all!",
    b"Bearer " + WRITE_KEY.encode(),
    b"Digest username=x",
    b"x" * 4000,
    None,
    None,
)


class _JSONText:
    """Random JSON text, as bytes, with the edge values above mixed in."""

    def __init__(self, rng: random.Random, *, breaking: bool) -> None:
        self.rng = rng
        self.edges = (*EDGE_NUMBERS, *EDGE_STRINGS, *(BREAKING if breaking else ()))
        self.string_edges = tuple(edge for edge in self.edges if edge.startswith(b'"'))

    def value(self, depth: int = 0) -> bytes:
        rng = self.rng
        roll = rng.random()
        if depth > 2 or roll < 0.5:
            return self.scalar()
        if roll < 0.75:
            items = [self.string() + b":" + self.value(depth + 1) for _ in range(rng.randint(0, 3))]
            return b"{" + b",".join(items) + b"}"
        return b"[" + b",".join(self.value(depth + 1) for _ in range(rng.randint(0, 3))) + b"]"

    def scalar(self) -> bytes:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            return rng.choice(self.edges)
        if roll < 0.35:
            return rng.choice((b"true", b"false", b"null"))
        if roll < 0.55:
            return str(rng.randint(-(10**20), 10**20)).encode()
        if roll < 0.65:
            return repr(rng.uniform(-1e6, 1e6)).encode()
        return self.string()

    def string(self) -> bytes:
        rng = self.rng
        if rng.random() < 0.05:
            return rng.choice(self.string_edges)
        return orjson.dumps("".join(rng.choices(_ALPHABET, k=rng.randint(0, 12))))

    def nested(self) -> bytes:
        depth = self.rng.choice(DEPTHS)
        if self.rng.random() < 0.5:
            return b"[" * depth + b"]" * depth
        return b'{"a":' * depth + b"1" + b"}" * depth


def _event(rng: random.Random, text: _JSONText, number: int) -> bytes:
    """One event, mostly well-formed, with random and edge values in its fields."""
    fields: dict[str, bytes] = {}
    if rng.random() < 0.9:
        fields["type"] = orjson.dumps(rng.choice(("identify", "identify", "track", "page", "x")))
    if rng.random() < 0.9:
        fields["userId"] = orjson.dumps(f"user-{rng.randint(0, 50)}")
    if rng.random() < 0.8:  # repeated often, to exercise deduplication
        fields["messageId"] = orjson.dumps(f"fuzz-{rng.randint(0, REQUESTS // 2)}")
    elif rng.random() < 0.5:
        fields["messageId"] = text.value()
    traits = {b'"email"': orjson.dumps(f"p{number}@example.com")}
    for _ in range(rng.randint(0, 4)):
        traits[text.string()] = text.value()
    if rng.random() < 0.08:
        traits[b'"deep"'] = text.nested()
    fields["traits"] = b"{" + b",".join(k + b":" + v for k, v in traits.items()) + b"}"
    for name in ("timestamp", "originalTimestamp", "sentAt"):
        roll = rng.random()
        if roll < 0.3:
            fields[name] = orjson.dumps(rng.choice(EDGE_TIMES))
        elif roll < 0.4:
            fields[name] = text.value()
        elif roll < 0.7:
            fields[name] = orjson.dumps(
                f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00.000Z"
            )
    for name in ("context", "integrations", "event", "properties", "page", "url"):
        if rng.random() < 0.2:
            fields[name] = text.nested() if rng.random() < 0.05 else text.value()
    if rng.random() < 0.1:
        fields["writeKey"] = rng.choice((orjson.dumps(WRITE_KEY), b"12", b'{"k":1}', b'""'))
    return b"{" + b",".join(orjson.dumps(k) + b":" + v for k, v in fields.items()) + b"}"


@dataclass(frozen=True)
class FuzzRequest:
    """One request of the run, sent as these exact bytes."""

    number: int
    path: str
    body: bytes
    headers: tuple[tuple[bytes, bytes], ...]

    def encode(self) -> bytes:
        head = [f"POST /v1/{self.path} HTTP/1.1".encode(), b"Host: fuzz"]
        head += [name + b": " + value for name, value in self.headers]
        head.append(b"Content-Length: %d" % len(self.body))
        return b"\r\n".join(head) + b"\r\n\r\n" + self.body


def fuzz_request(number: int) -> FuzzRequest:
    """Request `number` of the run: the same bytes on every run, whatever thread sends it."""
    rng = random.Random(f"{SEED}-{number}")
    text = _JSONText(rng, breaking=rng.random() < 0.2)
    path = rng.choice(PATHS)
    roll = rng.random()
    if path == "batch":
        events = [_event(rng, text, number * 100 + n) for n in range(rng.randint(0, 12))]
        if roll < 0.03:
            events = [b"{}"] * 2501  # too many events
        elif roll < 0.04:
            events = [b'{"traits":{"b":"' + b"x" * 20_000 + b'"}}'] * 30  # over 500 KB
        elif roll < 0.06:
            events.append(b'{"type":"identify","traits":{"blob":"' + b"x" * 40_000 + b'"}}')
        elif roll < 0.1:
            events.append(text.value())  # an event that is no object
        parts = [b'"batch":[' + b",".join(events) + b"]"]
        if rng.random() < 0.5:
            parts.append(b'"sentAt":' + orjson.dumps(rng.choice(EDGE_TIMES)))
        if rng.random() < 0.1:
            parts = [b'"batch":' + text.value()]
        body = b"{" + b",".join(parts) + b"}"
    elif roll < 0.1:
        body = text.value()  # any JSON at all
    elif roll < 0.15:
        body = text.nested()
    else:
        body = _event(rng, text, number)
    roll = rng.random()
    if roll < 0.05:  # invalid UTF-8 or broken JSON text
        position = rng.randrange(len(body) + 1)
        body = (
            body[:position]
            + rng.choice((b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b""))
            + body[position + 1 :]
        )
    elif roll < 0.08:
        body = body[: rng.randrange(len(body) + 1)]  # truncated
    headers = [(b"Content-Type", rng.choice((b"application/json", b"text/plain", b"")))]
    authorization = rng.choice(AUTHORIZATIONS)
    if authorization is not None:
        headers.append((b"Authorization", authorization))
    roll = rng.random()
    if roll < 0.1:
        body = gzip.compress(body, mtime=0)
        headers.append((b"Content-Encoding", b"gzip"))
    elif roll < 0.12:
        body = gzip.compress(body, mtime=0)[: rng.randrange(30)]
        headers.append((b"Content-Encoding", b"gzip"))
    elif roll < 0.13:
        headers.append((b"Content-Encoding", b"br"))
    return FuzzRequest(number, path, body, tuple(headers))


class _Answer:
    """httptools callbacks collecting one response."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.complete = False
        self.parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.complete = True


class _Client:
    """One keep-alive connection; a connection closed before the answer fails the test."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.address = address
        self.socket: socket.socket | None = None

    def send(self, request: FuzzRequest) -> tuple[int, bytes]:
        if self.socket is None:
            self.socket = socket.create_connection(self.address, timeout=30)
        self.socket.sendall(request.encode())
        answer = _Answer()
        while not answer.complete:
            chunk = self.socket.recv(65536)
            assert chunk, f"request {request.number}: the connection closed without an answer"
            answer.parser.feed_data(chunk)
        if not answer.parser.should_keep_alive():
            self.close()
        return answer.parser.get_status_code(), bytes(answer.body)

    def close(self) -> None:
        if self.socket is not None:
            self.socket.close()
            self.socket = None


def events_taken(request: FuzzRequest) -> int:
    """How many events a request answered 200 holds (the server read it as a JSON object)."""
    body = request.body
    if (b"Content-Encoding", b"gzip") in request.headers:
        body = gzip.decompress(body)
    payload: dict[str, Any] = orjson.loads(body)
    return len(payload["batch"]) if request.path == "batch" else 1


@pytest.fixture
def tracking_api() -> Iterator[tuple[tuple[str, int], SegmentSimulator]]:
    """The tracking API with a write key, in front of a simulator that never delivers (its
    outbox keeps everything, so the test can count)."""
    simulator = SegmentSimulator(
        SegmentSimulatorConfig(
            DeliveryEndpoint.at("http://127.0.0.1:9/segment", "k"), write_key=WRITE_KEY
        )
    )
    try:
        with running_server(create_ingest_app(simulator)) as url:
            host, port = url.removeprefix("http://").rsplit(":", 1)
            yield (host, int(port)), simulator
    finally:
        simulator.close()


def test_fuzzed_requests_get_no_5xx_keep_their_connection_and_lose_no_event(
    tracking_api: tuple[tuple[str, int], SegmentSimulator],
) -> None:
    address, simulator = tracking_api
    sent: dict[int, FuzzRequest] = {}
    answers: dict[int, tuple[int, bytes]] = {}
    failures: list[BaseException] = []

    def send_share(share: int) -> None:
        client = _Client(address)
        try:
            for number in range(share, REQUESTS, CONNECTIONS):
                sent[number] = request = fuzz_request(number)
                answers[number] = client.send(request)
        except BaseException as error:  # reported by the main thread
            failures.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=send_share, args=(n,)) for n in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures[0]
    assert len(answers) == REQUESTS

    statuses: dict[int, int] = {}
    taken = 0
    for number, (status, body) in sorted(answers.items()):
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, f"request {number} got {status}: {body[:300]!r}"
        answer = orjson.loads(body)  # every answer is JSON
        assert isinstance(answer, dict) and "success" in answer, (number, answer)
        if status == 200:
            taken += events_taken(sent[number])
        else:
            assert answer["success"] is False and answer["message"], (number, answer)
    assert set(statuses) == {200, 400, 401}, statuses
    assert min(statuses.values()) > REQUESTS // 50, f"the mix reaches every path: {statuses}"
    simulator.outbox.flush()
    tally = simulator.tally()
    assert tally.accepted == taken, "every event of every request answered 200 was taken"
    assert tally.accepted == tally.filtered + tally.queued
    assert len(simulator.outbox.queued()) == tally.queued, "and stored in the outbox"
    assert simulator.journal.counts()["accepted"] == taken
