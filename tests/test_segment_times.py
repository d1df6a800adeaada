"""Which clock each time comes from (issue 15): an event's `receivedAt` and corrected `timestamp`
are the wall-clock moment it arrived, whatever the time scale; the virtual clock only schedules
retries and delivery faults. A fixed wall clock is passed in, so no test depends on the hour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from contract.retry import RETRY_WINDOW_S
from contract.timestamps import format_segment_time
from harness.segment import (
    DeliveryEndpoint,
    SegmentSimulator,
    SegmentSimulatorConfig,
    VirtualClock,
    parse_time_scale,
    running_simulator,
)
from harness.segment.pipeline import Forward
from reference_impl import Store, create_app, running_server
from tests.conftest import API_KEY
from tests.test_segment_delivery import Reply, stub_destination

#: Ten milliseconds before midnight on the wall clock.
BEFORE_MIDNIGHT = datetime(2026, 12, 1, 23, 59, 59, 990_000, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
SCALES = ["instant", "1", "3600"]


class TickingWall:
    """A wall clock that is a millisecond later at each reading: requests a millisecond apart."""

    def __init__(self, start: datetime) -> None:
        self.next = start

    def __call__(self) -> datetime:
        moment, self.next = self.next, self.next + MILLISECOND
        return moment


def virtual_clock(scale: str, start: datetime) -> VirtualClock:
    """A virtual clock at `scale` that has already jumped three simulated hours ahead, as an
    instant clock does while retries fall due: receipt times must not follow it."""
    clock = VirtualClock(parse_time_scale(scale), start=start)
    clock.advance(3 * 3600)
    return clock


def simulator(url: str, scale: str, wall: TickingWall, **config: Any) -> SegmentSimulator:
    destination = DeliveryEndpoint.at(url, API_KEY)
    return SegmentSimulator(
        SegmentSimulatorConfig(destination, concurrency=2, **config),
        clock=virtual_clock(scale, wall.next),
        wall=wall,
    )


def client_call(number: int, plan: str, original: datetime) -> dict[str, Any]:
    """An identify as segment-analytics-python sends it: its own clock, sent a millisecond later."""
    return {
        "type": "identify",
        "userId": "user-1",
        "messageId": f"call-{number}",
        "traits": {"email": "pat@example.com", "plan": plan},
        "originalTimestamp": format_segment_time(original),
        "sentAt": format_segment_time(original + MILLISECOND),
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    fresh = Store(tmp_path / "nat.db")
    yield fresh
    fresh.close()


@pytest.mark.parametrize("scale", SCALES)
def test_two_calls_a_millisecond_apart_keep_their_order_and_day(scale: str, store: Store) -> None:
    """Before: at time scale 3600 (or after an instant jump) the second call moved to the next
    day, and the contact got two timeline entries."""
    wall = TickingWall(BEFORE_MIDNIGHT + 2 * MILLISECOND)
    with running_server(create_app(store, API_KEY)) as destination:
        sim = simulator(f"{destination}/segment", scale, wall)
        with running_simulator(sim) as tracking_api:
            for number, plan in enumerate(("free", "pro")):
                call = client_call(number, plan, BEFORE_MIDNIGHT + number * MILLISECOND)
                answer = requests.post(f"{tracking_api}/v1/identify", json=call, timeout=5)
                assert answer.status_code == 200, answer.text
            assert sim.wait_until_idle(10)
    timeline = store.timeline("pat@example.com")
    assert timeline is not None
    assert [entry.day for entry in timeline] == ["2026-12-01"], timeline
    # Which of the two makes the entry is a race between two deliveries (order is not
    # guaranteed, CONTRACT A.4); their order is in their timestamps, which the property shows.
    contact = store.contact("pat@example.com")
    assert contact is not None
    plan = contact.properties["plan"]
    assert plan.value == "pro", "the later call is the later one at the destination too"
    assert plan.set_at.startswith("2026-12-01T23:59:59.99")


@pytest.mark.parametrize("scale", SCALES)
def test_no_call_moves_across_midnight(scale: str) -> None:
    """Calls on both sides of midnight, each made a millisecond before it was sent and received
    (a client whose clock is right): each keeps its own moment, so its own day."""
    wall = TickingWall(BEFORE_MIDNIGHT)
    sim = simulator("http://127.0.0.1:9/segment", scale, wall)  # never started: nothing is sent
    wall.next = BEFORE_MIDNIGHT + 5 * MILLISECOND
    received = [wall.next + number * MILLISECOND for number in range(10)]
    made = [moment - MILLISECOND for moment in received]
    stamped = []
    for number, moment in enumerate(made):
        [verdict] = sim.accept([client_call(number, "free", moment)])
        assert isinstance(verdict, Forward)
        stamped.append(verdict.message)
    sim.close()
    assert [message["receivedAt"] for message in stamped] == [
        format_segment_time(m) for m in received
    ]
    assert [message["timestamp"] for message in stamped] == [format_segment_time(m) for m in made]
    days = [message["timestamp"][:10] for message in stamped]
    assert days == ["2026-12-01"] * 6 + ["2026-12-02"] * 4


def test_retries_span_four_simulated_hours_while_receipt_times_stay_real() -> None:
    wall = TickingWall(BEFORE_MIDNIGHT)
    with stub_destination(lambda number, body: Reply(503, {"message": "down"})) as stub:
        sim = simulator(stub.url, "instant", wall)
        wall.next = BEFORE_MIDNIGHT
        with sim:
            sim.accept([client_call(1, "free", BEFORE_MIDNIGHT - MILLISECOND)])
            assert sim.wait_until_idle(30)
    entries = sim.journal.query(message_id="call-1", limit=100)
    assert entries[-1].status == "dropped" and entries[-1].reason == "errors.retries_exhausted"
    first_attempt = datetime.fromisoformat(entries[1].at)
    last_attempt = datetime.fromisoformat(entries[-1].at)
    assert timedelta(hours=1) < last_attempt - first_attempt <= timedelta(seconds=RETRY_WINDOW_S)
    attempts = [body for _, body in stub.received]
    assert len(attempts) == entries[-1].attempt > 2
    assert {body["receivedAt"] for body in attempts} == {format_segment_time(BEFORE_MIDNIGHT)}
    assert {body["timestamp"][:10] for body in attempts} == {"2026-12-01"}
