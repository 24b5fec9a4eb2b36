"""A daemon's durable state: its event cursor and one record per round it acts in.

SQLite with ``synchronous=FULL``: when ``put`` returns, the record is on disk
(fsync'd), so a daemon writes everything it needs to reveal (output or scores,
cost, salt) *before* it sends the commitment, and a daemon killed at any point
finds it again on restart.

A store belongs to one deployment and one account (``Binding``): the chain id,
the contract address, the deploy block *and its hash*, and the account. A
devnet torn down and deployed again puts PoQ at the same address on the same
chain id, so only the block hash tells the new deployment from the old one;
opening a store for another binding is refused, so two deployments never mix
their rounds or salts.

A store is held by one process at a time: opening takes an exclusive lock
(``flock`` on ``<store>.lock``, released by the kernel when the process dies,
even by SIGKILL). A second daemon on the same store is refused before it can
send anything: two daemons on one key clash on nonces and commitments, and
both are slashed.

Faults are named with the file: a file that is not a store (random bytes, a
truncated copy, a directory) raises ``StoreCorrupt``; a write the disk cannot
take (full, read-only, I/O error) raises ``StoreUnavailable``, which the daemon
waits out, since nothing was sent for a record that was never written.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from oracle.chain.follower import Position

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

# What sqlite says when the disk, not the file, is the problem: wait and write again.
_UNAVAILABLE = ("disk is full", "disk i/o error", "readonly database", "unable to open database file")


@dataclass(frozen=True)
class Binding:
    """The deployment and account a store belongs to."""

    chain_id: int
    contract: str
    deploy_block: int
    deploy_hash: str  # hex hash of the deploy block: differs for every deployment of a devnet
    account: str

    @classmethod
    def of(cls, client, deploy_block: int, account: str) -> Binding:
        """The binding of ``account`` on the deployment ``client`` (a ``PoQClient``) talks to, read from the chain."""
        return cls(client.chain_id, client.address, deploy_block, client.block_hash(deploy_block), account)

    def __str__(self) -> str:
        return (f"chain {self.chain_id} / PoQ {self.contract} deployed in block {self.deploy_block} "
                f"({self.deploy_hash[:10]}) / {self.account}")

    def file_name(self, name: str) -> str:
        """The default store file of daemon ``name``: one per deployment, so a redeploy starts a new one."""
        return f"{name}-{self.contract[2:10].lower()}-{self.deploy_hash.removeprefix('0x')[:8]}.sqlite"


@dataclass(frozen=True)
class Record:
    """One unit of a daemon's work (a round, or a round a requester is about to open)."""

    key: str
    status: str
    done: bool
    data: dict


class StoreMismatch(RuntimeError):
    """The store file belongs to another deployment or account."""


class StoreLocked(RuntimeError):
    """Another process holds the store (or the account's lock)."""


class StoreCorrupt(RuntimeError):
    """The file is not a readable store: corrupt, truncated, or not a file."""


class StoreUnavailable(OSError):
    """A write failed for want of disk (full, read-only, I/O error): nothing was written."""


class ProcessLock:
    """An exclusive ``flock`` on ``path`` for this process's lifetime; refused if another process holds it.

    The file records the holder's pid, for the message a second process gets. The kernel drops the
    lock when the holder exits in any way, so a crashed daemon never leaves a stale lock behind.
    """

    def __init__(self, path: Path, what: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh: IO[str] | None = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.seek(0)
            holder = self._fh.read().strip() or "unknown"
            self._fh.close()
            self._fh = None
            raise StoreLocked(f"{what} is in use by another running daemon (pid {holder}, lock {self.path}): "
                              "two daemons on one key clash and both are slashed; stop the other one "
                              "first") from None
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(str(os.getpid()))
        self._fh.flush()

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing the descriptor drops the flock
            self._fh = None


class Store:
    """Durable key -> (status, JSON data) records plus the block cursor, held by one process."""

    def __init__(self, path: Path, identity: Binding | str) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreCorrupt(f"store {self.path} is a directory, not a store file: pass --store with a file "
                               "path (a new name starts an empty store)")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = ProcessLock(self.path.with_name(self.path.name + ".lock"), f"store {self.path}")
        try:
            self._db = self._open(str(identity))
        except BaseException:
            self._lock.release()
            raise

    def _open(self, identity: str) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            self._db = db
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            (check,) = db.execute("PRAGMA quick_check").fetchone()
            if check != "ok":
                raise sqlite3.DatabaseError(f"integrity check: {check}")
            db.executescript(_SCHEMA)
            stored = self._meta("identity")
        except sqlite3.Error as exc:
            raise StoreCorrupt(f"store {self.path} cannot be read as a poq store ({exc}): it is corrupt or "
                               "truncated. Move it aside and restore it from a backup if you have one; "
                               "starting a new store loses the salts of rounds in flight (their stake is "
                               "slashed)") from exc
        if stored is None:
            self._set_meta("identity", identity)
        elif stored != identity:
            db.close()
            raise StoreMismatch(f"store {self.path} belongs to {stored}, not {identity}: a store is bound to "
                                "one deployment and account; pass another --store (or none, for the default "
                                "of this deployment)")
        return db

    def _write(self, sql: str, params: tuple) -> None:
        """One durable write; a disk that cannot take it raises ``StoreUnavailable`` naming the file."""
        try:
            self._db.execute(sql, params)
        except sqlite3.OperationalError as exc:
            if any(m in str(exc).lower() for m in _UNAVAILABLE):
                raise StoreUnavailable(f"store {self.path}: {exc} (nothing was written; free space on "
                                       f"{self.path.parent} and the daemon goes on)") from exc
            raise

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._write("INSERT INTO meta(key, value) VALUES(?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # ------------------------------------------------------------------ cursor

    def cursor(self) -> int | None:
        """The last block whose events were fully handled, or None before the first."""
        value = self._meta("cursor")
        return int(value) if value is not None else None

    def set_cursor(self, block: int) -> None:
        self._set_meta("cursor", str(block))

    def position(self) -> Position | None:
        """The cursor with its block's hash (what the follower checks for a reorg), or None before the first."""
        cursor = self.cursor()
        return None if cursor is None else Position(cursor, self._meta("cursor_hash") or None)

    def set_position(self, position: Position) -> None:
        """Store block and hash in one transaction, so they never disagree after a crash."""
        self._write("BEGIN", ())
        try:
            self._set_meta("cursor", str(position.block))
            self._set_meta("cursor_hash", position.hash or "")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._write("COMMIT", ())

    # ------------------------------------------------------------------ records

    def get(self, key: str) -> Record | None:
        row = self._db.execute("SELECT key, status, done, data FROM items WHERE key = ?", (key,)).fetchone()
        return Record(row[0], row[1], bool(row[2]), json.loads(row[3])) if row else None

    def put(self, key: str, status: str, data: dict, done: bool = False) -> Record:
        """Write a record; durable (fsync'd) when this returns, ``StoreUnavailable`` if the disk refused it."""
        self._write(
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
        self._lock.release()
