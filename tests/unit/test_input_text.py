"""Free text and staff references at the boundary: one line where one line is meant, no contact
data, no names, no reserved identities — refused in words an operator understands at 3 a.m."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from contracts.agreement import describe_validation_error
from contracts.messages import (
    AcknowledgeAlert,
    Actor,
    CallOff,
    CloseAcutePhase,
    CommandContext,
    IncidentDeclaration,
    RecordReflection,
    ReportNeeds,
)
from contracts.text import SYSTEM_STAFF_REF, find_phone_number, looks_like_a_name
from contracts.vocabulary import ActorChannel
from tests.workflow.support import declaration

ACTOR = {"partner_id": "weisser-ring", "staff_ref": "lv-1"}


def problems(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    """The refusal as the CLI and the workflow show it: one `field: message` per problem."""
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    return describe_validation_error(refused.value)


def only_problem(model: type[BaseModel], data: dict[str, Any]) -> str:
    [problem] = problems(model, data)
    return problem


# --- one line --------------------------------------------------------------------------------

SINGLE_LINE_BREAKERS = {
    "CRLF": "\r\n",
    "LF": "\n",
    "CR": "\r",
    "tab": "\t",
    "NUL": "\x00",
    "vertical-tab": "\x0b",
    "escape": "\x1b",
    "DEL": "\x7f",
    "NEL": "\x85",
    "C1-CSI": "\x9b",
    "line-separator": "\u2028",
    "paragraph-separator": "\u2029",
}


@pytest.mark.parametrize("breaker", SINGLE_LINE_BREAKERS.values(), ids=SINGLE_LINE_BREAKERS.keys())
def test_a_title_with_a_control_character_is_refused_naming_the_character(breaker: str) -> None:
    problem = only_problem(IncidentDeclaration, declaration(title=f"Anschlag{breaker}Bcc: x"))

    assert problem.startswith("title: must be one line without control characters; found ")
    assert f"U+{ord(breaker[0]):04X}" in problem
    assert problem.endswith("at character 9")


def test_the_header_injection_of_the_issue_is_refused_as_a_line_break() -> None:
    problem = only_problem(IncidentDeclaration, declaration(title="Anschlag\r\nBcc: x@example.org"))

    assert problem == (
        "title: must be one line without control characters; found a line break (U+000D) at "
        "character 9"
    )


@pytest.mark.parametrize(
    ("model", "field", "data"),
    [
        (IncidentDeclaration, "location", declaration(location="Altmarkt\nBcc: x")),
        (CallOff, "reason", {"actor": ACTOR, "reason": "Fehlalarm\r\nBcc: x"}),
        (CloseAcutePhase, "note", {"actor": ACTOR, "note": "Lage beendet\nBcc: x"}),
    ],
    ids=["location", "reason", "note"],
)
def test_every_single_line_field_refuses_a_line_break(
    model: type[BaseModel], field: str, data: dict[str, Any]
) -> None:
    assert only_problem(model, data).startswith(f"{field}: must be one line")


def test_a_line_break_at_either_end_is_trimmed_like_any_whitespace() -> None:
    accepted = IncidentDeclaration.model_validate(declaration(title="Anschlag am Altmarkt\r\n"))

    assert accepted.title == "Anschlag am Altmarkt"


def test_findings_and_measures_keep_line_breaks_but_no_other_control_character() -> None:
    accepted = RecordReflection.model_validate(
        {"actor": ACTOR, "findings": ["Erstens\r\nZweitens"], "measures": ["a\nb\nc"]}
    )
    assert accepted.findings == ["Erstens\nZweitens"]
    assert accepted.measures == ["a\nb\nc"]

    problem = only_problem(RecordReflection, {"actor": ACTOR, "findings": ["gut", "Spalte\tB"]})
    assert problem == (
        "findings[1]: may hold line breaks but no other control characters; found a tab "
        "(U+0009) at character 7"
    )
    assert only_problem(
        RecordReflection, {"actor": ACTOR, "findings": ["gut"], "measures": ["x\x1b[31m"]}
    ).startswith("measures[0]: may hold line breaks but no other control characters")


def test_an_unpaired_surrogate_is_refused() -> None:
    # A lone surrogate can arrive through JSON ("\ud800") and no UTF-8 encoder can send it.
    assert only_problem(IncidentDeclaration, declaration(title="Anschlag \ud800")).startswith(
        "title: "
    )


def test_german_text_with_typographic_characters_stays_valid() -> None:
    accepted = IncidentDeclaration.model_validate(
        declaration(title="Übung: „Anschlag“ – Straßenbahn, 120 Verletzte", location="Postplatz")
    )

    assert accepted.title == "Übung: „Anschlag“ – Straßenbahn, 120 Verletzte"


# --- no contact data in free text -------------------------------------------------------------

CONTACT_DATA_RULE = re.escape(
    "free text is for the situation, never for people: no e-mail addresses or phone numbers — "
)


@pytest.mark.parametrize(
    "text",
    [
        "Rückfragen an erika.musterfrau@example.org",
        "Kontakt: lagezentrum@polizei.example.org bitte",
    ],
)
def test_an_e_mail_address_in_free_text_is_refused_without_repeating_it(text: str) -> None:
    problem = only_problem(IncidentDeclaration, declaration(title=text))

    assert re.match(f"title: {CONTACT_DATA_RULE}this holds an e-mail address", problem)
    assert "@" not in problem  # the refused value stays out of the message and the history


@pytest.mark.parametrize(
    "text",
    [
        "Rückruf 0351 1234567",
        "Rückruf +49 351 123456",
        "Handy 0170/1234567",
        "Leitstelle (0351) 48 12 34",
        "Tel. 4812345 Lagezentrum",
        "Rückruf 0049-351-1234567",
    ],
)
def test_a_phone_number_in_free_text_is_refused(text: str) -> None:
    problem = only_problem(IncidentDeclaration, declaration(title=text))

    assert re.match(f"title: {CONTACT_DATA_RULE}this holds what looks like a phone", problem)
    assert "write dates as 05.12.2026 and times as 17:05" in problem


@pytest.mark.parametrize(
    "text",
    [
        "Anschlag am 05.12.2026 um 17:05",
        "Lage seit 2026-12-05T17:05:00+01:00",
        "120 Verletzte, 3 Tote",
        "Weihnachtsmarkt 2025-2026",
        "Saison 2025/2026",
        "Einsatz am 05/12/2026",
        "Zug 0815 nach 01067 Dresden",
        "1 000 000 Besucher",
        "Mobile Teams der Telefonseelsorge",
    ],
)
def test_dates_times_counts_and_postcodes_are_no_phone_numbers(text: str) -> None:
    assert find_phone_number(text) is None
    assert IncidentDeclaration.model_validate(declaration(title=text)).title == text


@pytest.mark.parametrize(
    ("model", "field", "data"),
    [
        (IncidentDeclaration, "location", declaration(location="bei x@example.org")),
        (CallOff, "reason", {"actor": ACTOR, "reason": "Anruf von 0170 1234567"}),
        (CloseAcutePhase, "note", {"actor": ACTOR, "note": "Rückfragen: x@example.org"}),
        (RecordReflection, "findings[0]", {"actor": ACTOR, "findings": ["Tel 0351 1234567"]}),
        (
            RecordReflection,
            "measures[0]",
            {"actor": ACTOR, "findings": ["gut"], "measures": ["an a@example.org"]},
        ),
    ],
    ids=["location", "reason", "note", "findings", "measures"],
)
def test_every_free_text_field_refuses_contact_data(
    model: type[BaseModel], field: str, data: dict[str, Any]
) -> None:
    assert re.match(f"{re.escape(field)}: {CONTACT_DATA_RULE}", only_problem(model, data))


# --- staff references -------------------------------------------------------------------------

STAFF_REF_RULE = re.escape("a role or staff number such as lagedienst-1 — never a person's name")


@pytest.mark.parametrize(
    "staff_ref",
    ["max.mustermann", "Max Mustermann", "erika_musterfrau", "Dr. Erika Musterfrau", "E.Muster"],
)
def test_a_staff_reference_that_looks_like_a_name_is_refused_in_plain_words(
    staff_ref: str,
) -> None:
    actor = {"partner_id": "opferbeauftragte", "staff_ref": staff_ref}

    declared = only_problem(IncidentDeclaration, declaration(declared_by=actor))
    acknowledged = only_problem(AcknowledgeAlert, {"partner_id": "weisser-ring", "actor": actor})

    assert re.fullmatch(f"declared_by: staff_ref must be {STAFF_REF_RULE}; .*", declared)
    assert re.fullmatch(f"actor: staff_ref must be {STAFF_REF_RULE}; .*", acknowledged)
    assert staff_ref not in declared


@pytest.mark.parametrize(
    "staff_ref",
    [
        "lagedienst-1",
        "OB-0042",
        "lv-1",
        "s-1",
        "b-1",
        "test-setup",
        "lotse-dev",
        "lotse-cli",
        "lagedienst-nord",
        "bereitschaft-7",
        "elw-1",
        "bench-1",
        "lagedienst",
        "Lagedienst.1",
        "sb_2",
    ],
)
def test_roles_and_staff_numbers_stay_valid(staff_ref: str) -> None:
    assert not looks_like_a_name(staff_ref)
    action = ReportNeeds.model_validate(
        {
            "actor": {"partner_id": "weisser-ring", "staff_ref": staff_ref},
            "needs": [{"category": "legal", "region": "dresden", "count": 1}],
        }
    )
    assert action.actor.staff_ref == staff_ref


def test_a_staff_reference_that_is_a_phone_number_is_refused() -> None:
    problem = only_problem(
        CallOff,
        {"actor": {"partner_id": "weisser-ring", "staff_ref": "0170-1234567"}, "reason": "Übung"},
    )

    assert re.fullmatch(f"actor: staff_ref must be {STAFF_REF_RULE}; this looks like a .*", problem)


def test_an_actor_object_is_checked_like_its_json() -> None:
    # Python callers (tests, the CLI) pass `Actor` objects, which skip the JSON path.
    problem = only_problem(
        AcknowledgeAlert,
        {
            "partner_id": "weisser-ring",
            "actor": Actor(partner_id="weisser-ring", staff_ref="erika_musterfrau"),
        },
    )

    assert problem.startswith("actor: staff_ref must be a role or staff number")


# --- reserved identities ----------------------------------------------------------------------


@pytest.mark.parametrize("staff_ref", [SYSTEM_STAFF_REF, "Lotse-System"])
def test_no_operator_may_act_as_lotse_itself(staff_ref: str) -> None:
    actor = {"partner_id": "opferbeauftragte", "staff_ref": staff_ref}
    expected = (
        "staff_ref 'lotse-system' is reserved for Lotse's own steps; give a role or staff "
        "number such as lagedienst-1 — never a person's name"
    )

    assert only_problem(IncidentDeclaration, declaration(declared_by=actor)) == (
        f"declared_by: {expected}"
    )
    assert only_problem(CloseAcutePhase, {"actor": actor}) == f"actor: {expected}"


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (IncidentDeclaration, declaration(channel="system")),
        (AcknowledgeAlert, {"actor": ACTOR, "channel": "system", "partner_id": "weisser-ring"}),
        (CallOff, {"actor": ACTOR, "channel": ActorChannel.SYSTEM, "reason": "Übung"}),
    ],
    ids=["declaration", "update-json", "update-enum"],
)
def test_no_operator_may_use_the_system_channel(
    model: type[BaseModel], data: dict[str, Any]
) -> None:
    assert only_problem(model, data) == (
        "channel: 'system' is reserved for Lotse's own steps; use ui, cli or phone"
    )


def test_the_workflow_may_still_act_as_lotse_itself() -> None:
    system = Actor(partner_id="opferbeauftragte", staff_ref=SYSTEM_STAFF_REF)
    context = CommandContext.model_validate(
        {
            "command_id": "declare-1",
            "actor": system,
            "channel": "system",
            "business_time": "2026-11-28T17:05:00+01:00",
        }
    )

    assert context.actor.staff_ref == SYSTEM_STAFF_REF
    assert context.channel is ActorChannel.SYSTEM
    # The record's actor keeps reading what was stored before the operator rules existed.
    assert Actor.model_validate({"partner_id": "weisser-ring", "staff_ref": "max.mustermann"})
