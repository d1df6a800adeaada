"""The contact store: timelines, user properties and processed messageIds in SQLite.

Each accepted event is recorded in one `BEGIN IMMEDIATE` transaction that decides idempotency,
the one-entry-per-day rule and property updates together, so the rules hold across threads and
across server processes that share the database file. A unique key on (contact, day) enforces the
daily entry in the database itself. What the store holds is counted as it changes (`counters`),
in the same transactions, so reading the counts never scans a table.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NamedTuple

import orjson

from contract.timestamps import format_precise_time
from reference_impl.rules import Accepted

__all__ = [
    "MAX_WAL_BYTES",
    "Contact",
    "ContactSummary",
    "ContactView",
    "FoldedCall",
    "Property",
    "Receipt",
    "Store",
    "TimelineDay",
    "TimelineEntry",
]

#: How large the write-ahead log's file may grow: a quarter of it in the log starts a checkpoint
#: that makes the next commit reuse the log from its start (a passive one can lag behind steady
#: writes for ever); a file larger than this is emptied, and a log reset is cut back to it.
MAX_WAL_BYTES = 64 * 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS timeline (
    id                 INTEGER PRIMARY KEY,
    contact            TEXT NOT NULL,
    day                TEXT NOT NULL,
    occurred_at        TEXT NOT NULL,
    description        TEXT NOT NULL,
    description_source TEXT NOT NULL,
    message_id         TEXT,
    UNIQUE (contact, day)
);
CREATE TABLE IF NOT EXISTS properties (
    contact  TEXT NOT NULL,
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    set_at   TEXT NOT NULL,
    PRIMARY KEY (contact, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    message_id  TEXT PRIMARY KEY,
    answer      BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    name   TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
) WITHOUT ROWID;
-- The later calls of a (contact, day), folded into its entry: only the contact pages read them.
CREATE TABLE IF NOT EXISTS deduplicated (
    entry_id     INTEGER NOT NULL,
    occurred_at  TEXT NOT NULL,
    message_id   TEXT,
    description  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deduplicated_by_entry ON deduplicated (entry_id);
"""

#: What `counters` counts, and how to count it from scratch (once, for a database made before
#: the counters were kept).
_COUNTED = {
    "contacts": "SELECT count(DISTINCT contact) FROM timeline",
    "timeline": "SELECT count(*) FROM timeline",
    "messages": "SELECT count(*) FROM messages",
}


class Receipt(NamedTuple):
    """The destination's answer to an accepted event, as stored for replays.

    A NamedTuple rather than a frozen dataclass: one is built per request, and this is cheaper.
    """

    outcome: str
    contact: str
    entry_id: int
    day: str
    description: str
    description_source: str
    message_id: str | None
    replayed: bool
    warnings: tuple[dict[str, str], ...]

    def body(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "contact": self.contact,
            "entry_id": self.entry_id,
            "day": self.day,
            "description": self.description,
            "description_source": self.description_source,
            "message_id": self.message_id,
            "replayed": self.replayed,
            "warnings": list(self.warnings),
        }


class Property(NamedTuple):
    """A user property as it stands: the value last set, and when the call that set it happened."""

    value: Any
    set_at: str


class Contact(NamedTuple):
    """A contact the destination has accepted a call for: its user properties and entry count."""

    key: str
    properties: dict[str, Property]
    entries: int


class TimelineEntry(NamedTuple):
    """A contact's interaction of one day (CONTRACT B.4): the first accepted call of that day."""

    id: int
    day: str
    occurred_at: str
    description: str
    description_source: str
    message_id: str | None


class FoldedCall(NamedTuple):
    """A later call of a day that already had its entry, kept for the contact page only."""

    occurred_at: str
    message_id: str | None
    description: str


class TimelineDay(NamedTuple):
    """One day of a contact's timeline with the calls deduplicated into its entry."""

    entry: TimelineEntry
    deduplicated: tuple[FoldedCall, ...]


class ContactView(NamedTuple):
    """What the contact page shows: the contact and its timeline, day by day."""

    contact: Contact
    days: tuple[TimelineDay, ...]


