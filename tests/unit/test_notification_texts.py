"""Every kind of notification, rendered, against the texts in golden/notification_texts.json.

The other notification tests look for phrases; this one catches any changed byte of a subject,
a body or a webhook payload. A deliberate change of wording updates the golden file in the same
commit, so the change is reviewed as text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activities.messages import Notification, OutgoingMessage, render_notification
from contracts.vocabulary import (
    COMMISSIONER_PARTNER_ID,
    EscalationStep,
    IncidentKind,
    NotificationPurpose,
    Region,
)

GOLDEN = Path(__file__).parent / "golden" / "notification_texts.json"

INCIDENT_KEY = "chemnitz-2026-11-28"
FIRST_ALERTED_AT = datetime(2026, 11, 28, 16, 10, tzinfo=UTC)
LAGEZENTRUM = "Lagezentrum des Sächsischen Staatsministeriums des Innern"
OFFICE = {
    "partner_id": COMMISSIONER_PARTNER_ID,
    "partner_name": "Opferbeauftragte der Sächsischen Staatsregierung",
}
RAA = {
    "partner_id": "raa-sachsen",
    "partner_name": "RAA Sachsen e.V. – Support für Betroffene rechter Gewalt",
}
OTHER_TEMPORAL = {
    "namespace": "lotse-prod",
    "cli_prefix": "LOTSE_TEMPORAL_ADDRESS=temporal.example.org:7233 "
    "LOTSE_TEMPORAL_NAMESPACE=lotse-prod ",
}
ALERT, ESCALATION = NotificationPurpose.ALERT, NotificationPurpose.ESCALATION
REFLECTION_DUE, ALL_CLEAR = NotificationPurpose.REFLECTION_DUE, NotificationPurpose.ALL_CLEAR
PRIMARY, DEPUTY, COMMISSIONER = (
    EscalationStep.PRIMARY,
    EscalationStep.DEPUTY,
    EscalationStep.COMMISSIONER,
)

# name: (purpose, step, what differs from an alert to Opferhilfe Sachsen)
CASES: dict[str, tuple[NotificationPurpose, EscalationStep, dict[str, Any]]] = {
    "alert": (ALERT, PRIMARY, {}),
    "alert-elsewhere": (ALERT, PRIMARY, OTHER_TEMPORAL),
    "escalation-deputy": (ESCALATION, DEPUTY, {"unanswered_since": FIRST_ALERTED_AT}),
    "escalation-commissioner": (ESCALATION, COMMISSIONER, {"unanswered_since": FIRST_ALERTED_AT}),
    "escalation-final-office": (
        ESCALATION,
        COMMISSIONER,
        {**OFFICE, "addressed_to": LAGEZENTRUM, "unanswered_since": FIRST_ALERTED_AT},
    ),
    "escalation-final-office-unknown-since": (
        ESCALATION,
        COMMISSIONER,
        {**OFFICE, "addressed_to": LAGEZENTRUM},
    ),
    "escalation-final-office-silent": (
        ESCALATION,
        COMMISSIONER,
        {
            **RAA,
            "addressed_to": LAGEZENTRUM,
            "unanswered_since": FIRST_ALERTED_AT,
            "office_silent": True,
        },
    ),
    "escalation-final-declarer": (
        ESCALATION,
        COMMISSIONER,
        {**OFFICE, "addressed_to": "bereitschaft-7", "unanswered_since": FIRST_ALERTED_AT},
    ),
    "reflection-due": (REFLECTION_DUE, PRIMARY, {}),
    "all-clear": (ALL_CLEAR, PRIMARY, {}),
    "all-clear-deputy": (ALL_CLEAR, DEPUTY, {}),
    "all-clear-final": (ALL_CLEAR, COMMISSIONER, {**OFFICE, "addressed_to": LAGEZENTRUM}),
}


def render(purpose: NotificationPurpose, step: EscalationStep, **case: Any) -> OutgoingMessage:
    partner_id = case.get("partner_id", "opferhilfe-sachsen")
    notification = {
        "incident": {
            "incident_key": INCIDENT_KEY,
            "title": "Anschlag auf den Weihnachtsmarkt",
            "kind": IncidentKind.TERRORIST,
            "region": Region.CHEMNITZ,
            "location": "Neumarkt",
            "occurred_at": datetime(2026, 11, 28, 20, 15, tzinfo=UTC),
        },
        "partner_id": partner_id,
        "partner_name": "Opferhilfe Sachsen e.V.",
        "purpose": purpose,
        "step": step,
        "message_id": f"{INCIDENT_KEY}.{purpose}.{step}.{partner_id}",
        "sent_at": datetime(2026, 11, 28, 20, 20, tzinfo=UTC),
        "answers": {
            "ui_url": "http://127.0.0.1:8233",
            "task_queue": "victim-support",
            "namespace": case.pop("namespace", "default"),
            "cli_prefix": case.pop("cli_prefix", ""),
        },
    }
    return render_notification(Notification.model_validate(notification | case))


def as_recorded(message: OutgoingMessage) -> dict[str, Any]:
    """The message in the golden file's form: the body as its lines, for a readable diff."""
    return {
        "message_id": message.message_id,
        "sent_at": message.sent_at.isoformat(),
        "subject": message.subject,
        "body": message.body.split("\n"),
        "payload": message.payload,
    }


def test_the_golden_file_holds_exactly_the_cases_rendered_here() -> None:
    assert sorted(json.loads(GOLDEN.read_text(encoding="utf-8"))) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_notification_reads_exactly_as_recorded(name: str) -> None:
    purpose, step, case = CASES[name]

    rendered = as_recorded(render(purpose, step, **case))

    assert rendered == json.loads(GOLDEN.read_text(encoding="utf-8"))[name]
