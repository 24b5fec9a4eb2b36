"""A daemon's durable state: its event cursor and one record per round it acts in.

SQLite with ``synchronous=FULL``: when ``put`` returns, the record is on disk
(fsync'd), so a daemon writes everything it needs to reveal (output or scores,
cost, salt) *before* it sends the commitment, and a daemon killed at any point
finds it again on restart. A store belongs to one (chain, contract, account):
opening it for another is refused, so two deployments never mix their salts.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Record:
    """One unit of a daemon's work (a round, or a round a requester is about to open)."""

    key: str
    status: str
    done: bool
    data: dict


class StoreMismatch(RuntimeError):
    """The store file belongs to another chain, contract or account."""


class Store:
    """Durable key -> (status, JSON data) records plus the block cursor."""

    def __init__(self, path: Path, identity: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        stored = self._meta("identity")
        if stored is None:
            self._set_meta("identity", identity)
        elif stored != identity:
            raise StoreMismatch(f"store {self.path} belongs to {stored}, not {identity}: "
                                "pass another --store for this deployment or account")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT INTO meta(key, value) VALUES(?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ------------------------------------------------------------------ cursor

    def cursor(self) -> int | None:
        """The last block whose events were fully handled, or None before the first."""
        value = self._meta("cursor")
        return int(value) if value is not None else None

    def set_cursor(self, block: int) -> None:
        self._set_meta("cursor", str(block))

    # ------------------------------------------------------------------ records

    def get(self, key: str) -> Record | None:
        row = self._db.execute("SELECT key, status, done, data FROM items WHERE key = ?", (key,)).fetchone()
        return Record(row[0], row[1], bool(row[2]), json.loads(row[3])) if row else None

    def put(self, key: str, status: str, data: dict, done: bool = False) -> Record:
        """Write a record; durable (fsync'd) when this returns."""
        self._db.execute(
            "INSERT INTO items(key, status, done, data, updated) VALUES(?, ?, ?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET status = excluded.status, done = excluded.done, "
            "data = excluded.data, updated = excluded.updated",
            (key, status, int(done), json.dumps(data, sort_keys=True), time.time()))
        return Record(key, status, done, data)

    def update(self, record: Record, status: str, done: bool = False, **changes) -> Record:
        """``record`` with a new status and ``changes`` merged into its data, written durably."""
        return self.put(record.key, status, {**record.data, **changes}, done)

    def pending(self, prefix: str = "") -> list[Record]:
        """Records not done yet, oldest first: what a restarted daemon resumes."""
        rows = self._db.execute("SELECT key, status, done, data FROM items WHERE done = 0 AND key LIKE ? "
                                "ORDER BY updated", (prefix + "%",)).fetchall()
        return [Record(r[0], r[1], bool(r[2]), json.loads(r[3])) for r in rows]

    def all(self, prefix: str = "") -> list[Record]:
        rows = self._db.execute("SELECT key, status, done, data FROM items WHERE key LIKE ? ORDER BY updated",
                                (prefix + "%",)).fetchall()
        return [Record(r[0], r[1], bool(r[2]), json.loads(r[3])) for r in rows]

    def close(self) -> None:
        self._db.close()
