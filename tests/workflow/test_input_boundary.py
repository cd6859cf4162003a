"""The boundary on the real dev server: a declaration or an update that breaks the input rules is
refused at once, naming the field, before anything is recorded or sent."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.errors import IncidentNotFoundError
from tests.workflow.support import Stack, declaration, eventually

OPERATOR = {"partner_id": "opferbeauftragte", "staff_ref": "lagedienst-1"}


def recorded_events(stack: Stack, incident_id: str) -> list[str]:
    try:
        return [entry.event for entry in stack.history(incident_id)]
    except IncidentNotFoundError:
        return []


async def test_a_title_with_a_header_injection_fails_the_workflow_at_once_naming_the_title(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration(title="Anschlag\r\nBcc: x@example.org"))

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidDeclarationError"
    assert cause.message == (
        "invalid declaration: title: must be one line without control characters; found a "
        "line break (U+000D) at character 9"
    )
    assert recorded_events(stack, handle.id) == []
    assert stack.mails() == []


async def test_a_declaration_by_lotse_itself_fails_the_workflow_at_once(stack: Stack) -> None:
    system = {"partner_id": "opferbeauftragte", "staff_ref": "lotse-system"}
    handle = await stack.declare(declaration(declared_by=system, channel="system"))

    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()

    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert "declared_by: staff_ref 'lotse-system' is reserved" in cause.message
    assert "channel: 'system' is reserved for Lotse's own steps" in cause.message
    assert stack.mails() == []


@pytest.mark.parametrize(
    ("update", "request_data", "problem"),
    [
        (
            "report_needs",
            {
                "actor": OPERATOR,
                "needs": [{"category": "legal", "region": "dresden", "count": "7"}],
            },
            "invalid ReportNeeds: needs[0].count: Input should be a valid integer",
        ),
        (
            "acknowledge_alert",
            {"actor": OPERATOR, "channel": "system", "partner_id": "opferbeauftragte"},
            "invalid AcknowledgeAlert: channel: 'system' is reserved for Lotse's own steps; "
            "use ui, cli or phone",
        ),
        (
            "acknowledge_alert",
            {
                "actor": {"partner_id": "opferbeauftragte", "staff_ref": "lotse-system"},
                "partner_id": "opferbeauftragte",
            },
            "invalid AcknowledgeAlert: actor: staff_ref 'lotse-system' is reserved for Lotse's "
            "own steps; give a role or staff number such as lagedienst-1 — never a person's name",
        ),
        (
            "call_off",
            {"actor": OPERATOR, "reason": "Fehlalarm, Rückruf 0351 1234567"},
            "invalid CallOff: reason: free text is for the situation, never for people: no "
            "e-mail addresses or phone numbers — this holds what looks like a phone number",
        ),
    ],
    ids=["count-as-text", "system-channel", "system-staff-ref", "phone-in-reason"],
)
async def test_an_update_breaking_the_input_rules_is_refused_naming_the_field(
    stack: Stack, update: str, request_data: dict[str, Any], problem: str
) -> None:
    handle = await stack.declare(declaration())
    before = await eventually(
        lambda: recorded_events(stack, handle.id),
        lambda events: events.count("AlertSent") == 4,
        what="four alerts recorded",
    )

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(update, request_data)

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.message.startswith(problem)
    assert recorded_events(stack, handle.id) == before
