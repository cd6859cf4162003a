"""The figures of the reflection report (issue #9): pure functions over the record of one incident.

`reflection_figures` reads the incident, its history, its people, its roll and the agreement it
was declared under, and returns `ReflectionFigures`: counts, shares and medians, never a name,
a reference of a person or contact data. Each figure is defined in docs/procedure.md
("The reflection report"); the docstrings below say the same in short. Nothing here reads a
clock: the moment the figures are taken (`as_of`) is passed in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from contracts.case_rules import NEED_OPEN, CaseDeadlines
from contracts.people import CaseCloseReason, ReferralStatus
from contracts.vocabulary import BERLIN
from domain.agreement import Agreement
from domain.audit_reads import AuditReadEntry
from domain.case_parts import ReferralState
from domain.history import HistoryEntry
from domain.incident import Incident
from domain.person import AffectedPerson
from domain.roll import PairStatus, PeopleRoll

if TYPE_CHECKING:
    from domain.application import LotseApplication

ANSWERS = frozenset({ReferralStatus.ACKNOWLEDGED, ReferralStatus.ACCEPTED, ReferralStatus.DECLINED})
"""What counts as the offer's answer to a referral sent to it."""
ENDS_UNANSWERED = frozenset({ReferralStatus.REROUTED, ReferralStatus.WITHDRAWN})
MILESTONES = (
    "Declared",
    "AlertAcknowledged",
    "PartnerUnreachable",
    "AcutePhaseClosed",
    "ReflectionBecameDue",
    "ReflectionRecorded",
)
"""The incident's events that the timeline marks."""
AGE_BUCKETS_DAYS = (3, 7, 14, 28)
"""Upper bounds (exclusive) of the open-need age groups: under 3 days, 3–6, 7–13, 14–27, 28+."""


