"""An exercise ("ÜBUNG") says so wherever a person looks first: the subject and first line of
every message, the UI's details of the incident and of each case, the static summary. A real
incident's texts stay exactly as they were (golden/notification_texts.json guards those)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from activities.case_messages import render_case_message
from activities.messages import EXERCISE_LINE, OutgoingMessage
from contracts.case_messages import CaseMessagePurpose, CaseStatus
from contracts.messages import IncidentStatus
from contracts.people import Involvement
from contracts.vocabulary import IncidentKind, Phase, Region
from tests.unit.test_case_message_texts import notice
from tests.unit.test_notification_texts import CASES, INCIDENT_KEY, render
from workflows import case_details, details

EXERCISE_INCIDENT = {
    "incident_key": INCIDENT_KEY,
    "title": "Anschlag auf den Weihnachtsmarkt",
    "kind": IncidentKind.TERRORIST,
    "region": Region.CHEMNITZ,
    "location": "Neumarkt",
    "occurred_at": datetime(2026, 11, 28, 20, 15, tzinfo=UTC),
    "exercise": True,
}


def assert_marked_copy(exercise: OutgoingMessage, real: OutgoingMessage) -> None:
    """The exercise's message is the real one, marked first in subject, text and payload."""
    assert exercise.subject == f"[ÜBUNG / EXERCISE] {real.subject}"
    first, blank, *rest = exercise.body.split("\n")
    assert (first, blank) == (EXERCISE_LINE, "")
    assert first.startswith("ÜBUNG / EXERCISE – Dies ist eine Übung")
    assert "\n".join(rest) == real.body
    assert exercise.payload == {**real.payload, "exercise": True}
    assert "ÜBUNG" not in real.subject
    assert "exercise" not in real.payload


@pytest.mark.parametrize("name", list(CASES))
def test_every_incident_message_of_an_exercise_is_marked_in_subject_and_first_line(
    name: str,
) -> None:
    purpose, step, case = CASES[name]

    exercise = render(purpose, step, **dict(case), incident=EXERCISE_INCIDENT)
    real = render(purpose, step, **dict(case))

    assert_marked_copy(exercise, real)


@pytest.mark.parametrize("purpose", list(CaseMessagePurpose))
def test_every_case_message_of_an_exercise_is_marked_in_subject_and_first_line(
    purpose: CaseMessagePurpose,
) -> None:
    exercise = render_case_message(notice(purpose, exercise=True))
    real = render_case_message(notice(purpose))

    assert_marked_copy(exercise, real)


def incident_status(**values: Any) -> IncidentStatus:
    return IncidentStatus(
        incident_id="2026-12-05-dresden",
        title="Probealarm",
        kind=IncidentKind.TERRORIST,
        region=Region.DRESDEN,
        phase=Phase.ALERTING,
        agreement_version=1,
        partners=[],
        needs=[],
        open_items=[],
        **values,
    )


def test_the_ui_details_of_an_exercise_say_so_in_their_first_line() -> None:
    exercise = details.current_details(incident_status(exercise=True))
    real = details.current_details(incident_status())

    assert exercise.startswith("**Lage:** ÜBUNG – keine echte Lage · terroristischer Anschlag")
    assert real.startswith("**Lage:** terroristischer Anschlag · Dresden\n")


def test_the_static_summary_of_an_exercise_begins_with_uebung() -> None:
    assert details.summary(IncidentKind.TERRORIST, Region.DRESDEN, True) == (
        "ÜBUNG · terrorist · dresden"
    )
    assert details.summary(IncidentKind.TERRORIST, Region.DRESDEN) == "terrorist · dresden"


def test_the_ui_details_of_a_case_of_an_exercise_say_so_in_their_first_line() -> None:
    def case(exercise: bool) -> CaseStatus:
        return CaseStatus(
            case_id="2026-12-05-dresden--DD-0042",
            incident_id="2026-12-05-dresden",
            person_ref="DD-0042",
            involvement=Involvement.INJURED,
            region=Region.DRESDEN,
            language="de",
            registered_at=datetime(2026, 12, 5, 17, 0, tzinfo=UTC),
            consents=[],
            needs=[],
            referrals=[],
            follow_ups=[],
            open_items=[],
            exercise=exercise,
        )

    assert case_details.current_details(case(True)).startswith(
        "**ÜBUNG – keine echte Lage · DD-0042** — "
    )
    assert case_details.current_details(case(False)).startswith("**DD-0042** — ")
