"""Lotse's PostgreSQL event store: eventsourcing's PostgreSQL persistence whose application
recorder chains every event it writes (`lotse_event_chain` in the events table's schema).

Chosen by `PERSISTENCE_MODULE=domain.postgres_store:LotsePostgresFactory` (`Settings` sets it for
`LOTSE_STORE=postgres`); every environment key is the library's (`POSTGRES_*`).

The library inserts events in one of two ways: with `POSTGRES_ENABLE_DB_FUNCTIONS` through its
database function (one statement, committed on its own, without the table lock), otherwise in a
transaction that locks the events table first. The chained recorder always opens one
transaction, locks the table (so that notification ids are given, and links written, in commit
order), inserts the events (through the function when it is enabled) and writes their links,
then commits: events and links are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

# The module, not `PostgresFactory` by name: `PERSISTENCE_MODULE=domain.postgres_store` must
# find exactly one factory class here (`InfrastructureFactory.construct`).
from eventsourcing import postgres as library
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import get_topic, retry
from psycopg import Connection, Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier

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


class ChainedPostgresApplicationRecorder(ChainWriter, library.PostgresApplicationRecorder):
    """`PostgresApplicationRecorder` whose every insert also writes the events' chain links, in
    the same transaction."""

    def __init__(
        self, datastore: library.PostgresDatastore, *, events_table_name: str = "stored_events"
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        self.chain_table = SQL("{}.{}").format(schema, Identifier(CHAIN_TABLE))
        self.introductions_table = SQL("{}.{}").format(schema, Identifier(INTRODUCTIONS_TABLE))
        self.events_table = SQL("{}.{}").format(schema, Identifier(self.events_table_name))
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "notification_id bigint PRIMARY KEY, "
                "originator_id text NOT NULL, "
                "originator_version bigint NOT NULL, "
                "previous_hash bytea NOT NULL, "
                "hash bytea NOT NULL)"
            ).format(self.chain_table),
            SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} (originator_id, originator_version)"
            ).format(Identifier(STREAM_INDEX), self.chain_table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} ("
                "first_notification_id bigint NOT NULL, "
                "last_notification_id bigint NOT NULL, "
                "introduced_at text NOT NULL)"
            ).format(self.introductions_table),
        ]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Lock the events table, insert the events, write their links; one transaction."""
        if not stored_events:
            nothing: Sequence[int] | None = super().insert_events(stored_events, **kwargs)
            return nothing
        with self.datastore.transaction(commit=True) as curs:
            self._insert_events(curs, stored_events, **kwargs)  # the library's hook (tracking)
            self._lock_table(curs)
            notification_ids = self._insert_returning_ids(curs, stored_events)
            self.chain_new_events(curs, stored_events, notification_ids)
        return notification_ids

    def _insert_returning_ids(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent]
    ) -> list[int]:
        if self.datastore.enable_db_functions:
            pg_stored_events = [
                self.construct_pg_stored_event(
                    e.originator_id, e.originator_version, e.topic, e.state
                )
                for e in stored_events
            ]
            curs.execute(
                self.sql_invoke_pg_function_insert_events, (pg_stored_events,), prepare=True
            )
            return [row[self.pg_function_name_insert_events] for row in curs.fetchall()]
        self._notify_channel(curs)
        library.PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events)
        return [row["notification_id"] for row in curs.fetchall()]

    @contextmanager
    def chain_snapshot(self) -> Iterator[ChainSnapshot]:
        """A read of events and chain as of one moment (a REPEATABLE READ transaction)."""
        with self.datastore.get_connection() as conn, conn.transaction(force_rollback=True):
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield PostgresChainSnapshot(conn, self)

    def location(self) -> str:
        """Which store this is, for a checkpoint: database and schema."""
        with self.datastore.get_connection() as conn:
            info = conn.info
            return (
                f"postgresql://{info.user}@{info.host}:{info.port}/{info.dbname} "
                f"schema {self.datastore.schema}"
            )

    def oid_text(self, column: str) -> Composed | SQL:
        """SQL for an events table's originator id as the chain writes it (`id_text`)."""
        if self.datastore.originator_id_type == "uuid":
            return SQL("replace({}::text, '-', '')").format(SQL(column))
        return SQL(column)

    # --- ChainWriter's SQL ----------------------------------------------------------------

    def _chain_head(self, cursor: Cursor[DictRow]) -> tuple[int, bytes] | None:
        cursor.execute(
            SQL(
                "SELECT notification_id, hash FROM {} ORDER BY notification_id DESC LIMIT 1"
            ).format(self.chain_table)
        )
        row = cursor.fetchone()
        return None if row is None else (row["notification_id"], bytes(row["hash"]))

    def _events_before(self, cursor: Cursor[DictRow], before: int) -> Iterator[list[Row]]:
        after = -(2**63)
        statement = SQL(
            "SELECT notification_id, {} AS oid, originator_version, topic, state FROM {} "
            "WHERE notification_id > %s AND notification_id < %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(self.oid_text("originator_id"), self.events_table)
        while True:
            cursor.execute(statement, (after, before, CHAIN_BATCH))
            batch: list[Row] = [
                (
                    r["notification_id"],
                    r["oid"],
                    r["originator_version"],
                    r["topic"],
                    bytes(r["state"]),
                )
                for r in cursor.fetchall()
            ]
            if not batch:
                return
            yield batch
            after = batch[-1][0]

    def _chained_versions(
        self, cursor: Cursor[DictRow], rows: Sequence[Row]
    ) -> list[tuple[str, int, int]]:
        cursor.execute(
            SQL(
                "SELECT originator_id, originator_version, notification_id FROM {} "
                "WHERE (originator_id, originator_version) IN "
                "(SELECT * FROM unnest(%s::text[], %s::bigint[]))"
            ).format(self.chain_table),
            ([r[1] for r in rows], [r[2] for r in rows]),
        )
        return [
            (r["originator_id"], r["originator_version"], r["notification_id"])
            for r in cursor.fetchall()
        ]

    def _write_links(self, cursor: Cursor[DictRow], links: Sequence[Link]) -> None:
        columns = list(zip(*(link.row() for link in links), strict=True))
        cursor.execute(
            SQL(
                "INSERT INTO {} SELECT * FROM "
                "unnest(%s::bigint[], %s::text[], %s::bigint[], %s::bytea[], %s::bytea[])"
            ).format(self.chain_table),
            [list(column) for column in columns],
        )

    def _record_introduction(self, cursor: Cursor[DictRow], first: int, last: int) -> None:
        cursor.execute(
            SQL("INSERT INTO {} VALUES (%s, %s, %s)").format(self.introductions_table),
            (first, last, datetime.now(UTC).isoformat()),
        )


class PostgresChainSnapshot(ChainSnapshot):
    """`ChainSnapshot` on a PostgreSQL connection inside a REPEATABLE READ transaction."""

    def __init__(
        self, conn: Connection[DictRow], recorder: ChainedPostgresApplicationRecorder
    ) -> None:
        self.conn = conn
        self.recorder = recorder
        self.chain = recorder.chain_table
        self.events = recorder.events_table

    def _rows(self, statement: Composed, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor(row_factory=tuple_row) as cursor:
            cursor.execute(statement, params)
            return cursor.fetchall()

    def joined_rows(self, batch: int) -> Iterator[Sequence[JoinedRow]]:
        # A server-side cursor streams the rows in batches inside the snapshot's transaction.
        with self.conn.cursor("lotse_chain_verify", row_factory=tuple_row) as cursor:
            cursor.itersize = batch
            cursor.execute(
                SQL(
                    "SELECT e.notification_id, {}, e.originator_version, e.topic, e.state, "
                    "l.originator_id, l.originator_version, l.previous_hash, l.hash "
                    "FROM {} e LEFT JOIN {} l ON l.notification_id = e.notification_id "
                    "ORDER BY e.notification_id"
                ).format(self.recorder.oid_text("e.originator_id"), self.events, self.chain)
            )
            while rows := cursor.fetchmany(batch):
                yield rows

    def link_count(self) -> int:
        return int(self._rows(SQL("SELECT COUNT(*) FROM {}").format(self.chain))[0][0])

    def orphan_links(self) -> list[Link]:
        rows = self._rows(
            SQL(
                "SELECT * FROM {} l WHERE NOT EXISTS "
                "(SELECT 1 FROM {} e WHERE e.notification_id = l.notification_id) "
                "ORDER BY notification_id"
            ).format(self.chain, self.events)
        )
        return [Link.of(row) for row in rows]

    def stream_versions(self) -> Iterator[tuple[str, int, int]]:
        yield from self._rows(
            SQL(
                "SELECT originator_id, originator_version, notification_id FROM {} "
                "ORDER BY originator_id, originator_version"
            ).format(self.chain)
        )

    def head(self) -> tuple[int, bytes] | None:
        rows = self._rows(
            SQL(
                "SELECT notification_id, hash FROM {} ORDER BY notification_id DESC LIMIT 1"
            ).format(self.chain)
        )
        return (rows[0][0], as_bytes(rows[0][1])) if rows else None

    def link_at(self, notification_id: int) -> Link | None:
        rows = self._rows(
            SQL("SELECT * FROM {} WHERE notification_id = %s").format(self.chain),
            (notification_id,),
        )
        return Link.of(rows[0]) if rows else None

    def introductions(self) -> list[Introduction]:
        rows = self._rows(
            SQL("SELECT * FROM {} ORDER BY first_notification_id").format(
                self.recorder.introductions_table
            )
        )
        return [Introduction(*row) for row in rows]

    def holds_stream(self, originator_id: str) -> bool:
        in_chain = SQL("SELECT 1 FROM {} WHERE originator_id = %s LIMIT 1").format(self.chain)
        in_events = SQL("SELECT 1 FROM {} e WHERE {} = %s LIMIT 1").format(
            self.events, self.recorder.oid_text("e.originator_id")
        )
        return bool(
            self._rows(in_chain, (originator_id,)) or self._rows(in_events, (originator_id,))
        )

    def first_states(self, originator_ids: Iterable[str]) -> dict[str, bytes]:
        wanted = list(originator_ids)
        if self.recorder.datastore.originator_id_type == "uuid":
            wanted = [str(UUID(oid)) for oid in wanted if _is_uuid_hex(oid)]
        rows = self._rows(
            SQL(
                "SELECT {}, state FROM {} e "
                "WHERE e.originator_id::text = ANY(%s) AND e.originator_version = 1"
            ).format(self.recorder.oid_text("e.originator_id"), self.events),
            (wanted,),
        )
        return {oid: as_bytes(state) for oid, state in rows}


def _is_uuid_hex(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


class LotsePostgresFactory(library.PostgresFactory):
    """The library's PostgreSQL factory, whose application recorder chains every event it
    writes (`ChainedPostgresApplicationRecorder`)."""

    application_recorder_class = ChainedPostgresApplicationRecorder


FACTORY_TOPIC = get_topic(LotsePostgresFactory)
"""What `PERSISTENCE_MODULE` says for this store: `domain.postgres_store:LotsePostgresFactory`."""
