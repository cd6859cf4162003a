"""The reflection report's figures for the test incident of tests/reflection_support.py, against
the values worked out by hand there (each assertion says where its number comes from)."""

from __future__ import annotations

import json

import pytest

from domain.reflection import ReflectionFigures
from tests.reflection_support import FINDINGS, MEASURES, figures_of_test_incident


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> ReflectionFigures:
    return figures_of_test_incident(tmp_path_factory.mktemp("reflection"))


def test_each_partner_is_measured_against_its_own_deadline(figures: ReflectionFigures) -> None:
    rows = {
        p.partner_id: (p.deadline_minutes, p.minutes_to_acknowledge, p.late, p.escalations)
        for p in figures.partners
    }
    assert rows == {
        "opferbeauftragte": (30, 12.0, False, 0),
        "opferhilfe-sachsen": (60, 45.0, False, 0),
        "weisser-ring": (60, 90.0, True, 2),  # deputy, then the office
        "raa-sachsen": (60, 75.0, True, 1),
    }
    assert figures.escalations == 3


def test_a_failed_delivery_is_counted_for_its_partner(figures: ReflectionFigures) -> None:
    failures = {p.partner_id: p.delivery_failures for p in figures.partners}
    delivered = {p.partner_id: p.messages_delivered for p in figures.partners}
    assert failures == {
        "opferbeauftragte": 0,
        "opferhilfe-sachsen": 0,
        "weisser-ring": 0,
        "raa-sachsen": 1,
    }
    assert delivered["weisser-ring"] == 3  # primary, deputy, office
    assert delivered["raa-sachsen"] == 1  # only the deputy's message arrived
    assert figures.delivery_failures == 1


def test_the_share_contacted_counts_erased_people_and_leaves_out_duplicates(
    figures: ReflectionFigures,
) -> None:
    assert figures.people_registered == 5  # six registered, DD-0005 closed as a duplicate
    assert figures.people_erased == 1  # DD-0006
    assert figures.people_contacted == 2  # DD-0001 and DD-0002
    assert figures.share_contacted == pytest.approx(2 / 5)


def test_the_time_to_first_contact_runs_from_registration(figures: ReflectionFigures) -> None:
    # DD-0001: 24 h, DD-0002: 72 h.
    assert figures.median_hours_to_first_contact == pytest.approx(48.0)
    assert figures.max_hours_to_first_contact == pytest.approx(72.0)


def test_referrals_are_judged_by_the_deadline_set_when_they_were_sent(
    figures: ReflectionFigures,
) -> None:
    answers = figures.referrals
    assert (answers.sent, answers.in_time, answers.late) == (4, 1, 1)  # DD-0001, DD-0002
    assert answers.unanswered_overdue == 1  # DD-0004, never answered
    assert answers.awaiting == 1  # DD-0003, withdrawn with the consent before it was due
    assert answers.share_in_time == pytest.approx(1 / 3)


def test_open_needs_age_from_their_assessment(figures: ReflectionFigures) -> None:
    # Open at T0+45d: DD-0002 (in care, since T0+2h), DD-0003 (T0+3h), DD-0004 (T0+4h and the
    # legal need of T0+40d). DD-0001's need was met at its follow-up.
    assert figures.open_needs == 4
    ages = [45 - 2 / 24, 45 - 3 / 24, 45 - 4 / 24, 5.0]
    assert figures.oldest_open_need_age_days == pytest.approx(ages[0])
    assert figures.median_open_need_age_days == pytest.approx((ages[1] + ages[2]) / 2)
    assert figures.open_need_ages == [0, 1, 0, 0, 3]  # 5 days: "3 to 6 days"


def test_duplicates_withdrawals_and_overdue_follow_ups(figures: ReflectionFigures) -> None:
    assert figures.duplicates_linked == 1
    found = (
        figures.duplicate_pairs_confirmed,
        figures.duplicate_pairs_rejected,
        figures.duplicate_pairs_pending,
    )
    assert found == (1, 1, 1)
    assert figures.consent_withdrawals == 1  # DD-0003
    assert figures.follow_ups_overdue == 3  # DD-0002, DD-0003, DD-0004; DD-0001 answered


def test_days_are_counted_in_berlin_time(figures: ReflectionFigures) -> None:
    days = [(str(d.day), d.registered, d.first_contacts) for d in figures.days]
    # DD-0001 registered at 22:00 on the 14th in Berlin; the rest after midnight; DD-0002's
    # first contact at 23:00 UTC on the 17th is the 18th in Berlin.
    assert days == [
        ("2026-11-14", 1, 0),
        ("2026-11-15", 4, 1),
        ("2026-11-16", 0, 0),
        ("2026-11-17", 0, 0),
        ("2026-11-18", 0, 1),
    ]


def test_the_timeline_marks_the_incidents_milestones(figures: ReflectionFigures) -> None:
    events = [(m.event, m.partner_id) for m in figures.timeline]
    assert events == [
        ("Declared", None),
        ("AlertAcknowledged", "opferbeauftragte"),
        ("AlertAcknowledged", "opferhilfe-sachsen"),
        ("AlertAcknowledged", "raa-sachsen"),
        ("AlertAcknowledged", "weisser-ring"),
        ("AcutePhaseClosed", None),
        ("ReflectionBecameDue", None),
        ("ReflectionRecorded", None),
    ]
    assert (figures.findings, figures.measures) == (FINDINGS, MEASURES)


def test_the_figures_name_no_person(figures: ReflectionFigures) -> None:
    text = json.dumps(figures.model_dump(mode="json"))
    assert "DD-00" not in text
    assert "PL-0" not in text
    assert "example.org" not in text
    assert not figures.exercise
