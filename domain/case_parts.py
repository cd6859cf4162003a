"""The parts of one person's case as the record rebuilds them from its events: where each need
and referral stands, and each follow-up recorded. Plain data, changed only by the events of
`domain/person.py`; read by its guards (`domain/case_guards.py`) and its views."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from contracts.people import DeclineReason, NeedStatus, ReferralStatus, ReferralTarget, Urgency
from contracts.vocabulary import NeedCategory


@dataclass
class NeedState:
    """Where one need stands; an open need always has an owner and a due date."""

    category: NeedCategory
    urgency: Urgency
    status: NeedStatus
    owner: str | None
    due_at: datetime | None
    referral_id: str | None = None
    opened_at: datetime | None = None
    """When the need was assessed (or opened again after it was met): the start of its age."""


@dataclass
class ReferralState:
    """One referral as the record sees it, with the time of each status it reached."""

    referral_id: str
    category: NeedCategory
    target: ReferralTarget
    explanation: str
    status: ReferralStatus
    owner: str | None
    due_at: datetime | None
    history: list[tuple[ReferralStatus, datetime]] = field(default_factory=list)
    delivered_at: datetime | None = None
    first_contact_at: datetime | None = None
    decline_reason: DeclineReason | None = None
    answer_due_at: datetime | None = None
    """By when the offer was to acknowledge (or accept or decline), as set when it was sent."""


@dataclass(frozen=True)
class FollowUp:
    number: int
    met: list[NeedCategory]
    unmet: list[NeedCategory]
    recorded_at: datetime
