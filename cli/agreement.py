"""`lotse agreement load|show`: bring the agreement file into the record, and read it back.

Loading is idempotent: identical terms record nothing, changed terms record what changed, so
every incident can be replayed against the terms it ran under.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import (
    cli_context,
    console,
    invocation_settings,
    open_application,
    reports_errors,
    validated,
)
from cli.render import folded, print_table, print_text, whole
from contracts.agreement import AgreementTerms, ContactPoint, load_agreement_file
from contracts.messages import Actor, OperatorAction
from contracts.vocabulary import COMMISSIONER_PARTNER_ID
from domain.agreement import Agreement
from domain.application import AgreementLoaded
from settings import Settings

app = typer.Typer(help="The cooperation agreement: load the file into the record, show it.")

LOADER_STAFF_REF = "lotse-cli"


def load_into_store(settings: Settings, terms: AgreementTerms, actor: Actor) -> AgreementLoaded:
    """Record `terms` as the agreement in force (nothing if unchanged)."""
    with open_application(settings) as store:
        return store.load_agreement(terms, cli_context(actor))


def describe_load(result: AgreementLoaded) -> list[str]:
    """What a load did, as lines for the operator."""
    if not result.changes:
        return [f"agreement {result.agreement_key} unchanged (version {result.revision})"]
    return [
        f"agreement {result.agreement_key} loaded: version {result.revision}",
        *(f"  {change}" for change in result.changes),
    ]


@app.command("load")
@reports_errors
def load(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE", help="The agreement file (TOML); default: LOTSE_AGREEMENT_FILE."
        ),
    ] = None,
    staff: Annotated[
        str,
        typer.Option("--staff", metavar="STAFF", help="Your staff reference or role (not a name)."),
    ] = LOADER_STAFF_REF,
    acting_partner: Annotated[
        str, typer.Option("--as", metavar="PARTNER", help="The partner you act for.")
    ] = COMMISSIONER_PARTNER_ID,
) -> None:
    """Load the agreement file into the event store; print the version and what changed."""
    settings = invocation_settings(ctx)
    path = file or settings.agreement_file
    # Checked as an operator's action: a name or Lotse's own identity is refused here too.
    actor = validated(
        OperatorAction,
        {"actor": {"partner_id": acting_partner, "staff_ref": staff}, "channel": "cli"},
        "actor",
    ).actor
    result = load_into_store(settings, load_agreement_file(path), actor)
    for line in describe_load(result):
        typer.echo(line)
    if result.agreement_key != settings.agreement_id:
        typer.echo(
            f"note: incidents are declared under agreement '{settings.agreement_id}' "
            "(LOTSE_AGREEMENT_ID), not this one",
            err=True,
        )


@app.command("show")
@reports_errors
def show(
    ctx: typer.Context,
    version: Annotated[
        int | None,
        typer.Option(
            "--version",
            metavar="N",
            min=1,
            help="Show the terms as they were at this version (1 = the first load).",
        ),
    ] = None,
) -> None:
    """Show the agreement in force (or at --version): title, label, final escalation contact
    and each partner's terms."""
    settings = invocation_settings(ctx)
    with open_application(settings, reading=True) as store:
        if version is None:
            agreement = store.agreement(settings.agreement_id)
        else:
            agreement = store.agreement_at_revision(settings.agreement_id, version)
    out = console()
    print_text(out, agreement.title)
    print_text(
        out,
        f"id {agreement.agreement_key} · label {agreement.label or '—'} · "
        f"version {agreement.revision} · escalation step {agreement.escalation_step_minutes} min",
    )
    print_text(out, f"final escalation: {final_escalation_line(agreement)}")
    print_table(out, partners_table(agreement))


def final_escalation_line(agreement: Agreement) -> str:
    """Who is alerted last when the Commissioner's office itself does not answer."""
    final = agreement.final_escalation
    if final is None:
        return "— (not named in this version: the declaring operator's partner is alerted)"
    return f"{final.name} ({_contact(final.contact)})"


def partners_table(agreement: Agreement) -> Table:
    """One row per partner: remit, acknowledgement deadline, contact points."""
    table = Table()
    whole(table, "id")
    folded(table, "name", "remit categories")
    whole(table, "ack deadline", "primary", "deputy")
    for partner in agreement.partners.values():
        table.add_row(
            partner.id,
            partner.name,
            ", ".join(partner.remit.categories),
            f"{partner.ack_deadline_minutes} min",
            _contact(partner.primary),
            _contact(partner.deputy),
        )
    return table


def _contact(point: ContactPoint) -> str:
    return f"{point.channel}: {point.address}"
