"""The invoker's durable spool of bucket events: each accepted event is on disk before it is
acknowledged, stays there until its function succeeded, and ends in a dead-letter list if it
never does.

SQLite (WAL, synchronous=FULL), not a file per event: a delivery's every change of state (an
attempt counted, the next due time, dead, redriven) is one transaction instead of a rename dance,
`profilepics events` can list and redrive while the invoker runs (SQLite's locking), and a commit
is durable after one fsync of the log. bench/spool.py measures both ways.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from infra.invoker.events import decoded_key

PENDING = "pending"  # the invoker delivers it, with backoff
HELD = "held"  # its sender keeps it and redelivers (MinIO's queue_dir); only attempts counted
DEAD = "dead"  # failed every attempt: waits for `profilepics events --redrive`
SPOOL_FILE = "events.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    identity TEXT NOT NULL UNIQUE,
    function TEXT NOT NULL,
    key TEXT NOT NULL,
    record TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    due REAL NOT NULL,
    received REAL NOT NULL,
    error TEXT
);
CREATE INDEX IF NOT EXISTS events_due ON events (state, due);
"""


class SpoolUnavailable(Exception):
    """The spool could not record an event (disk full, locked too long): don't acknowledge."""


@dataclass(frozen=True)
class Entry:
    id: int
    function: str
    key: str
    record: dict[str, Any]
    state: str
    attempts: int
    due: float
    received: float
    error: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Entry:
        return cls(
            id=row["id"],
            function=row["function"],
            key=row["key"],
            record=json.loads(row["record"]),
            state=row["state"],
            attempts=row["attempts"],
            due=row["due"],
            received=row["received"],
            error=row["error"],
        )


def identity(function: str, record: dict[str, Any]) -> str:
    """One event for one function: a sender's redelivery of the same record is the same one."""
    canonical = json.dumps([function, record], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class Spool:
    def __init__(self, path: Path | str, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        if str(path) != ":memory:" and not Path(path).exists():
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # events name user ids
        self._db = sqlite3.connect(
            str(path), timeout=10, isolation_level=None, check_same_thread=False
        )
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)

    @classmethod
    def in_dir(cls, directory: Path) -> Spool:
        return cls(directory / SPOOL_FILE)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise SpoolUnavailable(type(exc).__name__) from None
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise SpoolUnavailable(type(exc).__name__) from None

    def add(self, items: Iterable[tuple[str, dict[str, Any]]], state: str = PENDING) -> list[Entry]:
        """Record events durably, in one transaction, and return their entries.

        Each pending event is new (as Lambda's asynchronous invocations are, a post sent twice
        is delivered twice); a held event sent again is the one already recorded, whose
        attempts the sender's redeliveries count.
        """
        now = self._clock()
        entries: list[Entry] = []
        try:
            with self._transaction() as db:
                for function, record in items:
                    ident = identity(function, record) if state == HELD else uuid.uuid4().hex
                    db.execute(
                        "INSERT OR IGNORE INTO events"
                        " (identity, function, key, record, state, due, received)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (ident, function, decoded_key(record), json.dumps(record), state, now, now),
                    )
                    row = db.execute("SELECT * FROM events WHERE identity = ?", (ident,)).fetchone()
                    entries.append(Entry.from_row(row))
        except sqlite3.Error as exc:
            raise SpoolUnavailable(type(exc).__name__) from None
        return entries

    def claim(self, lease_seconds: float) -> Entry | None:
        """The oldest due pending event, its attempt counted and leased for `lease_seconds`:
        if the invoker dies mid-delivery, the event is due again at the next start."""
        now = self._clock()
        with self._transaction() as db:
            row = db.execute(
                "SELECT * FROM events WHERE state = ? AND due <= ? ORDER BY due, id LIMIT 1",
                (PENDING, now),
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE events SET attempts = attempts + 1, due = ? WHERE id = ?",
                (now + lease_seconds, row["id"]),
            )
        claimed = Entry.from_row(row)
        return replace(claimed, attempts=claimed.attempts + 1)

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(due) FROM events WHERE state = ?", (PENDING,)
            ).fetchone()
        return None if row[0] is None else float(row[0])

    def succeeded(self, entry_id: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM events WHERE id = ?", (entry_id,))

    def failed(self, entry_id: int, error: str, retry_at: float | None) -> None:
        """Record a failed attempt: due again at `retry_at`, or dead when it is None."""
        with self._transaction() as db:
            if retry_at is None:
                db.execute(
                    "UPDATE events SET state = ?, error = ? WHERE id = ?", (DEAD, error, entry_id)
                )
            else:
                db.execute(
                    "UPDATE events SET due = ?, error = ? WHERE id = ?", (retry_at, error, entry_id)
                )

    def held_failed(self, entry_id: int, error: str, give_up_after: int) -> bool:
        """Count a failed attempt of a held event; True once that makes it dead."""
        with self._transaction() as db:
            db.execute(
                "UPDATE events SET attempts = attempts + 1, error = ? WHERE id = ?",
                (error, entry_id),
            )
            db.execute(
                "UPDATE events SET state = ? WHERE id = ? AND attempts >= ?",
                (DEAD, entry_id, give_up_after),
            )
            row = db.execute("SELECT state FROM events WHERE id = ?", (entry_id,)).fetchone()
        return row is not None and row["state"] == DEAD

    def due_now(self) -> int:
        """Make every pending event due at once (at start: whatever was in flight is not)."""
        with self._transaction() as db:
            cursor = db.execute(
                "UPDATE events SET due = ? WHERE state = ?", (self._clock(), PENDING)
            )
        return cursor.rowcount

    def forget_held(self, older_than: float) -> int:
        """Drop held events whose sender stopped redelivering (another replica succeeded)."""
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM events WHERE state = ? AND received < ?",
                (HELD, self._clock() - older_than),
            )
        return cursor.rowcount

    def entries(self, states: Iterable[str] = (PENDING, HELD, DEAD)) -> list[Entry]:
        wanted = list(states)
        marks = ",".join("?" * len(wanted))
        with self._lock:
            rows = self._db.execute(
                f"SELECT * FROM events WHERE state IN ({marks}) ORDER BY id",  # noqa: S608
                wanted,
            ).fetchall()
        return [Entry.from_row(row) for row in rows]

    def keys(self, state: str = PENDING) -> set[tuple[str, str]]:
        """(function, key) of every event in that state."""
        return {(e.function, e.key) for e in self.entries([state])}

    def redrive(self, ids: Iterable[int] | None = None) -> int:
        """Dead events (all, or those ids) back to pending, due now, with fresh attempts."""
        now = self._clock()
        with self._transaction() as db:
            if ids is None:
                cursor = db.execute(
                    "UPDATE events SET state = ?, attempts = 0, due = ? WHERE state = ?",
                    (PENDING, now, DEAD),
                )
                return cursor.rowcount
            count = 0
            for entry_id in ids:
                cursor = db.execute(
                    "UPDATE events SET state = ?, attempts = 0, due = ? WHERE id = ? AND state = ?",
                    (PENDING, now, entry_id, DEAD),
                )
                count += cursor.rowcount
            return count

    def close(self) -> None:
        with self._lock:
            self._db.close()
