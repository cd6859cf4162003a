"""`MeasureReminders`: the reminders of one measure agreed in a reflection, started by `lotse
measures assign` once the measure has an owner and a due date.

A meeting's measures are reminded of by the meeting's own run (workflows/regular_exchange.py); a
reflection has no run that outlives it, so each of its measures gets this small one, at the same
pace: the first reminder at the start of the day after the due date (Europe/Berlin), then one
every reminder interval, to the owner and the Commissioner's office, until the measure is done.
It reads the record before every reminder, so a measure marked done (`lotse measures done`) is
never reminded of again, and a new due date or owner (`lotse measures assign` again, which sends
`assigned`) counts from then on. It ends when the measure is done.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from contracts.exchange import (
        MEASURE_ASSIGNED_SIGNAL,
        MEASURE_REMINDERS_WORKFLOW_TYPE,
        MeasureRemindersInput,
        MeasuresRead,
        ReadMeasuresInput,
        RemindMeasureInput,
        TrackedMeasure,
    )
    from contracts.exchange_activities import READ_MEASURES, REMIND_MEASURE
    from contracts.vocabulary import ActorChannel
    from workflows import record
    from workflows.regular_exchange import DELIVERY_TIMEOUT, OFFICE_SYSTEM, next_reminder


@workflow.defn(name=MEASURE_REMINDERS_WORKFLOW_TYPE)
class MeasureReminders:
    """One reflection's measure: remind while overdue, until done."""

    def __init__(self) -> None:
        self._assigned = False

    @workflow.run
    async def run(self, start: MeasureRemindersInput) -> TrackedMeasure:
        while True:
            self._assigned = False  # before the read: an assignment during it is not lost
            measure = await self._read(start.measure_key)
            if measure.done or measure.due_on is None:
                return measure
            now = workflow.now()
            due_at = next_reminder(measure, start.reminder_interval)
            if due_at <= now:
                await self._remind(measure, start.retry_initial_interval)
                continue  # read again: the reminder is recorded, the next one later
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(start)
            with suppress(TimeoutError):  # the next reminder is due: read and remind
                await workflow.wait_condition(
                    lambda: self._assigned, timeout=due_at - now, timeout_summary="next reminder"
                )

    @workflow.signal(
        name=MEASURE_ASSIGNED_SIGNAL,
        description="The measure was given an owner and due date (again): read it anew.",
    )
    def assigned(self) -> None:
        self._assigned = True

    async def _read(self, measure_key: str) -> TrackedMeasure:
        read = await record.record(READ_MEASURES, ReadMeasuresInput(measure_keys=[measure_key]))
        assert isinstance(read, MeasuresRead)  # the activity's declared result
        [measure] = read.measures
        return measure

    async def _remind(self, measure: TrackedMeasure, initial_interval: timedelta) -> None:
        number = measure.reminders + 1
        step = f"reminder/{measure.measure_key}/{number}"
        await workflow.execute_activity(
            REMIND_MEASURE.name,
            RemindMeasureInput(
                ctx=record.step_context(OFFICE_SYSTEM, ActorChannel.SYSTEM, step),
                measure_key=measure.measure_key,
                number=number,
                message_id=f"{workflow.info().workflow_id}/{step}",
                sent_at=workflow.now(),
            ),
            start_to_close_timeout=DELIVERY_TIMEOUT,
            # A relay that is down delays the reminder, it never drops it.
            retry_policy=RetryPolicy(
                initial_interval=initial_interval, maximum_interval=timedelta(minutes=10)
            ),
            summary=measure.measure_key,
        )
