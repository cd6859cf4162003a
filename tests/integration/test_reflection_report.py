"""The reflection report of the test incident (tests/reflection_support.py) in each format and
language: the hand-worked figures appear in the words of each language, the HTML carries its
charts inline and fetches nothing, the JSON keeps its keys, and no format names a person."""

from __future__ import annotations

import json
from typing import Any

import pytest

from domain.reflection import ReflectionFigures, RefusalCount
from reports.labels import ENGLISH, GERMAN, Language, ReportFormat
from reports.render import SCHEMA, render
from tests.reflection_support import FINDINGS, MEASURES, figures_of_test_incident


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> ReflectionFigures:
    return figures_of_test_incident(tmp_path_factory.mktemp("report"))


def test_the_report_is_german_by_default_with_the_figures_worked_out_by_hand(
    figures: ReflectionFigures,
) -> None:
    text = render(figures, ReportFormat.MD, Language.DE)

    for line in (
        "# Reflexionsbericht: Angriff auf dem Altmarkt",
        "- Ausgerufen: 14.11.2026, 22:00 Uhr",
        "- Phase: abgeschlossen (closed)",
        "| opferbeauftragte | 30 | 12,0 | nein | 0 | 1 | 0 |",
        "| weisser-ring | 60 | 90,0 | ja | 2 | 3 | 0 |",
        "| raa-sachsen | 60 | 75,0 | ja | 1 | 1 | 1 |",
        "| Registrierte Personen (ohne Dubletten, Gelöschte mitgezählt) | 5 |",
        "| Anteil erreichter Personen | 40 % |",
        "| Zeit von Registrierung bis Erstkontakt (Median) | 48,0 Std. |",
        "| Anteil fristgerecht beantwortet | 33 % |",
        "| unbeantwortet nach Fristablauf | 1 |",
        "| Ältester offener Bedarf | 44,9 Tage |",
        "| Dubletten verknüpft (gleicher Name und Geburtstag) | 1 |",
        "| Widerrufene Einwilligungen | 1 |",
        "| Überfällige Nachfragen | 3 |",
        "| 5 | 14.11.2026, 23:30 Uhr | Alarm bestätigt | weisser-ring |",
        f"- {FINDINGS[0]}",
        f"- {MEASURES[0]}",
    ):
        assert line in text.splitlines(), line
    assert "Reflection report" not in text


def test_the_english_report_says_the_same_in_english(figures: ReflectionFigures) -> None:
    text = render(figures, ReportFormat.MD, Language.EN)

    for line in (
        "# Reflection report: Angriff auf dem Altmarkt",
        "- Declared: 2026-11-14 22:00 (Europe/Berlin)",
        "| weisser-ring | 60 | 90.0 | yes | 2 | 3 | 0 |",
        "| Share of people reached | 40% |",
        "| Time from registration to first contact (median) | 48.0 h |",
        "| Share answered in time | 33% |",
        "| Follow-ups overdue | 3 |",
        "| 7 | 2026-12-28 22:00 (Europe/Berlin) | Reflection due |  |",
        "## Findings",
        "## Measures",
    ):
        assert line in text.splitlines(), line
    assert "Reflexionsbericht" not in text


def test_every_word_exists_in_both_languages() -> None:
    assert GERMAN.keys() == ENGLISH.keys()


def test_the_html_report_holds_its_three_charts_and_fetches_nothing(
    figures: ReflectionFigures,
) -> None:
    page = render(figures, ReportFormat.HTML, Language.DE)

    assert page.startswith('<!DOCTYPE html><html lang="de">')
    assert page.count("<svg ") == 3
    for title in ("ack_chart", "age_chart", "timeline_chart"):
        assert f"<title>{GERMAN[title]}</title>" in page
    for fetching in ("<script", "<link", "<img", "src=", "@import", "url("):
        assert fetching not in page
    assert page.replace('xmlns="http://www.w3.org/2000/svg"', "").count("http") == 0


def test_an_exercise_says_so_first(figures: ReflectionFigures) -> None:
    drill = figures.model_copy(update={"exercise": True})

    assert "ÜBUNG" not in render(figures, ReportFormat.MD, Language.DE)
    german = render(drill, ReportFormat.MD, Language.DE).splitlines()
    assert german[2] == f"**{GERMAN['exercise']}**"
    assert GERMAN["exercise"].startswith("ÜBUNG")
    assert ENGLISH["exercise"] in render(drill, ReportFormat.HTML, Language.EN)


