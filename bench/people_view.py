"""Counting an incident's people and listing what is overdue, at 5,000 people (issue #8, point 3).

The people are recorded directly (no Temporal): each registered, most with needs assessed
(due in the past or the future), every third one with consent and a referral sent, saved a
hundred aggregates per transaction. Then, per run:

- the first catch-up: the people view dropped, `catch_up_people()` builds it from the record;
  floor: one `SELECT` of the same person events plus `json.loads` of each (what any projection
  must at least read);
- the steady reads on a current view, on an open application (the worker's local activity) —
  `people_counts` (catch-up with nothing to do, every row read and counted) and `overdue`
  (catch-up, the rows with something due read): floor, one `SELECT` of the same rows plus
  `json.loads` of each summary on an open connection;
- for scale, once: `overdue` as it was computed before the view (every person replayed in one
  pass over the notification log).

Figures are medians of `--runs`; the ratio is floor / Lotse (bigger is better). The issue sets
no ratio, only "current within seconds at 5,000 people".

    .venv/bin/python -m bench.people_view [--people 5000] [--runs 3] [--store sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TypeVar

import psycopg
from psycopg import sql

from bench.common import (
    INCIDENT,
    POSTGRES_CONNINFO,
    Figure,
    Store,
    StoreKind,
    at_least,
    declared_application,
    fresh_store,
    print_figures,
)
from bench.floor import time_figure
from contracts.case_rules import ReferralAction
from contracts.messages import Actor, CommandContext
from contracts.people import (
    AssessedNeed,
    ConsentMethod,
    ConsentScope,
    DataCategory,
    Involvement,
    PersonRegistration,
    ReferralTarget,
    RegistrationSource,
    Urgency,
)
from contracts.vocabulary import ActorChannel, NeedCategory
from domain.application import LotseApplication
from domain.people_view_stores import sqlite_view_path
from domain.people_views import overdue_items
from domain.person import PERSON_EVENT_TOPICS, AffectedPerson

T = TypeVar("T")
SAVED_TOGETHER = 100
NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
TARGET = ReferralTarget(offer_id="wr-aussenstelle-dd", provider_id="weisser-ring")


def step(at: datetime) -> CommandContext:
    return CommandContext(
        command_id=str(uuid.uuid4()),
        actor=Actor(partner_id="opferhilfe-sachsen", staff_ref="hotline-3"),
        channel=ActorChannel.CLI,
        business_time=at,
    )


def person(number: int) -> AffectedPerson:
    """Person `number`, invented: no contact data, a case at one of a few steps."""
    at = NOW - timedelta(days=2)
    registration = PersonRegistration(
        person_ref=f"BE-{number:05d}",
        involvement=list(Involvement)[number % len(Involvement)],
        source=RegistrationSource.POLICE_LIST,
        region="dresden",
    )
    p = AffectedPerson(incident_key=INCIDENT, registration=registration, ctx=step(at))
    if number % 5 == 0:
        return p  # registered only
    if number % 3 == 0:
        scope = ConsentScope(
            recipient="weisser-ring",
            data_categories=[DataCategory.NEEDS, DataCategory.NAME],
            method=ConsentMethod.ORAL,
            recorded_by="hotline-3",
            given_at=at,
        )
        p.give_consent(scope, step(at))
    category = list(NeedCategory)[number % 4]
    due = NOW + timedelta(hours=(number % 48) - 24)  # half of them overdue at NOW
    p.assess_needs([AssessedNeed(category=category, urgency=Urgency.SOON)], due, step(at))
    if number % 3 == 0:
        p.propose_referral("r1", category, TARGET, "Begleitung gewünscht", step(at))
        p.advance_referral("r1", ReferralAction.SEND, step(at), due_at=due)
    return p


def record_people(store: Store, people: int) -> None:
    app = declared_application(store.settings)
    try:
        for start in range(0, people, SAVED_TOGETHER):
            app.save(*[person(n) for n in range(start, min(start + SAVED_TOGETHER, people))])
    finally:
        app.close()


def drop_view(store: Store) -> None:
    """The view gone, so that the next catch-up builds it from the first event."""
    if store.kind == "sqlite":
        path = Path(sqlite_view_path(str(store.settings.event_store_path)))
        for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            name.unlink(missing_ok=True)
        return
    assert store.schema is not None
    with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as conn:
        for table in ("lotse_people_view", "lotse_people_view_tracking"):
            identifier = sql.Identifier(store.schema, table)
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(identifier))


def timed(work: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


class Floor:
    """Raw reads of what Lotse reads, on one open connection."""

    def __init__(self, store: Store, events_table: str) -> None:
        self.store = store
        self.events_table = events_table
        if store.kind == "sqlite":
            self.lite = sqlite3.connect(sqlite_view_path(str(store.settings.event_store_path)))
            self.events = sqlite3.connect(store.settings.event_store_path)
        else:
            self.pg = psycopg.connect(POSTGRES_CONNINFO)

    def _rows(self, query: str, parameters: tuple[object, ...]) -> list[object]:
        if self.store.kind == "sqlite":
            return [json.loads(r[-1]) for r in self.lite.execute(query, parameters)]
        assert self.store.schema is not None
        text = query.replace("?", "%s").replace("lotse_people_view", "{}")
        statement = sql.SQL(text).format(sql.Identifier(self.store.schema, "lotse_people_view"))
        return [json.loads(r[-1]) for r in self.pg.execute(statement, parameters)]

    def counts(self) -> int:
        query = (
            "SELECT person_ref, summary FROM lotse_people_view WHERE incident_key = ? ORDER BY seq"
        )
        return len(self._rows(query, (INCIDENT,)))

    def overdue(self) -> int:
        query = (
            "SELECT person_ref, summary FROM lotse_people_view WHERE incident_key = ? "
            "AND next_due < ? ORDER BY seq"
        )
        moment: object = NOW.isoformat(timespec="microseconds")
        if self.store.kind == "postgres":
            moment = NOW
        return len(self._rows(query, (INCIDENT, moment)))

    def events_read(self) -> int:
        topics = list(PERSON_EVENT_TOPICS)
        if self.store.kind == "sqlite":
            marks = ",".join("?" for _ in topics)
            query = f"SELECT state FROM {self.events_table} WHERE topic IN ({marks}) ORDER BY rowid"
            return len([json.loads(r[0]) for r in self.events.execute(query, topics)])
        assert self.store.schema is not None
        statement = sql.SQL(
            "SELECT state FROM {} WHERE topic = ANY(%s) ORDER BY notification_id"
        ).format(sql.Identifier(self.store.schema, self.events_table))
        return len([json.loads(r[0]) for r in self.pg.execute(statement, (topics,))])

    def close(self) -> None:
        if self.store.kind == "sqlite":
            self.lite.close()
            self.events.close()
        else:
            self.pg.close()


def old_overdue(app: LotseApplication) -> int:
    """`overdue` as it was before the view: every person replayed from the log."""
    items = [item for p in app.people_of(INCIDENT) for item in overdue_items(p, NOW)]
    return len(sorted(items, key=lambda item: item.due_at))


def measure(kind: StoreKind, people: int, runs: int) -> list[Figure]:
    first: list[tuple[float, float]] = []
    counts: list[tuple[float, float]] = []
    overdue: list[tuple[float, float]] = []
    with fresh_store(kind) as store:
        record_people(store, people)
        for _ in range(runs):
            drop_view(store)
            app = LotseApplication(env=store.settings.event_store_env())
            table: str = app.recorder.events_table_name  # type: ignore[attr-defined]  # both have it
            try:
                seconds, applied = timed(app.catch_up_people)
                floor = Floor(store, table)
                floor_seconds, read = timed(floor.events_read)
                if applied != read:
                    raise SystemExit(f"catch-up applied {applied} events, the log has {read}")
                first.append((seconds, floor_seconds))
                for _ in range(3):  # warm: the worker's view is current
                    seconds, counted = timed(partial(app.people_counts, INCIDENT, NOW))
                    floor_seconds, rows = timed(floor.counts)
                    assert counted.total == rows == people, (counted.total, rows)
                    counts.append((seconds, floor_seconds))
                    seconds, items = timed(partial(app.overdue, INCIDENT, NOW))
                    floor_seconds, _ = timed(floor.overdue)
                    overdue.append((seconds, floor_seconds))
                floor.close()
                before, expected = timed(partial(old_overdue, app))
                if len(items) != expected:
                    raise SystemExit(f"overdue: view {len(items)}, replay {expected}")
            finally:
                app.close()
    command = f"python -m bench.people_view --people {people} --store {kind}"
    print(f"for scale: overdue by replaying every person (before the view): {before:.2f} s")
    return [
        figure(
            f"first catch-up of {people:,} people, {kind}",
            first,
            "SELECT + json.loads of their events",
            command,
        ),
        figure(
            f"people counts of {people:,} people, {kind}, view current",
            counts,
            "SELECT + json.loads of the rows",
            command,
        ),
        figure(
            f"overdue of {people:,} people, {kind}, view current",
            overdue,
            "SELECT + json.loads of the rows due",
            command,
        ),
    ]


def figure(name: str, pairs: list[tuple[float, float]], floor: str, command: str) -> Figure:
    """A figure without a goal (issue #7) of (app, floor) seconds per run."""
    return time_figure(name, [a for a, _ in pairs], [f for _, f in pairs], floor, None, command)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=at_least(10), default=5_000)
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    arguments = parser.parse_args()
    print(f"store {arguments.store}, {arguments.people} people, median of {arguments.runs}")
    print_figures(measure(arguments.store, arguments.people, arguments.runs))


if __name__ == "__main__":
    main()
