"""Temporal activities of `IncidentResponse`: each translates one message into one domain command.

Synchronous `def` activities (eventsourcing is synchronous) run on the worker's thread pool. A
domain refusal becomes a non-retryable `ApplicationError` whose `type` is the domain error's
class name; anything else (a lost connection, a version conflict) is retried by Temporal, and
the command id makes the retry change nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.messages import AnswerRoute, IncidentFacts, Notification, render_notification
from activities.notify import DeliveryError, Notifier, delivery_policy
from activities.reflection_report import ReflectionReports
from contracts.accountability import RecordRefusalInput
from contracts.activities import (
    DELIVER_NOTIFICATION,
    READ_PEOPLE_COUNTS,
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
    RECORD_REFUSAL,
    RECORD_UNREACHABLE,
)
from contracts.agreement import ContactPoint
from contracts.messages import (
    CloseAcutePhaseInput,
    DeclarationRecorded,
    DeliverNotificationInput,
    DeliveryReceipt,
    IncidentStepInput,
    PartnerProcedure,
    RecordAcknowledgementInput,
    RecordAssignmentInput,
    RecordCallOffInput,
    RecordDeclarationInput,
    RecordEscalationInput,
    RecordNeedsInput,
    RecordNotificationInput,
    RecordReflectionInput,
    RecordUnreachableInput,
)
from contracts.people_counts import PeopleCountsRead, PeopleCountsRequest
from contracts.vocabulary import IncidentKind, NotificationPurpose, Region
from domain.agreement import Agreement, Recipient
from domain.application import LotseApplication
from domain.errors import DomainError
from domain.incident import Incident, NotificationOutcome
from settings import Settings

log = logging.getLogger("lotse.activities")


@contextmanager
def domain_refusals_are_final() -> Iterator[None]:
    """A domain refusal will not change on retry: fail the activity for good, typed."""
    try:
        yield
    except DomainError as error:
        # A domain error may name the failure type clients branch on (`ConsentMissing`).
        kind = getattr(error, "failure_type", type(error).__name__)
        raise ApplicationError(str(error), type=kind, non_retryable=True) from None


class IncidentActivities:
    """The side effects of the incident procedure, built once in `bootstrap.py`."""

    def __init__(self, app: LotseApplication, notifier: Notifier, settings: Settings) -> None:
        self._app = app
        self._notifier = notifier
        self._settings = settings
        self._reports = ReflectionReports(app)

    @activity.defn(name=RECORD_DECLARATION.name)
    def record_declaration(self, data: RecordDeclarationInput) -> DeclarationRecorded:
        with domain_refusals_are_final():
            incident = self._app.declare_incident(
                data.incident_id, data.declaration, self._settings.agreement_id, data.ctx
            )
            agreement = self._app.agreement_of(incident)
        return DeclarationRecorded(
            agreement_version=incident.agreement_version,
            agreement_revision=incident.agreement_revision,
            partners=[
                PartnerProcedure(
                    partner_id=terms.id,
                    name=terms.name,
                    categories=list(terms.remit.categories),
                    ack_deadline=timedelta(minutes=terms.ack_deadline_minutes),
                )
                for terms in agreement.partners.values()
            ],
            escalation_step=timedelta(minutes=agreement.escalation_step_minutes),
            delivery=delivery_policy(self._settings),
        )

    @activity.defn(name=DELIVER_NOTIFICATION.name)
    def deliver_notification(self, data: DeliverNotificationInput) -> DeliveryReceipt:
        """Send one message; a failure raises and Temporal retries within the bounded policy."""
        with domain_refusals_are_final():
            incident = self._app.incident(data.incident_id)
            agreement = self._app.agreement_of(incident)
            partner = agreement.partner(data.partner_id)
            recipient = _recipient(incident, agreement, data)
        message = render_notification(
            Notification(
                incident=_facts(incident),
                partner_id=partner.id,
                partner_name=partner.name,
                purpose=data.purpose,
                step=data.step,
                message_id=data.message_id,
                sent_at=data.sent_at,
                answers=answer_route(self._settings),
                addressed_to=recipient.addressed_to,
                unanswered_since=data.unanswered_since,
                office_silent=data.office_silent,
            )
        )
        if data.purpose is NotificationPurpose.REFLECTION_DUE:
            # The notice carries the report, with the figures as of the notice.
            with domain_refusals_are_final():
                report = self._reports.attachment(data.incident_id, data.sent_at)
            message = message.model_copy(update={"attachments": (report,)})
        contact = recipient.contact
        try:
            self._notifier.deliver(contact, message)
        except DeliveryError as error:
            # The full text (with the address) goes to the worker's log; Temporal's history
            # and the record get the problem without the address.
            log.warning("delivery of %s failed: %s", data.message_id, error)
            # The channel travels as the failure's detail: the workflow shows it in its status.
            raise ApplicationError(
                f"{contact.channel} to the {data.step} contact: {_without(error.problem, contact)}",
                contact.channel.value,
                type="DeliveryFailed",
            ) from None
        return DeliveryReceipt(channel=contact.channel, message_id=data.message_id)

    @activity.defn(name=RECORD_NOTIFICATION.name)
    def record_notification(self, data: RecordNotificationInput) -> None:
        """Record a delivery or its final failure, with the contact looked up here, so that
        no address travels through Temporal."""
        with domain_refusals_are_final():
            incident = self._app.incident(data.incident_id)
            recipient = _recipient(incident, self._app.agreement_of(incident), data)
            outcome = _outcome(data, recipient.contact)
            self._app.record_notification(data.incident_id, outcome, data.ctx)

    @activity.defn(name=RECORD_ACKNOWLEDGEMENT.name)
    def record_acknowledgement(self, data: RecordAcknowledgementInput) -> None:
        with domain_refusals_are_final():
            self._app.acknowledge_alert(
                data.incident_id,
                data.partner_id,
                data.late,
                data.seconds_to_acknowledge,
                data.ctx,
                received_at=data.received_at,
            )

    @activity.defn(name=RECORD_ESCALATION.name)
    def record_escalation(self, data: RecordEscalationInput) -> None:
        with domain_refusals_are_final():
            self._app.escalate_alert(data.incident_id, data.partner_id, data.to_step, data.ctx)

    @activity.defn(name=RECORD_UNREACHABLE.name)
    def record_unreachable(self, data: RecordUnreachableInput) -> None:
        with domain_refusals_are_final():
            self._app.mark_unreachable(data.incident_id, data.partner_id, data.ctx)

    @activity.defn(name=RECORD_NEEDS.name)
    def record_needs(self, data: RecordNeedsInput) -> None:
        with domain_refusals_are_final():
            self._app.report_needs(data.incident_id, list(data.needs), data.ctx)

    @activity.defn(name=RECORD_ASSIGNMENT.name)
    def record_assignment(self, data: RecordAssignmentInput) -> None:
        with domain_refusals_are_final():
            self._app.assign_need_category(
                data.incident_id, data.category, data.partner_id, data.ctx
            )

    @activity.defn(name=RECORD_ACUTE_PHASE_CLOSED.name)
    def record_acute_phase_closed(self, data: CloseAcutePhaseInput) -> None:
        with domain_refusals_are_final():
            self._app.close_acute_phase(
                data.incident_id, data.note, data.reflection_due_at, data.ctx
            )

    @activity.defn(name=RECORD_REFLECTION_DUE.name)
    def record_reflection_due(self, data: IncidentStepInput) -> None:
        with domain_refusals_are_final():
            self._app.mark_reflection_due(data.incident_id, data.ctx)

    @activity.defn(name=RECORD_REFLECTION.name)
    def record_reflection(self, data: RecordReflectionInput) -> None:
        with domain_refusals_are_final():
            self._app.record_reflection(
                data.incident_id, list(data.findings), list(data.measures), data.ctx
            )

    @activity.defn(name=RECORD_CALL_OFF.name)
    def record_call_off(self, data: RecordCallOffInput) -> None:
        with domain_refusals_are_final():
            self._app.call_off(data.incident_id, data.reason, data.ctx)

    @activity.defn(name=RECORD_REFUSAL.name)
    def record_refusal(self, data: RecordRefusalInput) -> None:
        with domain_refusals_are_final():
            self._app.record_refusal(data)

    @activity.defn(name=READ_PEOPLE_COUNTS.name)
    def read_people_counts(self, data: PeopleCountsRequest) -> PeopleCountsRead:
        """The incident's people counts from the people view, for the UI's details; only
        counts travel (the overdue items name people by reference and may be thousands)."""
        with domain_refusals_are_final():
            counted = self._app.people_counts(data.incident_id, datetime.now(UTC))
        return PeopleCountsRead(
            counts=counted.counts(),
            refresh_seconds=self._settings.people_counts_refresh_seconds,
        )

    def all(self) -> list[Callable[..., Any]]:
        """Every activity of this class, for registration with the worker."""
        return [
            self.record_declaration,
            self.deliver_notification,
            self.record_notification,
            self.record_acknowledgement,
            self.record_escalation,
            self.record_unreachable,
            self.record_needs,
            self.record_assignment,
            self.record_acute_phase_closed,
            self.record_reflection_due,
            self.record_refusal,
            self.record_reflection,
            self.record_call_off,
            self.read_people_counts,
        ]


def _recipient(
    incident: Incident,
    agreement: Agreement,
    data: DeliverNotificationInput | RecordNotificationInput,
) -> Recipient:
    """Who receives the step, as the incident's agreement says."""
    return agreement.recipient_for(
        data.partner_id,
        data.step,
        office_silent=data.office_silent,
        declared_by=incident.declared_by,
    )


