"""Virtual time for the simulator: hours of Segment's retries and Engage's syncs in seconds.

A `VirtualClock` runs at `time_scale` times real time plus explicit jumps; scale 0 ("instant")
runs at real speed but jumps straight to the next due job whenever nothing is in flight. An
`Agenda` holds jobs until their virtual due time and hands them to worker threads.
"""

from __future__ import annotations

import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Generic, TypeVar

from harness.errors import SettingError

__all__ = ["Agenda", "VirtualClock", "parse_time_scale"]

Job = TypeVar("Job")


def parse_time_scale(text: str | float) -> float:
    """`instant` or 0 for instant time, else a positive factor (60: a simulated minute a second)."""
    if isinstance(text, str) and text.strip().lower() == "instant":
        return 0.0
    try:
        scale = float(text)
    except (TypeError, ValueError):
        scale = math.nan
    if not math.isfinite(scale) or scale < 0:
        raise SettingError(
            "time_scale",
            f"{text!r} is not a time scale: use 'instant' (or 0) to jump straight to "
            "the next due retry, 1 for real time, or a factor such as 60 (one simulated minute "
            "per second)",
        )
    return scale


class VirtualClock:
    """Seconds since `start` on a virtual timeline: scaled real time plus jumps, never backwards."""

    def __init__(
        self,
        time_scale: float = 0.0,
        *,
        start: datetime | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale < 0:
            raise ValueError(f"time_scale must be 0 (instant) or positive, got {time_scale}")
        self.time_scale = time_scale
        self.start = (start or datetime.now(UTC)).astimezone(UTC)
        self._timer = timer
        self._origin = timer()
        self._jumped = 0.0
        self._lock = threading.Lock()

    @property
    def instant(self) -> bool:
        """True when the clock jumps to the next due job instead of waiting for it."""
        return self.time_scale == 0

    def now(self) -> float:
        """Virtual seconds elapsed since `start`."""
        return (self._timer() - self._origin) * (self.time_scale or 1.0) + self._jumped

    def datetime(self, at: float | None = None) -> datetime:
        """The UTC date-time of virtual second `at` (now by default)."""
        return self.start + timedelta(seconds=self.now() if at is None else at)

    def advance_to(self, at: float) -> None:
        """Jump forward to virtual second `at`; a moment already past changes nothing."""
        with self._lock:
            gap = at - self.now()
            if gap > 0:
                self._jumped += gap

    def advance(self, seconds: float) -> None:
        """Jump forward by `seconds` of virtual time."""
        with self._lock:
            self._jumped += max(seconds, 0.0)

    def real_seconds(self, virtual_seconds: float) -> float:
        """How long a real wait covers `virtual_seconds` of virtual time."""
        return max(virtual_seconds, 0.0) / (self.time_scale or 1.0)


class Agenda(Generic[Job]):
    """Jobs waiting for their virtual due time, taken by worker threads once due.

    In instant mode the clock jumps to the earliest due job as soon as no job is in progress, so a
    four-hour backoff costs nothing; while a job is in progress its outcome may schedule something
    sooner, so the agenda waits for it first.
    """

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self._heap: list[tuple[float, int, Job]] = []
        self._order = itertools.count()
        self._in_progress = 0
        self._closed = False
        lock = threading.Lock()
        self._work = threading.Condition(lock)  # workers wait here for a due job
        self._idle = threading.Condition(lock)  # `wait_until_idle` waits here

    def put(self, job: Job, due: float) -> None:
        """Schedule `job` for virtual second `due`."""
        self.put_many([(due, job)])

    def put_many(self, jobs: Iterable[tuple[float, Job]]) -> None:
        """Schedule several (due, job) pairs at once, so no clock jump falls between them."""
        with self._work:
            added = 0
            for due, job in jobs:
                heapq.heappush(self._heap, (due, next(self._order), job))
                added += 1
            if added:
                self._work.notify(added)

    def take(self) -> Job | None:
        """The next due job (blocking until there is one), or None once the agenda is closed.

        Every job taken must be followed by `done()`.
        """
        clock = self.clock
        with self._work:
            while not self._closed:
                if self._heap:
                    due = self._heap[0][0]
                    now = clock.now()
                    if due <= now:
                        self._in_progress += 1
                        return heapq.heappop(self._heap)[2]
                    if clock.instant and self._in_progress == 0:
                        clock.advance_to(due)
                        self._work.notify_all()
                        continue
                    self._work.wait(clock.real_seconds(due - now))
                else:
                    self._work.wait()
            return None

    def done(self) -> None:
        """Mark one taken job finished (after scheduling whatever it leads to)."""
        with self._work:
            self._in_progress -= 1
            if self._in_progress == 0:
                if not self._heap:
                    self._idle.notify_all()
                elif self.clock.instant:
                    self._work.notify()  # someone may jump the clock now

    def outstanding(self) -> int:
        """Jobs waiting or in progress."""
        with self._work:
            return len(self._heap) + self._in_progress

    def next_due(self) -> float | None:
        """The virtual second of the earliest waiting job, if any."""
        with self._work:
            return self._heap[0][0] if self._heap else None

    def wait_until_idle(self, timeout: float) -> bool:
        """Block until nothing is waiting or in progress; False if `timeout` real seconds pass."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._heap or self._in_progress:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return True

    def close(self) -> int:
        """Stop handing out jobs and wake every taker; returns how many jobs were abandoned."""
        with self._work:
            self._closed = True
            abandoned = len(self._heap)
            self._heap.clear()
            self._work.notify_all()
            self._idle.notify_all()
            return abandoned
