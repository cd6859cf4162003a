"""Committed histories replay with the current workflow code: a non-deterministic change fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.workflow.changed_workflow import IncidentResponseThatSkipsTheDeclaration
from workflows.converter import data_converter
from workflows.incident_response import IncidentResponse

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


def test_there_is_a_committed_history_of_a_full_incident() -> None:
    assert [path.name for path in HISTORIES] == [
        "incident_escalated.json",
        "incident_full.json",
        "incident_relay_outage.json",
    ]
    events = load(HISTORIES[1]).events
    assert events[-1].HasField("workflow_execution_completed_event_attributes")


@pytest.mark.parametrize("path", HISTORIES, ids=[path.stem for path in HISTORIES])
async def test_a_committed_history_replays_with_the_current_code(path: Path) -> None:
    replayer = Replayer(workflows=[IncidentResponse], data_converter=data_converter)
    result = await replayer.replay_workflow(load(path))
    assert result.replay_failure is None


async def test_a_changed_procedure_is_caught_as_nondeterministic() -> None:
    replayer = Replayer(
        workflows=[IncidentResponseThatSkipsTheDeclaration], data_converter=data_converter
    )
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(HISTORIES[0]))
