"""The simulator's journal: what happened to every event, bounded in memory, optionally on disk.

Each event gets an `accepted` entry, then `filtered` (and why), or `delivered`, `retried` and
`dropped` (and why) entries for its delivery attempts; one still queued at a stop gets `kept`,
and `restored` when the next simulator on the same `--data` takes it up. The newest entries stay
queryable (the `GET /journal` route); all of them go to the JSON Lines log when one is given.

An entry's `at` is on the simulated clock, the one retries are scheduled on: it starts at the
real time the simulator starts and runs `--time-scale` times faster (an instant clock jumps ahead
to each due retry), so a retry four simulated hours later shows four hours later. The event's
own times (`receivedAt`, `timestamp` in what is delivered) are real; see `pipeline`.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from contract.timestamps import format_segment_time
from harness.errors import UsageError
from harness.segment.clock import VirtualClock

__all__ = ["STATUSES", "Journal", "JournalEntry"]

#: Every status an entry can have, in the order an event goes through them. `kept`: still queued
#: when the simulator stopped, kept for the next start; `restored`: queued again at a start.
STATUSES: tuple[str, ...] = (
    "accepted",
    "restored",
    "filtered",
    "delivered",
    "retried",
    "dropped",
    "kept",
)
_FLUSH_EVERY_SECONDS = 0.25


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One thing that happened to one event, at a simulated time (`at`)."""

    seq: int
    at: str
    status: str
    message_id: str | None
    type: str | None
    reason: str | None = None
    attempt: int | None = None
    http_status: int | None = None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "status": self.status,
            "messageId": self.message_id,
            "type": self.type,
            "reason": self.reason,
            "attempt": self.attempt,
            "http_status": self.http_status,
            "detail": self.detail,
        }


class Journal:
    """The newest `capacity` entries in memory, counts of all, and every entry in `log_path`."""

    def __init__(
        self,
        clock: VirtualClock,
        *,
        capacity: int = 10_000,
        log_path: str | Path | None = None,
    ) -> None:
        if capacity < 1:
            raise UsageError(f"the journal must hold at least one entry, got {capacity}")
        self.clock = clock
        self.capacity = capacity
        self._entries: deque[JournalEntry] = deque(maxlen=capacity)
        self._counts: Counter[str] = Counter()
        self._seq = 0
        self._lock = threading.Lock()
        self._log: IO[bytes] | None = None
        self._flushed_at = time.monotonic()
        if log_path is not None:
            try:
                self._log = open(log_path, "ab")  # noqa: SIM115 - closed by close()
            except OSError as error:
                raise UsageError(
                    f"cannot write the journal log {str(log_path)!r}: {error.strerror}"
                ) from None

    def record(
        self,
        status: str,
        message_id: str | None,
        message_type: str | None,
        *,
        reason: str | None = None,
        attempt: int | None = None,
        http_status: int | None = None,
        detail: str | None = None,
    ) -> JournalEntry:
        """Add one entry, stamped with the simulated time."""
        at = format_segment_time(self.clock.datetime())
        with self._lock:
            self._seq += 1
            entry = JournalEntry(
                self._seq,
                at,
                status,
                message_id,
                message_type,
                reason,
                attempt,
                http_status,
                detail,
            )
            self._entries.append(entry)
            self._counts[status] += 1
            if self._log is not None:
                self._log.write(orjson.dumps(entry.as_dict(), option=orjson.OPT_APPEND_NEWLINE))
                if time.monotonic() - self._flushed_at > _FLUSH_EVERY_SECONDS:
                    self._log.flush()
                    self._flushed_at = time.monotonic()
        return entry

    def query(
        self,
        *,
        message_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[JournalEntry]:
        """The newest `limit` entries still held that match, oldest first."""
        if status is not None and status not in STATUSES:
            raise UsageError(f"unknown journal status {status!r}: use one of {', '.join(STATUSES)}")
        if limit < 1:
            raise UsageError(f"limit must be at least 1, got {limit}")
        with self._lock:
            entries = list(self._entries)
        found: list[JournalEntry] = []
        for entry in reversed(entries):
            if (message_id is None or entry.message_id == message_id) and (
                status is None or entry.status == status
            ):
                found.append(entry)
                if len(found) >= limit:
                    break
        found.reverse()
        return found

    def counts(self) -> dict[str, int]:
        """How many entries of each status were recorded since the start (not only those held)."""
        with self._lock:
            return {status: self._counts[status] for status in STATUSES}

    def flush(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.flush()

    def close(self) -> None:
        with self._lock:
            if self._log is not None:
                self._log.close()
                self._log = None
