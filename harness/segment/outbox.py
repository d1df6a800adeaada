"""The simulator's outbox: every event it acknowledged, kept in SQLite until it is settled.

Each request's events are written in one transaction before the tracking API answers 200 (as
Segment stores an event before acknowledging it, CONTRACT B.14). An event is marked `delivered`
or `dropped` once the destination has answered for good; one still `queued` when the simulator
stops, or is killed, is delivered by the next simulator started on the same directory. Filtered
events are kept too, without a body, so that deduplication survives a restart; settled events
are pruned once their deduplication window has passed.

Times here are wall-clock seconds since the epoch (an event's receipt), never simulated ones.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from harness.errors import SettingError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock on the directory
    fcntl = None  # type: ignore[assignment]

__all__ = ["OUTBOX_FILE", "Incoming", "Outbox", "Parcel", "StorageUnavailable"]

#: The file the outbox keeps in its directory.
OUTBOX_FILE = "segment-simulator.db"
_LOCK_FILE = "segment-simulator.lock"
_SCHEMA_VERSION = 1
_PRUNE_EVERY = 10_000
# No secondary index: each costs about as much as the row on every acknowledgement. Queued
# events and the dedup window are read by one scan at the start; pruning goes by row range.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    row INTEGER PRIMARY KEY,
    message_id TEXT,
    type TEXT,
    received_at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'delivered', 'dropped', 'filtered')),
    body BLOB
)
"""


class StorageUnavailable(Exception):
    """The outbox could not store a request (disk full, I/O error): nothing of it was taken."""


@dataclass(frozen=True, slots=True)
class Parcel:
    """One stored event on its way to the destination: its outbox row and delivered body."""

    row: int
    message_id: str
    type: str
    body: bytes
    received_at: float


@dataclass(frozen=True, slots=True)
class Incoming:
    """One event of a request to store: a body to deliver, or None for an event filtered out."""

    message_id: str | None
    type: str | None
    body: bytes | None


