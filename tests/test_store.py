"""The store keeps one entry per contact and day, replays messageIds, and orders properties by time,
across threads and across processes sharing the database file."""

from __future__ import annotations

import multiprocessing
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

from reference_impl.rules import Accepted, evaluate
from reference_impl.store import Property, Store


def event(
    timestamp: str = "2020-05-31T17:55:47Z", email: str = "ana@example.com", **fields: Any
) -> Accepted:
    payload = {"type": "identify", "timestamp": timestamp, "email": email, **fields}
    verdict = evaluate(payload)
    assert isinstance(verdict, Accepted), verdict
    return verdict


def test_first_event_of_the_day_creates_the_entry_and_keeps_its_description(store: Store) -> None:
    first = store.record(event(event="Signed up"))
    again = store.record(event("2020-05-31T20:00:00Z", event="Logged in"))
    assert (first.outcome, again.outcome) == ("created", "deduplicated")
    assert again.entry_id == first.entry_id
    assert again.description == "Signed up"
    assert [e.description for e in store.timeline("ana@example.com") or []] == ["Signed up"]


def test_another_day_gets_another_entry(store: Store) -> None:
    store.record(event("2020-05-31T23:59:59Z"))
    store.record(event("2020-06-01T00:00:00Z"))
    assert [e.day for e in store.timeline("ana@example.com") or []] == [
        "2020-05-31",
        "2020-06-01",
    ]


def test_a_repeated_message_id_replays_the_first_answer_and_changes_nothing(store: Store) -> None:
    first = store.record(event(messageId="m-1", traits={"plan": "pro"}))
    replay = store.record(event("2020-06-02T00:00:00Z", messageId="m-1", traits={"plan": "free"}))
    assert replay.replayed and not first.replayed
    assert {**replay.body(), "replayed": False} == first.body()
    assert store.counts() == {"contacts": 1, "timeline": 1, "messages": 1}
    found = store.contact("ana@example.com")
    assert found is not None and found.properties["plan"].value == "pro"


def test_the_latest_timestamp_wins_whatever_the_arrival_order(store: Store) -> None:
    store.record(event("2020-05-31T12:00:00Z", traits={"in_audience": False}))
    store.record(event("2020-05-31T09:00:00Z", traits={"in_audience": True}))
    found = store.contact("ana@example.com")
    assert found is not None
    assert found.properties["in_audience"] == Property(False, "2020-05-31T12:00:00.000000Z")


def test_reset_forgets_everything(store: Store) -> None:
    store.record(event(messageId="m-1"))
    store.reset()
    assert store.counts() == {"contacts": 0, "timeline": 0, "messages": 0}
    assert store.timeline("ana@example.com") is None
    assert store.record(event(messageId="m-1")).outcome == "created"


def test_unknown_contacts_are_none(store: Store) -> None:
    assert store.contact("nobody@example.com") is None
    assert store.timeline("nobody@example.com") is None


def test_32_threads_recording_one_contact_and_day_make_one_entry(store: Store) -> None:
    with ThreadPoolExecutor(32) as pool:
        receipts = list(pool.map(lambda i: store.record(event(messageId=f"t-{i}")), range(32)))
    assert sorted(r.outcome for r in receipts).count("created") == 1
    assert len({r.entry_id for r in receipts}) == 1
    assert store.counts()["timeline"] == 1


def _record_in_another_process(db_path: str, worker: int) -> str:
    store = Store(db_path)
    try:
        return store.record(event(messageId=f"p-{worker}")).outcome
    finally:
        store.close()


def test_processes_sharing_the_file_make_one_entry(tmp_path: Path) -> None:
    db_path = str(tmp_path / "shared.db")
    Store(db_path).close()
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        outcomes = pool.starmap(_record_in_another_process, [(db_path, i) for i in range(8)])
    assert outcomes.count("created") == 1
    reopened = Store(db_path)
    assert reopened.counts() == {"contacts": 1, "timeline": 1, "messages": 8}
    reopened.close()


def test_a_retry_of_a_deduplicated_call_is_still_a_replay(store: Store) -> None:
    store.record(event(messageId="m-1"))
    first = store.record(event("2020-05-31T20:00:00Z", messageId="m-2", traits={"plan": "pro"}))
    retry = store.record(event("2020-05-31T20:00:00Z", messageId="m-2", traits={"plan": "pro"}))
    assert (first.outcome, first.replayed) == ("deduplicated", False)
    assert retry.replayed
    assert {**retry.body(), "replayed": False} == first.body()


def test_counts_follow_entries_contacts_and_message_ids(store: Store) -> None:
    store.record(event(messageId="m-1"))  # a new contact and entry
    store.record(event("2020-05-31T20:00:00Z", messageId="m-2"))  # deduplicated
    store.record(event("2020-05-31T20:00:00Z", messageId="m-2"))  # a replay: nothing new
    store.record(event("2020-06-01T08:00:00Z"))  # another day, same contact, no messageId
    store.record_many(
        [event(email="bo@example.com", messageId="b-1"), event(email="bo@example.com")]
    )
    assert store.counts() == {"contacts": 2, "timeline": 3, "messages": 3}
    assert store.counts()["timeline"] == sum(
        len(store.timeline(contact) or []) for contact in ("ana@example.com", "bo@example.com")
    )


