"""Replaying a long incident against reading its rows by hand (issue #6, point 2).

One incident is grown to N events once (declaration, then needs reports). Each run then times
`incident(key)` on a new application — cache cold, as a restarted worker or a CLI command sees
it — and, as the floor, one `SELECT` of the same rows plus `json.loads` of every state blob on a
fresh connection. Only the read is timed, not opening the connection or building the application.

Goal: application speed / floor speed ≥ 0.5, i.e. a replay costs at most twice the raw read.

    .venv/bin/python -m bench.replay [--events 10000] [--runs 3] [--store sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time

import psycopg
from psycopg import sql

from bench.common import (
    INCIDENT,
    NEED,
    POSTGRES_CONNINFO,
    Figure,
    Store,
    StoreKind,
    at_least,
    ctx,
    declared_application,
    fresh_store,
    median,
    print_figures,
)
from domain import ids
from domain.application import LotseApplication

GOAL = 0.5


def grow(store: Store, events: int) -> tuple[int, str]:
    """The incident's stored version after `events` needs reports, and the events table name."""
    app = declared_application(store.settings)
    try:
        for _ in range(events):
            app.report_needs(INCIDENT, NEED, ctx())
        version = app.incident(INCIDENT).version
        # Both store's recorders have the name; the base recorder type does not declare it.
        table: str = app.recorder.events_table_name  # type: ignore[attr-defined]
    finally:
        app.close()
    return version, table


def app_replay(store: Store, version: int) -> float:
    app = LotseApplication(env=store.settings.event_store_env())
    try:
        started = time.perf_counter()
        incident = app.incident(INCIDENT)
        seconds = time.perf_counter() - started
    finally:
        app.close()
    if incident.version != version:
        raise SystemExit(f"replay reached version {incident.version}, expected {version}")
    return seconds


def floor_read(store: Store, table: str, version: int) -> float:
    originator = ids.incident_id(INCIDENT)
    if store.kind == "sqlite":
        conn = sqlite3.connect(store.settings.event_store_path)
        try:
            started = time.perf_counter()
            rows = conn.execute(
                f"SELECT state FROM {table} WHERE originator_id=? "  # the recorder's own table name
                "ORDER BY originator_version",
                (originator.hex,),
            ).fetchall()
            states = [json.loads(row[0]) for row in rows]
            seconds = time.perf_counter() - started
        finally:
            conn.close()
    else:
        assert store.schema is not None
        query = sql.SQL(
            "SELECT state FROM {} WHERE originator_id=%s ORDER BY originator_version"
        ).format(sql.Identifier(store.schema, table))
        with psycopg.connect(POSTGRES_CONNINFO) as pg:
            started = time.perf_counter()
            pg_rows = pg.execute(query, (originator,)).fetchall()
            states = [json.loads(row[0]) for row in pg_rows]
            seconds = time.perf_counter() - started
    if len(states) != version:
        raise SystemExit(f"read {len(states)} rows, expected {version}")
    return seconds


def measure(kind: StoreKind, events: int, runs: int) -> list[Figure]:
    with fresh_store(kind) as store:
        version, table = grow(store, events)
        app_seconds: list[float] = []
        floor_seconds: list[float] = []
        for _ in range(runs):
            app_seconds.append(app_replay(store, version))
            floor_seconds.append(floor_read(store, table, version))
    app_time = median(app_seconds)
    floor_time = median(floor_seconds)
    ratio = median([floor / app for app, floor in zip(app_seconds, floor_seconds, strict=True)])
    return [
        Figure(
            name=f"replay of a {version:,}-event incident, {kind}, new application",
            measured=f"{app_time * 1000:.0f} ms",
            floor=f"{floor_time * 1000:.0f} ms SELECT + json.loads",
            ratio=ratio,
            goal=f"≥ {GOAL}",
            met=ratio >= GOAL,
            command=f"python -m bench.replay --events {events} --store {kind}",
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=at_least(1), default=10_000)
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    arguments = parser.parse_args()
    print(f"store {arguments.store}, {arguments.events} needs reports, median of {arguments.runs}")
    print_figures(measure(arguments.store, arguments.events, arguments.runs))


if __name__ == "__main__":
    main()
