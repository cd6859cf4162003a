"""The rules of one person's case that the workflow and the record both enforce, written once.

Consent: a referral goes only to a recipient that valid consent covers (`consent_problem`).
Referrals: which step may follow which (`referral_problem`). Deadlines: how long each step may
take (`CaseDeadlines`). The workflow refuses an update with these words before anything is
written; the domain refuses the same command with the same words. Pure functions: they run
inside Temporal's workflow sandbox as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.people import (
    REFERRAL_ENDED,
    REFERRAL_NEEDS,
    ConsentPurpose,
    ConsentScope,
    DataCategory,
    NeedStatus,
    PersonRef,
    ReferralStatus,
    ReferralTarget,
)
from contracts.text import Duration
from contracts.vocabulary import COMMISSIONER_PARTNER_ID, NeedCategory

# --- consent ---------------------------------------------------------------------------------


class GivenConsent(BaseModel):
    """A consent as it stands: its scope and, once withdrawn, when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    scope: ConsentScope
    withdrawn_at: AwareDatetime | None = None

    def valid_at(self, moment: datetime) -> bool:
        scope = self.scope
        if self.withdrawn_at is not None and self.withdrawn_at <= moment:
            return False
        if scope.expires_at is not None and scope.expires_at <= moment:
            return False
        return scope.given_at <= moment


def _covering(
    consents: Iterable[GivenConsent], target: ReferralTarget, purpose: ConsentPurpose
) -> list[GivenConsent]:
    recipients = {target.offer_id, target.provider_id}
    return [c for c in consents if c.scope.recipient in recipients and c.scope.purpose is purpose]


def consented_categories(
    consents: Iterable[GivenConsent],
    target: ReferralTarget,
    moment: datetime,
    purpose: ConsentPurpose = ConsentPurpose.REFERRAL,
) -> frozenset[DataCategory]:
    """What may be shared with `target` (the offer or its provider) at `moment`."""
    allowed: set[DataCategory] = set()
    for consent in _covering(consents, target, purpose):
        if consent.valid_at(moment):
            allowed.update(consent.scope.data_categories)
    return frozenset(allowed)


def consent_problem(
    consents: Iterable[GivenConsent], target: ReferralTarget, moment: datetime
) -> str | None:
    """Why a referral to `target` is not covered by valid consent at `moment`, naming what is
    missing; None when it is covered."""
    consents = list(consents)
    covering = _covering(consents, target, ConsentPurpose.REFERRAL)
    who = f"'{target.offer_id}' (provider '{target.provider_id}')"
    if not covering:
        return (
            f"no consent to refer the person to {who}: record consent for the offer or its "
            "provider, purpose referral, covering at least the category needs"
        )
    allowed = consented_categories(consents, target, moment)
    missing = sorted(REFERRAL_NEEDS - allowed)
    if not missing:
        return None
    if not any(c.valid_at(moment) for c in covering):
        return f"the consent for {who} is no longer valid: {_why_invalid(covering, moment)}"
    return f"the consent for {who} does not cover the data categories: {', '.join(missing)}"


def _why_invalid(covering: list[GivenConsent], moment: datetime) -> str:
    reasons = []
    for consent in covering:
        if consent.withdrawn_at is not None and consent.withdrawn_at <= moment:
            reasons.append(f"withdrawn at {consent.withdrawn_at.isoformat()}")
        elif consent.scope.expires_at is not None and consent.scope.expires_at <= moment:
            reasons.append(f"expired at {consent.scope.expires_at.isoformat()}")
        else:
            reasons.append(f"given only from {consent.scope.given_at.isoformat()}")
    return "; ".join(reasons)


# --- referrals -------------------------------------------------------------------------------


class ReferralAction(StrEnum):
    """A step in the life of a referral."""

    SEND = "send"
    ACKNOWLEDGE = "acknowledge"
    ACCEPT = "accept"
    DECLINE = "decline"
    FIRST_CONTACT = "first-contact"
    CLOSE = "close"
    REROUTE = "reroute"
    WITHDRAW = "withdraw"


_LIVE = frozenset(
    {
        ReferralStatus.PROPOSED,
        ReferralStatus.SENT,
        ReferralStatus.ACKNOWLEDGED,
        ReferralStatus.ACCEPTED,
        ReferralStatus.FIRST_CONTACT,
    }
)

TRANSITIONS: Mapping[ReferralAction, tuple[frozenset[ReferralStatus], ReferralStatus]] = (
    MappingProxyType(
        {
            ReferralAction.SEND: (frozenset({ReferralStatus.PROPOSED}), ReferralStatus.SENT),
            ReferralAction.ACKNOWLEDGE: (
                frozenset({ReferralStatus.SENT}),
                ReferralStatus.ACKNOWLEDGED,
            ),
            ReferralAction.ACCEPT: (
                frozenset({ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED}),
                ReferralStatus.ACCEPTED,
            ),
            ReferralAction.DECLINE: (
                frozenset({ReferralStatus.SENT, ReferralStatus.ACKNOWLEDGED}),
                ReferralStatus.DECLINED,
            ),
            ReferralAction.FIRST_CONTACT: (
                frozenset({ReferralStatus.ACCEPTED}),
                ReferralStatus.FIRST_CONTACT,
            ),
            ReferralAction.CLOSE: (
                frozenset({ReferralStatus.FIRST_CONTACT}),
                ReferralStatus.CLOSED,
            ),
            ReferralAction.REROUTE: (
                _LIVE - {ReferralStatus.FIRST_CONTACT},
                ReferralStatus.REROUTED,
            ),
            ReferralAction.WITHDRAW: (_LIVE, ReferralStatus.WITHDRAWN),
        }
    )
)
"""For each action: the statuses it may follow, and the status it leads to."""


