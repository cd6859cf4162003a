"""One incident on the real dev server from declaration to closed reflection, as operators
drive it, judged step by step.

The incident runs once per module: each stage is a module fixture that takes the incident one
step further and keeps what could be seen then (`alerted` → `acknowledged` → `coordinated` →
`reflection_due` → `closed`). Each test judges one stage. A step that fails errors its own
stage's tests and the later ones, under the stage's name; the earlier stages still pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionDescription, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from contracts.messages import (
    AcknowledgementResult,
    Actor,
    AssignNeedCategory,
    CloseAcutePhase,
    IncidentOutcome,
    IncidentStatus,
    NeedReport,
    PhaseResult,
    RecordReflection,
    ReportNeeds,
)
from contracts.vocabulary import ActorChannel, AlertState, NeedCategory, Phase, Region
from domain.application import HistoryEntry
from tests.workflow.support import (
    PARTNERS,
    SHIPPED_AGREEMENT,
    Stack,
    ack,
    declaration,
    eventually,
    keep_history,
    running_stack,
    staff,
    update,
)
from workflows.converter import data_converter
from workflows.display import PHASE_KEY, REGION_KEY
from workflows.incident_response import IncidentResponse

OFFICE = "opferbeauftragte"


# --- the stages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alerted:
    stack: Stack
    handle: WorkflowHandle[Any, Any]
    mails: list[EmailMessage]
    status: IncidentStatus


@dataclass(frozen=True)
class Acknowledged:
    in_time: list[AcknowledgementResult]  # the partners' own, in the order of PARTNERS[1:]
    phoned: AcknowledgementResult  # the office's, taken by phone by another partner's staff
    status: IncidentStatus
    description: WorkflowExecutionDescription
    details: str  # the UI's Current Details


@dataclass(frozen=True)
class Closed:
    result: PhaseResult
    outcome: IncidentOutcome
    record: list[HistoryEntry]
    description: WorkflowExecutionDescription


@pytest.fixture(scope="module")
async def module_stack(
    temporal_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Stack]:
    folder: Path = tmp_path_factory.mktemp("end-to-end")
    async with running_stack(temporal_env.client, folder, SHIPPED_AGREEMENT) as stack:
        yield stack


@pytest.fixture(scope="module")
async def alerted(module_stack: Stack) -> Alerted:
    """Declared; the four alert e-mails have arrived."""
    handle = await module_stack.declare(declaration())
    mails = await eventually(module_stack.mails, lambda m: len(m) >= 4, what="four alert e-mails")
    return Alerted(module_stack, handle, mails, await module_stack.status(handle))


@pytest.fixture(scope="module")
async def acknowledged(alerted: Alerted) -> Acknowledged:
    """Every partner acknowledged in time; the office's acknowledgement came by phone."""
    handle = alerted.handle
    in_time = [await ack(handle, partner_id) for partner_id in PARTNERS[1:]]
    # The Commissioner's duty officer took the office's acknowledgement by phone for a colleague.
    phoned = await ack(
        handle,
        OFFICE,
        actor=Actor(partner_id="opferhilfe-sachsen", staff_ref="bereitschaft-2"),
        channel=ActorChannel.PHONE,
    )
    status = await alerted.stack.status(handle)
    description = await handle.describe()
    metadata = await handle.query("__temporal_workflow_metadata")
    return Acknowledged(in_time, phoned, status, description, metadata.current_details)


@pytest.fixture(scope="module")
async def coordinated(alerted: Alerted, acknowledged: Acknowledged) -> IncidentStatus:
    """Needs reported in two categories; one category assigned. The status then."""
    await update(
        alerted.handle,
        "report_needs",
        ReportNeeds(
            actor=staff("opferhilfe-sachsen"),
            needs=[
                NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.DRESDEN, count=40),
                NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.MEISSEN, count=2),
                NeedReport(category=NeedCategory.FINANCIAL, region=Region.DRESDEN, count=12),
            ],
        ),
    )
    await update(
        alerted.handle,
        "assign_need_category",
        AssignNeedCategory(
            actor=staff(OFFICE), category=NeedCategory.FINANCIAL, partner_id="weisser-ring"
        ),
    )
    return await alerted.stack.status(alerted.handle)


