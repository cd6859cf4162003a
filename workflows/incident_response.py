"""`IncidentResponse`: the agreed procedure for one incident, from declaration to reflection.

Reads top to bottom as the procedure in docs/procedure.md: record the declaration, alert every
partner at once and escalate on durable timers (`alerting`), coordinate needs (`coordinating`),
wait for the reflection after the acute phase (`awaiting-reflection` → `reflection-due`), record
it (`closed`).
`call_off` ends it from any phase before `closed`, and everyone who was alerted hears so.

An alert always reaches someone, or somebody sees at once that it did not: a message that cannot
be delivered is retried with growing pauses for as long as the partner has not answered, shown
as "Zustellung gestört" meanwhile, and the ladder only moves on because nobody answered a
message that arrived.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from contracts.activities import (
        DELIVER_NOTIFICATION,
        RECORD_ACKNOWLEDGEMENT,
        RECORD_ACUTE_PHASE_CLOSED,
        RECORD_ASSIGNMENT,
        RECORD_CALL_OFF,
        RECORD_DECLARATION,
        RECORD_ESCALATION,
        RECORD_NEEDS,
        RECORD_NOTIFICATION,
        RECORD_REFLECTION,
        RECORD_REFLECTION_DUE,
        RECORD_UNREACHABLE,
        ActivitySpec,
    )
    from contracts.agreement import describe_validation_error, explain_validation_error
    from contracts.checks import incident_id_problem, occurred_at_problem
    from contracts.messages import (
        AcknowledgeAlert,
        AcknowledgementResult,
        Actor,
        AssignmentResult,
        AssignNeedCategory,
        CallOff,
        CloseAcutePhase,
        CloseAcutePhaseInput,
        CommandContext,
        DeclarationRecorded,
        DeliverNotificationInput,
        DeliveryReceipt,
        IncidentCarryOver,
        IncidentDeclaration,
        IncidentOutcome,
        IncidentStatus,
        IncidentStepInput,
        NeedTotal,
        PartnerProcedure,
        PhaseResult,
        RecordAcknowledgementInput,
        RecordAssignmentInput,
        RecordCallOffInput,
        RecordDeclarationInput,
        RecordEscalationInput,
        RecordNeedsInput,
        RecordNotificationInput,
        RecordReflection,
        RecordReflectionInput,
        RecordUnreachableInput,
        ReportNeeds,
    )
    from contracts.rules import Action, phase_problem, remit_problem
    from contracts.text import SYSTEM_STAFF_REF
    from contracts.vocabulary import (
        COMMISSIONER_PARTNER_ID,
        FINAL_PHASES,
        INCIDENT_WORKFLOW_TYPE,
        SEARCH_ATTRIBUTE_KIND,
        SEARCH_ATTRIBUTE_PHASE,
        SEARCH_ATTRIBUTE_REGION,
        ActorChannel,
        AlertState,
        ContactChannel,
        EscalationStep,
        NeedCategory,
        NotificationPurpose,
        Phase,
        Region,
    )
    from workflows import details
    from workflows.alerts import AlertTrack

PHASE_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_PHASE)
KIND_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_KIND)
REGION_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_REGION)

InputT = TypeVar("InputT")
ResultT = TypeVar("ResultT")

DEFAULT_REFLECTION_AFTER = timedelta(weeks=6)
RECORD_TIMEOUT = timedelta(seconds=10)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
DELIVERY_TIMEOUT = timedelta(seconds=30)
MAX_REDELIVERY_PAUSE = timedelta(minutes=10)
"""The longest pause between two delivery rounds of a failing message. Bounded so that a relay
that comes back is used within minutes, and so that days of outage stay far below the history
limit (about 8 events per round and step)."""

CARRY_OVER = "carry_over"
CONTINUABLE = frozenset({Phase.COORDINATING, Phase.AWAITING_REFLECTION, Phase.REFLECTION_DUE})
REMEMBERED_UPDATES = 500
UPDATE_COMMANDS = uuid.UUID("5f1d1c55-7c2b-4f7a-9a43-0b8f3c1d2e6a")
"""Namespace of the command ids made from Temporal update ids (uuid5): the same update id always
gives the same command id, so the record applies a repeated update once."""


class InvalidDeclarationError(Exception):
    """The start input is not a valid declaration: fails the workflow at once (never retried).

    Named in `failure_exception_types` so that only this error, and not a later bug in a
    handler, fails a live incident.
    """


class UpdateRefusedError(Exception):
    """An update that the current state does not allow; the message is for the operator."""


def _refusal(message: str) -> ApplicationError:
    """A refusal as the operator sees it: typed, final, and shown without a stack trace."""
    return ApplicationError(message, type="UpdateRefused", non_retryable=True)


@workflow.defn(name=INCIDENT_WORKFLOW_TYPE, failure_exception_types=[InvalidDeclarationError])
class IncidentResponse:
    """One incident: alert, acknowledge, escalate, coordinate, reflect."""

    @workflow.init
    def __init__(self, declaration: Any = None) -> None:
        # `Any` and a default: whatever an operator pastes into the UI (nothing, a string, a
        # list) must reach the validation below and fail the workflow with a message, not fail
        # the decoding, which Temporal would retry for ever.
        self._declaration: IncidentDeclaration | None = None
        self._recorded: DeclarationRecorded | None = None
        self._phase = Phase.ALERTING
        self._alerts: dict[str, AlertTrack] = {}
        self._alerting_started_at: datetime | None = None
        self._needs: dict[NeedCategory, dict[Region, int]] = {}
        self._assignments: dict[NeedCategory, str] = {}
        self._reflection_due_at: datetime | None = None
        self._call_off_reason: str | None = None
        self._lock = asyncio.Lock()
        self._deliveries: list[asyncio.Task[None]] = []
        self._applied_updates: list[str] = []
        self._shown_attributes = _current_attributes()
        self._shown_details: str | None = None
        self._restore_problem: str | None = None
        if workflow.info().continued_run_id and isinstance(declaration, dict):
            # Only a run that continues an earlier one takes a carry-over; a fresh start with
            # a `carry_over` field is an invalid declaration like any other.
            try:
                self._restore(IncidentCarryOver.model_validate(declaration.get(CARRY_OVER)))
            except ValidationError as error:
                self._restore_problem = explain_validation_error(error)

    # --- the procedure --------------------------------------------------------------------

    @workflow.run
    async def run(self, declaration: Any = None) -> IncidentOutcome:
        if self._restore_problem is not None:
            raise InvalidDeclarationError(f"invalid carry-over: {self._restore_problem}")
        if self._recorded is None:
            await self._declare_and_alert(declaration)
        else:
            self._show()  # a continued run: the UI's details start empty
        while not self._ended():
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new({CARRY_OVER: self._carry_over().model_dump(mode="json")})
            if self._phase is Phase.AWAITING_REFLECTION:
                await self._await_reflection()
            else:
                await self._phase_change()
        await asyncio.gather(*self._deliveries)
        if self._phase is Phase.CALLED_OFF:
            await self._give_all_clear()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return IncidentOutcome(
            incident_id=workflow.info().workflow_id,
            phase=self._phase,
            unreachable_partners=[
                pid for pid, t in self._alerts.items() if t.state is AlertState.UNREACHABLE
            ],
            reason=self._call_off_reason,
        )

    async def _phase_change(self) -> None:
        """Wait until an update moves the phase on, or the history asks for a new run."""
        phase = self._phase
        await workflow.wait_condition(
            lambda: self._phase is not phase or self._should_continue_as_new()
        )

    async def _declare_and_alert(self, raw: Any) -> None:
        """Record the declaration, then alert every partner at once until each has
        acknowledged or its escalation is exhausted."""
        self._declaration = self._validated(raw)
        self._show()
        self._recorded = await self._record_declaration()
        self._alerts = {p.partner_id: AlertTrack(p) for p in self._recorded.partners}
        self._alerting_started_at = workflow.now()
        self._show()
        await asyncio.gather(*(self._alert(track) for track in self._alerts.values()))
        if not self._ended():
            self._enter(Phase.COORDINATING)

    async def _alert(self, track: AlertTrack) -> None:
        """Alert one partner; escalate on durable timers until it acknowledges.

        A step whose message could not be delivered hands over to the next contact at once
        (nobody can answer a message that never arrived) and keeps being retried meanwhile."""
        for step, allowed in self._ladder(track.partner):
            if self._done(track):
                return
            if step is not EscalationStep.PRIMARY:
                await self._escalate(track, step)
                if self._done(track):  # answered while the escalation was recorded
                    return
            if await self._deliver_step(track, step, allowed) and await self._answered_in_time(
                track, step
            ):
                return
        await self._last_chance(track)

    def _ladder(self, partner: PartnerProcedure) -> list[tuple[EscalationStep, timedelta]]:
        """Each contact in turn, with the time it has to answer once the message arrived."""
        return [
            (EscalationStep.PRIMARY, self._ack_deadline(partner)),
            (EscalationStep.DEPUTY, self._escalation_step()),
            (EscalationStep.COMMISSIONER, self._escalation_step()),
        ]

    async def _escalate(self, track: AlertTrack, step: EscalationStep) -> None:
        track.state, track.step = AlertState.ESCALATED, step
        self._show()
        await self._record(
            RECORD_ESCALATION,
            RecordEscalationInput(
                ctx=self._system_ctx(),
                incident_id=self._incident_id,
                partner_id=track.partner.partner_id,
                to_step=step,
            ),
        )

    async def _deliver_step(
        self, track: AlertTrack, step: EscalationStep, allowed: timedelta
    ) -> bool:
        """Send the step's message; whether it arrived. One that did not is retried in the
        background until it arrives or the partner answers."""
        if await self._notify(track, _purpose_of(step), step, answer_within=allowed):
            return True
        self._deliveries.append(asyncio.create_task(self._redeliver(track, step, allowed)))
        return False

    async def _answered_in_time(self, track: AlertTrack, step: EscalationStep | str) -> bool:
        """Wait on a durable timer until the deadline (which a late arrival elsewhere may push
        back); whether the partner answered (or the incident ended) in time."""
        while not self._done(track):
            assert track.deadline_at is not None
            wait = track.deadline_at - workflow.now()
            if wait <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(
                    lambda: self._done(track),
                    timeout=wait,
                    timeout_summary=f"{step} deadline {track.partner.partner_id}",
                )
            except TimeoutError:
                continue
        return True

    async def _last_chance(self, track: AlertTrack) -> None:
        """Every contact was tried. Unreachable only once every message has arrived and the
        last time to answer ran out: while a message still cannot be delivered, the partner is
        shown with its delivery trouble (undeliverable while none arrived), not as silent."""
        while not self._done(track):
            if track.trouble:
                if not track.delivered_steps:
                    track.state = AlertState.UNDELIVERABLE
                    self._show()
                await self._trouble_changes(track)
                continue
            if not await self._answered_in_time(track, "last"):
                break
        if self._done(track):
            return
        track.state = AlertState.UNREACHABLE
        self._show()
        await self._record(
            RECORD_UNREACHABLE,
            RecordUnreachableInput(
                ctx=self._system_ctx(),
                incident_id=self._incident_id,
                partner_id=track.partner.partner_id,
            ),
        )

    async def _trouble_changes(self, track: AlertTrack) -> None:
        """Wait until a failing message arrives (or another starts failing), or it is over."""
        failing = set(track.trouble)
        await workflow.wait_condition(lambda: self._done(track) or set(track.trouble) != failing)

    async def _redeliver(self, track: AlertTrack, step: EscalationStep, allowed: timedelta) -> None:
        """Retry one undelivered step with growing pauses until it arrives, the partner has
        answered or is settled, or the incident ends."""
        assert self._recorded is not None
        pause = self._recorded.delivery.maximum_interval
        while True:
            try:
                await workflow.wait_condition(
                    lambda: self._done(track),
                    timeout=pause,
                    timeout_summary=f"redelivery pause {step} {track.partner.partner_id}",
                )
                return
            except TimeoutError:
                pass
            if await self._notify(
                track, _purpose_of(step), step, retry=True, answer_within=allowed
            ):
                return
            pause = min(pause * 2, MAX_REDELIVERY_PAUSE)

    async def _await_reflection(self) -> None:
        """Durable wait for the reflection; then tell every partner that it is due."""
        assert self._reflection_due_at is not None
        wait = max(self._reflection_due_at - workflow.now(), timedelta(0))
        try:
            await workflow.wait_condition(
                lambda: (
                    self._phase is not Phase.AWAITING_REFLECTION or self._should_continue_as_new()
                ),
                timeout=wait,
                timeout_summary="reflection wait",
            )
            return
        except TimeoutError:
            pass
        async with self._lock:
            if self._phase is not Phase.AWAITING_REFLECTION:
                return
            await self._record(
                RECORD_REFLECTION_DUE,
                IncidentStepInput(ctx=self._system_ctx(), incident_id=self._incident_id),
            )
            self._enter(Phase.REFLECTION_DUE)
        await asyncio.gather(
            *(
                self._notify(track, NotificationPurpose.REFLECTION_DUE, EscalationStep.PRIMARY)
                for track in self._alerts.values()
            )
        )

    async def _give_all_clear(self) -> None:
        """ "Entwarnung": every contact that a message reached hears that it is called off."""
        await asyncio.gather(
            *(
                self._notify(track, NotificationPurpose.ALL_CLEAR, step)
                for track in self._alerts.values()
                for step in list(track.delivered_steps)
            )
        )

    # --- updates --------------------------------------------------------------------------

    @workflow.update(
        description="A partner acknowledges its alert (also on its behalf, e.g. by phone). "
        "Staff references are roles or numbers such as lagedienst-1, never names."
    )
    async def acknowledge_alert(self, request: AcknowledgeAlert) -> AcknowledgementResult:
        ctx = self._update_ctx(request.actor, request.channel, request.partner_id)
        await workflow.wait_condition(lambda: self._recorded is not None)
        self._refuse_unless(lambda: self._check_acknowledge(request))
        track = self._alerts[request.partner_id]
        if track.state is AlertState.ACKNOWLEDGED:
            return self._ack_result(track, duplicate=True)
        assert self._alerting_started_at is not None
        received_at = request.received_at or ctx.business_time
        seconds = max((received_at - self._alerting_started_at).total_seconds(), 0.0)
        late = received_at > self._alerting_started_at + self._ack_deadline(track.partner)
        before = track.status()
        # The answer counts when it arrived: the ladder stops now, even while the record
        # below still waits for the store.
        track.acknowledge(received_at, ctx.business_time, late, seconds)
        self._show()
        async with self._lock:
            try:
                await self._record(
                    RECORD_ACKNOWLEDGEMENT,
                    RecordAcknowledgementInput(
                        ctx=ctx,
                        incident_id=self._incident_id,
                        partner_id=request.partner_id,
                        late=late,
                        seconds_to_acknowledge=seconds,
                        received_at=request.received_at,
                    ),
                )
            except ApplicationError:
                track.reset_to(before)  # the record refused it: the state must not claim it
                self._show()
                raise
        self._remember_update()
        return self._ack_result(track, duplicate=False)

    @acknowledge_alert.validator
    def _validate_acknowledge(self, request: AcknowledgeAlert) -> None:
        self._validate_now(lambda: self._check_acknowledge(request))

    @workflow.update(
        description="Report counts of needs by category and region (counts only, no names)."
    )
    async def report_needs(self, request: ReportNeeds) -> PhaseResult:
        if self._is_repeat():
            return PhaseResult(phase=self._phase, duplicate=True)
        async with self._handling(request, lambda: self._check_report_needs(request)) as ctx:
            await self._record(
                RECORD_NEEDS,
                RecordNeedsInput(ctx=ctx, incident_id=self._incident_id, needs=request.needs),
            )
            for need in request.needs:
                by_region = self._needs.setdefault(need.category, {})
                by_region[need.region] = by_region.get(need.region, 0) + need.count
            self._show()
            return PhaseResult(phase=self._phase)

    @report_needs.validator
    def _validate_report_needs(self, request: ReportNeeds) -> None:
        self._validate_now(lambda: self._check_report_needs(request))

    @workflow.update(
        description="Give a need category to a partner whose remit covers it; says whom it "
        "replaces."
    )
    async def assign_need_category(self, request: AssignNeedCategory) -> AssignmentResult:
        if self._is_repeat():
            return AssignmentResult(
                phase=self._phase,
                duplicate=True,
                category=request.category,
                partner_id=request.partner_id,
            )
        async with self._handling(request, lambda: self._check_assign(request)) as ctx:
            replaced = self._assignments.get(request.category)
            if replaced != request.partner_id:
                await self._record(
                    RECORD_ASSIGNMENT,
                    RecordAssignmentInput(
                        ctx=ctx,
                        incident_id=self._incident_id,
                        category=request.category,
                        partner_id=request.partner_id,
                    ),
                )
                self._assignments[request.category] = request.partner_id
                self._show()
            return AssignmentResult(
                phase=self._phase,
                duplicate=replaced == request.partner_id,
                category=request.category,
                partner_id=request.partner_id,
                replaced=replaced if replaced != request.partner_id else None,
            )

    @assign_need_category.validator
    def _validate_assign(self, request: AssignNeedCategory) -> None:
        self._validate_now(lambda: self._check_assign(request))

    @workflow.update(description="End the acute phase; the reflection is then scheduled.")
    async def close_acute_phase(self, request: CloseAcutePhase) -> PhaseResult:
        if self._is_repeat():
            return PhaseResult(phase=self._phase, duplicate=True)
        async with self._handling(request, lambda: self._check_close(request)) as ctx:
            due_at = ctx.business_time + self._reflection_after()
            await self._record(
                RECORD_ACUTE_PHASE_CLOSED,
                CloseAcutePhaseInput(
                    ctx=ctx,
                    incident_id=self._incident_id,
                    note=request.note,
                    reflection_due_at=due_at,
                ),
            )
            self._reflection_due_at = due_at
            self._enter(Phase.AWAITING_REFLECTION)
            return PhaseResult(phase=self._phase)

    @close_acute_phase.validator
    def _validate_close(self, request: CloseAcutePhase) -> None:
        self._validate_now(lambda: self._check_close(request))

    @workflow.update(
        description="Record the reflection's findings and measures (about the procedure, never "
        "about people: no names, phone numbers or e-mail addresses); closes the incident."
    )
    async def record_reflection(self, request: RecordReflection) -> PhaseResult:
        if self._is_repeat():
            return PhaseResult(phase=self._phase, duplicate=True)
        async with self._handling(request, lambda: self._check_reflection(request)) as ctx:
            await self._record(
                RECORD_REFLECTION,
                RecordReflectionInput(
                    ctx=ctx,
                    incident_id=self._incident_id,
                    findings=list(request.findings),
                    measures=list(request.measures),
                ),
            )
            self._enter(Phase.CLOSED)
            return PhaseResult(phase=self._phase)

    @record_reflection.validator
    def _validate_reflection(self, request: RecordReflection) -> None:
        self._validate_now(lambda: self._check_reflection(request))

    @workflow.update(
        description="Call the incident off (a false alarm or a duplicate declaration); everyone "
        "who was alerted receives an all-clear."
    )
    async def call_off(self, request: CallOff) -> PhaseResult:
        if self._is_repeat():
            return PhaseResult(phase=self._phase, duplicate=True)
        async with self._handling(request, lambda: self._check_call_off(request)) as ctx:
            await self._record(
                RECORD_CALL_OFF,
                RecordCallOffInput(ctx=ctx, incident_id=self._incident_id, reason=request.reason),
            )
            self._call_off_reason = request.reason
            self._enter(Phase.CALLED_OFF)
            return PhaseResult(phase=self._phase)

    @call_off.validator
    def _validate_call_off(self, request: CallOff) -> None:
        self._validate_now(lambda: self._check_call_off(request))

    # --- query ----------------------------------------------------------------------------

    @workflow.query(description="Phase, each partner's alert, needs by category, open items.")
    def status(self) -> IncidentStatus:
        declaration = self._require_declaration()
        partners = [track.status() for track in self._alerts.values()]
        needs = self._need_totals()
        return IncidentStatus(
            incident_id=workflow.info().workflow_id,
            title=declaration.title,
            kind=declaration.kind,
            region=declaration.region,
            phase=self._phase,
            agreement_version=self._recorded.agreement_version if self._recorded else None,
            agreement_revision=self._recorded.agreement_revision if self._recorded else None,
            partners=partners,
            needs=needs,
            open_items=details.open_items(self._phase, partners, needs, self._reflection_due_at),
            reflection_due_at=self._reflection_due_at,
        )

    def _need_totals(self) -> list[NeedTotal]:
        categories = [*self._needs, *(c for c in self._assignments if c not in self._needs)]
        return [
            NeedTotal(
                category=category,
                count=sum(self._needs.get(category, {}).values()),
                by_region=dict(self._needs.get(category, {})),
                assigned_to=self._assignments.get(category),
            )
            for category in categories
        ]

    # --- checks (shared by validators and handlers) ---------------------------------------

    def _check_acknowledge(self, request: AcknowledgeAlert) -> None:
        self._check_partner(request.partner_id)
        self._check_phase(Action.ACKNOWLEDGE)
        self._check_acting_partner(request.actor)
        if request.received_at is not None:
            assert self._alerting_started_at is not None
            if request.received_at > workflow.now():
                raise UpdateRefusedError("received_at lies in the future")
            if request.received_at < self._alerting_started_at:
                raise UpdateRefusedError("received_at lies before the alert was sent")

    def _check_report_needs(self, request: ReportNeeds) -> None:
        self._check_phase(Action.REPORT_NEEDS)
        self._check_acting_partner(request.actor)

    def _check_assign(self, request: AssignNeedCategory) -> None:
        self._check_phase(Action.ASSIGN)
        self._check_acting_partner(request.actor)
        self._check_partner(request.partner_id)
        partner = self._alerts[request.partner_id].partner
        problem = remit_problem(request.category, partner.partner_id, partner.categories)
        if problem is not None:
            raise UpdateRefusedError(problem)

    def _check_close(self, request: CloseAcutePhase) -> None:
        self._check_phase(Action.CLOSE_ACUTE)
        self._check_acting_partner(request.actor)

    def _check_reflection(self, request: RecordReflection) -> None:
        self._check_phase(Action.RECORD_REFLECTION)
        self._check_acting_partner(request.actor)

    def _check_call_off(self, request: CallOff) -> None:
        self._check_phase(Action.CALL_OFF)
        self._check_acting_partner(request.actor)

    def _check_partner(self, partner_id: str) -> None:
        if partner_id not in self._alerts:
            known = ", ".join(self._alerts)
            raise UpdateRefusedError(
                f"unknown partner '{partner_id}'; partners of this incident: {known}"
            )

    def _check_acting_partner(self, actor: Actor) -> None:
        if actor.partner_id not in self._alerts:
            known = ", ".join(self._alerts)
            raise UpdateRefusedError(
                f"actor.partner_id '{actor.partner_id}' is not a partner of this incident's "
                f"agreement; partners: {known}"
            )

    def _check_phase(self, action: Action) -> None:
        problem = phase_problem(action, self._phase)
        if problem is not None:
            raise UpdateRefusedError(problem)

    def _validate_now(self, check: Callable[[], None]) -> None:
        """Validators refuse before anything is written; until the declaration is recorded
        they let the update through and the handler checks again once it is."""
        if self._recorded is None:
            return
        self._refuse_unless(check)

    def _refuse_unless(self, check: Callable[[], None]) -> None:
        try:
            check()
        except UpdateRefusedError as refusal:
            raise _refusal(str(refusal)) from None

    def _handling(self, request: Any, check: Callable[[], None]) -> _Handling:
        return _Handling(self, self._update_ctx(request.actor, request.channel), check)

    # --- update ids -----------------------------------------------------------------------

    def _is_repeat(self) -> bool:
        """Whether this update id was applied by an earlier run (Temporal deduplicates
        update ids within one run only, not across continue-as-new)."""
        info = workflow.current_update_info()
        return info is not None and info.id in self._applied_updates

    def _remember_update(self) -> None:
        info = workflow.current_update_info()
        if info is not None:
            self._applied_updates = [*self._applied_updates, info.id][-REMEMBERED_UPDATES:]

    # --- continue-as-new ------------------------------------------------------------------

    def _should_continue_as_new(self) -> bool:
        return (
            self._phase in CONTINUABLE
            and not self._lock.locked()
            and workflow.info().is_continue_as_new_suggested()
        )

    def _carry_over(self) -> IncidentCarryOver:
        assert self._recorded is not None
        assert self._alerting_started_at is not None
        status = self.status()
        return IncidentCarryOver(
            declaration=self._require_declaration(),
            recorded=self._recorded,
            phase=self._phase,
            alerting_started_at=self._alerting_started_at,
            partners=status.partners,
            needs=status.needs,
            assignments=dict(self._assignments),
            reflection_due_at=self._reflection_due_at,
            applied_update_ids=list(self._applied_updates),
        )

    def _restore(self, carried: IncidentCarryOver) -> None:
        self._declaration = carried.declaration
        self._recorded = carried.recorded
        self._phase = carried.phase
        self._alerting_started_at = carried.alerting_started_at
        procedures = {p.partner_id: p for p in carried.recorded.partners}
        self._alerts = {
            s.partner_id: AlertTrack.restored(procedures[s.partner_id], s) for s in carried.partners
        }
        self._needs = {n.category: dict(n.by_region) for n in carried.needs if n.by_region}
        self._assignments = dict(carried.assignments)
        self._reflection_due_at = carried.reflection_due_at
        self._applied_updates = list(carried.applied_update_ids)

    # --- helpers --------------------------------------------------------------------------

    def _validated(self, raw: Any) -> IncidentDeclaration:
        """The declaration, or a workflow failure naming every problem, the id included."""
        problems: list[str] = []
        if id_problem := incident_id_problem(self._incident_id):
            problems.append(f"workflow id {id_problem}")
        declaration: IncidentDeclaration | None = None
        try:
            declaration = IncidentDeclaration.model_validate(raw)
        except ValidationError as error:
            problems += describe_validation_error(error)
        if declaration is not None and (
            when := occurred_at_problem(declaration.occurred_at, workflow.now())
        ):
            problems.append(when)
        if problems or declaration is None:
            raise InvalidDeclarationError(f"invalid declaration: {'; '.join(problems)}")
        return declaration

    async def _record_declaration(self) -> DeclarationRecorded:
        declaration = self._require_declaration()
        recorded = await self._record(
            RECORD_DECLARATION,
            RecordDeclarationInput(
                ctx=self._ctx(declaration.declared_by, declaration.channel),
                incident_id=self._incident_id,
                declaration=declaration,
            ),
        )
        assert isinstance(recorded, DeclarationRecorded)
        return recorded

    async def _notify(
        self,
        track: AlertTrack,
        purpose: NotificationPurpose,
        step: EscalationStep,
        retry: bool = False,
        answer_within: timedelta | None = None,
    ) -> bool:
        """Deliver one message (one round, retried within the bounded policy), record what
        happened, say whether it arrived. A repeated failure of the same message (`retry`) is
        shown in the status but not recorded again; its arrival is.

        A message that arrives gives the partner `answer_within` to answer: the first alert
        from the moment the alerts went out to everyone, any other from its own arrival."""
        message_id = f"{self._incident_id}.{purpose}.{step}.{track.partner.partner_id}"
        office_silent = self._office_silent(track, purpose, step)
        receipt, channel, detail = await self._attempt_delivery(
            track, purpose, step, message_id, office_silent
        )
        alerting = purpose in (NotificationPurpose.ALERT, NotificationPurpose.ESCALATION)
        if alerting and receipt is not None:
            track.delivered(step, workflow.now())
            if answer_within is not None:
                first_alert = step is EscalationStep.PRIMARY and not retry
                start = self._alerting_started_at if first_alert else None
                track.extend_deadline((start or workflow.now()) + answer_within)
        elif alerting:
            track.delivery_failed(step, channel, workflow.now(), detail)
        self._show()
        if receipt is None and retry:
            return False
        await self._record(
            RECORD_NOTIFICATION,
            RecordNotificationInput(
                ctx=self._system_ctx(),
                incident_id=self._incident_id,
                partner_id=track.partner.partner_id,
                purpose=purpose,
                step=step,
                message_id=message_id,
                channel=channel,
                delivered=receipt is not None,
                detail=detail,
                office_silent=office_silent,
            ),
        )
        return receipt is not None

    def _office_silent(
        self, track: AlertTrack, purpose: NotificationPurpose, step: EscalationStep
    ) -> bool:
        """Whether a last step about another partner goes to the final contact because the
        Commissioner's office has not answered its own alert. Decided when the step is first
        sent and kept, so its retries and its all-clear reach the same recipient."""
        if step in track.office_silent_steps:
            return True
        office = self._alerts.get(COMMISSIONER_PARTNER_ID)
        silent = (
            purpose is NotificationPurpose.ESCALATION
            and step is EscalationStep.COMMISSIONER
            and track.partner.partner_id != COMMISSIONER_PARTNER_ID
            and office is not None
            and office.state is not AlertState.ACKNOWLEDGED
            and step not in track.delivered_steps
            and step not in track.trouble
        )
        if silent:
            track.office_silent_steps.append(step)
        return silent

    async def _attempt_delivery(
        self,
        track: AlertTrack,
        purpose: NotificationPurpose,
        step: EscalationStep,
        message_id: str,
        office_silent: bool,
    ) -> tuple[DeliveryReceipt | None, ContactChannel | None, str]:
        """One delivery round: the receipt, or the channel and problem of the failure."""
        assert self._recorded is not None
        delivery = self._recorded.delivery
        unanswered_since = None
        if purpose is NotificationPurpose.ESCALATION:
            unanswered_since = track.alerted_at or self._alerting_started_at
        try:
            receipt: DeliveryReceipt = await workflow.execute_activity(
                DELIVER_NOTIFICATION.name,
                DeliverNotificationInput(
                    incident_id=self._incident_id,
                    partner_id=track.partner.partner_id,
                    purpose=purpose,
                    step=step,
                    message_id=message_id,
                    sent_at=workflow.now(),
                    unanswered_since=unanswered_since,
                    office_silent=office_silent,
                ),
                result_type=DELIVER_NOTIFICATION.result_type,
                summary=f"{purpose} {step} → {track.partner.partner_id}",
                start_to_close_timeout=DELIVERY_TIMEOUT,
                retry_policy=RetryPolicy(
                    initial_interval=delivery.initial_interval,
                    maximum_interval=delivery.maximum_interval,
                    maximum_attempts=delivery.max_attempts,
                ),
            )
        except ActivityError as error:
            cause = error.cause
            if not isinstance(cause, ApplicationError):
                return None, None, str(cause or error)
            return None, _channel_of(cause), cause.message
        return receipt, receipt.channel, ""

    async def _record(self, spec: ActivitySpec[InputT, ResultT], data: InputT) -> ResultT | None:
        """Run one store activity; a domain refusal surfaces as a typed ApplicationError."""
        try:
            result: ResultT | None = await workflow.execute_activity(
                spec.name,
                data,
                result_type=spec.result_type,
                start_to_close_timeout=RECORD_TIMEOUT,
                summary=_summary(data),
                retry_policy=RECORD_RETRY,
            )
        except ActivityError as error:
            if isinstance(error.cause, ApplicationError):
                raise ApplicationError(
                    error.cause.message, type=error.cause.type, non_retryable=True
                ) from None
            raise
        return result

    def _ctx(
        self,
        actor: Actor,
        channel: ActorChannel,
        for_partner: str | None = None,
        command_id: str | None = None,
    ) -> CommandContext:
        info = workflow.info()
        return CommandContext(
            command_id=command_id or str(workflow.uuid4()),
            actor=actor,
            on_behalf_of=for_partner if for_partner and for_partner != actor.partner_id else None,
            channel=channel,
            business_time=workflow.now(),
            workflow_id=info.workflow_id,
            run_id=info.run_id,
        )

    def _update_ctx(
        self, actor: Actor, channel: ActorChannel, for_partner: str | None = None
    ) -> CommandContext:
        """The context of an update, taken when it is accepted: its time is the time it
        arrived, and its command id follows from the update id, so a repeat is applied once."""
        info = workflow.current_update_info()
        command_id = f"update-{uuid.uuid5(UPDATE_COMMANDS, info.id)}" if info else None
        return self._ctx(actor, channel, for_partner, command_id)

    def _system_ctx(self) -> CommandContext:
        declaration = self._require_declaration()
        system = Actor(partner_id=declaration.declared_by.partner_id, staff_ref=SYSTEM_STAFF_REF)
        return self._ctx(system, ActorChannel.SYSTEM)

    def _ack_deadline(self, partner: PartnerProcedure) -> timedelta:
        return self._require_declaration().deadlines.ack or partner.ack_deadline

    def _escalation_step(self) -> timedelta:
        assert self._recorded is not None
        return (
            self._require_declaration().deadlines.escalation_step or self._recorded.escalation_step
        )

    def _reflection_after(self) -> timedelta:
        return self._require_declaration().deadlines.reflection_after or DEFAULT_REFLECTION_AFTER

    def _ack_result(self, track: AlertTrack, duplicate: bool) -> AcknowledgementResult:
        assert track.acknowledged_at is not None
        assert track.seconds_to_acknowledge is not None
        return AcknowledgementResult(
            partner_id=track.partner.partner_id,
            acknowledged_at=track.acknowledged_at,
            late=track.late,
            seconds_to_acknowledge=track.seconds_to_acknowledge,
            duplicate=duplicate,
        )

    def _done(self, track: AlertTrack) -> bool:
        return track.settled or self._ended()

    def _ended(self) -> bool:
        return self._phase in FINAL_PHASES

    @property
    def _incident_id(self) -> str:
        return workflow.info().workflow_id

    def _require_declaration(self) -> IncidentDeclaration:
        if self._declaration is None:
            raise UpdateRefusedError("the declaration has not been read yet")
        return self._declaration

    def _enter(self, phase: Phase) -> None:
        self._phase = phase
        self._show()

    def _show(self) -> None:
        """Keep the UI's search attributes and current details in step with the state.

        Neither carries personal data: Temporal stores both unencrypted. A search attribute
        is upserted only when its value changes (each upsert is an event in the history)."""
        declaration = self._declaration
        if declaration is None:
            return
        wanted = {
            PHASE_KEY.name: self._phase.value,
            KIND_KEY.name: declaration.kind.value,
            REGION_KEY.name: declaration.region.value,
        }
        changed = [
            key.value_set(wanted[key.name])
            for key in (PHASE_KEY, KIND_KEY, REGION_KEY)
            if self._shown_attributes.get(key.name) != wanted[key.name]
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._shown_attributes = wanted
        text = details.current_details(self.status()) if self._alerts else None
        if text is not None and text != self._shown_details:
            workflow.set_current_details(text)
            self._shown_details = text


def _current_attributes() -> dict[str, str]:
    """The search attributes this run started with (a continued run inherits them)."""
    attributes = workflow.info().typed_search_attributes
    found = {key.name: attributes.get(key) for key in (PHASE_KEY, KIND_KEY, REGION_KEY)}
    return {name: value for name, value in found.items() if value is not None}


def _purpose_of(step: EscalationStep) -> NotificationPurpose:
    if step is EscalationStep.PRIMARY:
        return NotificationPurpose.ALERT
    return NotificationPurpose.ESCALATION


def _channel_of(failure: ApplicationError) -> ContactChannel | None:
    """The channel a failed delivery tried, which the activity gives as the failure's detail."""
    for value in failure.details:
        if value in tuple(ContactChannel):
            return ContactChannel(value)
    return None


def _summary(data: Any) -> str | None:
    """What the UI's timeline shows beside a store activity's name: the partner, if any."""
    partner_id = getattr(data, "partner_id", None)
    return str(partner_id) if partner_id else None


class _Handling:
    """Serialises update handlers, waits for the declaration, and re-checks under the lock.

    A refusal found here (the state changed since the validator ran) fails only the update.
    The context was taken when the update arrived; a handler that completes remembers its
    update id for repeats after continue-as-new."""

    def __init__(
        self, owner: IncidentResponse, ctx: CommandContext, check: Callable[[], None]
    ) -> None:
        self._owner = owner
        self._ctx = ctx
        self._check = check

    async def __aenter__(self) -> CommandContext:
        owner = self._owner
        await workflow.wait_condition(lambda: owner._recorded is not None)
        await owner._lock.acquire()
        try:
            owner._refuse_unless(self._check)
        except ApplicationError:
            owner._lock.release()
            raise
        return self._ctx

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self._owner._remember_update()
        self._owner._lock.release()
