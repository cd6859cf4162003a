"""Temporal activities of `AlertDrill`: record the drill, deliver and record each test message,
record answers and silence, tell the Commissioner's office, record the end.

As for the exchange (activities/exchange.py): synchronous `def` activities on the worker's
thread pool; a domain refusal is final and typed, anything else is retried, and the command id
makes a retry change nothing twice. Addresses are looked up here and never travel through
Temporal.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from temporalio import activity

from activities.drill_messages import DrillReport, TestAlert, render_drill_report, render_test_alert
from activities.exchange import ExchangeActivities
from activities.incident import answer_route, domain_refusals_are_final
from activities.notify import delivery_policy
from contracts.drill import (
    DeliverTestAlertInput,
    DrillAnswer,
    DrillPointInput,
    DrillRecorded,
    FinishDrillInput,
    RecordTestAlertInput,
    StartDrillInput,
    TellOfficeInput,
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
from contracts.messages import DeliveryReceipt
from contracts.vocabulary import COMMISSIONER_PARTNER_ID


class DrillActivities(ExchangeActivities):
    """The side effects of a test alert, built once in `bootstrap.py` (delivery as the
    exchange delivers: the same notifier, the same typed `DeliveryFailed`)."""

    @activity.defn(name=START_DRILL.name)
    def start_drill(self, data: StartDrillInput) -> DrillRecorded:
        settings = self._settings
        wait = timedelta(minutes=settings.drill_wait_minutes)
        with domain_refusals_are_final():
            drill = self._app.start_drill(
                data.drill_key, data.agreement_key, wait.total_seconds(), data.ctx
            )
        return DrillRecorded(
            points=list(drill.points),
            wait=timedelta(seconds=drill.wait_seconds),
            delivery=delivery_policy(settings),
        )

    @activity.defn(name=DELIVER_TEST_ALERT.name)
    def deliver_test_alert(self, data: DeliverTestAlertInput) -> DeliveryReceipt:
        """Send one contact point its test message over its own channel; a failure is retried."""
        with domain_refusals_are_final():
            drill = self._app.drill(data.drill_key)
            contact = self._app.drill_contact(drill, data.point)
            partner = self._app.drill_agreement(drill).partner(data.point.split("/", 1)[0])
        alert = TestAlert(
            drill_key=data.drill_key,
            point=data.point,
            partner_name=partner.name,
            message_id=data.message_id,
            sent_at=data.sent_at,
            cli_prefix=answer_route(self._settings).cli_prefix,
        )
        self._deliver(contact, render_test_alert(alert))
        return DeliveryReceipt(channel=contact.channel, message_id=data.message_id)

    @activity.defn(name=RECORD_TEST_ALERT.name)
    def record_test_alert(self, data: RecordTestAlertInput) -> None:
        with domain_refusals_are_final():
            self._app.record_drill_sending(
                data.drill_key, data.point, data.delivered, data.detail, data.ctx
            )

    @activity.defn(name=ANSWER_TEST_ALERT.name)
    def answer_test_alert(self, data: DrillPointInput) -> DrillAnswer:
        """Record the answer; a point that answered before keeps its first answer."""
        with domain_refusals_are_final():
            before = self._app.drill(data.drill_key).points.get(data.point)
            answered_before = before is not None and before.answered_at is not None
            drill = self._app.answer_drill(data.drill_key, data.point, data.ctx)
        seconds = drill.points[data.point].seconds_to_answer
        assert seconds is not None  # recorded just now, or before
        return DrillAnswer(point=data.point, seconds_to_answer=seconds, duplicate=answered_before)

    @activity.defn(name=MARK_NOT_ANSWERING.name)
    def mark_not_answering(self, data: DrillPointInput) -> None:
        with domain_refusals_are_final():
            self._app.mark_drill_not_answering(data.drill_key, data.point, data.ctx)

    @activity.defn(name=TELL_OFFICE_OF_DRILL.name)
    def tell_office_of_drill(self, data: TellOfficeInput) -> DeliveryReceipt:
        """Send the office's primary contact the points that did not answer."""
        with domain_refusals_are_final():
            drill = self._app.drill(data.drill_key)
            office = self._app.drill_agreement(drill).partner(COMMISSIONER_PARTNER_ID).primary
        report = DrillReport(
            drill_key=data.drill_key,
            silent=data.silent,
            message_id=data.message_id,
            sent_at=data.sent_at,
            cli_prefix=answer_route(self._settings).cli_prefix,
        )
        self._deliver(office, render_drill_report(report))
        return DeliveryReceipt(channel=office.channel, message_id=data.message_id)

    @activity.defn(name=FINISH_DRILL.name)
    def finish_drill(self, data: FinishDrillInput) -> None:
        with domain_refusals_are_final():
            self._app.finish_drill(data.drill_key, data.ctx)

    def all(self) -> list[Callable[..., Any]]:
        """Every activity of this class (not the exchange's), for the worker."""
        return [
            self.start_drill,
            self.deliver_test_alert,
            self.record_test_alert,
            self.answer_test_alert,
            self.mark_not_answering,
            self.tell_office_of_drill,
            self.finish_drill,
        ]