@pytest.fixture(scope="module")
async def reflection_due(alerted: Alerted, coordinated: IncidentStatus) -> PhaseResult:
    """The acute phase closed; the reflection became due (after 1 s) and every partner was
    told and that was recorded. The answer to closing the acute phase."""
    stack, handle = alerted.stack, alerted.handle
    closing = await update(handle, "close_acute_phase", CloseAcutePhase(actor=staff(OFFICE)))
    await eventually(
        lambda: stack.status(handle),
        lambda s: s.phase is Phase.REFLECTION_DUE,
        what="the reflection to become due",
    )
    await eventually(stack.mails, lambda m: len(m) >= 8, what="four reflection-due e-mails")
    await eventually(
        lambda: [entry.event for entry in stack.history(handle.id)],
        lambda names: names.count("AlertSent") == 8,
        what="the reflection-due notices to be recorded",
    )
    return closing


@pytest.fixture(scope="module")
async def closed(alerted: Alerted, reflection_due: PhaseResult) -> Closed:
    """The reflection recorded; the workflow has ended."""
    handle = alerted.handle
    result = await update(
        handle,
        "record_reflection",
        RecordReflection(
            actor=staff(OFFICE),
            findings=["Alarmierung aller Partner innerhalb von Minuten"],
            measures=["Vertretungsregelung der Kontaktstellen jährlich prüfen"],
        ),
    )
    outcome = await handle.result()
    record = alerted.stack.history(handle.id)
    return Closed(result, outcome, record, await handle.describe())


# --- the tests, stage by stage ----------------------------------------------------------------


async def test_the_declaration_alerts_every_partner_at_its_primary_contact(
    alerted: Alerted,
) -> None:
    recipients = sorted(str(m["To"]) for m in alerted.mails)

    assert recipients == sorted(
        [
            "lagedienst@opferbeauftragte.example.org",
            "bereitschaft@opferhilfe-sachsen.example.org",
            "landesbuero@weisser-ring.example.org",
            "support@raa-sachsen.example.org",
        ]
    )
    assert alerted.status.phase is Phase.ALERTING


async def test_acknowledgements_in_time_are_neither_late_nor_repeats(
    acknowledged: Acknowledged,
) -> None:
    for partner_id, result in zip(PARTNERS[1:], acknowledged.in_time, strict=True):
        assert not result.late, partner_id
        assert not result.duplicate, partner_id
    assert acknowledged.phoned.seconds_to_acknowledge >= 0


async def test_once_every_partner_acknowledged_the_incident_is_coordinating(
    acknowledged: Acknowledged,
) -> None:
    assert acknowledged.status.phase is Phase.COORDINATING
    assert {p.state for p in acknowledged.status.partners} == {AlertState.ACKNOWLEDGED}
    assert acknowledged.description.typed_search_attributes.get(PHASE_KEY) == "coordinating"


async def test_the_current_details_show_situation_phase_next_step_and_each_partner_in_german(
    acknowledged: Acknowledged,
) -> None:
    details = acknowledged.details

    assert details.startswith(
        "**Lage:** terroristischer Anschlag · Dresden\n**Phase:** coordinating — Bedarfsabstimmung"
    )
    assert "Akutphase beenden, sobald sie vorüber ist" in details
    for partner in acknowledged.status.partners:
        assert f"- {partner.name}: bestätigt " in details


async def test_temporal_keeps_no_staff_reference_in_search_attributes_or_details(
    acknowledged: Acknowledged,
) -> None:
    # Temporal stores these unencrypted: phase, kind, region, partner names; no staff reference.
    attributes = acknowledged.description.typed_search_attributes
    # (BuildIds and TemporalChangeVersion are Temporal's own: the worker's build and the patch
    # marker of the local store activities.)
    ours = {pair.key.name for pair in attributes} - {"BuildIds", "TemporalChangeVersion"}

    assert ours == {"IncidentPhase", "IncidentKind", "IncidentRegion"}
    assert "lagedienst-1" not in acknowledged.details
    assert "bereitschaft" not in acknowledged.details


