"""Committed histories replay with the current workflow code: a non-deterministic change fails.

`tests/histories/*.json` are recorded by the current code (store activities run as local
activities; continue-as-new hands over `IncidentState`). `before_local_records/` holds histories
recorded while they were ordinary activities: incidents that began then must still replay, and
`workflow.patched` keeps them on their path. Likewise, only `incident_people_counts.json` was
recorded since a coordinating incident reads its people's counts: the others must replay
without those reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from contracts.vocabulary import VICTIM_CASE_WORKFLOW_TYPE, case_workflow_id
from tests.workflow.changed_workflow import (
    IncidentResponseThatSkipsTheDeclaration,
    VictimCaseThatReadsTheClock,
)
from workflows.converter import data_converter
from workflows.drill import AlertDrill
from workflows.incident_response import IncidentResponse
from workflows.measure_reminders import MeasureReminders
from workflows.regular_exchange import RegularExchange
from workflows.victim_case import VictimCase

ROOT = Path(__file__).resolve().parents[1] / "histories"
HISTORIES = sorted(ROOT.rglob("*.json"))
LOCAL_RECORDS_PATCH = "record-as-local-activity"
PEOPLE_COUNTS_PATCH = "people-counts-in-details"
IN_THE_SANDBOX = SandboxedWorkflowRunner()
"""For the workflows that leave the sandbox in service (`VictimCase`): replayed inside it."""


def load(path: Path) -> WorkflowHistory:
    """The history, under the workflow id it ran with: a case checks that its id is made of
    its incident and person reference, so its history replays only under that id."""
    text = path.read_text(encoding="utf-8")
    started = WorkflowHistory.from_json(path.stem, text).events[0]
    attributes = started.workflow_execution_started_event_attributes
    if attributes.workflow_type.name != VICTIM_CASE_WORKFLOW_TYPE:
        return WorkflowHistory.from_json(path.stem, text)
    registration = json.loads(attributes.input.payloads[0].data)
    case_id = case_workflow_id(registration["incident_id"], registration["person_ref"])
    return WorkflowHistory.from_json(case_id, text)


def patches(history: WorkflowHistory) -> list[str]:
    return [
        event.marker_recorded_event_attributes.details["patch-data"].payloads[0].data.decode()
        for event in history.events
        if event.marker_recorded_event_attributes.marker_name == "core_patch"
    ]


def test_the_committed_histories_cover_both_paths_and_continue_as_new() -> None:
    assert [str(path.relative_to(ROOT)) for path in HISTORIES] == [
        "before_local_records/incident_escalated.json",
        "before_local_records/incident_full.json",
        "before_local_records/incident_relay_outage.json",
        "case_full.json",
        "case_rerouted_escalated.json",
        "drill_full.json",
        "exchange_full.json",
        "incident_continued_first_run.json",
        "incident_continued_next_run.json",
        "incident_escalated.json",
        "incident_full.json",
        "incident_people_counts.json",
        "incident_relay_outage.json",
        "measure_reminders_full.json",
    ]
    for path in HISTORIES:
        patched = any(LOCAL_RECORDS_PATCH in p for p in patches(load(path)))
        assert patched == (path.parent == ROOT), path
        # Only the newest takes the path that reads the people's counts while coordinating.
        counting = any(PEOPLE_COUNTS_PATCH in p for p in patches(load(path)))
        assert counting == (path.name == "incident_people_counts.json"), path
    full = load(ROOT / "incident_full.json").events
    assert full[-1].HasField("workflow_execution_completed_event_attributes")
    case = load(ROOT / "case_full.json").events
    assert case[-1].HasField("workflow_execution_completed_event_attributes")
    exchange = load(ROOT / "exchange_full.json").events
    assert exchange[-1].HasField("workflow_execution_completed_event_attributes")
    drill = load(ROOT / "drill_full.json").events
    assert drill[-1].HasField("workflow_execution_completed_event_attributes")
    reminded = load(ROOT / "measure_reminders_full.json").events
    assert reminded[-1].HasField("workflow_execution_completed_event_attributes")
    assert case[-1].HasField("workflow_execution_completed_event_attributes")
    handed_over = load(ROOT / "incident_continued_first_run.json").events
    assert handed_over[-1].HasField("workflow_execution_continued_as_new_event_attributes")


@pytest.mark.parametrize("path", HISTORIES, ids=[str(p.relative_to(ROOT)) for p in HISTORIES])
async def test_a_committed_history_replays_with_the_current_code(path: Path) -> None:
    replayer = Replayer(
        workflows=[IncidentResponse, VictimCase, RegularExchange, MeasureReminders, AlertDrill],
        data_converter=data_converter,
        unsandboxed_workflow_runner=IN_THE_SANDBOX,
    )
    result = await replayer.replay_workflow(load(path))
    assert result.replay_failure is None


async def test_a_case_that_leaves_the_sandbox_in_service_replays_inside_it() -> None:
    """`VictimCase` runs unsandboxed in the worker; replayed here, the sandbox still catches a
    call that would make it non-deterministic."""
    replayer = Replayer(
        workflows=[VictimCaseThatReadsTheClock],
        data_converter=data_converter,
        unsandboxed_workflow_runner=IN_THE_SANDBOX,
    )
    result = await replayer.replay_workflow(
        load(ROOT / "case_full.json"), raise_on_replay_failure=False
    )
    # The task fails on the sandbox's refusal, reported by the SDK's core as its message.
    assert "Cannot access datetime.datetime.now" in str(result.replay_failure)


async def test_a_changed_procedure_is_caught_as_nondeterministic() -> None:
    replayer = Replayer(
        workflows=[IncidentResponseThatSkipsTheDeclaration], data_converter=data_converter
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES[0]))
