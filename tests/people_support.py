"""Invented people and the values a person's case is built from, shared by the person tests.

No real person: names are invented, phone numbers are in the 555 range, addresses example.org.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts.messages import Actor, CommandContext
from contracts.people import (
    AssessedNeed,
    ConsentMethod,
    ConsentScope,
    ContactData,
    DataCategory,
    Involvement,
    PersonRegistration,
    ReferralTarget,
    RegistrationSource,
    Urgency,
)
from contracts.vocabulary import ActorChannel, NeedCategory

T0 = datetime(2026, 11, 14, 21, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
REGISTERING_PARTNER = "opferhilfe-sachsen"
PROVIDER = "weisser-ring"
OFFER = "wr-aussenstelle-dd"
TARGET = ReferralTarget(offer_id=OFFER, provider_id=PROVIDER)
EXPLANATION = "Akutbegleitung nach dem Angriff, Gespräch gewünscht"

ERIKA = ContactData(
    name="Erika Quellmalz-Beispiel",
    phone="+49 351 555 0100",
    email="erika.quellmalz@example.org",
    address="Beispielweg 7, 01067 Dresden",
)
JONAS = ContactData(name="Jonas Wendelin-Muster", phone="+49 351 555 0177")


def ctx(at: datetime = T0, *, command_id: str | None = None) -> CommandContext:
    """A step by the registering partner's duty officer at `at`, with a fresh command id."""
    return CommandContext(
        command_id=command_id or str(uuid.uuid4()),
        actor=Actor(partner_id=REGISTERING_PARTNER, staff_ref="lagedienst-1"),
        channel=ActorChannel.UI,
        business_time=at,
    )


def registration(person_ref: str = "DD-0042") -> PersonRegistration:
    return PersonRegistration(
        person_ref=person_ref,
        involvement=Involvement.INJURED,
        source=RegistrationSource.HOTLINE,
        region="dresden",
    )


def consent(
    recipient: str = PROVIDER,
    categories: tuple[DataCategory, ...] = (
        DataCategory.NAME,
        DataCategory.PHONE,
        DataCategory.NEEDS,
    ),
    given_at: datetime = T0,
    expires_at: datetime | None = None,
) -> ConsentScope:
    return ConsentScope(
        recipient=recipient,
        data_categories=list(categories),
        method=ConsentMethod.ORAL,
        recorded_by="lagedienst-1",
        given_at=given_at,
        expires_at=expires_at,
    )


def psychosocial(urgency: Urgency = Urgency.IMMEDIATE) -> list[AssessedNeed]:
    return [AssessedNeed(category=NeedCategory.PSYCHOSOCIAL, urgency=urgency)]
