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

A damaged stream (domain/damage.py) stops nothing else: the projector checks that each stream's
versions follow one another and that each event reads; at the first one that does not, it keeps
a `TimelineDamage` for the stream instead of a row, leaves out that event and every later one of
the stream, and goes on with the others. The damaged incident's timeline then says where.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import Aggregate, AggregateEvent
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.utils import get_topic

from domain import ids
from domain.audit_reads import AUDIT_READ_TOPIC
from domain.catch_up import catch_up
from domain.damage import check_follows, checked, person_stream
from domain.errors import DamagedRecordError
from domain.history import history_entry
from domain.incident import Incident
from domain.person import PERSON_EVENT_TOPICS, AffectedPerson

log = logging.getLogger(__name__)
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


@dataclass(frozen=True)
class TimelineDamage:
    """A stream the timeline could read only up to `version` (excluded): its events from there
    on are left out. `seq` is the notification at which the damage was met; `incident_key` is
    '' when the stream's first event could not be read, so the timeline cannot tell whose it is
    (an incident's own stream is still found by its id)."""

    seq: int
    originator_id: UUID
    incident_key: str
    person_ref: str | None
    version: int
    problem: str

    def error(self) -> DamagedRecordError:
        """The damage as the error a read of the stream itself gives."""
        if self.person_ref is not None:
            stream: str | None = person_stream(self.incident_key, self.person_ref)
        else:
            stream = f"incident '{self.incident_key}'" if self.incident_key else None
        return DamagedRecordError(self.originator_id, self.version, self.problem, stream)