def _outcome(data: RecordNotificationInput, contact: ContactPoint) -> NotificationOutcome:
    """What the record keeps of a delivery round: the step as the workflow reports it, the
    contact (channel and address) as the agreement names it."""
    return NotificationOutcome(
        partner_id=data.partner_id,
        purpose=data.purpose,
        step=data.step,
        message_id=data.message_id,
        contact=contact,
        delivered=data.delivered,
        detail=data.detail,
    )


def _facts(incident: Incident) -> IncidentFacts:
    """The incident as its messages describe it, from the record."""
    return IncidentFacts(
        incident_key=incident.incident_key,
        title=incident.title,
        kind=IncidentKind(incident.kind),
        region=Region(incident.region),
        location=incident.location,
        occurred_at=incident.occurred_at,
        exercise=incident.exercise,
    )


def answer_route(settings: Settings) -> AnswerRoute:
    """Where this worker's recipients answer; a command copied from a message carries the
    variables it needs to reach this Temporal."""
    pairs = settings.changed_variables("temporal_address", "temporal_namespace")
    return AnswerRoute(
        ui_url=settings.temporal_ui_url,
        task_queue=settings.task_queue,
        namespace=settings.temporal_namespace,
        cli_prefix="".join(f"{pair} " for pair in pairs),
    )


def _without(problem: str, contact: ContactPoint) -> str:
    """The problem text with the contact's address taken out."""
    return problem.replace(contact.address, f"<{contact.channel} address>")
