"""The people view as two tables in the event store's PostgreSQL database and schema
(`POSTGRES_SCHEMA`, default `public`): `lotse_people_view` (one row per person) and
`lotse_people_view_tracking` (the position in the notification log).

Made, pooled and tracked as every projection in PostgreSQL is (domain/view_postgres.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg import Cursor, sql

from domain.people_summary import PersonRow
from domain.people_view import ViewOutOfStepError, ViewRow, decode
from domain.view_postgres import PostgresTrackedStore, table_name

VIEW = "lotse_people_view"
TRACKING = "lotse_people_view_tracking"
TRACKING_NAME = "people"


class PostgresPeopleView(PostgresTrackedStore[ViewRow]):
    """`PeopleViewStore` in PostgreSQL; one small connection pool per application."""

    tracking_table = TRACKING
    tracking_name = TRACKING_NAME

    def __init__(self, conninfo: str, schema: str = "") -> None:
        self._view = table_name(schema, VIEW)
        self._index = sql.Identifier(f"{VIEW}_incident")
        super().__init__(conninfo, schema)

    def _statements(self) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (person_id uuid PRIMARY KEY, "
                "incident_key text NOT NULL, person_ref text NOT NULL, seq bigint NOT NULL, "
                "version integer NOT NULL, next_due timestamptz, summary text NOT NULL)"
            ).format(self._view),
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (incident_key, seq)").format(
                self._index, self._view
            ),
        ]

    def _insert(self, cursor: Cursor[tuple[Any, ...]], rows: Sequence[ViewRow]) -> None:
        """New people inserted (or replaced), known ones updated; `ViewOutOfStepError` if one
        is not in the view."""
        upsert = sql.SQL(
            "INSERT INTO {} (person_id, incident_key, person_ref, seq, version, next_due, "
            "summary) VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (person_id) DO UPDATE "
            "SET seq = excluded.seq, version = excluded.version, next_due = excluded.next_due, "
            "summary = excluded.summary"
        ).format(self._view)
        update = sql.SQL(
            "UPDATE {} SET version = %s, next_due = %s, summary = %s WHERE person_id = %s"
        ).format(self._view)
        cursor.executemany(upsert, [_values(r) for r in rows if r.seq is not None])
        for row in rows:
            if row.seq is None:
                cursor.execute(update, (row.version, row.next_due, row.summary, row.person_id))
                if cursor.rowcount != 1:
                    raise ViewOutOfStepError(row.person_id)

    def rows(self, incident_key: str) -> list[PersonRow]:
        query = sql.SQL(
            "SELECT person_ref, summary FROM {} WHERE incident_key = %s ORDER BY seq"
        ).format(self._view)
        found = self._fetch_all(query, (incident_key,))
        return [decode(ref, summary) for ref, summary in found]

    def due_rows(self, incident_key: str, before: datetime) -> list[PersonRow]:
        query = sql.SQL(
            "SELECT person_ref, summary FROM {} WHERE incident_key = %s AND next_due < %s "
            "ORDER BY seq"
        ).format(self._view)
        found = self._fetch_all(query, (incident_key, before))
        return [decode(ref, summary) for ref, summary in found]


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
