"""The journal: bounded in memory, queryable by messageId and status, complete on disk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from harness.errors import UsageError
from harness.segment.clock import VirtualClock
from harness.segment.journal import STATUSES, Journal


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(0, start=datetime(2024, 5, 1, tzinfo=UTC), timer=lambda: 0.0)


def test_entries_are_stamped_with_virtual_time(clock: VirtualClock) -> None:
    journal = Journal(clock)
    clock.advance(3600)
    entry = journal.record("retried", "m1", "identify", reason="errors.retryable.503", attempt=1)
    assert entry.at == "2024-05-01T01:00:00.000Z"
    assert entry.as_dict()["messageId"] == "m1"


def test_query_by_message_id_and_status(clock: VirtualClock) -> None:
    journal = Journal(clock)
    for number in range(5):
        journal.record("accepted", f"m{number}", "identify")
        journal.record("delivered", f"m{number}", "identify", attempt=1, http_status=200)
    assert [e.status for e in journal.query(message_id="m3")] == ["accepted", "delivered"]
    assert [e.message_id for e in journal.query(status="delivered", limit=2)] == ["m3", "m4"]


def test_memory_is_bounded_but_counts_are_not(clock: VirtualClock) -> None:
    journal = Journal(clock, capacity=10)
    for number in range(25):
        journal.record("accepted", f"m{number}", "identify")
    held = journal.query(limit=100)
    assert len(held) == 10
    assert held[0].message_id == "m15"
    assert journal.counts()["accepted"] == 25


def test_log_file_keeps_every_entry_as_json_lines(clock: VirtualClock, tmp_path: Path) -> None:
    log = tmp_path / "journal.jsonl"
    journal = Journal(clock, capacity=2, log_path=log)
    for status in STATUSES:
        journal.record(status, "m1", "identify", reason=f"because-{status}")
    journal.close()
    lines = [orjson.loads(line) for line in log.read_bytes().splitlines()]
    assert [line["status"] for line in lines] == list(STATUSES)
    assert lines[2]["reason"] == "because-filtered"


def test_unknown_status_query_lists_the_statuses(clock: VirtualClock) -> None:
    with pytest.raises(
        UsageError, match="accepted, restored, filtered, delivered, retried, dropped, kept"
    ):
        Journal(clock).query(status="lost")


def test_unwritable_log_is_a_usage_error(clock: VirtualClock, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write the journal log"):
        Journal(clock, log_path=tmp_path / "missing" / "journal.jsonl")
