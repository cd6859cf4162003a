"""One affected person's case as an aggregate: registration, sealed contact data, consent,
needs, referrals, follow-ups, closing and erasure.

The aggregate never holds contact data in plain text: only the sealed text the application
made with the person's own key (domain/sealing.py). The rules of consent, of referral steps and
of who owns a need come from contracts/case_rules.py, the same ones the workflow applies.
Every event carries the `CommandContext`; a command id applied before changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, AggregateEvent, event
from eventsourcing.utils import get_topic

from contracts.case_rules import (
    GivenConsent,
    ReferralAction,
    consent_problem,
    need_owner,
    next_status,
    referral_live,
    referral_owner,
    referral_problem,
    unreferred_status,
)
from contracts.messages import CommandContext
from contracts.people import (
    AssessedNeed,
    CaseCloseReason,
    ConsentScope,
    DeclineReason,
    NeedStatus,
    PersonRegistration,
    ReferralStatus,
    ReferralTarget,
)
from contracts.vocabulary import NeedCategory
from domain import ids
from domain.case_guards import CaseGuards, check_text
from domain.case_parts import FollowUp, NeedState, ReferralState
from domain.errors import CaseStepRefusedError, ConsentNotFoundError, ReferralRefusedError


class AffectedPerson(CaseGuards, Aggregate):
    """The record of one person affected by one incident, known by a pseudonymous reference."""

    @staticmethod
    def create_id(incident_key: str, registration: PersonRegistration) -> Any:
        return ids.person_id(incident_key, registration.person_ref)

    @event("Registered")
    def __init__(
        self, incident_key: str, registration: PersonRegistration, ctx: CommandContext
    ) -> None:
        self.incident_key = incident_key
        self.registration = registration
        self.registered_by = ctx.on_behalf_of or ctx.actor.partner_id
        self.registered_at = ctx.business_time
        self.sealed_contact: str | None = None
        self.given: dict[str, GivenConsent] = {}
        self.needs: dict[NeedCategory, NeedState] = {}
        self.referrals: dict[str, ReferralState] = {}
        self.follow_ups: dict[int, FollowUp] = {}
        self.closed_reason: CaseCloseReason | None = None
        self.erased = False
        self.command_ids = {ctx.command_id}

    @property
    def person_ref(self) -> str:
        return self.registration.person_ref

    @property
    def consents(self) -> list[GivenConsent]:
        """Every consent given, withdrawn ones included, oldest first."""
        return list(self.given.values())

    def has_applied(self, ctx: CommandContext) -> bool:
        return ctx.command_id in self.command_ids

    # --- commands -------------------------------------------------------------------------

    def record_contact(self, sealed: str, ctx: CommandContext) -> None:
        """Store the sealed contact data; it replaces any recorded before (also when the case
        is closed: a correction is the person's right)."""
        self.check_not_erased()
        self._contact_recorded(sealed=sealed, ctx=ctx)

    def give_consent(self, scope: ConsentScope, ctx: CommandContext) -> None:
        self.check_open()
        self._consent_given(consent_id=f"consent-{len(self.given) + 1}", scope=scope, ctx=ctx)

    def withdraw_consent(self, recipient: str, ctx: CommandContext) -> None:
        """Withdraw every valid consent for `recipient`, then every live referral that valid
        consent no longer covers (its need goes back to awaiting a referral or consent)."""
        self.check_not_erased()
        moment = ctx.business_time
        if not any(
            c.scope.recipient == recipient and c.valid_at(moment) for c in self.given.values()
        ):
            valid = sorted({c.scope.recipient for c in self.given.values() if c.valid_at(moment)})
            raise ConsentNotFoundError(
                f"person {self.person_ref} has no valid consent for '{recipient}' to withdraw "
                f"(valid consent for: {', '.join(valid) or 'nobody'})"
            )
        self._consent_withdrawn(recipient=recipient, withdrawn_at=moment, ctx=ctx)
        for referral in self._live_referrals():
            if consent_problem(self.given.values(), referral.target, moment) is not None:
                self._referral_withdrawn(referral_id=referral.referral_id, due_at=moment, ctx=ctx)

    def assess_needs(
        self, needs: list[AssessedNeed], due_at: datetime, ctx: CommandContext
    ) -> None:
        """Record the assessed needs, each due (to be referred) at `due_at`. A need already
        open keeps its status and gets the new urgency; a met one opens again."""
        self.check_open()
        if not needs:
            raise CaseStepRefusedError("needs: assess at least one need")
        self._needs_assessed(needs=list(needs), due_at=due_at, ctx=ctx)

    def propose_referral(
        self,
        referral_id: str,
        category: NeedCategory,
        target: ReferralTarget,
        explanation: str,
        ctx: CommandContext,
    ) -> None:
        self.check_open()
        check_text("explanation", explanation)
        if referral_id in self.referrals:
            raise ReferralRefusedError(f"referral {referral_id} was already proposed")
        need = self.open_need(category)
        current = self.referrals.get(need.referral_id or "")
        if current is not None and referral_live(current.status):
            raise ReferralRefusedError(
                f"need {category} already has the live referral {current.referral_id} "
                f"({current.status}): re-route or withdraw it first"
            )
        self.check_consent(target, ctx.business_time)
        self._referral_proposed(
            referral_id=referral_id,
            category=category,
            target=target,
            explanation=explanation,
            ctx=ctx,
        )

    def advance_referral(
        self,
        referral_id: str,
        action: ReferralAction,
        ctx: CommandContext,
        *,
        due_at: datetime | None = None,
        reason: DeclineReason | None = None,
        at: datetime | None = None,
        why: str | None = None,
    ) -> None:
        """One step of a referral (see `TRANSITIONS`). A step after which someone is waited
        for (send, acknowledge, accept, first contact) needs `due_at`; a step that ends the
        referral without help (decline, re-route, withdraw) makes the need due at `due_at`,
        or at once. Sending checks consent again: it may have expired since the proposal."""
        self.check_open()
        referral = self.referral(referral_id)
        problem = referral_problem(action, referral.status, referral_id)
        if problem is not None:
            raise ReferralRefusedError(problem)
        now = ctx.business_time
        if action is ReferralAction.SEND:
            self.check_consent(referral.target, now)
            due = self.required_due(action, referral_id, due_at)
            self._referral_sent(
                referral_id=referral_id, delivered_at=at or now, due_at=due, ctx=ctx
            )
        elif action is ReferralAction.ACKNOWLEDGE:
            due = self.required_due(action, referral_id, due_at)
            self._referral_acknowledged(referral_id=referral_id, due_at=due, ctx=ctx)
        elif action is ReferralAction.ACCEPT:
            due = self.required_due(action, referral_id, due_at)
            self._referral_accepted(referral_id=referral_id, due_at=due, ctx=ctx)
        elif action is ReferralAction.DECLINE:
            if reason is None:
                raise ReferralRefusedError(f"reason: say why referral {referral_id} is declined")
            self._referral_declined(
                referral_id=referral_id, reason=reason, due_at=due_at or now, ctx=ctx
            )
        elif action is ReferralAction.FIRST_CONTACT:
            due = self.required_due(action, referral_id, due_at)
            self._first_contact_made(referral_id=referral_id, at=at or now, due_at=due, ctx=ctx)
        elif action is ReferralAction.CLOSE:
            self._referral_closed(referral_id=referral_id, ctx=ctx)
        elif action is ReferralAction.REROUTE:
            why = check_text("why", why)
            self._referral_rerouted(referral_id=referral_id, why=why, due_at=due_at or now, ctx=ctx)
        else:
            self._referral_withdrawn(referral_id=referral_id, due_at=due_at or now, ctx=ctx)

    def escalate_need(
        self, category: NeedCategory, why: str, due_at: datetime, ctx: CommandContext
    ) -> None:
        self.check_open()
        check_text("why", why)
        self.open_need(category)
        self._need_escalated(category=category, why=why, due_at=due_at, ctx=ctx)

    def record_follow_up(
        self,
        number: int,
        met: list[NeedCategory],
        unmet: list[NeedCategory],
        ctx: CommandContext,
    ) -> None:
        """What the person said at follow-up `number`: met needs are met from now on; unmet
        ones are recorded for the workflow to act on."""
        self.check_not_erased()
        self.check_follow_up(number, met, unmet)
        self._follow_up_recorded(number=number, met=list(met), unmet=list(unmet), ctx=ctx)

    def close_case(self, reason: CaseCloseReason, ctx: CommandContext) -> None:
        """Close the case; live referrals are withdrawn. Closing a closed case changes nothing
        (so the workflow can follow an erasure that already closed it). Only an erasure closes
        a case as erased."""
        if self.closed_reason is not None:
            return
        self.check_not_erased()
        if reason is CaseCloseReason.ERASED:
            raise CaseStepRefusedError(
                "reason: a case is closed as erased only by erasing the person's data "
                "(lotse privacy erase)"
            )
        self._withdraw_live_referrals(ctx)
        self._case_closed(reason=reason, ctx=ctx)

    def erase(self, ctx: CommandContext) -> None:
        """Record the erasure: live referrals withdrawn, the case closed (reason erased) if it
        was open, `PersonalDataErased`. The application destroys the key afterwards."""
        if self.erased:
            return
        self._withdraw_live_referrals(ctx)
        if self.closed_reason is None:
            self._case_closed(reason=CaseCloseReason.ERASED, ctx=ctx)
        self._personal_data_erased(ctx=ctx)

    def _withdraw_live_referrals(self, ctx: CommandContext) -> None:
        for referral in self._live_referrals():
            self._referral_withdrawn(
                referral_id=referral.referral_id, due_at=ctx.business_time, ctx=ctx
            )

    def _live_referrals(self) -> list[ReferralState]:
        return [r for r in self.referrals.values() if referral_live(r.status)]

    # --- events ---------------------------------------------------------------------------

    def _applied(self, ctx: CommandContext) -> None:
        self.command_ids.add(ctx.command_id)

    def _set_need(
        self, category: NeedCategory, status: NeedStatus, due_at: datetime | None
    ) -> None:
        need = self.needs[category]
        referral = self.referrals.get(need.referral_id or "")
        need.status = status
        need.owner = need_owner(
            status, self.registered_by, referral.target.provider_id if referral else None
        )
        need.due_at = due_at if status is not NeedStatus.MET else None

    def _set_referral(
        self, referral_id: str, action: ReferralAction, due_at: datetime | None, ctx: CommandContext
    ) -> ReferralState:
        referral = self.referrals[referral_id]
        referral.status = next_status(action)
        referral.owner = referral_owner(
            referral.status, self.registered_by, referral.target.provider_id
        )
        referral.due_at = due_at if referral_live(referral.status) else None
        referral.history.append((referral.status, ctx.business_time))
        return referral

    def _unrefer(self, referral_id: str, due_at: datetime, ctx: CommandContext) -> None:
        """The need of a referral that ended without help is open again, due at `due_at`."""
        category = self.referrals[referral_id].category
        if self.needs[category].status is NeedStatus.MET:
            return
        status = unreferred_status(self.given.values(), ctx.business_time)
        if self.needs[category].status is NeedStatus.ESCALATED:
            status = NeedStatus.ESCALATED
        self._set_need(category, status, due_at)

    @event("ContactRecorded")
    def _contact_recorded(self, sealed: str, ctx: CommandContext) -> None:
        self.sealed_contact = sealed
        self._applied(ctx)

    @event("ConsentGiven")
    def _consent_given(self, consent_id: str, scope: ConsentScope, ctx: CommandContext) -> None:
        self.given[consent_id] = GivenConsent(scope=scope)
        self._refresh_unreferred(ctx.business_time)
        self._applied(ctx)

    @event("ConsentWithdrawn")
    def _consent_withdrawn(
        self, recipient: str, withdrawn_at: datetime, ctx: CommandContext
    ) -> None:
        for consent_id, consent in self.given.items():
            if consent.scope.recipient == recipient and consent.valid_at(withdrawn_at):
                self.given[consent_id] = consent.model_copy(update={"withdrawn_at": withdrawn_at})
        self._refresh_unreferred(ctx.business_time)
        self._applied(ctx)

    def _refresh_unreferred(self, moment: datetime) -> None:
        waiting = (NeedStatus.AWAITING_CONSENT, NeedStatus.AWAITING_REFERRAL)
        status = unreferred_status(self.given.values(), moment)
        for need in self.needs.values():
            if need.status in waiting:
                need.status = status

    @event("NeedsAssessed")
    def _needs_assessed(
        self, needs: list[AssessedNeed], due_at: datetime, ctx: CommandContext
    ) -> None:
        for assessed in needs:
            category = NeedCategory(assessed.category)
            need = self.needs.get(category)
            if need is not None and need.status is not NeedStatus.MET:
                need.urgency = assessed.urgency
                continue
            status = unreferred_status(self.given.values(), ctx.business_time)
            self.needs[category] = NeedState(
                category, assessed.urgency, status, None, None, opened_at=ctx.business_time
            )
            self._set_need(category, status, due_at)
        self._applied(ctx)

    @event("ReferralProposed")
    def _referral_proposed(
        self,
        referral_id: str,
        category: str,
        target: ReferralTarget,
        explanation: str,
        ctx: CommandContext,
    ) -> None:
        need = self.needs[NeedCategory(category)]
        self.referrals[referral_id] = ReferralState(
            referral_id=referral_id,
            category=need.category,
            target=target,
            explanation=explanation,
            status=ReferralStatus.PROPOSED,
            owner=self.registered_by,
            due_at=need.due_at,
            history=[(ReferralStatus.PROPOSED, ctx.business_time)],
        )
        need.referral_id = referral_id
        self._applied(ctx)

    @event("ReferralSent")
    def _referral_sent(
        self, referral_id: str, delivered_at: datetime, due_at: datetime, ctx: CommandContext
    ) -> None:
        referral = self._set_referral(referral_id, ReferralAction.SEND, due_at, ctx)
        referral.delivered_at = delivered_at
        referral.answer_due_at = due_at
        if self.needs[referral.category].status is not NeedStatus.MET:
            self._set_need(referral.category, NeedStatus.REFERRED, due_at)
        self._applied(ctx)

    @event("ReferralAcknowledged")
    def _referral_acknowledged(
        self, referral_id: str, due_at: datetime, ctx: CommandContext
    ) -> None:
        self._waited_for(referral_id, ReferralAction.ACKNOWLEDGE, due_at, ctx)

    @event("ReferralAccepted")
    def _referral_accepted(self, referral_id: str, due_at: datetime, ctx: CommandContext) -> None:
        self._waited_for(referral_id, ReferralAction.ACCEPT, due_at, ctx)

    def _waited_for(
        self, referral_id: str, action: ReferralAction, due_at: datetime, ctx: CommandContext
    ) -> None:
        referral = self._set_referral(referral_id, action, due_at, ctx)
        need = self.needs[referral.category]
        if need.status is NeedStatus.REFERRED and need.referral_id == referral_id:
            need.due_at = due_at
        self._applied(ctx)

    @event("ReferralDeclined")
    def _referral_declined(
        self, referral_id: str, reason: str, due_at: datetime, ctx: CommandContext
    ) -> None:
        referral = self._set_referral(referral_id, ReferralAction.DECLINE, None, ctx)
        referral.decline_reason = DeclineReason(reason)
        self._unrefer(referral_id, due_at, ctx)
        self._applied(ctx)

    @event("FirstContactMade")
    def _first_contact_made(
        self, referral_id: str, at: datetime, due_at: datetime, ctx: CommandContext
    ) -> None:
        referral = self._set_referral(referral_id, ReferralAction.FIRST_CONTACT, due_at, ctx)
        referral.first_contact_at = at
        if self.needs[referral.category].status is not NeedStatus.MET:
            self._set_need(referral.category, NeedStatus.IN_CARE, due_at)
        self._applied(ctx)

    @event("ReferralClosed")
    def _referral_closed(self, referral_id: str, ctx: CommandContext) -> None:
        referral = self._set_referral(referral_id, ReferralAction.CLOSE, None, ctx)
        self._set_need(referral.category, NeedStatus.MET, None)
        self._applied(ctx)

    @event("ReferralRerouted")
    def _referral_rerouted(
        self, referral_id: str, why: str, due_at: datetime, ctx: CommandContext
    ) -> None:
        self._set_referral(referral_id, ReferralAction.REROUTE, None, ctx)
        self._unrefer(referral_id, due_at, ctx)
        self._applied(ctx)

    @event("ReferralWithdrawn")
    def _referral_withdrawn(self, referral_id: str, due_at: datetime, ctx: CommandContext) -> None:
        self._set_referral(referral_id, ReferralAction.WITHDRAW, None, ctx)
        self._unrefer(referral_id, due_at, ctx)
        self._applied(ctx)

    @event("NeedEscalated")
    def _need_escalated(
        self, category: str, why: str, due_at: datetime, ctx: CommandContext
    ) -> None:
        self._set_need(NeedCategory(category), NeedStatus.ESCALATED, due_at)
        self._applied(ctx)

    @event("FollowUpRecorded")
    def _follow_up_recorded(
        self, number: int, met: list[str], unmet: list[str], ctx: CommandContext
    ) -> None:
        met_needs = [NeedCategory(c) for c in met]
        for category in met_needs:
            self._set_need(category, NeedStatus.MET, None)
        unmet_needs = [NeedCategory(c) for c in unmet]
        self.follow_ups[number] = FollowUp(number, met_needs, unmet_needs, ctx.business_time)
        self._applied(ctx)

    @event("CaseClosed")
    def _case_closed(self, reason: str, ctx: CommandContext) -> None:
        self.closed_reason = CaseCloseReason(reason)
        self._applied(ctx)

    @event("PersonalDataErased")
    def _personal_data_erased(self, ctx: CommandContext) -> None:
        self.erased = True
        self.sealed_contact = None
        self._applied(ctx)


PERSON_EVENT_TOPICS = [
    get_topic(value)
    for name, value in vars(AffectedPerson).items()
    if isinstance(value, type) and issubclass(value, AggregateEvent) and name not in vars(Aggregate)
]
"""The topics of the person's own events, to read them from the notification log."""
