"""Delivering events to a destination the way Segment does: one POST per event, N at a time,
retried on the virtual clock until delivered, discarded, or four hours have passed.

Each worker thread keeps one keep-alive connection (`harness.segment.keepalive`, the fenced fast
client): at concurrency 32 the client's CPU, not the network, limits throughput.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from contract.delivery import SEGMENT_TIMEOUT_S, delivery_headers
from contract.endpoints import (
    EXAMPLE_ENDPOINT,
    endpoint_of,
    is_http_url,
    read_api_base_of,
    without_credentials,
)
from contract.timestamps import format_segment_time
from harness.errors import SettingError, UsageError
from harness.segment.clock import Agenda, VirtualClock
from harness.segment.faults import DeliveryFaults
from harness.segment.journal import Journal
from harness.segment.keepalive import KeepAliveConnection
from harness.segment.outbox import Parcel
from harness.segment.retry import RetryPolicy, classify

__all__ = ["Delivery", "DeliveryEndpoint"]

_DETAIL_LIMIT = 300


@dataclass(frozen=True, slots=True)
class DeliveryEndpoint:
    """Where the simulator delivers events: the endpoint URL, the destination's API key, the
    per-attempt timeout and the destination's settings (sent as `X-Segment-Settings`)."""

    url: str
    api_key: str
    timeout: float = SEGMENT_TIMEOUT_S
    settings: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def at(cls, url: str, api_key: str, *, timeout: float = SEGMENT_TIMEOUT_S) -> DeliveryEndpoint:
        """An endpoint from what a user typed: a URL without a path means `/segment` on it."""
        if not is_http_url(url.strip()):
            raise SettingError(
                "destination",
                f"{url!r} is not an http(s) URL: give the endpoint Segment posts to, such as "
                f"{EXAMPLE_ENDPOINT}",
            )
        if not api_key:
            raise SettingError("api_key", "is missing: give the destination's API key")
        if not timeout > 0:
            raise UsageError(f"the delivery timeout must be positive seconds, got {timeout}")
        return cls(endpoint_of(url.strip()), api_key, timeout)

    @property
    def shown_url(self) -> str:
        """The endpoint fit to print: a user and password in it are shown as `***`."""
        return without_credentials(self.url)

    @property
    def base_url(self) -> str:
        """The URL the reference destination's read API hangs off (the endpoint's parent)."""
        return read_api_base_of(self.url)


@dataclass(frozen=True, slots=True)
class _Job:
    """One copy of one event, with what its earlier attempts left behind."""

    row: int
    message_id: str
    type: str
    body: bytes
    copy: int = 1
    attempts: int = 0
    first_attempt_at: float | None = None