def test_counts_survive_a_reopen_and_are_made_for_an_older_database(tmp_path: Path) -> None:
    path = tmp_path / "nat.db"
    first = Store(path)
    for day in range(1, 4):
        first.record(event(f"2020-06-0{day}T10:00:00Z", messageId=f"m-{day}"))
    first.close()
    assert Store(path).counts() == {"contacts": 1, "timeline": 3, "messages": 3}
    # A database written before the counters were kept has no counters table.
    with closing(sqlite3.connect(path)) as db:
        db.execute("DROP TABLE counters")
        db.commit()
    reopened = Store(path)
    assert reopened.counts() == {"contacts": 1, "timeline": 3, "messages": 3}
    reopened.record(event(email="bo@example.com"))
    assert reopened.counts() == {"contacts": 2, "timeline": 4, "messages": 3}
    reopened.close()


def _wal_bytes(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_write_ahead_log_is_kept_near_its_limit_and_emptied_on_close(tmp_path: Path) -> None:
    path = tmp_path / "nat.db"
    limit = 256 * 1024
    store = Store(path, max_wal_bytes=limit)
    for n in range(1500):
        store.record(event(email=f"w{n}@example.com", messageId=f"w-{n}", traits={"n": n}))
    store.checkpoint()  # what the background thread does every quarter second
    assert _wal_bytes(path) <= limit
    for n in range(300):
        store.record(event(email=f"v{n}@example.com"))
    store.close()
    assert _wal_bytes(path) == 0
    reopened = Store(path)
    assert reopened.counts() == {"contacts": 1800, "timeline": 1800, "messages": 1500}
    reopened.close()


def _counted_from_scratch(store: Store) -> dict[str, int]:
    """The counts as the tables hold them, scanned: what the kept counters must agree with."""
    with closing(sqlite3.connect(store.path)) as db:
        return {
            "contacts": db.execute("SELECT count(DISTINCT contact) FROM timeline").fetchone()[0],
            "timeline": db.execute("SELECT count(*) FROM timeline").fetchone()[0],
            "messages": db.execute("SELECT count(*) FROM messages").fetchone()[0],
        }


def test_a_mixed_batch_counts_and_answers_as_its_events_recorded_one_by_one(
    tmp_path: Path,
) -> None:
    before = [
        event("2020-05-30T10:00:00Z", email="old@example.com", messageId="old-1"),
        event("2020-05-30T11:00:00Z", email="gone@example.com", messageId="reused"),
    ]
    batch = [
        event("2020-05-31T10:00:00Z", email="old@example.com"),  # known contact, another day
        event("2020-05-30T12:00:00Z", email="old@example.com", messageId="old-2"),  # known day
        event("2020-05-31T10:00:00Z", email="new@example.com", messageId="n-1"),  # new contact
        event("2020-05-31T10:00:00Z", email="two@example.com", messageId="t-1"),  # new ...
        event("2020-06-01T10:00:00Z", email="two@example.com", messageId="t-2"),  # ... 2nd day
        event("2020-05-31T10:00:00Z", email="dup@example.com", messageId="d-1"),  # new ...
        event("2020-05-31T18:00:00Z", email="dup@example.com"),  # ... deduplicated that day
        event("2020-06-02T10:00:00Z", email="new@example.com", messageId="n-1"),  # replay
        event("2020-06-02T10:00:00Z", email="ghost@example.com", messageId="old-1"),  # replay
        event("2020-06-02T10:00:00Z", email="ghost@example.com"),  # new, though replayed above
        event("2020-06-03T10:00:00Z", email="gone@example.com", messageId="reused"),  # replay
    ]
    together = Store(tmp_path / "together.db")
    alone = Store(tmp_path / "alone.db")
    try:
        together.record_many(before)
        for each in before:
            alone.record(each)
        receipts = together.record_many(batch)
        assert receipts == [alone.record(each) for each in batch]
        assert [(r.outcome, r.replayed) for r in receipts] == [
            ("created", False),
            ("deduplicated", False),
            ("created", False),
            ("created", False),
            ("created", False),
            ("created", False),
            ("deduplicated", False),
            ("created", True),
            ("created", True),
            ("created", False),
            ("created", True),
        ]
        # Contacts: old, gone, new, two, dup, ghost. Entries: the 2 before, then old, new,
        # two (twice), dup and ghost. messageIds: the 2 before, then old-2, n-1, t-1, t-2, d-1.
        expected = {"contacts": 6, "timeline": 8, "messages": 7}
        assert together.counts() == alone.counts() == expected
        assert _counted_from_scratch(together) == _counted_from_scratch(alone) == expected
    finally:
        together.close()
        alone.close()


def test_a_batch_of_one_contact_on_several_days_counts_it_once(store: Store) -> None:
    days = [event(f"2020-06-0{day}T10:00:00Z", email="bo@example.com") for day in (3, 1, 2)]
    store.record_many(days)
    assert store.counts() == {"contacts": 1, "timeline": 3, "messages": 0}
    store.record_many([*days, event("2020-06-04T10:00:00Z", email="bo@example.com")])
    expected = {"contacts": 1, "timeline": 4, "messages": 0}
    assert store.counts() == _counted_from_scratch(store) == expected
