"""The Segment simulator put together: pipeline, journal and delivery on one virtual clock.

`SegmentSimulator.accept` is what the tracking API calls for each request's events;
`running_simulator` serves that API from a background thread (tests, benchmarks), and
`embedded_destination` starts the reference destination on a temporary database when no
destination is named.
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from contract.settings import SettingError
from contract.timestamps import format_segment_time
from harness.segment.clock import VirtualClock
from harness.segment.delivery import Delivery, DeliveryEndpoint
from harness.segment.faults import DeliveryFaults
from harness.segment.ingest import create_ingest_app
from harness.segment.journal import Journal
from harness.segment.outbox import Incoming, Outbox, Parcel
from harness.segment.pipeline import DAY, Filtered, Forward, Pipeline, UnstorableEvent
from harness.segment.retry import RetryPolicy
from reference_impl import Faults, Store, create_app, running_server

__all__ = [
    "SegmentSimulator",
    "SegmentSimulatorConfig",
    "Shutdown",
    "Tally",
    "UnstorableEvent",
    "embedded_destination",
    "running_simulator",
]


@dataclass(frozen=True, slots=True)
class SegmentSimulatorConfig:
    """Everything `nat-harness simulate segment` sets, in one record.

    `data_dir` holds the outbox of acknowledged events (SQLite): a simulator started again on
    the same directory delivers what the last one left. None keeps it in memory.
    """

    destination: DeliveryEndpoint
    write_key: str | None = None
    concurrency: int = 32
    time_scale: float = 0.0
    dedup_window: float = DAY
    faults: DeliveryFaults = field(default_factory=DeliveryFaults)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    journal_size: int = 10_000
    log_path: str | Path | None = None
    data_dir: str | Path | None = None

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise SettingError("concurrency", f"must be at least 1, got {self.concurrency}")
        if not math.isfinite(self.time_scale) or self.time_scale < 0:
            raise SettingError(
                "time_scale", f"must be 0 (instant) or a positive factor, got {self.time_scale}"
            )
        if self.dedup_window < 0:
            raise SettingError(
                "dedup_window", f"must be zero or more seconds, got {self.dedup_window}"
            )
        if self.journal_size < 1:
            raise SettingError("journal_size", f"must be at least 1, got {self.journal_size}")


@dataclass(frozen=True, slots=True)
class Tally:
    """Events (not journal entries) of one simulator run; they always add up:
    `accepted + restored == filtered + delivered + dropped + queued`."""

    accepted: int = 0
    restored: int = 0
    filtered: int = 0
    delivered: int = 0
    dropped: int = 0
    queued: int = 0

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class Shutdown:
    """How a stop went: the events queued when it began, how many of them were settled
    (delivered or dropped) within the grace period, and how many were kept for the next start."""

    queued_at_stop: int
    settled: int
    kept: int
    tally: Tally
    data_dir: Path | None


def _encode(index: int, verdict: Forward) -> bytes:
    try:
        return orjson.dumps(verdict.message)
    except orjson.JSONEncodeError as error:
        raise UnstorableEvent(f"batch[{index}]", f"cannot be encoded as JSON: {error}") from None


def _wall_now() -> datetime:
    return datetime.now(UTC)


class SegmentSimulator:
    """Segment between client libraries and one destination: ingest, store, deliver, journal.

    `clock` is the virtual clock of retries and delivery faults; `wall` gives the real moment a
    request arrives (its `receivedAt`), and stays real whatever the time scale. Every event is
    stored in the outbox before `accept` returns (CONTRACT B.14).
    """

    def __init__(
        self,
        config: SegmentSimulatorConfig,
        *,
        clock: VirtualClock | None = None,
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or VirtualClock(config.time_scale)
        self.pipeline = Pipeline(wall or _wall_now, dedup_window=config.dedup_window)
        self._tally = Counter[str]()
        self._tally_lock = threading.Lock()
        self.outbox = Outbox(
            config.data_dir, retain=config.dedup_window, on_settled=self._count_settled
        )
        try:
            self.journal = Journal(
                self.clock, capacity=config.journal_size, log_path=config.log_path
            )
        except BaseException:
            self.outbox.close()
            raise
        horizon = self.pipeline.wall().timestamp() - config.dedup_window
        for message_id, received_at in self.outbox.seen_since(horizon):
            self.pipeline.remember_ids([message_id], received_at)
        self._accepting = threading.Lock()
        self._started = False
        self._stopped: Shutdown | None = None
        self.delivery = Delivery(
            config.destination,
            clock=self.clock,
            journal=self.journal,
            concurrency=config.concurrency,
            policy=config.policy,
            faults=config.faults,
            on_settled=self.outbox.settle,
        )

    def start(self) -> SegmentSimulator:
        """Start delivering, first what an earlier simulator on the same `data_dir` left."""
        if self._started:
            return self
        self._started = True
        self.delivery.start()
        restored = self.outbox.queued()
        if restored:
            for parcel in restored:
                self.journal.record(
                    "restored",
                    parcel.message_id,
                    parcel.type,
                    detail="kept by an earlier run; received at "
                    + format_segment_time(datetime.fromtimestamp(parcel.received_at, UTC)),
                )
            self._count(restored=len(restored), queued=len(restored))
            self.delivery.submit(restored)
        return self

    def close(self) -> int:
        """Stop at once; returns how many events were kept for the next start."""
        return self.stop().kept

    def stop(self, grace: float = 0.0, *, interrupted: threading.Event | None = None) -> Shutdown:
        """Stop: deliver what is queued for up to `grace` real seconds (or until `interrupted`
        is set), then keep the rest in the outbox for the next start. Closes the journal."""
        if self._stopped is not None:
            return self._stopped
        queued_at_stop = self.tally().queued
        deadline = time.monotonic() + grace
        while self._started and self.tally().queued and not self.delivery.idle():
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (interrupted is not None and interrupted.is_set()):
                break
            self.delivery.wait_until_idle(min(remaining, 0.05))
        self.delivery.close()
        kept = self.outbox.queued()
        for parcel in kept:
            self.journal.record(
                "kept", parcel.message_id, parcel.type, detail="still queued at the stop"
            )
        self.outbox.close()
        self.journal.close()
        self._stopped = Shutdown(
            queued_at_stop=queued_at_stop,
            settled=max(queued_at_stop - len(kept), 0),
            kept=len(kept),
            tally=self.tally(),
            data_dir=self.outbox.directory,
        )
        return self._stopped

    def __enter__(self) -> SegmentSimulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def accept(
        self, events: Iterable[Any], *, sent_at: Any = None, path_type: str | None = None
    ) -> list[Forward | Filtered]:
        """Process, store and journal the events of one tracking API request; queue what goes
        on. When this returns, every event is in the outbox.

        All or nothing: an event the simulator cannot carry raises `UnstorableEvent`, and a
        database that cannot be written `StorageUnavailable`, before any event of the request
        is journaled, remembered for deduplication or queued, so a retry of the whole request is
        not mistaken for a duplicate.
        """
        pipeline = self.pipeline
        received = pipeline.wall()
        prepared = [
            pipeline.prepare(event, received=received, sent_at=sent_at, path_type=path_type)
            for event in events
        ]
        bodies = {
            index: _encode(index, verdict)
            for index, verdict in enumerate(prepared)
            if isinstance(verdict, Forward)
        }
        record = self.journal.record
        with self._accepting:
            verdicts = pipeline.screen(prepared, received)
            stored = [
                (index, verdict)
                for index, verdict in enumerate(verdicts)
                if isinstance(verdict, Forward) or verdict.remembered
            ]
            rows = self.outbox.add(
                received.timestamp(),
                [
                    Incoming(verdict.message_id, verdict.type, bodies.get(index))
                    if isinstance(verdict, Forward)
                    else Incoming(verdict.message_id, verdict.type, None)
                    for index, verdict in stored
                ],
            )
            pipeline.remember(verdicts, received)
            row_of = {index: row for (index, _), row in zip(stored, rows, strict=True)}
            parcels: list[Parcel] = []
            for index, verdict in enumerate(verdicts):
                record("accepted", verdict.message_id, verdict.type)
                if isinstance(verdict, Forward):
                    parcels.append(
                        Parcel(
                            row_of[index],
                            verdict.message_id,
                            verdict.type,
                            bodies[index],
                            received.timestamp(),
                        )
                    )
                else:
                    record(
                        "filtered",
                        verdict.message_id,
                        verdict.type,
                        reason=verdict.reason,
                        detail=verdict.detail,
                    )
            self._count(
                accepted=len(verdicts),
                filtered=len(verdicts) - len(parcels),
                queued=len(parcels),
            )
            if parcels:
                self.delivery.submit(parcels)
        return verdicts

    def _count_settled(self, settled: Sequence[tuple[str, int]]) -> None:
        """Events delivered or dropped for good, once the outbox has committed it."""
        states = Counter(state for state, _ in settled)
        self._count(queued=-len(settled), **states)

    def _count(self, **changes: int) -> None:
        with self._tally_lock:
            self._tally.update(changes)

    def tally(self) -> Tally:
        """The events of this run so far."""
        with self._tally_lock:
            return Tally(**{name: self._tally[name] for name in Tally.__dataclass_fields__})

    def outstanding(self) -> int:
        """Deliveries still waiting or in progress."""
        return self.delivery.outstanding()

    def wait_until_idle(self, timeout: float) -> bool:
        """Block until every accepted event has been delivered or dropped (bounded by `timeout`)."""
        return self.delivery.wait_until_idle(timeout)

    def status(self) -> dict[str, Any]:
        """Counts per journal status and per event, deliveries outstanding, the simulated and
        the real time."""
        return {
            "destination": self.config.destination.shown_url,
            "clock": format_segment_time(self.clock.datetime()),
            "wall_clock": format_segment_time(self.pipeline.wall()),
            "time_scale": "instant" if self.clock.instant else self.clock.time_scale,
            "outstanding": self.outstanding(),
            "counts": self.journal.counts(),
            "events": self.tally().as_dict(),
        }


@contextmanager
def running_simulator(simulator: SegmentSimulator, host: str = "127.0.0.1") -> Iterator[str]:
    """Deliver and serve the tracking API from background threads; yields the base URL."""
    with simulator, running_server(create_ingest_app(simulator), host) as url:
        yield url


@contextmanager
def embedded_destination(
    api_key: str,
    *,
    faults: Faults | None = None,
    host: str = "127.0.0.1",
    directory: str | Path | None = None,
) -> Iterator[str]:
    """The reference destination on a temporary SQLite database; yields its `/segment` URL.

    `faults` makes it fail or answer late on a share of requests, to exercise retries.
    """
    with tempfile.TemporaryDirectory(prefix="nat-simulate-", dir=directory) as folder:
        store = Store(Path(folder) / "nat-destination.db")
        try:
            app = create_app(store, api_key, faults=faults)
            with running_server(app, host) as url:
                yield f"{url}/segment"
        finally:
            store.close()
