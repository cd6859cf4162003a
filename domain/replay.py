"""Point-in-time replay: an incident as the record held it at a version or at a moment, with its
people, the agreement and the directory of support offers in force then.

Which time counts: each event's timestamp in the record (`recorded_at`, UTC), taken when the
command made the event, just before it was stored — not the business time the step names. The
events one command recorded together (a withdrawal with the referrals it ends, a load of the
agreement) count as one step at the time of their last event, so a moment never shows half a
command. At a moment, each aggregate (the incident, each person, the agreement, the directory)
stands at its last step recorded at or before it. At `--version N` the incident stands at its
aggregate version N exactly, and everything else at the moment event N was recorded.

Read-only: nothing is written, not even a projection, and Temporal is not asked.

A damaged record: every stream the replay reads (the incident, each of its people, the agreement,
the directory) is checked as every read of the record is (domain/damage.py); one that cannot be
read is one `DamagedRecordError` naming it and the version. Another incident's damaged people
are never decoded, so they change nothing here (domain/person_streams.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import Mapper, Notification
from pydantic import BaseModel, ConfigDict

from contracts.vocabulary import cli_time
from domain import ids
from domain.agreement import Agreement
from domain.application import LotseApplication, apply_events
from domain.damage import checked, naming, person_stream
from domain.directory import Directory
from domain.errors import DomainError, IncidentNotFoundError
from domain.incident import Incident
from domain.person import PERSON_EVENT_TOPICS, AffectedPerson
from domain.person_streams import person_ref, person_streams

T = TypeVar("T")
PAGE = 500
"""Person events read from the notification log per query."""


class ReplayBeforeDeclarationError(DomainError):
    """A moment before anything of the incident was recorded."""


class ReplayVersionError(DomainError):
    """An incident version that was never recorded."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class AlertThen(_Model):
    partner_id: str
    state: str
    step: str
    acknowledged_at: datetime | None
    entered_at: datetime | None
    late: bool


class NeedTotalThen(_Model):
    category: str
    by_region: dict[str, int]
    assigned_to: str | None


class ConsentThen(_Model):
    consent_id: str
    recipient: str
    data_categories: list[str]
    purpose: str
    given_at: datetime
    expires_at: datetime | None
    withdrawn_at: datetime | None


class PersonNeedThen(_Model):
    category: str
    urgency: str
    status: str
    owner: str | None
    due_at: datetime | None


class ReferralThen(_Model):
    referral_id: str
    category: str
    offer_id: str
    provider_id: str
    status: str
    due_at: datetime | None


class PersonThen(_Model):
    """One person's case then: pseudonymous (reference, no contact data, no free text)."""

    person_ref: str
    version: int
    involvement: str
    region: str
    registered_by: str
    closed: str | None
    erased: bool
    consents: list[ConsentThen]
    needs: list[PersonNeedThen]
    referrals: list[ReferralThen]


class AgreementThen(_Model):
    agreement_key: str
    revision: int
    version: int
    partner_ids: list[str]


class OfferThen(_Model):
    offer_id: str
    provider_id: str
    categories: list[str]
    districts: list[str]
    capacity: int


class DirectoryThen(_Model):
    directory_key: str
    revision: int
    version: int
    offers: list[OfferThen]


class IncidentReplay(_Model):
    """The incident as the record held it then. `moment` is the recorded time of the
    incident's last event applied; `asked` the moment asked for (None when asked by version)."""

    incident_key: str
    title: str
    version: int
    asked: datetime | None
    moment: datetime
    phase: str
    declared_at: datetime
    declared_under_revision: int | None
    alerts: list[AlertThen]
    needs: list[NeedTotalThen]
    reflection_due_at: datetime | None
    call_off_reason: str | None
    people: list[PersonThen]
    agreement: AgreementThen | None
    directory: DirectoryThen | None


def replay_at_version(
    app: LotseApplication, incident_key: str, version: int, directory_key: str
) -> IncidentReplay:
    """The incident at aggregate `version`; the rest as at the moment that event was recorded."""
    incident = app.incident(incident_key, version=version)  # IncidentNotFoundError if none
    if incident.version != version:
        raise ReplayVersionError(
            f"incident '{incident_key}' has no version {version} (versions: 1 to "
            f"{incident.version})"
        )
    return _replay(app, incident, None, directory_key)


def replay_at_moment(
    app: LotseApplication, incident_key: str, moment: datetime, directory_key: str
) -> IncidentReplay:
    """The incident and the rest at their last steps recorded at or before `moment`."""
    incident: Incident | None = _folded(
        app, f"incident '{incident_key}'", ids.incident_id(incident_key), moment
    )
    if incident is None:
        first: Any = next(iter(app.events.get(ids.incident_id(incident_key), limit=1)), None)
        if first is None:
            raise IncidentNotFoundError(f"no incident '{incident_key}' is recorded")
        raise ReplayBeforeDeclarationError(
            f"incident '{incident_key}' was declared at {cli_time(first.timestamp)} "
            f"(Europe/Berlin, recorded time); nothing of it is recorded at or before "
            f"{cli_time(moment)}"
        )
    return _replay(app, incident, moment, directory_key)


def fold_until(events: Iterable[Any], moment: datetime) -> Any:
    """The aggregate after every command whose last event was recorded at or before `moment`
    (None if none was). Events of one command are consecutive in their aggregate. An event
    that does not apply is a `DamagedRecordError` (to be named by the caller)."""
    aggregate: Any = None
    step: list[Any] = []
    for event in events:
        if step and event.ctx.command_id != step[0].ctx.command_id:
            if step[-1].timestamp > moment:
                return aggregate
            aggregate = _apply(aggregate, step)
            step = []
        step.append(event)
    if step and step[-1].timestamp <= moment:
        aggregate = _apply(aggregate, step)
    return aggregate


