"""`lotse audit workflow-replay INCIDENT`: does today's workflow code still explain the past?

Every run Temporal still holds of the incident is fetched and replayed against the workflows
the worker runs now (`bootstrap.workflow_classes`), with the payload codec of the settings:

- the incident's own workflow (`IncidentResponse`, id = the incident id): its first run and
  every run it continued as new into;
- every run of each of its people's cases (`VictimCase`), found by the `CaseIncident` search
  attribute that each case carries.

A run is *explained* when the current code, fed the run's history, issues the same commands
in the same order; otherwise the replay's failure (a `NondeterminismError`, a payload the
codec cannot open, …) is shown in one line. Runs still going are replayed up to their last
event. Cases replay inside Temporal's sandbox, as in the suite, although the worker runs them
outside it in service: the sandbox also refuses a call that would make a case
non-deterministic (a clock read), which a replay outside it would let pass.

Not covered: runs Temporal has already deleted after the namespace's retention (their steps
stay in the record: `lotse history`), and workflows that are not the incident's or its cases'.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from typing import Annotated

import typer
from rich.table import Table
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bootstrap import build_data_converter, workflow_classes
from cli.common import (
    CliError,
    connect_client,
    console,
    incident_errors,
    invocation_settings,
    reports_errors,
)
from cli.render import folded, print_table, print_text, whole
from contracts.checks import incident_id_problem
from contracts.vocabulary import SEARCH_ATTRIBUTE_CASE_INCIDENT

EXPLAINED = "explained"
NO_STEP_YET = "no step taken yet"
CORE_MESSAGE = re.compile(r'Failure \{ message: "(.+?)", source: ')


@dataclass(frozen=True)
class RunVerdict:
    """Whether the current code explains one run: `failure` is None when it does."""

    workflow_id: str
    run_id: str
    workflow_type: str
    events: int
    failure: str | None
    note: str | None = None
    """Why nothing was replayed, for a run that has taken no step yet."""

    @property
    def explained(self) -> bool:
        return self.failure is None


@reports_errors
def workflow_replay(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdicts as JSON.")] = False,
) -> None:
    """Replay every Temporal run of the incident and its cases against the current workflow
    code; exit 1 if any run is not explained by it."""
    if problem := incident_id_problem(incident_id):
        raise CliError(f"INCIDENT {problem}")
    settings = invocation_settings(ctx)
    replayer = current_replayer(build_data_converter(settings))

    async def replay() -> list[RunVerdict]:
        client = await connect_client(settings)
        with incident_errors(incident_id):
            return await replay_incident(client, incident_id, replayer)

    verdicts = asyncio.run(replay())
    if not verdicts:
        raise CliError(
            f"Temporal holds no run of incident '{incident_id}' in namespace "
            f"{settings.temporal_namespace} (never started here, or deleted after its retention)"
        )
    if as_json:
        typer.echo(json.dumps([asdict(v) for v in verdicts], indent=2))
    else:
        print_verdicts(verdicts)
    if not all(v.explained for v in verdicts):
        raise typer.Exit(1)


def current_replayer(data_converter: DataConverter) -> Replayer:
    """A replayer with the worker's workflows, every one of them inside the sandbox."""
    return Replayer(
        workflows=workflow_classes(),
        data_converter=data_converter,
        unsandboxed_workflow_runner=SandboxedWorkflowRunner(),
    )


async def replay_incident(client: Client, incident_id: str, replayer: Replayer) -> list[RunVerdict]:
    """Replay each run of the incident and of its cases (see the module): the incident's runs
    first, oldest first, then each case's runs. An empty list when Temporal holds none."""
    executions = await incident_executions(client, incident_id)
    order = {execution.run_id: number for number, execution in enumerate(executions)}
    verdicts: list[RunVerdict] = []

    async def steps_taken() -> AsyncIterator[WorkflowHistory]:
        # A run that has not completed a workflow task has issued no command, so there is
        # nothing to compare; the replayer would wait for ever on its lone start event.
        async for history in histories(client, executions):
            if any(
                e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED for e in history.events
            ):
                yield history
            else:
                verdicts.append(verdict(history, None, NO_STEP_YET))

    async with replayer.workflow_replay_iterator(steps_taken()) as results:
        async for result in results:
            verdicts.append(verdict(result.history, result.replay_failure))
    return sorted(verdicts, key=lambda v: order[v.run_id])


async def incident_executions(client: Client, incident_id: str) -> list[WorkflowExecution]:
    """Every run of the incident's workflow and of its cases' workflows, in replay order."""
    # The id was checked against the incident id rule: no quotes can reach the query.
    query = f'WorkflowId = "{incident_id}" OR {SEARCH_ATTRIBUTE_CASE_INCIDENT} = "{incident_id}"'
    found = [execution async for execution in client.list_workflows(query)]
    return sorted(found, key=lambda e: (e.id != incident_id, e.id, e.start_time))


async def histories(
    client: Client, executions: Sequence[WorkflowExecution]
) -> AsyncIterator[WorkflowHistory]:
    """One history at a time, so that thousands of cases never sit in memory together."""
    for execution in executions:
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        yield await handle.fetch_history()


def verdict(
    history: WorkflowHistory, failure: Exception | None, note: str | None = None
) -> RunVerdict:
    started = (
        history.events[0].workflow_execution_started_event_attributes if history.events else None
    )
    return RunVerdict(
        workflow_id=history.workflow_id,
        run_id=history.run_id,
        workflow_type=started.workflow_type.name if started else "",
        events=len(history.events),
        failure=one_line(failure) if failure is not None else None,
        note=note,
    )


def one_line(failure: Exception) -> str:
    """The failure's type and message on one line. The SDK's core wraps the message that
    matters (`[TMPRL1100] Nondeterminism error: … does not handle HistoryEvent(id: 5,
    TimerStarted)`) in a debug dump of its own structures; only that message is kept."""
    text = " ".join(str(failure).split()) or "no message"
    inner = CORE_MESSAGE.search(text)
    return f"{type(failure).__name__}: {inner.group(1) if inner else text}"


def describe(v: RunVerdict) -> str:
    """`explained`, `explained (no step taken yet)` or `NOT explained: <failure>`."""
    if not v.explained:
        return f"NOT explained: {v.failure}"
    return f"{EXPLAINED} ({v.note})" if v.note else EXPLAINED


def print_verdicts(verdicts: Sequence[RunVerdict]) -> None:
    """One row per run, then the count; each not explained run with its failure."""
    out = console()
    table = Table(title="workflow runs replayed against the current code")
    whole(table, "workflow", "type", "run", "events")
    folded(table, "verdict")
    for v in verdicts:
        table.add_row(
            v.workflow_id,
            v.workflow_type,
            v.run_id,
            str(v.events),
            describe(v),
        )
    print_table(out, table)
    unexplained = sum(not v.explained for v in verdicts)
    print_text(
        out,
        f"{len(verdicts)} run(s): {len(verdicts) - unexplained} explained, "
        f"{unexplained} not explained",
    )
