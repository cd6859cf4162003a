"""One invented incident recorded step by step, with the moment after each step, for the tests of
point-in-time replay and of the timeline: several partners acting, one on another's behalf by
phone, a person's consent, needs and a referral, two revisions each of the agreement and of the
directory of support offers.

No real person: a pseudonymous reference only; the contact recorded is invented (example.org).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from contracts.agreement import AgreementTerms
from contracts.case_rules import ReferralAction
from contracts.directory_file import load_directory_file
from contracts.messages import Actor, CommandContext, NeedReport
from contracts.vocabulary import ActorChannel, NeedCategory, Region
from domain.application import LotseApplication
from tests.integration.test_people_store import declaration
from tests.people_support import ERIKA, EXPLANATION, T0, TARGET, consent, psychosocial, registration
from tests.workflow.support import SHIPPED_OFFERS

INCIDENT = "dresden-2026-11-14"
OTHER_INCIDENT = "leipzig-2026-12-01"
PERSON = "DD-0001"
MINUTE = timedelta(minutes=1)
DIRECTORY = "hilfsangebote-sachsen"
PARTNERS = ("opferbeauftragte", "opferhilfe-sachsen", "weisser-ring", "raa-sachsen")


def step(
    partner: str,
    minutes: int,
    *,
    staff: str = "lagedienst-1",
    on_behalf_of: str | None = None,
    channel: ActorChannel = ActorChannel.UI,
) -> CommandContext:
    """A step by `partner`'s `staff` at T0 + `minutes` (its business time)."""
    return CommandContext(
        command_id=str(uuid.uuid4()),
        actor=Actor(partner_id=partner, staff_ref=staff),
        on_behalf_of=on_behalf_of,
        channel=channel,
        business_time=T0 + minutes * MINUTE,
    )


@dataclass(frozen=True)
class Moments:
    """The recorded time right after each step of `record_incident` (UTC, the real clock)."""

    before_declaration: datetime
    declared: datetime
    first_ack: datetime
    person_assessed: datetime
    coordinating: datetime
    agreement_revised: datetime
    consent_withdrawn: datetime
    directory_revised: datetime
    acute_closed: datetime


def record_incident(app: LotseApplication, agreement: AgreementTerms) -> Moments:
    """Record the incident's steps; see the module's docstring."""
    offers = load_directory_file(SHIPPED_OFFERS)
    app.load_agreement(agreement, step("opferbeauftragte", -60, channel=ActorChannel.CLI))
    app.load_directory(offers, step("opferbeauftragte", -59), agreement_key=agreement.agreement_id)
    before = now()
    app.declare_incident(
        INCIDENT, declaration(), agreement.agreement_id, step("opferbeauftragte", 0)
    )
    declared = now()
    phone = step("opferbeauftragte", 5, on_behalf_of="weisser-ring", channel=ActorChannel.PHONE)
    app.acknowledge_alert(INCIDENT, "weisser-ring", False, 300.0, phone)
    first_ack = now()
    ohs = "opferhilfe-sachsen"
    app.register_person(INCIDENT, registration(PERSON), step(ohs, 10, staff="ohs-2"))
    app.record_contact(INCIDENT, PERSON, ERIKA, step(ohs, 11, staff="ohs-2"))
    app.give_consent(INCIDENT, PERSON, consent(), step(ohs, 12, staff="ohs-2"))
    app.assess_needs(INCIDENT, PERSON, psychosocial(), T0 + timedelta(days=2), step(ohs, 13))
    person_assessed = now()
    for minutes, partner in enumerate(("opferbeauftragte", ohs, "raa-sachsen"), start=20):
        app.acknowledge_alert(INCIDENT, partner, False, 60.0 * minutes, step(partner, minutes))
    needs = [NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.DRESDEN, count=5)]
    app.report_needs(INCIDENT, needs, step(ohs, 30))
    app.assign_need_category(
        INCIDENT, NeedCategory.PSYCHOSOCIAL, "weisser-ring", step("opferbeauftragte", 31)
    )
    coordinating = now()
    revised = agreement.model_copy(update={"title": agreement.title + " (Fassung 2)"})
    app.load_agreement(revised, step("opferbeauftragte", 40, channel=ActorChannel.CLI))
    agreement_revised = now()
    app.propose_referral(
        INCIDENT, PERSON, "r1", NeedCategory.PSYCHOSOCIAL, TARGET, EXPLANATION, step(ohs, 50)
    )
    app.advance_referral(
        INCIDENT, PERSON, "r1", ReferralAction.SEND, step(ohs, 51), due_at=T0 + timedelta(days=3)
    )
    app.withdraw_consent(INCIDENT, PERSON, "weisser-ring", step(ohs, 52))
    consent_withdrawn = now()
    fewer = offers.model_copy(update={"offers": offers.offers[1:]})
    app.load_directory(fewer, step("opferbeauftragte", 60), agreement_key=agreement.agreement_id)
    directory_revised = now()
    app.close_acute_phase(
        INCIDENT, "Akutphase beendet", T0 + timedelta(weeks=6), step("opferbeauftragte", 70)
    )
    acute_closed = now()
    # Another incident with a person of its own: none of it belongs to the first.
    app.declare_incident(OTHER_INCIDENT, declaration(), agreement.agreement_id, step(ohs, 80))
    app.register_person(OTHER_INCIDENT, registration("LE-0001"), step(ohs, 81))
    return Moments(
        before,
        declared,
        first_ack,
        person_assessed,
        coordinating,
        agreement_revised,
        consent_withdrawn,
        directory_revised,
        acute_closed,
    )


def now() -> datetime:
    return datetime.now(UTC)