def keys_of(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON document (`figures.partners[].late`)."""
    if isinstance(value, dict):
        paths = set()
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths |= {path} | keys_of(inner, path)
        return paths
    if isinstance(value, list):
        return set().union(*(keys_of(item, f"{prefix}[]") for item in value))
    return set()


STABLE_KEYS = {
    "schema", "figures",
    *(f"figures.{key}" for key in (
        "incident_id", "title", "kind", "exercise", "phase", "declared_at", "as_of",
        "agreement_id", "agreement_revision", "partners", "escalations", "delivery_failures",
        "people_registered", "people_erased", "people_contacted", "share_contacted",
        "median_hours_to_first_contact", "max_hours_to_first_contact", "referrals",
        "open_needs", "median_open_need_age_days", "oldest_open_need_age_days",
        "open_need_ages", "duplicates_linked", "duplicate_pairs_confirmed",
        "duplicate_pairs_rejected", "duplicate_pairs_pending", "consent_withdrawals",
        "follow_ups_overdue", "findings", "measures", "timeline", "days", "refusals",
        "audit_reads",
    )),
    *(f"figures.partners[].{key}" for key in (
        "partner_id", "state", "deadline_minutes", "minutes_to_acknowledge", "late",
        "escalations", "messages_delivered", "delivery_failures",
    )),
    *(f"figures.referrals.{key}" for key in (
        "sent", "in_time", "late", "unanswered_overdue", "awaiting", "share_in_time",
    )),
    *(f"figures.timeline[].{key}" for key in ("at", "event", "partner_id")),
    *(f"figures.days[].{key}" for key in ("day", "registered", "first_contacts")),
}  # fmt: skip


def test_the_json_keeps_its_keys_in_either_language(figures: ReflectionFigures) -> None:
    german = render(figures, ReportFormat.JSON, Language.DE)
    document = json.loads(german)

    assert document["schema"] == SCHEMA
    assert keys_of(document) == STABLE_KEYS
    assert render(figures, ReportFormat.JSON, Language.EN) == german
    assert document["figures"]["referrals"]["share_in_time"] == pytest.approx(1 / 3)


def test_a_report_without_people_or_acknowledgements_shows_dashes(
    figures: ReflectionFigures,
) -> None:
    silent = [p.model_copy(update={"minutes_to_acknowledge": None}) for p in figures.partners]
    empty = figures.model_copy(
        update={
            "partners": silent,
            "share_contacted": None,
            "median_hours_to_first_contact": None,
            "days": [],
            "findings": [],
        }
    )

    text = render(empty, ReportFormat.MD, Language.DE)
    assert "| opferbeauftragte | 30 | nicht bestätigt | — | 0 | 1 | 0 |" in text
    assert "| Anteil erreichter Personen | — |" in text
    assert "_keine festgehalten_" in text
    assert render(empty, ReportFormat.HTML, Language.EN).count("<svg ") == 3


@pytest.mark.parametrize("fmt", list(ReportFormat))
@pytest.mark.parametrize("language", list(Language))
def test_no_format_names_a_person(
    figures: ReflectionFigures, fmt: ReportFormat, language: Language
) -> None:
    text = render(figures, fmt, language)
    for personal in ("DD-00", "PL-0", "RK-0", "example.org", "Erika", "+49"):
        assert personal not in text


@pytest.mark.parametrize(
    ("language", "rows"),
    [
        (
            Language.DE,
            [
                "## Abgewiesene Handlungen",
                "| außerhalb der Zuständigkeit | opferhilfe-sachsen | 2 |",
                "| ohne Einwilligung | opferbeauftragte | 1 |",
                "| in dieser Phase nicht erlaubt | weisser-ring | 1 |",
            ],
        ),
        (
            Language.EN,
            [
                "## Actions refused",
                "| outside the remit | opferhilfe-sachsen | 2 |",
                "| without consent | opferbeauftragte | 1 |",
                "| not allowed in this phase | weisser-ring | 1 |",
            ],
        ),
    ],
)
def test_refusals_are_counted_per_kind_and_partner_in_words_of_each_language(
    figures: ReflectionFigures, language: Language, rows: list[str]
) -> None:
    refused = figures.model_copy(
        update={
            "refusals": [
                RefusalCount(kind="outside-remit", partner_id="opferhilfe-sachsen", count=2),
                RefusalCount(kind="consent-missing", partner_id="opferbeauftragte", count=1),
                RefusalCount(kind="wrong-phase", partner_id="weisser-ring", count=1),
            ]
        }
    )
    lines = render(refused, ReportFormat.MD, language).splitlines()
    for row in rows:
        assert row in lines
