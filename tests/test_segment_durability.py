"""`nat-harness simulate segment` keeps what it acknowledged (CONTRACT B.14), as real processes:
killed with SIGKILL, it delivers everything after a restart on the same `--data`, exactly once;
stopped with SIGTERM or Ctrl-C mid-delivery, it exits 0, its summary adds up to what it
acknowledged, and its journal file is complete. Every wait is on an output line or a journal
state, bounded; every process group is killed in teardown."""

from __future__ import annotations

import asyncio
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_impl import Store, create_app, running_server
from tests.conftest import API_KEY
from tests.helpers import segment_identify
from tests.segment_processes import Running, simulator_processes


class Gate:
    """ASGI middleware in front of the reference destination: lets through the calls `admits`
    says yes to and answers the rest 503 with Retry-After: 3600, after `delay` seconds; counts
    every call the destination answered 2xx, per messageId.

    Each simulator run posts to its own `?run=N`, and the rules are per run, so that a call a
    killed simulator sent is judged by its run's rules whenever the server gets to it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.admits: Callable[[str, str], bool] = lambda run, message_id: True
        self.delay: Callable[[str], float] = lambda run: 0.0
        self.delivered: Counter[str] = Counter()
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/segment":
            await self.app(scope, receive, send)
            return
        run = scope["query_string"].decode().removeprefix("run=")
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":  # the simulator was killed mid-request
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        message_id = str(orjson.loads(body).get("messageId"))
        if delay := self.delay(run):
            await asyncio.sleep(delay)
        if not self.admits(run, message_id):
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"application/json"), (b"retry-after", b"3600")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"message":"gate closed"}'})
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= message["status"] < 300:
                with self._lock:
                    self.delivered[message_id] += 1
            await send(message)

        await self.app(scope, replay, counting_send)


@pytest.fixture
def started() -> Iterator[Callable[..., Running]]:
    """Starts simulators; kills the process group of every one still running at the end."""
    with simulator_processes() as start:
        yield start


@pytest.fixture
def destination(tmp_path: Path) -> Iterator[tuple[str, Gate, Store]]:
    """The reference destination behind a gate, served in this process."""
    store = Store(tmp_path / "nat.db")
    gate = Gate(create_app(store, API_KEY))
    try:
        with running_server(gate) as url:  # type: ignore[arg-type]
            yield f"{url}/segment", gate, store
    finally:
        store.close()


def identify(group: str, number: int) -> dict[str, Any]:
    """A numbered call of `group`: its ids and email are `{group}-{number}`."""
    return segment_identify(
        number, user=group, message=group, person=group, timestamp="2026-05-01T10:00:00.000Z"
    )


def batches(group: str, count: int, size: int = 20) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, count, size):
        yield [identify(group, number) for number in range(start, min(start + size, count))]


def arguments(url: str, run: int, data: Path, *more: str) -> tuple[str, ...]:
    # Time scale 1: a retry after a 503 with Retry-After: 3600 waits an hour, so what the gate
    # holds back stays queued while the test looks.
    return (
        "--destination",
        f"{url}?run={run}",
        "--api-key",
        API_KEY,
        "--data",
        str(data),
        "--time-scale",
        "1",
        "--concurrency",
        "4",
        *more,
    )


def test_sigkill_after_acknowledging_loses_nothing_and_a_restart_delivers_it_once(
    started: Callable[..., Running], destination: tuple[str, Gate, Store], tmp_path: Path
) -> None:
    url, gate, store = destination
    data = tmp_path / "data"
    gate.admits = lambda run, message_id: run == "2" or message_id.startswith("early-")
    first = started(*arguments(url, 1, data))
    for events in batches("early", 40):  # delivered before the kill
        first.send(events)
    first.wait_until("40 deliveries", lambda status: status["events"]["delivered"] == 40)
    for events in batches("held", 60):  # answered 503, waiting an hour for their retry
        first.send(events)
    first.wait_until("60 refusals", lambda status: status["counts"]["retried"] >= 60)
    for events in batches("last", 100):  # acknowledged right before the kill
        first.send(events)
    first.kill()  # SIGKILL, right after the last acknowledgement

    second = started(*arguments(url, 2, data))
    status = second.wait_until("160 deliveries", lambda s: s["events"]["delivered"] == 160)
    assert status["events"]["restored"] == 160
    exit_code, summary = second.stop(signal.SIGTERM)
    assert exit_code == 0
    assert (summary["restored"], summary["delivered"], summary["kept"]) == (160, 160, 0)
    expected = [
        f"{group}-{n}"
        for group, count in (("early", 40), ("held", 60), ("last", 100))
        for n in range(count)
    ]
    assert sorted(gate.delivered) == sorted(expected)
    assert set(gate.delivered.values()) == {1}, "every event delivered exactly once"
    for message_id in expected:
        timeline = store.timeline(f"{message_id}@example.com") or []
        assert [entry.message_id for entry in timeline] == [message_id]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_a_stop_mid_delivery_exits_0_its_counts_add_up_and_the_journal_is_complete(
    started: Callable[..., Running],
    destination: tuple[str, Gate, Store],
    tmp_path: Path,
    signum: int,
) -> None:
    url, gate, _ = destination
    data, log = tmp_path / "data", tmp_path / "journal.jsonl"
    gate.admits = lambda run, message_id: run == "2" or not message_id.startswith("held-")
    # Four deliveries in flight at a time, each 20 ms: the first run's 200 take a second.
    gate.delay = lambda run: 0.02 if run == "1" else 0.0
    first = started(*arguments(url, 1, data, "--log", str(log), "--drain-timeout", "0.3"))
    for events in batches("moving", 200):
        first.send(events)
    for events in batches("held", 30):
        first.send(events)
    exit_code, summary = first.stop(signum)
    assert exit_code == 0, first.lines
    assert summary["accepted"] == 230
    assert summary["filtered"] + summary["delivered"] + summary["dropped"] + summary["kept"] == 230
    assert summary["kept"] >= 30, "the held events cannot be delivered before the stop"
    assert summary["delivered"] == sum(gate.delivered.values())
    kept_line = f"Kept {summary['kept']} events in {data}: start again with --data {data}"
    assert any(line.startswith(kept_line) for line in first.lines), first.lines

    entries = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    by_status = Counter(entry["status"] for entry in entries)
    assert by_status["accepted"] == 230
    assert by_status["delivered"] == summary["delivered"]
    assert by_status["kept"] == summary["kept"]
    kept = {entry["messageId"] for entry in entries if entry["status"] == "kept"}
    delivered = {entry["messageId"] for entry in entries if entry["status"] == "delivered"}
    assert not kept & delivered
    assert entries[-1]["status"] == "kept"

    second = started(*arguments(url, 2, data, "--log", str(log)))
    second.wait_until("the kept events", lambda s: s["events"]["delivered"] == summary["kept"])
    exit_code, again = second.stop(signum)
    assert exit_code == 0
    assert (again["restored"], again["delivered"], again["kept"]) == (summary["kept"],) * 2 + (0,)
    assert len(gate.delivered) == 230 and set(gate.delivered.values()) == {1}


def test_a_second_signal_cuts_the_drain_short_and_keeps_the_rest(
    started: Callable[..., Running], destination: tuple[str, Gate, Store], tmp_path: Path
) -> None:
    """With an hour to drain and nothing deliverable, only the second signal can end it."""
    url, gate, _ = destination
    gate.admits = lambda run, message_id: False
    first = started(*arguments(url, 1, tmp_path / "data", "--drain-timeout", "3600"))
    for events in batches("stuck", 20):
        first.send(events)
    first.wait_until("20 refusals", lambda status: status["counts"]["retried"] >= 20)
    first.process.send_signal(signal.SIGTERM)
    first.wait_for_line("Stopping on SIGTERM: 20 events still to deliver")
    exit_code, summary = first.stop(signal.SIGINT)
    assert exit_code == 0
    assert (summary["accepted"], summary["delivered"], summary["kept"]) == (20, 0, 20)
