"""`IncidentResponse`: the agreed procedure for one incident, from declaration to reflection.

Reads top to bottom as DESIGN.md §2: record the declaration, alert every partner at once and
escalate on durable timers (`alerting`), coordinate needs (`coordinating`), wait for the
reflection after the acute phase (`awaiting-reflection` → `reflection-due`), record it (`closed`).
`call_off` ends it from any phase before `closed`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.incident import IncidentActivities
    from contracts.agreement import describe_validation_error
    from contracts.messages import (
        AcknowledgeAlert,
        AcknowledgementResult,
        Actor,
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
        PartnerAlertStatus,
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
    from contracts.vocabulary import (
        FINAL_PHASES,
        INCIDENT_WORKFLOW_TYPE,
        NEED_CATEGORY_LABELS_DE,
        NEEDS_OPEN_PHASES,
        PHASE_LABELS_DE,
        REFLECTION_PHASES,
        SEARCH_ATTRIBUTE_KIND,
        SEARCH_ATTRIBUTE_PHASE,
        SEARCH_ATTRIBUTE_REGION,
        ActorChannel,
        AlertState,
        EscalationStep,
        NeedCategory,
        NotificationPurpose,
        Phase,
        Region,
        berlin_time,
    )

PHASE_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_PHASE)
KIND_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_KIND)
REGION_KEY = SearchAttributeKey.for_keyword(SEARCH_ATTRIBUTE_REGION)

DEFAULT_REFLECTION_AFTER = timedelta(weeks=6)
RECORD_TIMEOUT = timedelta(seconds=10)
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30)
)
SYSTEM_STAFF_REF = "lotse-system"
CARRY_OVER = "carry_over"
CONTINUABLE = frozenset({Phase.COORDINATING, Phase.AWAITING_REFLECTION, Phase.REFLECTION_DUE})


class InvalidDeclarationError(Exception):
    """The start input is not a valid declaration: fails the workflow at once (never retried).

    Named in `failure_exception_types` so that only this error, and not a later bug in a
    handler, fails a live incident.
    """


class UpdateRefusedError(Exception):
    """An update that the current state does not allow; the message is for the operator."""


class _AlertTrack:
    """The workflow's view of one partner's alert."""

    def __init__(self, partner: PartnerProcedure) -> None:
        self.partner = partner
        self.state = AlertState.PENDING
        self.step = EscalationStep.PRIMARY
        self.alerted_at: datetime | None = None
        self.deadline_at: datetime | None = None
        self.acknowledged_at: datetime | None = None
        self.late = False
        self.seconds_to_acknowledge: float | None = None
        self.delivery_failures = 0

    @classmethod
    def restored(cls, partner: PartnerProcedure, status: PartnerAlertStatus) -> _AlertTrack:
        track = cls(partner)
        track.state, track.step = status.state, status.step
        track.alerted_at, track.deadline_at = status.alerted_at, status.deadline_at
        track.acknowledged_at, track.late = status.acknowledged_at, status.late
        track.seconds_to_acknowledge = status.seconds_to_acknowledge
        track.delivery_failures = status.delivery_failures
        return track

    def status(self) -> PartnerAlertStatus:
        """The query's view of this alert; `restored` reads it back after continue-as-new."""
        return PartnerAlertStatus(
            partner_id=self.partner.partner_id,
            name=self.partner.name,
            state=self.state,
            step=self.step,
            alerted_at=self.alerted_at,
            deadline_at=self.deadline_at,
            acknowledged_at=self.acknowledged_at,
            late=self.late,
            seconds_to_acknowledge=self.seconds_to_acknowledge,
            delivery_failures=self.delivery_failures,
        )

    @property
    def settled(self) -> bool:
        return self.state in (AlertState.ACKNOWLEDGED, AlertState.UNREACHABLE)


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
        self._alerts: dict[str, _AlertTrack] = {}
        self._alerting_started_at: datetime | None = None
        self._needs: dict[NeedCategory, dict[Region, int]] = {}
        self._assignments: dict[NeedCategory, str] = {}
        self._reflection_due_at: datetime | None = None
        self._call_off_reason: str | None = None
        self._lock = asyncio.Lock()
        self._restore_problem: str | None = None
        if workflow.info().continued_run_id and isinstance(declaration, dict):
            # Only a run that continues an earlier one takes a carry-over; a fresh start with
            # a `carry_over` field is an invalid declaration like any other.
            try:
                self._restore(IncidentCarryOver.model_validate(declaration.get(CARRY_OVER)))
            except ValidationError as error:
                self._restore_problem = "; ".join(describe_validation_error(error))

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
        self._alerts = {p.partner_id: _AlertTrack(p) for p in self._recorded.partners}
        self._alerting_started_at = workflow.now()
        self._show()
        await asyncio.gather(*(self._alert(track) for track in self._alerts.values()))
        if not self._ended():
            self._enter(Phase.COORDINATING)

    async def _alert(self, track: _AlertTrack) -> None:
        """Alert one partner; escalate on durable timers until it acknowledges."""
        assert self._alerting_started_at is not None
        ladder = [
            (EscalationStep.PRIMARY, self._ack_deadline(track.partner)),
            (EscalationStep.DEPUTY, self._escalation_step()),
            (EscalationStep.COMMISSIONER, self._escalation_step()),
        ]
        for step, allowed in ladder:
            if track.settled or self._ended():
                return
            if step is not EscalationStep.PRIMARY:
                track.state, track.step = AlertState.ESCALATED, step
                await self._record(
                    IncidentActivities.record_escalation,
                    RecordEscalationInput(
                        ctx=self._system_ctx(),
                        incident_id=self._incident_id,
                        partner_id=track.partner.partner_id,
                        to_step=step,
                    ),
                )
                if track.settled or self._ended():  # answered while the escalation was recorded
                    return
            purpose = (
                NotificationPurpose.ALERT
                if step is EscalationStep.PRIMARY
                else NotificationPurpose.ESCALATION
            )
            delivered = await self._notify(track, purpose, step)
            if not delivered:
                continue  # nobody can answer a message that never arrived: next step at once
            # The first deadline runs from the alert going out to everyone, the others from
            # their own escalation step.
            start = self._alerting_started_at if step is EscalationStep.PRIMARY else workflow.now()
            track.deadline_at = start + allowed
            self._show()
            if await self._answered_within(track, step):
                return
        if track.settled or self._ended():
            return
        track.state = AlertState.UNREACHABLE
        self._show()
        await self._record(
            IncidentActivities.record_unreachable,
            RecordUnreachableInput(
                ctx=self._system_ctx(),
                incident_id=self._incident_id,
                partner_id=track.partner.partner_id,
            ),
        )

    async def _answered_within(self, track: _AlertTrack, step: EscalationStep) -> bool:
        """Wait on a durable timer until the step's deadline; whether the partner answered
        (or the incident ended) in time. A deadline already past waits no further."""
        assert track.deadline_at is not None
        wait = track.deadline_at - workflow.now()
        if wait > timedelta(0):
            try:
                await workflow.wait_condition(
                    lambda: track.settled or self._ended(),
                    timeout=wait,
                    timeout_summary=f"{step} deadline {track.partner.partner_id}",
                )
            except TimeoutError:
                return False
        return track.settled or self._ended()

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
                IncidentActivities.record_reflection_due,
                IncidentStepInput(ctx=self._system_ctx(), incident_id=self._incident_id),
            )
            self._enter(Phase.REFLECTION_DUE)
        await asyncio.gather(
            *(
                self._notify(track, NotificationPurpose.REFLECTION_DUE, EscalationStep.PRIMARY)
                for track in self._alerts.values()
            )
        )

    # --- updates --------------------------------------------------------------------------

    @workflow.update(
        description="A partner acknowledges its alert (also on its behalf, e.g. by phone)."
    )
    async def acknowledge_alert(self, request: AcknowledgeAlert) -> AcknowledgementResult:
        async with self._handling(lambda: self._check_acknowledge(request)):
            track = self._alerts[request.partner_id]
            if track.state is AlertState.ACKNOWLEDGED:
                return self._ack_result(track, duplicate=True)
            assert self._alerting_started_at is not None
            acknowledged_at = request.received_at or workflow.now()
            seconds = max((acknowledged_at - self._alerting_started_at).total_seconds(), 0.0)
            late = acknowledged_at > self._alerting_started_at + self._ack_deadline(track.partner)
            await self._record(
                IncidentActivities.record_acknowledgement,
                RecordAcknowledgementInput(
                    ctx=self._ctx(request.actor, request.channel, request.partner_id),
                    incident_id=self._incident_id,
                    partner_id=request.partner_id,
                    late=late,
                    seconds_to_acknowledge=seconds,
                ),
            )
            track.state, track.acknowledged_at = AlertState.ACKNOWLEDGED, acknowledged_at
            track.late, track.seconds_to_acknowledge = late, seconds
            self._show()
            return self._ack_result(track, duplicate=False)

    @acknowledge_alert.validator
    def _validate_acknowledge(self, request: AcknowledgeAlert) -> None:
        self._validate_now(lambda: self._check_acknowledge(request))

    @workflow.update(description="Report counts of needs by category and region.")
    async def report_needs(self, request: ReportNeeds) -> PhaseResult:
        async with self._handling(lambda: self._check_report_needs(request)):
            await self._record(
                IncidentActivities.record_needs,
                RecordNeedsInput(
                    ctx=self._ctx(request.actor, request.channel),
                    incident_id=self._incident_id,
                    needs=request.needs,
                ),
            )
            for need in request.needs:
                by_region = self._needs.setdefault(need.category, {})
                by_region[need.region] = by_region.get(need.region, 0) + need.count
            self._show()
            return PhaseResult(phase=self._phase)

    @report_needs.validator
    def _validate_report_needs(self, request: ReportNeeds) -> None:
        self._validate_now(lambda: self._check_report_needs(request))

    @workflow.update(description="Give a need category to a partner whose remit covers it.")
    async def assign_need_category(self, request: AssignNeedCategory) -> PhaseResult:
        async with self._handling(lambda: self._check_assign(request)):
            await self._record(
                IncidentActivities.record_assignment,
                RecordAssignmentInput(
                    ctx=self._ctx(request.actor, request.channel),
                    incident_id=self._incident_id,
                    category=request.category,
                    partner_id=request.partner_id,
                ),
            )
            self._assignments[request.category] = request.partner_id
            self._show()
            return PhaseResult(phase=self._phase)

    @assign_need_category.validator
    def _validate_assign(self, request: AssignNeedCategory) -> None:
        self._validate_now(lambda: self._check_assign(request))

    @workflow.update(description="End the acute phase; the reflection is then scheduled.")
    async def close_acute_phase(self, request: CloseAcutePhase) -> PhaseResult:
        async with self._handling(
            lambda: self._check_phase("close the acute phase", {Phase.COORDINATING})
        ):
            due_at = workflow.now() + self._reflection_after()
            await self._record(
                IncidentActivities.record_acute_phase_closed,
                CloseAcutePhaseInput(
                    ctx=self._ctx(request.actor, request.channel),
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
        self._validate_now(lambda: self._check_phase("close the acute phase", {Phase.COORDINATING}))

    @workflow.update(
        description="Record the reflection's findings and measures; closes the incident."
    )
    async def record_reflection(self, request: RecordReflection) -> PhaseResult:
        async with self._handling(
            lambda: self._check_phase("record the reflection", REFLECTION_PHASES)
        ):
            await self._record(
                IncidentActivities.record_reflection,
                RecordReflectionInput(
                    ctx=self._ctx(request.actor, request.channel),
                    incident_id=self._incident_id,
                    findings=list(request.findings),
                    measures=list(request.measures),
                ),
            )
            self._enter(Phase.CLOSED)
            return PhaseResult(phase=self._phase)

    @record_reflection.validator
    def _validate_reflection(self, request: RecordReflection) -> None:
        self._validate_now(lambda: self._check_phase("record the reflection", REFLECTION_PHASES))

    @workflow.update(description="Call the incident off: a false alarm or a duplicate declaration.")
    async def call_off(self, request: CallOff) -> PhaseResult:
        async with self._handling(lambda: self._check_call_off(request)):
            await self._record(
                IncidentActivities.record_call_off,
                RecordCallOffInput(
                    ctx=self._ctx(request.actor, request.channel),
                    incident_id=self._incident_id,
                    reason=request.reason,
                ),
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
        return IncidentStatus(
            incident_id=workflow.info().workflow_id,
            title=declaration.title,
            kind=declaration.kind,
            region=declaration.region,
            phase=self._phase,
            agreement_version=self._recorded.agreement_version if self._recorded else None,
            partners=[track.status() for track in self._alerts.values()],
            needs=[
                NeedTotal(
                    category=category,
                    count=sum(self._needs.get(category, {}).values()),
                    by_region=dict(self._needs.get(category, {})),
                    assigned_to=self._assignments.get(category),
                )
                for category in [
                    *self._needs,
                    *(c for c in self._assignments if c not in self._needs),
                ]
            ],
            open_items=self._open_items(),
            reflection_due_at=self._reflection_due_at,
        )

    # --- checks (shared by validators and handlers) ---------------------------------------

    def _check_acknowledge(self, request: AcknowledgeAlert) -> None:
        self._check_partner(request.partner_id)
        self._check_phase("acknowledge an alert", NEEDS_OPEN_PHASES | REFLECTION_PHASES)
        self._check_acting_partner(request.actor)
        if request.received_at is not None:
            assert self._alerting_started_at is not None
            if request.received_at > workflow.now():
                raise UpdateRefusedError("received_at lies in the future")
            if request.received_at < self._alerting_started_at:
                raise UpdateRefusedError("received_at lies before the alert was sent")

    def _check_report_needs(self, request: ReportNeeds) -> None:
        self._check_phase("report needs", NEEDS_OPEN_PHASES)
        self._check_acting_partner(request.actor)

    def _check_assign(self, request: AssignNeedCategory) -> None:
        self._check_phase("assign a need category", NEEDS_OPEN_PHASES)
        self._check_acting_partner(request.actor)
        self._check_partner(request.partner_id)
        partner = self._alerts[request.partner_id].partner
        if request.category not in partner.categories:
            covered = ", ".join(partner.categories)
            raise UpdateRefusedError(
                f"'{request.category}' is outside the remit of '{partner.partner_id}' "
                f"(covers: {covered}); the agreement creates no new responsibilities"
            )

    def _check_call_off(self, request: CallOff) -> None:
        self._check_phase("call off the incident", set(Phase) - FINAL_PHASES)
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

    def _check_phase(self, action: str, allowed: set[Phase] | frozenset[Phase]) -> None:
        if self._phase not in allowed:
            allowed_words = ", ".join(sorted(allowed))
            raise UpdateRefusedError(
                f"cannot {action} in phase '{self._phase}' ({PHASE_LABELS_DE[self._phase]}); "
                f"allowed in: {allowed_words}"
            )

    def _validate_now(self, check: Any) -> None:
        """Validators refuse before anything is written; until the declaration is recorded
        they let the update through and the handler checks again once it is."""
        if self._recorded is None:
            return
        try:
            check()
        except UpdateRefusedError as refusal:
            raise ValueError(str(refusal)) from None

    def _handling(self, check: Any) -> _Handling:
        return _Handling(self, check)

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
        )

    def _restore(self, carried: IncidentCarryOver) -> None:
        self._declaration = carried.declaration
        self._recorded = carried.recorded
        self._phase = carried.phase
        self._alerting_started_at = carried.alerting_started_at
        procedures = {p.partner_id: p for p in carried.recorded.partners}
        self._alerts = {
            s.partner_id: _AlertTrack.restored(procedures[s.partner_id], s)
            for s in carried.partners
        }
        self._needs = {n.category: dict(n.by_region) for n in carried.needs if n.by_region}
        self._assignments = dict(carried.assignments)
        self._reflection_due_at = carried.reflection_due_at

    # --- helpers --------------------------------------------------------------------------

    def _validated(self, raw: Any) -> IncidentDeclaration:
        try:
            return IncidentDeclaration.model_validate(raw)
        except ValidationError as error:
            problems = "; ".join(describe_validation_error(error))
            raise InvalidDeclarationError(f"invalid declaration: {problems}") from None

    async def _record_declaration(self) -> DeclarationRecorded:
        declaration = self._require_declaration()
        recorded = await self._record(
            IncidentActivities.record_declaration,
            RecordDeclarationInput(
                ctx=self._ctx(declaration.declared_by, declaration.channel),
                incident_id=self._incident_id,
                declaration=declaration,
            ),
        )
        assert isinstance(recorded, DeclarationRecorded)
        return recorded

    async def _notify(
        self, track: _AlertTrack, purpose: NotificationPurpose, step: EscalationStep
    ) -> bool:
        """Deliver one message (retried within the bounded policy), then record the result;
        say whether it was delivered."""
        assert self._recorded is not None
        delivery = self._recorded.delivery
        message_id = f"{self._incident_id}.{purpose}.{step}.{track.partner.partner_id}"
        receipt: DeliveryReceipt | None = None
        detail = ""
        try:
            receipt = await workflow.execute_activity_method(
                IncidentActivities.deliver_notification,
                DeliverNotificationInput(
                    incident_id=self._incident_id,
                    partner_id=track.partner.partner_id,
                    purpose=purpose,
                    step=step,
                    message_id=message_id,
                    sent_at=workflow.now(),
                ),
                summary=f"{purpose} {step} → {track.partner.partner_id}",
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    initial_interval=delivery.initial_interval,
                    maximum_interval=delivery.maximum_interval,
                    maximum_attempts=delivery.max_attempts,
                ),
            )
        except ActivityError as error:
            detail = str(
                error.cause.message if isinstance(error.cause, ApplicationError) else error
            )
            track.delivery_failures += 1
        if purpose is not NotificationPurpose.REFLECTION_DUE and track.alerted_at is None:
            track.alerted_at = workflow.now()
        await self._record(
            IncidentActivities.record_notification,
            RecordNotificationInput(
                ctx=self._system_ctx(),
                incident_id=self._incident_id,
                partner_id=track.partner.partner_id,
                purpose=purpose,
                step=step,
                message_id=message_id,
                channel=receipt.channel if receipt else None,
                delivered=receipt is not None,
                detail=detail,
            ),
        )
        return receipt is not None

    async def _record(self, activity: Any, data: Any) -> Any:
        """Run one store activity; a domain refusal surfaces as a typed ApplicationError."""
        try:
            return await workflow.execute_activity_method(
                activity,
                data,
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

    def _ctx(
        self, actor: Actor, channel: ActorChannel, for_partner: str | None = None
    ) -> CommandContext:
        info = workflow.info()
        return CommandContext(
            command_id=str(workflow.uuid4()),
            actor=actor,
            on_behalf_of=for_partner if for_partner and for_partner != actor.partner_id else None,
            channel=channel,
            business_time=workflow.now(),
            workflow_id=info.workflow_id,
            run_id=info.run_id,
        )

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

    def _ack_result(self, track: _AlertTrack, duplicate: bool) -> AcknowledgementResult:
        assert track.acknowledged_at is not None
        assert track.seconds_to_acknowledge is not None
        return AcknowledgementResult(
            partner_id=track.partner.partner_id,
            acknowledged_at=track.acknowledged_at,
            late=track.late,
            seconds_to_acknowledge=track.seconds_to_acknowledge,
            duplicate=duplicate,
        )

    def _all_settled(self) -> bool:
        return all(track.settled for track in self._alerts.values())

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

        Neither carries personal data: Temporal stores both unencrypted."""
        declaration = self._declaration
        if declaration is None:
            return
        workflow.upsert_search_attributes(
            [
                PHASE_KEY.value_set(self._phase.value),
                KIND_KEY.value_set(declaration.kind.value),
                REGION_KEY.value_set(declaration.region.value),
            ]
        )
        lines = [f"**Phase:** {self._phase} — {PHASE_LABELS_DE[self._phase]}", ""]
        open_items = self._open_items()
        lines += (
            ["**Open items:**", *[f"- {item}" for item in open_items]]
            if open_items
            else ["No open items."]
        )
        workflow.set_current_details("\n".join(lines))

    def _open_items(self) -> list[str]:
        items: list[str] = []
        for track in self._alerts.values():
            name = track.partner.name
            if track.state is AlertState.UNREACHABLE:
                items.append(f"{name}: unreachable — every escalation step is exhausted")
            elif not track.settled and not self._ended():
                due = (
                    f" (deadline {berlin_time(track.deadline_at)} Berlin time)"
                    if track.deadline_at
                    else ""
                )
                items.append(f"{name}: alert not acknowledged, step {track.step}{due}")
        if self._phase in NEEDS_OPEN_PHASES:
            for category, by_region in self._needs.items():
                if category not in self._assignments:
                    items.append(
                        f"need '{category}' ({NEED_CATEGORY_LABELS_DE[category]}, "
                        f"{sum(by_region.values())} people) is not assigned to a partner"
                    )
        if self._phase is Phase.COORDINATING:
            items.append("close the acute phase when it is over (update close_acute_phase)")
        if self._phase in REFLECTION_PHASES and self._reflection_due_at is not None:
            items.append(
                f"reflection due {berlin_time(self._reflection_due_at)} Berlin time "
                "(update record_reflection)"
            )
        return items


def _summary(data: Any) -> str | None:
    """What the UI's timeline shows beside a store activity's name: the partner, if any."""
    partner_id = getattr(data, "partner_id", None)
    return str(partner_id) if partner_id else None


class _Handling:
    """Serialises update handlers, waits for the declaration, and re-checks under the lock.

    A refusal found here (the state changed since the validator ran) fails only the update."""

    def __init__(self, owner: IncidentResponse, check: Any) -> None:
        self._owner = owner
        self._check = check

    async def __aenter__(self) -> None:
        owner = self._owner
        await workflow.wait_condition(lambda: owner._recorded is not None)
        await owner._lock.acquire()
        try:
            self._check()
        except UpdateRefusedError as refusal:
            owner._lock.release()
            raise ApplicationError(str(refusal), type="UpdateRefused", non_retryable=True) from None

    async def __aexit__(self, *exc: object) -> None:
        self._owner._lock.release()
