"""Whether a declaration is valid, and whether the incident's current state allows an update:
pure checks, shared by each update's validator and its handler (which checks again under the
lock, because the state may have moved on meanwhile).

A check raises `UpdateRefusedError` for a problem of form, which the validator refuses before
anything is written, and `RefusedOnSubstanceError` (wrong phase, outside a remit) only once the
form is right: the validator lets that through, and the handler records the refusal before it
fails the update (docs/record.md, "Refusals").

The phase and remit rules themselves are the table in contracts/rules.py, which the record
enforces too; this module only applies them to the workflow's state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.accountability import RefusalKind
from contracts.agreement import describe_validation_error
from contracts.checks import incident_id_problem, occurred_at_problem
from contracts.messages import (
    AcknowledgeAlert,
    Actor,
    AssignNeedCategory,
    IncidentDeclaration,
    OperatorAction,
)
from contracts.rules import Action, phase_problem, remit_problem
from contracts.vocabulary import Phase
from workflows.state import IncidentState


class InvalidDeclarationError(Exception):
    """The start input is not a valid declaration: fails the workflow at once (never retried).

    Named in the workflow's `failure_exception_types` so that only this error, and not a later
    bug in a handler, fails a live incident.
    """


class UpdateRefusedError(Exception):
    """An update that the current state does not allow; the message is for the operator."""


class RefusedOnSubstanceError(UpdateRefusedError):
    """A refusal on substance (`kind`: wrong phase, outside a remit, no consent): the handler
    records it as `ActionRefused` before it fails the update. The checks raise it only after
    every check of form has passed, so a validator that lets it through has checked the form."""

    def __init__(self, message: str, kind: RefusalKind) -> None:
        super().__init__(message)
        self.kind = kind


def valid_declaration(raw: Any, incident_id: str, now: datetime) -> IncidentDeclaration:
    """The declaration, or `InvalidDeclarationError` naming every problem, the id included."""
    problems: list[str] = []
    if id_problem := incident_id_problem(incident_id):
        problems.append(f"workflow id {id_problem}")
    declaration: IncidentDeclaration | None = None
    try:
        declaration = IncidentDeclaration.model_validate(raw)
    except ValidationError as error:
        problems += describe_validation_error(error)
    if declaration is not None and (when := occurred_at_problem(declaration.occurred_at, now)):
        problems.append(when)
    if problems or declaration is None:
        raise InvalidDeclarationError(f"invalid declaration: {'; '.join(problems)}")
    return declaration


def check_acknowledge(state: IncidentState, request: AcknowledgeAlert, now: datetime) -> None:
    check_partner(state, request.partner_id)
    check_acting_partner(state, request.actor)
    if request.received_at is not None:
        if request.received_at > now:
            raise UpdateRefusedError("received_at lies in the future")
        if request.received_at < state.alerting_started_at:
            raise UpdateRefusedError("received_at lies before the alert was sent")
    check_phase(state.phase, Action.ACKNOWLEDGE)


def check_assign(state: IncidentState, request: AssignNeedCategory) -> None:
    check_acting_partner(state, request.actor)
    check_partner(state, request.partner_id)
    check_phase(state.phase, Action.ASSIGN)
    partner = state.procedure(request.partner_id)
    problem = remit_problem(request.category, partner.partner_id, partner.categories)
    if problem is not None:
        raise RefusedOnSubstanceError(problem, RefusalKind.OUTSIDE_REMIT)


def allowed(action: Action) -> Callable[[IncidentState, OperatorAction], None]:
    """The check of an update that needs no more than its phase and a known acting partner."""

    def check(state: IncidentState, request: OperatorAction) -> None:
        check_acting_partner(state, request.actor)
        check_phase(state.phase, action)

    return check


check_report_needs = allowed(Action.REPORT_NEEDS)
check_close = allowed(Action.CLOSE_ACUTE)
check_reflection = allowed(Action.RECORD_REFLECTION)
check_call_off = allowed(Action.CALL_OFF)


def check_partner(state: IncidentState, partner_id: str) -> None:
    if not state.has_partner(partner_id):
        raise UpdateRefusedError(
            f"unknown partner '{partner_id}'; partners of this incident: {_known(state)}"
        )


def check_acting_partner(state: IncidentState, actor: Actor) -> None:
    if not state.has_partner(actor.partner_id):
        raise UpdateRefusedError(
            f"actor.partner_id '{actor.partner_id}' is not a partner of this incident's "
            f"agreement; partners: {_known(state)}"
        )


def _known(state: IncidentState) -> str:
    return ", ".join(state.partner_ids)


def check_phase(phase: Phase, action: Action) -> None:
    problem = phase_problem(action, phase)
    if problem is not None:
        raise RefusedOnSubstanceError(problem, RefusalKind.WRONG_PHASE)
