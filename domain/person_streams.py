"""The event streams of one incident's people, read in one pass over the person events of the
notification log (one read per person took 5 ms at 200 people, see `people_of`).

Only registrations and the events of the incident's own people are decoded, so a damaged
stream of another incident's person stops nothing here. A stream of one of the incident's
people that cannot be read — a version missing, a state that does not decode — is a
`DamagedRecordError` naming the person and the version. A registration that cannot be read
names no incident: its person is left out of every incident's reads (the hash chain, `lotse
audit verify`, names the stream).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification
from eventsourcing.utils import get_topic

from domain.damage import check_follows, checked, naming, person_stream
from domain.errors import DamagedRecordError
from domain.person import AffectedPerson

REGISTERED_TOPIC = get_topic(AffectedPerson.Registered)  # type: ignore[attr-defined]  # made by @event


def person_streams(
    notifications: Iterable[Notification], mapper: Mapper[UUID], incident_key: str
) -> dict[UUID, list[Any]]:
    """The events of each person registered for the incident, in the order of registration;
    `DamagedRecordError` naming the first of its people whose stream cannot be read."""
    streams: dict[UUID, list[Any]] = {}
    for notification in notifications:
        stream: Any = notification.originator_id
        if stream in streams:
            events = streams[stream]
            with naming(person_stream(incident_key, person_ref(events))):
                check_follows(notification, events[-1].originator_version)
                events.append(mapper.to_domain_event(notification))
        elif notification.topic == REGISTERED_TOPIC:
            try:
                event: Any = mapper.to_domain_event(notification)
            except DamagedRecordError:
                continue  # names no incident (see above)
            if event.__dict__["incident_key"] == incident_key:
                streams[stream] = [event]
    return streams


def fold_person(incident_key: str, events: list[Any]) -> AffectedPerson:
    """The person after `events` (one stream of `person_streams`); an event that does not apply
    is a `DamagedRecordError` naming the person."""
    with naming(person_stream(incident_key, person_ref(events))):
        person: AffectedPerson = checked(_mutate)(None, events)
    return person


def person_ref(events: list[Any]) -> str:
    """The reference of the person whose stream `events` begins with its registration."""
    return str(events[0].registration.person_ref)


def _mutate(person: Any, events: Iterable[Any]) -> Any:
    for event in events:
        person = event.mutate(person)
    return person