async def test_needs_are_totalled_by_category_and_an_unassigned_category_is_an_open_item(
    coordinated: IncidentStatus,
) -> None:
    totals = {n.category: (n.count, n.assigned_to) for n in coordinated.needs}

    assert totals == {
        NeedCategory.PSYCHOSOCIAL: (42, None),
        NeedCategory.FINANCIAL: (12, "weisser-ring"),
    }
    assert any(
        "(psychosocial," in item and "keinem Partner zugewiesen" in item
        for item in coordinated.open_items
    )


async def test_closing_the_acute_phase_awaits_the_reflection(reflection_due: PhaseResult) -> None:
    # The reflection then becoming due and being announced is what the stage waited for.
    assert reflection_due.phase is Phase.AWAITING_REFLECTION


async def test_every_partner_is_sent_the_same_reflection_report_with_the_notice(
    alerted: Alerted, reflection_due: PhaseResult
) -> None:
    notices = [m for m in alerted.stack.mails() if "Reflexion" in str(m["Subject"])]
    reports = [part for mail in notices for part in mail.iter_attachments()]

    assert len(notices) == len(reports) == 4
    assert {part.get_filename() for part in reports} == {
        f"reflexionsbericht-{alerted.handle.id}.html"
    }
    [page] = {part.get_content() for part in reports}
    assert page.startswith('<!DOCTYPE html><html lang="de">')
    assert "<td>Anteil erreichter Personen</td>" in page
    assert page.count("<svg ") == 3


async def test_recording_the_reflection_closes_the_incident_with_nobody_unreachable(
    closed: Closed,
) -> None:
    assert closed.result.phase is Phase.CLOSED
    assert closed.outcome.phase is Phase.CLOSED
    assert closed.outcome.unreachable_partners == []
    assert closed.description.status is WorkflowExecutionStatus.COMPLETED
    assert closed.description.typed_search_attributes.get(PHASE_KEY) == "closed"
    assert closed.description.typed_search_attributes.get(REGION_KEY) == "dresden"


async def test_the_record_holds_every_step_in_order(closed: Closed) -> None:
    names = [entry.event for entry in closed.record]

    assert names[0] == "Declared"
    assert names.count("AlertSent") == 8  # four alerts, four reflection-due notices
    assert names.count("AlertAcknowledged") == 4
    assert names[-9:] == [
        "AcutePhaseClosed",
        "ReflectionScheduled",
        "ReflectionBecameDue",
        *["AlertSent"] * 4,
        "ReflectionRecorded",
        "Closed",
    ]
    alerts = [e for e in closed.record if e.event == "AlertSent"]
    assert all(e.ctx.channel is ActorChannel.SYSTEM and e.details["delivered"] for e in alerts)


async def test_the_record_names_who_declared_and_the_workflow_run_it_came_from(
    alerted: Alerted, closed: Closed
) -> None:
    declared = closed.record[0]

    assert declared.ctx.actor == Actor(partner_id=OFFICE, staff_ref="lagedienst-1")
    assert declared.ctx.workflow_id == alerted.handle.id
    assert declared.ctx.run_id == alerted.handle.result_run_id


async def test_a_phoned_acknowledgement_is_recorded_with_who_entered_it_for_whom_and_how(
    closed: Closed,
) -> None:
    phone_ack = next(
        e
        for e in closed.record
        if e.event == "AlertAcknowledged" and e.details["partner_id"] == OFFICE
    )

    assert phone_ack.ctx.channel is ActorChannel.PHONE
    assert phone_ack.ctx.on_behalf_of == OFFICE
    assert phone_ack.ctx.actor.partner_id == "opferhilfe-sachsen"


async def test_the_whole_history_replays_on_the_current_workflow_code(
    alerted: Alerted, closed: Closed
) -> None:
    temporal_history = await keep_history(alerted.handle, "incident_full")

    # Raises NondeterminismError if the code no longer makes the recorded decisions.
    await Replayer(workflows=[IncidentResponse], data_converter=data_converter).replay_workflow(
        temporal_history
    )
