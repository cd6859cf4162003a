"""The auditor's reads of a damaged record (issue #9, point 2), on both stores: the timeline,
point-in-time replay, the reflection report's record and the measures. A damaged stream is
named (stream and version) where it is read; it stops nothing about another incident.

The record and its damage are those of tests/integration/test_damaged_record.py: incidents
DAMAGED (declared, three alerts acknowledged; people LE-0001 with two consents and LE-0002) and
OTHER (declared, three acknowledged; LE-0003), damaged with plain SQL after the writer closed.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from domain import ids
from domain.application import LotseApplication
from domain.damage import person_stream
from domain.errors import DamagedRecordError
from domain.reflection import read_record, reflection_figures
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
from tests.people_support import ctx
from tests.workflow.support import PARTNERS

__all__ = ["damage", "open_app", "recorded"]  # fixtures shared with test_damaged_record
AGREEMENT = "kooperation-opferhilfe-sachsen"  # the shipped agreement's id
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


@pytest.fixture
def reflected(recorded: None, open_app: OpenApp) -> None:
    """Both incidents closed and reflected on, with measures r1 and r2 each; r1 of each
    assigned (tracked); one exchange meeting per incident key's day."""
    writer = open_app()
    for key in (DAMAGED, OTHER):
        writer.acknowledge_alert(key, PARTNERS[0], False, 60.0, ctx())
        writer.close_acute_phase(key, None, LATER, ctx())
        writer.mark_reflection_due(key, ctx())
        writer.record_reflection(key, ["Alarmierung lief"], ["Kontaktliste", "Übung"], ctx())
        writer.assign_measure(f"{key}/r1", "weisser-ring", date(2027, 1, 31), ctx())
    writer.close()


def reflection_version(app: LotseApplication, incident_key: str) -> int:
    return next(e.version for e in app.history(incident_key) if e.event == "ReflectionRecorded")


@pytest.mark.usefixtures("reflected")
def test_measures_of_a_garbled_reflection_are_named_and_the_others_listed(
    open_app: OpenApp, damage: Damage
) -> None:
    version = reflection_version(open_app(), DAMAGED)
    damage.garble_state(STREAM, version)
    app = open_app()

    listed, damages = app.measure_listing()
    assert [(m.measure_key, m.tracked) for m in listed] == [
        (f"{DAMAGED}/r1", True),  # a stream of its own, readable
        (f"{OTHER}/r1", True),
        (f"{OTHER}/r2", False),
    ]
    problem = "its stored state cannot be read ("
    [found] = damages
    assert re.match(named(f"incident '{DAMAGED}'", version, problem), str(found))
    with pytest.raises(DamagedRecordError, match=named(f"incident '{DAMAGED}'", version, problem)):
        app.assign_measure(f"{DAMAGED}/r2", "weisser-ring", date(2027, 1, 31), ctx())
    app.assign_measure(f"{OTHER}/r2", "weisser-ring", date(2027, 1, 31), ctx())


@pytest.mark.usefixtures("reflected")
def test_a_measure_missing_a_version_is_named_and_not_listed_as_unassigned(
    open_app: OpenApp, damage: Damage
) -> None:
    key = f"{DAMAGED}/r1"
    damage.garble_state(ids.measure_id(key), 1)
    app = open_app()
    message = named(f"measure '{key}'", 1, "its stored state cannot be read (")

    listed, damages = app.measure_listing()
    assert [m.measure_key for m in listed] == [f"{OTHER}/r1", f"{DAMAGED}/r2", f"{OTHER}/r2"]
    assert [re.match(message, str(d)) is not None for d in damages] == [True]
    with pytest.raises(DamagedRecordError, match=message):
        app.measure(key)
    with pytest.raises(DamagedRecordError, match=message):
        app.measure_history(key)
    with pytest.raises(DamagedRecordError, match=message):
        app.complete_measure(key, None, ctx())


@pytest.mark.usefixtures("recorded")
def test_a_garbled_meeting_is_named_and_the_other_meetings_listed(
    open_app: OpenApp, damage: Damage
) -> None:
    writer = open_app()
    for meeting_key in ("exchange-20270112", "exchange-20270413"):
        writer.schedule_meeting(meeting_key, AGREEMENT, LATER, ctx())
    damage.garble_state(ids.meeting_id("exchange-20270112"), 1)
    app = open_app()

    assert app.meeting_keys() == ["exchange-20270413"]  # the first names no key now
    with pytest.raises(
        DamagedRecordError, match=named("exchange meeting 'exchange-20270112'", 1, "its stored")
    ):
        app.meeting("exchange-20270112")


@pytest.mark.usefixtures("reflected")
def test_the_reflection_record_of_another_incident_reads_past_a_damaged_person(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.garble_state(LE_0001, 2)
    app = open_app()

    other = read_record(app, OTHER)
    assert [person.person_ref for person in other.people] == ["LE-0003"]
    figures = reflection_figures(other, LATER)
    assert (figures.people_registered, figures.measures) == (1, ["Kontaktliste", "Übung"])
    problem = "its stored state cannot be read ("
    with pytest.raises(
        DamagedRecordError, match=named(person_stream(DAMAGED, "LE-0001"), 2, problem)
    ):
        read_record(app, DAMAGED)
