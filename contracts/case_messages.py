"""Messages of `VictimCase`, one affected person's case: its input, updates, query and activities.

Everything here is pseudonymous: the person is `person_ref` (`DD-0042`), staff are references,
services are offer and provider ids. Contact data never travels through Temporal: the CLI
writes it straight into the record (encrypted with the person's key) and the activity that
sends a referral reads it there, as far as the person's consent allows.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import AwareDatetime, Field, model_validator

from contracts.case_rules import CaseDeadlines, GivenConsent, ReferralAction
from contracts.messages import (
    CommandContext,
    DeliveryPolicy,
    IncidentId,
    Internal,
    Message,
    OperatorAction,
    OperatorActor,
    OperatorChannel,
)
from contracts.people import (
    AssessedNeed,
    CaseCloseReason,
    ConsentMethod,
    ConsentPurpose,
    ConsentScope,
    DataCategory,
    DeclineReason,
    Involvement,
    LanguageCode,
    NeedStatus,
    OfferId,
    PersonRef,
    PersonRegistration,
    RecipientId,
    ReferralStatus,
    ReferralTarget,
    RegistrationSource,
)
from contracts.vocabulary import ActorChannel, ContactChannel, NeedCategory, Region

ReferralId = Annotated[
    str,
    Field(pattern=r"^R[0-9]{1,4}$", description="A referral of this case: R1, R2, …"),
]

# --- workflow input -------------------------------------------------------------------------


class RegisterPerson(Message):
    """The registration that starts `VictimCase` (from the UI's start form or `lotse person
    register`). No contact data: the UI's forms go to Temporal as typed."""

    incident_id: IncidentId
    person_ref: PersonRef
    involvement: Involvement
    source: RegistrationSource
    region: Region = Field(description="The district where the person lives (or outside-saxony).")
    language: LanguageCode = "de"
    registered_by: OperatorActor
    channel: OperatorChannel = ActorChannel.UI
    deadlines: CaseDeadlines = Field(default_factory=CaseDeadlines)

    def registration(self) -> PersonRegistration:
        return PersonRegistration(
            person_ref=self.person_ref,
            involvement=self.involvement,
            source=self.source,
            region=self.region.value,
            language=self.language,
        )


# --- updates --------------------------------------------------------------------------------


class GiveConsent(OperatorAction):
    """The person consents to data being shared with one recipient (a partner or an offer)."""

    recipient: RecipientId
    data_categories: list[DataCategory] = Field(min_length=1, max_length=len(DataCategory))
    purpose: ConsentPurpose = ConsentPurpose.REFERRAL
    method: ConsentMethod
    given_at: AwareDatetime | None = Field(
        default=None, description="When it was given, if earlier than now (a signed form)."
    )
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _no_repeats(self) -> Self:
        if len(set(self.data_categories)) != len(self.data_categories):
            raise ValueError("data_categories lists a category twice")
        return self

    def scope(self, now: datetime) -> ConsentScope:
        return ConsentScope(
            recipient=self.recipient,
            data_categories=list(self.data_categories),
            purpose=self.purpose,
            method=self.method,
            recorded_by=self.actor.staff_ref,
            given_at=self.given_at or now,
            expires_at=self.expires_at,
        )


class WithdrawConsent(OperatorAction):
    """The person withdraws every consent given to one recipient; no further sharing with it."""

    recipient: RecipientId


class AssessNeeds(OperatorAction):
    """Needs from the catalogue with their urgency; no notes (never counselling content)."""

    needs: list[AssessedNeed] = Field(min_length=1, max_length=len(NeedCategory))

    @model_validator(mode="after")
    def _each_category_once(self) -> Self:
        categories = [need.category for need in self.needs]
        if len(set(categories)) != len(categories):
            raise ValueError("needs lists a category twice")
        return self


class ReferralAnswer(OperatorAction):
    """A service acknowledges or accepts a referral (or the office records it on its behalf)."""

    referral_id: ReferralId


class DeclineReferral(ReferralAnswer):
    reason: DeclineReason


class FirstContact(ReferralAnswer):
    contacted_at: AwareDatetime | None = Field(
        default=None, description="When the service reached the person, if earlier than now."
    )


class FollowUpResult(Message):
    category: NeedCategory
    help_arrived: bool


class RecordFollowUp(OperatorAction):
    """The answer to a follow-up: for each need, whether help arrived. An unmet need is referred
    again."""

    results: list[FollowUpResult] = Field(min_length=1, max_length=len(NeedCategory))


class ReferNeed(OperatorAction):
    """The Commissioner's office refers a need to an offer it chose (after an escalation)."""

    category: NeedCategory
    offer_id: OfferId


class CloseCase(OperatorAction):
    reason: CaseCloseReason


class CaseResult(Message):
    """What an update answers."""

    person_ref: PersonRef
    duplicate: bool = False
    needs: dict[NeedCategory, NeedStatus] = Field(default_factory=dict)


# --- query ----------------------------------------------------------------------------------


class ReferralView(Message):
    referral_id: ReferralId
    category: NeedCategory
    offer_id: OfferId
    provider_id: RecipientId
    offer_name: str
    status: ReferralStatus
    due_at: datetime | None = None
    sent_at: datetime | None = None
    delivery_trouble_since: datetime | None = None
    explanation: str = ""


class NeedView(Message):
    category: NeedCategory
    urgency: str
    status: NeedStatus
    owner: str
    due_at: datetime | None
    referral_id: ReferralId | None = None
    tried_offers: list[OfferId] = Field(default_factory=list)


class FollowUpView(Message):
    number: int
    due_at: datetime
    answer_due_at: datetime | None = None
    answered_at: datetime | None = None


class CaseStatus(Message):
    """What the `status` query returns."""

    case_id: str
    incident_id: str
    person_ref: PersonRef
    involvement: Involvement
    region: Region
    language: str
    registered_at: datetime
    consents: list[GivenConsent]
    needs: list[NeedView]
    referrals: list[ReferralView]
    follow_ups: list[FollowUpView]
    assessment_due_at: datetime | None = None
    open_items: list[str]
    closed_reason: CaseCloseReason | None = None
    exercise: bool = Field(default=False, description="The incident is an exercise (ÜBUNG).")


class CaseOutcome(Message):
    case_id: str
    person_ref: PersonRef
    closed_reason: CaseCloseReason


# --- activities -----------------------------------------------------------------------------


class CaseRef(Internal):
    incident_id: IncidentId
    person_ref: PersonRef


class CaseCommand(CaseRef):
    ctx: CommandContext


class RecordRegistrationInput(CaseCommand):
    registration: PersonRegistration
    assessment_due_at: AwareDatetime


class RecordConsentInput(CaseCommand):
    scope: ConsentScope


class RecordWithdrawalInput(CaseCommand):
    recipient: RecipientId


class RecordAssessmentInput(CaseCommand):
    needs: list[AssessedNeed]
    due_at: AwareDatetime


class RecordReferralProposedInput(CaseCommand):
    """Propose a referral and hold a place at its offer for it. Lotse's own choice stays
    within the offer's capacity (`OfferFullError` otherwise); the office's choice by hand may
    go beyond it."""

    referral_id: ReferralId
    category: NeedCategory
    target: ReferralTarget
    explanation: str
    within_capacity: bool = True


class RecordReferralStepInput(CaseCommand):
    referral_id: ReferralId
    action: ReferralAction
    due_at: AwareDatetime | None = None
    reason: DeclineReason | None = None
    at: AwareDatetime | None = None
    why: str | None = Field(default=None, description="Why a referral was re-routed.")


class RecordNeedEscalatedInput(CaseCommand):
    category: NeedCategory
    why: str
    due_at: AwareDatetime


class RecordFollowUpInput(CaseCommand):
    number: int
    met: list[NeedCategory]
    unmet: list[NeedCategory]


class RecordCaseClosedInput(CaseCommand):
    reason: CaseCloseReason


class CaseMessagePurpose(StrEnum):
    """Why a case sends a message, and to whom."""

    REFERRAL = "referral"
    """To the offer: a person is referred, please acknowledge."""
    WITHDRAWN = "withdrawn"
    """To the offer: consent was withdrawn; share nothing further and delete what was sent."""
    ESCALATION = "escalation"
    """To the Commissioner's office: a need has no offer left, or a service did not act."""
    REMINDER = "reminder"
    """To the Commissioner's office: consent or the assessment is overdue."""
    FOLLOW_UP_DUE = "follow-up-due"
    """To the Commissioner's office: ask the person whether help arrived."""


class DeliverCaseMessageInput(CaseRef):
    """Send one message of a case. The activity reads the person's contact data from the record,
    as far as consent for the recipient allows; Temporal never sees it."""

    purpose: CaseMessagePurpose
    message_id: str
    sent_at: AwareDatetime
    category: NeedCategory | None = None
    referral_id: ReferralId | None = None
    target: ReferralTarget | None = None
    due_at: AwareDatetime | None = None
    detail: str = ""


class CaseOpened(Internal):
    """What the record answers to a registration: who holds the office role, and whether the
    incident is an exercise (absent in histories recorded before exercises existed: real)."""

    registered_at: AwareDatetime
    office_id: RecipientId
    delivery: DeliveryPolicy
    exercise: bool = False


class ChooseOfferInput(CaseRef):
    category: NeedCategory
    region: Region
    language: str
    exclude: list[OfferId] = Field(default_factory=list)
    offer_id: OfferId | None = Field(
        default=None, description="Only this offer (the office chose it); still checked."
    )


class OfferCandidate(Internal):
    target: ReferralTarget
    offer_name: str
    remaining: int
    channel: ContactChannel


class OfferChoiceResult(Internal):
    """Offers that fit, best first, and one line on why (for the record and the UI)."""

    ranked: list[OfferCandidate]
    explanation: str
