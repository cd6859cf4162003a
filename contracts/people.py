"""Affected people ("Betroffene"): the closed lists and the records of one person's way to help.

Everybody outside the record knows a person only by a pseudonymous reference (`DD-0042`).
`ContactData` is the only model that identifies a person: the record stores it encrypted with
that person's own key, and it never travels through Temporal. Everything else here (involvement,
region, language, needs, consent, referral status) is pseudonymous.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    model_validator,
)

from contracts.text import single_line
from contracts.vocabulary import NeedCategory

PERSON_REF_PATTERN = r"[A-Z]{2}-[0-9]{4,6}"
PersonRef = Annotated[
    str,
    StringConstraints(pattern=f"^{PERSON_REF_PATTERN}$"),
    Field(
        description="Pseudonymous reference of an affected person: two capital letters, a dash "
        "and 4 to 6 digits (e.g. DD-0042). Never a name."
    ),
]
OfferId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$"),
    Field(description="Stable id of a support offer, lower-case with dashes."),
]
RecipientId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9-]{1,62}$"),
    Field(description="Who may receive data: a partner id or a support offer's id."),
]
LanguageCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z]{2,3}$"),
    Field(description="Preferred language as an ISO 639 code: de, en, ar, uk, ru, …"),
]


class Involvement(StrEnum):
    """How a person was affected."""

    INJURED = "injured"
    BEREAVED = "bereaved"
    WITNESS = "witness"
    """Witness or present at the scene."""
    FIRST_AIDER = "first-aider"
    MISSING_PERSON_ENQUIRER = "missing-person-enquirer"
    CLOSE_PERSON = "close-person"


INVOLVEMENT_LABELS_DE: dict[Involvement, str] = {
    Involvement.INJURED: "verletzt",
    Involvement.BEREAVED: "hinterblieben",
    Involvement.WITNESS: "Zeugin/Zeuge oder anwesend",
    Involvement.FIRST_AIDER: "Ersthelfende/r",
    Involvement.MISSING_PERSON_ENQUIRER: "sucht Angehörige",
    Involvement.CLOSE_PERSON: "nahestehende Person",
}


class RegistrationSource(StrEnum):
    """Where a registration came from."""

    POLICE_LIST = "police-list"
    RED_CROSS = "red-cross"
    HOTLINE = "hotline"
    SELF_REFERRAL = "self-referral"
    PARTNER = "partner"


class Urgency(StrEnum):
    """How soon a need must be met."""

    IMMEDIATE = "immediate"
    SOON = "soon"
    ROUTINE = "routine"


URGENCY_LABELS_DE: dict[Urgency, str] = {
    Urgency.IMMEDIATE: "sofort",
    Urgency.SOON: "zeitnah",
    Urgency.ROUTINE: "regulär",
}


class DataCategory(StrEnum):
    """What consent may allow to be shared with a recipient."""

    NAME = "name"
    DATE_OF_BIRTH = "date-of-birth"
    ADDRESS = "address"
    PHONE = "phone"
    EMAIL = "email"
    INVOLVEMENT = "involvement"
    NEEDS = "needs"


CONTACT_CATEGORIES: frozenset[DataCategory] = frozenset(
    {
        DataCategory.NAME,
        DataCategory.DATE_OF_BIRTH,
        DataCategory.ADDRESS,
        DataCategory.PHONE,
        DataCategory.EMAIL,
    }
)
REFERRAL_NEEDS: frozenset[DataCategory] = frozenset({DataCategory.NEEDS})
"""What a referral shares at the least (the need); contact fields only as far as consented."""


class ConsentPurpose(StrEnum):
    REFERRAL = "referral"
    """To be referred to, and contacted by, the recipient."""
    FOLLOW_UP = "follow-up"
    """To be asked later whether help arrived."""


class ConsentMethod(StrEnum):
    """How consent was given; oral consent names who recorded it (the actor's staff ref)."""

    WRITTEN = "written"
    ORAL = "oral"


class ReferralStatus(StrEnum):
    """The life of one referral: proposed → sent → acknowledged → accepted | declined →
    first-contact → closed. `rerouted` and `withdrawn` end a referral that did not lead to help
    (a deadline passed, or consent was withdrawn); the need then moves on."""

    PROPOSED = "proposed"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    FIRST_CONTACT = "first-contact"
    CLOSED = "closed"
    REROUTED = "rerouted"
    WITHDRAWN = "withdrawn"


REFERRAL_ENDED: frozenset[ReferralStatus] = frozenset(
    {
        ReferralStatus.DECLINED,
        ReferralStatus.CLOSED,
        ReferralStatus.REROUTED,
        ReferralStatus.WITHDRAWN,
    }
)


class DeclineReason(StrEnum):
    """Why a service declines a referral; a closed list, never free text about the person."""

    NO_CAPACITY = "no-capacity"
    OUTSIDE_REMIT = "outside-remit"
    LANGUAGE = "language"
    DISTRICT = "district"
    ALREADY_IN_CARE = "already-in-care"
    OTHER = "other"


class NeedStatus(StrEnum):
    """Where one need of one person stands; every open need has an owner and a due date."""

    AWAITING_CONSENT = "awaiting-consent"
    """Open, not referred, and no valid consent to refer the person yet."""
    AWAITING_REFERRAL = "awaiting-referral"
    """Open, not (or no longer) referred, with valid consent: a referral is to be proposed."""
    REFERRED = "referred"
    ESCALATED = "escalated"
    IN_CARE = "in-care"
    MET = "met"


class CaseCloseReason(StrEnum):
    ALL_NEEDS_MET = "all-needs-met"
    HELP_DECLINED = "help-declined"
    """The person does not want (further) help."""
    DUPLICATE = "duplicate"
    ERASED = "erased"


# --- the only identifying data ---------------------------------------------------------------

PersonName = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(single_line),
]
Address = Annotated[
    str,
    Strict(),
    StringConstraints(strip_whitespace=True, min_length=3, max_length=300),
    AfterValidator(single_line),
]
Phone = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ()/-]{4,29}$"),
    Field(description="A phone number: digits, spaces, ( ) / -, optionally a leading +."),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]


