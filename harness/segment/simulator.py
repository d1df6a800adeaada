"""The Segment simulator put together: pipeline, journal and delivery on one virtual clock.

`Simulator.accept` is what the tracking API calls for each request's events; `running_simulator`
serves that API from a background thread (tests, benchmarks), and `embedded_destination` starts
the reference destination on a temporary database when no destination is named.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from harness.segment.clock import VirtualClock, format_instant
from harness.segment.delivery import Delivery, Destination
from harness.segment.faults import DeliveryFaults
from harness.segment.ingest import create_ingest_app
from harness.segment.journal import Journal
from harness.segment.pipeline import DAY, Filtered, Forward, Pipeline, UnstorableEvent
from harness.segment.retry import RetryPolicy
from reference_impl import Faults, Store, create_app, running_server

__all__ = [
    "Simulator",
    "SimulatorConfig",
    "UnstorableEvent",
    "embedded_destination",
    "running_simulator",
]


@dataclass(frozen=True, slots=True)
class SimulatorConfig:
    """Everything `nat-harness simulate segment` sets, in one record."""

    destination: Destination
    write_key: str | None = None
    concurrency: int = 32
    time_scale: float = 0.0
    dedup_window: float = DAY
    faults: DeliveryFaults = field(default_factory=DeliveryFaults)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    journal_size: int = 10_000
    log_path: str | Path | None = None


def _encode(index: int, verdict: Forward) -> bytes:
    try:
        return orjson.dumps(verdict.message)
    except orjson.JSONEncodeError as error:
        raise UnstorableEvent(f"batch[{index}]", f"cannot be encoded as JSON: {error}") from None


def _wall_now() -> datetime:
    return datetime.now(UTC)


class Simulator:
    """Segment between client libraries and one destination: ingest, process, deliver, journal.

    `clock` is the virtual clock of retries and delivery faults; `wall` gives the real moment a
    request arrives (its `receivedAt`), and stays real whatever the time scale.
    """

    def __init__(
        self,
        config: SimulatorConfig,
        *,
        clock: VirtualClock | None = None,
        wall: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or VirtualClock(config.time_scale)
        self.journal = Journal(self.clock, capacity=config.journal_size, log_path=config.log_path)
        self.pipeline = Pipeline(wall or _wall_now, dedup_window=config.dedup_window)
        self._accepting = threading.Lock()
        self.delivery = Delivery(
            config.destination,
            clock=self.clock,
            journal=self.journal,
            concurrency=config.concurrency,
            policy=config.policy,
            faults=config.faults,
        )

    def start(self) -> Simulator:
        self.delivery.start()
        return self

    def close(self) -> int:
        """Stop delivering; returns how many queued deliveries were abandoned."""
        abandoned = self.delivery.close()
        self.journal.close()
        return abandoned

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def accept(
        self, events: Iterable[Any], *, sent_at: Any = None, path_type: str | None = None
    ) -> list[Forward | Filtered]:
        """Journal and process the events of one tracking API request; queue what goes on.

        All or nothing: an event the simulator cannot carry raises `UnstorableEvent` before any
        event of the request is journaled, remembered for deduplication or queued, so a retry of
        the whole request is not mistaken for a duplicate.
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
            pipeline.remember(verdicts, received)
            forwards: list[tuple[Forward, bytes]] = []
            for index, verdict in enumerate(verdicts):
                record("accepted", verdict.message_id, verdict.type)
                if isinstance(verdict, Forward):
                    forwards.append((verdict, bodies[index]))
                else:
                    record(
                        "filtered",
                        verdict.message_id,
                        verdict.type,
                        reason=verdict.reason,
                        detail=verdict.detail,
                    )
            if forwards:
                self.delivery.submit(forwards)
        return verdicts

    def outstanding(self) -> int:
        """Deliveries still waiting or in progress."""
        return self.delivery.outstanding()

    def wait_until_idle(self, timeout: float) -> bool:
        """Block until every accepted event has been delivered or dropped (bounded by `timeout`)."""
        return self.delivery.wait_until_idle(timeout)

    def status(self) -> dict[str, Any]:
        """Counts per journal status, deliveries outstanding, the simulated and the real time."""
        return {
            "destination": self.config.destination.url,
            "clock": format_instant(self.clock.datetime()),
            "wall_clock": format_instant(self.pipeline.wall()),
            "time_scale": "instant" if self.clock.instant else self.clock.time_scale,
            "outstanding": self.outstanding(),
            "counts": self.journal.counts(),
        }


@contextmanager
def running_simulator(simulator: Simulator, host: str = "127.0.0.1") -> Iterator[str]:
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
