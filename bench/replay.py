"""Replaying a long incident against reading its rows by hand (issue #6, point 2).

One incident is grown to N events once (declaration, then needs reports). Each run then times
`incident(key)` on a new application — cache cold, as a restarted worker or a CLI command sees
it — and, as the floor, one `SELECT` of the same rows plus `json.loads` of every state blob on a
fresh connection. Only the read is timed, not opening the connection or building the application.

Goal: application speed / floor speed ≥ 0.5, i.e. a replay costs at most twice the raw read.

    .venv/bin/python -m bench.replay [--events 10000] [--runs 3] [--store sqlite|postgres]
"""

from __future__ import annotations

import time

from bench.common import (
    INCIDENT,
    NEED,
    Figure,
    Store,
    StoreKind,
    ctx,
    declared_application,
    fresh_store,
    print_figures,
)
from bench.floor import events_table, in_turns, read_states, replay_arguments, time_figure
from domain.application import LotseApplication

GOAL = 0.5


def grow(store: Store, events: int) -> tuple[int, str]:
    """The incident's stored version after `events` needs reports, and the events table name."""
    app = declared_application(store.settings)
    try:
        for _ in range(events):
            app.report_needs(INCIDENT, NEED, ctx())
        return app.incident(INCIDENT).version, events_table(app)
    finally:
        app.close()


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


def measure(kind: StoreKind, events: int, runs: int) -> list[Figure]:
    with fresh_store(kind) as store:
        version, table = grow(store, events)
        app_seconds, floor_seconds = in_turns(
            runs, lambda: app_replay(store, version), lambda: read_states(store, table, version)
        )
    return [
        time_figure(
            f"replay of a {version:,}-event incident, {kind}, new application",
            app_seconds,
            floor_seconds,
            "SELECT + json.loads",
            GOAL,
            f"python -m bench.replay --events {events} --store {kind}",
        )
    ]


def main() -> None:
    arguments = replay_arguments(__doc__, events=10_000)
    print_figures(measure(arguments.store, arguments.events, arguments.runs))


if __name__ == "__main__":
    main()
