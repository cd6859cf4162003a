"""An alert always reaches someone, or somebody sees at once that it did not (issue #5 part A).

Each test runs the real procedure on the dev server with a real SMTP relay on loopback, which a
test stops to play an outage, and a real SQLite store, which a test locks to play a store outage.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import (
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError

from contracts.checks import INCIDENT_ID_RULE
from contracts.messages import (
    AcknowledgeAlert,
    AcknowledgementResult,
    Actor,
    CallOff,
    IncidentStatus,
    PhaseResult,
)
from contracts.vocabulary import AlertState, EscalationStep, Phase
from tests.workflow.support import PARTNERS, Stack, declaration, eventually, keep_history


def by_partner(status: IncidentStatus) -> dict[str, Any]:
    return {p.partner_id: p for p in status.partners}


async def acknowledge(handle: WorkflowHandle[Any, Any], partner_id: str) -> AcknowledgementResult:
    result: AcknowledgementResult = await handle.execute_update(
        "acknowledge_alert",
        AcknowledgeAlert(
            partner_id=partner_id, actor=Actor(partner_id=partner_id, staff_ref="dienst-1")
        ),
        result_type=AcknowledgementResult,
    )
    return result


@pytest.mark.parametrize(
    "incident_id",
    ["über-lage-1", "ab", "lage mit leerzeichen", "lage/dresden", "-lage-1", "x" * 200],
    ids=["umlaut", "too-short", "spaces", "slash", "leading-dash", "200-chars"],
)
async def test_a_workflow_id_that_is_no_incident_id_fails_the_workflow_at_once_with_the_rule(
    stack: Stack, incident_id: str
) -> None:
    handle = await stack.declare(declaration(), incident_id=incident_id)

    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(handle.result(), 10)

    message = str(failure.value.cause)
    assert "workflow id" in message
    assert INCIDENT_ID_RULE in message
    # The UI shows the failure's message; no Python stack trace beneath it.
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.failure is not None
    assert cause.failure.stack_trace == ""
    assert stack.mails() == []  # nothing was sent under an id nobody could use


async def test_an_occurred_at_hours_ahead_fails_the_declaration(stack: Stack) -> None:
    handle = await stack.declare(declaration(occurred_at="2099-12-05T17:05:00+01:00"))

    with pytest.raises(WorkflowFailureError) as failure:
        await asyncio.wait_for(handle.result(), 10)

    assert "occurred_at: 2099-12-05T17:05:00+01:00 lies more than an hour in the future" in str(
        failure.value.cause
    )


@pytest.mark.slow
async def test_a_relay_outage_is_shown_as_delivery_trouble_and_delivered_when_the_relay_returns(
    stack: Stack,
) -> None:
    assert stack.sink is not None
    stack.sink.stop()
    handle = await stack.declare(declaration(deadlines={"ack": 600, "escalation_step": 600}))

    # Every step fails through the same dead relay: nobody is 'unreachable', everybody is shown
    # as undeliverable, with the trouble per step and channel, and the incident keeps alerting.
    status = await eventually(
        lambda: stack.status(handle),
        lambda s: (
            len(s.partners) == 4 and all(p.state is AlertState.UNDELIVERABLE for p in s.partners)
        ),
        what="every partner to be undeliverable",
    )
    assert status.phase is Phase.ALERTING
    for partner in status.partners:
        assert {t.step for t in partner.delivery_trouble} == set(EscalationStep)
        assert {t.channel for t in partner.delivery_trouble} == {"email"}
        assert f"{partner.name}: Zustellung gestört: E-Mail an Hauptkontakt seit " in " | ".join(
            status.open_items
        )
    # The UI reads the details with this query; an answer may trail the state by a task.
    shown = await eventually(
        lambda: handle.query("__temporal_workflow_metadata"),
        lambda m: "alle Kanäle gestört" in m.current_details,
        what="the UI's details to show the outage",
    )
    assert "Zustellung gestört: E-Mail an Vertretung seit" in shown.current_details

    stack.sink.start()
    # The relay is back: every message of every step arrives, once each.
    await eventually(stack.mails, lambda m: len(m) >= 12, within=30, what="twelve e-mails")
    status = await eventually(
        lambda: stack.status(handle),
        lambda s: len(s.partners) == 4 and all(not p.delivery_trouble for p in s.partners),
        what="the delivery trouble to clear",
    )
    assert {p.state for p in status.partners} == {AlertState.ESCALATED}
    assert all(p.deadline_at is not None for p in status.partners)
    sent = await eventually(
        lambda: [e for e in stack.history(handle.id) if e.event == "AlertSent"],
        lambda events: len(events) >= 24,
        what="every failure and every arrival to be recorded",
    )
    outcomes = sorted(
        (e.details["partner_id"], e.details["step"], e.details["delivered"]) for e in sent
    )
    expected = sorted((p, s, d) for p in PARTNERS for s in EscalationStep for d in (False, True))
    assert outcomes == expected  # one failure and one arrival recorded per message
    assert "PartnerUnreachable" not in [e.event for e in stack.history(handle.id)]

    for partner_id in PARTNERS:
        await acknowledge(handle, partner_id)
    status = await stack.status(handle)
    assert status.phase is Phase.COORDINATING
    await handle.execute_update(
        "call_off",
        CallOff(
            actor=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"), reason="Übung"
        ),
        result_type=PhaseResult,
    )
    await asyncio.wait_for(handle.result(), 30)
    await keep_history(handle, "incident_relay_outage")  # the replay guard of redelivery


def recorded(stack: Stack, incident_id: str) -> list[str]:
    """The names of the incident's recorded events; none before its declaration is recorded."""
    if incident_id not in stack.app.incident_keys():
        return []
    return [entry.event for entry in stack.history(incident_id)]


