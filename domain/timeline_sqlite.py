"""The timeline in its own SQLite file beside the event store's (or in memory), opened as every
projection's file is, its position kept as theirs is (domain/view_sqlite.py). Times are kept as
UTC text with microseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from domain.people_view import utc_text
from domain.timeline import TimelineDamage, TimelineRow, Written
from domain.view_sqlite import SQLiteTrackedStore

TRACKING_NAME = "timeline"
COLUMNS = (
    "seq, incident_key, originator_id, person_ref, version, event, recorded_at, business_time, "
    "partner_id, staff_ref, on_behalf_of, channel, phase, details"
)
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS lotse_timeline (seq INTEGER PRIMARY KEY, "
    "incident_key TEXT NOT NULL, originator_id TEXT NOT NULL, person_ref TEXT, "
    "version INTEGER NOT NULL, event TEXT NOT NULL, recorded_at TEXT NOT NULL, "
    "business_time TEXT NOT NULL, partner_id TEXT NOT NULL, staff_ref TEXT NOT NULL, "
    "on_behalf_of TEXT, channel TEXT NOT NULL, phase TEXT NOT NULL, details TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS lotse_timeline_incident ON lotse_timeline (incident_key, seq)",
    # The incident's own steps, read backwards for the phase a person's step happened in.
    "CREATE INDEX IF NOT EXISTS lotse_timeline_phase ON lotse_timeline (incident_key, seq) "
    "WHERE person_ref IS NULL",
    "CREATE INDEX IF NOT EXISTS lotse_timeline_originator "
    "ON lotse_timeline (originator_id, version)",
    # A stream left out from `version` on (domain/timeline.py, TimelineDamage).
    "CREATE TABLE IF NOT EXISTS lotse_timeline_damage (originator_id TEXT PRIMARY KEY, "
    "seq INTEGER NOT NULL, incident_key TEXT NOT NULL, person_ref TEXT, "
    "version INTEGER NOT NULL, problem TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS lotse_timeline_damage_incident "
    "ON lotse_timeline_damage (incident_key)",
)
INSERT = f"INSERT INTO lotse_timeline ({COLUMNS}) VALUES ({', '.join('?' * 14)})"
DAMAGE_COLUMNS = "seq, originator_id, incident_key, person_ref, version, problem"
INSERT_DAMAGE = (
    f"INSERT INTO lotse_timeline_damage ({DAMAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (originator_id) DO NOTHING"
)


class SQLiteTimeline(SQLiteTrackedStore[Written]):
    """`TimelineStore` in a SQLite file; `:memory:` keeps it for this process only."""

    schema = SCHEMA
    tracking_table = "lotse_timeline_tracking"
    tracking_name = TRACKING_NAME

    def _insert(self, rows: Sequence[Written]) -> None:
        """The rows and damages of one batch, inside `write`'s transaction."""
        self._conn.executemany(
            INSERT, [_values(row) for row in rows if isinstance(row, TimelineRow)]
        )
        self._conn.executemany(
            INSERT_DAMAGE,
            [_damage_values(found) for found in rows if isinstance(found, TimelineDamage)],
        )

    def last_phase(self, incident_key: str) -> str | None:
        row = self._fetch_one(
            "SELECT phase FROM lotse_timeline WHERE incident_key = ? AND person_ref IS NULL "
            "ORDER BY seq DESC LIMIT 1",
            (incident_key,),
        )
        return None if row is None else str(row[0])

    def begun(self, originator_id: UUID) -> tuple[str, str | None] | None:
        row = self._fetch_one(
            "SELECT incident_key, person_ref FROM lotse_timeline "
            "WHERE originator_id = ? AND version = 1",
            (str(originator_id),),
        )
        return None if row is None else (str(row[0]), None if row[1] is None else str(row[1]))

    def seen(self, originator_id: UUID) -> tuple[int, bool]:
        stream = str(originator_id)
        last, damaged = self._fetch_one(
            "SELECT (SELECT MAX(version) FROM lotse_timeline WHERE originator_id = ?), "
            "EXISTS (SELECT 1 FROM lotse_timeline_damage WHERE originator_id = ?)",
            (stream, stream),
        )
        return int(last or 0), bool(damaged)

    def damages(self, incident_key: str, incident_id: UUID) -> list[TimelineDamage]:
        found = self._fetch_all(
            f"SELECT {DAMAGE_COLUMNS} FROM lotse_timeline_damage "
            "WHERE incident_key = ? OR originator_id = ? ORDER BY seq",
            (incident_key, str(incident_id)),
        )
        return [
            TimelineDamage(
                seq=int(seq),
                originator_id=UUID(str(originator)),
                incident_key=str(key),
                person_ref=None if ref is None else str(ref),
                version=int(version),
                problem=str(problem),
            )
            for seq, originator, key, ref, version, problem in found
        ]

    def rows(
        self, incident_key: str, partner: str | None = None, phase: str | None = None
    ) -> list[TimelineRow]:
        query = f"SELECT {COLUMNS} FROM lotse_timeline WHERE incident_key = ?"
        values: list[object] = [incident_key]
        if partner is not None:
            query += " AND (partner_id = ? OR on_behalf_of = ?)"
            values += [partner, partner]
        if phase is not None:
            query += " AND phase = ?"
            values.append(phase)
        found = self._fetch_all(query + " ORDER BY seq", values)
        return [_row(values) for values in found]


def _values(row: TimelineRow) -> tuple[object, ...]:
    return (
        row.seq,
        row.incident_key,
        str(row.originator_id),
        row.person_ref,
        row.version,
        row.event,
        utc_text(row.recorded_at),
        utc_text(row.business_time),
        row.partner_id,
        row.staff_ref,
        row.on_behalf_of,
        row.channel,
        row.phase,
        row.details,
    )


def _damage_values(found: TimelineDamage) -> tuple[object, ...]:
    return (
        found.seq,
        str(found.originator_id),
        found.incident_key,
        found.person_ref,
        found.version,
        found.problem,
    )


def _row(values: tuple[object, ...]) -> TimelineRow:
    seq, incident, originator, ref, version, event, recorded, business, *rest = values
    partner, staff, behalf, channel, phase, details = rest
    return TimelineRow(
        seq=int(str(seq)),
        incident_key=str(incident),
        originator_id=UUID(str(originator)),
        person_ref=None if ref is None else str(ref),
        version=int(str(version)),
        event=str(event),
        recorded_at=datetime.fromisoformat(str(recorded)),
        business_time=datetime.fromisoformat(str(business)),
        partner_id=str(partner),
        staff_ref=str(staff),
        on_behalf_of=None if behalf is None else str(behalf),
        channel=str(channel),
        phase=str(phase),
        details=str(details),
    )
