"""The state of one person's case as `VictimCase` keeps it, and every change the procedure makes.

One pydantic model, `CaseState`, which is also what a run hands to the next on continue-as-new:
deadlines are absolute times in it, so they survive the hand-over unchanged. Pure: no Temporal
calls, no clock (times are passed in), so each rule is tested without a server.

Every open need has, at every moment, an owner (who must act), a status and a due date:

- awaiting consent (no referral can go out yet): the registering partner, by the consent deadline;
- referred: the offer's provider, by the deadline of the referral's current step;
- escalated (no offer left): the Commissioner's office;
- in care (first contact made): the provider, until the next follow-up;
- met: nobody, closed.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.case_messages import (
    CaseOpened,
    CaseStatus,
    FollowUpView,
    NeedView,
    ReferralView,
    RegisterPerson,
)
from contracts.case_rules import (
    CaseDeadlines,
    GivenConsent,
    ReferralAction,
    consent_problem,
    next_status,
    unreferred_status,
)
from contracts.messages import DeliveryPolicy
from contracts.people import (
    REFERRAL_ENDED,
    AssessedNeed,
    CaseCloseReason,
    ConsentScope,
    NeedStatus,
    ReferralStatus,
    ReferralTarget,
)
from contracts.vocabulary import NEED_CATEGORY_LABELS_DE, NeedCategory
from workflows import case_details
from workflows.case_details import damage_item

REMEMBERED_UPDATES = 200
_at = case_details.at
UNREFERRED = frozenset({NeedStatus.AWAITING_CONSENT, NeedStatus.AWAITING_REFERRAL})
OPEN_NEEDS = frozenset(
    {
        *UNREFERRED,
        NeedStatus.REFERRED,
        NeedStatus.ESCALATED,
        NeedStatus.IN_CARE,
    }
)


class _Mutable(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CaseReferral(_Mutable):
    referral_id: str
    category: NeedCategory
    target: ReferralTarget
    offer_name: str
    status: ReferralStatus = ReferralStatus.PROPOSED
    due_at: AwareDatetime | None = None
    sent_at: AwareDatetime | None = None
    delivery_trouble_since: AwareDatetime | None = None
    explanation: str = ""

    @property
    def live(self) -> bool:
        return self.status not in REFERRAL_ENDED

    def view(self) -> ReferralView:
        return ReferralView(
            referral_id=self.referral_id,
            category=self.category,
            offer_id=self.target.offer_id,
            provider_id=self.target.provider_id,
            offer_name=self.offer_name,
            status=self.status,
            due_at=self.due_at,
            sent_at=self.sent_at,
            delivery_trouble_since=self.delivery_trouble_since,
            explanation=self.explanation,
        )


class CaseNeed(_Mutable):
    category: NeedCategory
    urgency: str
    status: NeedStatus = NeedStatus.AWAITING_CONSENT
    owner: str
    due_at: AwareDatetime | None
    referral_id: str | None = None
    tried: list[str] = Field(default_factory=list)
    route_pending: bool = True
    """Lotse should look for an offer now (assessed, consent given, re-routed, re-opened)."""
    reminded: bool = False
    """The office was told that this need is overdue (once per overdue spell)."""

    def view(self) -> NeedView:
        return NeedView(
            category=self.category,
            urgency=self.urgency,
            status=self.status,
            owner=self.owner,
            due_at=self.due_at,
            referral_id=self.referral_id,
            tried_offers=list(self.tried),
        )


class FollowUp(_Mutable):
    number: int
    due_at: AwareDatetime
    asked_at: AwareDatetime | None = None
    answer_due_at: AwareDatetime | None = None
    answered_at: AwareDatetime | None = None
    escalated: bool = False

    def view(self) -> FollowUpView:
        return FollowUpView(
            number=self.number,
            due_at=self.due_at,
            answer_due_at=self.answer_due_at,
            answered_at=self.answered_at,
        )


class CaseState(_Mutable):
    """The whole state of one case; what continue-as-new carries."""

    registration: RegisterPerson
    registered_at: AwareDatetime
    office_id: str
    delivery: DeliveryPolicy
    exercise: bool = False
    consents: list[GivenConsent] = Field(default_factory=list)
    assessed_at: AwareDatetime | None = None
    assessment_reminded: bool = False
    needs: dict[NeedCategory, CaseNeed] = Field(default_factory=dict)
    referrals: dict[str, CaseReferral] = Field(default_factory=dict)
    follow_ups: list[FollowUp] = Field(default_factory=list)
    closed_reason: CaseCloseReason | None = None
    unscheduled_follow_ups: int = 0
    applied_updates: list[str] = Field(default_factory=list)
    record_damage: str | None = None
    """Why the person's record (or one the case reads) could not be read, as the store said
    it when a step last met it; None while it is readable."""

    @classmethod
    def opened(cls, registration: RegisterPerson, opened: CaseOpened) -> CaseState:
        follow_ups = [
            FollowUp(number=number, due_at=opened.registered_at + after)
            for number, after in enumerate(registration.deadlines.follow_ups, start=1)
        ]
        return cls(
            registration=registration,
            registered_at=opened.registered_at,
            office_id=opened.office_id,
            delivery=opened.delivery,
            exercise=opened.exercise,
            follow_ups=follow_ups,
        )

    # --- reading ------------------------------------------------------------------------------

    @property
    def deadlines(self) -> CaseDeadlines:
        return self.registration.deadlines

    @property
    def person_ref(self) -> str:
        return self.registration.person_ref

    @property
    def registrar(self) -> str:
        return self.registration.registered_by.partner_id

    @property
    def assessment_due_at(self) -> datetime | None:
        if self.assessed_at is not None or self.closed:
            return None
        return self.registered_at + self.deadlines.assessment

    @property
    def closed(self) -> bool:
        return self.closed_reason is not None

    def open_needs(self) -> list[CaseNeed]:
        return [need for need in self.needs.values() if need.status in OPEN_NEEDS]

    def live_referrals(self) -> list[CaseReferral]:
        return [referral for referral in self.referrals.values() if referral.live]

    def referral(self, referral_id: str) -> CaseReferral | None:
        return self.referrals.get(referral_id)

    def next_referral_id(self) -> str:
        return f"R{len(self.referrals) + 1}"

    def consent_problem(self, target: ReferralTarget, now: datetime) -> str | None:
        return consent_problem(self.consents, target, now)

    def to_route(self) -> list[CaseNeed]:
        """Needs for which Lotse should look for an offer now."""
        return [
            need for need in self.needs.values() if need.route_pending and need.status in UNREFERRED
        ]

    def finished(self, now: datetime) -> bool:
        """Every follow-up asked and answered (or passed) and no need open: the case can end."""
        if self.closed:
            return True
        if self.assessed_at is None or self.open_needs():
            return False
        return all(f.answered_at is not None for f in self.follow_ups)

    def due_after(self, action: ReferralAction, now: datetime) -> datetime:
        """By when the step after `action` is due, as the record is told: the deadline of the
        referral's next status; after first contact, the next follow-up; after a step that
        ends the referral without help, the window in which the need must be referred again."""
        allowed = self.deadlines.for_status(next_status(action))
        if allowed is not None:
            return now + allowed
        if action is ReferralAction.FIRST_CONTACT:
            return self._next_follow_up_at() or now + self.deadlines.follow_up_answer
        return now + self.deadlines.consent

    def follow_up_number(self) -> int:
        """The follow-up an answer belongs to: the oldest one asked and not answered, else
        the next after every one so far (an answer given without being asked)."""
        for follow_up in self.follow_ups:
            if follow_up.asked_at is not None and follow_up.answered_at is None:
                return follow_up.number
        return len(self.follow_ups) + self.unscheduled_follow_ups + 1

    def has_applied(self, update_id: str) -> bool:
        return update_id in self.applied_updates

    # --- deadlines ----------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        """The earliest moment at which Lotse must act by itself, if any."""
        moments: list[datetime] = []
        if self.assessment_due_at is not None and not self.assessment_reminded:
            moments.append(self.assessment_due_at)
        for need in self.open_needs():
            if need.due_at is not None and not need.reminded:
                moments.append(need.due_at)
        for referral in self.live_referrals():
            if referral.due_at is not None:
                moments.append(referral.due_at)
        for follow_up in self.follow_ups:
            if follow_up.asked_at is None:
                moments.append(follow_up.due_at)
            elif follow_up.answered_at is None and not follow_up.escalated:
                assert follow_up.answer_due_at is not None  # set when asked
                moments.append(follow_up.answer_due_at)
        return min(moments, default=None)

    def overdue_referrals(self, now: datetime) -> list[CaseReferral]:
        return [r for r in self.live_referrals() if r.due_at is not None and r.due_at <= now]

    def overdue_needs(self, now: datetime) -> list[CaseNeed]:
        """Open needs past their due date that the office has not been told about yet."""
        return [
            need
            for need in self.open_needs()
            if need.due_at is not None and need.due_at <= now and not need.reminded
        ]

    def follow_ups_due(self, now: datetime) -> list[FollowUp]:
        return [f for f in self.follow_ups if f.asked_at is None and f.due_at <= now]

    def follow_up_answers_overdue(self, now: datetime) -> list[FollowUp]:
        return [
            f
            for f in self.follow_ups
            if f.answered_at is None
            and not f.escalated
            and f.answer_due_at is not None
            and f.answer_due_at <= now
        ]

    # --- changes ------------------------------------------------------------------------------

    def give_consent(self, scope: ConsentScope, now: datetime) -> None:
        self.consents.append(GivenConsent(scope=scope))
        for need in self.needs.values():
            if need.status in UNREFERRED:
                need.status = unreferred_status(self.consents, now)
                need.route_pending = True

    def withdraw_consent(self, recipient: str, at: datetime) -> list[CaseReferral]:
        """Withdraw every consent for `recipient`; return the live referrals that it ends."""
        self.consents = [
            GivenConsent(scope=c.scope, withdrawn_at=at)
            if c.scope.recipient == recipient and c.withdrawn_at is None
            else c
            for c in self.consents
        ]
        for need in self.needs.values():
            if need.status in UNREFERRED:
                need.status = unreferred_status(self.consents, at)
        return [
            referral
            for referral in self.live_referrals()
            if recipient in (referral.target.offer_id, referral.target.provider_id)
        ]

    def assess(self, needs: list[AssessedNeed], now: datetime) -> None:
        self.assessed_at = self.assessed_at or now
        for assessed in needs:
            known = self.needs.get(assessed.category)
            if known is not None and known.status in OPEN_NEEDS:
                known.urgency = assessed.urgency.value
                continue
            self.needs[assessed.category] = CaseNeed(
                category=assessed.category,
                urgency=assessed.urgency.value,
                status=unreferred_status(self.consents, now),
                owner=self.registrar,
                due_at=now + self.deadlines.consent,
            )

    def propose(
        self,
        referral_id: str,
        category: NeedCategory,
        target: ReferralTarget,
        offer_name: str,
        explanation: str,
    ) -> CaseReferral:
        referral = CaseReferral(
            referral_id=referral_id,
            category=category,
            target=target,
            offer_name=offer_name,
            explanation=explanation,
        )
        self.referrals[referral_id] = referral
        need = self.needs[category]
        need.status = NeedStatus.REFERRED
        need.owner = target.provider_id
        need.referral_id = referral_id
        need.route_pending = False
        need.reminded = False
        need.due_at = None  # the referral's due date rules once it is sent
        if target.offer_id not in need.tried:
            need.tried.append(target.offer_id)
        return referral

    def advance(self, referral: CaseReferral, action: ReferralAction, now: datetime) -> None:
        """Move `referral` on by `action` (already checked) and keep its need in step."""
        referral.status = next_status(action)
        allowed = self.deadlines.for_status(referral.status)
        referral.due_at = now + allowed if allowed is not None else None
        if action is ReferralAction.SEND:
            referral.sent_at = now
            referral.delivery_trouble_since = None
        need = self.needs[referral.category]
        if need.referral_id != referral.referral_id:
            return
        need.due_at = referral.due_at
        if referral.status is ReferralStatus.FIRST_CONTACT:
            need.status = NeedStatus.IN_CARE
            need.due_at = self._next_follow_up_at()
        elif referral.status is ReferralStatus.CLOSED:
            need.status = NeedStatus.MET
            need.due_at = None
        elif not referral.live:
            self._reopen(need, now)

    def escalate(self, category: NeedCategory, now: datetime) -> None:
        need = self.needs[category]
        need.status = NeedStatus.ESCALATED
        need.owner = self.office_id
        need.referral_id = None
        need.route_pending = False
        need.reminded = False
        need.due_at = now + self.deadlines.acknowledge

    def wait_for_consent(self, category: NeedCategory) -> None:
        """No offer that fits is covered by consent: wait until consent is given."""
        need = self.needs[category]
        need.status = NeedStatus.AWAITING_CONSENT
        need.route_pending = False

    def mark_reminded(self, need: CaseNeed) -> None:
        need.reminded = True

    def ask_follow_up(self, follow_up: FollowUp, now: datetime) -> None:
        follow_up.asked_at = now
        follow_up.answer_due_at = now + self.deadlines.follow_up_answer

    def record_follow_up(
        self, met: list[NeedCategory], unmet: list[NeedCategory], now: datetime
    ) -> list[CaseReferral]:
        """Answer the oldest open follow-up (or count one given unasked); return the referrals
        that help arrived through, to be closed."""
        for follow_up in self.follow_ups:
            if follow_up.asked_at is not None and follow_up.answered_at is None:
                follow_up.answered_at = now
                break
        else:
            self.unscheduled_follow_ups += 1
        closing = []
        for category in met:
            need = self.needs[category]
            referral = self.referrals.get(need.referral_id or "")
            if referral is not None and referral.status is ReferralStatus.FIRST_CONTACT:
                closing.append(referral)
            else:
                need.status = NeedStatus.MET
                need.due_at = None
        for category in unmet:
            self._reopen(self.needs[category], now)
        return closing

    def close(self, reason: CaseCloseReason) -> None:
        self.closed_reason = reason
        for need in self.open_needs():
            need.route_pending = False

    def note_damage(self, message: str) -> None:
        """A record the case needs cannot be read: shown as its first open item from now on."""
        self.record_damage = message

    def remember_update(self, update_id: str) -> None:
        self.applied_updates.append(update_id)
        del self.applied_updates[:-REMEMBERED_UPDATES]

    def _reopen(self, need: CaseNeed, now: datetime) -> None:
        need.status = unreferred_status(self.consents, now)
        need.owner = self.registrar
        need.referral_id = None
        need.route_pending = True
        need.reminded = False
        need.due_at = now + self.deadlines.consent

    def _next_follow_up_at(self) -> datetime | None:
        pending = [f.due_at for f in self.follow_ups if f.asked_at is None]
        return min(pending, default=None)

    # --- the view -----------------------------------------------------------------------------

    def open_items(self) -> list[str]:
        """Who must do what by when, one line each; empty once nothing is open."""
        if self.closed:
            return []
        items = [damage_item(self.record_damage)] if self.record_damage else []
        if self.assessment_due_at is not None:
            items.append(f"Bedarfe erfassen bis {_at(self.assessment_due_at)}")
        for need in self.open_needs():
            label = NEED_CATEGORY_LABELS_DE[need.category]
            referral = self.referral(need.referral_id) if need.referral_id else None
            if referral is not None and referral.delivery_trouble_since is not None:
                items.append(
                    f"{label}: Vermittlung an {referral.offer_name} wird seit "
                    f"{_at(referral.delivery_trouble_since)} zugestellt "
                    "(Zustellung gestört)"
                )
                continue
            step = case_details.REFERRAL_STATUS_LABELS_DE[referral.status] if referral else None
            status = step or case_details.NEED_STATUS_LABELS_DE[need.status]
            items.append(f"{label}: {status} — zuständig {need.owner}, fällig {_at(need.due_at)}")
        for follow_up in self.follow_ups:
            if follow_up.asked_at is not None and follow_up.answered_at is None:
                items.append(
                    f"Nachfrage {follow_up.number}: Antwort fällig {_at(follow_up.answer_due_at)}"
                )
        return items

    def status(self, case_id: str) -> CaseStatus:
        return CaseStatus(
            case_id=case_id,
            incident_id=self.registration.incident_id,
            person_ref=self.person_ref,
            involvement=self.registration.involvement,
            region=self.registration.region,
            language=self.registration.language,
            registered_at=self.registered_at,
            consents=list(self.consents),
            needs=[need.view() for need in self.needs.values()],
            referrals=[referral.view() for referral in self.referrals.values()],
            follow_ups=[follow_up.view() for follow_up in self.follow_ups],
            assessment_due_at=self.assessment_due_at,
            open_items=self.open_items(),
            closed_reason=self.closed_reason,
            exercise=self.exercise,
        )
