"""The directory file: the shipped one loads and fits the agreement; a malformed one is refused.

Each refusal names the file, the offer (or provider) and the problem; broken files live in
`tmp_path`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts.agreement import AgreementTerms
from contracts.directory_file import DirectoryFileError, load_directory_file
from contracts.offers import DirectoryTerms, partner_problems
from contracts.vocabulary import ContactChannel, NeedCategory, Region

REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED = REPO_ROOT / "agreements" / "support-offers.toml"

VALID = """\
directory_id = "hilfsangebote-test"
title = "Hilfsangebote (Test)"

[[providers]]
id = "opferhilfe-sachsen"
name = "Opferhilfe Sachsen e.V."
partner = true
remit = ["psychosocial", "legal"]

[[providers]]
id = "traumaambulanz-test"
name = "Traumaambulanz (Test)"
remit = ["psychosocial", "medical"]

[[offers]]
id = "ohs-dresden"
provider_id = "opferhilfe-sachsen"
name = "Beratungsstelle Dresden"
categories = ["psychosocial", "legal"]
districts = ["dresden"]
languages = ["de", "en"]
capacity = 10
contact = { channel = "email", address = "dresden@opferhilfe-sachsen.example.org" }

[[offers]]
id = "ambulanz-dresden"
provider_id = "traumaambulanz-test"
name = "Traumaambulanz Dresden"
categories = ["medical"]
languages = ["de"]
capacity = 5
contact = { channel = "email", address = "ambulanz@klinikum.example.org" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "offers.toml"
    path.write_text(text, encoding="utf-8")
    return path


def replaced(old: str, new: str) -> str:
    assert VALID.count(old) == 1, f"the template must contain {old!r} exactly once"
    return VALID.replace(old, new)


def refusal(path: Path, *problem: str) -> str:
    """A pattern for a message that starts with the file's path and names each part in order."""
    return re.escape(str(path)) + ": " + ".*".join(re.escape(part) for part in problem)


def test_the_template_of_these_tests_is_itself_valid(tmp_path: Path) -> None:
    terms = load_directory_file(write(tmp_path, VALID))

    assert [offer.id for offer in terms.offers] == ["ohs-dresden", "ambulanz-dresden"]
    assert terms.offer("ambulanz-dresden").districts == []


def test_an_offer_outside_its_providers_remit_is_refused_naming_offer_and_category(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path, replaced('categories = ["medical"]', 'categories = ["medical", "legal"]')
    )

    with pytest.raises(DirectoryFileError) as refused:
        load_directory_file(path)

    assert str(refused.value) == (
        f"{path}: offers: offer 'ambulanz-dresden': legal is outside the remit of provider "
        "'traumaambulanz-test' (psychosocial, medical); the agreement creates no new "
        "responsibilities"
    )


def test_an_offer_of_an_unknown_provider_is_refused_naming_both(tmp_path: Path) -> None:
    path = write(tmp_path, replaced('provider_id = "traumaambulanz-test"', 'provider_id = "x-y"'))

    with pytest.raises(
        DirectoryFileError, match=refusal(path, "offers: offer 'ambulanz-dresden'")
    ) as e:
        load_directory_file(path)

    assert "provider 'x-y' is not in the directory" in str(e.value)
    assert "(providers: opferhilfe-sachsen, traumaambulanz-test)" in str(e.value)


def test_repeated_offer_ids_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, replaced('id = "ambulanz-dresden"', 'id = "ohs-dresden"'))

    with pytest.raises(
        DirectoryFileError,
        match=refusal(path, "offers: offer ids must be unique; repeated: ohs-dresden"),
    ):
        load_directory_file(path)


def test_repeated_provider_ids_are_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        replaced('\nid = "traumaambulanz-test"', '\nid = "opferhilfe-sachsen"'),
    )

    with pytest.raises(
        DirectoryFileError,
        match=refusal(path, "providers: provider ids must be unique; repeated: opferhilfe-sachsen"),
    ):
        load_directory_file(path)


def test_an_offer_id_that_is_a_providers_id_is_refused(tmp_path: Path) -> None:
    # Consent names its recipient by id: one id for two recipients would share a consent.
    path = write(tmp_path, replaced('id = "ambulanz-dresden"', 'id = "traumaambulanz-test"'))

    with pytest.raises(
        DirectoryFileError,
        match=refusal(path, "offers: offer 'traumaambulanz-test': its id is also a provider's id"),
    ):
        load_directory_file(path)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("capacity = 5", "capacity = -1", "capacity: Input should be greater than or equal to 0"),
        ('languages = ["de"]', "languages = []", "languages: List should have at least 1 item"),
        ('languages = ["de"]', 'languages = ["Deutsch"]', "languages[0]: String should match"),
        ('categories = ["medical"]', 'categories = ["hugs"]', "categories[0]: Input should be"),
        (
            'address = "ambulanz@klinikum.example.org"',
            'address = "Station 3"',
            "'Station 3' is not an e-mail address",
        ),
    ],
)
def test_a_bad_field_of_an_offer_is_refused_naming_the_offer_by_id(
    tmp_path: Path, old: str, new: str, problem: str
) -> None:
    path = write(tmp_path, replaced(old, new))

    with pytest.raises(
        DirectoryFileError, match=refusal(path, "offers[1] (offer 'ambulanz-dresden').", problem)
    ):
        load_directory_file(path)