class ContactSummary(NamedTuple):
    """One line of the contacts page: the contact, its entry count and its newest day."""

    contact: str
    entries: int
    last_day: str
    last_description: str


def _replayed(answer: bytes) -> Receipt:
    first = orjson.loads(answer)
    return Receipt(**{**first, "replayed": True, "warnings": tuple(first["warnings"])})


def _containing(text: str) -> str:
    """A LIKE pattern (escape character `\\`) for values that contain `text` as it is."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Checkpointer:
    """Copies the write-ahead log into the database file every `interval` seconds, in a thread.

    A PASSIVE checkpoint never blocks writers, so requests keep committing (to the log) while it
    syncs. Under steady writes it never catches up, and the log would grow for ever: so once it
    holds more than a quarter of `max_wal_bytes`, a RESTART checkpoint copies what the passive
    one missed (a few milliseconds of commits) while holding the store's write lock, and the next
    commit reuses the log from its start. The file is emptied (TRUNCATE) only if it has grown
    past `max_wal_bytes` anyway, or on close. Holding `write_lock` makes this process's writers
    wait on a lock, woken at once, instead of SQLite's busy handler, which sleeps and retries.
    """

    def __init__(
        self, path: str, max_wal_bytes: int, write_lock: threading.Lock, interval: float = 0.25
    ) -> None:
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        (page_size,) = self._db.execute("PRAGMA page_size").fetchone()
        self._wal = Path(path + "-wal")
        self._max_wal_bytes = max_wal_bytes
        self._restart_frames = max_wal_bytes // 4 // page_size
        self._write_lock = write_lock
        self._interval = interval
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nat-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            with suppress(sqlite3.Error):  # busy: the next round tries again
                self.checkpoint()

    def checkpoint(self) -> None:
        """One round: PASSIVE; then RESTART if the log holds more than a quarter of the limit,
        and TRUNCATE if its file is larger than the limit."""
        with self._lock:
            _, frames, _ = self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            if frames > self._restart_frames:
                with self._write_lock:
                    self._db.execute("PRAGMA wal_checkpoint(RESTART)")
            if self._wal_bytes() > self._max_wal_bytes:
                with self._write_lock:
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _wal_bytes(self) -> int:
        try:
            return self._wal.stat().st_size
        except FileNotFoundError:
            return 0

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        # Another process may be writing: it checkpoints in its turn.
        with self._lock, suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()


class Store:
    """Contacts, their daily timeline entries and user properties, in one SQLite database.

    `path` is a file (shared safely by several processes) or ':memory:' (one process only). Its
    write-ahead log stays near `max_wal_bytes` while it runs and is emptied by `close()`.
    """

    def __init__(
        self, path: str | Path = ":memory:", *, max_wal_bytes: int = MAX_WAL_BYTES
    ) -> None:
        self.path = str(path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=30.0
        )
        # NORMAL in WAL mode: a committed transaction survives the process being killed.
        self._db.execute("PRAGMA synchronous=NORMAL")
        # Random contact keys touch pages all over the indexes: keep them in memory (64 MB).
        self._db.execute("PRAGMA cache_size=-65536")
        self._checkpoints: _Checkpointer | None = None
        if self.path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            # Checkpoints (the only fsyncs) run in a thread of their own, off the request path.
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            # When the log is reset (reused from its start), the file is cut back to the limit.
            self._db.execute(f"PRAGMA journal_size_limit={int(max_wal_bytes)}")
            self._checkpoints = _Checkpointer(self.path, max_wal_bytes, self._lock)
        with self._transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if db.execute("SELECT count(*) FROM counters").fetchone()[0] != len(_COUNTED):
                db.executemany(
                    "INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)",
                    [(name, db.execute(query).fetchone()[0]) for name, query in _COUNTED.items()],
                )

    def close(self) -> None:
        """Checkpoint and empty the write-ahead log (unless another process still writes), and
        close the database. Closing twice is harmless."""
        if self._checkpoints is not None:
            self._checkpoints.stop()
            self._checkpoints = None
        with self._lock:
            self._db.close()

    def checkpoint(self) -> None:
        """Copy the write-ahead log into the database now, as the background thread does every
        quarter second (emptying it if it is over the limit); nothing for ':memory:'."""
        if self._checkpoints is not None:
            self._checkpoints.checkpoint()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, serialised across threads (lock) and processes (IMMEDIATE)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def record(self, event: Accepted) -> Receipt:
        """Apply one accepted event: replay, or add the day's entry if new; update properties."""
        return self.record_many([event])[0]

    def record_many(self, events: Sequence[Accepted]) -> list[Receipt]:
        """Apply events in order, in one transaction (group commit); one receipt per event.

        Each event is decided as if recorded alone, after the ones before it; sharing the commit
        only saves the per-transaction cost when many requests arrive at once. Properties and
        first answers are written once for the whole batch: neither affects the others' verdicts.
        """
        with self._transaction() as db:
            answered = self._answers_to(db, events)
            properties: list[tuple[str, str, bytes, str]] = []
            first_answers: list[tuple[str, bytes]] = []
            folded: list[tuple[int, str, str | None, str]] = []
            receipts = []
            added = {"contacts": 0, "timeline": 0}
            for event in events:
                first = answered.get(event.message_id) if event.message_id is not None else None
                if first is not None:
                    receipts.append(_replayed(first))
                    continue
                occurred_at = format_precise_time(event.occurred_at)
                receipt = self._add_entry(db, event, occurred_at, added)
                if receipt.outcome == "deduplicated":
                    folded.append(
                        (receipt.entry_id, occurred_at, event.message_id, event.description)
                    )
                properties.extend(
                    (event.contact_key, name, orjson.dumps(value), occurred_at)
                    for name, value in event.traits.items()
                )
                if event.message_id is not None:
                    answered[event.message_id] = orjson.dumps(receipt.body())
                    first_answers.append((event.message_id, answered[event.message_id]))
                receipts.append(receipt)
            # In arrival order, so that of two values with one timestamp the later one wins.
            db.executemany(
                "INSERT INTO properties (contact, name, value, set_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (contact, name) DO UPDATE "
                "SET value = excluded.value, set_at = excluded.set_at "
                "WHERE excluded.set_at >= properties.set_at",
                properties,
            )
            db.executemany("INSERT INTO messages (message_id, answer) VALUES (?, ?)", first_answers)
            db.executemany(
                "INSERT INTO deduplicated (entry_id, occurred_at, message_id, description) "
                "VALUES (?, ?, ?, ?)",
                folded,
            )
            added["messages"] = len(first_answers)
            db.executemany(
                "UPDATE counters SET value = value + ? WHERE name = ?",
                [(count, name) for name, count in added.items() if count],
            )
            return receipts

    @staticmethod
    def _answers_to(db: sqlite3.Connection, events: Sequence[Accepted]) -> dict[str, bytes]:
        """The first answers already given to any of these events' messageIds."""
        ids = tuple({event.message_id for event in events if event.message_id is not None})
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return dict(
            db.execute(
                f"SELECT message_id, answer FROM messages WHERE message_id IN ({marks})", ids
            ).fetchall()
        )

    @staticmethod
    def _add_entry(
        db: sqlite3.Connection, event: Accepted, occurred_at: str, added: dict[str, int]
    ) -> Receipt:
        """Add the (contact, day) entry unless it exists; the receipt says which happened.
        `added` counts the entries made, and the contacts that had none before."""
        day = event.day.isoformat()
        created = db.execute(
            "INSERT INTO timeline "
            "(contact, day, occurred_at, description, description_source, message_id) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (contact, day) DO NOTHING "
            "RETURNING id, description, description_source",
            (
                event.contact_key,
                day,
                occurred_at,
                event.description,
                event.description_source,
                event.message_id,
            ),
        ).fetchone()
        if created:
            added["timeline"] += 1
            # The contact is new unless it has an entry on another day (a unique-key lookup).
            added["contacts"] += not db.execute(
                "SELECT 1 FROM timeline WHERE contact = ? AND day <> ? LIMIT 1",
                (event.contact_key, day),
            ).fetchone()
        entry = (
            created
            or db.execute(
                "SELECT id, description, description_source FROM timeline "
                "WHERE contact = ? AND day = ?",
                (event.contact_key, day),
            ).fetchone()
        )
        return Receipt(
            outcome="created" if created else "deduplicated",
            contact=event.contact_key,
            entry_id=entry[0],
            day=day,
            description=entry[1],
            description_source=entry[2],
            message_id=event.message_id,
            replayed=False,
            warnings=tuple(warning.as_dict() for warning in event.warnings),
        )

    def contact(self, contact_key: str) -> Contact | None:
        """The contact with its user properties and entry count, or None if it is unknown."""
        with self._lock:
            (entries,) = self._db.execute(
                "SELECT count(*) FROM timeline WHERE contact = ?", (contact_key,)
            ).fetchone()
            if not entries:
                return None
            properties = {
                name: Property(orjson.loads(value), set_at)
                for name, value, set_at in self._db.execute(
                    "SELECT name, value, set_at FROM properties WHERE contact = ? ORDER BY name",
                    (contact_key,),
                )
            }
        return Contact(contact_key, properties, entries)

    def timeline(self, contact_key: str) -> list[TimelineEntry] | None:
        """The contact's timeline entries, oldest day first, or None if it is unknown."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, day, occurred_at, description, description_source, message_id "
                "FROM timeline WHERE contact = ? ORDER BY day, id",
                (contact_key,),
            ).fetchall()
        return [TimelineEntry(*row) for row in rows] or None

    def contacts_page(
        self, search: str = "", limit: int = 50, offset: int = 0
    ) -> tuple[int, list[ContactSummary]]:
        """Contacts whose key contains `search`, the one with the newest entry first: how many
        there are, and `limit` of them from `offset`."""
        pattern = _containing(search.lower())
        where = "WHERE contact LIKE ? ESCAPE '\\'"
        with self._lock:
            (total,) = self._db.execute(
                f"SELECT count(DISTINCT contact) FROM timeline {where}", (pattern,)
            ).fetchone()
            rows = self._db.execute(
                "WITH recent AS (SELECT contact, count(*) AS entries, max(day) AS last_day, "
                f"max(id) AS newest FROM timeline {where} GROUP BY contact "
                "ORDER BY newest DESC LIMIT ? OFFSET ?) "
                "SELECT recent.contact, entries, last_day, description FROM recent "
                "JOIN timeline ON timeline.id = recent.newest ORDER BY newest DESC",
                (pattern, limit, offset),
            ).fetchall()
        return total, [ContactSummary(*row) for row in rows]

    def contact_view(self, contact_key: str) -> ContactView | None:
        """The contact with its timeline, each day with the calls deduplicated into it; None if
        it is unknown."""
        entries = self.timeline(contact_key)
        found = self.contact(contact_key)
        if entries is None or found is None:
            return None
        with self._lock:
            folded = self._db.execute(
                "SELECT entry_id, occurred_at, message_id, description FROM deduplicated "
                "WHERE entry_id IN (SELECT id FROM timeline WHERE contact = ?) "
                "ORDER BY occurred_at, rowid",
                (contact_key,),
            ).fetchall()
        calls: dict[int, list[FoldedCall]] = {}
        for entry_id, *call in folded:
            calls.setdefault(entry_id, []).append(FoldedCall(*call))
        days = tuple(TimelineDay(entry, tuple(calls.get(entry.id, ()))) for entry in entries)
        return ContactView(found, days)

    def counts(self) -> dict[str, int]:
        """How many contacts, timeline entries and processed messageIds the store holds (three
        rows of `counters`, kept as the store changes: no table is scanned)."""
        with self._lock:
            found = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        return {name: found[name] for name in _COUNTED}

    def reset(self) -> None:
        """Forget everything (the read API's POST /reset)."""
        with self._transaction() as db:
            for table in ("messages", "properties", "timeline", "deduplicated"):
                db.execute(f"DELETE FROM {table}")
            db.execute("UPDATE counters SET value = 0")
