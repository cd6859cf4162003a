"""The people view in its own SQLite file beside the event store's (or in memory), opened as
every projection's file is, its position kept as theirs is (domain/view_sqlite.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from domain.people_summary import PersonRow
from domain.people_view import ViewOutOfStepError, ViewRow, decode, utc_text
from domain.view_sqlite import SQLiteTrackedStore

TRACKING_NAME = "people"

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS lotse_people_view (person_id TEXT PRIMARY KEY, "
    "incident_key TEXT NOT NULL, person_ref TEXT NOT NULL, seq INTEGER NOT NULL, "
    "version INTEGER NOT NULL, next_due TEXT, summary TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS lotse_people_view_incident "
    "ON lotse_people_view (incident_key, seq)",
)
UPSERT = (
    "INSERT INTO lotse_people_view "
    "(person_id, incident_key, person_ref, seq, version, next_due, summary) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
    "seq = excluded.seq, version = excluded.version, "
    "next_due = excluded.next_due, summary = excluded.summary"
)
UPDATE = "UPDATE lotse_people_view SET version = ?, next_due = ?, summary = ? WHERE person_id = ?"


class SQLitePeopleView(SQLiteTrackedStore[ViewRow]):
    """`PeopleViewStore` in a SQLite file; `:memory:` keeps it for this process only."""

    schema = SCHEMA
    tracking_table = "lotse_people_view_tracking"
    tracking_name = TRACKING_NAME

    def _insert(self, rows: Sequence[ViewRow]) -> None:
        """New people inserted (or replaced), known ones updated; `ViewOutOfStepError` if one
        is not in the view."""
        self._conn.executemany(UPSERT, [_values(r) for r in rows if r.seq is not None])
        for row in rows:
            if row.seq is None:
                self._update(row)

    def _update(self, row: ViewRow) -> None:
        values = _values(row)
        updated = self._conn.execute(UPDATE, (*values[4:], values[0])).rowcount
        if updated != 1:
            raise ViewOutOfStepError(row.person_id)

    def rows(self, incident_key: str) -> list[PersonRow]:
        found = self._fetch_all(
            "SELECT person_ref, summary FROM lotse_people_view WHERE incident_key = ? ORDER BY seq",
            (incident_key,),
        )
        return [decode(ref, summary) for ref, summary in found]

    def due_rows(self, incident_key: str, before: datetime) -> list[PersonRow]:
        found = self._fetch_all(
            "SELECT person_ref, summary FROM lotse_people_view "
            "WHERE incident_key = ? AND next_due < ? ORDER BY seq",
            (incident_key, utc_text(before)),
        )
        return [decode(ref, summary) for ref, summary in found]


def _values(row: ViewRow) -> tuple[object, ...]:
    return (
        str(row.person_id),
        row.incident_key,
        row.person_ref,
        row.seq,
        row.version,
        utc_text(row.next_due) if row.next_due is not None else None,
        row.summary,
    )