def test_a_district_that_is_not_a_region_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, replaced('districts = ["dresden"]', 'districts = ["Dresden-Nord"]'))

    with pytest.raises(
        DirectoryFileError,
        match=refusal(path, "offers[0] (offer 'ohs-dresden').districts[0]: Input should be"),
    ):
        load_directory_file(path)


def test_an_unknown_field_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, replaced("capacity = 5", "capacity = 5\nphone = '+49 351 555 0100'"))

    with pytest.raises(
        DirectoryFileError,
        match=refusal(path, "offers[1] (offer 'ambulanz-dresden').phone: Extra inputs"),
    ):
        load_directory_file(path)


def test_a_missing_file_and_a_file_that_is_not_toml_are_refused_naming_the_file(
    tmp_path: Path,
) -> None:
    with pytest.raises(DirectoryFileError, match=refusal(tmp_path / "none.toml", "no such file")):
        load_directory_file(tmp_path / "none.toml")
    broken = write(tmp_path, "directory_id = \n")
    with pytest.raises(DirectoryFileError, match=refusal(broken, "not valid TOML")):
        load_directory_file(broken)


# --- the directory against the agreement ------------------------------------------------------


def test_a_partner_provider_that_claims_more_than_the_agreement_gives_it_is_named(
    tmp_path: Path, agreement_terms: AgreementTerms
) -> None:
    terms = load_directory_file(
        write(
            tmp_path,
            replaced(
                'remit = ["psychosocial", "legal"]',
                'remit = ["psychosocial", "legal", "financial"]',
            ),
        )
    )

    assert partner_problems(terms, "kooperation", agreement_terms.partners) == [
        "provider 'opferhilfe-sachsen': financial is outside its remit in agreement "
        "'kooperation' (psychosocial, legal, information, practical); the agreement creates no "
        "new responsibilities"
    ]


def test_a_provider_marked_partner_must_be_a_partner_and_a_partner_must_be_marked(
    tmp_path: Path, agreement_terms: AgreementTerms
) -> None:
    (tmp_path / "unmarked").mkdir()
    (tmp_path / "stranger").mkdir()
    unmarked = load_directory_file(
        write(tmp_path / "unmarked", VALID.replace("traumaambulanz-test", "weisser-ring"))
    )
    stranger = load_directory_file(
        write(tmp_path / "stranger", VALID.replace("opferhilfe-sachsen", "verein-x"))
    )

    assert partner_problems(unmarked, "kooperation", agreement_terms.partners) == [
        "provider 'weisser-ring' is a partner of agreement 'kooperation'; mark it partner = true"
    ]
    assert partner_problems(stranger, "kooperation", agreement_terms.partners) == [
        "provider 'verein-x' is marked partner but is not a partner of agreement 'kooperation' "
        "(partners: opferbeauftragte, opferhilfe-sachsen, raa-sachsen, weisser-ring)"
    ]


# --- the shipped file --------------------------------------------------------------------------


@pytest.fixture
def shipped() -> DirectoryTerms:
    return load_directory_file(SHIPPED)


def test_the_shipped_directory_fits_the_shipped_agreement(
    shipped: DirectoryTerms, agreement_terms: AgreementTerms
) -> None:
    partners = [provider.id for provider in shipped.providers if provider.partner]

    assert partner_problems(shipped, agreement_terms.agreement_id, agreement_terms.partners) == []
    assert partners == ["opferhilfe-sachsen", "weisser-ring", "raa-sachsen"]


def test_every_district_has_a_psychosocial_offer_in_the_shipped_directory(
    shipped: DirectoryTerms,
) -> None:
    for district in Region:
        if district is Region.OUTSIDE_SAXONY:
            continue
        serving = [
            offer.id
            for offer in shipped.offers
            if NeedCategory.PSYCHOSOCIAL in offer.categories and offer.serves(district)
        ]
        assert len(serving) >= 2, f"{district}: {serving}"


def test_the_shipped_directory_reaches_offices_under_example_org_in_the_named_languages(
    shipped: DirectoryTerms,
) -> None:
    for offer in shipped.offers:
        assert offer.contact.channel is ContactChannel.EMAIL
        assert offer.contact.address.rpartition("@")[2].endswith(".example.org")
    raa = [offer for offer in shipped.offers if offer.provider_id == "raa-sachsen"]
    assert len(raa) == 3
    for offer in raa:
        assert {"ar", "ru", "uk", "en", "tr"} <= set(offer.languages)
    hardship = shipped.offer("bfj-haerteleistungen")
    assert (hardship.categories, hardship.districts, hardship.languages) == (
        [NeedCategory.FINANCIAL],
        [],
        ["de", "en"],
    )
