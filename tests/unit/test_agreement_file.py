"""The agreement file: the shipped one loads; a malformed one is refused.

The refusal names the file, the field and the problem; each broken file lives in `tmp_path`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from contracts.agreement import (
    AgreementFileError,
    AgreementTerms,
    ContactPoint,
    load_agreement_file,
)
from contracts.vocabulary import COMMISSIONER_PARTNER_ID, ContactChannel

# Two partners are enough to break one field at a time; partners[1] is the one that is broken.
VALID = """\
agreement_id = "kooperation-test"
title = "Kooperationsvereinbarung (Test)"
label = "2026-11"
escalation_step_minutes = 30

[final_escalation]
name = "Lagezentrum des Innenministeriums (Test)"
contact = { channel = "email", address = "lagezentrum@smi.example.org" }

[[partners]]
id = "opferbeauftragte"
name = "Opferbeauftragte der Sächsischen Staatsregierung"
ack_deadline_minutes = 30
remit = { categories = ["information"], tasks = ["coordination"] }
primary = { channel = "email", address = "lagedienst@opferbeauftragte.example.org" }
deputy = { channel = "email", address = "vertretung@opferbeauftragte.example.org" }

[[partners]]
id = "opferhilfe-sachsen"
name = "Opferhilfe Sachsen e.V."
ack_deadline_minutes = 60
remit = { categories = ["psychosocial", "legal"] }
primary = { channel = "email", address = "bereitschaft@opferhilfe-sachsen.example.org" }
deputy = { channel = "webhook", address = "https://opferhilfe-sachsen.example.org/lotse" }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agreement.toml"
    path.write_text(text, encoding="utf-8")
    return path


def replaced(old: str, new: str) -> str:
    assert VALID.count(old) == 1, f"the template must contain {old!r} exactly once"
    return VALID.replace(old, new)


def refusal(path: Path, *problem: str) -> str:
    """A pattern for a message that starts with the file's path and names each part in order."""
    return re.escape(str(path)) + ": " + ".*".join(re.escape(part) for part in problem)


def test_the_shipped_agreement_has_the_four_partners_of_the_saxon_agreement(
    agreement_terms: AgreementTerms,
) -> None:
    assert [partner.id for partner in agreement_terms.partners] == [
        COMMISSIONER_PARTNER_ID,
        "opferhilfe-sachsen",
        "weisser-ring",
        "raa-sachsen",
    ]


@pytest.mark.parametrize(
    "partner_id", ["opferbeauftragte", "opferhilfe-sachsen", "weisser-ring", "raa-sachsen"]
)
def test_each_shipped_partner_is_alerted_by_e_mail_under_example_org(
    agreement_terms: AgreementTerms, partner_id: str
) -> None:
    partner = agreement_terms.partner(partner_id)

    for contact in (partner.primary, partner.deputy):
        assert contact.channel is ContactChannel.EMAIL
        assert contact.address.rpartition("@")[2].endswith(".example.org")
    assert partner.primary.address != partner.deputy.address


def test_the_shipped_agreement_names_a_final_escalation_contact_outside_the_office(
    agreement_terms: AgreementTerms,
) -> None:
    office = agreement_terms.partner(COMMISSIONER_PARTNER_ID)
    final = agreement_terms.final_escalation

    assert final.name == "Lagezentrum des Sächsischen Staatsministeriums des Innern"
    assert final.contact == ContactPoint(
        channel=ContactChannel.EMAIL, address="lagezentrum@smi.example.org"
    )
    assert final.contact not in (office.primary, office.deputy)


def test_the_template_of_these_tests_is_itself_valid(tmp_path: Path) -> None:
    assert load_agreement_file(write(tmp_path, VALID)).agreement_id == "kooperation-test"


def test_comments_and_layout_do_not_change_the_digest(tmp_path: Path) -> None:
    reformatted = "# dieselbe Vereinbarung, anders gesetzt\n\n" + VALID.replace(" = ", "   =   ")
    (tmp_path / "reformatted").mkdir()

    original = load_agreement_file(write(tmp_path, VALID))
    same = load_agreement_file(write(tmp_path / "reformatted", reformatted))

    assert same.digest() == original.digest()


