"""`lotse history INCIDENT`: every recorded step of an incident, in order, with who did it.

Reads the event store only, so it works while Temporal is down and long after its retention.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.common import console, duration, invocation_settings, open_application, reports_errors
from cli.render import EXERCISE_MARK, folded, print_table, whole
from contracts.vocabulary import cli_time
from domain.application import HistoryEntry

HIDDEN_DETAILS = frozenset({"incident_key", "message_id", "agreement_key"})
DETAIL_LABELS = {
    "partner_id": "partner",
    "partner_ids": "partners",
    "to_step": "to step",
    "channel": "via",
    "seconds_to_acknowledge": "time to ack",
    "estimated_affected": "affected (estimate)",
    "agreement_version": "agreement version",
    "due_at": "due",
    "occurred_at": "occurred",
}


@reports_errors
def history(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the events as JSON.")] = False,
) -> None:
    """Every domain event of the incident from the event store, oldest first."""
    with open_application(invocation_settings(ctx), reading=True) as store:
        entries = store.history(incident_id)
    if as_json:
        typer.echo(
            json.dumps([e.model_dump(mode="json") for e in entries], ensure_ascii=False, indent=2)
        )
    else:
        print_table(console(), history_table(incident_id, entries))


def history_table(incident_id: str, entries: list[HistoryEntry]) -> Table:
    """One row per event: version, business time, event, actor, on whose behalf, channel."""
    exercise = bool(entries and entries[0].details.get("exercise"))
    table = Table(title=f"history of incident {incident_id}{EXERCISE_MARK if exercise else ''}")
    whole(table, "#", "time (Europe/Berlin)", "event", "actor", "on behalf of", "channel")
    folded(table, "details")
    for entry in entries:
        ctx = entry.ctx
        table.add_row(
            str(entry.version),
            cli_time(ctx.business_time),
            entry.event,
            f"{ctx.actor.partner_id}/{ctx.actor.staff_ref}",
            ctx.on_behalf_of or "",
            str(ctx.channel),
            describe_details(entry.details),
        )
    return table


def describe_details(details: dict[str, Any]) -> str:
    """The event's own facts as `label: value` pairs, skipping empty and internal ones."""
    pairs = []
    for key, value in details.items():
        if key in HIDDEN_DETAILS or value is None or value in ("", []):
            continue
        if key == "exercise" and value is False:  # said only of an exercise
            continue
        pairs.append(f"{DETAIL_LABELS.get(key, key.replace('_', ' '))}: {_value(key, value)}")
    return "; ".join(pairs)


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "seconds_to_acknowledge":
        return duration(float(value))
    if key.endswith("_at") and isinstance(value, str):
        return cli_time(datetime.fromisoformat(value))
    if isinstance(value, list):
        return ", ".join(_item(item) for item in value)
    return str(value)


def _item(item: Any) -> str:
    if isinstance(item, dict) and {"category", "region", "count"} <= item.keys():
        return f"{item['category']} in {item['region']}: {item['count']}"
    return str(item)