def _detail(body: bytes) -> str | None:
    """What the destination said, short: its JSON `message` if it has one, else the text."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        text = parsed["message"]
    else:
        text = body.decode("utf-8", "replace")
    text = text.strip()
    return (text[: _DETAIL_LIMIT - 1] + "…" if len(text) > _DETAIL_LIMIT else text) or None


class Delivery:
    """A pool of `concurrency` workers posting events to `destination` on the virtual clock."""

    def __init__(
        self,
        destination: DeliveryEndpoint,
        *,
        clock: VirtualClock,
        journal: Journal,
        concurrency: int = 32,
        policy: RetryPolicy | None = None,
        faults: DeliveryFaults | None = None,
        on_settled: Callable[[int, str], None] | None = None,
    ) -> None:
        if concurrency < 1:
            raise SettingError("concurrency", f"must be at least 1, got {concurrency}")
        self.destination = destination
        self.clock = clock
        self.journal = journal
        self.concurrency = concurrency
        self.policy = policy or RetryPolicy()
        self.faults = faults or DeliveryFaults()
        self._on_settled = on_settled
        self._agenda: Agenda[_Job] = Agenda(clock)
        self._fault_rng = random.Random(self.faults.seed)
        self._backoff_rng = random.Random(None if self.faults.seed is None else ~self.faults.seed)
        self._workers: list[threading.Thread] = []
        # Copies still to end per event row, and whether the event is settled already.
        self._open: dict[int, list[int | bool]] = {}
        self._open_lock = threading.Lock()
        #: Called after every attempt with (body, status or None, answer, error or None): the
        #: `simulate segment --record` recording.
        self.on_exchange: Callable[[bytes, int | None, bytes, str | None], None] | None = None

    def start(self) -> None:
        """Start the worker threads (once)."""
        if self._workers:
            return
        for number in range(self.concurrency):
            worker = threading.Thread(
                target=self._work, name=f"segment-delivery-{number}", daemon=True
            )
            worker.start()
            self._workers.append(worker)

    def submit(self, parcels: Sequence[Parcel]) -> None:
        """Queue stored events for delivery, each copy after its fault delay (none by default).

        An event is settled (`on_settled(row, "delivered" | "dropped")`) when its first copy is
        delivered, or when every copy has ended without being delivered.
        """
        now = self.clock.now()
        scheduled: list[tuple[float, _Job]] = []
        with self._open_lock:
            for parcel in parcels:
                delays = self.faults.delays(self._fault_rng)
                self._open[parcel.row] = [len(delays), False]
                for copy, delay in enumerate(delays, start=1):
                    job = _Job(parcel.row, parcel.message_id, parcel.type, parcel.body, copy)
                    scheduled.append((now + delay, job))
        self._agenda.put_many(scheduled)

    def outstanding(self) -> int:
        """Deliveries waiting (for their time or a worker) or in progress."""
        return self._agenda.outstanding()

    def idle(self) -> bool:
        """True when every submitted event is settled (injected duplicate copies aside)."""
        with self._open_lock:
            return not any(not settled for _, settled in self._open.values())

    def wait_until_idle(self, timeout: float) -> bool:
        """Block until every queued delivery has ended; False if `timeout` real seconds pass."""
        return self._agenda.wait_until_idle(timeout)

    def close(self, timeout: float = 10.0) -> int:
        """Stop the workers (an attempt in progress ends first); returns how many queued
        deliveries were abandoned. Their events stay unsettled."""
        abandoned = self._agenda.close()
        for worker in self._workers:
            worker.join(timeout)
        self._workers.clear()
        return abandoned

    def _end_copy(self, job: _Job, delivered: bool) -> None:
        """Settle the event of `job` if this copy decides it: the first delivered copy, or the
        last copy to end undelivered."""
        with self._open_lock:
            state = self._open.get(job.row)
            if state is None:
                return
            state[0] = int(state[0]) - 1
            settle = not state[1] and (delivered or state[0] == 0)
            if settle:
                state[1] = True
            if state[0] == 0:
                del self._open[job.row]
        if settle and self._on_settled is not None:
            self._on_settled(job.row, "delivered" if delivered else "dropped")

    def _work(self) -> None:
        destination = self.destination
        connection = KeepAliveConnection(
            destination.url,
            delivery_headers(destination.api_key, destination.settings),
            destination.timeout,
        )
        try:
            while (job := self._agenda.take()) is not None:
                try:
                    self._attempt(connection, job)
                finally:
                    self._agenda.done()
        finally:
            connection.close()

    def _attempt(self, connection: KeepAliveConnection, job: _Job) -> None:
        """Post once; journal the outcome; schedule the retry, if any, before returning."""
        started = self.clock.now()
        first_attempt_at = started if job.first_attempt_at is None else job.first_attempt_at
        attempt = job.attempts + 1
        status: int | None = None
        answer = b""
        retry_after = None
        try:
            status, answer, retry_after = connection.post(job.body)
            verdict = classify(status)
            said = _detail(answer) or f"HTTP {status}"
        except Exception as error:
            verdict = classify(error)
            said = str(error) or type(error).__name__
        if self.on_exchange is not None:
            self.on_exchange(job.body, status, answer, None if status is not None else said)
        copy_note = " (injected duplicate)" if job.copy > 1 else ""
        record = self.journal.record
        if verdict.action == "delivered":
            self._end_copy(job, delivered=True)
            record(
                "delivered",
                job.message_id,
                job.type,
                attempt=attempt,
                http_status=status,
                detail=(_detail(answer) or "") + copy_note or None,
            )
            return
        if verdict.action == "drop":
            self._end_copy(job, delivered=False)
            record(
                "dropped",
                job.message_id,
                job.type,
                reason=verdict.name,
                attempt=attempt,
                http_status=status,
                detail=(_detail(answer) or "") + copy_note or None,
            )
            return
        retry_at = self.policy.next_attempt(
            first_attempt_at=first_attempt_at,
            now=self.clock.now(),
            retry=attempt,
            rng=self._backoff_rng,
            retry_after=retry_after,
        )
        if retry_at is None:
            self._end_copy(job, delivered=False)
            record(
                "dropped",
                job.message_id,
                job.type,
                reason="errors.retries_exhausted",
                attempt=attempt,
                http_status=status,
                detail=f"gave up after {attempt} attempts over {self.policy.budget / 3600:g} h; "
                f"last error {verdict.name}: {said}{copy_note}",
            )
            return
        record(
            "retried",
            job.message_id,
            job.type,
            reason=verdict.name,
            attempt=attempt,
            http_status=status,
            detail=f"{said}; next attempt at {format_segment_time(self.clock.datetime(retry_at))}"
            f"{copy_note}",
        )
        retry = replace(job, attempts=attempt, first_attempt_at=first_attempt_at)
        self._agenda.put(retry, retry_at)
