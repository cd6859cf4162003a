"""The key store in its own SQLite file (or in memory), apart from the event store's file.

One connection shared by the process's threads, taking turns through a lock; other processes
(a second worker, the CLI) wait for SQLite's write lock up to `BUSY_TIMEOUT_MS`. The file uses
a rollback journal, not WAL, and `secure_delete` (SQLite's documented promise to overwrite
deleted content with zeros): a destroyed key does not survive in a free page of the file or in
an old WAL frame.
"""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime
from uuid import UUID

from domain.keys import new_key

BUSY_TIMEOUT_MS = 10_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS lotse_person_keys (
    person_id TEXT PRIMARY KEY,
    key BLOB,
    created_at TEXT NOT NULL,
    destroyed_at TEXT
)
"""


class SQLiteKeyStore:
    """`KeyStore` in a SQLite file; `:memory:` keeps the keys for this process only."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA secure_delete = ON")
        if path != ":memory:":
            self._conn.execute("PRAGMA journal_mode = DELETE")
        self._conn.execute(SCHEMA)

    def create(self, person_id: UUID) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO lotse_person_keys (person_id, key, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (person_id) DO NOTHING",
                (str(person_id), new_key(), _now()),
            )

    def key(self, person_id: UUID) -> bytes | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT key FROM lotse_person_keys WHERE person_id = ?", (str(person_id),)
            ).fetchone()
        return None if row is None or row[0] is None else bytes(row[0])

    def destroy(self, person_id: UUID) -> bool:
        """Sets the key to NULL and stamps `destroyed_at`; with `secure_delete` SQLite writes
        zeros over the old row's bytes in the file."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                had_key = self._conn.execute(
                    "SELECT 1 FROM lotse_person_keys WHERE person_id = ? AND key IS NOT NULL",
                    (str(person_id),),
                ).fetchone()
                self._conn.execute(
                    "INSERT INTO lotse_person_keys (person_id, key, created_at, destroyed_at) "
                    "VALUES (?, NULL, ?, ?) ON CONFLICT (person_id) DO UPDATE "
                    "SET key = NULL, destroyed_at = coalesce(destroyed_at, excluded.destroyed_at)",
                    (str(person_id), _now(), _now()),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return had_key is not None

    def destroyed(self, person_id: UUID) -> bool:
        with self._lock:
            row = self._conn.execute(
                "SELECT destroyed_at FROM lotse_person_keys WHERE person_id = ?",
                (str(person_id),),
            ).fetchone()
        return row is not None and row[0] is not None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()
