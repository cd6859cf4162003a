"""The people view as two tables in the event store's PostgreSQL database and schema
(`POSTGRES_SCHEMA`, default `public`): `lotse_people_view` (one row per person) and
`lotse_people_view_tracking` (the position in the notification log).

Made and pooled as every projection in PostgreSQL is (domain/view_postgres.py). Two processes
catching up at once: each moves the position with `UPDATE … WHERE position = expected`; the
second waits for the first's row lock and then finds the position moved, so its transaction
changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from eventsourcing.utils import Environment
from psycopg import sql

from domain.people_summary import PersonRow
from domain.people_view import ViewOutOfStepError, ViewRow, decode
from domain.postgres_target import postgres_target
from domain.view_postgres import create_tables, open_pool, table_name

VIEW = "lotse_people_view"
TRACKING = "lotse_people_view_tracking"
TRACKING_NAME = "people"


class PostgresPeopleView:
    """`PeopleViewStore` in PostgreSQL; one small connection pool per application."""

    def __init__(self, conninfo: str, schema: str = "") -> None:
        self._view = table_name(schema, VIEW)
        self._tracking = table_name(schema, TRACKING)
        self._index = sql.Identifier(f"{VIEW}_incident")
        self._pool = open_pool(conninfo)
        try:
            self._create_tables()
        except BaseException:
            self._pool.close()
            raise

    @classmethod
    def from_env(cls, env: Environment) -> PostgresPeopleView:
        """The database the event store's `POSTGRES_*` settings name."""
        return cls(*postgres_target(env))

    def _create_tables(self) -> None:
        """The view's tables, made if missing (see `create_tables`)."""
        statements = [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (person_id uuid PRIMARY KEY, "
                "incident_key text NOT NULL, person_ref text NOT NULL, seq bigint NOT NULL, "
                "version integer NOT NULL, next_due timestamptz, summary text NOT NULL)"
            ).format(self._view),
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (incident_key, seq)").format(
                self._index, self._view
            ),
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, position bigint NOT NULL)"
            ).format(self._tracking),
        ]
        create_tables(self._pool, statements, self._tracking, TRACKING_NAME)

    def position(self) -> int:
        query = sql.SQL("SELECT position FROM {} WHERE name = %s").format(self._tracking)
        with self._pool.connection() as conn:
            row = conn.execute(query, (TRACKING_NAME,)).fetchone()
        assert row is not None  # inserted with the table
        return int(row[0])

    def write(self, rows: Sequence[ViewRow], expected: int, position: int) -> bool:
        move = sql.SQL("UPDATE {} SET position = %s WHERE name = %s AND position = %s").format(
            self._tracking
        )
        upsert = sql.SQL(
            "INSERT INTO {} (person_id, incident_key, person_ref, seq, version, next_due, "
            "summary) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (person_id) DO UPDATE "
            "SET seq = excluded.seq, version = excluded.version, next_due = excluded.next_due, "
            "summary = excluded.summary"
        ).format(self._view)
        update = sql.SQL(
            "UPDATE {} SET version = %s, next_due = %s, summary = %s WHERE person_id = %s"
        ).format(self._view)
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
            cursor.execute(move, (position, TRACKING_NAME, expected))
            if cursor.rowcount != 1:
                return False  # leaving the block commits nothing written
            cursor.executemany(upsert, [_values(r) for r in rows if r.seq is not None])
            for row in rows:
                if row.seq is None:
                    values = (row.version, row.next_due, row.summary, row.person_id)
                    cursor.execute(update, values)
                    if cursor.rowcount != 1:
                        raise ViewOutOfStepError(row.person_id)
        return True

    def rows(self, incident_key: str) -> list[PersonRow]:
        query = sql.SQL(
            "SELECT person_ref, summary FROM {} WHERE incident_key = %s ORDER BY seq"
        ).format(self._view)
        with self._pool.connection() as conn:
            found = conn.execute(query, (incident_key,)).fetchall()
        return [decode(ref, summary) for ref, summary in found]

    def due_rows(self, incident_key: str, before: datetime) -> list[PersonRow]:
        query = sql.SQL(
            "SELECT person_ref, summary FROM {} WHERE incident_key = %s AND next_due < %s "
            "ORDER BY seq"
        ).format(self._view)
        with self._pool.connection() as conn:
            found = conn.execute(query, (incident_key, before)).fetchall()
        return [decode(ref, summary) for ref, summary in found]

    def close(self) -> None:
        self._pool.close()


def _values(row: ViewRow) -> tuple[object, ...]:
    return (
        row.person_id,
        row.incident_key,
        row.person_ref,
        row.seq,
        row.version,
        row.next_due,
        row.summary,
    )