class _Figures(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PartnerFigures(_Figures):
    """One partner's alert: how long it took to acknowledge against the agreed deadline."""

    partner_id: str
    state: str
    deadline_minutes: int | None
    """The partner's acknowledgement deadline in the agreement in force at the declaration."""
    minutes_to_acknowledge: float | None
    late: bool | None
    escalations: int
    messages_delivered: int
    delivery_failures: int


class ReferralAnswers(_Figures):
    """Referrals sent to an offer, by whether the offer answered by the deadline set on sending."""

    sent: int
    in_time: int
    late: int
    """Answered after the deadline."""
    unanswered_overdue: int
    """No answer, and the deadline passed while the referral was still waiting."""
    awaiting: int
    """No answer yet and not due yet, or ended (re-routed, withdrawn) before it was due."""
    share_in_time: float | None
    """in_time / (in_time + late + unanswered_overdue); None when none of them is due."""


class Milestone(_Figures):
    at: datetime
    event: str
    partner_id: str | None = None


class DayCount(_Figures):
    """One day (Europe/Berlin) of the incident: people registered and first contacts made."""

    day: date
    registered: int
    first_contacts: int


class RefusalCount(_Figures):
    """How often one partner's staff were refused one kind of action on its substance."""

    kind: str
    partner_id: str
    count: int


class AuditReadFigure(_Figures):
    """One audit read of the incident: when, who, what (command, options, format)."""

    at: datetime
    partner_id: str
    staff_ref: str
    what: str


class ReflectionFigures(_Figures):
    """Everything the reflection report shows, as numbers. Field names are the JSON keys."""

    incident_id: str
    title: str
    kind: str
    exercise: bool
    """An exercise ("ÜBUNG"): the report says so on top, and that its figures are no KPIs of
    real incidents (`Incident.counts_in_kpis`); they are computed all the same, for the
    exercise's own reflection."""
    phase: str
    declared_at: datetime
    as_of: datetime
    agreement_id: str
    agreement_revision: int | None
    """The agreement's version at the declaration (None for incidents declared before versions
    were counted)."""
    partners: list[PartnerFigures]
    escalations: int
    delivery_failures: int
    people_registered: int
    """Registered people, erased ones included, without cases closed as duplicates."""
    people_erased: int
    people_contacted: int
    """Of `people_registered`, those with a first contact on any referral."""
    share_contacted: float | None
    median_hours_to_first_contact: float | None
    max_hours_to_first_contact: float | None
    referrals: ReferralAnswers
    open_needs: int
    median_open_need_age_days: float | None
    oldest_open_need_age_days: float | None
    open_need_ages: list[int]
    """Open needs per age group (see AGE_BUCKETS_DAYS), youngest first."""
    duplicates_linked: int
    duplicate_pairs_confirmed: int
    duplicate_pairs_rejected: int
    duplicate_pairs_pending: int
    consent_withdrawals: int
    follow_ups_overdue: int
    findings: list[str]
    measures: list[str]
    timeline: list[Milestone]
    days: list[DayCount]
    refusals: list[RefusalCount]
    """Actions refused on their substance (`ActionRefused`), per kind and partner."""
    audit_reads: list[AuditReadFigure]
    """Every recorded audit read of the incident, this report's own read included."""


@dataclass(frozen=True)
class IncidentRecord:
    """What the figures are computed from: the record of one incident, read once."""

    incident: Incident
    history: list[HistoryEntry]
    people: list[AffectedPerson]
    roll: PeopleRoll | None
    agreement: Agreement
    reads: list[AuditReadEntry] = field(default_factory=list)
    """The recorded audit reads of the incident."""


def read_record(
    store: LotseApplication, incident_key: str, step: Callable[[str], None] | None = None
) -> IncidentRecord:
    """The record of the incident, read once (`IncidentNotFoundError` if none is recorded);
    `step` is told each part before it is read (`incident`, `history`, `people`, `roll`), for
    a progress bar."""
    told = step or (lambda _: None)
    told("incident")
    incident = store.incident(incident_key)
    told("history")
    history = store.history(incident_key)
    told("people")
    people = store.people_of(incident_key)
    told("roll")
    return IncidentRecord(
        incident=incident,
        history=history,
        people=people,
        roll=store.roll(incident_key),
        agreement=store.agreement_of(incident),
        reads=store.audit_reads(incident_key),
    )


def reflection_figures(
    record: IncidentRecord, as_of: datetime, deadlines: CaseDeadlines | None = None
) -> ReflectionFigures:
    """The report's figures at `as_of`. `deadlines` are the case deadlines the follow-ups ran
    under (the agreement's defaults unless given)."""
    incident = record.incident
    counted = [p for p in record.people if p.closed_reason is not CaseCloseReason.DUPLICATE]
    partners = partner_figures(record)
    contact_hours = hours_to_first_contact(counted)
    ages = open_need_ages_days(counted, as_of)
    return ReflectionFigures(
        incident_id=incident.incident_key,
        title=incident.title,
        kind=incident.kind,
        exercise=not incident.counts_in_kpis,
        phase=str(incident.phase),
        declared_at=incident.declared_at,
        as_of=as_of,
        agreement_id=incident.agreement_key,
        agreement_revision=incident.agreement_revision,
        partners=partners,
        escalations=sum(p.escalations for p in partners),
        delivery_failures=sum(p.delivery_failures for p in partners),
        people_registered=len(counted),
        people_erased=sum(1 for p in counted if p.erased),
        people_contacted=len(contact_hours),
        share_contacted=_share(len(contact_hours), len(counted)),
        median_hours_to_first_contact=_median(contact_hours),
        max_hours_to_first_contact=max(contact_hours, default=None),
        referrals=referral_answers(counted, as_of),
        open_needs=len(ages),
        median_open_need_age_days=_median(ages),
        oldest_open_need_age_days=max(ages, default=None),
        open_need_ages=age_groups(ages),
        **duplicate_counts(record.roll),
        consent_withdrawals=sum(
            1 for p in record.people for c in p.consents if c.withdrawn_at is not None
        ),
        follow_ups_overdue=overdue_follow_ups(counted, as_of, deadlines or CaseDeadlines()),
        findings=list(incident.findings),
        measures=list(incident.measures),
        timeline=milestones(record.history),
        days=day_counts(counted),
        refusals=refusal_counts(record.history),
        audit_reads=[
            AuditReadFigure(
                at=read.recorded_at,
                partner_id=read.actor.partner_id,
                staff_ref=read.actor.staff_ref,
                what=read.what(),
            )
            for read in record.reads
        ],
    )


def refusal_counts(history: Iterable[HistoryEntry]) -> list[RefusalCount]:
    """`ActionRefused` entries counted per kind and acting partner, in that order."""
    counted = Counter(
        (str(entry.details["kind"]), entry.ctx.actor.partner_id)
        for entry in history
        if entry.event == "ActionRefused"
    )
    return [
        RefusalCount(kind=kind, partner_id=partner, count=n)
        for (kind, partner), n in sorted(counted.items())
    ]


def partner_figures(record: IncidentRecord) -> list[PartnerFigures]:
    """Each partner of the incident, in the agreement's order: time to acknowledge (minutes)
    against its deadline, escalations (`AlertEscalated` events), messages delivered and failed."""
    escalations = Counter(
        str(e.details.get("partner_id")) for e in record.history if e.event == "AlertEscalated"
    )
    figures = []
    for partner_id, alert in record.incident.alerts.items():
        terms = record.agreement.partners.get(partner_id)
        seconds = alert.seconds_to_acknowledge
        acknowledged = alert.acknowledged_at is not None
        figures.append(
            PartnerFigures(
                partner_id=partner_id,
                state=str(alert.state),
                deadline_minutes=terms.ack_deadline_minutes if terms else None,
                minutes_to_acknowledge=round(seconds / 60, 1) if seconds is not None else None,
                late=alert.late if acknowledged else None,
                escalations=escalations[partner_id],
                messages_delivered=alert.notifications_delivered,
                delivery_failures=alert.notifications_failed,
            )
        )
    return figures


def first_contact_at(person: AffectedPerson) -> datetime | None:
    moments = [r.first_contact_at for r in person.referrals.values() if r.first_contact_at]
    return min(moments, default=None)


def hours_to_first_contact(people: Iterable[AffectedPerson]) -> list[float]:
    """Hours from registration to the first first contact, one value per person contacted."""
    hours = []
    for person in people:
        contact = first_contact_at(person)
        if contact is not None:
            hours.append(_hours(contact - person.registered_at))
    return hours


def referral_answers(people: Iterable[AffectedPerson], as_of: datetime) -> ReferralAnswers:
    """Every referral that was sent, by its answer against the deadline set when it was sent."""
    verdicts = Counter(
        _answer_verdict(r, as_of)
        for person in people
        for r in person.referrals.values()
        if any(status is ReferralStatus.SENT for status, _ in r.history)
    )
    due = verdicts["in_time"] + verdicts["late"] + verdicts["unanswered_overdue"]
    return ReferralAnswers(
        sent=sum(verdicts.values()),
        in_time=verdicts["in_time"],
        late=verdicts["late"],
        unanswered_overdue=verdicts["unanswered_overdue"],
        awaiting=verdicts["awaiting"],
        share_in_time=_share(verdicts["in_time"], due),
    )


def _answer_verdict(referral: ReferralState, as_of: datetime) -> str:
    deadline = referral.answer_due_at
    answered = next((at for status, at in referral.history if status in ANSWERS), None)
    if answered is not None:
        return "in_time" if deadline is None or answered <= deadline else "late"
    ended = next((at for status, at in referral.history if status in ENDS_UNANSWERED), None)
    waited_until = ended or as_of
    if deadline is not None and deadline < waited_until:
        return "unanswered_overdue"
    return "awaiting"


def open_need_ages_days(people: Iterable[AffectedPerson], as_of: datetime) -> list[float]:
    """The age in days of every need not met in a case that is still open."""
    ages = []
    for person in people:
        if person.closed_reason is not None or person.erased:
            continue
        for need in person.needs.values():
            if need.status in NEED_OPEN:
                opened = need.opened_at or person.registered_at  # recorded before opened_at
                ages.append((as_of - opened) / timedelta(days=1))
    return ages


def age_groups(ages_days: Iterable[float]) -> list[int]:
    groups = [0] * (len(AGE_BUCKETS_DAYS) + 1)
    for age in ages_days:
        groups[sum(1 for bound in AGE_BUCKETS_DAYS if age >= bound)] += 1
    return groups


def duplicate_counts(roll: PeopleRoll | None) -> dict[str, int]:
    """Listings linked to a person another list named already (same name and date of birth),
    and likely pairs confirmed, rejected and still pending."""
    if roll is None:
        return dict.fromkeys(
            (
                "duplicates_linked",
                "duplicate_pairs_confirmed",
                "duplicate_pairs_rejected",
                "duplicate_pairs_pending",
            ),
            0,
        )
    statuses = Counter(pair.status for pair in roll.pairs.values())
    return {
        # Each new person brings one listing and one entry in `sources`; a linked listing
        # brings a listing only.
        "duplicates_linked": len(roll.listings) - len(roll.sources),
        "duplicate_pairs_confirmed": statuses[PairStatus.CONFIRMED],
        "duplicate_pairs_rejected": statuses[PairStatus.REJECTED],
        "duplicate_pairs_pending": statuses[PairStatus.PENDING],
    }


def overdue_follow_ups(
    people: Iterable[AffectedPerson], as_of: datetime, deadlines: CaseDeadlines
) -> int:
    """Follow-ups of open cases whose answer was due (registration + the follow-up's offset +
    the answer deadline) before `as_of` and is not recorded."""
    overdue = 0
    for person in people:
        if person.closed_reason is not None:
            continue
        for number, after in enumerate(deadlines.follow_ups, start=1):
            answer_due = person.registered_at + after + deadlines.follow_up_answer
            if answer_due <= as_of and number not in person.follow_ups:
                overdue += 1
    return overdue


def milestones(history: Iterable[HistoryEntry]) -> list[Milestone]:
    """The incident's milestones in order, at their business time."""
    return [
        Milestone(
            at=entry.ctx.business_time,
            event=entry.event,
            partner_id=entry.details.get("partner_id"),
        )
        for entry in history
        if entry.event in MILESTONES
    ]


def day_counts(people: Sequence[AffectedPerson]) -> list[DayCount]:
    """Registrations and first contacts per day (Europe/Berlin), every day from the first to the
    last with either, days without any included."""
    registered = Counter(p.registered_at.astimezone(BERLIN).date() for p in people)
    contacted = Counter(
        moment.astimezone(BERLIN).date()
        for moment in (first_contact_at(p) for p in people)
        if moment is not None
    )
    if not registered and not contacted:
        return []
    first, last = min(registered | contacted), max(registered | contacted)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return [DayCount(day=d, registered=registered[d], first_contacts=contacted[d]) for d in days]


def _hours(span: timedelta) -> float:
    return span / timedelta(hours=1)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _median(values: list[float]) -> float | None:
    return median(values) if values else None
