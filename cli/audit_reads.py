"""Audit reads are recorded (issue #9, point 6): who reads the record, when, and what.

Every audit command that shows the record (`lotse audit replay|timeline|report`, and `verify`)
takes the auditor as `--as PARTNER --staff STAFF` and records an `AuditRead` (domain/
audit_reads.py) before it prints anything: the command, the incident, the options that narrowed
the read and the output format — never the output. A store that cannot be written (a read-only
copy) refuses the read: no read goes unrecorded. `lotse audit reads` lists the recorded reads;
listing them is not itself recorded (it shows no incident's record, only who read it).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from eventsourcing.persistence import PersistenceError
from rich.table import Table

from cli.common import (
    CliError,
    cli_context,
    console,
    invocation_settings,
    open_application,
    reports_errors,
    validated,
)
from cli.render import print_table, whole
from contracts.accountability import AuditReadRequest
from contracts.messages import Actor, OperatorAction
from contracts.vocabulary import cli_time
from domain.application import LotseApplication
from domain.audit_reads import AuditReadEntry
from settings import Settings

AuditorOpt = Annotated[
    str,
    typer.Option(
        "--as",
        metavar="PARTNER",
        help="The partner you read for (required: every audit read is recorded).",
        show_default=False,
    ),
]
AuditStaffOpt = Annotated[
    str,
    typer.Option(
        "--staff",
        metavar="STAFF",
        help="Your staff reference or role, never a name (required: the read is recorded).",
        show_default=False,
    ),
]


def auditor(partner: str, staff: str) -> Actor:
    """The reading auditor, checked like any operator (a name or Lotse's own id is refused)."""
    action = validated(
        OperatorAction,
        {"actor": {"partner_id": partner, "staff_ref": staff}, "channel": "cli"},
        "auditor",
    )
    return action.actor


def record_read(store: LotseApplication, reader: Actor, read: AuditReadRequest) -> None:
    """Record the read before anything is shown; a store that takes no write refuses it."""
    try:
        store.record_audit_read(read, cli_context(reader))
    except PersistenceError as error:
        raise CliError(
            "this audit read cannot be recorded, so nothing is shown: the event store cannot "
            f"be written ({' '.join(str(error).split())})"
        ) from None


def record_read_in(settings: Settings, reader: Actor, read: AuditReadRequest) -> None:
    """`record_read` on a store of its own, for a command that reads no application
    (`lotse audit verify` reads the stored rows): call it before the verification starts."""
    with open_application(settings, reading=True) as store:
        record_read(store, reader, read)


@reports_errors
def reads(
    ctx: typer.Context,
    incident: Annotated[
        str | None, typer.Option("--incident", metavar="INCIDENT", help="Only this incident's.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reads as JSON.")] = False,
) -> None:
    """Every recorded audit read in record order: when, who, what (command, incident, options,
    format)."""
    with open_application(invocation_settings(ctx), reading=True) as store:
        found = store.audit_reads(incident)
    if as_json:
        typer.echo(json.dumps([_json(entry) for entry in found], ensure_ascii=False, indent=2))
    else:
        print_table(console(), _table(found, incident))


def _table(found: list[AuditReadEntry], incident: str | None) -> Table:
    title = f"audit reads of incident {incident}" if incident else "audit reads"
    table = Table(title=f"{title} (times Europe/Berlin)")
    whole(table, "recorded", "auditor", "channel", "command", "incident", "options", "format")
    for entry in found:
        table.add_row(
            cli_time(entry.recorded_at),
            f"{entry.actor.partner_id}/{entry.actor.staff_ref}",
            entry.channel,
            entry.command,
            entry.incident_key or "(whole record)",
            " ".join(f"{name} {value}" for name, value in entry.options.items()),
            entry.output_format,
        )
    return table


def _json(entry: AuditReadEntry) -> dict[str, object]:
    return {
        "seq": entry.seq,
        "recorded_at": entry.recorded_at.isoformat(),
        "actor": {"partner_id": entry.actor.partner_id, "staff_ref": entry.actor.staff_ref},
        "channel": entry.channel,
        "command": entry.command,
        "incident": entry.incident_key,
        "options": entry.options,
        "format": entry.output_format,
    }
