"""The virtual clock and the agenda: hours of backoff cost no real time, nothing runs early."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from contract.timestamps import format_segment_time
from harness.errors import SettingError
from harness.segment.clock import Agenda, VirtualClock, parse_time_scale

START = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


class FakeTimer:
    """Real time under the test's control; `consulted` is set when a thread other than the
    test's own reads it (a taker looking at the clock before it decides to wait or take)."""

    def __init__(self) -> None:
        self.now = 100.0
        self.consulted = threading.Event()
        self._test_thread = threading.current_thread()

    def __call__(self) -> float:
        if threading.current_thread() is not self._test_thread:
            self.consulted.set()
        return self.now


def _until_waiting(agenda: Agenda[str], timer: FakeTimer) -> None:
    """Return once the taker has looked at the clock and is blocked waiting: it read the clock
    holding the agenda's lock, so the lock is free again only once it waits (or has taken)."""
    assert timer.consulted.wait(5), "the taker never looked at the clock"
    agenda.outstanding()  # takes the agenda's lock


@pytest.mark.parametrize(
    ("text", "scale"),
    [("instant", 0.0), ("INSTANT", 0.0), ("0", 0.0), ("1", 1.0), ("60", 60.0), (3600, 3600.0)],
    ids=["instant", "instant-upper", "zero", "real-time", "minute-per-second", "number"],
)
def test_time_scale_is_parsed(text: str | float, scale: float) -> None:
    assert parse_time_scale(text) == scale


@pytest.mark.parametrize("text", ["fast", "-1", "nan", "inf", ""], ids=str)
def test_bad_time_scale_says_what_is_accepted(text: str) -> None:
    with pytest.raises(SettingError, match=r"'instant'.*1 for real time"):
        parse_time_scale(text)


def test_scaled_clock_runs_faster_than_real_time() -> None:
    timer = FakeTimer()
    clock = VirtualClock(60, start=START, timer=timer)
    timer.now += 2.0
    assert clock.now() == pytest.approx(120.0)
    assert clock.datetime() == datetime(2024, 5, 1, 10, 2, tzinfo=UTC)
    assert clock.real_seconds(60) == pytest.approx(1.0)


def test_instant_clock_runs_at_real_speed_and_jumps_forward_only() -> None:
    timer = FakeTimer()
    clock = VirtualClock(0, start=START, timer=timer)
    timer.now += 1.5
    assert clock.now() == pytest.approx(1.5)
    clock.advance_to(4 * 3600)
    assert clock.now() == pytest.approx(4 * 3600)
    clock.advance_to(10)  # the past: no effect
    assert clock.now() == pytest.approx(4 * 3600)
    clock.advance(30)
    assert clock.now() == pytest.approx(4 * 3600 + 30)


def test_format_instant_is_segment_style_utc_with_milliseconds() -> None:
    moment = datetime.fromisoformat("2024-05-01T12:00:00.123456+02:00")
    assert format_segment_time(moment) == "2024-05-01T10:00:00.123Z"


def test_instant_agenda_jumps_to_the_earliest_due_job_when_idle() -> None:
    clock = VirtualClock(0, start=START, timer=FakeTimer())
    agenda: Agenda[str] = Agenda(clock)
    agenda.put_many([(7200.0, "late"), (3600.0, "early"), (0.0, "now")])
    taken = []
    for _ in range(3):
        taken.append((agenda.take(), clock.now()))
        agenda.done()
    assert taken == [("now", 0.0), ("early", 3600.0), ("late", 7200.0)]
    assert agenda.outstanding() == 0


def test_instant_agenda_waits_for_work_in_progress_before_jumping() -> None:
    """A job in progress may schedule something sooner, so the clock must not jump past it."""
    timer = FakeTimer()
    clock = VirtualClock(0, start=START, timer=timer)
    agenda: Agenda[str] = Agenda(clock)
    agenda.put_many([(0.0, "first"), (3600.0, "later")])
    assert agenda.take() == "first"
    taken: list[tuple[str | None, float]] = []
    taker = threading.Thread(target=lambda: taken.append((agenda.take(), clock.now())), daemon=True)
    taker.start()
    _until_waiting(agenda, timer)
    assert agenda.next_due() == 3600.0, "the agenda handed out the later job"
    assert clock.now() == 0.0, "the agenda jumped while a job was still in progress"
    agenda.put("retry", 60.0)
    agenda.done()
    taker.join(5)
    assert taken == [("retry", 60.0)]


def test_scaled_agenda_releases_a_job_only_when_its_time_comes() -> None:
    timer = FakeTimer()
    clock = VirtualClock(10_000, start=START, timer=timer)
    agenda: Agenda[str] = Agenda(clock)
    agenda.put("job", 500.0)
    result: list[str | None] = []
    taker = threading.Thread(target=lambda: result.append(agenda.take()), daemon=True)
    taker.start()
    _until_waiting(agenda, timer)
    assert agenda.next_due() == 500.0, "the job was released before its time"
    timer.now += 0.06  # 600 virtual seconds: the taker's next look at the clock finds it due
    taker.join(5)
    assert result == ["job"]


def test_wait_until_idle_and_close() -> None:
    clock = VirtualClock(0, start=START, timer=FakeTimer())
    agenda: Agenda[int] = Agenda(clock)
    agenda.put(1, 0.0)
    assert not agenda.wait_until_idle(0.01)
    assert agenda.take() == 1
    agenda.done()
    assert agenda.wait_until_idle(1)
    agenda.put(2, 10.0)
    assert agenda.close() == 1
    assert agenda.take() is None
