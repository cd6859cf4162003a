"""Opening a projection's PostgreSQL tables while another process writes a batch into them.

A catch-up holds its tracking row (the `UPDATE` that moves the position) while it inserts the
batch's rows; an opener makes the tables if missing and its tracking row unless it exists. When
the opener locked the tables first (`CREATE INDEX IF NOT EXISTS` locks its table even when the
index exists) and then waited for the tracking row, the two deadlocked: PostgreSQL cancelled one
of them after `deadlock_timeout` (1 s), and when that was the writer its catch-up failed."""

from __future__ import annotations

import threading
import time
import uuid

import psycopg
import pytest
from eventsourcing.utils import Environment
from psycopg import sql

from domain.people_view_postgres import TRACKING, TRACKING_NAME, VIEW, PostgresPeopleView
from domain.postgres_target import postgres_target
from settings import Settings

pytestmark = pytest.mark.postgres
QUICK = 0.8
"""Seconds within which the writer's insert must be done: below the 1 s `deadlock_timeout`."""


def waiting_for_a_lock(conninfo: str, application_name: str) -> bool:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
            "AND wait_event_type = 'Lock'",
            (application_name,),
        ).fetchone()
    return row is not None and row[0] > 0


def test_an_opener_waits_for_a_writing_catch_up_instead_of_locking_its_tables(
    postgres_settings: Settings,
) -> None:
    conninfo, schema = postgres_target(Environment("Lotse", postgres_settings.event_store_env()))
    PostgresPeopleView(conninfo, schema).close()  # the tables exist, as in a running service
    opener_name = f"opener-{uuid.uuid4().hex[:8]}"
    opened: list[PostgresPeopleView] = []
    failed: list[BaseException] = []

    def open_view() -> None:
        try:
            opened.append(PostgresPeopleView(f"{conninfo} application_name={opener_name}", schema))
        except BaseException as error:  # reported by the assertion below
            failed.append(error)

    with psycopg.connect(conninfo) as writer:  # one transaction, as `write` runs it
        writer.execute(
            sql.SQL("UPDATE {} SET position = 1 WHERE name = %s AND position = 0").format(
                sql.Identifier(schema, TRACKING)
            ),
            (TRACKING_NAME,),
        )
        opener = threading.Thread(target=open_view)
        opener.start()
        deadline = time.monotonic() + 10
        while not waiting_for_a_lock(conninfo, opener_name):
            assert time.monotonic() < deadline, "the opener never waited for the writer"
            time.sleep(0.02)
        started = time.monotonic()
        writer.execute(
            sql.SQL(
                "INSERT INTO {} (person_id, incident_key, person_ref, seq, version, next_due, "
                "summary) VALUES (%s, 'x', 'DD-0001', 1, 1, NULL, '{{}}')"
            ).format(sql.Identifier(schema, VIEW)),
            (uuid.uuid4(),),
        )
        took = time.monotonic() - started
        writer.commit()
    opener.join(timeout=10)
    for view in opened:
        view.close()
    assert failed == []
    assert len(opened) == 1
    assert took < QUICK, f"the writer waited {took:.2f} s for the opener's lock"
