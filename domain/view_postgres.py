"""What the projections kept in PostgreSQL share (the people view, the timeline): a small
connection pool, making their tables when two processes may do it at once, and a base class that
keeps the tracking position and writes a batch's rows with it (`PostgresTrackedStore`).

Two processes catching up at once: each moves the position with `UPDATE … WHERE position =
expected`; the second waits for the first's row lock and then finds the position moved, so its
transaction writes nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Self, TypeVar

import psycopg
from eventsourcing.utils import Environment
from psycopg import Cursor, sql
from psycopg_pool import ConnectionPool

from domain.postgres_target import postgres_target

SETUP_ATTEMPTS = 5
POOL_MAX_SIZE = 4
SETUP_RACES = (
    psycopg.errors.UniqueViolation,
    psycopg.errors.InternalError,
    psycopg.errors.DeadlockDetected,
    psycopg.errors.DuplicateTable,
    psycopg.errors.DuplicateObject,
)
"""What PostgreSQL answers one of two processes that create the same tables at once."""
R = TypeVar("R")


def open_pool(conninfo: str) -> ConnectionPool:
    """One small pool of autocommit connections per projection and application."""
    return ConnectionPool(
        conninfo, min_size=1, max_size=POOL_MAX_SIZE, kwargs={"autocommit": True}, open=True
    )


def table_name(schema: str, table: str) -> sql.Identifier:
    """`table` in `schema` (the event store's), or unqualified when no schema is set."""
    return sql.Identifier(schema, table) if schema else sql.Identifier(table)


def create_tables(
    pool: ConnectionPool,
    tracking_statement: sql.Composed,
    statements: Sequence[sql.Composed],
    tracking: sql.Identifier,
    name: str,
) -> None:
    """Make the tracking table, give its row `name` position 0 unless it exists, then run the
    projection's `statements`, in one transaction. Workers starting together on a new
    database both create the tables; PostgreSQL refuses one of the concurrent definitions (or
    finds the two transactions deadlocked between table, index and first row), and the next
    attempt finds them made.

    The tracking row comes first: a process catching up holds that row (its `UPDATE`) while it
    inserts into the projection's tables, and `CREATE INDEX IF NOT EXISTS` locks those tables
    even when the index exists. Touching the row first, the opener waits for that catch-up to
    commit instead of holding the table lock it needs (they deadlocked 3–5 times in 20)."""
    start = sql.SQL(
        "INSERT INTO {} (name, position) VALUES (%s, 0) ON CONFLICT (name) DO NOTHING"
    ).format(tracking)
    for attempt in range(1, SETUP_ATTEMPTS + 1):
        try:
            with pool.connection() as conn, conn.transaction():
                conn.execute(tracking_statement)
                conn.execute(start, (name,))
                for statement in statements:
                    conn.execute(statement)
            return
        except SETUP_RACES:
            if attempt == SETUP_ATTEMPTS:
                raise
            time.sleep(random.uniform(0, 0.1 * attempt))  # jitter, not secrecy


class PostgresTrackedStore(Generic[R]):
    """A projection's rows and its tracking position in the event store's PostgreSQL database
    and schema, one small connection pool per application: the `TrackedStore` the catch-up
    loop (domain/catch_up.py) writes to.

    A subclass names its tracking table and row (`tracking_table`, `tracking_name`), its own
    tables (`_statements`, called once the subclass's `__init__` has named them and then calls
    this one's) and writes the rows of one batch (`_insert`); `write` runs that inside the
    transaction that moves the position, so rows and position are written together or not
    at all.
    """

    tracking_table: ClassVar[str]
    tracking_name: ClassVar[str]

    def __init__(self, conninfo: str, schema: str = "") -> None:
        self._tracking = table_name(schema, self.tracking_table)
        self._pool = open_pool(conninfo)
        try:
            create_tables(
                self._pool,
                self._tracking_statement(),
                self._statements(),
                self._tracking,
                self.tracking_name,
            )
        except BaseException:
            self._pool.close()
            raise

    @classmethod
    def from_env(cls, env: Environment) -> Self:
        """The database the event store's `POSTGRES_*` settings name."""
        return cls(*postgres_target(env))

    def _statements(self) -> list[sql.Composed]:
        """The projection's own tables and indexes, made if missing (see `create_tables`)."""
        raise NotImplementedError

    def _tracking_statement(self) -> sql.Composed:
        return sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, position bigint NOT NULL)"
        ).format(self._tracking)

    def position(self) -> int:
        query = sql.SQL("SELECT position FROM {} WHERE name = %s").format(self._tracking)
        row = self._fetch_one(query, (self.tracking_name,))
        assert row is not None  # inserted with the table
        return int(row[0])

    def write(self, rows: Sequence[R], expected: int, position: int) -> bool:
        """Move the position from `expected` to `position` and write `rows`, in one
        transaction; False, and nothing written, if the position is no longer `expected`."""
        move = sql.SQL("UPDATE {} SET position = %s WHERE name = %s AND position = %s").format(
            self._tracking
        )
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.execute(move, (position, self.tracking_name, expected))
            if cursor.rowcount != 1:
                return False  # leaving the block commits nothing written
            self._insert(cursor, rows)
        return True

    def _insert(self, cursor: Cursor[tuple[Any, ...]], rows: Sequence[R]) -> None:
        """The rows of one batch (inserted, or brought up to date) through `cursor`, inside
        `write`'s transaction."""
        raise NotImplementedError

    def _fetch_one(self, query: sql.Composed, values: Sequence[object]) -> tuple[Any, ...] | None:
        """The first row `query` finds (None: none)."""
        with self._pool.connection() as conn:
            return conn.execute(query, values).fetchone()

    def _fetch_all(self, query: sql.Composed, values: Sequence[object]) -> list[tuple[Any, ...]]:
        """Every row `query` finds."""
        with self._pool.connection() as conn:
            return conn.execute(query, values).fetchall()

    def close(self) -> None:
        self._pool.close()
