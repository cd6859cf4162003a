"""Whether a registration is valid, and whether a case's state allows an update: pure checks
shared by each update's validator (before anything is written) and its handler (again, under
the lock). The referral and consent rules themselves live in contracts/case_rules.py, which the
record enforces too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.agreement import describe_validation_error
from contracts.case_messages import (
    AssessNeeds,
    CloseCase,
    DeclineReferral,
    FirstContact,
    GiveConsent,
    RecordFollowUp,
    ReferNeed,
    ReferralAnswer,
    RegisterPerson,
    WithdrawConsent,
)
from contracts.case_rules import ReferralAction, already_done, referral_problem
from contracts.checks import incident_id_problem
from contracts.people import NeedStatus
from contracts.vocabulary import case_workflow_id
from workflows.case_state import CaseReferral, CaseState
from workflows.checks import UpdateRefusedError

CONSENT_MISSING = "ConsentMissing"


class InvalidRegistrationError(Exception):
    """The start input is not a valid registration: fails the workflow at once."""


class ConsentMissingError(UpdateRefusedError):
    """A referral that no valid consent covers; refused with type `ConsentMissing`."""


def valid_registration(raw: Any, case_id: str) -> RegisterPerson:
    """The registration, or `InvalidRegistrationError` naming every problem, the id included."""
    problems: list[str] = []
    registration: RegisterPerson | None = None
    try:
        registration = RegisterPerson.model_validate(raw)
    except ValidationError as error:
        problems += describe_validation_error(error)
    if registration is not None:
        if problem := incident_id_problem(registration.incident_id):
            problems.append(f"incident_id {problem}")
        expected = case_workflow_id(registration.incident_id, registration.person_ref)
        if case_id != expected:
            problems.append(
                f"the workflow id must be '{expected}' (incident id, '--', person reference), "
                "so that one person has one case per incident"
            )
    if problems or registration is None:
        raise InvalidRegistrationError(f"invalid registration: {'; '.join(problems)}")
    return registration


def check_open(state: CaseState, _request: object = None) -> None:
    if state.closed:
        raise UpdateRefusedError(f"the case is closed ({state.closed_reason})")


def check_consent(state: CaseState, request: GiveConsent, now: datetime) -> None:
    check_open(state)
    if request.given_at is not None and request.given_at > now:
        raise UpdateRefusedError("given_at lies in the future")
    expires = request.expires_at
    if expires is not None and expires <= (request.given_at or now):
        raise UpdateRefusedError("expires_at must lie after the time the consent was given")


def check_withdrawal(state: CaseState, request: WithdrawConsent, now: datetime) -> None:
    check_open(state)
    if not any(
        c.scope.recipient == request.recipient and c.withdrawn_at is None for c in state.consents
    ):
        given = sorted({c.scope.recipient for c in state.consents if c.withdrawn_at is None})
        raise UpdateRefusedError(
            f"no consent for '{request.recipient}' to withdraw; consent is held for: "
            f"{', '.join(given) or 'nobody'}"
        )


def check_assessment(state: CaseState, request: AssessNeeds) -> None:
    check_open(state)


def check_referral_step(
    state: CaseState, request: ReferralAnswer, action: ReferralAction
) -> CaseReferral:
    check_open(state)
    referral = state.referral(request.referral_id)
    if referral is None:
        known = ", ".join(state.referrals) or "none yet"
        raise UpdateRefusedError(
            f"this case has no referral {request.referral_id} (referrals: {known})"
        )
    if already_done(action, referral.status):
        return referral  # a repeat: answered as one, nothing recorded
    if problem := referral_problem(action, referral.status, referral.referral_id):
        raise UpdateRefusedError(problem)
    return referral


def check_first_contact(state: CaseState, request: FirstContact, now: datetime) -> None:
    referral = check_referral_step(state, request, ReferralAction.FIRST_CONTACT)
    if request.contacted_at is not None:
        if request.contacted_at > now:
            raise UpdateRefusedError("contacted_at lies in the future")
        if referral.sent_at is not None and request.contacted_at < referral.sent_at:
            raise UpdateRefusedError("contacted_at lies before the referral was sent")


def check_decline(state: CaseState, request: DeclineReferral) -> None:
    check_referral_step(state, request, ReferralAction.DECLINE)


def check_follow_up(state: CaseState, request: RecordFollowUp) -> None:
    check_open(state)
    for result in request.results:
        need = state.needs.get(result.category)
        if need is None:
            raise UpdateRefusedError(
                f"'{result.category}' is not a need of this case "
                f"(needs: {', '.join(state.needs) or 'none assessed yet'})"
            )
    categories = [result.category for result in request.results]
    if len(set(categories)) != len(categories):
        raise UpdateRefusedError("results name a need twice")


def check_refer(state: CaseState, request: ReferNeed) -> None:
    check_open(state)
    need = state.needs.get(request.category)
    if need is None:
        raise UpdateRefusedError(f"'{request.category}' is not a need of this case")
    if need.status not in (
        NeedStatus.ESCALATED,
        NeedStatus.AWAITING_CONSENT,
        NeedStatus.AWAITING_REFERRAL,
    ):
        raise UpdateRefusedError(
            f"'{request.category}' is {need.status}; only a need that awaits a referral or was "
            "escalated can be referred by hand"
        )


def check_close(state: CaseState, request: CloseCase) -> None:
    check_open(state)
