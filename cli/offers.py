"""`lotse offers load|show`: bring the directory of support offers into the record, and read it.

Loading is idempotent: identical terms record nothing, changed terms record what changed. A
directory is checked against the agreement in the record (LOTSE_AGREEMENT_ID), so load the
agreement first. `show` with a need (`--category`, `--district`, `--language`) prints which
offer the need would be referred to now, and why.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer
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
from cli.render import folded, print_table, print_text, whole
from contracts.directory_file import load_directory_file
from contracts.messages import Actor, OperatorAction
from contracts.offers import DirectoryTerms, OfferChoice, explain, match_offers
from contracts.vocabulary import COMMISSIONER_PARTNER_ID, NeedCategory, Region
from domain.offers_app import DirectoryLoaded
from settings import Settings

app = typer.Typer(help="The directory of support offers: load the file, show it, match a need.")

LOADER_STAFF_REF = "lotse-cli"
LANGUAGE = re.compile(r"[a-z]{2,3}")


def load_into_store(settings: Settings, terms: DirectoryTerms, actor: Actor) -> DirectoryLoaded:
    """Record `terms` as the directory in force (nothing if unchanged), checked against the
    agreement the settings name."""
    with open_application(settings) as store:
        return store.load_directory(terms, cli_context(actor), agreement_key=settings.agreement_id)


def describe_load(result: DirectoryLoaded) -> list[str]:
    """What a load did, as lines for the operator."""
    if not result.changes:
        return [f"directory {result.directory_key} unchanged (version {result.revision})"]
    return [
        f"directory {result.directory_key} loaded: version {result.revision}",
        *(f"  {change}" for change in result.changes),
    ]


@app.command("load")
@reports_errors
def load(
    ctx: typer.Context,
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE", help="The directory file (TOML); default: LOTSE_SUPPORT_OFFERS_FILE."
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
    """Load the directory file into the event store; print the version and what changed."""
    settings = invocation_settings(ctx)
    actor = validated(
        OperatorAction,
        {"actor": {"partner_id": acting_partner, "staff_ref": staff}, "channel": "cli"},
        "actor",
    ).actor
    terms = load_directory_file(file or settings.support_offers_file)
    for line in describe_load(load_into_store(settings, terms, actor)):
        typer.echo(line)
    if terms.directory_id != settings.directory_id:
        typer.echo(
            f"note: referrals are matched against directory '{settings.directory_id}' "
            "(LOTSE_DIRECTORY_ID), not this one",
            err=True,
        )


@app.command("show")
@reports_errors
def show(
    ctx: typer.Context,
    category: Annotated[
        NeedCategory | None,
        typer.Option("--category", metavar="CATEGORY", help="A need category, e.g. psychosocial."),
    ] = None,
    district: Annotated[
        Region | None,
        typer.Option(
            "--district", metavar="DISTRICT", help="Where the person lives, e.g. dresden."
        ),
    ] = None,
    language: Annotated[
        str,
        typer.Option("--language", metavar="LANG", help="Preferred language (ISO 639), e.g. ar."),
    ] = "de",
) -> None:
    """Show the directory in force with the places free at each offer; with --category and
    --district, the offers that fit that need, best first, and why."""
    settings = invocation_settings(ctx)
    if (category is None) != (district is None):
        raise CliError("to match a need give both --category and --district (--language: de)")
    if not LANGUAGE.fullmatch(language):
        raise CliError(f"--language: '{language}' is not an ISO 639 code such as de, en, ar, uk")
    with open_application(settings, reading=True) as store:
        terms = store.directory(settings.directory_id).terms
        taken = store.places_taken(offer.id for offer in terms.offers)
    out = console()
    if category is None or district is None:
        print_text(out, f"{terms.title} (directory {terms.directory_id})")
        print_table(out, offers_table(terms, taken))
        return
    choice = match_offers(terms, category, district, language, taken)
    if choice.ranked:
        print_table(out, choice_table(choice))
    print_text(out, explain(choice))


def offers_table(terms: DirectoryTerms, taken: Mapping[str, int]) -> Table:
    """One row per offer: provider, needs, districts, languages, places free, contact."""
    table = Table()
    whole(table, "offer", "provider")
    folded(table, "categories", "districts")
    whole(table, "languages", "free", "contact")
    for offer in terms.offers:
        free = max(offer.capacity - taken.get(offer.id, 0), 0)
        table.add_row(
            offer.id,
            offer.provider_id,
            ", ".join(offer.categories),
            ", ".join(offer.districts) or "statewide",
            ", ".join(offer.languages),
            f"{free} of {offer.capacity}",
            f"{offer.contact.channel}: {offer.contact.address}",
        )
    return table


def choice_table(choice: OfferChoice) -> Table:
    """The offers that fit, best first."""
    table = Table(title=f"offers for {choice.category} in {choice.district}, best first")
    whole(table, "rank", "offer", "provider", "free")
    folded(table, "why")
    for rank, match in enumerate(choice.ranked, start=1):
        table.add_row(
            str(rank),
            match.offer_id,
            match.provider_id,
            str(match.remaining),
            "; ".join(match.reasons),
        )
    return table
