"""`VictimCase`: one affected person's way to help, from registration to closed.

One workflow per person and incident (id `<incident>--<reference>`), started directly when the
person is registered — never through updates on `IncidentResponse`, whose history holds at most
2,000 updates while an incident may register 5,000 people.

`run` reads as the procedure: record the registration, then follow the case — look for an offer
for every open need that consent covers, re-route what a service declined or left unanswered,
escalate to the Commissioner's office when no offer is left, ask the follow-ups — until every
follow-up is answered and no need is open, or someone closes the case. The rules live beside
it: the state and its changes in `case_state.py`, the checks in `case_checks.py`, consent and
the referral steps in contracts/case_rules.py, the German text in `case_details.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from contracts.accountability import RefusalKind
    from contracts.agreement import explain_validation_error
    from contracts.case_activities import (
        CHOOSE_OFFER,
        RECORD_ASSESSMENT,
        RECORD_CASE_CLOSED,
        RECORD_CONSENT,
        RECORD_CONSENT_WITHDRAWAL,
        RECORD_FOLLOW_UP,
        RECORD_NEED_ESCALATED,
        RECORD_REFERRAL_PROPOSED,
        RECORD_REFERRAL_STEP,
        RECORD_REGISTRATION,
    )
    from contracts.case_messages import (
        AssessNeeds,
        CaseMessagePurpose,
        CaseOpened,
        CaseOutcome,
        CaseResult,
        CaseStatus,
        ChooseOfferInput,
        CloseCase,
        DeclineReferral,
        FirstContact,
        GiveConsent,
        OfferChoiceResult,
        RecordAssessmentInput,
        RecordCaseClosedInput,
        RecordConsentInput,
        RecordFollowUp,
        RecordFollowUpInput,
        RecordNeedEscalatedInput,
        RecordReferralProposedInput,
        RecordReferralStepInput,
        RecordRegistrationInput,
        RecordWithdrawalInput,
        ReferNeed,
        ReferralAnswer,
        WithdrawConsent,
    )
    from contracts.case_rules import ReferralAction, already_done
    from contracts.messages import CommandContext, OperatorAction
    from contracts.people import CaseCloseReason, NeedStatus, ReferralStatus
    from contracts.vocabulary import VICTIM_CASE_WORKFLOW_TYPE
    from workflows import case_checks, record
    from workflows.case_checks import (
        CONSENT_MISSING,
        ConsentMissingError,
        InvalidRegistrationError,
    )
    from workflows.case_display import CaseDisplay
    from workflows.case_messaging import CaseMessaging
    from workflows.case_state import CaseNeed, CaseReferral, CaseState
    from workflows.checks import UpdateRefusedError

CARRY_OVER = "carry_over"
OFFER_FULL = "OfferFullError"
RECORD_ENDED = frozenset({"PersonErasedError", "CaseClosedError"})
"""Refusals that mean the record has ended the case: the workflow follows it."""
DELIVERY_TIMEOUT = timedelta(seconds=30)
CHOICE_TIMEOUT = timedelta(seconds=30)
MAX_REDELIVERY_PAUSE = timedelta(minutes=10)
"""The longest pause between two delivery rounds of a failing message (as for alerts)."""

RequestT = TypeVar("RequestT", bound=OperatorAction)
Check = Callable[[CaseState, RequestT], None]


def _refusal(message: str, kind: str = "UpdateRefused") -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn(
    name=VICTIM_CASE_WORKFLOW_TYPE,
    failure_exception_types=[InvalidRegistrationError],
    # One run per person, thousands in an incident: the sandbox would import this module
    # afresh for each (a quarter of the worker's CPU at 1,000 people). The test suite runs it
    # in the sandbox all the same (`Settings.sandbox_cases`, `build_worker`), and committed
    # histories replay in it (tests/workflow/test_replay.py), so a non-deterministic call
    # still fails there.
    sandboxed=False,
)
class VictimCase:
    """One person: consent, needs, referrals with deadlines, follow-ups."""

    @workflow.init
    def __init__(self, registration: Any = None) -> None:
        self._state: CaseState | None = None
        self._messaging: CaseMessaging | None = None
        self._lock = asyncio.Lock()
        self._wake = False
        self._display: CaseDisplay | None = None
        self._restore_problem: str | None = None
        if workflow.info().continued_run_id and isinstance(registration, dict):
            try:
                self._adopt(CaseState.model_validate(registration.get(CARRY_OVER)))
            except ValidationError as error:
                self._restore_problem = explain_validation_error(error)

    # --- the procedure --------------------------------------------------------------------

    @workflow.run
    async def run(self, registration: Any = None) -> CaseOutcome:
        if self._restore_problem is not None:
            raise InvalidRegistrationError(f"invalid carry-over: {self._restore_problem}")
        if self._state is None:
            await self._register(registration)
        else:
            self._resume_deliveries()  # a continued run: messages still on their way
        self._show()
        await self._follow_the_case()  # offers, deadlines, follow-ups; until done or closed
        return await self._end()

    async def _register(self, raw: Any) -> None:
        registration = case_checks.valid_registration(raw, self._case_id)
        ctx = record.step_context(registration.registered_by, registration.channel, "registration")
        opened = await record.record(
            RECORD_REGISTRATION,
            RecordRegistrationInput(
                ctx=ctx,
                incident_id=registration.incident_id,
                person_ref=registration.person_ref,
                registration=registration.registration(),
                assessment_due_at=ctx.business_time + registration.deadlines.assessment,
            ),
        )
        assert isinstance(opened, CaseOpened)  # the activity's declared result
        self._adopt(CaseState.opened(registration, opened))

    async def _follow_the_case(self) -> None:
        while True:
            await self._act_on_what_is_due()
            await self._route_pending_needs()
            if self._case.finished(workflow.now()):
                return
            if workflow.info().is_continue_as_new_suggested():
                await self._continue_as_new()
            await self._sleep_until_something_happens()

    async def _sleep_until_something_happens(self) -> None:
        state = self._case
        self._wake = False
        deadline = state.next_deadline()
        timeout = None if deadline is None else max(deadline - workflow.now(), timedelta(0))
        with suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: self._wake or workflow.info().is_continue_as_new_suggested(),
                timeout=timeout,
                timeout_summary="next deadline of the case",
            )

    async def _end(self) -> CaseOutcome:
        state = self._case
        if not state.closed:
            async with self._lock:
                await self._by_itself(
                    self._close(CaseCloseReason.ALL_NEEDS_MET, self._system_ctx("closed")), None
                )
        await self._messages.settled()
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert state.closed_reason is not None  # set by _close
        return CaseOutcome(
            case_id=self._case_id, person_ref=state.person_ref, closed_reason=state.closed_reason
        )

    async def _continue_as_new(self) -> None:
        """Hand the whole state, deadlines as absolute times, to a new run once the messages
        on their way have arrived and the updates in flight are answered."""
        await self._messages.settled()
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new({CARRY_OVER: self._case.model_dump(mode="json")})

    # --- what Lotse does by itself --------------------------------------------------------

    async def _act_on_what_is_due(self) -> None:
        """Re-route referrals past their deadline, tell the office what is overdue, ask the
        follow-ups that fell due."""
        state = self._case
        now = workflow.now()
        async with self._lock:
            for referral in state.overdue_referrals(now):
                assert referral.due_at is not None  # overdue: it has a due date
                step = f"referral/{referral.referral_id}/rerouted"
                rerouted = self._step(
                    referral,
                    ReferralAction.REROUTE,
                    self._system_ctx(step),
                    why=f"no answer by {referral.due_at.isoformat()} ({referral.status})",
                )
                await self._by_itself(rerouted, state.needs[referral.category])
            due = state.assessment_due_at
            if due is not None and due <= now and not state.assessment_reminded:
                state.assessment_reminded = True
                self._messages.tell_office(CaseMessagePurpose.REMINDER, "assessment", None)
            for need in state.overdue_needs(now):
                state.mark_reminded(need)
                purpose = (
                    CaseMessagePurpose.ESCALATION
                    if need.status is NeedStatus.ESCALATED
                    else CaseMessagePurpose.REMINDER
                )
                self._messages.tell_office(purpose, f"{need.category}/{need.status}", need.category)
            for follow_up in state.follow_ups_due(now):
                state.ask_follow_up(follow_up, now)
                self._messages.tell_office(
                    CaseMessagePurpose.FOLLOW_UP_DUE, f"follow-up-{follow_up.number}", None
                )
            for follow_up in state.follow_up_answers_overdue(now):
                follow_up.escalated = True
                self._messages.tell_office(
                    CaseMessagePurpose.ESCALATION, f"follow-up-{follow_up.number}-overdue", None
                )
            self._show()

    async def _route_pending_needs(self) -> None:
        for need in self._case.to_route():
            async with self._lock:
                if need in self._case.to_route():
                    ctx = self._system_ctx(f"route/{need.category}")
                    await self._by_itself(self._route(need, None, ctx), need)

    async def _by_itself(self, step: Awaitable[None], need: CaseNeed | None) -> None:
        """A step Lotse takes by itself, which the record may refuse. A record that holds the
        case closed or the person erased (`lotse privacy erase` while the case ran) ends the
        case here too. Any other refusal must not end the case with a person in it: the need
        goes to the office, which hears why."""
        try:
            await step
        except (ActivityError, ApplicationError) as error:
            cause = error.cause if isinstance(error, ActivityError) else error
            kind = cause.type if isinstance(cause, ApplicationError) else None
            message = cause.message if isinstance(cause, ApplicationError) else str(error)
            state = self._case
            if record.damaged(cause):
                state.note_damage(cause.message)
            if kind in RECORD_ENDED:
                state.close(state.closed_reason or CaseCloseReason.ERASED)
            elif need is not None:
                state.escalate(need.category, workflow.now())
                self._messages.tell_office(
                    CaseMessagePurpose.ESCALATION,
                    f"{need.category}/refused-{workflow.now().timestamp():.0f}",
                    need.category,
                    detail=message,
                )
            elif not record.damaged(cause):
                raise
            self._wake = True
            self._show()

    async def _route(self, need: CaseNeed, offer_id: str | None, ctx: CommandContext) -> None:
        """Find the best offer for `need` that consent covers and refer the person to it; with
        none left, escalate to the office; with offers but no consent, wait for consent."""
        state = self._case
        choice = await self._choose(need, offer_id)
        if not choice.ranked:
            if offer_id is not None:
                raise _refusal(f"offer '{offer_id}' cannot take this need: {choice.explanation}")
            await self._escalate(need, choice.explanation, ctx)
            return
        now = workflow.now()
        covered = [c for c in choice.ranked if state.consent_problem(c.target, now) is None]
        if not covered:
            if offer_id is not None:
                problem = state.consent_problem(choice.ranked[0].target, now) or "consent missing"
                await self._record_refusal(RefusalKind.CONSENT_MISSING, problem, ctx)
                raise _refusal(problem, CONSENT_MISSING)
            state.wait_for_consent(need.category)
            self._show()
            return
        manual = offer_id is not None
        for candidate in covered:
            referral_id = state.next_referral_id()
            try:
                await record.record(
                    RECORD_REFERRAL_PROPOSED,
                    RecordReferralProposedInput(
                        ctx=_sub(ctx, referral_id),
                        incident_id=state.registration.incident_id,
                        person_ref=state.person_ref,
                        referral_id=referral_id,
                        category=need.category,
                        target=candidate.target,
                        explanation=choice.explanation,
                        within_capacity=not manual,
                    ),
                )
            except ApplicationError as refusal:
                if refusal.type != OFFER_FULL or manual:
                    raise
                continue  # its last place went a moment ago: the next offer
            referral = state.propose(
                referral_id,
                need.category,
                candidate.target,
                candidate.offer_name,
                choice.explanation,
            )
            self._show()
            self._messages.in_background(self._deliver_referral(referral))
            return
        await self._escalate(need, "every matching offer covered by consent is full", ctx)

    async def _choose(self, need: CaseNeed, offer_id: str | None) -> OfferChoiceResult:
        registration = self._case.registration
        result: OfferChoiceResult = await workflow.execute_activity(
            CHOOSE_OFFER.name,
            ChooseOfferInput(
                incident_id=registration.incident_id,
                person_ref=registration.person_ref,
                category=need.category,
                region=registration.region,
                language=registration.language,
                exclude=[] if offer_id else list(need.tried),
                offer_id=offer_id,
            ),
            result_type=OfferChoiceResult,
            start_to_close_timeout=CHOICE_TIMEOUT,
            summary=str(need.category),
        )
        return result

    async def _escalate(self, need: CaseNeed, why: str, ctx: CommandContext) -> None:
        state = self._case
        due_at = workflow.now() + state.deadlines.acknowledge
        await record.record(
            RECORD_NEED_ESCALATED,
            RecordNeedEscalatedInput(
                ctx=_sub(ctx, f"escalated-{len(need.tried)}"),
                incident_id=state.registration.incident_id,
                person_ref=state.person_ref,
                category=need.category,
                why=why,
                due_at=due_at,
            ),
        )
        state.escalate(need.category, workflow.now())
        self._show()
        self._messages.tell_office(
            CaseMessagePurpose.ESCALATION,
            f"{need.category}/no-offer-{len(need.tried)}",
            need.category,
            detail=why,
        )

    async def _step(
        self,
        referral: CaseReferral,
        action: ReferralAction,
        ctx: CommandContext,
        **extra: Any,
    ) -> None:
        """Record one step of a referral and apply it; a step that ends it re-opens its need."""
        state = self._case
        now = workflow.now()
        await record.record(
            RECORD_REFERRAL_STEP,
            RecordReferralStepInput(
                ctx=ctx,
                incident_id=state.registration.incident_id,
                person_ref=state.person_ref,
                referral_id=referral.referral_id,
                action=action,
                due_at=state.due_after(action, now),
                **extra,
            ),
        )
        state.advance(referral, action, now)
        self._wake = True
        self._show()

    # --- messages -------------------------------------------------------------------------

    async def _deliver_referral(self, referral: CaseReferral) -> None:
        """Send the referral until it arrives (a relay outage is not the service's silence:
        its deadline starts at delivery), then record it as sent."""
        state = self._case
        message = self._messages.message(
            CaseMessagePurpose.REFERRAL,
            f"{referral.referral_id}/referral",
            category=referral.category,
            referral_id=referral.referral_id,
            target=referral.target,
            # The deadline runs from delivery: during an outage the one stated is earlier
            # than the real one, never later.
            due_at=workflow.now() + state.deadlines.acknowledge,
        )
        arrived = await self._messages.until_arrived(
            message, lambda: referral.status is not ReferralStatus.PROPOSED, referral
        )
        if not arrived:
            return
        async with self._lock:
            if referral.status is ReferralStatus.PROPOSED and not state.closed:
                step = f"referral/{referral.referral_id}/sent"
                sent = self._step(
                    referral, ReferralAction.SEND, self._system_ctx(step), at=workflow.now()
                )
                await self._by_itself(sent, state.needs[referral.category])

    def _resume_deliveries(self) -> None:
        for referral in self._case.referrals.values():
            if referral.status is ReferralStatus.PROPOSED:
                self._messages.in_background(self._deliver_referral(referral))

    # --- updates --------------------------------------------------------------------------

    @workflow.update(
        description="Record the person's consent to share data with one recipient (a partner "
        "or a support offer): data categories, purpose, written or oral."
    )
    async def give_consent(self, request: GiveConsent) -> CaseResult:
        if self._is_repeat():
            return self._result(duplicate=True)
        async with self._handling(self._check_consent, request) as (state, ctx):
            scope = request.scope(ctx.business_time)
            await record.record(RECORD_CONSENT, RecordConsentInput(**self._ref(ctx), scope=scope))
            state.give_consent(scope, ctx.business_time)
            self._wake = True
            return self._result()

    @give_consent.validator
    def _validate_consent(self, request: GiveConsent) -> None:
        self._validate(self._check_consent, request)

    @workflow.update(
        description="The person withdraws consent for a recipient: nothing more is shared with "
        "it, and its open referrals end."
    )
    async def withdraw_consent(self, request: WithdrawConsent) -> CaseResult:
        if self._is_repeat():
            return self._result(duplicate=True)
        async with self._handling(self._check_withdrawal, request) as (state, ctx):
            await record.record(
                RECORD_CONSENT_WITHDRAWAL,
                RecordWithdrawalInput(**self._ref(ctx), recipient=request.recipient),
            )
            for referral in state.withdraw_consent(request.recipient, ctx.business_time):
                state.advance(referral, ReferralAction.WITHDRAW, ctx.business_time)
                self._messages.tell_offer(referral)
            self._wake = True
            return self._result()

    @withdraw_consent.validator
    def _validate_withdrawal(self, request: WithdrawConsent) -> None:
        self._validate(self._check_withdrawal, request)

    @workflow.update(
        description="Record the person's needs from the catalogue with their urgency (no notes)."
    )
    async def assess_needs(self, request: AssessNeeds) -> CaseResult:
        if self._is_repeat():
            return self._result(duplicate=True)
        async with self._handling(case_checks.check_assessment, request) as (state, ctx):
            await record.record(
                RECORD_ASSESSMENT,
                RecordAssessmentInput(
                    **self._ref(ctx),
                    needs=list(request.needs),
                    due_at=ctx.business_time + state.deadlines.consent,
                ),
            )
            state.assess(list(request.needs), ctx.business_time)
            self._wake = True
            return self._result()

    @assess_needs.validator
    def _validate_assessment(self, request: AssessNeeds) -> None:
        self._validate(case_checks.check_assessment, request)

    @workflow.update(description="The service confirms that it received the referral.")
    async def acknowledge_referral(self, request: ReferralAnswer) -> CaseResult:
        return await self._answer(request, ReferralAction.ACKNOWLEDGE)

    @acknowledge_referral.validator
    def _validate_acknowledge(self, request: ReferralAnswer) -> None:
        self._validate(_step_check(ReferralAction.ACKNOWLEDGE), request)

    @workflow.update(description="The service takes the referral on.")
    async def accept_referral(self, request: ReferralAnswer) -> CaseResult:
        return await self._answer(request, ReferralAction.ACCEPT)

    @accept_referral.validator
    def _validate_accept(self, request: ReferralAnswer) -> None:
        self._validate(_step_check(ReferralAction.ACCEPT), request)

    @workflow.update(
        description="The service declines the referral (reason from a list); Lotse refers the "
        "need to the next matching offer, or escalates."
    )
    async def decline_referral(self, request: DeclineReferral) -> CaseResult:
        return await self._answer(request, ReferralAction.DECLINE, reason=request.reason)

    @decline_referral.validator
    def _validate_decline(self, request: DeclineReferral) -> None:
        self._validate(case_checks.check_decline, request)

    @workflow.update(description="The service has reached the person (first contact).")
    async def record_first_contact(self, request: FirstContact) -> CaseResult:
        return await self._answer(
            request, ReferralAction.FIRST_CONTACT, at=request.contacted_at or workflow.now()
        )

    @record_first_contact.validator
    def _validate_first_contact(self, request: FirstContact) -> None:
        self._validate(self._check_first_contact, request)

    @workflow.update(
        description="The answer to a follow-up: for each need, whether help arrived. An unmet "
        "need is referred again."
    )
    async def record_follow_up(self, request: RecordFollowUp) -> CaseResult:
        if self._is_repeat():
            return self._result(duplicate=True)
        async with self._handling(case_checks.check_follow_up, request) as (state, ctx):
            met = [r.category for r in request.results if r.help_arrived]
            unmet = [r.category for r in request.results if not r.help_arrived]
            await record.record(
                RECORD_FOLLOW_UP,
                RecordFollowUpInput(
                    **self._ref(ctx),
                    number=state.follow_up_number(),
                    met=met,
                    unmet=unmet,
                ),
            )
            closing = state.record_follow_up(met, unmet, ctx.business_time)
            for referral in closing:
                await self._step(
                    referral, ReferralAction.CLOSE, _sub(ctx, f"{referral.referral_id}-closed")
                )
            self._wake = True
            return self._result()

    @record_follow_up.validator
    def _validate_follow_up(self, request: RecordFollowUp) -> None:
        self._validate(case_checks.check_follow_up, request)

    @workflow.update(
        description="The Commissioner's office refers a need to an offer it chose (after an "
        "escalation); refused without the person's consent for that offer."
    )
    async def refer_need(self, request: ReferNeed) -> CaseResult:
        if self._is_repeat():
            return self._result(duplicate=True)
        async with self._handling(case_checks.check_refer, request) as (state, ctx):
            await self._route(state.needs[request.category], request.offer_id, ctx)
            return self._result()

    @refer_need.validator
    def _validate_refer(self, request: ReferNeed) -> None:
        self._validate(case_checks.check_refer, request)

    @workflow.update(
        description="Close the case (all needs met, help declined, a duplicate, or erased); "
        "open referrals are withdrawn."
    )
    async def close_case(self, request: CloseCase) -> CaseResult:
        if self._is_repeat():
            return self._result(duplicate=True)
        async with self._handling(case_checks.check_close, request) as (_, ctx):
            await self._close(request.reason, ctx)
            return self._result()

    @close_case.validator
    def _validate_close(self, request: CloseCase) -> None:
        self._validate(case_checks.check_close, request)

    async def _close(self, reason: CaseCloseReason, ctx: CommandContext) -> None:
        """Withdraw the open referrals (each offer is told to share nothing more), record the
        closing, end. After an erasure the record has done both already (`lotse privacy
        erase`): the case only follows it and tells the offers."""
        state = self._case
        for referral in state.live_referrals():
            if reason is CaseCloseReason.ERASED:
                state.advance(referral, ReferralAction.WITHDRAW, workflow.now())
            else:
                await self._step(
                    referral,
                    ReferralAction.WITHDRAW,
                    _sub(ctx, f"{referral.referral_id}-withdrawn"),
                )
            self._messages.tell_offer(referral)
        await record.record(
            RECORD_CASE_CLOSED, RecordCaseClosedInput(**self._ref(ctx), reason=reason)
        )
        state.close(reason)
        self._wake = True
        self._show()

    async def _answer(
        self, request: ReferralAnswer, action: ReferralAction, **extra: Any
    ) -> CaseResult:
        if self._is_repeat():
            return self._result(duplicate=True)
        async with self._handling(_step_check(action), request) as (state, ctx):
            referral = state.referral(request.referral_id)
            assert referral is not None  # checked
            if already_done(action, referral.status):
                return self._result(duplicate=True)
            await self._step(referral, action, ctx, **extra)
            return self._result()

    # --- query ----------------------------------------------------------------------------

    @workflow.query(description="Needs with owner, status and due date; referrals; follow-ups.")
    def status(self) -> CaseStatus:
        if self._state is None:
            raise UpdateRefusedError("the registration has not been recorded yet")
        return self._state.status(self._case_id)

    # --- how updates are admitted ---------------------------------------------------------

    async def _record_refusal(self, kind: RefusalKind, reason: str, ctx: CommandContext) -> None:
        """The refusal on the incident's record, naming this person (`ActionRefused`)."""
        state = self._case
        await record.record_refusal(
            state.registration.incident_id,
            kind,
            reason,
            ctx,
            lambda damage: state.note_damage(damage),
            person_ref=state.person_ref,
        )

    def _check_consent(self, state: CaseState, request: GiveConsent) -> None:
        case_checks.check_consent(state, request, workflow.now())

    def _check_withdrawal(self, state: CaseState, request: WithdrawConsent) -> None:
        case_checks.check_withdrawal(state, request, workflow.now())

    def _check_first_contact(self, state: CaseState, request: FirstContact) -> None:
        case_checks.check_first_contact(state, request, workflow.now())

    def _validate(self, check: Check[RequestT], request: RequestT) -> None:
        if self._state is not None:
            self._refuse_unless(check, request)

    def _refuse_unless(self, check: Check[RequestT], request: RequestT) -> None:
        try:
            check(self._case, request)
        except ConsentMissingError as refusal:
            raise _refusal(str(refusal), CONSENT_MISSING) from None
        except UpdateRefusedError as refusal:
            raise _refusal(str(refusal)) from None

    @asynccontextmanager
    async def _handling(
        self, check: Check[RequestT], request: RequestT
    ) -> AsyncIterator[tuple[CaseState, CommandContext]]:
        ctx = record.update_context(request.actor, request.channel)
        await workflow.wait_condition(lambda: self._state is not None)
        async with self._lock:
            self._refuse_unless(check, request)
            try:
                yield self._case, ctx
            except ApplicationError as error:
                if record.damaged(error):  # the update fails; the damage stays in view
                    self._case.note_damage(error.message)
                    self._show()
                raise
            self._remember_update()
            self._show()

    def _is_repeat(self) -> bool:
        info = workflow.current_update_info()
        return info is not None and self._state is not None and self._state.has_applied(info.id)

    def _remember_update(self) -> None:
        info = workflow.current_update_info()
        if info is not None:
            self._case.remember_update(info.id)

    # --- helpers --------------------------------------------------------------------------

    def _adopt(self, state: CaseState) -> None:
        self._state = state
        self._messaging = CaseMessaging(state, self._show)

    @property
    def _messages(self) -> CaseMessaging:
        assert self._messaging is not None  # made together with the state
        return self._messaging

    @property
    def _case(self) -> CaseState:
        if self._state is None:
            raise UpdateRefusedError("the registration has not been recorded yet")
        return self._state

    @property
    def _case_id(self) -> str:
        return workflow.info().workflow_id

    def _ref(self, ctx: CommandContext) -> dict[str, Any]:
        state = self._case
        return {
            "ctx": ctx,
            "incident_id": state.registration.incident_id,
            "person_ref": state.person_ref,
        }

    def _result(self, duplicate: bool = False) -> CaseResult:
        state = self._case
        return CaseResult(
            person_ref=state.person_ref,
            duplicate=duplicate,
            needs={need.category: need.status for need in state.needs.values()},
        )

    def _system_ctx(self, step: str) -> CommandContext:
        return record.system_context(self._case.registration.registered_by, step)

    def _show(self) -> None:
        if self._state is None:
            return
        if self._display is None:
            self._display = CaseDisplay()
        self._display.show(self._state)


def _step_check(action: ReferralAction) -> Check[ReferralAnswer]:
    def check(state: CaseState, request: ReferralAnswer) -> None:
        case_checks.check_referral_step(state, request, action)

    return check


def _sub(ctx: CommandContext, suffix: str) -> CommandContext:
    """A context for the n-th command of one update or step: its own, repeatable command id."""
    return ctx.model_copy(update={"command_id": f"{ctx.command_id}/{suffix}"[-64:]})
