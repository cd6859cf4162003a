"""The timeline: every step of an incident and of its people, in record order, with who did it,
for whom, over which channel, when it happened and when it was recorded, and the incident's
phase then.

Audit reads of the incident (domain/audit_reads.py) are steps of it too: an `AuditRead` row
names the auditor and what was read. A refusal (`ActionRefused`) of a case's action names its
person.

A catch-up projection (domain/catch_up.py) of the incident, person and audit-read events, kept
beside the record: a SQLite file beside the event store's file (`timeline.sqlite`), or two
tables in the event store's PostgreSQL schema. One row per event, keyed by its notification id,
written in the same transaction as the tracking position, so each event is applied exactly once
and a catch-up stopped midway resumes after its last written batch.

The phase of a row is the incident's phase once the step was recorded (`alerting` for the
declaration, `awaiting-reflection` for `AcutePhaseClosed`); a person's step, and an audit read,
has the phase of the incident's last step before it. Rows are pseudonymous: person references,
partner ids and staff references, never contact data (`contact`, `sealed` are left out).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.utils import get_topic

from domain.audit_reads import AUDIT_READ_TOPIC
from domain.catch_up import catch_up
from domain.history import history_entry
from domain.incident import Incident
from domain.person import PERSON_EVENT_TOPICS, AffectedPerson

SQLITE_TIMELINE_FILE = "timeline.sqlite"
BATCH = 1000
"""Events read and written per transaction."""
INCIDENT_EVENT_TOPICS = [
    get_topic(value)
    for name, value in vars(Incident).items()
    if isinstance(value, type) and issubclass(value, AggregateEvent) and name not in vars(Aggregate)
]
TIMELINE_TOPICS = [*INCIDENT_EVENT_TOPICS, *PERSON_EVENT_TOPICS, AUDIT_READ_TOPIC]
AUDIT_READ_EVENT = "AuditRead"
"""The event name of an audit read's row (its stored event is `AuditRead.Recorded`)."""
REGISTERED_TOPIC = get_topic(AffectedPerson.Registered)  # type: ignore[attr-defined]  # made by @event
LEFT_OUT = frozenset(
    {"incident_key", "message_id", "agreement_key", "contact", "sealed", "command_id"}
)
"""Details a row never holds: repeated in the row, internal, or contact data."""


@dataclass(frozen=True)
class TimelineRow:
    """One step. `seq` is its notification id (the record's order); `person_ref` is None for
    a step of the incident itself."""

    seq: int
    incident_key: str
    originator_id: UUID
    person_ref: str | None
    version: int
    event: str
    recorded_at: datetime
    business_time: datetime
    partner_id: str
    staff_ref: str
    on_behalf_of: str | None
    channel: str
    phase: str
    details: str
    """The event's own facts as JSON (see `LEFT_OUT`)."""

    def facts(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.details)
        return found


class TimelineOutOfStepError(RuntimeError):
    """A step of a person or incident whose beginning the timeline does not hold: the
    timeline does not belong to this record. Delete it (SQLite) or its tables (PostgreSQL)
    to have it rebuilt."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the timeline holds no beginning of {what}, recorded before its position: it "
            "does not match the record (delete the timeline to rebuild it)"
        )


class TimelineStore(Protocol):
    """Where the timeline's rows and its tracking position are kept."""

    def position(self) -> int:
        """The id of the last notification the timeline has applied (0: none)."""

    def write(self, rows: Sequence[TimelineRow], expected: int, position: int) -> bool:
        """In one transaction: move the position from `expected` to `position` and insert
        `rows`. False, and nothing written, if the position is no longer `expected`."""

    def last_phase(self, incident_key: str) -> str | None:
        """The phase of the incident's last step held (None: none held)."""

    def person(self, person_id: UUID) -> tuple[str, str] | None:
        """The incident and reference of a person whose registration is held."""

    def rows(
        self, incident_key: str, partner: str | None = None, phase: str | None = None
    ) -> list[TimelineRow]:
        """The incident's steps in record order; with `partner`, those its staff took or that
        were recorded on its behalf; with `phase`, those of that phase."""

    def close(self) -> None: ...


IncidentAt = Callable[[UUID, int], Incident]
"""The incident with this id at this version, rebuilt from the record."""


