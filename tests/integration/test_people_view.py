"""The people view on both stores: its counts and overdue items match what the record says when
every person is replayed (`people_of`), after the first catch-up and after more events; a second
process catching up at the same time changes nothing twice; nothing personal reaches it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from bootstrap import keep_people_view_current
from contracts.agreement import AgreementTerms
from contracts.case_rules import ReferralAction
from contracts.people import CaseCloseReason
from domain.application import LotseApplication
from domain.errors import IncidentNotFoundError
from domain.people_view_stores import sqlite_view_path
from domain.person import PERSON_EVENT_TOPICS
from settings import Settings
from tests.conftest import POSTGRES_CONNINFO
from tests.integration.test_people_store import INCIDENT, declaration
from tests.people_support import DAY, ERIKA, T0, ctx
from tests.people_view_support import (
    counted_by_view,
    counted_from_record,
    overdue_from_record,
    populate,
)

OpenApp = Callable[[], LotseApplication]
PEOPLE = 22  # two of each of the 11 shapes
NOW = T0 + 2 * DAY  # some due dates before, some after


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
def app(open_app: OpenApp, agreement_terms: AgreementTerms) -> LotseApplication:
    """Two incidents declared: only the first one's people may be counted for it."""
    app = open_app()
    app.load_agreement(agreement_terms, ctx())
    for incident in (INCIDENT, "leipzig-2026-12-01"):
        app.declare_incident(incident, declaration(), agreement_terms.agreement_id, ctx())
    populate(app, INCIDENT, range(PEOPLE))
    populate(app, "leipzig-2026-12-01", range(5), prefix="LE")
    return app


def view_rows(settings: Settings) -> list[tuple[object, ...]]:
    """The view's rows as the database holds them."""
    if settings.store == "sqlite":
        path = sqlite_view_path(str(settings.event_store_path))
        with sqlite3.connect(path) as conn:
            return conn.execute("SELECT * FROM lotse_people_view ORDER BY seq").fetchall()
    table = sql.Identifier(settings.postgres_schema, "lotse_people_view")
    with psycopg.connect(POSTGRES_CONNINFO) as conn:
        return conn.execute(sql.SQL("SELECT * FROM {} ORDER BY seq").format(table)).fetchall()


def test_the_counts_match_the_record_of_every_person(app: LotseApplication) -> None:
    counted = app.people_counts(INCIDENT, NOW)
    assert counted_by_view(app, INCIDENT, NOW) == counted_from_record(app, INCIDENT)
    assert counted.total == PEOPLE
    assert counted.closed == 3  # shape 9 twice, and DD-0010 erased
    assert counted.erased == 1
    assert len(counted.by_involvement) == 6
    assert len(counted.referrals) >= 7
    expected = overdue_from_record(app, INCIDENT, NOW)
    assert counted.overdue_items == expected
    assert counted.overdue == len(expected) > 5
    assert counted.oldest_overdue_at == expected[0].due_at


def test_overdue_is_what_replaying_every_person_gave_at_any_moment(
    app: LotseApplication, open_app: OpenApp
) -> None:
    reader = open_app()  # another process: its first read catches the view up
    for moment in (T0, T0 + DAY, NOW, T0 + 5 * DAY, T0 + 30 * DAY):
        assert reader.overdue(INCIDENT, moment) == overdue_from_record(app, INCIDENT, moment)
    assert reader.overdue(INCIDENT, T0) == []


def test_more_events_after_a_catch_up_are_applied_to_the_rows_they_change(
    app: LotseApplication, open_app: OpenApp, agreement_terms: AgreementTerms
) -> None:
    app.people_counts(INCIDENT, NOW)
    writer = open_app()  # another process records more
    populate(writer, INCIDENT, range(PEOPLE, PEOPLE + 4))  # new people
    writer.advance_referral(
        INCIDENT, "DD-0004", "r1", ReferralAction.ACKNOWLEDGE, ctx(), due_at=T0 + 9 * DAY
    )
    writer.close_case(INCIDENT, "DD-0002", CaseCloseReason.HELP_DECLINED, ctx())
    writer.erase_person(INCIDENT, "DD-0005", ctx())

    assert app.catch_up_people() > 0
    assert app.catch_up_people() == 0  # current: nothing more to apply
    assert counted_by_view(app, INCIDENT, NOW) == counted_from_record(app, INCIDENT)
    assert app.overdue(INCIDENT, NOW) == overdue_from_record(app, INCIDENT, NOW)
    assert app.people_counts(INCIDENT, NOW).total == PEOPLE + 4


def test_two_processes_catching_up_at_once_apply_each_event_once(
    app: LotseApplication, open_app: OpenApp, store_settings: Settings
) -> None:
    readers = [open_app(), open_app()]
    start = threading.Barrier(len(readers))
    applied: list[int] = []

    def catch_up(reader: LotseApplication) -> None:
        start.wait()
        applied.append(reader._people().catch_up(batch_size=7))  # many small batches

    threads = [threading.Thread(target=catch_up, args=(reader,)) for reader in readers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    events = len(app.recorder.select_notifications(1, 100_000, topics=PERSON_EVENT_TOPICS))
    assert sum(applied) == events  # each batch written by exactly one of them
    rows = view_rows(store_settings)
    assert len(rows) == PEOPLE + 5
    assert len({row[0] for row in rows}) == len(rows)
    assert counted_by_view(readers[0], INCIDENT, NOW) == counted_from_record(app, INCIDENT)


def test_the_view_holds_no_personal_data_and_counts_only_declared_incidents(
    app: LotseApplication, store_settings: Settings
) -> None:
    app.record_contact(INCIDENT, "DD-0001", ERIKA, ctx())
    app.catch_up_people()
    stored = repr(view_rows(store_settings))
    for plaintext in ("Quellmalz", "555 0100", "Beispielweg", "erika", "lagedienst", "Angriff"):
        assert plaintext not in stored
    assert "sealed" not in stored
    assert "Frist verstrichen" not in stored
    with pytest.raises(IncidentNotFoundError):
        app.people_counts("unknown-incident", NOW)
    assert app.people_counts("leipzig-2026-12-01", NOW).total == 5


async def test_the_worker_keeps_the_view_current_without_a_reader(
    app: LotseApplication, open_app: OpenApp
) -> None:
    worker = open_app()
    done = asyncio.Event()
    keeper = asyncio.create_task(keep_people_view_current(worker, 0.05, done))
    try:
        last = app.recorder.select_notifications(1, 100_000, topics=PERSON_EVENT_TOPICS)[-1].id
        await until_position(worker, last)
        populate(app, INCIDENT, range(PEOPLE, PEOPLE + 2))
        last = app.recorder.select_notifications(last + 1, 100, topics=PERSON_EVENT_TOPICS)[-1].id
        await until_position(worker, last)
    finally:
        done.set()
        await keeper
    assert worker.catch_up_people() == 0  # nothing left for a reader


async def until_position(app: LotseApplication, position: int) -> None:
    for _ in range(200):
        if app._people().store.position() == position:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the view did not reach notification {position}")