@contextmanager
def store_locked(stack: Stack) -> Iterator[None]:
    """Hold the SQLite store's write lock: every write of the worker waits and fails."""
    connection = sqlite3.connect(stack.settings.event_store_path, timeout=1, isolation_level=None)
    connection.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        connection.execute("ROLLBACK")
        connection.close()


@pytest.mark.slow
async def test_an_acknowledgement_counts_when_it_arrived_while_the_store_is_down(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    # Each failed store attempt is logged with its traceback. pytest keeps those log records
    # for its report, and with them the frames that still reference the store's cursor, which
    # then keeps SQLite's write lock after the test releases its own: the store would never
    # come back. Outside pytest nothing keeps the records.
    caplog.set_level(logging.ERROR, logger="temporalio.activity")
    handle = await stack.declare(declaration(deadlines={"ack": 8, "escalation_step": 60}))
    # Every alert is out and recorded before the store goes down.
    await eventually(
        lambda: recorded(stack, handle.id).count("AlertSent"),
        lambda sent: sent == 4,
        what="four recorded alerts",
    )

    with store_locked(stack):
        update = await handle.start_update(
            "acknowledge_alert",
            AcknowledgeAlert(
                partner_id="weisser-ring", actor=Actor(partner_id="weisser-ring", staff_ref="lv-1")
            ),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=AcknowledgementResult,
        )
        # The deadline passes while the record still waits for the store: the others escalate,
        # the partner that answered in time does not.
        status = await eventually(
            lambda: stack.status(handle),
            lambda s: by_partner(s)["raa-sachsen"].step is EscalationStep.DEPUTY,
            within=30,
            what="the deadline to pass while the store is down",
        )
        weisser_ring = by_partner(status)["weisser-ring"]
        assert weisser_ring.state is AlertState.ACKNOWLEDGED
        assert not weisser_ring.late

    result = await asyncio.wait_for(update.result(), 60)
    assert not result.late
    await eventually(
        lambda: stack.status(handle),
        lambda s: by_partner(s)["raa-sachsen"].delivered_steps == ["primary", "deputy"],
        within=30,
        what="the others' deputies to be alerted",
    )
    deputies = {str(m["To"]) for m in stack.mails()}
    assert "landesvorsitz@weisser-ring.example.org" not in deputies  # its ladder stopped
    events = stack.history(handle.id)
    acknowledged = next(e for e in events if e.event == "AlertAcknowledged")
    assert acknowledged.details["late"] is False
    assert not any(
        e.event == "AlertEscalated" and e.details["partner_id"] == "weisser-ring" for e in events
    )
    alerted_at = by_partner(status)["weisser-ring"].alerted_at
    assert acknowledged.ctx.business_time < alerted_at + timedelta(seconds=8)
    # The store did not answer the quick local attempts, so the record waited for it in an
    # ordinary activity, whose retries leave no trace in the history.
    history = await handle.fetch_history()
    waited = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "record_acknowledgement" in waited


async def test_a_phoned_acknowledgement_keeps_when_it_was_received_and_when_it_was_entered(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration())
    status = await eventually(
        lambda: stack.status(handle),
        lambda s: len(s.partners) == 4 and all(p.alerted_at for p in s.partners),
        what="the alerts",
    )
    received = by_partner(status)["raa-sachsen"].alerted_at + timedelta(milliseconds=200)
    await asyncio.sleep(3)

    result: AcknowledgementResult = await handle.execute_update(
        "acknowledge_alert",
        AcknowledgeAlert(
            partner_id="raa-sachsen",
            actor=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
            channel="phone",
            received_at=received,
        ),
        result_type=AcknowledgementResult,
    )

    after = await stack.status(handle)
    assert after.agreement_revision == 1  # the first load of the agreement is its version 1
    raa = by_partner(after)["raa-sachsen"]
    assert raa.acknowledged_at == received == result.acknowledged_at
    assert raa.entered_at - received >= timedelta(seconds=2)
    # Counted from when it was received: shorter than from the alert's arrival to its entry.
    assert result.seconds_to_acknowledge < (raa.entered_at - received).total_seconds()
    recorded = next(e for e in stack.history(handle.id) if e.event == "AlertAcknowledged")
    assert recorded.details["received_at"] == received.isoformat()
    assert recorded.ctx.business_time == raa.entered_at


@pytest.mark.slow
async def test_a_call_off_sends_an_all_clear_to_every_contact_that_was_alerted(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration(deadlines={"ack": 1, "escalation_step": 600}))
    await acknowledge(handle, "opferhilfe-sachsen")
    # The others were escalated to their deputies; Opferhilfe Sachsen's primary only.
    await eventually(
        lambda: stack.status(handle),
        lambda s: sum(len(p.delivered_steps) for p in s.partners) == 7,
        what="four alerts and three deputy escalations",
    )
    alerted = sorted(str(m["To"]) for m in stack.mails())

    result: PhaseResult = await handle.execute_update(
        "call_off",
        CallOff(
            actor=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"), reason="Fehlalarm"
        ),
        result_type=PhaseResult,
    )
    assert result.phase is Phase.CALLED_OFF
    await asyncio.wait_for(handle.result(), 30)

    all_clear = [m for m in stack.mails() if "Entwarnung" in str(m["Subject"])]
    assert sorted(str(m["To"]) for m in all_clear) == alerted
    recorded = [
        e
        for e in stack.history(handle.id)
        if e.event == "AlertSent" and e.details["purpose"] == "all-clear"
    ]
    assert len(recorded) == 7
    assert all(e.details["delivered"] for e in recorded)


async def test_search_attributes_are_upserted_only_when_a_value_changes(stack: Stack) -> None:
    handle = await stack.declare(declaration())
    for partner_id in PARTNERS:
        await acknowledge(handle, partner_id)
    await eventually(
        lambda: stack.status(handle), lambda s: s.phase is Phase.COORDINATING, what="coordinating"
    )

    history = await handle.fetch_history()
    upserts = [
        sorted(
            e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields
        )
        for e in history.events
        if e.HasField("upsert_workflow_search_attributes_event_attributes")
    ]
    # Temporal's own `TemporalChangeVersion` comes once per run with the patch marker of the
    # local store activities; ours: alerting (with kind and region), then coordinating.
    ours = [keys for keys in upserts if keys != ["TemporalChangeVersion"]]
    assert ours == [["IncidentKind", "IncidentPhase", "IncidentRegion"], ["IncidentPhase"]]


async def test_a_refused_update_carries_the_operators_message_without_a_stack_trace(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration())
    await eventually(
        lambda: stack.status(handle), lambda s: len(s.partners) == 4, what="the partners"
    )

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await acknowledge(handle, "feuerwehr-dresden")

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "UpdateRefused"
    assert cause.message.startswith("unknown partner 'feuerwehr-dresden'")
    assert cause.failure is not None
    assert cause.failure.stack_trace == ""
