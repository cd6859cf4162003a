"""`IncidentResponse`: the agreed procedure for one incident, from declaration to reflection.

`run` reads as the procedure in docs/procedure.md: record the declaration and alert every
partner (`alerting`), coordinate needs until the acute phase is closed (`coordinating`), wait
weeks for the reflection (`awaiting-reflection`), tell everyone it is due (`reflection-due`),
record it (`closed`). `call_off` ends it from any phase before `closed`, and everyone who was
alerted hears so.

The details live beside it: the state and its changes in `state.py`, the alert ladders and
messages in `alerting.py`, the checks of each update in `checks.py`, writing to the record in
`record.py`, the German text for the UI in `details.py`. Handlers stay thin: check, record,
change the state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from contracts.activities import (
        READ_PEOPLE_COUNTS,
        RECORD_ACKNOWLEDGEMENT,
        RECORD_ACUTE_PHASE_CLOSED,
        RECORD_ASSIGNMENT,
        RECORD_CALL_OFF,
        RECORD_DECLARATION,
        RECORD_NEEDS,
        RECORD_REFLECTION,
        RECORD_REFLECTION_DUE,
    )
    from contracts.agreement import explain_validation_error
    from contracts.messages import (
        AcknowledgeAlert,
        AcknowledgementResult,
        AssignmentResult,
        AssignNeedCategory,
        CallOff,
        CloseAcutePhase,
        CloseAcutePhaseInput,
        CommandContext,
        DeclarationRecorded,
        IncidentDeclaration,
        IncidentOutcome,
        IncidentStatus,
        IncidentStepInput,
        OperatorAction,
        PhaseResult,
        RecordAcknowledgementInput,
        RecordAssignmentInput,
        RecordCallOffInput,
        RecordDeclarationInput,
        RecordNeedsInput,
        RecordReflection,
        RecordReflectionInput,
        ReportNeeds,
    )
    from contracts.people_counts import PeopleCounts, PeopleCountsRead, PeopleCountsRequest
    from contracts.vocabulary import (
        INCIDENT_CONTINUING,
        INCIDENT_WORKFLOW_TYPE,
        AlertState,
        NotificationPurpose,
        Phase,
    )
    from workflows import checks, record
    from workflows.alerting import Alerting
    from workflows.checks import (
        InvalidDeclarationError,
        RefusedOnSubstanceError,
        UpdateRefusedError,
    )
    from workflows.display import Display
    from workflows.state import IncidentState, status_before_recorded

CARRY_OVER = "carry_over"
PEOPLE_COUNTS = "people-counts-in-details"
"""Patch id: from this change on, a coordinating incident reads its people's counts from the
record now and then and shows them in its details. Runs that were coordinating before keep
waiting as they did until they leave the phase or continue as new (tests/histories replay)."""
PEOPLE_REFRESH = timedelta(seconds=30)
"""Between two reads of the counts until the worker's setting is known (its first answer)."""
PEOPLE_REFRESH_QUIET = timedelta(hours=1)
"""The longest pause between two reads of the people's counts: while nothing changes, each
pause doubles up to this, so that weeks of a quiet incident add a read an hour to its history,
not one every 30 seconds; the first change seen goes back to the setting's interval."""
PEOPLE_READ_TIMEOUT = timedelta(seconds=10)
CONTINUABLE = frozenset({Phase.COORDINATING, Phase.AWAITING_REFLECTION, Phase.REFLECTION_DUE})

RequestT = TypeVar("RequestT", bound=OperatorAction)
Check = Callable[[IncidentState, RequestT], None]


def _refusal(message: str, kind: str = "UpdateRefused") -> ApplicationError:
    """A refusal as the operator sees it: typed, final, and shown without a stack trace."""
    return ApplicationError(message, type=kind, non_retryable=True)


