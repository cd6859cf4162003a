"""`lotse cases …`: across the cases of an incident.

- `import FILE`: register everyone on a list (cli/importing.py);
- `duplicates`: the people the lists name who are likely the same, to confirm or reject;
- `overdue`: what is late, oldest first, read from the record (works while Temporal is down):
  every open need or referral whose due date has passed, with who must act.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from cli import duplicates as duplicate_lists
from cli import importing
from cli.common import (
    CliError,
    command_hint,
    console,
    duration,
    invocation_settings,
    open_application,
    reports_errors,
    validated,
)
from cli.render import folded, print_table, whole
from cli.updates import ActingPartnerOpt, StaffOpt
from contracts.messages import Actor
from contracts.vocabulary import cli_time
from domain.roll import PairStatus
from settings import Settings

app = typer.Typer(help="Across the cases of an incident: import a list, duplicates, overdue.")
LISTED = 20
"""Links and unfinished rows shown by line; the counts say how many there are in all."""


@app.command("import")
@reports_errors
def import_list(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The list: .csv (; or ,), .xlsx or .ods.")
    ],
    incident_id: Annotated[
        str, typer.Option("--incident", metavar="INCIDENT", help="The incident id.")
    ],
    source: Annotated[
        str, typer.Option("--source", metavar="SOURCE", help="police, red-cross or hotline")
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            metavar="TOML",
            help='Other column headers: [columns] Nachname = "Familienname" …',
        ),
    ] = None,
) -> None:
    """Register everyone on a list; a person already on another list is linked, not doubled.
    Run it again after an interruption: nothing is registered twice."""
    chosen = importing.SOURCES.get(source)
    if chosen is None:
        raise CliError(f"--source must be one of {', '.join(importing.SOURCES)}")
    actor = validated(Actor, {"partner_id": acting_partner, "staff_ref": staff}, "actor")
    columns = importing.read_mapping(mapping) if mapping is not None else None
    settings = invocation_settings(ctx)
    with _progress_bar() as bar:
        phases: dict[str, TaskID] = {}

        def report(phase: str, done: int, total: int) -> None:
            if phase not in phases:
                phases[phase] = bar.add_task(phase, total=total)
            bar.update(phases[phase], completed=done)

        result = asyncio.run(
            importing.import_list(
                settings, file, incident_id, chosen, actor, mapping=columns, progress=report
            )
        )
    _print_summary(result, file, incident_id, settings)
    if result.unfinished:
        raise typer.Exit(1)


def _progress_bar() -> Progress:
    """On the terminal's stderr only: a file or pipe gets the summary, not the bar."""
    err = Console(stderr=True)
    return Progress(
        TextColumn("{task.description:<12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )


def _print_summary(
    result: importing.ImportSummary, file: Path, incident_id: str, settings: Settings
) -> None:
    """Counts first, then what the operator must look at: each rejected line with each of its
    problems (never a value), the links, the likely duplicates."""
    rows = len(result.registered) + len(result.linked) + result.seen + len(result.rejected)
    rows += len(result.unfinished)
    typer.echo(f"{file.name}: {rows} rows for incident {incident_id}")
    typer.echo(f"  registered:            {len(result.registered)}")
    typer.echo(f"  linked as duplicates:  {len(result.linked)} (on an earlier list already)")
    for line, ref in result.linked[:LISTED]:
        typer.echo(f"    line {line}: linked to {ref}")
    if len(result.linked) > LISTED:
        typer.echo(f"    … and {len(result.linked) - LISTED} more")
    typer.echo(f"  already imported:      {result.seen}")
    if result.finished_now:
        typer.echo(f"    of them finished now: {result.finished_now} (left unfinished before)")
    if result.likely:
        typer.echo(f"  likely the same as someone registered: {len(result.likely)}")
        typer.echo("    confirm or reject each:")
        typer.echo(f"    {command_hint(settings, 'cases', 'duplicates', incident_id)}")
    typer.echo(f"  rejected:              {len(result.rejected)}")
    for problem in result.rejected:
        typer.echo(f"    line {problem.line}:")
        for text in problem.problems:
            typer.echo(f"      {text}")
    if result.erased:
        typer.echo(f"  erased since, not brought back: {result.erased}")
    if result.unfinished:
        first = result.unfinished[0]
        typer.echo(f"  not finished:          {len(result.unfinished)} — run the same import again")
        typer.echo(f"    from line {first.line}: {'; '.join(first.problems)}")
    sys.stdout.flush()


@app.command("duplicates")
@reports_errors
def duplicates(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    action: Annotated[
        str | None, typer.Argument(metavar="[confirm|reject]", help="Decide one pair.")
    ] = None,
    pair_id: Annotated[int | None, typer.Argument(metavar="[NO.]", help="The pair's no.")] = None,
    staff: Annotated[
        str | None, typer.Option("--staff", metavar="STAFF", help="Your staff reference.")
    ] = None,
    acting_partner: Annotated[
        str | None, typer.Option("--as", metavar="PARTNER", help="The partner you act for.")
    ] = None,
) -> None:
    """The people the lists name who are likely the same (shown with their names, for the
    office); `confirm NO.` merges the later case into the earlier, `reject NO.` keeps both."""
    settings = invocation_settings(ctx)
    if action is None:
        with open_application(settings, reading=True) as store:
            roll = store.roll(incident_id)
            if roll is None or not roll.pending():
                typer.echo(f"{incident_id}: no likely duplicates to decide")
                return
            print_table(console(), duplicate_lists.pending_table(store, roll))
        return
    if action not in ("confirm", "reject"):
        raise CliError(f"'{action}' is not an action: use confirm or reject")
    if pair_id is None:
        raise CliError(
            f"{action} needs the pair's number (see `lotse cases duplicates {incident_id}`)"
        )
    if staff is None or acting_partner is None:
        raise CliError(f"{action} needs --as PARTNER and --staff STAFF")
    actor = validated(Actor, {"partner_id": acting_partner, "staff_ref": staff}, "actor")
    with open_application(settings, reading=True) as store:
        roll = store.roll(incident_id)
        if roll is None:
            raise CliError(f"incident '{incident_id}' has no imported list, so no duplicates")
        before = roll.pair(pair_id)
    wanted = PairStatus.CONFIRMED if action == "confirm" else PairStatus.REJECTED
    if before.status not in (PairStatus.PENDING, wanted):
        raise CliError(
            f"pair {pair_id} ({before.earlier}, {before.later}) was {before.status} before; "
            "a decision is not turned round here — nothing changed"
        )
    if action == "reject":
        pair = duplicate_lists.reject(settings, incident_id, pair_id, actor)
    else:
        pair = asyncio.run(duplicate_lists.confirm(ctx, settings, incident_id, pair_id, actor))
    again = " (decided before: nothing recorded again)" if before.status is wanted else ""
    typer.echo(f"{incident_id}: {pair.earlier} and {pair.later}: {pair.status}{again}")
    if pair.status is PairStatus.CONFIRMED:
        typer.echo(f"  {pair.later} lives on as {pair.earlier}; its case is closed as a duplicate")


@app.command("overdue")
@reports_errors
def overdue(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the items as JSON.")] = False,
) -> None:
    """Every open need or referral past its due date, oldest first, with its owner."""
    now = datetime.now(UTC)
    with open_application(invocation_settings(ctx), reading=True) as store:
        store.incident(incident_id)  # an unknown incident is an error, not an empty list
        items = store.overdue(incident_id, now)
    if as_json:
        typer.echo(json.dumps([item.model_dump(mode="json") for item in items], indent=2))
        return
    if not items:
        typer.echo(f"{incident_id}: nothing is overdue")
        return
    table = Table(title=f"overdue in incident {incident_id} ({len(items)})")
    whole(table, "person", "need", "status", "owner", "due (Europe/Berlin)", "late by")
    folded(table, "referral")
    for item in items:
        table.add_row(
            item.person_ref,
            str(item.category),
            str(item.status),
            item.owner,
            cli_time(item.due_at),
            duration((now - item.due_at).total_seconds()),
            item.referral_id or "",
        )
    print_table(console(), table)
