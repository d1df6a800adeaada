"""`nat-harness simulate segment` keeps what it acknowledged (CONTRACT B.14), as real processes:
killed with SIGKILL, it delivers everything after a restart on the same `--data`, exactly once;
stopped with SIGTERM or Ctrl-C mid-delivery, it exits 0, its summary adds up to what it
acknowledged, and its journal file is complete. Every wait is on an output line or a journal
state, bounded; every process group is killed in teardown."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import requests
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_impl import Store, create_app, running_server
from tests.conftest import API_KEY

WAIT = 60.0  # seconds any one wait may take before the test fails
SUMMARY = re.compile(
    r"Stopped\. accepted (?P<accepted>\d+), restored (?P<restored>\d+): filtered "
    r"(?P<filtered>\d+), delivered (?P<delivered>\d+), dropped (?P<dropped>\d+), kept "
    r"(?P<kept>\d+)"
)


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


class Running:
    """A `nat-harness simulate segment` process in its own process group, its output read
    line by line on a thread so that waits are bounded."""

    def __init__(self, *arguments: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "harness", "simulate", "segment", "--port", "0", *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        banner = self.wait_for_line("Segment tracking API on ")
        self.url = banner.split(" on ", 1)[1].split("/v1/", 1)[0]
        self.wait_for_line("Data: ")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, prefix: str) -> str:
        deadline = time.monotonic() + WAIT
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the simulator ended before {prefix!r}: {self.lines}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no line starting {prefix!r} within {WAIT:g} s: {self.lines}")

    def send(self, events: list[dict[str, Any]]) -> None:
        answer = requests.post(f"{self.url}/v1/batch", json={"batch": events}, timeout=10)
        assert answer.status_code == 200, answer.text

    def status(self) -> dict[str, Any]:
        answer = requests.get(f"{self.url}/status", timeout=10)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    def wait_until(self, what: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """Poll GET /status until `done` says yes about it (bounded)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            status = self.status()
            if done(status):
                return status
            time.sleep(0.02)
        raise AssertionError(f"{what} did not happen within {WAIT:g} s: {self.status()}")

    def stop(self, signum: int) -> tuple[int, dict[str, int]]:
        """Send `signum`; the exit code and the summary's counts."""
        self.process.send_signal(signum)
        line = self.wait_for_line("Stopped. ")
        match = SUMMARY.match(line)
        assert match, line
        while (rest := self._queue.get(timeout=WAIT)) is not None:
            self.lines.append(rest)
        return self.process.wait(WAIT), {
            name: int(value) for name, value in match.groupdict().items()
        }

    def kill(self) -> None:
        """SIGKILL the process group (whatever of it still runs) and reap the process."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(WAIT)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def started() -> Iterator[Callable[..., Running]]:
    """Starts simulators; kills the process group of every one still running at the end."""
    processes: list[Running] = []

    def start(*arguments: str) -> Running:
        running = Running(*arguments)
        processes.append(running)
        return running

    yield start
    for running in processes:
        running.kill()


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
    return {
        "type": "identify",
        "userId": f"{group}-{number}",
        "messageId": f"{group}-{number}",
        "traits": {"email": f"{group}-{number}@example.com"},
        "timestamp": "2026-05-01T10:00:00.000Z",
    }


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
        assert [entry["message_id"] for entry in timeline] == [message_id]


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
