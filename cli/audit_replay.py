"""`lotse audit replay INCIDENT --at TIME | --version N`: the incident as the record held it then.

Reads the event store only (works while Temporal is down) and writes one thing: the read itself,
recorded with the auditor (`--as`, `--staff`) before the replay is shown (cli/audit_reads.py).
Which time counts is the recorded time of each step (domain/replay.py, docs/record.md).
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cli.audit_reads import AuditorOpt, AuditStaffOpt, auditor, record_read
from cli.common import (
    console,
    invocation_settings,
    open_application,
    parse_moment,
    reports_errors,
)
from cli.render import folded, phase_words, print_table, print_text, whole
from contracts.accountability import AuditCommand, AuditReadRequest
from contracts.vocabulary import cli_time
from domain.replay import IncidentReplay, PersonThen, replay_at_moment, replay_at_version


@reports_errors
def replay(
    ctx: typer.Context,
    incident_id: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")],
    partner: AuditorOpt,
    staff: AuditStaffOpt,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            metavar="TIME",
            help="A moment: ISO 8601 (2026-12-05T14:30, 2026-12-05T14:30+01:00) or "
            "05.12.2026 14:30; Europe/Berlin unless an offset is given. Each part of the record "
            "stands at its last step recorded at or before it.",
        ),
    ] = None,
    version: Annotated[
        int | None,
        typer.Option("--version", min=1, help="The incident's version (its Nth event)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the replay as JSON.")] = False,
) -> None:
    """The incident as it was at a moment or a version: phase, alerts, needs, assignments,
    people, consents, referrals, and the agreement and directory of offers in force then."""
    if (at is None) == (version is None):
        raise typer.BadParameter("give either --at TIME or --version N", param_hint="'--at'")
    moment = parse_moment("--at", at)
    reader = auditor(partner, staff)
    settings = invocation_settings(ctx)
    with open_application(settings, reading=True) as store:
        if moment is not None:
            found = replay_at_moment(store, incident_id, moment, settings.directory_id)
        else:
            assert version is not None  # one of the two, checked above
            found = replay_at_version(store, incident_id, version, settings.directory_id)
        options = {"--at": at} if at is not None else {"--version": str(version)}
        read = AuditReadRequest(
            command=AuditCommand.REPLAY,
            incident_key=incident_id,
            options=options,
            output_format="json" if as_json else "text",
        )
        record_read(store, reader, read)  # before anything is shown
    if as_json:
        typer.echo(found.model_dump_json(indent=2))
    else:
        print_replay(console(), found)


def print_replay(out: Console, found: IncidentReplay) -> None:
    """The replay as sections: heading, alerts, needs, people, agreement, directory."""
    asked = f"at {cli_time(found.asked)}" if found.asked else f"at version {found.version}"
    print_text(out, f"incident {found.incident_key}: {found.title} — as recorded {asked}")
    print_text(
        out,
        f"version {found.version}, its last step recorded {cli_time(found.moment)} "
        "(times Europe/Berlin)",
    )
    print_text(
        out,
        f"phase {phase_words(found.phase)} · declared {cli_time(found.declared_at)} under "
        f"agreement version {found.declared_under_revision or '—'}",
    )
    print_table(out, _alerts(found))
    if found.needs:
        print_table(out, _needs(found))
    if found.reflection_due_at is not None:
        print_text(out, f"reflection due {cli_time(found.reflection_due_at)}")
    if found.call_off_reason is not None:
        print_text(out, f"called off: {found.call_off_reason}")
    print_text(out, f"people: {len(found.people)} registered by then")
    if found.people:
        print_table(out, _people(found.people))
    _print_agreement(out, found)
    _print_directory(out, found)


def _alerts(found: IncidentReplay) -> Table:
    table = Table(title="alerts")
    whole(table, "partner", "state", "step", "acknowledged", "entered", "late")
    for alert in found.alerts:
        table.add_row(
            alert.partner_id,
            alert.state,
            alert.step,
            cli_time(alert.acknowledged_at),
            cli_time(alert.entered_at),
            "late" if alert.late else "",
        )
    return table


def _needs(found: IncidentReplay) -> Table:
    table = Table(title="needs reported")
    whole(table, "category")
    folded(table, "by region")
    whole(table, "assigned to")
    for need in found.needs:
        regions = ", ".join(f"{region}: {count}" for region, count in need.by_region.items())
        table.add_row(need.category, regions, need.assigned_to or "— not assigned")
    return table


def _people(people: list[PersonThen]) -> Table:
    table = Table(title="people")
    whole(table, "person", "version", "involvement", "registered by", "case")
    folded(table, "consents", "needs", "referrals")
    for person in people:
        table.add_row(
            person.person_ref,
            str(person.version),
            person.involvement,
            person.registered_by,
            "erased"
            if person.erased
            else (f"closed: {person.closed}" if person.closed else "open"),
            ", ".join(
                f"{c.recipient} (withdrawn {cli_time(c.withdrawn_at)})"
                if c.withdrawn_at
                else c.recipient
                for c in person.consents
            ),
            ", ".join(f"{need.category}: {need.status}" for need in person.needs),
            ", ".join(
                f"{r.referral_id} {r.category} → {r.offer_id}: {r.status}" for r in person.referrals
            ),
        )
    return table


def _case(person: PersonThen) -> str:
    if person.erased:
        return "erased"
    return f"closed: {person.closed}" if person.closed else "open"


def _print_agreement(out: Console, found: IncidentReplay) -> None:
    agreement = found.agreement
    if agreement is None:
        print_text(out, "agreement in force: none recorded by then")
        return
    print_text(
        out,
        f"agreement in force: {agreement.agreement_key} version {agreement.revision} "
        f"(aggregate version {agreement.version}) · partners: {', '.join(agreement.partner_ids)}",
    )


def _print_directory(out: Console, found: IncidentReplay) -> None:
    directory = found.directory
    if directory is None:
        print_text(out, "directory of support offers in force: none recorded by then")
        return
    print_text(
        out,
        f"directory of support offers in force: {directory.directory_key} version "
        f"{directory.revision} (aggregate version {directory.version}), "
        f"{len(directory.offers)} offers",
    )
    table = Table(title="offers")
    whole(table, "offer", "provider", "capacity")
    folded(table, "categories", "districts")
    for offer in directory.offers:
        table.add_row(
            offer.offer_id,
            offer.provider_id,
            str(offer.capacity),
            ", ".join(offer.categories),
            ", ".join(offer.districts) or "statewide",
        )
    print_table(out, table)
