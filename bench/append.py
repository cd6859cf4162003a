"""Appending through the application against the store's own floor (issue #6, point 2).

The application: `LotseApplication.report_needs` on one incident growing to N events, each
command its own transaction. The floor, in the same run and on the same kind of store: raw
single-row transactions (INSERT one row + COMMIT) into a table shaped like the library's, each
row carrying a state blob as large as the application's median stored event.

Goals: app/raw ≥ 0.7 on SQLite, ≥ 0.5 on PostgreSQL; the Nth command within ±20 % of the 10th.

    .venv/bin/python -m bench.append [--events 10000] [--runs 3] [--store sqlite|postgres]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
import uuid

import psycopg
from psycopg import sql

from bench.common import (
    INCIDENT,
    NEED,
    POSTGRES_CONNINFO,
    Store,
    StoreKind,
    at_least,
    ctx,
    declared_application,
    fresh_store,
    median,
)
from domain import ids

GOALS: dict[StoreKind, float] = {"sqlite": 0.7, "postgres": 0.5}
NTH_GOAL = 0.20  # the Nth command may cost at most this much more (or less) than the 10th


def command_time(seconds: list[float], nth: int) -> float:
    """The time of the nth command (1-based): the median of the five around it, so that one
    stray pause does not decide the figure."""
    return median(seconds[max(0, nth - 3) : nth + 2])


def app_append(store: Store, events: int) -> tuple[list[float], int]:
    """Per-command seconds of `events` needs reports, and the median stored state size."""
    app = declared_application(store.settings)
    seconds: list[float] = []
    try:
        before = app.incident(INCIDENT).version
        for _ in range(events):
            started = time.perf_counter()
            app.report_needs(INCIDENT, NEED, ctx())
            seconds.append(time.perf_counter() - started)
        stored = list(app.events.get(ids.incident_id(INCIDENT), gt=before))
        # One command, one event: otherwise events/s would not compare with one row per commit.
        if len(stored) != events:
            raise SystemExit(f"expected {events} stored events, found {len(stored)}")
        sizes = [len(app.mapper.to_stored_event(event).state) for event in stored]
    finally:
        app.close()
    return seconds, int(median([float(size) for size in sizes]))


def raw_sqlite(store: Store, events: int, payload: bytes) -> float:
    """Seconds for `events` single-row transactions, with the library's table and journal mode."""
    conn = sqlite3.connect(store.folder / "raw.db", isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # as the library sets on a file database
        conn.execute(
            "CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, "
            "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
        )
        originator = uuid.uuid4().hex
        topic = "domain.incident:Incident.NeedsReported"
        started = time.perf_counter()
        for version in range(1, events + 1):
            conn.execute("BEGIN")
            conn.execute(
                "INSERT INTO stored_events VALUES (?,?,?,?)",
                (originator, version, topic, payload),
            )
            conn.execute("COMMIT")
        return time.perf_counter() - started
    finally:
        conn.close()


def raw_postgres(store: Store, events: int, payload: bytes) -> float:
    """Seconds for `events` single-row transactions into a table shaped like the library's."""
    assert store.schema is not None
    table = sql.Identifier(store.schema, "raw_events")
    with psycopg.connect(POSTGRES_CONNINFO) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {} (originator_id uuid NOT NULL, originator_version bigint NOT NULL,"
                " topic text, state bytea, notification_id bigserial,"
                " PRIMARY KEY (originator_id, originator_version))"
            ).format(table)
        )
        conn.commit()
        insert = sql.SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state) VALUES (%s,%s,%s,%s)"
        ).format(table)
        originator = uuid.uuid4()
        topic = "domain.incident:Incident.NeedsReported"
        started = time.perf_counter()
        for version in range(1, events + 1):
            conn.execute(insert, (originator, version, topic, payload), prepare=True)
            conn.commit()
        return time.perf_counter() - started


def one_run(kind: StoreKind, events: int) -> tuple[float, float, float, float, int]:
    """app events/s, raw events/s, 10th command s, Nth command s, payload bytes."""
    with fresh_store(kind) as store:
        seconds, size = app_append(store, events)
    # The floor gets its own fresh store, so that neither writes into a file the other grew.
    payload = os.urandom(size)
    with fresh_store(kind) as store:
        raw = (
            raw_sqlite(store, events, payload)
            if kind == "sqlite"
            else raw_postgres(store, events, payload)
        )
    return (
        events / sum(seconds),
        events / raw,
        command_time(seconds, 10),
        command_time(seconds, events),
        size,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=at_least(10), default=10_000)
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    arguments = parser.parse_args()
    kind: StoreKind = arguments.store
    events: int = arguments.events
    results = [one_run(kind, events) for _ in range(arguments.runs)]
    app_rate = median([r[0] for r in results])
    raw_rate = median([r[1] for r in results])
    tenth = median([r[2] for r in results])
    nth = median([r[3] for r in results])
    size = results[0][4]
    runs = len(results)
    print(f"store {kind}, {events} events on one incident, median of {runs} runs")
    print(f"application append (report_needs): {app_rate:9.0f} events/s")
    print(f"raw single-row INSERT+COMMIT, {size} B state: {raw_rate:9.0f} events/s (floor)")
    print(f"command 10: {tenth * 1000:.2f} ms")
    print(f"command {events}: {nth * 1000:.2f} ms ({(nth / tenth - 1) * 100:+.0f} % vs 10th)")
    ratio = app_rate / raw_rate
    goal = GOALS[kind]
    drift_ok = abs(nth / tenth - 1) <= NTH_GOAL
    print(
        f"ratio app/raw: {ratio:.2f} (goal ≥ {goal}: {'met' if ratio >= goal else 'missed'}); "
        f"Nth vs 10th: {'met' if drift_ok else 'missed'} (goal ±{NTH_GOAL:.0%})"
    )


if __name__ == "__main__":
    main()
