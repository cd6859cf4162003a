"""`lotse audit timeline INCIDENT [--partner P] [--phase X] [--format table|json|csv]`: every step
by every partner, in record order.

Reads the timeline projection beside the event store (domain/timeline.py), caught up with the
record first; works while Temporal is down. The read is recorded with the auditor (`--as`,
`--staff`) before the timeline is read, so the timeline ends with its own `AuditRead` row. CSV is
for spreadsheets: `;` between fields (what a spreadsheet set to German expects), UTF-8, one header
row, times in Europe/Berlin.

A damaged record (docs/record.md, "A damaged record"): the timeline shows what could be read and
prints one `warning: …` line on stderr for each of the incident's streams that it stops at,
naming the stream and the version; the exit code stays 0 (`lotse audit verify` is the check).
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.audit_reads import AuditorOpt, AuditStaffOpt, auditor, record_read
from cli.common import CliError, console, invocation_settings, open_application, reports_errors
from cli.history import describe_details
from cli.render import folded, print_table, whole
from contracts.accountability import AuditCommand, AuditReadRequest
from contracts.vocabulary import Phase, cli_time
from domain.application import LotseApplication
from domain.errors import DamagedRecordError
from domain.incident import Incident
from domain.timeline import TimelineDamage, TimelineRow

CSV_DELIMITER = ";"
CSV_COLUMNS = (
    "seq",
    "recorded_at",
    "business_time",
    "phase",
    "partner",
    "staff_ref",
    "on_behalf_of",
    "channel",
    "person",
    "version",
    "event",
    "details",
)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


@reports_errors
def timeline(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    reader_partner: AuditorOpt,
    staff: AuditStaffOpt,
    partner: Annotated[
        str | None,
        typer.Option(
            "--partner", help="Only steps this partner's staff took or that were on its behalf."
        ),
    ] = None,
    phase: Annotated[
        Phase | None, typer.Option("--phase", help="Only steps recorded in this phase.")
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = Format.TABLE,
) -> None:
    """Every step of the incident and of its people in record order: recorded time, business
    time, phase, actor, on whose behalf, channel, person, what happened."""
    reader = auditor(reader_partner, staff)
    with open_application(invocation_settings(ctx), reading=True) as store:
        # An unknown incident: nothing read, no record. A damaged one: its timeline shows what
        # can be read and says where it stops (its partners are then not checked).
        try:
            incident: Incident | None = store.incident(incident_id)
        except DamagedRecordError:
            incident = None
        if partner is not None and incident is not None:
            _check_partner(store, incident_id, partner, incident)
        options = {"--partner": partner, "--phase": phase and str(phase)}
        read = AuditReadRequest(
            command=AuditCommand.TIMELINE,
            incident_key=incident_id,
            options={name: value for name, value in options.items() if value},
            output_format=str(output),
        )
        # Recorded before the timeline is read: the timeline shows its own read last.
        record_read(store, reader, read)
        rows = store.timeline(incident_id, partner=partner, phase=phase)
        damages = store.timeline_damages(incident_id)
    if output is Format.JSON:
        typer.echo(json.dumps([_json(row) for row in rows], ensure_ascii=False, indent=2))
    elif output is Format.CSV:
        _write_csv(rows)
    else:
        print_table(console(), _table(incident_id, rows))
    for damage in damages:
        typer.echo(f"warning: {_stops(damage)}", err=True)


def _stops(damage: TimelineDamage) -> str:
    """Where the timeline stops for a damaged stream, in the damage's own words."""
    return (
        f"{damage.error()}; the timeline shows this stream only up to version {damage.version - 1}"
    )


def _check_partner(
    store: LotseApplication, incident_id: str, partner: str, incident: Incident
) -> None:
    """A partner the incident's agreement does not name would only give an empty timeline."""
    partners = store.agreement_of(incident).partners
    if partner not in partners:
        raise CliError(
            f"--partner '{partner}' is not a partner of incident '{incident_id}' "
            f"(partners: {', '.join(partners)})"
        )


def _table(incident_id: str, rows: list[TimelineRow]) -> Table:
    table = Table(title=f"timeline of incident {incident_id} (times Europe/Berlin)")
    whole(table, "recorded", "business time", "phase", "actor", "on behalf of", "channel")
    whole(table, "person", "event")
    folded(table, "details")
    for row in rows:
        table.add_row(
            cli_time(row.recorded_at),
            cli_time(row.business_time),
            row.phase,
            f"{row.partner_id}/{row.staff_ref}",
            row.on_behalf_of or "",
            row.channel,
            row.person_ref or "",
            row.event,
            describe_details(row.facts()),
        )
    return table


def _json(row: TimelineRow) -> dict[str, Any]:
    return {
        "seq": row.seq,
        "recorded_at": row.recorded_at.isoformat(),
        "business_time": row.business_time.isoformat(),
        "phase": row.phase,
        "actor": {"partner_id": row.partner_id, "staff_ref": row.staff_ref},
        "on_behalf_of": row.on_behalf_of,
        "channel": row.channel,
        "person_ref": row.person_ref,
        "version": row.version,
        "event": row.event,
        "details": row.facts(),
    }


def _write_csv(rows: list[TimelineRow]) -> None:
    writer = csv.writer(sys.stdout, delimiter=CSV_DELIMITER, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow(
            (
                row.seq,
                cli_time(row.recorded_at),
                cli_time(row.business_time),
                row.phase,
                row.partner_id,
                row.staff_ref,
                row.on_behalf_of or "",
                row.channel,
                row.person_ref or "",
                row.version,
                row.event,
                describe_details(row.facts()),
            )
        )
