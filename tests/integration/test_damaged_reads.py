"""The auditor's reads of a damaged record (issue #9, point 2), on both stores: the timeline,
point-in-time replay, the reflection report's record and the measures. A damaged stream is
named (stream and version) where it is read; it stops nothing about another incident.

The record and its damage are those of tests/integration/test_damaged_record.py: incidents
DAMAGED (declared, three alerts acknowledged; people LE-0001 with two consents and LE-0002) and
OTHER (declared, three acknowledged; LE-0003), damaged with plain SQL after the writer closed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import ids
from domain.damage import person_stream
from domain.errors import DamagedRecordError
from domain.replay import replay_at_moment, replay_at_version
from domain.timeline import TimelineRow
from tests.damage_support import Damage
from tests.integration.test_damaged_record import (
    DAMAGED,
    OTHER,
    STREAM,
    OpenApp,
    damage,
    named,
    open_app,
    recorded,
)

__all__ = ["damage", "open_app", "recorded"]  # fixtures shared with test_damaged_record
LE_0001 = ids.person_id(DAMAGED, "LE-0001")
LATER = datetime(2100, 1, 1, tzinfo=UTC)
"""A moment after everything recorded: replay at it shows the record as it stands."""
DIRECTORY = "sachsen"
OTHER_STEPS = [
    ("Declared", None, 1),
    ("AlertAcknowledged", None, 2),
    ("AlertAcknowledged", None, 3),
    ("AlertAcknowledged", None, 4),
    ("Registered", "LE-0003", 1),
]


def steps(rows: list[TimelineRow]) -> list[tuple[str, str | None, int]]:
    return [(row.event, row.person_ref, row.version) for row in rows]


@pytest.mark.usefixtures("recorded")
def test_the_timeline_reads_past_a_garbled_incident_event_and_says_where_it_stops(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.garble_state(STREAM, 3)
    app = open_app()

    assert steps(app.timeline(OTHER)) == OTHER_STEPS
    assert app.timeline_damages(OTHER) == []
    rows = app.timeline(DAMAGED)
    assert steps(rows) == [
        ("Declared", None, 1),
        ("AlertAcknowledged", None, 2),  # 3 unreadable, 4 left out after it
        ("Registered", "LE-0001", 1),
        ("Registered", "LE-0002", 1),
        ("ConsentGiven", "LE-0001", 2),
        ("ConsentGiven", "LE-0001", 3),
    ]
    assert {row.phase for row in rows} == {"alerting"}
    [found] = app.timeline_damages(DAMAGED)
    assert (found.originator_id, found.incident_key, found.person_ref) == (STREAM, DAMAGED, None)
    problem = "its stored state cannot be read ("
    assert found.version == 3
    assert found.problem.startswith(problem)
    with pytest.raises(type(found.error()), match=named(f"incident '{DAMAGED}'", 3, problem)):
        raise found.error()


@pytest.mark.usefixtures("recorded")
def test_a_person_missing_a_version_ends_in_the_timeline_where_the_version_is_missing(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.delete(LE_0001, 2)
    app = open_app()

    assert [s for s in steps(app.timeline(DAMAGED)) if s[1] == "LE-0001"] == [
        ("Registered", "LE-0001", 1)  # 2 missing, so 3 is left out
    ]
    [found] = app.timeline_damages(DAMAGED)
    assert (found.originator_id, found.person_ref, found.version) == (LE_0001, "LE-0001", 2)
    assert str(found.error()).startswith(
        f"the record of {person_stream(DAMAGED, 'LE-0001')} (stream {LE_0001}) is damaged at "
        "version 2: version 2 is missing (the next one stored is version 3)"
    )
    assert steps(app.timeline(OTHER)) == OTHER_STEPS


@pytest.mark.usefixtures("recorded")
def test_an_incident_whose_declaration_is_missing_keeps_its_people_in_the_timeline(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.delete(STREAM, 1)
    app = open_app()

    rows = app.timeline(DAMAGED)
    assert [(row.event, row.person_ref, row.phase) for row in rows][:2] == [
        ("Registered", "LE-0001", ""),  # the incident's phase is not known
        ("Registered", "LE-0002", ""),
    ]
    assert all(row.person_ref is not None for row in rows)
    [found] = app.timeline_damages(DAMAGED)
    assert (found.originator_id, found.incident_key, found.version) == (STREAM, DAMAGED, 1)
    assert steps(app.timeline(OTHER)) == OTHER_STEPS


@pytest.mark.usefixtures("recorded")
def test_replay_of_an_incident_missing_a_version_is_one_error_naming_it(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.delete(STREAM, 2)
    app = open_app()
    message = named(f"incident '{DAMAGED}'", 2, "version 2 is missing")

    with pytest.raises(DamagedRecordError, match=message):
        replay_at_moment(app, DAMAGED, LATER, DIRECTORY)
    with pytest.raises(DamagedRecordError, match=message):
        replay_at_version(app, DAMAGED, 4, DIRECTORY)
    assert replay_at_moment(app, OTHER, LATER, DIRECTORY).version == 4


@pytest.mark.usefixtures("recorded")
def test_replay_of_another_incident_reads_past_a_damaged_person_of_the_first(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.garble_state(LE_0001, 2)
    app = open_app()

    other = replay_at_moment(app, OTHER, LATER, DIRECTORY)
    assert [person.person_ref for person in other.people] == ["LE-0003"]
    problem = "its stored state cannot be read ("
    with pytest.raises(
        DamagedRecordError, match=named(person_stream(DAMAGED, "LE-0001"), 2, problem)
    ):
        replay_at_moment(app, DAMAGED, LATER, DIRECTORY)


@pytest.mark.usefixtures("recorded")
def test_replay_names_a_person_of_the_incident_missing_a_version(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.delete(LE_0001, 2)
    app = open_app()
    message = named(person_stream(DAMAGED, "LE-0001"), 2, "version 2 is missing")

    with pytest.raises(DamagedRecordError, match=message):
        replay_at_version(app, DAMAGED, 4, DIRECTORY)
