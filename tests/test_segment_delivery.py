"""Delivery as Segment does it: headers, one POST per event, retries, drops, and exactly-once
timelines on the reference destination across duplicates, reordering, failures and slowness."""

from __future__ import annotations

import asyncio
import base64
import socket
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from contract.retry import RETRY_WINDOW_S
from harness.segment import (
    DeliveryEndpoint,
    DeliveryFaults,
    SegmentSimulator,
    SegmentSimulatorConfig,
    running_simulator,
)
from reference_impl import Faults, Store, create_app, running_server
from tests.conftest import API_KEY
from tests.helpers import segment_identify


@dataclass(frozen=True)
class Reply:
    """What the stub destination answers one request with."""

    status: int = 200
    content: dict[str, Any] = field(default_factory=lambda: {"outcome": "created"})
    headers: dict[str, str] = field(default_factory=dict)
    #: No answer until this is set (a destination that has not answered yet).
    held_until: threading.Event | None = None


@dataclass
class StubDestination:
    """A destination whose answers the test scripts; it records every request it gets."""

    answer: Callable[[int, dict[str, Any]], Reply]
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def segment(request: Request) -> Response:
            body = orjson.loads(await request.body())
            with self.lock:
                self.received.append((dict(request.headers), body))
                number = len(self.received)
            reply = self.answer(number, body)
            if reply.held_until is not None:
                await asyncio.to_thread(reply.held_until.wait, 30)
            return Response(
                orjson.dumps(reply.content), reply.status, reply.headers, "application/json"
            )

        return Starlette(routes=[Route("/segment", segment, methods=["POST"])])


@contextmanager
def stub_destination(answer: Callable[[int, dict[str, Any]], Reply]) -> Iterator[StubDestination]:
    stub = StubDestination(answer)
    with running_server(stub.app()) as url:
        stub.url = f"{url}/segment"  # type: ignore[attr-defined]
        yield stub


def simulator_for(url: str, *, timeout: float = 5.0, **config: Any) -> SegmentSimulator:
    config.setdefault("concurrency", 4)
    return SegmentSimulator(
        SegmentSimulatorConfig(DeliveryEndpoint.at(url, API_KEY, timeout=timeout), **config)
    )


identify = segment_identify


def deliver(simulator: SegmentSimulator, events: list[dict[str, Any]], timeout: float = 30) -> None:
    """Run the events through the simulator until every delivery has ended."""
    with simulator:
        simulator.accept(events)
        assert simulator.wait_until_idle(timeout), "deliveries did not end in time"


def statuses(simulator: SegmentSimulator, message_id: str) -> list[str]:
    return [entry.status for entry in simulator.journal.query(message_id=message_id)]


def test_each_event_is_one_post_with_segments_headers() -> None:
    with stub_destination(lambda number, body: Reply()) as stub:
        simulator = simulator_for(stub.url)
        deliver(simulator, [identify(f"h{n}", writeKey="w") for n in range(3)])
    assert len(stub.received) == 3
    headers, body = stub.received[0]
    assert headers["authorization"] == "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"] == "Segment.io/1.0"
    assert headers["accept"] == "*/*"
    assert headers["cache-control"] == "no-cache"
    assert orjson.loads(base64.b64decode(headers["x-segment-settings"])) == {}
    assert "writeKey" not in body
    assert {"type", "messageId", "receivedAt", "timestamp", "traits"} <= body.keys()
    assert sorted(body["messageId"] for _, body in stub.received) == [
        f"message-h{n}" for n in range(3)
    ]


@pytest.mark.parametrize(
    "status", [400, 401, 403, 404, 413, 422, 501], ids=lambda status: f"status-{status}"
)
def test_discarded_statuses_are_dropped_after_one_attempt(status: int) -> None:
    reply = Reply(status, {"message": "Missing email address", "errors": []})
    with stub_destination(lambda number, body: reply) as stub:
        simulator = simulator_for(stub.url)
        deliver(simulator, [identify("dropped")])
    assert len(stub.received) == 1
    (dropped,) = simulator.journal.query(status="dropped")
    assert dropped.reason == f"errors.discarded.{status}"
    assert dropped.detail == "Missing email address"
    assert dropped.http_status == status


