"""`lotse cases overdue INCIDENT`: what is late across every person of an incident, oldest first.

Read from the record (works while Temporal is down): every open need or referral whose due
date has passed, with who must act.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, duration, invocation_settings, open_application, reports_errors
from cli.render import folded, print_table, whole
from contracts.vocabulary import cli_time

app = typer.Typer(help="Across the cases of an incident: what is overdue.")


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
