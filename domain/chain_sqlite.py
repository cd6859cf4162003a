"""The chained application recorder of the SQLite event store: the library's recorder, and in
the same transaction as each insert the events' links in `lotse_event_chain` (same file).

SQLite has one writer at a time, and the insert is the transaction's first statement, so the
chain's head read after it is the latest: links are written in notification (rowid) order.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

from domain.event_chain import (
    CHAIN_BATCH,
    CHAIN_TABLE,
    INTRODUCTIONS_TABLE,
    STREAM_INDEX,
    ChainSnapshot,
    ChainWriter,
    Introduction,
    JoinedRow,
    Link,
    Row,
    as_bytes,
)


class ChainedSQLiteApplicationRecorder(ChainWriter, SQLiteApplicationRecorder):
    """`SQLiteApplicationRecorder` whose every insert also writes the events' chain links."""

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} ("
            "notification_id INTEGER PRIMARY KEY, "
            "originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, "
            "previous_hash BLOB NOT NULL, "
            "hash BLOB NOT NULL)",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {STREAM_INDEX} "
            f"ON {CHAIN_TABLE} (originator_id, originator_version)",
            f"CREATE TABLE IF NOT EXISTS {INTRODUCTIONS_TABLE} ("
            "first_notification_id INTEGER NOT NULL, "
            "last_notification_id INTEGER NOT NULL, "
            "introduced_at TEXT NOT NULL)",
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        self.chain_new_events(c, stored_events, list(notification_ids or []))
        return notification_ids

    @contextmanager
    def chain_snapshot(self) -> Iterator[ChainSnapshot]:
        """A read of events and chain as of one moment (one SQLite read transaction)."""
        with self.datastore.transaction(commit=False) as c:
            yield SQLiteChainSnapshot(c.sqlite_cursor.connection, self.events_table_name)

    def location(self) -> str:
        """Which store this is, for a checkpoint: the SQLite file."""
        return f"sqlite:{self.datastore.pool.db_name}"

    # --- ChainWriter's SQL ----------------------------------------------------------------

    def _chain_head(self, cursor: SQLiteCursor) -> tuple[int, bytes] | None:
        cursor.execute(
            f"SELECT notification_id, hash FROM {CHAIN_TABLE} ORDER BY notification_id DESC LIMIT 1"
        )
        row = cursor.fetchone()
        return None if row is None else (row[0], as_bytes(row[1]))

    def _events_before(self, cursor: SQLiteCursor, before: int) -> Iterator[list[Row]]:
        after = -(2**63)
        while True:
            cursor.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {self.events_table_name} WHERE rowid > ? AND rowid < ? "
                "ORDER BY rowid LIMIT ?",
                (after, before, CHAIN_BATCH),
            )
            batch: list[Row] = [tuple(row) for row in cursor.fetchall()]
            if not batch:
                return
            yield batch
            after = batch[-1][0]

    def _chained_versions(
        self, cursor: SQLiteCursor, rows: Sequence[Row]
    ) -> list[tuple[str, int, int]]:
        held = []
        for _, originator_id, version, _, _ in rows:
            cursor.execute(
                f"SELECT notification_id FROM {CHAIN_TABLE} "
                "WHERE originator_id = ? AND originator_version = ?",
                (originator_id, version),
            )
            row = cursor.fetchone()
            if row is not None:
                held.append((originator_id, version, row[0]))
        return held

    def _write_links(self, cursor: SQLiteCursor, links: Sequence[Link]) -> None:
        cursor.executemany(
            f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?, ?, ?, ?)", [link.row() for link in links]
        )

    def _record_introduction(self, cursor: SQLiteCursor, first: int, last: int) -> None:
        cursor.execute(
            f"INSERT INTO {INTRODUCTIONS_TABLE} VALUES (?, ?, ?)",
            (first, last, datetime.now(UTC).isoformat()),
        )


class SQLiteChainSnapshot(ChainSnapshot):
    """`ChainSnapshot` on an SQLite connection inside a read transaction."""

    def __init__(self, connection: sqlite3.Connection, events_table: str) -> None:
        self.connection = connection
        self.events = events_table

    def _cursor(self) -> sqlite3.Cursor:
        cursor = self.connection.cursor()
        cursor.row_factory = None  # plain tuples: the pool's sqlite3.Row costs per row
        return cursor

    def joined_rows(self, batch: int) -> Iterator[Sequence[JoinedRow]]:
        cursor = self._cursor()
        cursor.execute(
            "SELECT e.rowid, e.originator_id, e.originator_version, e.topic, e.state, "
            "l.originator_id, l.originator_version, l.previous_hash, l.hash "
            f"FROM {self.events} e LEFT JOIN {CHAIN_TABLE} l ON l.notification_id = e.rowid "
            "ORDER BY e.rowid"
        )
        while rows := cursor.fetchmany(batch):
            yield rows

    def link_count(self) -> int:
        return int(self._cursor().execute(f"SELECT COUNT(*) FROM {CHAIN_TABLE}").fetchone()[0])

    def orphan_links(self) -> list[Link]:
        cursor = self._cursor().execute(
            f"SELECT * FROM {CHAIN_TABLE} l WHERE NOT EXISTS "
            f"(SELECT 1 FROM {self.events} e WHERE e.rowid = l.notification_id) "
            "ORDER BY notification_id"
        )
        return [Link.of(row) for row in cursor]

    def stream_versions(self) -> Iterator[tuple[str, int, int]]:
        yield from self._cursor().execute(
            f"SELECT originator_id, originator_version, notification_id FROM {CHAIN_TABLE} "
            "ORDER BY originator_id, originator_version"
        )

    def head(self) -> tuple[int, bytes] | None:
        row = (
            self._cursor()
            .execute(
                f"SELECT notification_id, hash FROM {CHAIN_TABLE} "
                "ORDER BY notification_id DESC LIMIT 1"
            )
            .fetchone()
        )
        return None if row is None else (row[0], as_bytes(row[1]))

    def link_at(self, notification_id: int) -> Link | None:
        row = (
            self._cursor()
            .execute(f"SELECT * FROM {CHAIN_TABLE} WHERE notification_id = ?", (notification_id,))
            .fetchone()
        )
        return None if row is None else Link.of(row)

    def introductions(self) -> list[Introduction]:
        cursor = self._cursor().execute(
            f"SELECT * FROM {INTRODUCTIONS_TABLE} ORDER BY first_notification_id"
        )
        return [Introduction(*row) for row in cursor]

    def holds_stream(self, originator_id: str) -> bool:
        cursor = self._cursor()
        return any(
            cursor.execute(
                f"SELECT 1 FROM {table} WHERE originator_id = ? LIMIT 1", (originator_id,)
            ).fetchone()
            for table in (CHAIN_TABLE, self.events)
        )

    def first_states(self, originator_ids: Iterable[str]) -> dict[str, bytes]:
        states = {}
        cursor = self._cursor()
        for originator_id in originator_ids:
            row = cursor.execute(
                f"SELECT state FROM {self.events} "
                "WHERE originator_id = ? AND originator_version = 1",
                (originator_id,),
            ).fetchone()
            if row is not None:
                states[originator_id] = as_bytes(row[0])
        return states