class Outbox:
    """Acknowledged events in `directory`/segment-simulator.db, or in memory when `directory` is
    None (then nothing survives the process). `retain` is how many seconds settled events are
    kept for deduplication; `on_settled` hears of each batch of settled events once committed.

    `add` commits before it returns. Settling is committed in groups by a thread of its own, off
    the delivery path: a simulator killed between a delivery and that commit delivers the event
    again after the restart (at least once, as Segment does).
    """

    def __init__(
        self,
        directory: str | Path | None,
        *,
        retain: float,
        on_settled: Callable[[Sequence[tuple[str, int]]], None] | None = None,
    ) -> None:
        self.directory = None if directory is None else Path(directory)
        self.retain = retain
        self._on_settled = on_settled
        self._lock = threading.Lock()  # the connection
        self._lock_file: IO[str] | None = None
        # (received at, last row) of each add, oldest first: where to prune up to.
        self._marks: deque[tuple[float, int]] = deque()
        self._added_since_prune = 0
        if self.directory is None:
            path = ":memory:"
        else:
            self._lock_file = _lock(self.directory)
            path = str(self.directory / OUTBOX_FILE)
        try:
            self._db: sqlite3.Connection | None = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._open(self._db, path)
        except sqlite3.Error as error:
            self._release()
            raise SettingError(
                "data_dir",
                f"{path!r} cannot hold the simulator's outbox ({error}): give a directory "
                "of its own",
            ) from None
        self._pending: list[tuple[str, int]] = []
        self._settling = False
        self._closing = False
        self._settle_ready = threading.Condition(threading.Lock())
        self._settler = threading.Thread(
            target=self._settle_loop, name="segment-outbox", daemon=True
        )
        self._settler.start()

    @staticmethod
    def _open(db: sqlite3.Connection, path: str) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
        if tables[0] and version != _SCHEMA_VERSION:
            raise sqlite3.DatabaseError(f"it holds something else (schema version {version})")
        if path != ":memory:":
            db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed transaction survives the process being killed.
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(_SCHEMA)
        db.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def add(self, received_at: float, events: Sequence[Incoming]) -> list[int]:
        """Store one request's events in one transaction; returns their rows, in order.

        Raises `StorageUnavailable` (and stores nothing) when the database cannot be written.
        """
        rows: list[int] = []
        with self._lock:
            db = self._db
            if db is None:
                raise StorageUnavailable("the simulator is stopping")
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    for event in events:
                        cursor = db.execute(
                            "INSERT INTO events (message_id, type, received_at, state, body) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (
                                event.message_id,
                                event.type,
                                received_at,
                                "filtered" if event.body is None else "queued",
                                event.body,
                            ),
                        )
                        rows.append(cursor.lastrowid or 0)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise StorageUnavailable(f"the simulator cannot store events: {error}") from None
            if rows:
                self._marks.append((received_at, rows[-1]))
                self._added_since_prune += len(rows)
                if self._added_since_prune >= _PRUNE_EVERY:
                    self._added_since_prune = 0
                    self._prune_marks(db, received_at - self.retain)
        return rows

    def settle(self, row: int, state: str) -> None:
        """Mark a queued event `delivered` or `dropped` (its body is no longer needed), in the
        next group commit."""
        with self._settle_ready:
            self._pending.append((state, row))
            self._settle_ready.notify_all()

    def flush(self) -> None:
        """Wait until every settlement asked for so far is committed."""
        with self._settle_ready:
            while (self._pending or self._settling) and self._settler.is_alive():
                self._settle_ready.wait(0.5)

    def _settle_loop(self) -> None:
        while True:
            with self._settle_ready:
                while not self._pending and not self._closing:
                    self._settle_ready.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
                self._settling = True
            try:
                self._commit_settled(batch)
                if self._on_settled is not None:
                    self._on_settled(batch)
            finally:
                with self._settle_ready:
                    self._settling = False
                    self._settle_ready.notify_all()

    def _commit_settled(self, batch: list[tuple[str, int]]) -> None:
        with self._lock:
            db = self._db
            if db is None:
                return
            # A failed write leaves the events queued: the next start delivers them again.
            with suppress(sqlite3.Error):
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany(
                        "UPDATE events SET state = ?, body = NULL "
                        "WHERE row = ? AND state = 'queued'",
                        batch,
                    )
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise

    def queued(self) -> list[Parcel]:
        """Every event still to deliver, oldest first."""
        self.flush()
        with self._lock:
            if self._db is None:
                return []
            found = self._db.execute(
                "SELECT row, message_id, type, body, received_at FROM events "
                "WHERE state = 'queued' ORDER BY row"
            ).fetchall()
        return [Parcel(*columns) for columns in found]

    def seen_since(self, horizon: float) -> list[tuple[str, float]]:
        """(messageId, received at) of every event received after `horizon`, oldest first;
        settled events received before it are forgotten."""
        with self._lock:
            if self._db is None:
                return []
            with suppress(sqlite3.Error):
                self._db.execute(
                    "DELETE FROM events WHERE state != 'queued' AND received_at <= ?", (horizon,)
                )
            return self._db.execute(
                "SELECT message_id, received_at FROM events "
                "WHERE received_at > ? AND message_id IS NOT NULL ORDER BY row",
                (horizon,),
            ).fetchall()

    def _prune_marks(self, db: sqlite3.Connection, horizon: float) -> None:
        """Forget settled events added at or before `horizon` (past their dedup window), by row
        range: rows are added in the order requests arrive."""
        last_row = None
        while self._marks and self._marks[0][0] <= horizon:
            last_row = self._marks.popleft()[1]
        if last_row is not None:
            with suppress(sqlite3.Error):  # busy or full: the next round tries again
                db.execute("DELETE FROM events WHERE row <= ? AND state != 'queued'", (last_row,))

    def close(self) -> None:
        """Commit what is settled, close the database (its write-ahead log folded in) and free
        the directory."""
        with self._settle_ready:
            self._closing = True
            self._settle_ready.notify_all()
        self._settler.join()
        with self._lock:
            db, self._db = self._db, None
            if db is not None:
                with suppress(sqlite3.Error):
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                db.close()
            self._release()

    def _release(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def _lock(directory: Path) -> IO[str] | None:
    """Hold `directory` for this simulator alone: two on one outbox would deliver twice."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        handle = open(directory / _LOCK_FILE, "w")  # noqa: SIM115 - closed by Outbox.close
    except OSError as error:
        raise SettingError(
            "data_dir",
            f"{str(directory)!r} cannot be used: {error.strerror}; give a directory the "
            "simulator may write to",
        ) from None
    if fcntl is None:  # pragma: no cover
        return handle
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise SettingError(
            "data_dir",
            f"{str(directory)!r} is in use by another running simulator: stop it, or give "
            "this one a directory of its own",
        ) from None
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
