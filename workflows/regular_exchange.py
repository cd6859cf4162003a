"""`RegularExchange`: one exchange meeting of the partners, started by a Temporal Schedule.

`run` reads as the standing process of docs/procedure.md, *The regular exchange*: record the
meeting under the agreement in force, invite every partner over its contact channel, wait for
the minutes (`record_minutes`, refused with the reasons when they do not fit), then keep track
of the measures agreed until each is done, reminding its owner and the Commissioner's office
when one is overdue. A measure is marked done in the record (`lotse measures done`); the run
reads the record before every reminder and ends when none is open. Waits of weeks continue as
new when Temporal suggests it, handing the whole state over.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.exchange import (
        EXCHANGE_WORKFLOW_TYPE,
        DeliverInvitationInput,
        ExchangeInput,
        ExchangeState,
        ExchangeStatus,
        MeasuresRead,
        MeetingRecorded,
        MinutesResult,
        ReadMeasuresInput,
        RecordInvitationInput,
        RecordMeetingInput,
        RecordMinutes,
        RecordMinutesInput,
        RemindMeasureInput,
        TrackedMeasure,
        minutes_problems,
    )
    from contracts.exchange_activities import (
        DELIVER_INVITATION,
        READ_MEASURES,
        RECORD_INVITATION,
        RECORD_MEETING,
        RECORD_MINUTES,
        REMIND_MEASURE,
    )
    from contracts.messages import Actor, CommandContext, DeliveryReceipt
    from contracts.text import SYSTEM_STAFF_REF
    from contracts.vocabulary import BERLIN, COMMISSIONER_PARTNER_ID, ActorChannel
    from workflows import record

DELIVERY_TIMEOUT = timedelta(seconds=30)
OFFICE_SYSTEM = Actor(partner_id=COMMISSIONER_PARTNER_ID, staff_ref=SYSTEM_STAFF_REF)
"""Lotse's own steps of the exchange act for the Commissioner's office, which holds the
`exchange-meetings` task in the agreement."""


def _refusal(message: str) -> ApplicationError:
    return ApplicationError(message, type="MinutesRefused", non_retryable=True)


@workflow.defn(name=EXCHANGE_WORKFLOW_TYPE)
class RegularExchange:
    """One meeting: record, invite, minutes, measures until done."""

    @workflow.init
    def __init__(self, start: ExchangeInput) -> None:
        self._state = start.carry_over or ExchangeState(agreement_key=start.agreement_key)
        self._lock = asyncio.Lock()

    @workflow.run
    async def run(self, start: ExchangeInput) -> ExchangeStatus:
        if self._state.meeting is None:
            await self._record_meeting()
            await self._invite_every_partner()
        if not self._state.minutes_recorded:
            await self._await_minutes()  # weeks, until the minutes are recorded
        await self._track_measures()  # until every measure is done
        self._state.stage = "done"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._state.status()

    async def _record_meeting(self) -> None:
        recorded = await record.record(
            RECORD_MEETING,
            RecordMeetingInput(
                ctx=record.step_context(OFFICE_SYSTEM, ActorChannel.SYSTEM, "meeting"),
                agreement_key=self._state.agreement_key,
            ),
        )
        assert isinstance(recorded, MeetingRecorded)  # the activity's declared result
        self._state.meeting = recorded
        self._state.invitations = {p.partner_id: "pending" for p in recorded.partners}
        self._state.stage = "inviting"

    async def _invite_every_partner(self) -> None:
        await asyncio.gather(*(self._invite(p) for p in list(self._state.invitations)))
        self._state.stage = "awaiting-minutes"

    async def _invite(self, partner_id: str) -> None:
        """Deliver one invitation within the delivery policy; record that it arrived, or
        that it finally did not (the meeting goes ahead either way)."""
        meeting = self._meeting
        message_id = f"{meeting.meeting_key}/invitation/{partner_id}"
        detail = ""
        try:
            receipt = await workflow.execute_activity(
                DELIVER_INVITATION.name,
                DeliverInvitationInput(
                    meeting_key=meeting.meeting_key,
                    partner_id=partner_id,
                    message_id=message_id,
                    sent_at=workflow.now(),
                ),
                result_type=DeliveryReceipt,
                start_to_close_timeout=DELIVERY_TIMEOUT,
                retry_policy=_delivery_retry(meeting),
                summary=partner_id,
            )
            delivered = isinstance(receipt, DeliveryReceipt)
        except ActivityError as error:
            delivered, detail = False, str(getattr(error.cause, "message", error.cause))
        await record.record(
            RECORD_INVITATION,
            RecordInvitationInput(
                ctx=self._step(f"invitation/{partner_id}"),
                meeting_key=meeting.meeting_key,
                partner_id=partner_id,
                message_id=message_id,
                delivered=delivered,
                detail=detail,
            ),
        )
        self._state.invitations[partner_id] = "delivered" if delivered else "failed"

    async def _await_minutes(self) -> None:
        while not self._state.minutes_recorded:
            await workflow.wait_condition(
                lambda: self._state.minutes_recorded or self._continue_suggested()
            )
            if not self._state.minutes_recorded:
                await self._continue_as_new()

    async def _track_measures(self) -> None:
        """Until every measure is done: read them from the record, remind of those overdue,
        sleep until the next reminder is due."""
        self._state.stage = "tracking"
        while True:
            open_measures = await self._open_measures()
            if not open_measures:
                return
            now = workflow.now()
            due = [m for m in open_measures if next_reminder(m, self._interval) <= now]
            for measure in due:
                await self._remind(measure)
            if due:
                continue  # read again: the reminders are recorded, the next ones later
            wake = min(next_reminder(m, self._interval) for m in open_measures)
            try:
                await workflow.wait_condition(
                    self._continue_suggested, timeout=wake - now, timeout_summary="next reminder"
                )
            except TimeoutError:
                continue
            await self._continue_as_new()

    async def _open_measures(self) -> list[TrackedMeasure]:
        read = await record.record(
            READ_MEASURES, ReadMeasuresInput(measure_keys=self._state.measure_keys)
        )
        assert isinstance(read, MeasuresRead)  # the activity's declared result
        open_measures = [m for m in read.measures if not m.done and m.due_on is not None]
        self._state.open_measures = [m.measure_key for m in open_measures]
        return open_measures

    async def _remind(self, measure: TrackedMeasure) -> None:
        number = measure.reminders + 1
        step = f"reminder/{measure.measure_key}/{number}"
        await workflow.execute_activity(
            REMIND_MEASURE.name,
            RemindMeasureInput(
                ctx=self._step(step),
                measure_key=measure.measure_key,
                number=number,
                message_id=f"{self._meeting.meeting_key}/{step}",
                sent_at=workflow.now(),
            ),
            start_to_close_timeout=DELIVERY_TIMEOUT,
            # A relay that is down delays the reminder, it never drops it.
            retry_policy=RetryPolicy(
                initial_interval=self._meeting.delivery.initial_interval,
                maximum_interval=timedelta(minutes=10),
            ),
            summary=measure.measure_key,
        )

    # --- the minutes ----------------------------------------------------------------------

    @workflow.update(
        description="Record the meeting's minutes: attendees (partner id and staff reference, "
        "never a name), topics, and the measures agreed, each with owner and due_on."
    )
    async def record_minutes(self, minutes: RecordMinutes) -> MinutesResult:
        ctx = record.update_context(minutes.actor, minutes.channel)
        async with self._lock:
            self._check_minutes(minutes)
            recorded = await record.record(
                RECORD_MINUTES,
                RecordMinutesInput(ctx=ctx, meeting_key=self._meeting.meeting_key, minutes=minutes),
            )
            assert isinstance(recorded, MinutesResult)  # the activity's declared result
            self._state.measure_keys = list(recorded.measure_keys)
            self._state.open_measures = list(recorded.measure_keys)
            self._state.minutes_recorded = True
        return recorded

    @record_minutes.validator
    def _validate_minutes(self, minutes: RecordMinutes) -> None:
        self._check_minutes(minutes)

    def _check_minutes(self, minutes: RecordMinutes) -> None:
        state = self._state
        if state.meeting is None or state.stage == "inviting":
            raise _refusal("the meeting's invitations are still going out; send it again shortly")
        if state.minutes_recorded:
            raise _refusal(
                f"the minutes of {state.meeting.meeting_key} were already recorded; "
                "nothing recorded again"
            )
        partners = [p.partner_id for p in state.meeting.partners]
        problems = minutes_problems(minutes, partners, state.meeting.held_at, workflow.now())
        if problems:
            raise _refusal(f"minutes refused: {'; '.join(problems)}")

    @workflow.query(description="The meeting, its invitations, minutes and open measures.")
    def status(self) -> ExchangeStatus:
        return self._state.status()

    # --- helpers --------------------------------------------------------------------------

    def _continue_suggested(self) -> bool:
        return workflow.info().is_continue_as_new_suggested()

    async def _continue_as_new(self) -> None:
        await workflow.wait_condition(workflow.all_handlers_finished)
        workflow.continue_as_new(
            ExchangeInput(agreement_key=self._state.agreement_key, carry_over=self._state)
        )

    @property
    def _meeting(self) -> MeetingRecorded:
        assert self._state.meeting is not None  # recorded before anything else happens
        return self._state.meeting

    @property
    def _interval(self) -> timedelta:
        return self._meeting.reminder_interval

    def _step(self, step: str) -> CommandContext:
        return record.step_context(OFFICE_SYSTEM, ActorChannel.SYSTEM, step)


def _delivery_retry(meeting: MeetingRecorded) -> RetryPolicy:
    policy = meeting.delivery
    return RetryPolicy(
        initial_interval=policy.initial_interval,
        maximum_interval=policy.maximum_interval,
        maximum_attempts=policy.max_attempts,
    )


def next_reminder(measure: TrackedMeasure, interval: timedelta) -> datetime:
    """When the measure's next reminder is due: the first at the start of the day after its
    due date (Europe/Berlin), each further one `interval` after the last."""
    if measure.last_reminded_at is not None:
        return measure.last_reminded_at + interval
    assert measure.due_on is not None  # only measures with a due date are tracked
    return datetime.combine(measure.due_on + timedelta(days=1), time(0), tzinfo=BERLIN)