Written = TimelineRow | TimelineDamage
"""What one event read gives the timeline: a row, or the damage that ends its stream there."""


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

    def write(self, rows: Sequence[Written], expected: int, position: int) -> bool:
        """In one transaction: move the position from `expected` to `position` and insert
        `rows` and damages. False, and nothing written, if the position is no longer
        `expected`."""

    def last_phase(self, incident_key: str) -> str | None:
        """The phase of the incident's last step held (None: none held)."""

    def begun(self, originator_id: UUID) -> tuple[str, str | None] | None:
        """The incident and person reference (None: the incident's own stream) of a stream
        whose first step is held."""

    def seen(self, originator_id: UUID) -> tuple[int, bool]:
        """The last version of the stream held as a row (0: none) and whether the stream is
        held as damaged."""

    def damages(self, incident_key: str, incident_id: UUID) -> list[TimelineDamage]:
        """The damaged streams of the incident (its own, found by `incident_id` too, and its
        people's), in the order they were met."""

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
        self._versions: dict[UUID, int] = {}  # the last version applied, per stream
        self._damaged: set[UUID] = set()  # streams held as damaged
        self._lock = threading.Lock()  # one catch-up at a time in this process

    def catch_up(self, batch_size: int = BATCH) -> int:
        """Apply every incident and person event recorded since the timeline's position; the
        number applied by this call."""
        with self._lock:
            try:
                return catch_up(
                    self.store,
                    self._recorder.select_notifications,
                    TIMELINE_TOPICS,
                    self._rows,
                    batch_size,
                )
            except BaseException:
                # The batch that failed was not written: forget what it taught, so that the
                # versions and damages kept are never ahead of the store.
                self._versions.clear()
                self._damaged.clear()
                raise

    def _rows(self, batch: Sequence[Notification]) -> list[Written]:
        phases: dict[str, str] = {}  # the incidents' phases at this point of the batch
        written: list[Written] = []
        for notification in batch:
            stream = notification.originator_id
            assert isinstance(stream, UUID)  # the application's ids are UUIDs
            if not self._follows(stream, notification.originator_version):
                continue
            try:
                row = self._row_of(notification, phases)
            except DamagedRecordError as damage:
                written.append(self._left_out(notification.id, stream, damage))
                continue
            self._versions[stream] = notification.originator_version
            if row is not None:
                written.append(row)
        return written

    def _follows(self, stream: UUID, version: int) -> bool:
        """False for a stream held as damaged (its later events are left out). Otherwise makes
        sure `_versions` holds the stream's last version applied, from the store when this
        process has not followed the stream (a restart, another process's batches)."""
        if stream in self._damaged:
            return False
        last = self._versions.get(stream, 0)
        if last != version - 1 and version > 1:
            # This batch's own rows are not stored yet, another process's may be: the later.
            held, damaged = self.store.seen(stream)
            if damaged:
                self._damaged.add(stream)
                return False
            last = max(last, held)
        self._versions[stream] = last
        return True

    def _row_of(self, notification: Notification, phases: dict[str, str]) -> TimelineRow | None:
        """The row of one event (None for a read of the whole record, which is no step of an
        incident); `DamagedRecordError` if it or its stream cannot be read."""
        stream: Any = notification.originator_id
        check_follows(notification, self._versions[stream])
        event: Any = self._mapper.to_domain_event(notification)
        name = None
        if notification.topic == AUDIT_READ_TOPIC:
            if event.incident_key is None:
                return None  # a read of the whole record (verify): no incident's step
            incident_key, person_ref, name = event.incident_key, None, AUDIT_READ_EVENT
            phase = phases.get(incident_key) or self._last_phase(incident_key)
        elif notification.topic in PERSON_EVENT_TOPICS:
            incident_key, person_ref = self._person_of(event, notification.topic)
            phase = phases.get(incident_key) or self._last_phase(incident_key)
        else:
            incident = self._incident_after(event)
            # A refusal of a case's action names the person it was about.
            incident_key, person_ref = incident.incident_key, getattr(event, "person_ref", None)
            phase = str(incident.phase)
        phases[incident_key] = phase
        return _row(notification.id, event, incident_key, person_ref, phase, name)

    def _last_phase(self, incident_key: str) -> str:
        """The phase of the incident's last step held; '' (not known) when the incident's own
        stream is damaged before any step of it was held."""
        phase = self.store.last_phase(incident_key)
        if phase is not None:
            return phase
        incident_id = ids.incident_id(incident_key)
        if incident_id in self._damaged or self.store.seen(incident_id)[1]:
            return ""
        raise TimelineOutOfStepError(f"incident '{incident_key}'")

    def _left_out(self, seq: int, stream: UUID, damage: DamagedRecordError) -> TimelineDamage:
        """The damage that ends `stream` in the timeline, named by what the timeline knows of
        the stream; logged, as the people view logs a person it leaves out."""
        self._damaged.add(stream)
        incident_key, person_ref = self._owner_of(stream)
        found = TimelineDamage(
            seq, stream, incident_key, person_ref, damage.version, damage.problem
        )
        log.warning("timeline: stream left out from here on: %s", found.error())
        return found

    def _owner_of(self, stream: UUID) -> tuple[str, str | None]:
        """The incident key and person reference of a stream ('' and None if not known)."""
        if stream in self._incidents:
            return self._incidents[stream].incident_key, None
        if stream in self._people:
            return self._people[stream]
        return self.store.begun(stream) or ("", None)

    def _incident_after(self, event: Any) -> Incident:
        """The incident once `event` is applied, folded on from the one kept."""
        incident_id: UUID = event.originator_id
        version: int = event.originator_version
        before = self._incidents.get(incident_id)
        if version == 1:
            before = None
        elif before is None or before.version != version - 1:
            before = self._incident_at(incident_id, version - 1)
        after: Incident = checked(_mutate)(before, [event])
        self._incidents[incident_id] = after
        return after

    def _person_of(self, event: Any, topic: str) -> tuple[str, str]:
        person_id: UUID = event.originator_id
        if topic == REGISTERED_TOPIC:
            self._people[person_id] = (event.incident_key, event.registration.person_ref)
        found = self._people.get(person_id)
        if found is None:
            begun = self.store.begun(person_id)
            if begun is None or begun[1] is None:
                raise TimelineOutOfStepError(f"person {person_id}")
            found = (begun[0], begun[1])
        self._people[person_id] = found
        return found


def _mutate(incident: Incident | None, events: Any) -> Incident:
    for event in events:
        incident = event.mutate(incident)
    assert incident is not None  # a declaration creates the incident
    return incident


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
