"""Affected people through the application, on both stores: every test runs once on SQLite
and once on PostgreSQL. A second application instance on the same store stands for another
worker or a restart; raw reads of the tables stand for someone with a copy of the database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime

import psycopg
import pytest
from psycopg import sql

from contracts.agreement import AgreementTerms
from contracts.case_rules import ReferralAction
from contracts.messages import Actor, IncidentDeclaration
from contracts.people import CaseCloseReason, NeedStatus, ReferralStatus
from contracts.vocabulary import IncidentKind, NeedCategory, Region
from domain.application import LotseApplication
from domain.errors import (
    ConsentMissingError,
    IncidentNotFoundError,
    PersonAlreadyRegisteredError,
    PersonErasedError,
)
from settings import Settings
from tests.conftest import POSTGRES_CONNINFO
from tests.people_support import (
    DAY,
    ERIKA,
    EXPLANATION,
    HOUR,
    JONAS,
    PROVIDER,
    REGISTERING_PARTNER,
    T0,
    TARGET,
    consent,
    ctx,
    psychosocial,
    registration,
)

OpenApp = Callable[[], LotseApplication]
INCIDENT = "dresden-2026-11-14"
PSY = NeedCategory.PSYCHOSOCIAL
PLAINTEXTS = ("Quellmalz", "555 0100", "555 0177", "Wendelin", "Beispielweg", "erika.quellmalz@")


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


def declaration() -> IncidentDeclaration:
    return IncidentDeclaration(
        title="Angriff auf dem Altmarkt",
        kind=IncidentKind.TERRORIST,
        occurred_at=T0 - HOUR,
        location="Altmarkt, Dresden",
        region=Region.DRESDEN,
        declared_by=Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1"),
    )


@pytest.fixture
def app(open_app: OpenApp, agreement_terms: AgreementTerms) -> LotseApplication:
    """An application with the agreement loaded and the incident declared."""
    app = open_app()
    app.load_agreement(agreement_terms, ctx())
    app.declare_incident(INCIDENT, declaration(), agreement_terms.agreement_id, ctx())
    return app


def register_with_contact(app: LotseApplication, person_ref: str = "DD-0042") -> None:
    app.register_person(INCIDENT, registration(person_ref), ctx())
    app.record_contact(INCIDENT, person_ref, ERIKA if person_ref == "DD-0042" else JONAS, ctx())


def refer(app: LotseApplication, person_ref: str, due_at: datetime) -> None:
    app.give_consent(INCIDENT, person_ref, consent(), ctx())
    app.assess_needs(INCIDENT, person_ref, psychosocial(), due_at, ctx())
    app.propose_referral(INCIDENT, person_ref, "r1", PSY, TARGET, EXPLANATION, ctx())
    app.advance_referral(INCIDENT, person_ref, "r1", ReferralAction.SEND, ctx(), due_at=due_at)


def raw_event_rows(app: LotseApplication, settings: Settings) -> list[tuple[object, ...]]:
    """Every stored event row as the database holds it, in notification order."""
    table = app.recorder.events_table_name  # type: ignore[attr-defined]  # both recorders have it
    if settings.store == "sqlite":
        with sqlite3.connect(settings.event_store_path) as conn:
            return conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
    name = sql.Identifier(settings.postgres_schema, table)
    with psycopg.connect(POSTGRES_CONNINFO) as conn:
        query = sql.SQL("SELECT * FROM {} ORDER BY notification_id").format(name)
        return conn.execute(query).fetchall()


def raw_store_bytes(settings: Settings) -> bytes:
    """All bytes of the event store: the SQLite files (WAL included), or PostgreSQL's events
    and key tables as text."""
    if settings.store == "sqlite":
        folder = settings.event_store_path.parent
        return b"".join(path.read_bytes() for path in sorted(folder.iterdir()) if path.is_file())
    dump = []
    with psycopg.connect(POSTGRES_CONNINFO) as conn:
        for table in ("lotse_events", "lotse_person_keys"):
            name = sql.Identifier(settings.postgres_schema, table)
            rows = conn.execute(sql.SQL("SELECT * FROM {}").format(name)).fetchall()
            dump.append(repr(rows).encode())
    return b"".join(dump)


def key_store_bytes(settings: Settings) -> bytes:
    if settings.store == "sqlite":
        return (settings.event_store_path.parent / "person-keys.sqlite").read_bytes()
    name = sql.Identifier(settings.postgres_schema, "lotse_person_keys")
    with psycopg.connect(POSTGRES_CONNINFO) as conn:
        return repr(conn.execute(sql.SQL("SELECT * FROM {}").format(name)).fetchall()).encode()


def test_a_case_recorded_by_one_instance_is_read_back_whole_by_another(
    app: LotseApplication, open_app: OpenApp
) -> None:
    register_with_contact(app)
    refer(app, "DD-0042", T0 + 2 * DAY)
    for action, due in [
        (ReferralAction.ACCEPT, T0 + 7 * DAY),
        (ReferralAction.FIRST_CONTACT, T0 + 28 * DAY),
        (ReferralAction.CLOSE, None),
    ]:
        app.advance_referral(INCIDENT, "DD-0042", "r1", action, ctx(), due_at=due)
    app.record_follow_up(INCIDENT, "DD-0042", 1, [PSY], [], ctx())
    app.close_case(INCIDENT, "DD-0042", CaseCloseReason.ALL_NEEDS_MET, ctx())

    other = open_app()
    person = other.person(INCIDENT, "DD-0042")
    assert other.contact_of(INCIDENT, "DD-0042") == ERIKA
    assert person.referrals["r1"].status is ReferralStatus.CLOSED
    assert person.needs[PSY].status is NeedStatus.MET
    assert person.closed_reason is CaseCloseReason.ALL_NEEDS_MET
    assert person.registered_by == REGISTERING_PARTNER
    assert [p.person_ref for p in other.people_of(INCIDENT)] == ["DD-0042"]
    history = other.person_history(INCIDENT, "DD-0042")
    assert history[1].event == "ContactRecorded"
    assert history[1].details == {"contact": ERIKA.model_dump(mode="json")}
    assert history[-1].event == "CaseClosed"


def test_a_person_of_an_undeclared_incident_is_refused(app: LotseApplication) -> None:
    with pytest.raises(IncidentNotFoundError, match="no incident 'elsewhere-2026'"):
        app.register_person("elsewhere-2026", registration(), ctx())


def test_repeated_commands_change_nothing_and_a_second_registration_is_refused(
    app: LotseApplication,
) -> None:
    first = ctx()
    app.register_person(INCIDENT, registration(), first)
    assert app.register_person(INCIDENT, registration(), first).version == 1
    with pytest.raises(PersonAlreadyRegisteredError, match="DD-0042 is already registered"):
        app.register_person(INCIDENT, registration(), ctx())

    step = ctx()
    app.give_consent(INCIDENT, "DD-0042", consent(), step)
    again = app.give_consent(INCIDENT, "DD-0042", consent(), step)
    assert again.version == 2
    assert len(again.consents) == 1
    send = ctx()
    app.assess_needs(INCIDENT, "DD-0042", psychosocial(), T0 + DAY, ctx())
    app.propose_referral(INCIDENT, "DD-0042", "r1", PSY, TARGET, EXPLANATION, ctx())
    for _ in range(2):
        person = app.advance_referral(
            INCIDENT, "DD-0042", "r1", ReferralAction.SEND, send, due_at=T0 + DAY
        )
    assert [s for s, _ in person.referrals["r1"].history] == ["proposed", "sent"]


def test_a_referral_without_consent_is_refused_by_the_application(app: LotseApplication) -> None:
    app.register_person(INCIDENT, registration(), ctx())
    app.assess_needs(INCIDENT, "DD-0042", psychosocial(), T0 + DAY, ctx())
    with pytest.raises(ConsentMissingError, match=f"provider '{PROVIDER}'"):
        app.propose_referral(INCIDENT, "DD-0042", "r1", PSY, TARGET, EXPLANATION, ctx())
    assert app.person(INCIDENT, "DD-0042").referrals == {}


def test_withdrawing_consent_withdraws_the_referral_visibly_in_the_record(
    app: LotseApplication, open_app: OpenApp
) -> None:
    register_with_contact(app)
    refer(app, "DD-0042", T0 + 2 * DAY)
    app.withdraw_consent(INCIDENT, "DD-0042", PROVIDER, ctx(T0 + 3 * HOUR))
    person = open_app().person(INCIDENT, "DD-0042")
    assert person.referrals["r1"].status is ReferralStatus.WITHDRAWN
    assert person.consents[0].withdrawn_at == T0 + 3 * HOUR
    events = [e.event for e in app.person_history(INCIDENT, "DD-0042")]
    assert events[-2:] == ["ConsentWithdrawn", "ReferralWithdrawn"]


def test_people_of_lists_the_incidents_people_in_registration_order_as_they_stand(
    app: LotseApplication, open_app: OpenApp, agreement_terms: AgreementTerms
) -> None:
    app.declare_incident("leipzig-2026-12-01", declaration(), agreement_terms.agreement_id, ctx())
    app.register_person("leipzig-2026-12-01", registration("DD-0042"), ctx())
    for ref in ("DD-0044", "DD-0042", "DD-0043"):
        app.register_person(INCIDENT, registration(ref), ctx())
    refer(app, "DD-0042", T0 + DAY)

    people = open_app().people_of(INCIDENT)
    assert [p.person_ref for p in people] == ["DD-0044", "DD-0042", "DD-0043"]
    assert {p.incident_key for p in people} == {INCIDENT}
    assert people[1].referrals["r1"].status is ReferralStatus.SENT
    assert people[1].version == app.person(INCIDENT, "DD-0042").version


def test_overdue_lists_open_needs_and_live_referrals_oldest_first(app: LotseApplication) -> None:
    register_with_contact(app, "DD-0042")
    register_with_contact(app, "DD-0043")
    app.register_person(INCIDENT, registration("DD-0044"), ctx())
    refer(app, "DD-0042", T0 + 2 * DAY)
    app.assess_needs(INCIDENT, "DD-0043", psychosocial(), T0 + DAY, ctx())
    app.assess_needs(INCIDENT, "DD-0044", psychosocial(), T0 + 9 * DAY, ctx())

    overdue = app.overdue(INCIDENT, T0 + 3 * DAY)
    assert [(i.person_ref, i.status, i.owner, i.due_at, i.referral_id) for i in overdue] == [
        ("DD-0043", NeedStatus.AWAITING_CONSENT, REGISTERING_PARTNER, T0 + DAY, None),
        ("DD-0042", ReferralStatus.SENT, PROVIDER, T0 + 2 * DAY, "r1"),
    ]
    assert app.overdue(INCIDENT, T0 + DAY) == []


def test_erasure_makes_the_contact_unreadable_everywhere_and_changes_no_stored_event(
    app: LotseApplication, open_app: OpenApp, store_settings: Settings
) -> None:
    register_with_contact(app, "DD-0042")
    register_with_contact(app, "DD-0043")
    refer(app, "DD-0042", T0 + 2 * DAY)
    cached = open_app()
    assert cached.contact_of(INCIDENT, "DD-0042") == ERIKA  # now in that instance's cache
    before = raw_event_rows(app, store_settings)

    app.erase_person(INCIDENT, "DD-0042", ctx())

    after = raw_event_rows(app, store_settings)
    assert after[: len(before)] == before, "a stored event changed"
    assert len(after) - len(before) == 3  # ReferralWithdrawn, CaseClosed, PersonalDataErased
    for reader in (app, cached, open_app()):
        with pytest.raises(PersonErasedError, match="DD-0042 was erased"):
            reader.contact_of(INCIDENT, "DD-0042")
        history = reader.person_history(INCIDENT, "DD-0042")
        assert history[1].details == {"contact": "erased"}
        assert history[-1].event == "PersonalDataErased"
        exported = reader.export_person(INCIDENT, "DD-0042")
        assert exported["contact"] == "erased"
        assert exported["erased"] is True
        assert not any(text in repr(exported) for text in PLAINTEXTS)
        assert reader.contact_of(INCIDENT, "DD-0043") == JONAS

    app.erase_person(INCIDENT, "DD-0042", ctx())
    assert raw_event_rows(app, store_settings) == after, "a repeated erasure recorded again"


def test_erasure_is_recorded_once_even_when_the_key_is_already_gone(
    app: LotseApplication,
) -> None:
    register_with_contact(app)
    app.keys.destroy(app.person(INCIDENT, "DD-0042").id)
    with pytest.raises(PersonErasedError):
        app.contact_of(INCIDENT, "DD-0042")
    step = ctx()
    app.erase_person(INCIDENT, "DD-0042", step)
    app.erase_person(INCIDENT, "DD-0042", step)
    events = [e.event for e in app.person_history(INCIDENT, "DD-0042")]
    assert events.count("PersonalDataErased") == 1
    assert app.person(INCIDENT, "DD-0042").erased


def test_no_contact_data_is_stored_in_plain_text_in_the_event_store_or_the_key_store(
    app: LotseApplication, store_settings: Settings
) -> None:
    register_with_contact(app, "DD-0042")
    register_with_contact(app, "DD-0043")
    stored = raw_store_bytes(store_settings)
    sealed = app.person(INCIDENT, "DD-0042").sealed_contact
    assert sealed is not None
    assert sealed.encode() in stored, "the sealed contact should be in what was read"
    for text in PLAINTEXTS:
        assert text.encode() not in stored, f"{text} is stored in plain text"
    keys = key_store_bytes(store_settings)
    for text in PLAINTEXTS:
        assert text.encode() not in keys


def test_the_export_holds_everything_the_record_knows_as_json(app: LotseApplication) -> None:
    register_with_contact(app)
    refer(app, "DD-0042", T0 + 2 * DAY)
    exported = app.export_person(INCIDENT, "DD-0042")
    assert json.loads(json.dumps(exported)) == exported
    assert exported["contact"] == ERIKA.model_dump(mode="json")
    assert exported["registration"]["person_ref"] == "DD-0042"
    assert exported["consents"][0]["scope"]["recipient"] == PROVIDER
    assert exported["needs"][0]["status"] == "referred"
    assert exported["referrals"][0]["history"][1]["status"] == "sent"
    assert [e["event"] for e in exported["history"]][-1] == "ReferralSent"


def test_the_roll_keeps_references_across_processes_and_holds_no_name(
    app: LotseApplication, open_app: OpenApp, store_settings: Settings
) -> None:
    """Issue #8: the roll of listed people is stored as identity keys and references only; a
    second process (a resumed import) gets the same references and records nothing."""
    from datetime import date

    from contracts.people import RegistrationSource
    from domain.identity import identity_keys
    from domain.roll import Listing, Match

    def listing(name: str, born: date, source: RegistrationSource) -> Listing:
        keys = identity_keys(name, born, b"i" * 32)
        return Listing(source, keys.exact, keys.sound, True, 2)

    police, red_cross = RegistrationSource.POLICE_LIST, RegistrationSource.RED_CROSS
    app.register_person(INCIDENT, registration("PL-00001"), ctx())  # typed by hand before
    first, likely = app.place_listings(
        INCIDENT,
        [
            listing("Jonas Quellmalz", date(1979, 6, 1), police),
            listing("Jonas Quelmals", date(1979, 6, 1), red_cross),
        ],
        ctx(),
    )
    assert (first.ref, first.match) == ("PL-00002", Match.NEW)
    assert (likely.ref, likely.pairs) == ("RK-00001", (1,))
    rows = len(raw_event_rows(app, store_settings))

    other = open_app()
    (again,) = other.place_listings(
        INCIDENT, [listing("Quellmalz, Jonas", date(1979, 6, 1), police)], ctx()
    )
    (linked,) = other.place_listings(
        INCIDENT, [listing("Jonas Quellmalz", date(1979, 6, 1), red_cross)], ctx()
    )
    assert (again.ref, again.match) == ("PL-00002", Match.SEEN)
    assert (linked.ref, linked.match) == ("PL-00002", Match.LINKED)
    confirmed = other.settle_duplicate(INCIDENT, 1, True, ctx())
    assert (confirmed.earlier, confirmed.later) == ("PL-00002", "RK-00001")
    roll = app.roll(INCIDENT)
    assert roll is not None
    assert roll.pending() == []
    assert roll.sources["PL-00002"] == ["police-list", "red-cross"]
    stored = raw_event_rows(app, store_settings)
    assert len(stored) == rows + 2  # the link and the confirmation; the repeat recorded nothing
    assert not any("Quel" in repr(row) for row in stored)
