"""`lotse audit workflow-replay INCIDENT`: each Temporal run of an incident and of its cases,
replayed against the current workflow code, on the real dev server."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.audit_workflows import current_replayer, replay_incident
from tests.cli.support import Lotse, declare
from tests.cli.test_case_commands import register
from tests.cli.test_incident_commands import one_error_line
from tests.workflow.changed_workflow import IncidentResponseThatWaitsFirst
from tests.workflow.support import Stack, declaration, eventually
from tests.workflow.test_continue_as_new import acknowledged_incident, small_history_env
from workflows.converter import data_converter

__all__ = ["small_history_env"]  # the fixture, used by name below


def new_id() -> str:
    return f"audit-{uuid.uuid4().hex[:10]}"


async def verdicts(lotse: Lotse, incident_id: str, code: int = 0) -> list[dict[str, Any]]:
    result = await lotse("audit", "workflow-replay", incident_id, "--json")
    assert result.exit_code == code, result.output
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


async def test_an_incident_and_its_case_run_on_the_dev_server_are_explained(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    await declare(lotse, stack, incident_id)
    case_id = await register(lotse, stack, incident_id)
    # The case's search attribute is what finds it: set by the case's first task, it reaches
    # Temporal's visibility store a moment later (later still on a busy machine).
    await eventually(
        lambda: stack.client.count_workflows(f'CaseIncident = "{incident_id}"'),
        lambda counted: counted.count == 1,
        what="the case in Temporal's visibility store",
    )

    found = await verdicts(lotse, incident_id)
    text = await lotse("audit", "workflow-replay", incident_id, env_extra={"COLUMNS": "80"})

    assert [(v["workflow_id"], v["workflow_type"]) for v in found] == [
        (incident_id, "IncidentResponse"),
        (case_id, "VictimCase"),
    ]
    assert all(v["failure"] is None and v["events"] > 3 for v in found), found
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    assert any(incident_id in line and "verdict: explained" in line for line in lines), lines
    assert any(case_id in line and "verdict: explained" in line for line in lines), lines
    assert lines[-1] == "2 run(s): 2 explained, 0 not explained"


async def test_a_run_made_by_changed_code_is_not_explained_and_fails_the_command(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    queue = f"changed-{uuid.uuid4().hex}"
    async with Worker(stack.client, task_queue=queue, workflows=[IncidentResponseThatWaitsFirst]):
        handle = await stack.client.start_workflow(
            "IncidentResponse", declaration(), id=incident_id, task_queue=queue
        )
        stack.handles.append(handle)
        await eventually(
            handle.fetch_history,
            lambda h: any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in h.events),
            what="the changed code's timer",
        )

    found = await verdicts(lotse, incident_id, code=1)
    text = await lotse("audit", "workflow-replay", incident_id, env_extra={"COLUMNS": "80"})

    (only,) = found
    assert only["workflow_id"] == incident_id
    assert only["failure"].startswith("NondeterminismError: [TMPRL1100] Nondeterminism"), only
    assert only["failure"].endswith("does not handle HistoryEvent(id: 5, TimerStarted)"), only
    assert "\n" not in only["failure"]
    assert text.exit_code == 1, text.output
    (row,) = [line for line in text.stdout.splitlines() if incident_id in line]
    assert "verdict: NOT explained: NondeterminismError" in row
    assert text.stdout.splitlines()[-1] == "1 run(s): 0 explained, 1 not explained"


async def test_every_run_of_an_incident_that_continued_as_new_is_replayed(
    small_history_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = small_history_env.client
    async with acknowledged_incident(client, tmp_path) as (handle, _app):
        first_run = handle.result_run_id
        await eventually(
            client.get_workflow_handle(handle.id).describe,
            lambda d: d.run_id != first_run,
            what="the run to continue as new",
        )
        latest = (await client.get_workflow_handle(handle.id).describe()).run_id

        found = await replay_incident(client, handle.id, current_replayer(data_converter))

        await client.get_workflow_handle(handle.id).terminate(reason="test finished")
    assert [v.run_id for v in found] == [first_run, latest]
    assert all(v.explained for v in found), found


async def test_an_incident_temporal_does_not_know_is_one_error(lotse: Lotse, stack: Stack) -> None:
    unknown = await lotse("audit", "workflow-replay", new_id())
    malformed = await lotse("audit", "workflow-replay", "Ü 1")

    assert "Temporal holds no run of incident 'audit-" in one_error_line(unknown)
    assert one_error_line(malformed).startswith("error: INCIDENT 'Ü 1' (3 characters) is not")


async def test_a_run_no_worker_has_taken_up_yet_has_nothing_to_explain(
    lotse: Lotse, stack: Stack
) -> None:
    incident_id = new_id()
    handle = await stack.client.start_workflow(
        "IncidentResponse", declaration(), id=incident_id, task_queue=f"nobody-{incident_id}"
    )
    stack.handles.append(handle)

    (only,) = await verdicts(lotse, incident_id)

    assert (only["failure"], only["note"]) == (None, "no step taken yet")
