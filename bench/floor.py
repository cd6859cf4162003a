"""What the benchmarks that time one read against a hand-written floor share (replay, audit
replay, audit verify): the floor of reading an incident's stored states, timing both in turns
over the runs, the figure of their times, and the command line of a replay benchmark.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from collections.abc import Callable

import psycopg
from psycopg import sql

from bench.common import INCIDENT, POSTGRES_CONNINFO, Figure, Store, at_least, median
from domain import ids
from domain.application import LotseApplication


def events_table(app: LotseApplication) -> str:
    """The name of the table the application's recorder keeps its events in."""
    # Both store's recorders have the name; the base recorder type does not declare it.
    table: str = app.recorder.events_table_name  # type: ignore[attr-defined]
    return table


def read_states(store: Store, table: str, version: int) -> float:
    """Seconds one `SELECT` of INCIDENT's first `version` stored states plus `json.loads` of
    each takes on a fresh connection (the connection not timed); exits if it finds another
    number of rows."""
    originator = ids.incident_id(INCIDENT)
    if store.kind == "sqlite":
        conn = sqlite3.connect(store.settings.event_store_path)
        try:
            started = time.perf_counter()
            rows = conn.execute(
                f"SELECT state FROM {table} WHERE originator_id=? "  # the recorder's own table
                "AND originator_version<=? ORDER BY originator_version",
                (originator.hex, version),
            ).fetchall()
            states = [json.loads(row[0]) for row in rows]
            seconds = time.perf_counter() - started
        finally:
            conn.close()
    else:
        assert store.schema is not None
        query = sql.SQL(
            "SELECT state FROM {} WHERE originator_id=%s AND originator_version<=%s "
            "ORDER BY originator_version"
        ).format(sql.Identifier(store.schema, table))
        with psycopg.connect(POSTGRES_CONNINFO) as pg:
            started = time.perf_counter()
            pg_rows = pg.execute(query, (originator, version)).fetchall()
            states = [json.loads(row[0]) for row in pg_rows]
            seconds = time.perf_counter() - started
    if len(states) != version:
        raise SystemExit(f"read {len(states)} rows, expected {version}")
    return seconds


def in_turns(
    runs: int, measured: Callable[[], float], floor: Callable[[], float]
) -> tuple[list[float], list[float]]:
    """The seconds of `measured` and of `floor`, each run once in turn, `runs` times."""
    measured_seconds: list[float] = []
    floor_seconds: list[float] = []
    for _ in range(runs):
        measured_seconds.append(measured())
        floor_seconds.append(floor())
    return measured_seconds, floor_seconds


def time_figure(
    name: str,
    seconds: list[float],
    floor_seconds: list[float],
    floor: str,
    goal: float | None,
    command: str,
) -> Figure:
    """Median times in ms against the floor's (`floor` says what it did); the ratio is the
    median of floor time / time over the runs, met at `goal` or more (None: no goal set)."""
    ratio = median([f / s for s, f in zip(seconds, floor_seconds, strict=True)])
    return Figure(
        name=name,
        measured=f"{median(seconds) * 1000:.0f} ms",
        floor=f"{median(floor_seconds) * 1000:.0f} ms {floor}",
        ratio=ratio,
        goal=None if goal is None else f"≥ {goal}",
        met=None if goal is None else ratio >= goal,
        command=command,
    )


def replay_arguments(description: str | None, events: int) -> argparse.Namespace:
    """`--events` (default `events`), `--runs` and `--store` of a replay benchmark."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--events", type=at_least(1), default=events)
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    arguments = parser.parse_args()
    print(f"store {arguments.store}, {arguments.events} needs reports, median of {arguments.runs}")
    return arguments
