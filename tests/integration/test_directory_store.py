"""The directory and the places at each offer in the record, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bootstrap import build_application
from contracts.agreement import AgreementTerms
from contracts.directory_file import load_directory_file
from contracts.offers import DirectoryTerms
from domain import ids
from domain.application import LotseApplication
from domain.errors import (
    AgreementNotFoundError,
    DirectoryConflictError,
    DirectoryNotFoundError,
    OfferFullError,
)
from settings import Settings
from tests.conftest import MakeCtx

SHIPPED = Path(__file__).resolve().parents[2] / "agreements" / "support-offers.toml"
AGREEMENT = "kooperation-opferhilfe-sachsen"


@pytest.fixture
def app(store_settings: Settings) -> Iterator[LotseApplication]:
    application = build_application(store_settings)
    yield application
    application.close()


@pytest.fixture
def directory_terms() -> DirectoryTerms:
    return load_directory_file(SHIPPED)


@pytest.fixture
def with_agreement(
    app: LotseApplication, agreement_terms: AgreementTerms, make_ctx: MakeCtx
) -> LotseApplication:
    app.load_agreement(agreement_terms, make_ctx())
    return app


def revised(terms: DirectoryTerms, **offer_changes: object) -> DirectoryTerms:
    """`terms` with the first offer changed, the last one withdrawn and one provider gone."""
    data = terms.model_dump(mode="json")
    data["offers"][0].update(offer_changes)
    withdrawn = data["offers"].pop()
    data["offers"] = [o for o in data["offers"] if o["provider_id"] != withdrawn["provider_id"]]
    data["providers"] = [p for p in data["providers"] if p["id"] != withdrawn["provider_id"]]
    return DirectoryTerms.model_validate(data)


def test_loading_the_directory_records_every_provider_and_offer_and_reads_back_the_same_terms(
    with_agreement: LotseApplication, directory_terms: DirectoryTerms, make_ctx: MakeCtx
) -> None:
    loaded = with_agreement.load_directory(directory_terms, make_ctx(), agreement_key=AGREEMENT)

    directory = with_agreement.directory("hilfsangebote-sachsen")
    assert loaded.revision == 1
    assert loaded.changes[:2] == [
        "provider added: opferhilfe-sachsen",
        "provider added: weisser-ring",
    ]
    assert loaded.changes[-1] == "revised: 19 offers of 8 providers"
    assert directory.terms == directory_terms
    assert directory.terms.digest() == directory_terms.digest()


def test_loading_the_same_directory_again_records_nothing(
    with_agreement: LotseApplication, directory_terms: DirectoryTerms, make_ctx: MakeCtx
) -> None:
    first = with_agreement.load_directory(directory_terms, make_ctx(), agreement_key=AGREEMENT)

    again = with_agreement.load_directory(directory_terms, make_ctx(), agreement_key=AGREEMENT)

    assert again.changes == []
    assert (again.revision, again.aggregate_version) == (1, first.aggregate_version)
    assert with_agreement.directory("hilfsangebote-sachsen").version == first.aggregate_version


def test_a_revised_directory_records_what_changed_and_the_earlier_version_replays(
    with_agreement: LotseApplication, directory_terms: DirectoryTerms, make_ctx: MakeCtx
) -> None:
    first = with_agreement.load_directory(directory_terms, make_ctx(), agreement_key=AGREEMENT)
    changed = revised(directory_terms, capacity=12)

    second = with_agreement.load_directory(changed, make_ctx(), agreement_key=AGREEMENT)

    assert second.revision == 2
    assert second.changes == [
        "offer changed: ohs-dresden",
        "offer withdrawn: bfj-haerteleistungen",
        "provider removed: bundesamt-fuer-justiz",
        "revised: 18 offers of 7 providers",
    ]
    now = with_agreement.directory("hilfsangebote-sachsen")
    before = with_agreement.directory("hilfsangebote-sachsen", version=first.aggregate_version)
    assert now.terms.offer("ohs-dresden").capacity == 12
    assert before.terms == directory_terms
    assert (now.revision, before.revision) == (2, 1)


def test_a_directory_whose_partner_claims_more_than_the_agreement_gives_is_refused_unrecorded(
    with_agreement: LotseApplication, directory_terms: DirectoryTerms, make_ctx: MakeCtx
) -> None:
    data = directory_terms.model_dump(mode="json")
    data["providers"][0]["remit"].append("financial")  # Opferhilfe Sachsen: not in its remit

    with pytest.raises(DirectoryConflictError, match="provider 'opferhilfe-sachsen': financial"):
        with_agreement.load_directory(
            DirectoryTerms.model_validate(data), make_ctx(), agreement_key=AGREEMENT
        )
    with pytest.raises(DirectoryNotFoundError, match="run `lotse offers load`"):
        with_agreement.directory("hilfsangebote-sachsen")


def test_a_directory_cannot_be_loaded_before_its_agreement(
    app: LotseApplication, directory_terms: DirectoryTerms, make_ctx: MakeCtx
) -> None:
    with pytest.raises(AgreementNotFoundError, match="run `lotse agreement load`"):
        app.load_directory(directory_terms, make_ctx(), agreement_key=AGREEMENT)


# --- places at an offer ------------------------------------------------------------------------


def test_taking_a_place_twice_for_one_referral_holds_one_place(
    app: LotseApplication, make_ctx: MakeCtx
) -> None:
    first = app.take_place("ohs-dresden", "case-1/psychosocial/1", make_ctx())
    repeated = app.take_place("ohs-dresden", "case-1/psychosocial/1", make_ctx())
    other = app.take_place("ohs-dresden", "case-2/psychosocial/1", make_ctx())

    assert (first, repeated, other) == (1, 1, 2)
    assert app.places_taken(["ohs-dresden", "wr-dresden"]) == {"ohs-dresden": 2, "wr-dresden": 0}


def test_releasing_gives_the_place_back_once_and_an_unknown_referral_changes_nothing(
    app: LotseApplication, make_ctx: MakeCtx
) -> None:
    app.take_place("raa-support-dresden", "case-1/legal/1", make_ctx())
    app.take_place("raa-support-dresden", "case-2/legal/1", make_ctx())
    events_before = _events(app, "raa-support-dresden")

    released = app.release_place("raa-support-dresden", "case-1/legal/1", make_ctx())
    again = app.release_place("raa-support-dresden", "case-1/legal/1", make_ctx())
    unknown = app.release_place("raa-support-dresden", "case-9/legal/1", make_ctx())
    never = app.release_place("ohs-goerlitz", "case-1/legal/1", make_ctx())

    assert (released, again, unknown, never) == (1, 1, 1, 0)
    assert _events(app, "raa-support-dresden") == [*events_before, "PlaceReleased"]
    assert app.places_taken(["ohs-goerlitz"]) == {"ohs-goerlitz": 0}


def test_a_place_beyond_the_capacity_is_refused_but_a_held_one_is_still_confirmed(
    app: LotseApplication, make_ctx: MakeCtx
) -> None:
    app.take_place("ohs-bautzen", "case-1/psychosocial/1", make_ctx(), capacity=1)

    with pytest.raises(OfferFullError, match=r"'ohs-bautzen' has no place left \(1 of 1 taken\)"):
        app.take_place("ohs-bautzen", "case-2/psychosocial/1", make_ctx(), capacity=1)
    held = app.take_place("ohs-bautzen", "case-1/psychosocial/1", make_ctx(), capacity=1)

    assert held == 1
    assert _events(app, "ohs-bautzen") == ["LedgerOpened", "PlaceTaken"]


def test_referrals_taking_places_at_once_never_exceed_the_capacity(
    app: LotseApplication, make_ctx: MakeCtx
) -> None:
    def take(n: int) -> bool:
        try:
            app.take_place("wr-leipzig", f"case-{n}/financial/1", make_ctx(), capacity=5)
        except OfferFullError:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(take, range(12)))

    assert outcomes.count(True) == 5
    assert app.places_taken(["wr-leipzig"]) == {"wr-leipzig": 5}


def _events(app: LotseApplication, offer_id: str) -> list[str]:
    return [type(event).__name__ for event in app.events.get(ids.offer_load_id(offer_id))]
