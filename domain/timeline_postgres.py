"""The timeline as two tables in the event store's PostgreSQL database and schema
(`POSTGRES_SCHEMA`, default `public`): `lotse_timeline` (one row per step) and
`lotse_timeline_tracking` (the position in the notification log), made, pooled and tracked as
every projection in PostgreSQL is (domain/view_postgres.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg import Cursor, sql

from domain.timeline import TimelineDamage, TimelineRow, Written
from domain.view_postgres import PostgresTrackedStore, table_name

TIMELINE = "lotse_timeline"
TRACKING = "lotse_timeline_tracking"
DAMAGE = "lotse_timeline_damage"
DAMAGE_COLUMNS = "seq, originator_id, incident_key, person_ref, version, problem"
TRACKING_NAME = "timeline"
COLUMNS = (
    "seq, incident_key, originator_id, person_ref, version, event, recorded_at, business_time, "
    "partner_id, staff_ref, on_behalf_of, channel, phase, details"
)


class PostgresTimeline(PostgresTrackedStore[Written]):
    """`TimelineStore` in PostgreSQL; one small connection pool per application."""

    tracking_table = TRACKING
    tracking_name = TRACKING_NAME

    def __init__(self, conninfo: str, schema: str = "") -> None:
        self._timeline = table_name(schema, TIMELINE)
        self._damage = table_name(schema, DAMAGE)
        super().__init__(conninfo, schema)

    def _statements(self) -> list[sql.Composed]:
        return [
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (seq bigint PRIMARY KEY, "
                "incident_key text NOT NULL, originator_id uuid NOT NULL, person_ref text, "
                "version integer NOT NULL, event text NOT NULL, "
                "recorded_at timestamptz NOT NULL, business_time timestamptz NOT NULL, "
                "partner_id text NOT NULL, staff_ref text NOT NULL, on_behalf_of text, "
                "channel text NOT NULL, phase text NOT NULL, details text NOT NULL)"
            ).format(self._timeline),
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (incident_key, seq)").format(
                sql.Identifier(f"{TIMELINE}_incident"), self._timeline
            ),
            # The incident's own steps, read backwards for the phase a person's step happened in.
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {} ON {} (incident_key, seq) WHERE person_ref IS NULL"
            ).format(sql.Identifier(f"{TIMELINE}_phase"), self._timeline),
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (originator_id, version)").format(
                sql.Identifier(f"{TIMELINE}_originator"), self._timeline
            ),
            # A stream left out from `version` on (domain/timeline.py, TimelineDamage).
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (originator_id uuid PRIMARY KEY, "
                "seq bigint NOT NULL, incident_key text NOT NULL, person_ref text, "
                "version integer NOT NULL, problem text NOT NULL)"
            ).format(self._damage),
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (incident_key)").format(
                sql.Identifier(f"{DAMAGE}_incident"), self._damage
            ),
        ]

    def _insert(self, cursor: Cursor[tuple[Any, ...]], rows: Sequence[Written]) -> None:
        """The rows and damages of one batch, inside `write`'s transaction."""
        insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
            self._timeline, sql.SQL(COLUMNS), sql.SQL(", ").join([sql.Placeholder()] * 14)
        )
        steps = [_values(row) for row in rows if isinstance(row, TimelineRow)]
        if steps:
            cursor.executemany(insert, steps)
        damages = [_damage_values(found) for found in rows if isinstance(found, TimelineDamage)]
        if damages:
            insert_damage = sql.SQL(
                "INSERT INTO {} ({}) VALUES (%s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (originator_id) DO NOTHING"
            ).format(self._damage, sql.SQL(DAMAGE_COLUMNS))
            cursor.executemany(insert_damage, damages)

    def last_phase(self, incident_key: str) -> str | None:
        query = sql.SQL(
            "SELECT phase FROM {} WHERE incident_key = %s AND person_ref IS NULL "
            "ORDER BY seq DESC LIMIT 1"
        ).format(self._timeline)
        row = self._fetch_one(query, (incident_key,))
        return None if row is None else str(row[0])

    def begun(self, originator_id: UUID) -> tuple[str, str | None] | None:
        query = sql.SQL(
            "SELECT incident_key, person_ref FROM {} WHERE originator_id = %s AND version = 1"
        ).format(self._timeline)
        row = self._fetch_one(query, (originator_id,))
        return None if row is None else (str(row[0]), None if row[1] is None else str(row[1]))

    def seen(self, originator_id: UUID) -> tuple[int, bool]:
        query = sql.SQL(
            "SELECT (SELECT MAX(version) FROM {} WHERE originator_id = %s), "
            "EXISTS (SELECT 1 FROM {} WHERE originator_id = %s)"
        ).format(self._timeline, self._damage)
        row = self._fetch_one(query, (originator_id, originator_id))
        assert row is not None  # one row, always
        return int(row[0] or 0), bool(row[1])

    def damages(self, incident_key: str, incident_id: UUID) -> list[TimelineDamage]:
        query = sql.SQL(
            "SELECT {} FROM {} WHERE incident_key = %s OR originator_id = %s ORDER BY seq"
        ).format(sql.SQL(DAMAGE_COLUMNS), self._damage)
        found = self._fetch_all(query, (incident_key, incident_id))
        return [TimelineDamage(*row) for row in found]

    def rows(
        self, incident_key: str, partner: str | None = None, phase: str | None = None
    ) -> list[TimelineRow]:
        conditions = [sql.SQL("incident_key = %s")]
        values: list[object] = [incident_key]
        if partner is not None:
            conditions.append(sql.SQL("(partner_id = %s OR on_behalf_of = %s)"))
            values += [partner, partner]
        if phase is not None:
            conditions.append(sql.SQL("phase = %s"))
            values.append(phase)
        query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY seq").format(
            sql.SQL(COLUMNS), self._timeline, sql.SQL(" AND ").join(conditions)
        )
        found = self._fetch_all(query, values)
        return [TimelineRow(*row) for row in found]


def _damage_values(found: TimelineDamage) -> tuple[object, ...]:
    return (
        found.seq,
        found.originator_id,
        found.incident_key,
        found.person_ref,
        found.version,
        found.problem,
    )


def _values(row: TimelineRow) -> tuple[object, ...]:
    return (
        row.seq,
        row.incident_key,
        row.originator_id,
        row.person_ref,
        row.version,
        row.event,
        row.recorded_at,
        row.business_time,
        row.partner_id,
        row.staff_ref,
        row.on_behalf_of,
        row.channel,
        row.phase,
        row.details,
    )
