"""`lotse measures …`: the measures agreed in exchange meetings and reflections, from the record.

Every command here reads or writes the record alone: they work while Temporal is down. A
meeting's run reads the record before each reminder, so a measure marked done here is never
reminded of again. A measure (or a reflection) whose record is damaged is left out of the list
with one `warning: …` line on stderr naming it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.table import Table

from cli import updates
from cli.common import (
    CliError,
    cli_context,
    console,
    invocation_settings,
    open_application,
    reports_errors,
)
from cli.render import folded, print_table, whole
from contracts.messages import Actor, OperatorActor
from contracts.vocabulary import BERLIN, cli_time
from domain.exchange_app import MeasureView

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
