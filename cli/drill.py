"""`lotse drill …`: the test alert ("Testalarm") of every contact point of the agreement.

`test-alert` starts an `AlertDrill` workflow (id `drill-<key>`); `ack` records a contact
point's answer through the workflow's `acknowledge` update; `status` reads the record only, so
it works while Temporal is down. A drill is named by its key (`test-20261130-0900`); the
workflow id `drill-test-20261130-0900` is taken as well.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table
from temporalio.exceptions import WorkflowAlreadyStartedError

from cli import updates
from cli.common import (
    CliError,
    command_hint,
    connect_client,
    console,
    duration,
    incident_errors,
    invocation_settings,
    open_application,
    reports_errors,
    validated,
)
from cli.render import print_table, whole
from contracts.drill import (
    ACKNOWLEDGE_DRILL_UPDATE,
    DRILL_KEY,
    DRILL_WORKFLOW_TYPE,
    AcknowledgeDrill,
    DrillAnswer,
    DrillInput,
    drill_workflow_id,
    point_problem,
    too_late,
)
from contracts.vocabulary import BERLIN, cli_time
from domain.drill import AlertDrill, PointResult
from domain.errors import DrillNotFoundError
from settings import Settings

app = typer.Typer(help="Test alerts: reach every contact point before a real attack does.")

DrillArg = Annotated[
    str, typer.Argument(metavar="DRILL", help="The drill, e.g. test-20261130-0900.")
]


def drill_key(text: str) -> str:
    """The drill's key, given as the key or as its workflow id (`drill-<key>`)."""
    return text.removeprefix("drill-")


def new_drill_key(now: datetime) -> str:
    """`test-20261130-0900`: the Berlin minute the drill starts."""
    return f"test-{now.astimezone(BERLIN):%Y%m%d-%H%M}"


@app.command("test-alert")
@reports_errors
def start_test_alert(
    ctx: typer.Context,
    agreement: Annotated[
        str | None,
        typer.Option("--agreement", metavar="KEY", help="Default: the agreement in settings."),
    ] = None,
    key: Annotated[
        str | None,
        typer.Option("--id", metavar="KEY", help="The drill's key (default test-YYYYMMDD-HHMM)."),
    ] = None,
) -> None:
    """Send a test message to every contact point of the agreement; record who answers."""
    settings = invocation_settings(ctx)
    drill = key or new_drill_key(datetime.now(BERLIN))
    if not DRILL_KEY.fullmatch(drill):
        raise CliError(f"--id '{drill}': a drill key has 1 to 64 small letters, digits or '-'")
    agreement_key = agreement or settings.agreement_id
    with open_application(settings, reading=True) as record:
        record.agreement(agreement_key)  # AgreementNotFoundError names `lotse agreement load`
        try:
            record.drill(drill)
        except DrillNotFoundError:
            pass
        else:
            raise CliError(in_use(drill))
    asyncio.run(_start(settings, DrillInput(drill_key=drill, agreement_key=agreement_key)))
    typer.echo(f"drill {drill} started: a test message to every contact point of {agreement_key}")
    typer.echo(f"  follow it: {command_hint(settings, 'drill', 'status', drill, store=True)}")


def in_use(drill: str) -> str:
    return f"drill id '{drill}' is already in use; choose another --id"


async def _start(settings: Settings, start: DrillInput) -> None:
    client = await connect_client(settings)
    workflow_id = drill_workflow_id(start.drill_key)
    with incident_errors(workflow_id, "drill"):
        try:
            await client.start_workflow(
                DRILL_WORKFLOW_TYPE, start, id=workflow_id, task_queue=settings.task_queue
            )
        except WorkflowAlreadyStartedError:
            # Started a moment ago and not yet in the record: the same words as the record's.
            raise CliError(in_use(start.drill_key)) from None


@app.command("ack")
@reports_errors
def ack(
    ctx: typer.Context,
    drill: DrillArg,
    point: Annotated[
        str,
        typer.Option("--point", metavar="PARTNER/STEP", help="e.g. weisser-ring/deputy."),
    ],
    acting_partner: updates.ActingPartnerOpt,
    staff: updates.StaffOpt,
    channel: updates.ChannelOpt = updates.OperatorChannel.CLI,
    timeout: updates.TimeoutOpt = updates.DEFAULT_TIMEOUT,
) -> None:
    """Record that a contact point answered its test message (yourself, or by phone)."""
    key = drill_key(drill)
    request = validated(
        AcknowledgeDrill,
        {**updates.acting(acting_partner, staff, channel), "point": point},
        "answer",
    )
    settings = invocation_settings(ctx)
    with open_application(settings, reading=True) as record:
        found = record.drill(key)  # DrillNotFoundError names the key
    if problem := point_problem(key, point, list(found.points)):
        raise CliError(problem)
    if found.finished:
        raise CliError(too_late(key))
    # An answer repeated records nothing twice (the first counts): no update id to keep.
    result = asyncio.run(
        updates.send_update(
            ctx,
            drill_workflow_id(key),
            ACKNOWLEDGE_DRILL_UPDATE,
            request,
            DrillAnswer,
            (None, timeout),
            "drill",
            announce=False,
        )
    )
    before = " (it had answered before; the first answer counts)" if result.duplicate else ""
    typer.echo(f"drill {key}: {point} answered after {duration(result.seconds_to_answer)}{before}")


@app.command("status")
@reports_errors
def status(ctx: typer.Context, drill: DrillArg) -> None:
    """Who answered and how fast, who did not: from the record (works with Temporal down)."""
    key = drill_key(drill)
    settings = invocation_settings(ctx)
    with open_application(settings, reading=True) as record:
        found = record.drill(key)
    typer.echo(describe(found))
    print_table(console(), points_table(found))


def describe(drill: AlertDrill) -> str:
    """One line: the drill, its agreement, when it started, how far it is."""
    answered = sum(1 for r in drill.points.values() if r.answered_at is not None)
    state = "ended" if drill.finished else "waiting for answers"
    return (
        f"drill {drill.drill_key}: {drill.agreement_key} v{drill.agreement_version}, started "
        f"{cli_time(drill.started_at)} (Europe/Berlin), {state}; "
        f"{answered} of {len(drill.points)} answered"
    )


def points_table(drill: AlertDrill) -> Table:
    table = Table()
    whole(table, "contact point", "message", "answered after", "by", "state")
    for point, result in drill.points.items():
        table.add_row(
            point,
            _message(result),
            duration(result.seconds_to_answer),
            result.answered_by or "—",
            _state(result, drill.finished),
        )
    return table


def _message(result: PointResult) -> str:
    if result.delivered_at is not None:
        return "delivered"
    return "FAILED" if result.failures else "—"


def _state(result: PointResult, finished: bool) -> str:
    if result.answered_at is not None:
        return "answered"
    if result.not_answering:
        return "NOT ANSWERING"
    return "—" if finished else "waiting"
