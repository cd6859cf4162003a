"""What operators read about an incident (open items, the UI's details), without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.messages import DeliveryTrouble, IncidentStatus, NeedTotal, PartnerAlertStatus
from contracts.vocabulary import (
    AlertState,
    ContactChannel,
    EscalationStep,
    IncidentKind,
    NeedCategory,
    Phase,
    Region,
)
from workflows import details

ALERTED = datetime(2026, 12, 5, 16, 10, tzinfo=UTC)  # 17:10 in Berlin


def partner(state: AlertState, **values: object) -> PartnerAlertStatus:
    return PartnerAlertStatus.model_validate(
        {"partner_id": "weisser-ring", "name": "WEISSER RING e.V.", "state": state}
        | {"step": EscalationStep.PRIMARY}
        | values
    )


def test_a_failing_delivery_is_an_open_item_with_channel_step_and_since_when() -> None:
    failing = partner(
        AlertState.ESCALATED,
        step=EscalationStep.DEPUTY,
        delivery_trouble=[
            DeliveryTrouble(step=EscalationStep.DEPUTY, channel=ContactChannel.EMAIL, since=ALERTED)
        ],
    )

    items = details.open_items(Phase.ALERTING, [failing], [], None)

    assert items[0] == (
        "WEISSER RING e.V.: Zustellung gestört: E-Mail an Vertretung seit 05.12.2026 17:10"
    )
    assert items[1].startswith("WEISSER RING e.V.: Alarmierung nicht bestätigt, Vertretung")


def test_a_partner_no_message_reached_is_shown_as_such_not_as_silent() -> None:
    words = details.partner_state_words(partner(AlertState.UNDELIVERABLE))

    assert "keine Nachricht zugestellt" in words
    assert "nicht erreichbar" not in words


@pytest.mark.parametrize("phase", [Phase.CLOSED, Phase.CALLED_OFF])
def test_an_ended_incident_shows_no_reflection_due_and_no_waiting_partner(phase: Phase) -> None:
    items = details.open_items(
        phase,
        [partner(AlertState.ESCALATED, deadline_at=ALERTED)],
        [NeedTotal(category=NeedCategory.LEGAL, count=3, by_region={Region.DRESDEN: 3})],
        ALERTED + timedelta(weeks=6),
    )

    assert items == []


def test_an_acknowledgement_by_phone_shows_when_it_arrived_and_when_it_was_entered() -> None:
    acknowledged = partner(
        AlertState.ACKNOWLEDGED,
        acknowledged_at=ALERTED + timedelta(minutes=5),
        entered_at=ALERTED + timedelta(minutes=40),
        late=True,
    )

    assert details.partner_state_words(acknowledged) == (
        "bestätigt 05.12.2026 17:15 (erfasst 05.12.2026 17:50) – verspätet"
    )


def test_the_ui_details_list_every_partner_and_name_no_staff_reference() -> None:
    status = IncidentStatus(
        incident_id="2026-12-05-dresden",
        title="Übung",
        kind=IncidentKind.TERRORIST,
        region=Region.DRESDEN,
        phase=Phase.ALERTING,
        agreement_version=1,
        partners=[partner(AlertState.PENDING, deadline_at=ALERTED + timedelta(hours=1))],
        needs=[],
        open_items=["etwas"],
    )

    text = details.current_details(status)

    assert text.startswith("**Lage:** terroristischer Anschlag · Dresden\n**Phase:** alerting")
    assert "- WEISSER RING e.V.: wartet auf Bestätigung (Frist 05.12.2026 18:10)" in text
    assert "**Offene Punkte:**\n- etwas" in text
