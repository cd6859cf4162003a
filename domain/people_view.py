"""The people view: a projection of the person events, one row per person, kept beside the record.

Counting an incident's people by replaying every person's events took 0.7 ms a person (3.5 s at
5,000); the view keeps each person's summary (domain/people_summary.py) in a table, so a reader
reads rows instead. It is a catch-up projection (domain/catch_up.py): it reads the person
events after the view's tracking position from the notification log and writes the changed rows
together with the new position in one transaction. The library's `ProjectionRunner` would need
the store to push new events, which SQLite does not do.

Within a batch, a person whose registration is in the batch is folded in memory from the
events; anybody else is read from the repository at the version of their last event in the
batch. Either way a row is exactly the aggregate at that version, so applying a batch twice
gives the same rows. Two processes catching up at once both read the same position; the first
to write moves it on, and the other's write, which expects the old position, changes nothing
(the other process then reads on from the new position).

Where it lives: a SQLite file beside the event store's file (`people-view.sqlite`, see
`sqlite_view_path`), or two tables in the event store's PostgreSQL database and schema.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from eventsourcing.utils import get_topic

from domain.catch_up import catch_up
from domain.damage import checked
from domain.errors import DamagedRecordError
from domain.people_summary import PersonRow, Summary, next_due, summary_of
from domain.person import PERSON_EVENT_TOPICS, AffectedPerson

log = logging.getLogger("lotse.people_view")

SQLITE_VIEW_FILE = "people-view.sqlite"
BATCH = 1000
"""Person events read and written per transaction."""
REGISTERED_TOPIC = get_topic(AffectedPerson.Registered)  # type: ignore[attr-defined]  # made by @event


@dataclass(frozen=True)
class ViewRow:
    """One person's row as the view stores it. `seq` is the notification id of the person's
    registration (the order of registration); None when the row exists already and keeps its
    own."""

    person_id: UUID
    incident_key: str
    person_ref: str
    seq: int | None
    version: int
    summary: str
    next_due: datetime | None


class ViewOutOfStepError(RuntimeError):
    """A person registered before the view's position has no row: the view does not belong to
    this record (a view file kept while the event store was replaced). Delete it (SQLite) or
    its tables (PostgreSQL) to have it rebuilt."""

    def __init__(self, person_id: UUID) -> None:
        super().__init__(
            f"the people view has no row for person {person_id}, registered before its "
            "position: it does not match the record (delete the view to rebuild it)"
        )


class PeopleViewStore(Protocol):
    """Where the view's rows and its tracking position are kept."""

    def position(self) -> int:
        """The id of the last notification the view has applied (0: none)."""

    def write(self, rows: Sequence[ViewRow], expected: int, position: int) -> bool:
        """In one transaction: move the position from `expected` to `position` and upsert
        `rows`. False, and nothing written, if the position is no longer `expected`."""

    def rows(self, incident_key: str) -> list[PersonRow]:
        """Every person of the incident, in the order of registration."""

    def due_rows(self, incident_key: str, before: datetime) -> list[PersonRow]:
        """The people of the incident with something due before `before`, in that order."""

    def close(self) -> None: ...


class PeopleProjector:
    """Brings a `PeopleViewStore` up to date with the application's notification log."""

    def __init__(
        self,
        store: PeopleViewStore,
        recorder: ApplicationRecorder,
        mapper: Mapper[UUID],
        repository: Repository[UUID],
        get_person: Callable[[UUID, int], AffectedPerson],
    ) -> None:
        self.store = store
        self._recorder = recorder
        self._mapper = mapper
        self._repository = repository
        self._get_person = get_person
        self._lock = threading.Lock()  # one catch-up at a time in this process

    def catch_up(self, batch_size: int = BATCH) -> int:
        """Apply every person event recorded since the view's position; the number applied
        by this call (events another process applied meanwhile are not counted)."""
        with self._lock:
            return catch_up(
                self.store,
                self._recorder.select_notifications,
                PERSON_EVENT_TOPICS,
                self._rows,
                batch_size,
            )

    def _rows(self, batch: Sequence[Notification]) -> list[ViewRow]:
        """The rows of everyone the batch changes; a person whose record cannot be read is
        left out (their row, if any, stays as last read) and logged, so that one damaged
        stream does not stop the view for every incident. Their next event read brings them
        back, once their record reads again."""
        folded: dict[UUID, AffectedPerson | None] = {}
        registered_at: dict[UUID, int] = {}
        last_version: dict[UUID, int] = {}
        damaged: set[UUID] = set()
        for notification in batch:
            person_id = notification.originator_id
            assert isinstance(person_id, UUID)  # the application's ids are UUIDs
            if person_id not in last_version and notification.topic == REGISTERED_TOPIC:
                folded[person_id] = None
                registered_at[person_id] = notification.id
            if person_id in folded and person_id not in damaged:
                try:
                    folded[person_id] = self._fold(folded[person_id], notification)
                except DamagedRecordError as damage:
                    damaged.add(person_id)
                    log.warning("people view: person left out: %s", damage)
            last_version[person_id] = int(notification.originator_version)
        rows = []
        for person_id, version in last_version.items():
            try:
                person = None if person_id in damaged else folded.get(person_id)
                person = person or self._get_person(person_id, version)
            except DamagedRecordError as damage:
                log.warning("people view: person left out: %s", damage)
                continue
            rows.append(_row(person, registered_at.get(person_id), version))
        return rows

    def _fold(self, person: AffectedPerson | None, notification: Notification) -> AffectedPerson:
        """`person` with the notification's event applied, checked as every replay is."""
        event: Any = self._mapper.to_domain_event(notification)
        folded: AffectedPerson = checked(_mutate)(person, [event])
        return folded


def _mutate(person: AffectedPerson | None, events: Any) -> AffectedPerson:
    for event in events:
        person = event.mutate(person)
    assert person is not None  # a registration creates the person
    return person


def _row(person: AffectedPerson, seq: int | None, version: int) -> ViewRow:
    summary = summary_of(person)
    return ViewRow(
        person_id=person.id,
        incident_key=person.incident_key,
        person_ref=person.person_ref,
        seq=seq,
        version=version,
        summary=encode(summary),
        next_due=next_due(summary),
    )


def encode(summary: Summary) -> str:
    return json.dumps(summary, separators=(",", ":"), ensure_ascii=False)


def decode(person_ref: str, text: str) -> PersonRow:
    return PersonRow(person_ref=person_ref, summary=json.loads(text))


def utc_text(moment: datetime) -> str:
    """A moment as SQLite keeps it: UTC, microseconds, so that text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
