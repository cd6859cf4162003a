"""`lotse incident …`: declare an incident, read its status, list incidents; plus the updates.

Declaring validates the file before anything starts; the workflow id is the incident id.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
import typer
from eventsourcing.persistence import PersistenceError
from temporalio.common import WorkflowIDReusePolicy

from cli import updates
from cli.common import (
    CliError,
    command_hint,
    connect_client,
    console,
    incident_errors,
    invocation_settings,
    open_application,
    reports_errors,
    validated,
    workflow_url,
)
from cli.render import incidents_table, print_people, print_status, print_table
from contracts.checks import incident_id_problem, occurred_at_problem
from contracts.messages import IncidentDeclaration, IncidentStatus
from contracts.people_counts import PeopleCounts
from contracts.vocabulary import BERLIN, INCIDENT_WORKFLOW_TYPE, ActorChannel, cli_time
from domain.errors import DomainError
from settings import Settings
from workflows.details import summary

app = typer.Typer(help="Declare and drive an incident: declare, ack, status, needs, …")


@app.command("declare")
@reports_errors
def declare(
    ctx: typer.Context,
    file: Annotated[
        str, typer.Argument(metavar="FILE", help="The declaration (JSON), or - to read stdin.")
    ],
    incident_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            metavar="ID",
            help="The incident id (= workflow id); default: YYYYMMDD-HHMM-<region> of occurred_at.",
        ),
    ] = None,
) -> None:
    """Validate a declaration and start IncidentResponse: every partner is alerted at once."""
    declaration = read_declaration(file)
    chosen = checked_incident_id(incident_id or derive_incident_id(declaration))
    settings = invocation_settings(ctx)
    asyncio.run(start_incident(settings, chosen, declaration))
    typer.echo(f"declared incident {chosen}: {declaration.title}")
    typer.echo(f"  every partner is being alerted (task queue {settings.task_queue})")
    typer.echo(f"  UI:     {workflow_url(settings, chosen)}")
    typer.echo(f"  status: {command_hint(settings, 'incident', 'status', chosen)}")
    typer.echo(f"  record: {command_hint(settings, 'history', chosen, store=True)}")


def read_declaration(file: str) -> IncidentDeclaration:
    """The declaration in `file` (or stdin), marked as entered on the command line."""
    name = "stdin" if file == "-" else file
    try:
        text = typer.get_text_stream("stdin").read() if file == "-" else _read(file)
        data: Any = json.loads(text)
    except json.JSONDecodeError as error:
        raise CliError(f"{name}: not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise CliError(f"{name}: a declaration is a JSON object")
    declaration = validated(
        IncidentDeclaration, {**data, "channel": ActorChannel.CLI}, f"declaration in {name}"
    )
    # The workflow refuses it too; saying so here sends nothing at all.
    if problem := occurred_at_problem(declaration.occurred_at, datetime.now(UTC)):
        raise CliError(f"invalid declaration in {name}: {problem}")
    return declaration


def _read(file: str) -> str:
    try:
        with open(file, encoding="utf-8") as handle:
            return handle.read()
    except OSError as error:
        raise CliError(f"{file}: cannot read: {error.strerror}") from None


def derive_incident_id(declaration: IncidentDeclaration) -> str:
    """`YYYYMMDD-HHMM-<region>` of when it happened (Europe/Berlin): the same event, same id."""
    occurred = declaration.occurred_at.astimezone(BERLIN)
    return f"{occurred:%Y%m%d-%H%M}-{declaration.region}"


def checked_incident_id(incident_id: str) -> str:
    """The id, or a `CliError` saying what an incident id may contain."""
    if problem := incident_id_problem(incident_id):
        raise CliError(f"--id {problem}")
    return incident_id


async def start_incident(
    settings: Settings, incident_id: str, declaration: IncidentDeclaration
) -> None:
    """Start the workflow; an id used before (running or closed) is refused."""
    client = await connect_client(settings)
    with incident_errors(incident_id):
        await client.start_workflow(
            INCIDENT_WORKFLOW_TYPE,
            declaration.model_dump(mode="json"),
            id=incident_id,
            task_queue=settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            # Temporal stores summaries unencrypted and the title is free text: kind and
            # region only.
            static_summary=summary(declaration.kind, declaration.region, declaration.exercise),
        )


@app.command("status")
@reports_errors
def status(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Phase, each partner's alert, needs by category and open items (the `status` query),
    and the incident's people counted in the record."""
    settings = invocation_settings(ctx)
    result = asyncio.run(query_status(settings, incident_id))
    now = datetime.now(UTC)
    people, problem = read_people(settings, incident_id, now)
    source = f"in the record at {cli_time(now)}"
    if people is None and result.people is not None:
        source = "as the incident last read them from the record"
    shown = result.model_copy(update={"people": people or result.people})
    if as_json:
        typer.echo(shown.model_dump_json(indent=2))
        if problem is not None:
            typer.echo(f"warning: people not read from the record: {problem}", err=True)
        return
    out = console()
    print_status(out, shown)
    hint = command_hint(settings, "cases", "overdue", incident_id, store=True)
    print_people(out, shown.people, source, problem, hint)


def read_people(
    settings: Settings, incident_id: str, now: datetime
) -> tuple[PeopleCounts | None, str | None]:
    """The incident's people counts from the record's people view, or why they could not be
    read: the status of the workflow is shown either way."""
    try:
        with open_application(settings, reading=True) as store:
            return store.people_counts(incident_id, now).counts(), None
    except (CliError, DomainError) as error:
        return None, str(error)
    except (PersistenceError, psycopg.Error, sqlite3.Error, OSError) as error:
        return None, f"the event store cannot be used: {' '.join(str(error).split())}"


async def query_status(settings: Settings, incident_id: str) -> IncidentStatus:
    """The workflow's `status` query."""
    client = await connect_client(settings)
    handle = client.get_workflow_handle(incident_id)
    with incident_errors(incident_id):
        result: IncidentStatus = await handle.query(
            "status", result_type=IncidentStatus, rpc_timeout=updates.ANSWER_TIMEOUT
        )
    return result


@app.command("list")
@reports_errors
def list_incidents(ctx: typer.Context) -> None:
    """Every incident in the event store, oldest first (works without Temporal); one whose
    record is damaged is listed as such, the others as ever."""
    with open_application(invocation_settings(ctx), reading=True) as store:
        incidents = store.listed_incidents()
    if not incidents:
        typer.echo("no incidents recorded")
        return
    print_table(console(), incidents_table(incidents))


# The updates of a running incident, after declare/status/list in the help.
app.command("ack")(updates.acknowledge)
app.command("needs")(updates.report_needs)
app.command("assign")(updates.assign)
app.command("close-acute")(updates.close_acute)
app.command("reflect")(updates.reflect)
app.command("call-off")(updates.call_off)