@pytest.mark.parametrize(
    "status", [408, 423, 429, 500, 502, 503, 504], ids=lambda status: f"status-{status}"
)
def test_retryable_statuses_are_retried_until_delivered(status: int) -> None:
    def answer(number: int, body: dict[str, Any]) -> Reply:
        return Reply(status, {"message": "try later"}) if number <= 2 else Reply()

    with stub_destination(answer) as stub:
        simulator = simulator_for(stub.url)
        deliver(simulator, [identify("retried")])
    assert len(stub.received) == 3
    entries = simulator.journal.query(message_id="message-retried")
    assert [(e.status, e.attempt, e.reason) for e in entries] == [
        ("accepted", None, None),
        ("retried", 1, f"errors.retryable.{status}"),
        ("retried", 2, f"errors.retryable.{status}"),
        ("delivered", 3, None),
    ]
    assert (entries[1].detail or "").startswith("try later; next attempt at ")
    times = [datetime.fromisoformat(entry.at) for entry in entries[1:]]
    assert times[0] < times[1] < times[2], "retries must wait on the virtual clock"


def test_retries_give_up_after_four_hours_of_virtual_time() -> None:
    with stub_destination(lambda number, body: Reply(503, {"message": "down"})) as stub:
        simulator = simulator_for(stub.url)
        deliver(simulator, [identify("down")])
    entries = simulator.journal.query(message_id="message-down", limit=100)
    retried = [entry for entry in entries if entry.status == "retried"]
    dropped = entries[-1]
    assert dropped.status == "dropped"
    assert dropped.reason == "errors.retries_exhausted"
    assert "errors.retryable.503" in (dropped.detail or "")
    assert len(stub.received) == len(retried) + 1 == dropped.attempt
    first = datetime.fromisoformat(retried[0].at)
    last = datetime.fromisoformat(dropped.at)
    assert timedelta(hours=1) < last - first <= timedelta(seconds=RETRY_WINDOW_S)


def test_connection_refused_is_retried_then_dropped() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    simulator = simulator_for(f"http://127.0.0.1:{port}/segment")
    deliver(simulator, [identify("refused")])
    entries = simulator.journal.query(message_id="message-refused", limit=100)
    assert {e.reason for e in entries if e.status == "retried"} == {
        "errors.connection.ECONNREFUSED"
    }
    assert entries[-1].reason == "errors.retries_exhausted"


def test_timeout_is_retried_and_the_retry_delivers() -> None:
    retried = threading.Event()

    def answer(number: int, body: dict[str, Any]) -> Reply:
        if number == 1:
            return Reply(held_until=retried)  # the first attempt is answered only after the retry
        retried.set()
        return Reply()

    with stub_destination(answer) as stub:
        simulator = simulator_for(stub.url, timeout=0.2)
        deliver(simulator, [identify("slow")])
    assert [(e.status, e.reason) for e in simulator.journal.query(message_id="message-slow")] == [
        ("accepted", None),
        ("retried", "errors.timeout"),
        ("delivered", None),
    ]
    assert len(stub.received) == 2


def test_scaled_clock_waits_for_retries_in_scaled_real_time() -> None:
    """At 3600 simulated seconds per second, a backoff of about a second costs a millisecond."""

    def answer(number: int, body: dict[str, Any]) -> Reply:
        return Reply(503, {"message": "down"}) if number == 1 else Reply()

    with stub_destination(answer) as stub:
        simulator = simulator_for(stub.url, time_scale=3600.0)
        deliver(simulator, [identify("scaled")])
    retried, delivered = simulator.journal.query(message_id="message-scaled")[1:]
    gap = datetime.fromisoformat(delivered.at) - datetime.fromisoformat(retried.at)
    assert gap >= timedelta(seconds=0.5)  # the first backoff is 1 s +- 50%
    assert delivered.attempt == 2


