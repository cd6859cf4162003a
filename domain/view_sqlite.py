"""What the projections kept in SQLite files beside the event store share: how their file is
opened (the people view, the timeline).

Their own file, not the event store's: a catch-up then never holds the record's write lock,
and the file can be deleted to have the projection rebuilt from the record. One connection
shared by the process's threads through a lock; other processes wait for SQLite's write lock
up to `BUSY_TIMEOUT_MS`. WAL, so readers in other processes do not wait for a writer.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

BUSY_TIMEOUT_MS = 10_000


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
