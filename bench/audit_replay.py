"""Point-in-time replay of a 100,000-event incident against reading its rows by hand (issue #9,
point 10).

One incident is grown once to N events: declared, then needs reports recorded on the kept
incident through its own command and saved 10,000 at a time (one transaction each), as fast as
the library writes. Each run then times `lotse audit replay INCIDENT --version V` for V near the
end (the domain call the command makes: `replay_at_version`, with the agreement and the
directory in force and the people of that moment) on a new application — cache cold, as a CLI
process sees it — and, as the floor, one `SELECT` of the same V rows plus `json.loads` of every
state on a fresh connection. Only the read is timed.

Goal: floor time / replay time ≥ 0.5, i.e. a replay costs at most twice the raw read.

Beside it, on the same history, the reflection report's generation time (no goal set): what
`lotse audit report INCIDENT --format html` computes once its read is recorded — the record of
the incident read on a new application (`read_record`: the incident, its whole history, its
people, roll, agreement and audit reads), its figures and the German HTML with its charts —
against the floor of one `SELECT` of all the incident's rows plus `json.loads` of each.

    .venv/bin/python -m bench.audit_replay [--events 100000] [--runs 3] [--store sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from bench.common import (
    AGREEMENT_FILE,
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
from contracts.directory_file import load_directory_file
from domain import ids
from domain.application import LotseApplication
from domain.reflection import read_record, reflection_figures
from domain.replay import replay_at_version
from reports.labels import Language, ReportFormat
from reports.render import render

GOAL = 0.5
SAVE_EVERY = 10_000
BEHIND_THE_END = 10
"""How far before the last version the replay stops: near the end, not the end."""
DIRECTORY = "hilfsangebote-sachsen"
OFFERS_FILE = AGREEMENT_FILE.with_name("support-offers.toml")


def grow(store: Store, events: int) -> tuple[int, str]:
    """The incident's stored version after `events` needs reports, and the events table name."""
    app = declared_application(store.settings)
    try:
        agreement_key = app.incident(INCIDENT).agreement_key
        app.load_directory(load_directory_file(OFFERS_FILE), ctx(), agreement_key=agreement_key)
        incident = app.incident(INCIDENT)  # a copy, saved in big batches by the loop
        for done in range(events):
            incident.report_needs(NEED, ctx())
            if (done + 1) % SAVE_EVERY == 0 or done + 1 == events:
                app.save(incident)
        version = app.incident(INCIDENT).version
        # Both store's recorders have the name; the base recorder type does not declare it.
        table: str = app.recorder.events_table_name  # type: ignore[attr-defined]
    finally:
        app.close()
    return version, table


def app_report(store: Store) -> float:
    """Seconds to read the incident's record and render its reflection report as HTML."""
    app = LotseApplication(env=store.settings.event_store_env())
    try:
        started = time.perf_counter()
        figures = reflection_figures(read_record(app, INCIDENT), datetime.now(UTC))
        html = render(figures, ReportFormat.HTML, Language.DE)
        seconds = time.perf_counter() - started
    finally:
        app.close()
    if INCIDENT not in html or "<svg" not in html:
        raise SystemExit("the report names no incident or has no chart")
    return seconds


def app_replay(store: Store, version: int) -> float:
    app = LotseApplication(env=store.settings.event_store_env())
    try:
        started = time.perf_counter()
        replay = replay_at_version(app, INCIDENT, version, DIRECTORY)
        seconds = time.perf_counter() - started
    finally:
        app.close()
    if replay.version != version or replay.directory is None:
        raise SystemExit(f"replay reached version {replay.version}, expected {version}")
    return seconds


def floor_read(store: Store, table: str, version: int) -> float:
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


def measure(kind: StoreKind, events: int, runs: int) -> list[Figure]:
    with fresh_store(kind) as store:
        last, table = grow(store, events)
        # At least version 2, the first needs report: recorded after the directory was loaded,
        # so the directory is in force at the replayed moment even in a tiny history.
        version = max(2, last - BEHIND_THE_END)
        app_seconds: list[float] = []
        floor_seconds: list[float] = []
        report_seconds: list[float] = []
        whole_seconds: list[float] = []
        for _ in range(runs):
            app_seconds.append(app_replay(store, version))
            floor_seconds.append(floor_read(store, table, version))
            report_seconds.append(app_report(store))
            whole_seconds.append(floor_read(store, table, last))
    command = f"python -m bench.audit_replay --events {events} --store {kind}"
    return [
        Figure(
            name=f"point-in-time replay at version {version:,} of {last:,}, {kind}, new app",
            measured=f"{median(app_seconds) * 1000:.0f} ms",
            floor=f"{median(floor_seconds) * 1000:.0f} ms SELECT + json.loads",
            ratio=_ratio(app_seconds, floor_seconds),
            goal=f"≥ {GOAL}",
            met=_ratio(app_seconds, floor_seconds) >= GOAL,
            command=command,
        ),
        Figure(
            name=f"… reflection report (HTML, German) of the {last:,}-event incident, new app",
            measured=f"{median(report_seconds) * 1000:.0f} ms",
            floor=f"{median(whole_seconds) * 1000:.0f} ms SELECT + json.loads of all its rows",
            ratio=_ratio(report_seconds, whole_seconds),
            goal=None,
            met=None,
            command="(same)",
        ),
    ]


def _ratio(lotse: list[float], floor: list[float]) -> float:
    """The median of the runs' floor / Lotse: bigger is better."""
    return median([f / t for t, f in zip(lotse, floor, strict=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=at_least(1), default=100_000)
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    arguments = parser.parse_args()
    print(f"store {arguments.store}, {arguments.events} needs reports, median of {arguments.runs}")
    print_figures(measure(arguments.store, arguments.events, arguments.runs))


if __name__ == "__main__":
    main()