def referral_problem(
    action: ReferralAction, status: ReferralStatus, referral_id: str
) -> str | None:
    """Why `action` cannot follow `status` on referral `referral_id`; None if it can."""
    allowed, _ = TRANSITIONS[action]
    if status in allowed:
        return None
    return (
        f"referral {referral_id} is {status}: cannot {action} it "
        f"(only when {' or '.join(sorted(allowed))})"
    )


ALREADY_DONE: Mapping[ReferralAction, frozenset[ReferralStatus]] = MappingProxyType(
    {
        ReferralAction.ACKNOWLEDGE: frozenset(
            {
                ReferralStatus.ACKNOWLEDGED,
                ReferralStatus.ACCEPTED,
                ReferralStatus.FIRST_CONTACT,
                ReferralStatus.CLOSED,
            }
        ),
        ReferralAction.ACCEPT: frozenset(
            {ReferralStatus.ACCEPTED, ReferralStatus.FIRST_CONTACT, ReferralStatus.CLOSED}
        ),
        ReferralAction.DECLINE: frozenset({ReferralStatus.DECLINED}),
        ReferralAction.FIRST_CONTACT: frozenset(
            {ReferralStatus.FIRST_CONTACT, ReferralStatus.CLOSED}
        ),
    }
)
"""A service's answer that the referral has already reached (or passed) is a repeat: it is
answered as such and records nothing, like a second acknowledgement of an alert."""


def already_done(action: ReferralAction, status: ReferralStatus) -> bool:
    return status in ALREADY_DONE.get(action, frozenset())


def next_status(action: ReferralAction) -> ReferralStatus:
    return TRANSITIONS[action][1]


# --- deadlines -------------------------------------------------------------------------------

DAY = timedelta(days=1)


class CaseDeadlines(BaseModel):
    """How long each step of a case may take before Lotse re-routes or escalates it.

    The defaults are the agreement's working rhythm; an exercise or a test gives shorter ones
    (ISO 8601 or seconds). Follow-ups are counted from the registration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consent: Duration = Field(default=2 * DAY, gt=timedelta(0), le=timedelta(days=90))
    """From registration until consent is recorded, else the office is told."""
    assessment: Duration = Field(default=3 * DAY, gt=timedelta(0), le=timedelta(days=90))
    """From registration until the needs are assessed, else the office is told."""
    acknowledge: Duration = Field(default=2 * DAY, gt=timedelta(0), le=timedelta(days=30))
    """From delivery of a referral until the service acknowledges or accepts it."""
    accept: Duration = Field(default=3 * DAY, gt=timedelta(0), le=timedelta(days=30))
    """From acknowledgement until the service accepts or declines."""
    first_contact: Duration = Field(default=7 * DAY, gt=timedelta(0), le=timedelta(days=60))
    """From acceptance until the service has reached the person."""
    follow_up_answer: Duration = Field(default=14 * DAY, gt=timedelta(0), le=timedelta(days=90))
    """From a follow-up falling due until its answer is recorded."""
    follow_ups: list[Duration] = Field(
        default_factory=lambda: [timedelta(weeks=4), timedelta(days=91), timedelta(days=365)],
        max_length=6,
    )
    """When to ask whether help arrived, counted from the registration."""

    def for_status(self, status: ReferralStatus) -> timedelta | None:
        """How long a referral may stay in `status`; None where no one is waited for."""
        return {
            ReferralStatus.SENT: self.acknowledge,
            ReferralStatus.ACKNOWLEDGED: self.accept,
            ReferralStatus.ACCEPTED: self.first_contact,
        }.get(status)


# --- who owns what, and what is overdue ------------------------------------------------------

NEED_OPEN: frozenset[NeedStatus] = frozenset(set(NeedStatus) - {NeedStatus.MET})


def referral_live(status: ReferralStatus) -> bool:
    """A referral that may still lead to help (not declined, closed, re-routed or withdrawn)."""
    return status not in REFERRAL_ENDED


def unreferred_status(consents: Iterable[GivenConsent], moment: datetime) -> NeedStatus:
    """The status of an open need without a live referral: awaiting a referral while some
    consent to refer is valid at `moment`, else awaiting consent."""
    valid = any(c.scope.purpose is ConsentPurpose.REFERRAL and c.valid_at(moment) for c in consents)
    return NeedStatus.AWAITING_REFERRAL if valid else NeedStatus.AWAITING_CONSENT


def need_owner(status: NeedStatus, registered_by: str, provider_id: str | None) -> str | None:
    """Who must act on a need: the partner that registered the person until a referral is
    sent (to get consent and propose one), the referred offer's provider while it is referred
    or in care, the Commissioner's office once escalated; no one once met."""
    if status in (NeedStatus.AWAITING_CONSENT, NeedStatus.AWAITING_REFERRAL):
        return registered_by
    if status in (NeedStatus.REFERRED, NeedStatus.IN_CARE):
        return provider_id or registered_by
    if status is NeedStatus.ESCALATED:
        return COMMISSIONER_PARTNER_ID
    return None


def referral_owner(status: ReferralStatus, registered_by: str, provider_id: str) -> str | None:
    """Who must act on a referral: the registering partner until it is sent, then the
    provider; no one once it ended."""
    if status is ReferralStatus.PROPOSED:
        return registered_by
    return provider_id if referral_live(status) else None


class OverdueItem(BaseModel):
    """An open need or a live referral of one person whose due date has passed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    person_ref: PersonRef
    category: NeedCategory
    status: NeedStatus | ReferralStatus
    owner: str
    due_at: AwareDatetime
    referral_id: str | None = None
    """Set when the overdue item is a referral; None for a need without a live referral."""