def test_retry_after_is_honoured() -> None:
    def answer(number: int, body: dict[str, Any]) -> Reply:
        return (
            Reply(429, {"message": "slow down"}, {"Retry-After": "600"}) if number == 1 else Reply()
        )

    with stub_destination(answer) as stub:
        simulator = simulator_for(stub.url)
        deliver(simulator, [identify("limited")])
    retried, delivered = simulator.journal.query(message_id="message-limited")[1:]
    gap = datetime.fromisoformat(delivered.at) - datetime.fromisoformat(retried.at)
    assert gap >= timedelta(seconds=600)


def test_duplicate_rate_delivers_copies_with_the_same_message_id() -> None:
    with stub_destination(lambda number, body: Reply()) as stub:
        simulator = simulator_for(stub.url, faults=DeliveryFaults(duplicate_rate=1.0, seed=1))
        deliver(simulator, [identify(f"d{n}") for n in range(5)])
    received = sorted(body["messageId"] for _, body in stub.received)
    assert received == sorted([f"message-d{n}" for n in range(5)] * 2)
    notes = [entry.detail or "" for entry in simulator.journal.query(status="delivered")]
    assert sum("injected duplicate" in note for note in notes) == 5


def test_reorder_window_changes_arrival_order() -> None:
    events = [identify(f"r{n:02d}") for n in range(40)]
    with stub_destination(lambda number, body: Reply()) as stub:
        simulator = simulator_for(
            stub.url, concurrency=1, faults=DeliveryFaults(reorder_window=60.0, seed=3)
        )
        deliver(simulator, events)
    arrived = [body["messageId"] for _, body in stub.received]
    sent = [event["messageId"] for event in events]
    assert sorted(arrived) == sent
    assert arrived != sent


def test_without_reorder_window_one_worker_keeps_order() -> None:
    events = [identify(f"o{n:02d}") for n in range(20)]
    with stub_destination(lambda number, body: Reply()) as stub:
        simulator = simulator_for(stub.url, concurrency=1)
        deliver(simulator, events)
    assert [body["messageId"] for _, body in stub.received] == [e["messageId"] for e in events]


# Exactly once, end to end: tracking API -> pipeline -> delivery with faults -> reference
# destination with faults. Every identify the destination should accept ends up exactly once on
# its timeline; the others never do.

FAULT_MIXES = {
    "no-faults": ({}, {}),
    "duplicates": ({"duplicate_rate": 0.5}, {}),
    "reorder": ({"reorder_window": 120.0}, {}),
    "fail-503": ({}, {"fail_rate": 0.3}),
    "slow": ({}, {"slow_rate": 0.2}),
    "everything": (
        {"duplicate_rate": 0.3, "reorder_window": 60.0},
        {"fail_rate": 0.2, "slow_rate": 0.1},
    ),
}


def traffic(run: str) -> tuple[list[dict[str, Any]], dict[str, str], list[str]]:
    """Events to send, the (messageId -> email) the destination should accept, and the rest."""
    events: list[dict[str, Any]] = []
    accepted: dict[str, str] = {}
    refused: list[str] = []
    for number in range(40):
        key = f"{run}-{number}"
        event = identify(key)
        events.append(event)
        accepted[event["messageId"]] = f"{key}@example.com"
    for number in range(10):  # the same contacts again, a day later: a second timeline entry
        key = f"{run}-{number}"
        event = identify(key, messageId=f"message-{key}-next", timestamp="2024-05-02T09:00:00Z")
        events.append(event)
        accepted[event["messageId"]] = f"{key}@example.com"
    for number in range(5):  # Nat refuses these: no email
        event = identify(f"{run}-anonymous-{number}", traits={"name": "No Email"})
        events.append(event)
        refused.append(event["messageId"])
    for number in range(5):  # never forwarded
        events.append(
            {"type": "track", "userId": "u", "event": "Order Completed", "messageId": f"t{number}"}
        )
        events.append(identify(f"{run}-off-{number}", integrations={"All": False, "Nat": False}))
        refused.append(f"message-{run}-off-{number}")
    events.extend(identify(f"{run}-{number}") for number in range(5))  # ingest duplicates
    return events, accepted, refused