def test_a_file_that_is_not_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, replaced('label = "2026-11"', "label = 2026-11 ="))

    with pytest.raises(AgreementFileError, match=refusal(path, "not valid TOML")):
        load_agreement_file(path)


def test_a_missing_field_is_refused_naming_the_partner_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, replaced("ack_deadline_minutes = 60\n", ""))

    with pytest.raises(
        AgreementFileError, match=refusal(path, "partners[1].ack_deadline_minutes: Field required")
    ):
        load_agreement_file(path)


def test_an_unknown_need_category_is_refused_naming_the_allowed_ones(tmp_path: Path) -> None:
    path = write(tmp_path, replaced('"psychosocial", "legal"', '"psychosocial", "housing"'))

    with pytest.raises(
        AgreementFileError,
        match=refusal(path, "partners[1].remit.categories[1]: Input should be", "'remembrance'"),
    ):
        load_agreement_file(path)


def test_an_e_mail_channel_with_a_url_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        replaced(
            '{ channel = "webhook", address = "https://opferhilfe-sachsen.example.org/lotse" }',
            '{ channel = "email", address = "https://opferhilfe-sachsen.example.org/lotse" }',
        ),
    )

    with pytest.raises(
        AgreementFileError,
        match=refusal(
            path,
            "partners[1].deputy:",
            "'https://opferhilfe-sachsen.example.org/lotse' is not an e-mail address",
        ),
    ):
        load_agreement_file(path)


def test_a_webhook_channel_without_a_url_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        replaced(
            '{ channel = "webhook", address = "https://opferhilfe-sachsen.example.org/lotse" }',
            '{ channel = "webhook", address = "lotse@opferhilfe-sachsen.example.org" }',
        ),
    )

    with pytest.raises(
        AgreementFileError, match=refusal(path, "partners[1].deputy:", "not an http(s) URL")
    ):
        load_agreement_file(path)


def test_a_duplicate_partner_id_is_refused(tmp_path: Path) -> None:
    second_partner = VALID[VALID.rindex("[[partners]]") :]
    path = write(tmp_path, VALID + "\n" + second_partner)

    with pytest.raises(
        AgreementFileError,
        match=refusal(path, "partners", "partner ids must be unique; repeated: opferhilfe-sachsen"),
    ):
        load_agreement_file(path)


def test_an_agreement_without_the_commissioners_office_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, replaced('id = "opferbeauftragte"', 'id = "opferberatung"'))

    with pytest.raises(
        AgreementFileError,
        match=refusal(
            path, "partners", "the Commissioner's office ('opferbeauftragte') must be a partner"
        ),
    ):
        load_agreement_file(path)


def test_a_file_without_a_final_escalation_contact_is_refused_saying_what_it_is_for(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        replaced(
            '[final_escalation]\nname = "Lagezentrum des Innenministeriums (Test)"\n'
            'contact = { channel = "email", address = "lagezentrum@smi.example.org" }\n',
            "",
        ),
    )

    with pytest.raises(
        AgreementFileError,
        match=refusal(
            path,
            "final_escalation: Field required: add a [final_escalation] table with name and "
            "contact",
            "it is alerted when the Commissioner's office itself does not answer",
        ),
    ):
        load_agreement_file(path)


@pytest.mark.parametrize(
    "address",
    ["lagedienst@opferbeauftragte.example.org", "Vertretung@Opferbeauftragte.example.org"],
)
def test_a_final_escalation_contact_of_the_office_itself_is_refused(
    tmp_path: Path, address: str
) -> None:
    path = write(tmp_path, replaced("lagezentrum@smi.example.org", address))

    with pytest.raises(
        AgreementFileError,
        match=refusal(
            path,
            f"final_escalation: Value error, '{address}' is a contact point of the "
            "Commissioner's office ('opferbeauftragte')",
            "must reach someone else when the office does not answer",
        ),
    ):
        load_agreement_file(path)


def test_a_missing_file_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "nirgends.toml"

    with pytest.raises(AgreementFileError, match=refusal(path, "no such file")):
        load_agreement_file(path)