class TimelineProjector:
    """Brings a `TimelineStore` up to date with the application's notification log.

    Keeps the incidents it folded in memory, so that a step's phase costs one event applied;
    an incident it has not followed (a restart, another process's batches) is rebuilt once
    at the version before the step."""

    def __init__(
        self,
        store: TimelineStore,
        recorder: ApplicationRecorder,
        mapper: Mapper[UUID],
        incident_at: IncidentAt,
    ) -> None:
        self.store = store
        self._recorder = recorder
        self._mapper = mapper
        self._incident_at = incident_at
        self._incidents: dict[UUID, Incident] = {}
        self._people: dict[UUID, tuple[str, str]] = {}
        self._lock = threading.Lock()  # one catch-up at a time in this process

    def catch_up(self, batch_size: int = BATCH) -> int:
        """Apply every incident and person event recorded since the timeline's position; the
        number applied by this call."""
        with self._lock:
            return catch_up(
                self.store,
                self._recorder.select_notifications,
                TIMELINE_TOPICS,
                self._rows,
                batch_size,
            )

    def _rows(self, batch: Sequence[Notification]) -> list[TimelineRow]:
        phases: dict[str, str] = {}  # the incidents' phases at this point of the batch
        rows = []
        for notification in batch:
            event: Any = self._mapper.to_domain_event(notification)
            name = None
            if notification.topic == AUDIT_READ_TOPIC:
                if event.incident_key is None:
                    continue  # a read of the whole record (verify): no incident's step
                incident_key, person_ref, name = event.incident_key, None, AUDIT_READ_EVENT
                phase = self._phase_before(phases, incident_key)
            elif notification.topic in PERSON_EVENT_TOPICS:
                incident_key, person_ref = self._person_of(event, notification.topic)
                phase = self._phase_before(phases, incident_key)
            else:
                incident = self._incident_after(event)
                # A refusal of a case's action names the person it was about.
                incident_key, person_ref = incident.incident_key, getattr(event, "person_ref", None)
                phase = str(incident.phase)
            phases[incident_key] = phase
            rows.append(_row(notification.id, event, incident_key, person_ref, phase, name))
        return rows

    def _phase_before(self, phases: dict[str, str], incident_key: str) -> str:
        """The incident's phase at its last step before this one, in the batch or stored."""
        phase = phases.get(incident_key) or self.store.last_phase(incident_key)
        if phase is None:
            raise TimelineOutOfStepError(f"incident '{incident_key}'")
        return phase

    def _incident_after(self, event: Any) -> Incident:
        """The incident once `event` is applied, folded on from the one kept."""
        incident_id: UUID = event.originator_id
        version: int = event.originator_version
        before = self._incidents.get(incident_id)
        if version == 1:
            before = None
        elif before is None or before.version != version - 1:
            before = self._incident_at(incident_id, version - 1)
        after: Incident = event.mutate(before)
        self._incidents[incident_id] = after
        return after

    def _person_of(self, event: Any, topic: str) -> tuple[str, str]:
        person_id: UUID = event.originator_id
        if topic == REGISTERED_TOPIC:
            self._people[person_id] = (event.incident_key, event.registration.person_ref)
        found = self._people.get(person_id) or self.store.person(person_id)
        if found is None:
            raise TimelineOutOfStepError(f"person {person_id}")
        self._people[person_id] = found
        return found


def _row(
    seq: int,
    event: Any,
    incident_key: str,
    person_ref: str | None,
    phase: str,
    name: str | None = None,
) -> TimelineRow:
    entry = history_entry(event)
    ctx = entry.ctx
    return TimelineRow(
        seq=seq,
        incident_key=incident_key,
        originator_id=event.originator_id,
        person_ref=person_ref,
        version=entry.version,
        event=name or entry.event,
        recorded_at=entry.recorded_at,
        business_time=ctx.business_time,
        partner_id=ctx.actor.partner_id,
        staff_ref=ctx.actor.staff_ref,
        on_behalf_of=ctx.on_behalf_of,
        channel=str(ctx.channel),
        phase=phase,
        details=json.dumps(facts_of(entry.details), ensure_ascii=False, separators=(",", ":")),
    )


def facts_of(details: dict[str, Any]) -> dict[str, Any]:
    """An event's own facts for the timeline: without `LEFT_OUT`, empty values, and the
    person reference already in the row; the fields of a registration, a referral's target and
    a consent's scope flattened into the rest."""
    facts: dict[str, Any] = {}
    for key, value in details.items():
        if key in LEFT_OUT or value is None or value in ("", [], {}):
            continue
        if key == "options" and isinstance(value, dict):  # an audit read's: as typed
            facts[key] = " ".join(f"{name} {given}" for name, given in value.items())
            continue
        if key in ("registration", "target", "scope") and isinstance(value, dict):
            facts |= {k: v for k, v in value.items() if k != "person_ref"}
        else:
            facts[key] = value
    return facts
