"""One incident ("Großschadenlage") as an aggregate: declaration, alerts, needs, reflection.

Commands (`acknowledge_alert`, …) check the rules and then trigger one past-tense event each;
state changes only inside event methods. Every event carries the `CommandContext` envelope, and
a command id that was applied before changes nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate, event
from pydantic import BaseModel, ConfigDict

from contracts.agreement import ContactPoint, PartnerTerms
from contracts.messages import CommandContext, NeedReport
from contracts.rules import Action, phase_problem, remit_problem
from contracts.vocabulary import (
    AlertState,
    EscalationStep,
    NeedCategory,
    NotificationPurpose,
    Phase,
)
from domain import ids
from domain.errors import OutsideRemitError, PhaseNotAllowedError, UnknownPartnerError


class PartnerAlert:
    """Where one partner's alert stands (rebuilt from events, never stored on its own)."""

    def __init__(self) -> None:
        self.state = AlertState.PENDING
        self.step = EscalationStep.PRIMARY
        self.acknowledged_at: datetime | None = None
        self.entered_at: datetime | None = None
        self.late = False
        self.seconds_to_acknowledge: float | None = None
        self.notifications_delivered = 0
        self.notifications_failed = 0


class NotificationOutcome(BaseModel):
    """What became of one message of the procedure: it arrived at `contact`, or its delivery
    finally failed there (`detail` names the problem without the address).

    The argument of `Incident.record_notification`; recorded field by field as `AlertSent`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partner_id: str
    purpose: NotificationPurpose
    step: EscalationStep
    message_id: str
    contact: ContactPoint
    delivered: bool
    detail: str = ""


class Incident(Aggregate):
    """The record of one incident under one version of the agreement."""

    @staticmethod
    def create_id(incident_key: str) -> Any:
        return ids.incident_id(incident_key)

    @event("Declared")
    def __init__(
        self,
        incident_key: str,
        title: str,
        kind: str,
        occurred_at: datetime,
        location: str,
        region: str,
        estimated_affected: int | None,
        agreement_key: str,
        agreement_version: int,
        partner_ids: list[str],
        ctx: CommandContext,
        agreement_revision: int | None = None,
        exercise: bool = False,
    ) -> None:
        self.incident_key = incident_key
        self.title = title
        self.kind = kind
        self.occurred_at = occurred_at
        self.location = location
        self.region = region
        self.estimated_affected = estimated_affected
        self.agreement_key = agreement_key
        # The aggregate version replays the terms; the revision is what people call the version.
        # Declarations recorded before revisions were counted have none.
        self.agreement_version = agreement_version
        self.agreement_revision = agreement_revision
        # Declarations recorded before exercises existed lack the field: they were real.
        self.exercise = exercise
        self.declared_by = ctx.actor
        self.declared_at = ctx.business_time
        self.phase = Phase.ALERTING
        self.alerts = {partner_id: PartnerAlert() for partner_id in partner_ids}
        self.needs: dict[str, dict[str, int]] = {}
        self.assignments: dict[str, str] = {}
        self.reflection_due_at: datetime | None = None
        self.findings: list[str] = []
        self.measures: list[str] = []
        self.call_off_reason: str | None = None
        self.command_ids = {ctx.command_id}

    @property
    def counts_in_kpis(self) -> bool:
        """Whether the incident's figures belong in KPIs across incidents (the reflection
        report's and any other): an exercise ("ÜBUNG") never does. The one place this is
        decided."""
        return not self.exercise

    # --- commands -------------------------------------------------------------------------

    def has_applied(self, ctx: CommandContext) -> bool:
        return ctx.command_id in self.command_ids

    def record_notification(self, outcome: NotificationOutcome, ctx: CommandContext) -> None:
        self._check_partner(outcome.partner_id)
        # Flat, as `AlertSent` has always been stored: the record's readers and the stores in
        # use know these fields, and no upcaster translates another shape.
        self._alert_sent(
            partner_id=outcome.partner_id,
            purpose=outcome.purpose,
            step=outcome.step,
            message_id=outcome.message_id,
            channel=outcome.contact.channel,
            contact=outcome.contact.address,
            delivered=outcome.delivered,
            detail=outcome.detail,
            ctx=ctx,
        )

    def acknowledge_alert(
        self,
        partner_id: str,
        late: bool,
        seconds_to_acknowledge: float,
        ctx: CommandContext,
        received_at: datetime | None = None,
    ) -> None:
        """Record an acknowledgement; a partner that already acknowledged changes nothing.

        `received_at` is when it arrived (a phone call taken earlier); the context's business
        time is when it was entered. Both are kept."""
        self._check_partner(partner_id)
        self._check_phase(Action.ACKNOWLEDGE)
        if self.alerts[partner_id].state is AlertState.ACKNOWLEDGED:
            return
        self._alert_acknowledged(
            partner_id=partner_id,
            late=late,
            seconds_to_acknowledge=seconds_to_acknowledge,
            received_at=received_at or ctx.business_time,
            ctx=ctx,
        )

    def escalate_alert(self, partner_id: str, to_step: EscalationStep, ctx: CommandContext) -> None:
        self._check_partner(partner_id)
        if self.alerts[partner_id].state is AlertState.ACKNOWLEDGED:
            return
        self._alert_escalated(partner_id=partner_id, to_step=to_step, ctx=ctx)

    def mark_unreachable(self, partner_id: str, ctx: CommandContext) -> None:
        self._check_partner(partner_id)
        if self.alerts[partner_id].state is AlertState.ACKNOWLEDGED:
            return
        self._partner_unreachable(partner_id=partner_id, ctx=ctx)

    def report_needs(self, needs: list[NeedReport], ctx: CommandContext) -> None:
        self._check_phase(Action.REPORT_NEEDS)
        self._needs_reported(needs=needs, ctx=ctx)

    def assign_need_category(
        self, category: NeedCategory, partner: PartnerTerms, ctx: CommandContext
    ) -> None:
        """Give `category` to `partner`; taking it from another partner is a reassignment,
        and giving it to the partner that already has it changes nothing."""
        self._check_phase(Action.ASSIGN)
        self._check_partner(partner.id)
        remit = remit_problem(category, partner.id, partner.remit.categories)
        if remit is not None:
            raise OutsideRemitError(remit)
        current = self.assignments.get(str(category))
        if current == partner.id:
            return
        if current is None:
            self._need_category_assigned(category=category, partner_id=partner.id, ctx=ctx)
        else:
            self._need_category_reassigned(
                category=category, from_partner_id=current, to_partner_id=partner.id, ctx=ctx
            )

    def close_acute_phase(
        self, note: str | None, reflection_due_at: datetime, ctx: CommandContext
    ) -> None:
        self._check_phase(Action.CLOSE_ACUTE)
        self._acute_phase_closed(note=note, ctx=ctx)
        self._reflection_scheduled(due_at=reflection_due_at, ctx=ctx)

    def mark_reflection_due(self, ctx: CommandContext) -> None:
        self._check_phase(Action.MARK_REFLECTION_DUE)
        self._reflection_became_due(ctx=ctx)

    def record_reflection(
        self, findings: list[str], measures: list[str], ctx: CommandContext
    ) -> None:
        self._check_phase(Action.RECORD_REFLECTION)
        self._reflection_recorded(findings=findings, measures=measures, ctx=ctx)
        self._closed(ctx=ctx)

    def call_off(self, reason: str, ctx: CommandContext) -> None:
        self._check_phase(Action.CALL_OFF)
        self._called_off(reason=reason, ctx=ctx)

    def record_refusal(
        self, action: str, kind: str, reason: str, person_ref: str | None, ctx: CommandContext
    ) -> None:
        """Record that an action was refused on its substance (in any phase: a refusal after
        the incident ended is as much a part of its record). Changes nothing else."""
        self._action_refused(
            action=action, kind=kind, reason=reason, person_ref=person_ref, ctx=ctx
        )

    # --- guards ---------------------------------------------------------------------------

    def _check_partner(self, partner_id: str) -> None:
        if partner_id not in self.alerts:
            known = ", ".join(sorted(self.alerts))
            raise UnknownPartnerError(
                f"'{partner_id}' is not a partner of this incident's agreement (partners: {known})"
            )

    def _check_phase(self, action: Action) -> None:
        problem = phase_problem(action, self.phase)
        if problem is not None:
            raise PhaseNotAllowedError(problem)

    # --- events ---------------------------------------------------------------------------

    def _applied(self, ctx: CommandContext) -> None:
        self.command_ids.add(ctx.command_id)

    def _end_alerting_when_settled(self) -> None:
        settled = (AlertState.ACKNOWLEDGED, AlertState.UNREACHABLE)
        if self.phase is Phase.ALERTING and all(a.state in settled for a in self.alerts.values()):
            self.phase = Phase.COORDINATING

    @event("AlertSent")
    def _alert_sent(
        self,
        partner_id: str,
        purpose: str,
        step: str,
        message_id: str,
        channel: str | None,
        contact: str | None,
        delivered: bool,
        detail: str,
        ctx: CommandContext,
    ) -> None:
        alert = self.alerts[partner_id]
        if delivered:
            alert.notifications_delivered += 1
        else:
            alert.notifications_failed += 1
        self._applied(ctx)

    @event("AlertAcknowledged")
    def _alert_acknowledged(
        self,
        partner_id: str,
        late: bool,
        seconds_to_acknowledge: float,
        ctx: CommandContext,
        received_at: datetime | None = None,  # None in events recorded before it existed
    ) -> None:
        alert = self.alerts[partner_id]
        alert.state = AlertState.ACKNOWLEDGED
        alert.acknowledged_at = received_at or ctx.business_time
        alert.entered_at = ctx.business_time
        alert.late = late
        alert.seconds_to_acknowledge = seconds_to_acknowledge
        self._end_alerting_when_settled()
        self._applied(ctx)

    @event("AlertEscalated")
    def _alert_escalated(self, partner_id: str, to_step: str, ctx: CommandContext) -> None:
        alert = self.alerts[partner_id]
        alert.state = AlertState.ESCALATED
        alert.step = EscalationStep(to_step)
        self._applied(ctx)

    @event("PartnerUnreachable")
    def _partner_unreachable(self, partner_id: str, ctx: CommandContext) -> None:
        self.alerts[partner_id].state = AlertState.UNREACHABLE
        self._end_alerting_when_settled()
        self._applied(ctx)

    @event("NeedsReported")
    def _needs_reported(self, needs: list[NeedReport], ctx: CommandContext) -> None:
        for need in needs:
            by_region = self.needs.setdefault(str(need.category), {})
            by_region[str(need.region)] = by_region.get(str(need.region), 0) + need.count
        self._applied(ctx)

    @event("NeedCategoryAssigned")
    def _need_category_assigned(self, category: str, partner_id: str, ctx: CommandContext) -> None:
        self.assignments[str(category)] = partner_id
        self._applied(ctx)

    @event("NeedCategoryReassigned")
    def _need_category_reassigned(
        self, category: str, from_partner_id: str, to_partner_id: str, ctx: CommandContext
    ) -> None:
        self.assignments[str(category)] = to_partner_id
        self._applied(ctx)

    @event("AcutePhaseClosed")
    def _acute_phase_closed(self, note: str | None, ctx: CommandContext) -> None:
        self.phase = Phase.AWAITING_REFLECTION
        self._applied(ctx)

    @event("ReflectionScheduled")
    def _reflection_scheduled(self, due_at: datetime, ctx: CommandContext) -> None:
        self.reflection_due_at = due_at
        self._applied(ctx)

    @event("ReflectionBecameDue")
    def _reflection_became_due(self, ctx: CommandContext) -> None:
        self.phase = Phase.REFLECTION_DUE
        self._applied(ctx)

    @event("ReflectionRecorded")
    def _reflection_recorded(
        self, findings: list[str], measures: list[str], ctx: CommandContext
    ) -> None:
        self.findings = list(findings)
        self.measures = list(measures)
        self._applied(ctx)

    @event("Closed")
    def _closed(self, ctx: CommandContext) -> None:
        self.phase = Phase.CLOSED
        self._applied(ctx)

    @event("ActionRefused")
    def _action_refused(
        self, action: str, kind: str, reason: str, person_ref: str | None, ctx: CommandContext
    ) -> None:
        self._applied(ctx)

    @event("CalledOff")
    def _called_off(self, reason: str, ctx: CommandContext) -> None:
        self.phase = Phase.CALLED_OFF
        self.call_off_reason = reason
        self._applied(ctx)
