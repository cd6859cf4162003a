"""Appending through the application against the store's own floor (issue #6, point 2).

The application: `LotseApplication.report_needs` on incidents growing to N events each, every
command its own transaction — one writer on one incident, or W writers (threads of one process,
one application, as the worker's activity thread pool runs them) each on its own incident. The
floor, in the same run and on the same kind of store: W threads doing raw single-row
transactions (INSERT one row + COMMIT, one connection each) into a table shaped like the
library's, each row carrying a state blob as large as the application's median stored event.

Goals: app/raw ≥ 0.7 on SQLite, ≥ 0.5 on PostgreSQL; the commands near the Nth no slower than
those near the 10th (at most +20 %), each the median of a window of commands.

    .venv/bin/python -m bench.append [--events 10000] [--writers 1] [--runs 3] [--store sqlite]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from bench.common import (
    NEED,
    POSTGRES_CONNINFO,
    Figure,
    Store,
    StoreKind,
    at_least,
    ctx,
    declared_application,
    fresh_store,
    incident_key,
    median,
    print_figures,
)
from domain import ids

GOALS: dict[StoreKind, float] = {"sqlite": 0.7, "postgres": 0.5}
LATE_GOAL = 1.20  # the commands near the Nth may cost at most this times those near the 10th
WINDOW = 20  # commands per window: the 10th to the 29th, and the last 20
TOPIC = "domain.incident:Incident.NeedsReported"


@dataclass(frozen=True)
class AppendRun:
    app_rate: float  # events/s through the application, all writers together
    raw_rate: float  # events/s of the raw floor, all writers together
    early: float  # seconds per command near the 10th (median of the window, all writers)
    late: float  # seconds per command near the Nth
    state_bytes: int


def early_window(seconds: list[float]) -> list[float]:
    return seconds[9 : 9 + WINDOW] or seconds[-WINDOW:]


def late_window(seconds: list[float]) -> list[float]:
    return seconds[-WINDOW:]


def in_threads(writers: int, work: Callable[[int], None]) -> float:
    """Wall seconds for `writers` threads each running `work(number)`, started together."""
    start = threading.Barrier(writers + 1)
    failures: list[BaseException] = []

    def run(number: int) -> None:
        start.wait()
        try:
            work(number)
        except BaseException as error:  # reported after the join, in the main thread
            failures.append(error)

    threads = [threading.Thread(target=run, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise failures[0]
    return seconds


def app_append(store: Store, events: int, writers: int) -> tuple[float, list[list[float]], int]:
    """Wall seconds, per-command seconds of each writer, and the median stored state size."""
    app = declared_application(store.settings, incidents=writers)
    per_writer: list[list[float]] = [[] for _ in range(writers)]
    try:
        before = app.incident(incident_key(0)).version

        def write(number: int) -> None:
            key = incident_key(number)
            seconds = per_writer[number]
            for _ in range(events):
                # The context is the activity's input, decoded before the command starts.
                command_ctx = ctx()
                started = time.perf_counter()
                app.report_needs(key, NEED, command_ctx)
                seconds.append(time.perf_counter() - started)

        wall = in_threads(writers, write)
        stored = list(app.events.get(ids.incident_id(incident_key(0)), gt=before))
        # One command, one event: otherwise events/s would not compare with one row per commit.
        if len(stored) != events:
            raise SystemExit(f"expected {events} stored events, found {len(stored)}")
        sizes = [len(app.mapper.to_stored_event(event).state) for event in stored]
    finally:
        app.close()
    return wall, per_writer, int(median([float(size) for size in sizes]))


def raw_sqlite(store: Store, events: int, writers: int, payload: bytes) -> float:
    """Wall seconds for `writers` threads doing `events` single-row transactions each, with the
    library's table, journal mode (WAL) and synchronous setting (SQLite's default, FULL)."""
    path = store.folder / "raw.db"
    with sqlite3.connect(path, isolation_level=None) as setup:
        setup.execute("PRAGMA journal_mode=WAL")  # as the library sets on a file database
        setup.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
    connections = [
        sqlite3.connect(path, isolation_level=None, check_same_thread=False) for _ in range(writers)
    ]
    # SQLite has one writer at a time. The writers take turns through a lock, as the library's
    # connection pool makes its writers do, not through SQLite's busy handler, which sleeps and
    # let one writer wait past its timeout ("database is locked") while the others went on.
    one_writer = threading.Lock()

    def write(number: int) -> None:
        conn = connections[number]
        originator = uuid.uuid4().hex
        for version in range(1, events + 1):
            with one_writer:
                conn.execute("BEGIN")
                conn.execute(
                    "INSERT INTO stored_events VALUES (?,?,?,?)",
                    (originator, version, TOPIC, payload),
                )
                conn.execute("COMMIT")

    try:
        return in_threads(writers, write)
    finally:
        for conn in connections:
            conn.close()


def raw_postgres(store: Store, events: int, writers: int, payload: bytes) -> float:
    """Wall seconds for `writers` threads doing `events` single-row transactions each into a
    table shaped like the library's (its notification id a bigserial)."""
    assert store.schema is not None
    table = sql.Identifier(store.schema, "raw_events")
    with psycopg.connect(POSTGRES_CONNINFO, autocommit=True) as setup:
        setup.execute(
            sql.SQL(
                "CREATE TABLE {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
                " topic text, state bytea, notification_id bigserial,"
                " PRIMARY KEY (originator_id, originator_version))"
            ).format(table)
        )
    insert = sql.SQL(
        "INSERT INTO {} (originator_id, originator_version, topic, state) VALUES (%s,%s,%s,%s)"
    ).format(table)
    connections = [psycopg.connect(POSTGRES_CONNINFO) for _ in range(writers)]

    def write(number: int) -> None:
        conn = connections[number]
        originator = uuid.uuid4()
        for version in range(1, events + 1):
            conn.execute(insert, (originator, version, TOPIC, payload), prepare=True)
            conn.commit()

    try:
        return in_threads(writers, write)
    finally:
        for conn in connections:
            conn.close()


