"""`AlertDrill`: a test alert ("Testalarm") to every contact point of the agreement.

`run` reads as docs/procedure.md, *The test alert*: record the drill under the agreement in
force, send every contact point (primary and deputy of each partner) its test message over its
own channel and record each sending, wait until every point has answered (`acknowledge`) or the
wait runs out, mark the silent ones not answering, tell the Commissioner's office which they
are, record the end. A message that could not be delivered counts as not answering.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.drill import (
        DRILL_WORKFLOW_TYPE,
        AcknowledgeDrill,
        DeliverTestAlertInput,
        DrillAnswer,
        DrillInput,
        DrillPointInput,
        DrillRecorded,
        DrillState,
        DrillStatus,
        FinishDrillInput,
        PointState,
        RecordTestAlertInput,
        StartDrillInput,
        TellOfficeInput,
        point_problem,
        too_late,
    )
    from contracts.drill_activities import (
        ANSWER_TEST_ALERT,
        DELIVER_TEST_ALERT,
        FINISH_DRILL,
        MARK_NOT_ANSWERING,
        RECORD_TEST_ALERT,
        START_DRILL,
        TELL_OFFICE_OF_DRILL,
    )
    from contracts.messages import Actor, CommandContext, DeliveryPolicy, DeliveryReceipt
    from contracts.text import SYSTEM_STAFF_REF
    from contracts.vocabulary import COMMISSIONER_PARTNER_ID, ActorChannel
    from workflows import record

DELIVERY_TIMEOUT = timedelta(seconds=30)
OFFICE_SYSTEM = Actor(partner_id=COMMISSIONER_PARTNER_ID, staff_ref=SYSTEM_STAFF_REF)
"""Lotse's own steps of a drill act for the Commissioner's office, which holds the drills."""
OPEN_STAGES = ("sending", "waiting")


def _refusal(message: str) -> ApplicationError:
    return ApplicationError(message, type="DrillRefused", non_retryable=True)


@workflow.defn(name=DRILL_WORKFLOW_TYPE)
class AlertDrill:
    """One test alert: record, send, wait for answers, mark the silent, tell the office."""

    @workflow.init
    def __init__(self, start: DrillInput) -> None:
        self._state = DrillState(drill_key=start.drill_key, agreement_key=start.agreement_key)
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: DrillInput) -> DrillStatus:
        recorded = await self._record_start()
        await self._send_to_every_point(recorded.delivery)
        await self._await_answers(recorded.wait)
        async with self._lock:  # an answer being recorded lands before the silence is
            self._state.stage = "closing"
        await self._mark_silent_points()
        await self._tell_office(recorded.delivery)
        await record.record(
            FINISH_DRILL, FinishDrillInput(ctx=self._step("finish"), drill_key=start.drill_key)
        )
        self._state.stage = "done"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state.status()

    async def _record_start(self) -> DrillRecorded:
        recorded = await record.record(
            START_DRILL,
            StartDrillInput(
                ctx=self._step("start"),
                drill_key=self._state.drill_key,
                agreement_key=self._state.agreement_key,
            ),
        )
        assert isinstance(recorded, DrillRecorded)  # the activity's declared result
        self._state.points = {point: PointState() for point in recorded.points}
        self._state.stage = "sending"
        return recorded

    async def _send_to_every_point(self, policy: DeliveryPolicy) -> None:
        await asyncio.gather(*(self._send(point, policy) for point in list(self._state.points)))
        self._state.stage = "waiting"

    async def _send(self, point: str, policy: DeliveryPolicy) -> None:
        """Deliver one test message within the delivery policy; record that it arrived, or
        that it finally did not (the point then counts as not answering)."""
        key = self._state.drill_key
        detail = ""
        try:
            await workflow.execute_activity(
                DELIVER_TEST_ALERT.name,
                DeliverTestAlertInput(
                    drill_key=key,
                    point=point,
                    message_id=f"{key}/test-alert/{point}",
                    sent_at=workflow.now(),
                ),
                result_type=DeliveryReceipt,
                start_to_close_timeout=DELIVERY_TIMEOUT,
                retry_policy=_retry(policy),
                summary=point,
            )
            delivered = True
        except ActivityError as error:
            delivered, detail = False, str(getattr(error.cause, "message", error.cause))
        await record.record(
            RECORD_TEST_ALERT,
            RecordTestAlertInput(
                ctx=self._step(f"sent/{point}"),
                drill_key=key,
                point=point,
                delivered=delivered,
                detail=detail,
            ),
        )
        self._state.points[point].sent = "delivered" if delivered else "failed"

    async def _await_answers(self, wait: timedelta) -> None:
        """Until every point answered (or could not be reached), at most `wait`."""
        # A wait that runs out is the drill's normal end: the silent points are marked next.
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(
                lambda: all(p.settled for p in self._state.points.values()),
                timeout=wait,
                timeout_summary="end of the drill's wait",
            )

    async def _mark_silent_points(self) -> None:
        silent = self._state.silent
        await asyncio.gather(
            *(
                record.record(
                    MARK_NOT_ANSWERING,
                    DrillPointInput(
                        ctx=self._step(f"silent/{point}"),
                        drill_key=self._state.drill_key,
                        point=point,
                    ),
                )
                for point in silent
            )
        )
        for point in silent:
            self._state.points[point].not_answering = True

    async def _tell_office(self, policy: DeliveryPolicy) -> None:
        """Tell the office which points did not answer; nothing when all did. A relay that
        is down delays the report, it never drops it."""
        silent = self._state.silent
        if not silent:
            return
        await workflow.execute_activity(
            TELL_OFFICE_OF_DRILL.name,
            TellOfficeInput(
                drill_key=self._state.drill_key,
                silent=silent,
                message_id=f"{self._state.drill_key}/report",
                sent_at=workflow.now(),
            ),
            result_type=DeliveryReceipt,
            start_to_close_timeout=DELIVERY_TIMEOUT,
            retry_policy=RetryPolicy(
                initial_interval=policy.initial_interval, maximum_interval=timedelta(minutes=10)
            ),
            summary=COMMISSIONER_PARTNER_ID,
        )
        self._state.office_told = True

    # --- answers --------------------------------------------------------------------------

    @workflow.update(
        description="A contact point answered its test message: point (partner/step), actor "
        "(partner id and staff reference, never a name) and channel."
    )
    async def acknowledge(self, answer: AcknowledgeDrill) -> DrillAnswer:
        ctx = record.update_context(answer.actor, answer.channel)
        async with self._lock:
            self._check_answer(answer)
            recorded = await record.record(
                ANSWER_TEST_ALERT,
                DrillPointInput(ctx=ctx, drill_key=self._state.drill_key, point=answer.point),
            )
            assert isinstance(recorded, DrillAnswer)  # the activity's declared result
            self._state.points[answer.point].seconds_to_answer = recorded.seconds_to_answer
        return recorded

    @acknowledge.validator
    def _validate_answer(self, answer: AcknowledgeDrill) -> None:
        self._check_answer(answer)

    def _check_answer(self, answer: AcknowledgeDrill) -> None:
        state = self._state
        if state.stage == "recording":
            raise _refusal(f"drill '{state.drill_key}' is being recorded; send it again shortly")
        if state.stage not in OPEN_STAGES:
            raise _refusal(too_late(state.drill_key))
        if problem := point_problem(state.drill_key, answer.point, list(state.points)):
            raise _refusal(problem)

    @workflow.query(description="Every contact point: sent, answered after how long, silent.")
    def status(self) -> DrillStatus:
        return self._state.status()

    def _step(self, step: str) -> CommandContext:
        return record.step_context(OFFICE_SYSTEM, ActorChannel.SYSTEM, step)


def _retry(policy: DeliveryPolicy) -> RetryPolicy:
    return RetryPolicy(
        initial_interval=policy.initial_interval,
        maximum_interval=policy.maximum_interval,
        maximum_attempts=policy.max_attempts,
    )
