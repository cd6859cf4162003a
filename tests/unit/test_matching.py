"""Matching one need of one person to a support offer, and the line that explains the choice."""

from __future__ import annotations

import random
from pathlib import Path

from contracts.agreement import ContactPoint
from contracts.directory_file import load_directory_file
from contracts.offers import (
    DirectoryTerms,
    OfferChoice,
    PassedOver,
    PassReason,
    Provider,
    SupportOffer,
    explain,
    match_offers,
)
from contracts.vocabulary import ContactChannel, NeedCategory, Region

PSYCHOSOCIAL = NeedCategory.PSYCHOSOCIAL
DRESDEN = Region.DRESDEN

COUNSELLING = Provider(id="beratung", name="Beratung e.V.", remit=[PSYCHOSOCIAL])
CLINIC = Provider(id="klinik", name="Klinik", remit=[NeedCategory.MEDICAL])


def offer(
    offer_id: str,
    provider: Provider = COUNSELLING,
    *,
    categories: tuple[NeedCategory, ...] = (PSYCHOSOCIAL,),
    districts: tuple[Region, ...] = (DRESDEN,),
    languages: tuple[str, ...] = ("de",),
    capacity: int = 10,
) -> SupportOffer:
    return SupportOffer(
        id=offer_id,
        provider_id=provider.id,
        name=f"Angebot {offer_id}",
        categories=list(categories),
        districts=list(districts),
        languages=list(languages),
        capacity=capacity,
        contact=ContactPoint(channel=ContactChannel.EMAIL, address=f"{offer_id}@example.org"),
    )


def directory(
    *offers: SupportOffer, providers: tuple[Provider, ...] = (COUNSELLING, CLINIC)
) -> DirectoryTerms:
    """A directory of `offers` as matching receives it. Built without the file's validation:
    matching must hold the remit line on its own, whatever a caller hands it."""
    return DirectoryTerms.model_construct(
        directory_id="test", title="Test", providers=list(providers), offers=list(offers)
    )


def choose(
    *offers: SupportOffer,
    language: str = "de",
    district: Region = DRESDEN,
    taken: dict[str, int] | None = None,
    exclude: tuple[str, ...] = (),
) -> OfferChoice:
    return match_offers(directory(*offers), PSYCHOSOCIAL, district, language, taken, exclude)


def test_an_offer_whose_provider_lacks_the_remit_is_never_picked_though_it_lists_the_need() -> None:
    # The file's validation refuses such an offer; matching holds the line on its own too.
    crossing = offer("klinik-psych", CLINIC, capacity=99)

    choice = choose(crossing, offer("beratung-dd", capacity=1))

    assert [match.offer_id for match in choice.ranked] == ["beratung-dd"]
    assert choice.passed_over == [
        PassedOver(offer_id="klinik-psych", reason=PassReason.OUTSIDE_REMIT)
    ]


def test_an_offer_of_a_provider_not_given_is_passed_over_as_outside_any_remit() -> None:
    stray = offer("fremd", Provider(id="fremd-verein", name="Fremd", remit=[PSYCHOSOCIAL]))

    choice = choose(stray)

    assert choice.best is None
    assert choice.passed_over == [PassedOver(offer_id="fremd", reason=PassReason.OUTSIDE_REMIT)]


def test_an_offer_that_does_not_serve_the_district_is_passed_over_and_statewide_serves_all() -> (
    None
):
    choice = choose(
        offer("leipzig", districts=(Region.LEIPZIG,)),
        offer("land", districts=()),
        district=Region.GOERLITZ,
    )

    assert [match.offer_id for match in choice.ranked] == ["land"]
    assert choice.ranked[0].reasons[1] == "statewide"
    assert choice.passed_over == [
        PassedOver(offer_id="leipzig", reason=PassReason.DISTRICT_NOT_SERVED)
    ]


def test_an_offer_without_a_place_left_is_passed_over() -> None:
    choice = choose(
        offer("closed", capacity=0),
        offer("full", capacity=3),
        offer("open", capacity=3),
        taken={"full": 3, "open": 2},
    )

    assert [(match.offer_id, match.remaining) for match in choice.ranked] == [("open", 1)]
    assert [item.offer_id for item in choice.passed_over] == ["closed", "full"]
    assert {item.reason for item in choice.passed_over} == {PassReason.NO_CAPACITY}