def _folded(app: LotseApplication, stream: str, originator_id: UUID, moment: datetime) -> Any:
    """The aggregate of one stream as at `moment`, its versions checked to follow one another;
    a damaged stream is a `DamagedRecordError` naming `stream`."""
    with naming(stream):
        return fold_until(app.events.get(originator_id), moment)


def _replay(
    app: LotseApplication, incident: Incident, asked: datetime | None, directory_key: str
) -> IncidentReplay:
    moment = incident.modified_on if asked is None else asked
    agreement_key = incident.agreement_key
    agreement: Agreement | None = _folded(
        app, f"agreement '{agreement_key}'", ids.agreement_id(agreement_key), moment
    )
    directory: Directory | None = _folded(
        app, f"directory '{directory_key}'", ids.directory_id(directory_key), moment
    )
    people = people_at(app.recorder.select_notifications, app.mapper, incident, moment)
    return IncidentReplay(
        incident_key=incident.incident_key,
        title=incident.title,
        version=incident.version,
        asked=asked,
        moment=incident.modified_on,
        phase=str(incident.phase),
        declared_at=incident.declared_at,
        declared_under_revision=incident.agreement_revision,
        alerts=[_alert(partner_id, alert) for partner_id, alert in incident.alerts.items()],
        needs=_needs(incident),
        reflection_due_at=incident.reflection_due_at,
        call_off_reason=incident.call_off_reason,
        people=[_person(person) for person in people],
        agreement=_agreement(agreement) if agreement is not None else None,
        directory=_directory(directory) if directory is not None else None,
    )


def people_at(
    select: Any, mapper: Mapper[UUID], incident: Incident, moment: datetime
) -> list[AffectedPerson]:
    """The incident's people registered at or before `moment`, each at its last step then, in
    the order of registration. One pass over the person events of the notification log
    (domain/person_streams.py); a damaged stream of one of them is a `DamagedRecordError`
    naming the person."""
    key = incident.incident_key
    streams = person_streams(_person_events(select), mapper, key)
    people = []
    for events in streams.values():
        with naming(person_stream(key, person_ref(events))):
            person = fold_until(events, moment)
        if person is not None:
            people.append(person)
    return people


def _person_events(select: Any) -> Iterator[Notification]:
    """Every person event of the notification log, in order, `PAGE` per query."""
    start = 1
    while True:
        batch: list[Notification] = select(start, PAGE, topics=PERSON_EVENT_TOPICS)
        yield from batch
        if len(batch) < PAGE:
            return
        start = batch[-1].id + 1


def _apply(aggregate: Any, step: list[Any]) -> Any:
    return checked(apply_events)(aggregate, step)


def _alert(partner_id: str, alert: Any) -> AlertThen:
    return AlertThen(
        partner_id=partner_id,
        state=str(alert.state),
        step=str(alert.step),
        acknowledged_at=alert.acknowledged_at,
        entered_at=alert.entered_at,
        late=alert.late,
    )


def _needs(incident: Incident) -> list[NeedTotalThen]:
    categories = list(dict.fromkeys([*incident.needs, *incident.assignments]))
    return [
        NeedTotalThen(
            category=category,
            by_region=dict(incident.needs.get(category, {})),
            assigned_to=incident.assignments.get(category),
        )
        for category in categories
    ]


def _person(person: AffectedPerson) -> PersonThen:
    return PersonThen(
        person_ref=person.person_ref,
        version=person.version,
        involvement=str(person.registration.involvement),
        region=person.registration.region,
        registered_by=person.registered_by,
        closed=str(person.closed_reason) if person.closed_reason is not None else None,
        erased=person.erased,
        consents=[
            ConsentThen(
                consent_id=consent_id,
                recipient=given.scope.recipient,
                data_categories=[str(c) for c in given.scope.data_categories],
                purpose=str(given.scope.purpose),
                given_at=given.scope.given_at,
                expires_at=given.scope.expires_at,
                withdrawn_at=given.withdrawn_at,
            )
            for consent_id, given in person.given.items()
        ],
        needs=[
            PersonNeedThen(
                category=str(need.category),
                urgency=str(need.urgency),
                status=str(need.status),
                owner=need.owner,
                due_at=need.due_at,
            )
            for need in person.needs.values()
        ],
        referrals=[
            ReferralThen(
                referral_id=referral.referral_id,
                category=str(referral.category),
                offer_id=referral.target.offer_id,
                provider_id=referral.target.provider_id,
                status=str(referral.status),
                due_at=referral.due_at,
            )
            for referral in person.referrals.values()
        ],
    )


def _agreement(agreement: Agreement) -> AgreementThen:
    return AgreementThen(
        agreement_key=agreement.agreement_key,
        revision=agreement.revision,
        version=agreement.version,
        partner_ids=list(agreement.partners),
    )


def _directory(directory: Directory) -> DirectoryThen:
    return DirectoryThen(
        directory_key=directory.directory_key,
        revision=directory.revision,
        version=directory.version,
        offers=[
            OfferThen(
                offer_id=offer.id,
                provider_id=offer.provider_id,
                categories=[str(c) for c in offer.categories],
                districts=[str(d) for d in offer.districts],
                capacity=offer.capacity,
            )
            for offer in directory.offers.values()
        ],
    )
