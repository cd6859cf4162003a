"""Temporal activities of `RegularExchange`: record the meeting, deliver and record invitations,
record the minutes, read the measures, remind of an overdue one.

As for the incident (activities/incident.py): synchronous `def` activities on the worker's
thread pool; a domain refusal is final and typed, anything else is retried, and the command id
makes a retry change nothing twice. Addresses are looked up here and never travel through
Temporal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.exchange_messages import Invitation, Reminder, render_invitation, render_reminder
from activities.incident import answer_route, domain_refusals_are_final
from activities.messages import OutgoingMessage
from activities.notify import DeliveryError, Notifier, delivery_policy
from contracts.agreement import ContactPoint
from contracts.exchange import (
    DeliverInvitationInput,
    MeasuresRead,
    MeetingPartner,
    MeetingRecorded,
    MinutesResult,
    ReadMeasuresInput,
    RecordInvitationInput,
    RecordMeetingInput,
    RecordMinutesInput,
    RemindMeasureInput,
    TrackedMeasure,
)
from contracts.exchange_activities import (
    DELIVER_INVITATION,
    READ_MEASURES,
    RECORD_INVITATION,
    RECORD_MEETING,
    RECORD_MINUTES,
    REMIND_MEASURE,
)
from contracts.messages import DeliveryReceipt
from contracts.vocabulary import BERLIN, COMMISSIONER_PARTNER_ID
from domain.application import LotseApplication
from domain.exchange import Measure
from settings import Settings

log = logging.getLogger("lotse.activities")


def meeting_key_for(held_at_date: str) -> str:
    """`exchange-20270112` for a meeting held on 2027-01-12 (Europe/Berlin)."""
    return f"exchange-{held_at_date.replace('-', '')}"


class ExchangeActivities:
    """The side effects of the regular exchange, built once in `bootstrap.py`."""

    def __init__(self, app: LotseApplication, notifier: Notifier, settings: Settings) -> None:
        self._app = app
        self._notifier = notifier
        self._settings = settings

    @activity.defn(name=RECORD_MEETING.name)
    def record_meeting(self, data: RecordMeetingInput) -> MeetingRecorded:
        """The meeting is held `exchange_lead_days` after the run began (the command's time),
        so a retry finds the same date and key."""
        settings = self._settings
        held_at = data.ctx.business_time + timedelta(days=settings.exchange_lead_days)
        key = meeting_key_for(held_at.astimezone(BERLIN).date().isoformat())
        with domain_refusals_are_final():
            meeting = self._app.schedule_meeting(key, data.agreement_key, held_at, data.ctx)
            agreement = self._app.meeting_agreement(meeting)
        return MeetingRecorded(
            meeting_key=key,
            held_at=meeting.held_at,
            partners=[
                MeetingPartner(partner_id=p.id, name=p.name) for p in agreement.partners.values()
            ],
            delivery=delivery_policy(settings),
            reminder_interval=timedelta(days=settings.measure_reminder_days),
        )

    @activity.defn(name=DELIVER_INVITATION.name)
    def deliver_invitation(self, data: DeliverInvitationInput) -> DeliveryReceipt:
        """Send one partner's invitation to its primary contact; a failure is retried."""
        with domain_refusals_are_final():
            meeting = self._app.meeting(data.meeting_key)
            partner = self._app.meeting_agreement(meeting).partner(data.partner_id)
        message = render_invitation(
            Invitation(
                meeting_key=meeting.meeting_key,
                held_at=meeting.held_at,
                partner_id=partner.id,
                partner_name=partner.name,
                message_id=data.message_id,
                sent_at=data.sent_at,
                cli_prefix=answer_route(self._settings).cli_prefix,
            )
        )
        self._deliver(partner.primary, message)
        return DeliveryReceipt(channel=partner.primary.channel, message_id=data.message_id)

    @activity.defn(name=RECORD_INVITATION.name)
    def record_invitation(self, data: RecordInvitationInput) -> None:
        with domain_refusals_are_final():
            meeting = self._app.meeting(data.meeting_key)
            partner = self._app.meeting_agreement(meeting).partner(data.partner_id)
            self._app.record_invitation(
                data.meeting_key,
                data.partner_id,
                data.message_id,
                str(partner.primary.channel),
                data.delivered,
                data.detail,
                data.ctx,
            )

    @activity.defn(name=RECORD_MINUTES.name)
    def record_minutes(self, data: RecordMinutesInput) -> MinutesResult:
        with domain_refusals_are_final():
            keys = self._app.record_minutes(data.meeting_key, data.minutes, data.ctx)
        return MinutesResult(meeting_key=data.meeting_key, measure_keys=keys)

    @activity.defn(name=READ_MEASURES.name)
    def read_measures(self, data: ReadMeasuresInput) -> MeasuresRead:
        with domain_refusals_are_final():
            found = [self._app.measure(key) for key in data.measure_keys]
        return MeasuresRead(measures=[_tracked(measure) for measure in found])

    @activity.defn(name=REMIND_MEASURE.name)
    def remind_measure(self, data: RemindMeasureInput) -> None:
        """Remind the owner and the Commissioner's office, then record the reminder. A measure
        done meanwhile, or this reminder recorded before, sends nothing."""
        with domain_refusals_are_final():
            measure = self._app.measure(data.measure_key)
            if measure.done or measure.reminders >= data.number:
                return
            agreement = self._app.measure_agreement(measure)
            recipients = list(dict.fromkeys([str(measure.owner), COMMISSIONER_PARTNER_ID]))
            owner = agreement.partner(str(measure.owner))
            contacts = {p: agreement.partner(p).primary for p in recipients}
        for partner_id, contact in contacts.items():
            # One message id per recipient: a receiver (the sink too) drops a repeated id.
            reminder = _reminder(measure, owner.name, data, self._settings)
            message_id = f"{data.message_id}/{partner_id}"
            self._deliver(
                contact, render_reminder(reminder.model_copy(update={"message_id": message_id}))
            )
        with domain_refusals_are_final():
            self._app.remind_measure(data.measure_key, data.number, recipients, data.ctx)

    def _deliver(self, contact: ContactPoint, message: OutgoingMessage) -> None:
        try:
            self._notifier.deliver(contact, message)
        except DeliveryError as error:
            log.warning("delivery of %s failed: %s", message.message_id, error)
            problem = error.problem.replace(contact.address, f"<{contact.channel} address>")
            raise ApplicationError(
                f"{contact.channel}: {problem}", contact.channel.value, type="DeliveryFailed"
            ) from None

    def all(self) -> list[Callable[..., Any]]:
        """Every activity of this class, for registration with the worker."""
        return [
            self.record_meeting,
            self.deliver_invitation,
            self.record_invitation,
            self.record_minutes,
            self.read_measures,
            self.remind_measure,
        ]


def _tracked(measure: Measure) -> TrackedMeasure:
    return TrackedMeasure(
        measure_key=measure.measure_key,
        owner=measure.owner,
        due_on=measure.due_date,
        done=measure.done,
        reminders=measure.reminders,
        last_reminded_at=measure.last_reminded_at,
    )


def _reminder(
    measure: Measure, owner_name: str, data: RemindMeasureInput, settings: Settings
) -> Reminder:
    assert measure.due_date is not None  # a meeting's measure has one (minutes_problems)
    return Reminder(
        measure_key=measure.measure_key,
        text=measure.text,
        owner=str(measure.owner),
        owner_name=owner_name,
        due_on=measure.due_date,
        number=data.number,
        message_id=data.message_id,
        sent_at=data.sent_at,
        cli_prefix=answer_route(settings).cli_prefix,
    )