def test_an_offer_taken_beyond_its_capacity_counts_as_none_left() -> None:
    # A revision can lower the capacity below the places already held.
    choice = choose(offer("shrunk", capacity=2), taken={"shrunk": 5})

    assert choice.passed_over == [PassedOver(offer_id="shrunk", reason=PassReason.NO_CAPACITY)]


def test_an_offer_tried_before_for_this_need_is_passed_over_whatever_else_holds() -> None:
    choice = choose(offer("tried", capacity=50), offer("other"), exclude=("tried",))

    assert [match.offer_id for match in choice.ranked] == ["other"]
    assert choice.passed_over == [PassedOver(offer_id="tried", reason=PassReason.ALREADY_TRIED)]


def test_an_offer_in_the_persons_language_ranks_first_then_more_places_then_the_id() -> None:
    choice = choose(
        offer("b-de-big", capacity=40),
        offer("c-ar-small", languages=("de", "ar"), capacity=2),
        offer("a-de-big", capacity=40),
        offer("d-de-small", capacity=5),
        language="ar",
    )

    assert [match.offer_id for match in choice.ranked] == [
        "c-ar-small",
        "a-de-big",
        "b-de-big",
        "d-de-small",
    ]
    assert choice.ranked[0].language_offered
    assert choice.ranked[1].reasons[2] == "does not offer ar (offers de)"


def test_the_choice_does_not_depend_on_the_order_of_offers_or_providers() -> None:
    offers = [
        offer(f"angebot-{n}", capacity=n % 4, languages=("de", "uk") if n % 3 else ("de",))
        for n in range(12)
    ] + [offer("klinik-psych", CLINIC), offer("leipzig", districts=(Region.LEIPZIG,))]
    first = choose(*offers, language="uk", taken={"angebot-5": 1})
    shuffled = list(offers)
    random.Random(7).shuffle(shuffled)

    again = match_offers(
        directory(*shuffled, providers=(CLINIC, COUNSELLING)),
        PSYCHOSOCIAL,
        DRESDEN,
        "uk",
        {"angebot-5": 1},
        (),
    )

    assert again == first
    assert again.explanation() == explain(first)
    assert len(first.ranked) + len(first.passed_over) == len(offers)


def test_the_explanation_names_the_pick_its_reasons_the_others_and_why_the_rest_were_passed() -> (
    None
):
    choice = choose(
        offer("raa", languages=("de", "ar"), capacity=4),
        offer("ohs", capacity=40),
        offer("voll", capacity=1),
        offer("leipzig", districts=(Region.LEIPZIG,)),
        offer("bautzen", districts=(Region.BAUTZEN,)),
        offer("klinik-psych", CLINIC),
        offer("klinik-med", CLINIC, categories=(NeedCategory.MEDICAL,)),
        offer("tried"),
        language="ar",
        taken={"raa": 1, "voll": 1},
        exclude=("tried",),
    )

    assert explain(choice) == (
        "picked raa for psychosocial in dresden (language ar): offers psychosocial within the "
        "remit of beratung; serves dresden; offers ar; 3 of 4 places free. "
        "Also fit, in order: ohs. "
        "Passed over: already tried: tried; 1 category not offered; "
        "provider's remit does not cover it: klinik-psych; 2 district not served; "
        "no capacity left: voll"
    )


def test_the_explanation_says_when_no_offer_fits() -> None:
    choice = choose(offer("weg", districts=(Region.LEIPZIG,)), exclude=())

    assert explain(choice) == (
        "no offer fits psychosocial in dresden (language de). Passed over: 1 district not served"
    )


def test_the_shipped_directory_sends_an_arabic_speaker_in_dresden_to_raa_support() -> None:
    shipped = load_directory_file(
        Path(__file__).resolve().parents[2] / "agreements" / "support-offers.toml"
    )

    choice = match_offers(shipped, PSYCHOSOCIAL, DRESDEN, "ar")
    financial = match_offers(shipped, NeedCategory.FINANCIAL, Region.OUTSIDE_SAXONY, "en")

    assert choice.best is not None
    assert choice.best.offer_id == "raa-support-dresden"
    assert [match.offer_id for match in financial.ranked] == [
        "bfj-haerteleistungen",
        "ksv-fallmanagement",
    ]
