"""A damaged record stops nothing else (issue #9, point 2), on both stores.

The damage is done with plain SQL on the real store, after the writer is closed; a new
application instance reads it, as a restarted worker or a command would. Reading a damaged
stream fails with one `DamagedRecordError` naming the stream and the version; every other
stream reads and takes commands as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest

from contracts.agreement import AgreementTerms
from domain import ids
from domain.application import DamagedIncident, LotseApplication
from domain.errors import DamagedRecordError
from domain.incident import Incident
from settings import Settings
from tests.damage_support import UNKNOWN_TOPIC, Damage
from tests.integration.test_event_store import declaration
from tests.people_support import T0, consent, ctx, registration
from tests.workflow.support import PARTNERS

OpenApp = Callable[[], LotseApplication]
DAMAGED = "leipzig-2026-11-14"
OTHER = "chemnitz-2026-11-20"
STREAM = ids.incident_id(DAMAGED)


@pytest.fixture
def open_app(store_settings: Settings) -> Iterator[OpenApp]:
    apps: list[LotseApplication] = []

    def open_one() -> LotseApplication:
        app = LotseApplication(env=store_settings.event_store_env())
        apps.append(app)
        return app

    yield open_one
    for app in apps:
        app.close()


@pytest.fixture
def damage(store_settings: Settings) -> Damage:
    return Damage(store_settings)


@pytest.fixture
def recorded(open_app: OpenApp, agreement_terms: AgreementTerms) -> None:
    """Two incidents, each declared (version 1) and acknowledged by three partners (2–4); the
    first has two people (LE-0001 registered and given consent twice, LE-0002 registered),
    the second one (LE-0003)."""
    writer = open_app()
    writer.load_agreement(agreement_terms, ctx())
    for key in (DAMAGED, OTHER):
        writer.declare_incident(key, declaration(), agreement_terms.agreement_id, ctx())
        for partner_id in PARTNERS[1:]:
            writer.acknowledge_alert(key, partner_id, False, 60.0, ctx())
    for person_ref in ("LE-0001", "LE-0002"):
        writer.register_person(DAMAGED, registration(person_ref), ctx())
    writer.register_person(OTHER, registration("LE-0003"), ctx())
    writer.give_consent(DAMAGED, "LE-0001", consent(), ctx())
    writer.give_consent(DAMAGED, "LE-0001", consent("opferhilfe-sachsen"), ctx())
    writer.close()


def named(stream: str, version: int, problem: str) -> str:
    """The start of a `DamagedRecordError`'s message, as a pattern."""
    head = re.escape(f"the record of {stream} (stream ")
    return head + r"[0-9a-f-]{36}\) " + re.escape(f"is damaged at version {version}: {problem}")