def one_run(kind: StoreKind, events: int, writers: int) -> AppendRun:
    with fresh_store(kind) as store:
        wall, per_writer, size = app_append(store, events, writers)
    # The floor gets its own fresh store, so that neither writes into a file the other grew.
    payload = os.urandom(size)
    raw = raw_sqlite if kind == "sqlite" else raw_postgres
    with fresh_store(kind) as store:
        raw_wall = raw(store, events, writers, payload)
    return AppendRun(
        app_rate=events * writers / wall,
        raw_rate=events * writers / raw_wall,
        early=median([s for seconds in per_writer for s in early_window(seconds)]),
        late=median([s for seconds in per_writer for s in late_window(seconds)]),
        state_bytes=size,
    )


def measure(kind: StoreKind, events: int, writers: int, runs: int) -> list[Figure]:
    """Two figures: the rate against the floor, and late against early commands."""
    results = [one_run(kind, events, writers) for _ in range(runs)]
    app_rate = median([r.app_rate for r in results])
    raw_rate = median([r.raw_rate for r in results])
    early = median([r.early for r in results])
    late = median([r.late for r in results])
    library = "sqlite3" if kind == "sqlite" else "psycopg"
    who = "1 writer" if writers == 1 else f"{writers} writers on {writers} incidents"
    command = f"python -m bench.append --events {events} --writers {writers} --store {kind}"
    ratio = app_rate / raw_rate
    late_ratio = late / early
    return [
        Figure(
            name=f"append, {kind}, {who}, {events:,} events each",
            measured=f"{app_rate:,.0f} events/s",
            floor=f"{raw_rate:,.0f}/s raw {library} INSERT+COMMIT, {results[0].state_bytes} B",
            ratio=ratio,
            goal=f"≥ {GOALS[kind]}",
            met=ratio >= GOALS[kind],
            command=command,
        ),
        Figure(
            name=f"… command {events:,} vs 10th ({kind}, {who})",
            measured=f"{late * 1000:.2f} ms",
            floor=f"{early * 1000:.2f} ms",
            ratio=late_ratio,
            goal=f"≤ {LATE_GOAL}",
            met=late_ratio <= LATE_GOAL,
            command=command,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=at_least(10), default=10_000, help="per incident")
    parser.add_argument("--writers", type=at_least(1), default=1)
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    arguments = parser.parse_args()
    print(
        f"store {arguments.store}, {arguments.writers} writer(s), {arguments.events} events per "
        f"incident, median of {arguments.runs} runs; commands near the 10th and the "
        f"{arguments.events}th: medians of {WINDOW}"
    )
    print_figures(measure(arguments.store, arguments.events, arguments.writers, arguments.runs))


if __name__ == "__main__":
    main()
