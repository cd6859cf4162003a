"""`lotse measures …`: the measures agreed in exchange meetings and reflections, from the record.

Every command here reads or writes the record: they work while Temporal is down. A meeting's
run, and a reflection's measure's own reminders (`MeasureReminders`, which `assign` starts, and
only that needs Temporal), read the record before each reminder, so a measure marked done here
is never reminded of again. A measure (or a reflection) whose record is damaged is left out of
the list with one `warning: …` line on stderr naming it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.table import Table
from temporalio.service import RPCError

from cli import updates
from cli.common import (
    CliError,
    cli_context,
    connect_client,
    console,
    invocation_settings,
    open_application,
    reports_errors,
)
from cli.render import folded, print_table, whole
from contracts.exchange import (
    MEASURE_ASSIGNED_SIGNAL,
    MEASURE_REMINDERS_WORKFLOW_TYPE,
    MeasureRemindersInput,
    measure_reminders_id,
)
from contracts.messages import Actor, OperatorActor
from contracts.vocabulary import BERLIN, cli_time
from domain.exchange_app import REFLECTION, MeasureView
from settings import Settings

app = typer.Typer(help="Measures from exchange meetings and reflections: list, assign, done.")

MeasureArg = Annotated[
    str,
    typer.Argument(metavar="MEASURE", help="e.g. exchange-20270112/m1 or 20261128-1705-dresden/r2"),
]
_ACTOR = TypeAdapter(OperatorActor)


def acting(partner: str, staff: str) -> Actor:
    """Who acts, checked as every operator is (no names, not Lotse's own reference)."""
    actor: Actor = _ACTOR.validate_python({"partner_id": partner, "staff_ref": staff})
    return actor


def state_of(measure: MeasureView, today: date) -> str:
    if measure.done_at is not None:
        return "done"
    if not measure.tracked:
        return "unassigned"
    return "OVERDUE" if measure.overdue(today) else "open"


@app.command("list")
@reports_errors
def list_measures(
    ctx: typer.Context,
    only_open: Annotated[bool, typer.Option("--open", help="Only measures not done.")] = False,
    partner: Annotated[
        str | None, typer.Option("--partner", metavar="P", help="Only those P owns.")
    ] = None,
) -> None:
    """Every measure: state (open, OVERDUE, done, unassigned), owner, due date, source."""
    settings = invocation_settings(ctx)
    today = datetime.now(BERLIN).date()
    with open_application(settings, reading=True) as record:
        measures, damages = record.measure_listing()
    for damage in damages:  # what it hides is not listed; the rest is
        typer.echo(f"warning: not listed: {damage}", err=True)
    shown = [
        m
        for m in measures
        if not (only_open and m.done_at is not None) and partner in (None, m.owner)
    ]
    if not shown:
        typer.echo("no measure matches" if measures else "no measure is recorded yet")
        return
    table = Table()
    whole(table, "measure", "state", "owner", "due", "source")
    folded(table, "text")
    for m in shown:
        table.add_row(
            m.measure_key,
            state_of(m, today),
            m.owner or "—",
            m.due_on.isoformat() if m.due_on else "—",
            f"{m.source} {m.source_key}",
            m.text,
        )
    print_table(console(), table)


@app.command("assign")
@reports_errors
def assign(
    ctx: typer.Context,
    measure_key: MeasureArg,
    owner: Annotated[str, typer.Option("--owner", metavar="P", help="The partner that owns it.")],
    due: Annotated[str, typer.Option("--due", metavar="DATE", help="Due date, YYYY-MM-DD.")],
    staff: updates.StaffOpt,
    acting_partner: updates.ActingPartnerOpt,
) -> None:
    """Give a measure (a reflection's, usually) its owner and due date; it is then tracked."""
    due_on = parse_due(due)
    settings = invocation_settings(ctx)
    context = cli_context(acting(acting_partner, staff))
    with open_application(settings, reading=True) as record:
        measure = record.assign_measure(measure_key, owner, due_on, context)
    typer.echo(f"measure {measure.measure_key}: owner {measure.owner}, due {measure.due_on}")
    if measure.source == REFLECTION and not measure.done:
        workflow_id = asyncio.run(start_reminders(settings, measure.measure_key))
        typer.echo(f"  reminders when overdue: workflow {workflow_id}")


async def start_reminders(settings: Settings, measure_key: str) -> str:
    """Start the reminders of a reflection's measure, or tell the running ones to read it
    again (signal-with-start: one workflow per measure, however often it is assigned). A
    `CliError` when Temporal cannot be reached: the assignment is recorded, and the same
    command again (which records nothing twice) starts them."""
    workflow_id = measure_reminders_id(measure_key)
    not_started = (
        f"measure {measure_key} is assigned, but its reminders could not be started: "
        "{}; run the same command again once Temporal is reachable (nothing is recorded twice)"
    )
    try:
        client = await connect_client(settings)
        await client.start_workflow(
            MEASURE_REMINDERS_WORKFLOW_TYPE,
            MeasureRemindersInput(
                measure_key=measure_key,
                reminder_interval=timedelta(days=settings.measure_reminder_days),
                retry_initial_interval=timedelta(
                    seconds=settings.delivery_initial_interval_seconds
                ),
            ),
            id=workflow_id,
            task_queue=settings.task_queue,
            start_signal=MEASURE_ASSIGNED_SIGNAL,
            static_summary=f"Erinnerungen an Maßnahme {measure_key}",
        )
    except CliError as error:
        raise CliError(not_started.format(error)) from None
    except RPCError as error:
        raise CliError(not_started.format(f"Temporal refused: {error.message}")) from None
    return workflow_id


def parse_due(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CliError(f"--due '{text}' is not a date: write YYYY-MM-DD, e.g. 2027-03-31") from None


@app.command("done")
@reports_errors
def done(
    ctx: typer.Context,
    measure_key: MeasureArg,
    staff: updates.StaffOpt,
    acting_partner: updates.ActingPartnerOpt,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="How it was done.")
    ] = None,
) -> None:
    """Mark a measure done (its owner, or the Commissioner's office); no more reminders."""
    settings = invocation_settings(ctx)
    context = cli_context(acting(acting_partner, staff))
    with open_application(settings, reading=True) as record:
        measure, newly = record.complete_measure(measure_key, note, context)
    if not newly:
        typer.echo(
            f"measure {measure_key} was already done on {cli_time(measure.done_at)} "
            "(Europe/Berlin); nothing recorded"
        )
        return
    who = f"{context.actor.partner_id}/{context.actor.staff_ref}"
    typer.echo(f"measure {measure_key}: done at {cli_time(datetime.now(UTC))}, recorded by {who}")
