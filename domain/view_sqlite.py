"""What the projections kept in SQLite files beside the event store share (the people view, the
timeline): how their file is opened, and a base class that keeps the tracking position and
writes a batch's rows with it (`SQLiteTrackedStore`).

Their own file, not the event store's: a catch-up then never holds the record's write lock,
and the file can be deleted to have the projection rebuilt from the record. One connection
shared by the process's threads through a lock; other processes wait for SQLite's write lock
up to `BUSY_TIMEOUT_MS`. WAL, so readers in other processes do not wait for a writer.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, TypeVar

BUSY_TIMEOUT_MS = 10_000
R = TypeVar("R")


def open_view_file(path: str, schema: Sequence[str]) -> sqlite3.Connection:
    """A connection to the projection's file (`:memory:`: this process only) in autocommit
    mode, its tables made by `schema` in one transaction if they are missing."""
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    if path != ":memory:":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in schema:
            conn.execute(statement)
    except BaseException:
        conn.execute("ROLLBACK")
        conn.close()
        raise
    conn.execute("COMMIT")
    return conn


def tracking_schema(table: str, name: str) -> tuple[str, str]:
    """The statements that make a projection's tracking table and give its row `name`
    position 0 unless it exists."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, position INTEGER NOT NULL)",
        f"INSERT INTO {table} (name, position) VALUES ('{name}', 0) ON CONFLICT (name) DO NOTHING",
    )


class SQLiteTrackedStore(Generic[R]):
    """A projection's rows and its tracking position in one SQLite file (`:memory:`: this
    process only): the `TrackedStore` the catch-up loop (domain/catch_up.py) writes to.

    A subclass names its tables (`schema`, `tracking_table`, `tracking_name`) and writes the rows
    of one batch (`_insert`); `write` runs that inside the transaction that moves the
    position, so rows and position are written together or not at all. Every use of the
    connection holds the lock: the process's threads share it.
    """

    schema: ClassVar[Sequence[str]]
    """The projection's own tables and indexes (the tracking table is added to them)."""
    tracking_table: ClassVar[str]
    tracking_name: ClassVar[str]

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        tracking = tracking_schema(self.tracking_table, self.tracking_name)
        self._conn = open_view_file(path, (*self.schema, *tracking))

    def position(self) -> int:
        row = self._fetch_one(
            f"SELECT position FROM {self.tracking_table} WHERE name = ?", (self.tracking_name,)
        )
        assert row is not None  # inserted with the table
        return int(row[0])

    def write(self, rows: Sequence[R], expected: int, position: int) -> bool:
        """Move the position from `expected` to `position` and write `rows`, in one
        transaction; False, and nothing written, if the position is no longer `expected`."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                moved = self._conn.execute(
                    f"UPDATE {self.tracking_table} SET position = ? "
                    "WHERE name = ? AND position = ?",
                    (position, self.tracking_name, expected),
                ).rowcount
                if moved != 1:
                    self._conn.execute("ROLLBACK")
                    return False
                self._insert(rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return True

    def _insert(self, rows: Sequence[R]) -> None:
        """The rows of one batch (inserted, or brought up to date), inside `write`'s transaction,
        the lock held."""
        raise NotImplementedError

    def _fetch_one(self, query: str, values: Sequence[object]) -> Any:
        """The first row `query` finds (None: none), read under the lock."""
        with self._lock:
            return self._conn.execute(query, values).fetchone()

    def _fetch_all(self, query: str, values: Sequence[object]) -> list[Any]:
        """Every row `query` finds, read under the lock."""
        with self._lock:
            return self._conn.execute(query, values).fetchall()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
