"""Alerting: every partner's escalation ladder, and every message the incident sends.

Each partner is alerted at once and escalated on durable timers — primary contact, deputy, the
Commissioner's office — until it acknowledges; only when every message has arrived and the last
time to answer has run out is it unreachable. A message that cannot be delivered hands over to
the next contact at once (nobody can answer a message that never arrived) and keeps being
retried in the background with growing pauses, shown as delivery trouble meanwhile.

Runs inside the workflow (Temporal calls, no I/O of its own); it changes the `IncidentState` it
is given and calls `show` after each change the UI should see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.activities import (
        DELIVER_NOTIFICATION,
        RECORD_ESCALATION,
        RECORD_NOTIFICATION,
        RECORD_UNREACHABLE,
    )
    from contracts.messages import (
        CommandContext,
        DeliverNotificationInput,
        DeliveryReceipt,
        RecordEscalationInput,
        RecordNotificationInput,
        RecordUnreachableInput,
    )
    from contracts.vocabulary import (
        COMMISSIONER_PARTNER_ID,
        AlertState,
        ContactChannel,
        EscalationStep,
        NotificationPurpose,
    )
    from workflows import record
    from workflows.state import AlertTrack, IncidentState

DELIVERY_TIMEOUT = timedelta(seconds=30)
MAX_REDELIVERY_PAUSE = timedelta(minutes=10)
"""The longest pause between two delivery rounds of a failing message. Bounded so that a relay
that comes back is used within minutes, and so that days of outage stay far below the history
limit (about 8 events per round and step)."""

Delivery = tuple[DeliveryReceipt | None, ContactChannel | None, str]


class Alerting:
    """The alerts of one incident and the messages that follow them."""

    def __init__(self, state: IncidentState, show: Callable[[], None]) -> None:
        self._state = state
        self._show = show
        self._redeliveries: list[asyncio.Task[None]] = []

    def record_damaged(self, message: str) -> None:
        """The incident's record cannot be read: say so among the open items."""
        self._state.note_damage(message)
        self._show()

    async def alert_everyone(self) -> None:
        """Alert every partner at once; return when each has acknowledged or is unreachable
        (or the incident ended)."""
        await asyncio.gather(*(self._alert(track) for track in self._state.partners))

    async def deliveries_settled(self) -> None:
        """Wait for the messages still being retried in the background (each stops as soon as
        its partner is settled or the incident ends)."""
        await asyncio.gather(*self._redeliveries)

    async def tell_everyone(self, purpose: NotificationPurpose) -> None:
        """One message to every partner's primary contact (e.g. that the reflection is due)."""
        await asyncio.gather(
            *(self.notify(t, purpose, EscalationStep.PRIMARY) for t in self._state.partners)
        )

    async def give_all_clear(self) -> None:
        """ "Entwarnung": every contact that a message reached hears that it is called off."""
        await asyncio.gather(
            *(
                self.notify(track, NotificationPurpose.ALL_CLEAR, step)
                for track in self._state.partners
                for step in list(track.delivered_steps)
            )
        )

    # --- one partner's ladder ---------------------------------------------------------------

    async def _alert(self, track: AlertTrack) -> None:
        """Each contact in turn, escalating when the time to answer runs out."""
        for step, allowed in self._ladder(track):
            if self._state.done(track):
                return
            if step is not EscalationStep.PRIMARY:
                await self._escalate(track, step)
                if self._state.done(track):  # answered while the escalation was recorded
                    return
            if await self._deliver_step(track, step, allowed) and await self._answered_in_time(
                track, step
            ):
                return
        await self._last_chance(track)

    def _ladder(self, track: AlertTrack) -> list[tuple[EscalationStep, timedelta]]:
        """Each contact in turn, with the time it has to answer once the message arrived."""
        return [
            (EscalationStep.PRIMARY, self._state.ack_deadline(track.partner_id)),
            (EscalationStep.DEPUTY, self._state.escalation_step),
            (EscalationStep.COMMISSIONER, self._state.escalation_step),
        ]

    async def _escalate(self, track: AlertTrack, step: EscalationStep) -> None:
        track.escalate(step)
        self._show()
        await record.record_step(
            RECORD_ESCALATION,
            RecordEscalationInput(
                ctx=self._system_ctx(f"escalation/{track.partner_id}/{step}"),
                incident_id=workflow.info().workflow_id,
                partner_id=track.partner_id,
                to_step=step,
            ),
            self.record_damaged,
        )

    async def _deliver_step(
        self, track: AlertTrack, step: EscalationStep, allowed: timedelta
    ) -> bool:
        """Send the step's message; whether it arrived. One that did not is retried in the
        background until it arrives or the partner answers."""
        if await self.notify(track, _purpose_of(step), step, answer_within=allowed):
            return True
        self._redeliveries.append(asyncio.create_task(self._redeliver(track, step, allowed)))
        return False

    async def _answered_in_time(self, track: AlertTrack, step: EscalationStep | str) -> bool:
        """Wait on a durable timer until the deadline (which a late arrival elsewhere may push
        back); whether the partner answered (or the incident ended) in time."""
        while not self._state.done(track):
            assert track.deadline_at is not None  # set by the delivery that got us here
            wait = track.deadline_at - workflow.now()
            if wait <= timedelta(0):
                return False
            try:
                await workflow.wait_condition(
                    lambda: self._state.done(track),
                    timeout=wait,
                    timeout_summary=f"{step} deadline {track.partner_id}",
                )
            except TimeoutError:
                continue
        return True

    async def _last_chance(self, track: AlertTrack) -> None:
        """Every contact was tried. Unreachable only once every message has arrived and the
        last time to answer ran out: while a message still cannot be delivered, the partner is
        shown with its delivery trouble (undeliverable while none arrived), not as silent."""
        while not self._state.done(track):
            if track.delivery_trouble:
                if not track.delivered_steps:
                    track.state = AlertState.UNDELIVERABLE
                    self._show()
                await self._trouble_changes(track)
                continue
            if not await self._answered_in_time(track, "last"):
                break
        if self._state.done(track):
            return
        track.state = AlertState.UNREACHABLE
        self._show()
        await record.record_step(
            RECORD_UNREACHABLE,
            RecordUnreachableInput(
                ctx=self._system_ctx(f"unreachable/{track.partner_id}"),
                incident_id=workflow.info().workflow_id,
                partner_id=track.partner_id,
            ),
            self.record_damaged,
        )

    async def _trouble_changes(self, track: AlertTrack) -> None:
        """Wait until a failing message arrives (or another starts failing), or it is over."""
        failing = {t.step for t in track.delivery_trouble}
        await workflow.wait_condition(
            lambda: self._state.done(track) or {t.step for t in track.delivery_trouble} != failing
        )

    async def _redeliver(self, track: AlertTrack, step: EscalationStep, allowed: timedelta) -> None:
        """Retry one undelivered step with growing pauses until it arrives, the partner has
        answered or is settled, or the incident ends."""
        pause = self._state.recorded.delivery.maximum_interval
        while True:
            try:
                await workflow.wait_condition(
                    lambda: self._state.done(track),
                    timeout=pause,
                    timeout_summary=f"redelivery pause {step} {track.partner_id}",
                )
                return
            except TimeoutError:
                pass
            if await self.notify(track, _purpose_of(step), step, retry=True, answer_within=allowed):
                return
            pause = min(pause * 2, MAX_REDELIVERY_PAUSE)

    # --- one message ------------------------------------------------------------------------

    async def notify(
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
        incident_id = workflow.info().workflow_id
        message_id = f"{incident_id}.{purpose}.{step}.{track.partner_id}"
        office_silent = self._office_silent(track, purpose, step)
        receipt, channel, detail = await self._attempt(
            track, purpose, step, message_id, office_silent
        )
        alerting = purpose in (NotificationPurpose.ALERT, NotificationPurpose.ESCALATION)
        if alerting and receipt is not None:
            track.delivered(step, workflow.now())
            if answer_within is not None:
                first_alert = step is EscalationStep.PRIMARY and not retry
                start = self._state.alerting_started_at if first_alert else workflow.now()
                track.extend_deadline(start + answer_within)
        elif alerting:
            track.delivery_failed(step, channel, workflow.now(), detail)
        self._show()
        if receipt is None and retry:
            return False
        await record.record_step(
            RECORD_NOTIFICATION,
            RecordNotificationInput(
                ctx=self._system_ctx(
                    f"notification/{message_id}/{'delivered' if receipt else 'failed'}"
                ),
                incident_id=incident_id,
                partner_id=track.partner_id,
                purpose=purpose,
                step=step,
                message_id=message_id,
                channel=channel,
                delivered=receipt is not None,
                detail=detail,
                office_silent=office_silent,
            ),
            self.record_damaged,
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
        office = next(
            (t for t in self._state.partners if t.partner_id == COMMISSIONER_PARTNER_ID), None
        )
        silent = (
            purpose is NotificationPurpose.ESCALATION
            and step is EscalationStep.COMMISSIONER
            and track.partner_id != COMMISSIONER_PARTNER_ID
            and office is not None
            and office.state is not AlertState.ACKNOWLEDGED
            and step not in track.delivered_steps
            and track.trouble_at(step) is None
        )
        if silent:
            track.office_silent_steps.append(step)
        return silent

    async def _attempt(
        self,
        track: AlertTrack,
        purpose: NotificationPurpose,
        step: EscalationStep,
        message_id: str,
        office_silent: bool,
    ) -> Delivery:
        """One delivery round: the receipt, or the channel and problem of the failure."""
        delivery = self._state.recorded.delivery
        unanswered_since = None
        if purpose is NotificationPurpose.ESCALATION:
            unanswered_since = track.alerted_at or self._state.alerting_started_at
        try:
            receipt: DeliveryReceipt = await workflow.execute_activity(
                DELIVER_NOTIFICATION.name,
                DeliverNotificationInput(
                    incident_id=workflow.info().workflow_id,
                    partner_id=track.partner_id,
                    purpose=purpose,
                    step=step,
                    message_id=message_id,
                    sent_at=workflow.now(),
                    unanswered_since=unanswered_since,
                    office_silent=office_silent,
                ),
                result_type=DELIVER_NOTIFICATION.result_type,
                summary=f"{purpose} {step} → {track.partner_id}",
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

    def _system_ctx(self, step: str) -> CommandContext:
        return record.system_context(self._state.declaration.declared_by, step)


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