@pytest.mark.parametrize("mix", list(FAULT_MIXES), ids=list(FAULT_MIXES))
def test_every_accepted_identify_is_on_the_timeline_exactly_once(mix: str, tmp_path: Path) -> None:
    delivery_faults, destination_faults = FAULT_MIXES[mix]
    store = Store(tmp_path / "nat.db")
    destination = create_app(
        store, API_KEY, faults=Faults(**destination_faults, slow_seconds=0.4, seed=11)
    )
    events, accepted, refused = traffic(mix)
    try:
        with running_server(destination) as destination_url:
            simulator = simulator_for(
                f"{destination_url}/segment",
                timeout=0.25,
                concurrency=8,
                faults=DeliveryFaults(**delivery_faults, seed=7),
            )
            with running_simulator(simulator) as tracking_api:
                for start in range(0, len(events), 25):
                    answer = requests.post(
                        f"{tracking_api}/v1/batch",
                        json={"batch": events[start : start + 25], "writeKey": "w"},
                        timeout=5,
                    )
                    assert answer.status_code == 200
                assert simulator.wait_until_idle(60), "deliveries did not end in time"
                journal = simulator.journal
                for message_id in accepted:
                    assert "delivered" in statuses(simulator, message_id), message_id
                counts = journal.counts()
            for message_id, email in accepted.items():
                timeline = store.timeline(email) or []
                on_timeline = [entry for entry in timeline if entry.message_id == message_id]
                assert len(on_timeline) == 1, f"{message_id}: {timeline}"
            for message_id in refused:
                email = message_id.removeprefix("message-") + "@example.com"
                assert store.contact(email) is None, message_id
            assert store.counts()["timeline"] == len(accepted)
            assert counts["dropped"] >= 5  # the events without an email, discarded with 400
            assert counts["filtered"] == 15  # 5 track, 5 integrations off, 5 duplicates
    finally:
        store.close()


# Connection handling, against raw TCP servers that misbehave in ways HTTP frameworks hide.


class _OneRequestPerConnection(socketserver.BaseRequestHandler):
    """Answers one request 200 as keep-alive, then closes the connection without saying so."""

    answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    def handle(self) -> None:
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = self.request.recv(65536)
            if not chunk:
                return
            received += chunk
        self.request.sendall(self.answer)


class _Garbage(_OneRequestPerConnection):
    answer = b"this is not HTTP\r\n\r\n"


@contextmanager
def raw_server(handler: type[socketserver.BaseRequestHandler]) -> Iterator[str]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/segment"
    finally:
        server.shutdown()
        server.server_close()


def test_a_connection_closed_while_idle_is_reopened_without_a_retry() -> None:
    with raw_server(_OneRequestPerConnection) as url:
        simulator = simulator_for(url, concurrency=1)
        deliver(simulator, [identify(f"k{n}") for n in range(5)])
    counts = simulator.journal.counts()
    assert (counts["delivered"], counts["retried"], counts["dropped"]) == (5, 0, 0)


def test_a_malformed_answer_is_retried_then_dropped() -> None:
    with raw_server(_Garbage) as url:
        simulator = simulator_for(url, concurrency=1)
        deliver(simulator, [identify("garbage")])
    entries = simulator.journal.query(message_id="message-garbage", limit=100)
    assert {e.reason for e in entries if e.status == "retried"} == {
        "errors.connection.BadStatusLine"
    }
    assert entries[-1].reason == "errors.retries_exhausted"


def test_connection_close_answers_are_handled() -> None:
    reply = Reply(headers={"Connection": "close"})
    with stub_destination(lambda number, body: reply) as stub:
        simulator = simulator_for(stub.url, concurrency=2)
        deliver(simulator, [identify(f"c{n}") for n in range(6)])
    assert len(stub.received) == 6
    assert simulator.journal.counts()["retried"] == 0
