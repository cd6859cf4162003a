"""Whether the incident's current state allows an update: pure checks, shared by each update's
validator (which refuses before anything is written) and its handler (which checks again under
the lock, because the state may have moved on meanwhile).

The phase and remit rules themselves are the table in contracts/rules.py, which the record
enforces too; this module only applies them to the workflow's state.
"""

from __future__ import annotations

from datetime import datetime

from contracts.messages import (
    AcknowledgeAlert,
    Actor,
    AssignNeedCategory,
    CallOff,
    CloseAcutePhase,
    RecordReflection,
    ReportNeeds,
)
from contracts.rules import Action, phase_problem, remit_problem
from contracts.vocabulary import Phase
from workflows.state import IncidentState


class UpdateRefusedError(Exception):
    """An update that the current state does not allow; the message is for the operator."""


def check_acknowledge(state: IncidentState, request: AcknowledgeAlert, now: datetime) -> None:
    check_partner(state, request.partner_id)
    check_phase(state.phase, Action.ACKNOWLEDGE)
    check_acting_partner(state, request.actor)
    if request.received_at is not None:
        if request.received_at > now:
            raise UpdateRefusedError("received_at lies in the future")
        if request.received_at < state.alerting_started_at:
            raise UpdateRefusedError("received_at lies before the alert was sent")


def check_report_needs(state: IncidentState, request: ReportNeeds) -> None:
    check_phase(state.phase, Action.REPORT_NEEDS)
    check_acting_partner(state, request.actor)


def check_assign(state: IncidentState, request: AssignNeedCategory) -> None:
    check_phase(state.phase, Action.ASSIGN)
    check_acting_partner(state, request.actor)
    check_partner(state, request.partner_id)
    partner = state.procedure(request.partner_id)
    problem = remit_problem(request.category, partner.partner_id, partner.categories)
    if problem is not None:
        raise UpdateRefusedError(problem)


def check_close(state: IncidentState, request: CloseAcutePhase) -> None:
    check_phase(state.phase, Action.CLOSE_ACUTE)
    check_acting_partner(state, request.actor)


def check_reflection(state: IncidentState, request: RecordReflection) -> None:
    check_phase(state.phase, Action.RECORD_REFLECTION)
    check_acting_partner(state, request.actor)


def check_call_off(state: IncidentState, request: CallOff) -> None:
    check_phase(state.phase, Action.CALL_OFF)
    check_acting_partner(state, request.actor)


def check_partner(state: IncidentState, partner_id: str) -> None:
    if not state.has_partner(partner_id):
        known = ", ".join(state.partner_ids)
        raise UpdateRefusedError(
            f"unknown partner '{partner_id}'; partners of this incident: {known}"
        )


def check_acting_partner(state: IncidentState, actor: Actor) -> None:
    if not state.has_partner(actor.partner_id):
        known = ", ".join(state.partner_ids)
        raise UpdateRefusedError(
            f"actor.partner_id '{actor.partner_id}' is not a partner of this incident's "
            f"agreement; partners: {known}"
        )


def check_phase(phase: Phase, action: Action) -> None:
    problem = phase_problem(action, phase)
    if problem is not None:
        raise UpdateRefusedError(problem)
