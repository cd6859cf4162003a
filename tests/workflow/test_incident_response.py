"""`IncidentResponse` on the real dev server: the procedure end to end, as an operator drives it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import (
    WorkflowFailureError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from contracts.messages import (
    Actor,
    AssignmentResult,
    AssignNeedCategory,
    CallOff,
    CloseAcutePhase,
    IncidentStatus,
    RecordReflection,
)
from contracts.vocabulary import (
    AlertState,
    EscalationStep,
    NeedCategory,
    Phase,
    ui_time,
)
from domain.reflection import read_record, reflection_figures
from tests.workflow.support import (
    PARTNERS,
    Stack,
    ack,
    declaration,
    eventually,
    keep_history,
    staff,
    update,
)


def event_names(stack: Stack, incident_id: str) -> list[str]:
    return [entry.event for entry in stack.history(incident_id)]


async def test_a_missed_deadline_escalates_to_deputy_then_commissioner_then_unreachable(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration(deadlines={"ack": 1.5, "escalation_step": 1}))
    await eventually(stack.mails, lambda m: len(m) >= 4, what="four alert e-mails")
    for partner_id in ("opferbeauftragte", "opferhilfe-sachsen", "raa-sachsen"):
        await ack(handle, partner_id)

    status = await eventually(
        lambda: stack.status(handle),
        lambda s: s.phase is Phase.COORDINATING,
        what="weisser-ring to be given up as unreachable",
    )
    silent = next(p for p in status.partners if p.partner_id == "weisser-ring")
    assert silent.state is AlertState.UNREACHABLE
    assert silent.step is EscalationStep.COMMISSIONER
    assert any("nicht erreichbar" in item for item in status.open_items)

    recipients = [str(m["To"]) for m in stack.mails()]
    assert "landesvorsitz@weisser-ring.example.org" in recipients  # deputy
    escalation_to_office = [
        m
        for m in stack.mails()
        if str(m["To"]) == "lagedienst@opferbeauftragte.example.org"
        and "WEISSER RING" in m.get_content()
    ]
    assert len(escalation_to_office) == 1

    names = event_names(stack, handle.id)
    escalations = [
        e.details["to_step"] for e in stack.history(handle.id) if e.event == "AlertEscalated"
    ]
    assert escalations == ["deputy", "commissioner"]
    assert names.count("PartnerUnreachable") == 1

    late = await ack(handle, "weisser-ring")
    await keep_history(handle, "incident_escalated")
    assert late.late
    assert not late.duplicate
    again = await ack(handle, "weisser-ring")
    assert again.duplicate
    assert event_names(stack, handle.id).count("AlertAcknowledged") == 4
    status = await stack.status(handle)
    assert (
        next(p for p in status.partners if p.partner_id == "weisser-ring").state
        is AlertState.ACKNOWLEDGED
    )


async def test_the_commissioners_own_last_escalation_goes_to_the_final_contact(
    stack: Stack,
) -> None:
    handle = await stack.declare(
        declaration(
            declared_by={"partner_id": "opferhilfe-sachsen", "staff_ref": "bereitschaft-7"},
            deadlines={"ack": 1, "escalation_step": 1},
        )
    )
    await eventually(stack.mails, lambda m: len(m) >= 4, what="four alert e-mails")
    for partner_id in ("opferhilfe-sachsen", "weisser-ring", "raa-sachsen"):
        await ack(handle, partner_id)
    await eventually(
        lambda: stack.status(handle),
        lambda s: s.phase is Phase.COORDINATING,
        what="the Commissioner's office to be given up as unreachable",
    )
    to_final = [m for m in stack.mails() if str(m["To"]) == "lagezentrum@smi.example.org"]
    assert len(to_final) == 1
    text = " ".join(to_final[0].get_content().split())
    assert "An: Lagezentrum des Sächsischen Staatsministeriums des Innern" in text
    assert "Opferbeauftragte der Sächsischen Staatsregierung hat die Alarmierung" in text
    assert "lotse incident ack" not in text
    office_mails = [m for m in stack.mails() if "opferbeauftragte" in str(m["To"])]
    assert len(office_mails) == 2  # its own alert and its deputy: nothing more to the silent office
    commissioner_steps = [
        e
        for e in stack.history(handle.id)
        if e.event == "AlertSent" and e.details["step"] == "commissioner"
    ]
    assert [e.details["contact"] for e in commissioner_steps] == ["lagezentrum@smi.example.org"]


async def test_a_last_escalation_skips_the_office_while_the_office_itself_is_silent(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration(deadlines={"ack": 1, "escalation_step": 1}))
    await eventually(stack.mails, lambda m: len(m) >= 4, what="four alert e-mails")
    for partner_id in ("opferhilfe-sachsen", "raa-sachsen"):
        await ack(handle, partner_id)
    # Neither the office nor WEISSER RING answers: WEISSER RING's last step would end at the
    # silent office, so it goes to the final contact, saying that the office is silent too.
    await eventually(
        lambda: stack.status(handle),
        lambda s: s.phase is Phase.COORDINATING,
        within=30,
        what="both silent partners to be given up",
    )
    commissioner_steps = {
        e.details["partner_id"]: e.details["contact"]
        for e in stack.history(handle.id)
        if e.event == "AlertSent" and e.details["step"] == "commissioner"
    }
    assert commissioner_steps == {
        "opferbeauftragte": "lagezentrum@smi.example.org",
        "weisser-ring": "lagezentrum@smi.example.org",
    }
    about_weisser_ring = next(
        m
        for m in stack.mails()
        if str(m["To"]) == "lagezentrum@smi.example.org" and "WEISSER RING" in str(m["Subject"])
    )
    text = " ".join(about_weisser_ring.get_content().split())
    assert "Auch die Opferbeauftragte, die sonst die letzte Stufe ist" in text

    # The office answers late, then the incident is called off: the all-clear about WEISSER
    # RING's last step goes where that step went, to the final contact, not to the office.
    await ack(handle, "opferbeauftragte")
    await update(handle, "call_off", CallOff(actor=staff("opferbeauftragte"), reason="Übung"))
    await handle.result()
    all_clear = [
        (e.details["partner_id"], e.details["step"], e.details["contact"])
        for e in stack.history(handle.id)
        if e.event == "AlertSent" and e.details["purpose"] == "all-clear"
    ]
    assert ("weisser-ring", "commissioner", "lagezentrum@smi.example.org") in all_clear


async def test_a_last_escalation_reaches_the_office_once_the_office_has_answered(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration(deadlines={"ack": 1, "escalation_step": 1}))
    await eventually(stack.mails, lambda m: len(m) >= 4, what="four alert e-mails")
    for partner_id in ("opferbeauftragte", "opferhilfe-sachsen", "raa-sachsen"):
        await ack(handle, partner_id)
    await eventually(
        lambda: stack.status(handle),
        lambda s: s.phase is Phase.COORDINATING,
        within=30,
        what="WEISSER RING to be given up",
    )
    commissioner_steps = [
        e.details["contact"]
        for e in stack.history(handle.id)
        if e.event == "AlertSent" and e.details["step"] == "commissioner"
    ]
    assert commissioner_steps == ["lagedienst@opferbeauftragte.example.org"]


async def test_reassigning_a_need_category_says_whom_it_replaces_and_is_recorded_as_such(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration())
    await eventually(stack.mails, lambda m: len(m) >= 4, what="four alert e-mails")

    def assignment(partner_id: str) -> AssignNeedCategory:
        return AssignNeedCategory(
            actor=staff("opferbeauftragte"), category=NeedCategory.LEGAL, partner_id=partner_id
        )

    first = await handle.execute_update(
        "assign_need_category", assignment("weisser-ring"), result_type=AssignmentResult
    )
    second = await handle.execute_update(
        "assign_need_category", assignment("opferhilfe-sachsen"), result_type=AssignmentResult
    )
    again = await handle.execute_update(
        "assign_need_category", assignment("opferhilfe-sachsen"), result_type=AssignmentResult
    )

    assert (first.replaced, second.replaced) == (None, "weisser-ring")
    assert again.duplicate
    assert again.replaced is None
    assignments = [
        (e.event, e.details) for e in stack.history(handle.id) if e.event.startswith("NeedCategory")
    ]
    assert [event for event, _ in assignments] == [
        "NeedCategoryAssigned",
        "NeedCategoryReassigned",
    ]
    assert assignments[1][1]["from_partner_id"] == "weisser-ring"


async def test_closing_and_reflecting_are_refused_to_an_actor_outside_the_agreement(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration())
    for partner_id in PARTNERS:
        await ack(handle, partner_id)
    outsider = Actor(partner_id="feuerwehr-dresden", staff_ref="wache-1")

    with pytest.raises(WorkflowUpdateFailedError) as closing:
        await update(handle, "close_acute_phase", CloseAcutePhase(actor=outsider))

    assert "actor.partner_id 'feuerwehr-dresden' is not a partner" in str(closing.value.cause)
    await update(handle, "close_acute_phase", CloseAcutePhase(actor=staff("opferbeauftragte")))
    with pytest.raises(WorkflowUpdateFailedError) as reflecting:
        await update(
            handle, "record_reflection", RecordReflection(actor=outsider, findings=["zu spät"])
        )
    assert "actor.partner_id 'feuerwehr-dresden' is not a partner" in str(reflecting.value.cause)
    assert "ReflectionRecorded" not in event_names(stack, handle.id)


async def test_refusals_on_substance_are_recorded_and_refusals_of_form_write_nothing(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration())
    # Settled first: every alert arrived and is recorded, so nothing else moves meanwhile.
    await eventually(
        lambda: event_names(stack, handle.id).count("AlertSent") if stack.mails() else 0,
        lambda sent: sent == 4,
        what="four recorded alerts",
    )
    await ack(handle, "weisser-ring")
    before_status = await stack.status(handle)
    before_events = event_names(stack, handle.id)

    with pytest.raises(WorkflowUpdateFailedError) as outside_remit:
        await update(
            handle,
            "assign_need_category",
            AssignNeedCategory(
                actor=staff("opferhilfe-sachsen"),
                category=NeedCategory.MEDICAL,
                partner_id="weisser-ring",
            ),
        )
    with pytest.raises(WorkflowUpdateFailedError) as unknown:
        await ack(handle, "feuerwehr-dresden", actor=staff("opferbeauftragte"))
    with pytest.raises(WorkflowUpdateFailedError) as wrong_phase:
        await update(
            handle,
            "record_reflection",
            RecordReflection(actor=staff("opferbeauftragte"), findings=["zu früh"]),
        )
    duplicate = await ack(handle, "weisser-ring")
    assert duplicate.duplicate

    # The caller sees what it saw when the validator refused: same type, same message.
    remit = (
        "'medical' is outside the remit of 'weisser-ring' (covers: financial, legal, "
        "psychosocial, information); the agreement creates no new responsibilities"
    )
    phase = (
        "cannot record the reflection in phase 'alerting' (Alarmierung läuft); allowed in: "
        "awaiting-reflection, reflection-due"
    )
    for refused, message in ((outside_remit, remit), (wrong_phase, phase)):
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError)
        assert (cause.type, cause.message, cause.non_retryable) == ("UpdateRefused", message, True)
    assert "unknown partner 'feuerwehr-dresden'" in str(unknown.value.cause)
    assert await stack.status(handle) == before_status

    # The record holds each refusal on substance with actor and reason; the form refusal none.
    assert event_names(stack, handle.id) == [*before_events, "ActionRefused", "ActionRefused"]
    refusals = [e for e in stack.history(handle.id) if e.event == "ActionRefused"]
    assert [
        (e.ctx.actor.partner_id, e.ctx.actor.staff_ref, e.ctx.channel, e.details) for e in refusals
    ] == [
        (
            "opferhilfe-sachsen",
            "bereitschaft-1",
            "ui",
            {
                "action": "assign_need_category",
                "kind": "outside-remit",
                "reason": remit,
                "person_ref": None,
            },
        ),
        (
            "opferbeauftragte",
            "bereitschaft-1",
            "ui",
            {
                "action": "record_reflection",
                "kind": "wrong-phase",
                "reason": phase,
                "person_ref": None,
            },
        ),
    ]
    history = await handle.fetch_history()
    accepted = [
        e
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    # The first and the duplicate acknowledgement, and the two refused on substance: a refusal
    # now costs a workflow task and history events. The unknown partner wrote nothing.
    assert len(accepted) == 4

    rows = stack.app.timeline(handle.id)
    assert [(r.event, r.partner_id, r.facts()["kind"]) for r in rows[-2:]] == [
        ("ActionRefused", "opferhilfe-sachsen", "outside-remit"),
        ("ActionRefused", "opferbeauftragte", "wrong-phase"),
    ]
    figures = reflection_figures(read_record(stack.app, handle.id), datetime.now(UTC))
    assert [(r.kind, r.partner_id, r.count) for r in figures.refusals] == [
        ("outside-remit", "opferhilfe-sachsen", 1),
        ("wrong-phase", "opferbeauftragte", 1),
    ]


async def test_a_malformed_update_is_refused_naming_the_field_and_the_incident_goes_on(
    stack: Stack,
) -> None:
    handle = await stack.declare(declaration())
    await eventually(stack.mails, lambda m: len(m) >= 4, what="four alert e-mails")
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(
            "acknowledge_alert", {"partner_id": "weisser-ring", "actor": {"partner_id": "x"}}
        )

    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.message == (
        "invalid AcknowledgeAlert: actor.partner_id: String should match pattern "
        "'^[a-z][a-z0-9-]{1,62}$'; actor.staff_ref: Field required"
    )
    history = await handle.fetch_history()
    assert not [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    assert (await ack(handle, "weisser-ring")).duplicate is False


@pytest.mark.parametrize(
    ("bad", "fields"),
    [
        ({"region": "dresden-neustadt"}, ["region"]),
        ({"occurred_at": "gestern abend", "kind": "amok"}, ["occurred_at", "kind"]),
        (
            {"title": None, "declared_by": {"partner_id": "opferbeauftragte"}},
            ["title", "declared_by.staff_ref"],
        ),
        ({"deadlines": {"ack": "P3000000D", "reflection_after": "P5000D"}}, ["deadlines.ack"]),
        ({"carry_over": {"phase": "closed"}}, ["carry_over"]),
    ],
    ids=[
        "unknown-region",
        "bad-date-and-kind",
        "missing-fields",
        "deadline-beyond-a-day",
        "forged-carry-over",
    ],
)
async def test_an_invalid_declaration_fails_the_workflow_at_once_naming_every_field(
    stack: Stack, bad: dict[str, Any], fields: list[str]
) -> None:
    data = declaration(**bad)
    if bad.get("title", "") is None:
        del data["title"]
    handle = await stack.declare(data)
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidDeclarationError"
    for name in fields:
        assert f"{name}:" in cause.message
    history = await handle.fetch_history()
    task_failures = [
        e for e in history.events if e.HasField("workflow_task_failed_event_attributes")
    ]
    assert task_failures == []
    assert stack.mails() == []


@pytest.mark.parametrize(
    "pasted", [None, "Anschlag am Altmarkt", ["dresden"]], ids=["nothing", "text", "list"]
)
async def test_an_input_that_is_no_declaration_at_all_fails_the_workflow_at_once(
    stack: Stack, pasted: Any
) -> None:
    start_args = [] if pasted is None else [pasted]
    handle = await stack.client.start_workflow(
        "IncidentResponse",
        args=start_args,
        id=f"not-a-declaration-{uuid.uuid4().hex[:8]}",
        task_queue=stack.settings.task_queue,
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "InvalidDeclarationError"
    assert "(top level): Input should be a valid dictionary" in failure.value.cause.message
    history = await handle.fetch_history()
    assert not [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]


async def test_a_declaration_by_someone_outside_the_agreement_fails_with_its_reason(
    stack: Stack,
) -> None:
    handle = await stack.declare(
        declaration(declared_by={"partner_id": "feuerwehr-dresden", "staff_ref": "elw-1"})
    )
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "UnknownPartnerError"
    assert "'feuerwehr-dresden' is not a partner of the agreement" in cause.message
    assert stack.mails() == []


async def test_an_incident_id_cannot_be_declared_twice(stack: Stack) -> None:
    first = await stack.declare(declaration())
    await update(first, "call_off", CallOff(actor=staff("opferbeauftragte"), reason="Dublette"))
    await first.result()

    again = await stack.declare(declaration(), incident_id=first.id)
    with pytest.raises(WorkflowFailureError) as failure:
        await again.result()
    assert isinstance(failure.value.cause, ApplicationError)
    assert failure.value.cause.type == "IncidentAlreadyDeclaredError"
    assert f"incident '{first.id}' was already declared" in failure.value.cause.message
    assert event_names(stack, first.id).count("Declared") == 1


async def test_call_off_ends_the_incident_and_stops_the_escalation(stack: Stack) -> None:
    handle = await stack.declare(declaration(deadlines={"ack": 1, "escalation_step": 1}))
    await eventually(stack.mails, lambda m: len(m) >= 4, what="four alert e-mails")
    result = await update(
        handle,
        "call_off",
        CallOff(actor=staff("opferbeauftragte"), reason="Fehlalarm: Übung der Polizei"),
    )
    assert result.phase is Phase.CALLED_OFF
    outcome = await handle.result()
    assert outcome.phase is Phase.CALLED_OFF
    assert outcome.reason == "Fehlalarm: Übung der Polizei"
    assert outcome.unreachable_partners == []

    names = event_names(stack, handle.id)
    after_call_off = names[names.index("CalledOff") + 1 :]
    # A delivery already under way is still recorded; no new escalation step starts.
    assert set(after_call_off) <= {"AlertSent"}
    escalations = [e for e in stack.history(handle.id) if e.event == "AlertEscalated"]
    assert all(e.details["to_step"] == "deputy" for e in escalations)
    assert "PartnerUnreachable" not in names
    with pytest.raises(RPCError, match="already completed"):
        await ack(handle, "weisser-ring")


async def test_status_query_reports_deadlines_and_time_to_acknowledge(stack: Stack) -> None:
    handle = await stack.declare(declaration())
    await eventually(stack.mails, lambda m: len(m) >= 4, what="four alert e-mails")
    result = await ack(handle, "raa-sachsen")
    status: IncidentStatus = await stack.status(handle)
    raa = next(p for p in status.partners if p.partner_id == "raa-sachsen")
    assert raa.seconds_to_acknowledge == result.seconds_to_acknowledge
    assert raa.alerted_at is not None
    pending = next(p for p in status.partners if p.partner_id == "opferhilfe-sachsen")
    assert pending.state is AlertState.PENDING
    assert pending.deadline_at is not None
    assert pending.deadline_at - pending.alerted_at <= timedelta(seconds=61)  # type: ignore[operator]  # alerted_at asserted above for raa; set for all once alerted
    assert status.agreement_version is not None
    assert (
        f"{pending.name}: Alarmierung nicht bestätigt, Hauptkontakt "
        f"(Frist {ui_time(pending.deadline_at)})"
    ) in status.open_items