@pytest.mark.usefixtures("recorded")
def test_a_deleted_middle_event_is_named_by_incident_and_version(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.delete(STREAM, 2)
    app = open_app()
    message = named(
        f"incident '{DAMAGED}'", 2, "version 2 is missing (the next one stored is version 3)"
    )

    with pytest.raises(DamagedRecordError, match=message) as raised:
        app.incident(DAMAGED)
    assert (raised.value.originator_id, raised.value.version) == (STREAM, 2)
    assert str(raised.value).endswith(") — see `lotse audit verify`")
    with pytest.raises(DamagedRecordError, match=message):
        app.history(DAMAGED)
    with pytest.raises(DamagedRecordError, match=message):
        app.incident(DAMAGED, version=3)


@pytest.mark.usefixtures("recorded")
def test_a_command_on_a_damaged_incident_is_refused_and_records_nothing(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.delete(STREAM, 3)
    app = open_app()

    with pytest.raises(DamagedRecordError, match=named(f"incident '{DAMAGED}'", 3, "version 3")):
        app.acknowledge_alert(DAMAGED, PARTNERS[0], False, 60.0, ctx())

    assert [event.originator_version for event in app.events.get(STREAM)] == [1, 2, 4]


@pytest.mark.usefixtures("recorded")
def test_a_state_that_is_not_json_is_named_by_incident_and_version(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.garble_state(STREAM, 3)
    app = open_app()
    problem = "its stored state cannot be read ("

    with pytest.raises(DamagedRecordError, match=named(f"incident '{DAMAGED}'", 3, problem)):
        app.incident(DAMAGED)
    with pytest.raises(DamagedRecordError, match=named(f"incident '{DAMAGED}'", 3, problem)):
        app.history(DAMAGED)


@pytest.mark.usefixtures("recorded")
def test_an_event_type_that_does_not_exist_is_named_by_incident_and_version(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.rename_topic(STREAM, 4)
    app = open_app()
    problem = f"its event type '{UNKNOWN_TOPIC}' does not exist"

    with pytest.raises(DamagedRecordError, match=named(f"incident '{DAMAGED}'", 4, problem)):
        app.incident(DAMAGED)
    with pytest.raises(DamagedRecordError, match=named(f"incident '{DAMAGED}'", 4, problem)):
        app.history(DAMAGED)


@pytest.mark.usefixtures("recorded")
def test_a_deleted_declaration_is_named_as_version_1(open_app: OpenApp, damage: Damage) -> None:
    damage.delete(STREAM, 1)
    app = open_app()
    problem = "version 1 is missing (the next one stored is version 2)"

    with pytest.raises(DamagedRecordError, match=named(f"incident '{DAMAGED}'", 1, problem)):
        app.incident(DAMAGED)
    with pytest.raises(DamagedRecordError, match=named(f"incident '{DAMAGED}'", 1, problem)):
        app.history(DAMAGED)


@pytest.mark.usefixtures("recorded")
def test_other_incidents_are_listed_read_and_changed_beside_a_damaged_one(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.delete(STREAM, 2)
    app = open_app()

    listed = app.listed_incidents()

    assert isinstance(listed[0], DamagedIncident)
    assert (listed[0].incident_key, listed[0].damage.version) == (DAMAGED, 2)
    assert isinstance(listed[1], Incident)
    assert listed[1].incident_key == OTHER
    app.acknowledge_alert(OTHER, PARTNERS[0], False, 60.0, ctx())
    assert [entry.version for entry in app.history(OTHER)][-1] == 5


@pytest.mark.usefixtures("recorded")
def test_an_unreadable_declaration_is_listed_by_its_stream(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.garble_state(STREAM, 1)
    app = open_app()

    listed = app.listed_incidents()

    assert isinstance(listed[0], DamagedIncident)
    assert listed[0].incident_key is None
    assert (listed[0].damage.originator_id, listed[0].damage.version) == (STREAM, 1)
    assert [i.incident_key for i in listed[1:] if isinstance(i, Incident)] == [OTHER]
    assert app.incident_keys() == [OTHER]


@pytest.mark.usefixtures("recorded")
def test_a_damaged_person_is_named_and_the_other_people_are_not_touched(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.delete(ids.person_id(DAMAGED, "LE-0001"), 2)
    app = open_app()
    message = named(f"person LE-0001 of incident '{DAMAGED}'", 2, "version 2 is missing")

    with pytest.raises(DamagedRecordError, match=message):
        app.person(DAMAGED, "LE-0001")
    with pytest.raises(DamagedRecordError, match=message):
        app.person_history(DAMAGED, "LE-0001")
    with pytest.raises(DamagedRecordError, match=message):
        app.give_consent(DAMAGED, "LE-0001", consent("raa-sachsen"), ctx())
    app.give_consent(DAMAGED, "LE-0002", consent(), ctx())
    assert app.person(DAMAGED, "LE-0002").version == 2
    assert app.incident(DAMAGED).version == 4


@pytest.mark.usefixtures("recorded")
def test_the_people_view_leaves_out_a_damaged_person_and_counts_everyone_else(
    open_app: OpenApp, damage: Damage
) -> None:
    damage.delete(ids.person_id(DAMAGED, "LE-0001"), 2)
    app = open_app()

    assert app.people_counts(OTHER, T0).total == 1
    assert app.people_counts(DAMAGED, T0).total == 1  # LE-0002; LE-0001 left out
    assert app.catch_up_people() == 0  # moved on past the damaged person, not stuck there