@workflow.defn(name=INCIDENT_WORKFLOW_TYPE, failure_exception_types=[InvalidDeclarationError])
class IncidentResponse:
    """One incident: alert, acknowledge, escalate, coordinate, reflect."""

    @workflow.init
    def __init__(self, declaration: Any = None) -> None:
        # `Any` and a default: whatever an operator pastes into the UI (nothing, a string, a
        # list) must reach the validation below and fail the workflow with a message, not fail
        # the decoding, which Temporal would retry for ever.
        self._declaration: IncidentDeclaration | None = None
        self._state: IncidentState | None = None
        self._alerting: Alerting | None = None
        self._lock = asyncio.Lock()
        self._continuing = False
        self._display = Display()
        self._restore_problem: str | None = None
        self._people: PeopleCounts | None = None
        self._people_refresh = PEOPLE_REFRESH
        if workflow.info().continued_run_id and isinstance(declaration, dict):
            # Only a run that continues an earlier one takes a carry-over; a fresh start with
            # a `carry_over` field is an invalid declaration like any other.
            try:
                self._adopt(IncidentState.model_validate(declaration.get(CARRY_OVER)))
            except ValidationError as error:
                self._restore_problem = explain_validation_error(error)

    # --- the procedure --------------------------------------------------------------------

    @workflow.run
    async def run(self, declaration: Any = None) -> IncidentOutcome:
        if self._restore_problem is not None:
            raise InvalidDeclarationError(f"invalid carry-over: {self._restore_problem}")
        if self._state is None:
            await self._declare(declaration)
            await self._alert_every_partner()  # until each acknowledged or is unreachable
        else:
            self._show()  # a continued run: the UI's details start empty
        await self._stay_while(Phase.COORDINATING)  # needs, assignments; until closed
        await self._await_reflection()  # weeks, on a durable timer
        await self._stay_while(Phase.REFLECTION_DUE)  # until the reflection is recorded
        return await self._end()  # closed, or called off at any point before

    async def _declare(self, raw: Any) -> None:
        """Check the declaration, record it, and take the agreement's partners from the record."""
        self._declaration = declaration = checks.valid_declaration(
            raw, self._incident_id, workflow.now()
        )
        self._show()
        recorded = await record.record(
            RECORD_DECLARATION,
            RecordDeclarationInput(
                ctx=record.step_context(
                    declaration.declared_by,
                    declaration.channel,
                    f"declaration/{workflow.info().run_id}",
                ),
                incident_id=self._incident_id,
                declaration=declaration,
            ),
        )
        assert isinstance(recorded, DeclarationRecorded)  # the activity's declared result
        self._adopt(IncidentState.declared(declaration, recorded, workflow.now()))
        self._show()

    async def _alert_every_partner(self) -> None:
        await self._alerts.alert_everyone()
        if not self._incident.ended:
            self._enter(Phase.COORDINATING)

    async def _stay_while(self, phase: Phase) -> None:
        """Wait while the incident stays in `phase` (updates move it on), continuing as new on
        the way whenever Temporal suggests it. While coordinating, the people's counts are read
        from the record every `_people_refresh` for the UI's details."""
        counting = phase is Phase.COORDINATING and workflow.patched(PEOPLE_COUNTS)

        def moved_on() -> bool:
            return self._incident.phase is not phase or self._continue_suggested()

        while self._incident.phase is phase:
            if counting:
                await self._read_people()
                try:
                    await workflow.wait_condition(
                        moved_on, timeout=self._people_refresh, timeout_summary="people counts"
                    )
                except TimeoutError:
                    continue
            else:
                await workflow.wait_condition(moved_on)
            if self._incident.phase is phase:
                await self._continue_as_new()

    async def _read_people(self) -> None:
        """The people's counts from the record (a local activity: one marker in the history,
        counts only); the details change only when the counts did. A store that does not
        answer leaves the last counts shown until the next read."""
        try:
            read = await workflow.execute_local_activity(
                READ_PEOPLE_COUNTS.name,
                PeopleCountsRequest(incident_id=self._incident_id),
                result_type=PeopleCountsRead,
                start_to_close_timeout=PEOPLE_READ_TIMEOUT,
                retry_policy=record.LOCAL_RETRY,
                summary="people counts",
            )
        except ActivityError as error:
            workflow.logger.warning("people counts not read: %s", error.cause or error)
            if record.damaged(error.cause):
                self._alerts.record_damaged(error.cause.message)
            return
        if read.counts != self._people:
            self._people_refresh = timedelta(seconds=read.refresh_seconds)
            self._people = read.counts
            self._show()
        else:  # quiet: read half as often, down to once an hour, until the counts move again
            self._people_refresh = min(self._people_refresh * 2, PEOPLE_REFRESH_QUIET)

    async def _await_reflection(self) -> None:
        """Durable wait for the reflection; then tell every partner that it is due."""
        state = self._incident
        while state.phase is Phase.AWAITING_REFLECTION:
            assert state.reflection_due_at is not None  # set with the phase
            try:
                await workflow.wait_condition(
                    lambda: (
                        state.phase is not Phase.AWAITING_REFLECTION or self._continue_suggested()
                    ),
                    timeout=max(state.reflection_due_at - workflow.now(), timedelta(0)),
                    timeout_summary="reflection wait",
                )
            except TimeoutError:
                await self._reflection_becomes_due()
                return
            if state.phase is Phase.AWAITING_REFLECTION:
                await self._continue_as_new()

    async def _reflection_becomes_due(self) -> None:
        async with self._lock:
            if self._incident.phase is not Phase.AWAITING_REFLECTION:
                return  # called off while the timer fired
            await record.record_step(
                RECORD_REFLECTION_DUE,
                IncidentStepInput(
                    ctx=self._system_ctx("reflection-due"), incident_id=self._incident_id
                ),
                self._alerts.record_damaged,
            )
            self._enter(Phase.REFLECTION_DUE)
        await self._alerts.tell_everyone(NotificationPurpose.REFLECTION_DUE)

    async def _end(self) -> IncidentOutcome:
        """Let background deliveries settle, give the all-clear after a call-off, answer every
        update still in flight, and report how it ended."""
        await self._alerts.deliveries_settled()
        state = self._incident
        if state.phase is Phase.CALLED_OFF:
            await self._alerts.give_all_clear()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return IncidentOutcome(
            incident_id=self._incident_id,
            phase=state.phase,
            unreachable_partners=state.unreachable_partners,
            reason=state.call_off_reason,
        )

    # --- continue-as-new ------------------------------------------------------------------

    def _continue_suggested(self) -> bool:
        return (
            self._incident.phase in CONTINUABLE and workflow.info().is_continue_as_new_suggested()
        )

    async def _continue_as_new(self) -> None:
        """Hand the whole state to a new run. Updates that arrive from now on are refused with
        `IncidentContinuing` (nothing recorded; sent again they land on the new run), so that
        the handlers in flight can finish even under a steady stream of updates."""
        self._continuing = True
        await self._alerts.deliveries_settled()
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self._incident.phase not in CONTINUABLE:  # called off meanwhile: end in this run
            self._continuing = False
            return
        workflow.continue_as_new({CARRY_OVER: self._incident.model_dump(mode="json")})

    # --- updates --------------------------------------------------------------------------

    @workflow.update(
        description="A partner acknowledges its alert (also on its behalf, e.g. by phone). "
        "Staff references are roles or numbers such as lagedienst-1, never names."
    )
    async def acknowledge_alert(self, request: AcknowledgeAlert) -> AcknowledgementResult:
        ctx = record.update_context(request.actor, request.channel, request.partner_id)
        state = await self._declared()
        await self._admit(self._check_acknowledge, request, ctx)
        track = state.track(request.partner_id)
        if track.state is AlertState.ACKNOWLEDGED:
            return track.acknowledgement(duplicate=True)
        received_at = request.received_at or ctx.business_time
        seconds = max((received_at - state.alerting_started_at).total_seconds(), 0.0)
        late = received_at > state.alerting_started_at + state.ack_deadline(track.partner_id)
        before = track.model_copy(deep=True)
        # The answer counts when it arrived: the ladder stops now, even while the record
        # below still waits for the store.
        track.acknowledge(received_at, ctx.business_time, late, seconds)
        self._show()
        async with self._lock:
            try:
                await record.record(
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
            except ApplicationError as error:
                track.reset_to(before)  # the record refused it: the state must not claim it
                self._note_if_damaged(error)
                self._show()
                raise
        self._remember_update()
        return track.acknowledgement(duplicate=False)

    @acknowledge_alert.validator
    def _validate_acknowledge(self, request: AcknowledgeAlert) -> None:
        self._validate(self._check_acknowledge, request)

    @workflow.update(
        description="Report counts of needs by category and region (counts only, no names)."
    )
    async def report_needs(self, request: ReportNeeds) -> PhaseResult:
        if self._is_repeat():
            return PhaseResult(phase=self._incident.phase, duplicate=True)
        async with self._handling(checks.check_report_needs, request) as (state, ctx):
            await record.record(
                RECORD_NEEDS,
                RecordNeedsInput(ctx=ctx, incident_id=self._incident_id, needs=request.needs),
            )
            state.add_needs(request.needs)
            self._show()
            return PhaseResult(phase=state.phase)

    @report_needs.validator
    def _validate_report_needs(self, request: ReportNeeds) -> None:
        self._validate(checks.check_report_needs, request)

    @workflow.update(
        description="Give a need category to a partner whose remit covers it; says whom it "
        "replaces."
    )
    async def assign_need_category(self, request: AssignNeedCategory) -> AssignmentResult:
        if self._is_repeat():
            return AssignmentResult(
                phase=self._incident.phase,
                duplicate=True,
                category=request.category,
                partner_id=request.partner_id,
            )
        async with self._handling(checks.check_assign, request) as (state, ctx):
            replaced = state.assigned_to(request.category)
            if replaced != request.partner_id:
                await record.record(
                    RECORD_ASSIGNMENT,
                    RecordAssignmentInput(
                        ctx=ctx,
                        incident_id=self._incident_id,
                        category=request.category,
                        partner_id=request.partner_id,
                    ),
                )
                state.assign(request.category, request.partner_id)
                self._show()
            return AssignmentResult(
                phase=state.phase,
                duplicate=replaced == request.partner_id,
                category=request.category,
                partner_id=request.partner_id,
                replaced=replaced if replaced != request.partner_id else None,
            )

    @assign_need_category.validator
    def _validate_assign(self, request: AssignNeedCategory) -> None:
        self._validate(checks.check_assign, request)

    @workflow.update(description="End the acute phase; the reflection is then scheduled.")
    async def close_acute_phase(self, request: CloseAcutePhase) -> PhaseResult:
        if self._is_repeat():
            return PhaseResult(phase=self._incident.phase, duplicate=True)
        async with self._handling(checks.check_close, request) as (state, ctx):
            due_at = ctx.business_time + state.reflection_after
            await record.record(
                RECORD_ACUTE_PHASE_CLOSED,
                CloseAcutePhaseInput(
                    ctx=ctx,
                    incident_id=self._incident_id,
                    note=request.note,
                    reflection_due_at=due_at,
                ),
            )
            state.reflection_due_at = due_at
            self._enter(Phase.AWAITING_REFLECTION)
            return PhaseResult(phase=state.phase)

    @close_acute_phase.validator
    def _validate_close(self, request: CloseAcutePhase) -> None:
        self._validate(checks.check_close, request)

    @workflow.update(
        description="Record the reflection's findings and measures (about the procedure, never "
        "about people: no names, phone numbers or e-mail addresses); closes the incident."
    )
    async def record_reflection(self, request: RecordReflection) -> PhaseResult:
        if self._is_repeat():
            return PhaseResult(phase=self._incident.phase, duplicate=True)
        async with self._handling(checks.check_reflection, request) as (state, ctx):
            await record.record(
                RECORD_REFLECTION,
                RecordReflectionInput(
                    ctx=ctx,
                    incident_id=self._incident_id,
                    findings=list(request.findings),
                    measures=list(request.measures),
                ),
            )
            self._enter(Phase.CLOSED)
            return PhaseResult(phase=state.phase)

    @record_reflection.validator
    def _validate_reflection(self, request: RecordReflection) -> None:
        self._validate(checks.check_reflection, request)

    @workflow.update(
        description="Call the incident off (a false alarm or a duplicate declaration); everyone "
        "who was alerted receives an all-clear."
    )
    async def call_off(self, request: CallOff) -> PhaseResult:
        if self._is_repeat():
            return PhaseResult(phase=self._incident.phase, duplicate=True)
        async with self._handling(checks.check_call_off, request) as (state, ctx):
            await record.record(
                RECORD_CALL_OFF,
                RecordCallOffInput(ctx=ctx, incident_id=self._incident_id, reason=request.reason),
            )
            state.call_off_reason = request.reason
            self._enter(Phase.CALLED_OFF)
            return PhaseResult(phase=state.phase)

    @call_off.validator
    def _validate_call_off(self, request: CallOff) -> None:
        self._validate(checks.check_call_off, request)

    # --- query ----------------------------------------------------------------------------

    @workflow.query(description="Phase, each partner's alert, needs by category, open items.")
    def status(self) -> IncidentStatus:
        if self._state is not None:
            status = self._state.status(self._incident_id)
            if self._people is not None:
                status = status.model_copy(update={"people": self._people})
            return status
        return status_before_recorded(self._require_declaration(), self._incident_id)

    # --- how updates are admitted ---------------------------------------------------------

    def _check_acknowledge(self, state: IncidentState, request: AcknowledgeAlert) -> None:
        checks.check_acknowledge(state, request, workflow.now())

    def _validate(self, check: Check[RequestT], request: RequestT) -> None:
        """Validators refuse problems of form before anything is written; until the
        declaration is recorded they let the update through and the handler checks again once
        it is."""
        if self._continuing:
            raise _refusal(
                "the incident is moving to a new run (its history is long); nothing was "
                "recorded — send the same update again in a few seconds",
                INCIDENT_CONTINUING,
            )
        if self._state is not None:
            self._refuse_unless(check, request)

    def _refuse_unless(self, check: Check[RequestT], request: RequestT) -> None:
        """The validator's part: refuse a problem of form at once; a refusal on substance
        passes, for the handler to record."""
        try:
            check(self._incident, request)
        except RefusedOnSubstanceError:
            return
        except UpdateRefusedError as refusal:
            raise _refusal(str(refusal)) from None

    async def _admit(self, check: Check[RequestT], request: RequestT, ctx: CommandContext) -> None:
        """The handler's part: the same check; a refusal on substance is recorded with the
        update's actor and reason (`ActionRefused`), then the update fails with the same type
        and message the validator gave before."""
        try:
            check(self._incident, request)
        except RefusedOnSubstanceError as refusal:
            await record.record_refusal(
                self._incident_id, refusal.kind, str(refusal), ctx, self._alerts.record_damaged
            )
            raise _refusal(str(refusal)) from None
        except UpdateRefusedError as refusal:
            raise _refusal(str(refusal)) from None

    @asynccontextmanager
    async def _handling(
        self, check: Check[RequestT], request: RequestT
    ) -> AsyncIterator[tuple[IncidentState, CommandContext]]:
        """One update at a time, once the declaration is recorded, checked again under the
        lock (the state may have changed since the validator ran; a refusal here fails only
        the update). The context is taken when the update arrived; an update that completes
        is remembered for repeats after continue-as-new."""
        ctx = record.update_context(request.actor, request.channel)
        state = await self._declared()
        async with self._lock:
            await self._admit(check, request, ctx)
            try:
                yield state, ctx
            except ApplicationError as error:
                self._note_if_damaged(error)  # the update fails; the damage stays in view
                raise
            self._remember_update()

    async def _declared(self) -> IncidentState:
        await workflow.wait_condition(lambda: self._state is not None)
        return self._incident

    def _is_repeat(self) -> bool:
        """Whether this update id was applied by an earlier run (Temporal deduplicates update
        ids within one run only, not across continue-as-new)."""
        info = workflow.current_update_info()
        return info is not None and self._state is not None and self._state.has_applied(info.id)

    def _remember_update(self) -> None:
        info = workflow.current_update_info()
        if info is not None:
            self._incident.remember_update(info.id)

    # --- helpers --------------------------------------------------------------------------

    def _adopt(self, state: IncidentState) -> None:
        self._declaration = state.declaration
        self._state = state
        self._alerting = Alerting(state, self._show)

    @property
    def _incident(self) -> IncidentState:
        if self._state is None:
            raise UpdateRefusedError("the declaration has not been recorded yet")
        return self._state

    @property
    def _alerts(self) -> Alerting:
        assert self._alerting is not None  # made together with the state
        return self._alerting

    @property
    def _incident_id(self) -> str:
        return workflow.info().workflow_id

    def _require_declaration(self) -> IncidentDeclaration:
        if self._declaration is None:
            raise UpdateRefusedError("the declaration has not been read yet")
        return self._declaration

    def _system_ctx(self, step: str) -> CommandContext:
        return record.system_context(self._incident.declaration.declared_by, step)

    def _note_if_damaged(self, error: ApplicationError) -> None:
        if record.damaged(error):
            self._alerts.record_damaged(error.message)

    def _enter(self, phase: Phase) -> None:
        self._incident.phase = phase
        self._show()

    def _show(self) -> None:
        """Keep the UI's search attributes and current details in step with the state."""
        if self._declaration is None:
            return
        state = self._state
        phase = state.phase if state else Phase.ALERTING
        self._display.show(self._declaration, phase, self.status if state else None)
