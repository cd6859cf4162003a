"""The timeline in its own SQLite file beside the event store's (or in memory), opened as every
projection's file is (domain/view_sqlite.py). Times are kept as UTC text with microseconds.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from domain.people_view import utc_text
from domain.timeline import TimelineDamage, TimelineRow, Written
from domain.view_sqlite import open_view_file

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
    "CREATE TABLE IF NOT EXISTS lotse_timeline_tracking "
    "(name TEXT PRIMARY KEY, position INTEGER NOT NULL)",
    f"INSERT INTO lotse_timeline_tracking (name, position) VALUES ('{TRACKING_NAME}', 0) "
    "ON CONFLICT (name) DO NOTHING",
)
INSERT = f"INSERT INTO lotse_timeline ({COLUMNS}) VALUES ({', '.join('?' * 14)})"
DAMAGE_COLUMNS = "seq, originator_id, incident_key, person_ref, version, problem"
INSERT_DAMAGE = (
    f"INSERT INTO lotse_timeline_damage ({DAMAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (originator_id) DO NOTHING"
)


class SQLiteTimeline:
    """`TimelineStore` in a SQLite file; `:memory:` keeps it for this process only."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = open_view_file(path, SCHEMA)

    def position(self) -> int:
        with self._lock:
            row = self._conn.execute(
                "SELECT position FROM lotse_timeline_tracking WHERE name = ?", (TRACKING_NAME,)
            ).fetchone()
        return int(row[0])

    def write(self, rows: Sequence[Written], expected: int, position: int) -> bool:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                moved = self._conn.execute(
                    "UPDATE lotse_timeline_tracking SET position = ? "
                    "WHERE name = ? AND position = ?",
                    (position, TRACKING_NAME, expected),
                ).rowcount
                if moved != 1:
                    self._conn.execute("ROLLBACK")
                    return False
                self._insert(rows)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return True

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
        with self._lock:
            row = self._conn.execute(
                "SELECT phase FROM lotse_timeline WHERE incident_key = ? AND person_ref IS NULL "
                "ORDER BY seq DESC LIMIT 1",
                (incident_key,),
            ).fetchone()
        return None if row is None else str(row[0])

    def begun(self, originator_id: UUID) -> tuple[str, str | None] | None:
        with self._lock:
            row = self._conn.execute(
                "SELECT incident_key, person_ref FROM lotse_timeline "
                "WHERE originator_id = ? AND version = 1",
                (str(originator_id),),
            ).fetchone()
        return None if row is None else (str(row[0]), None if row[1] is None else str(row[1]))

    def seen(self, originator_id: UUID) -> tuple[int, bool]:
        stream = str(originator_id)
        with self._lock:
            last, damaged = self._conn.execute(
                "SELECT (SELECT MAX(version) FROM lotse_timeline WHERE originator_id = ?), "
                "EXISTS (SELECT 1 FROM lotse_timeline_damage WHERE originator_id = ?)",
                (stream, stream),
            ).fetchone()
        return int(last or 0), bool(damaged)

    def damages(self, incident_key: str, incident_id: UUID) -> list[TimelineDamage]:
        with self._lock:
            found = self._conn.execute(
                f"SELECT {DAMAGE_COLUMNS} FROM lotse_timeline_damage "
                "WHERE incident_key = ? OR originator_id = ? ORDER BY seq",
                (incident_key, str(incident_id)),
            ).fetchall()
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
        with self._lock:
            found = self._conn.execute(query + " ORDER BY seq", values).fetchall()
        return [_row(values) for values in found]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


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
