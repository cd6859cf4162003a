"""What the projections kept in PostgreSQL share (the people view, the timeline): a small
connection pool, and making their tables when two processes may do it at once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

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


def open_pool(conninfo: str) -> ConnectionPool:
    """One small pool of autocommit connections per projection and application."""
    return ConnectionPool(
        conninfo, min_size=1, max_size=POOL_MAX_SIZE, kwargs={"autocommit": True}, open=True
    )


def table_name(schema: str, table: str) -> sql.Identifier:
    """`table` in `schema` (the event store's), or unqualified when no schema is set."""
    return sql.Identifier(schema, table) if schema else sql.Identifier(table)


def create_tables(
    pool: ConnectionPool, statements: Sequence[sql.Composed], tracking: sql.Identifier, name: str
) -> None:
    """Run `statements` and give tracking row `name` position 0 unless it exists, in one
    transaction. Workers starting together on a new database both create the tables;
    PostgreSQL refuses one of the concurrent definitions (or finds the two transactions
    deadlocked between table, index and first row), and the next attempt finds them made."""
    start = sql.SQL(
        "INSERT INTO {} (name, position) VALUES (%s, 0) ON CONFLICT (name) DO NOTHING"
    ).format(tracking)
    for attempt in range(1, SETUP_ATTEMPTS + 1):
        try:
            with pool.connection() as conn, conn.transaction():
                for statement in statements:
                    conn.execute(statement)
                conn.execute(start, (name,))
            return
        except SETUP_RACES:
            if attempt == SETUP_ATTEMPTS:
                raise
            time.sleep(random.uniform(0, 0.1 * attempt))  # jitter, not secrecy