class ContactData(BaseModel):
    """How to reach a person. Personal data: stored only encrypted with the person's own key,
    never in Temporal, never in free text."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: PersonName
    date_of_birth: date | None = None
    address: Address | None = None
    phone: Phone | None = None
    email: Email | None = None

    def shared_with(self, categories: frozenset[DataCategory]) -> dict[DataCategory, str]:
        """The fields that `categories` allow to be shared, as text (empty ones left out)."""
        values = {
            DataCategory.NAME: self.name,
            DataCategory.DATE_OF_BIRTH: (
                self.date_of_birth.isoformat() if self.date_of_birth else None
            ),
            DataCategory.ADDRESS: self.address,
            DataCategory.PHONE: self.phone,
            DataCategory.EMAIL: self.email,
        }
        return {key: value for key, value in values.items() if value and key in categories}


# --- pseudonymous records --------------------------------------------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonRegistration(_Record):
    """What is recorded when a person is registered (no contact data)."""

    person_ref: PersonRef
    involvement: Involvement
    source: RegistrationSource
    region: str = Field(description="A `Region` value: the district where the person lives.")
    language: LanguageCode = "de"


class ConsentScope(_Record):
    """One consent: who may receive which data for what, how it was given, until when."""

    recipient: RecipientId
    data_categories: list[DataCategory] = Field(min_length=1)
    purpose: ConsentPurpose = ConsentPurpose.REFERRAL
    method: ConsentMethod
    recorded_by: str = Field(description="Staff reference of who recorded it (oral consent).")
    given_at: AwareDatetime
    expires_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _expires_after_given(self) -> Self:
        if self.expires_at is not None and self.expires_at <= self.given_at:
            raise ValueError("expires_at must be after given_at")
        return self


class AssessedNeed(_Record):
    """One need of the catalogue with its urgency; no free-text notes."""

    category: NeedCategory
    urgency: Urgency = Urgency.SOON


class ReferralTarget(_Record):
    """The support offer a referral goes to, and its provider (whose remit must cover the need)."""

    offer_id: OfferId
    provider_id: RecipientId
