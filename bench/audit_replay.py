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

import time
from datetime import UTC, datetime

from bench.common import (
    AGREEMENT_FILE,
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
from contracts.directory_file import load_directory_file
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
        return app.incident(INCIDENT).version, events_table(app)
    finally:
        app.close()


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


def measure(kind: StoreKind, events: int, runs: int) -> list[Figure]:
    with fresh_store(kind) as store:
        last, table = grow(store, events)
        # At least version 2, the first needs report: recorded after the directory was loaded,
        # so the directory is in force at the replayed moment even in a tiny history.
        version = max(2, last - BEHIND_THE_END)
        app_seconds, floor_seconds = in_turns(
            runs, lambda: app_replay(store, version), lambda: read_states(store, table, version)
        )
        report_seconds, whole_seconds = in_turns(
            runs, lambda: app_report(store), lambda: read_states(store, table, last)
        )
    return [
        time_figure(
            f"point-in-time replay at version {version:,} of {last:,}, {kind}, new app",
            app_seconds,
            floor_seconds,
            "SELECT + json.loads",
            GOAL,
            f"python -m bench.audit_replay --events {events} --store {kind}",
        ),
        time_figure(
            f"… reflection report (HTML, German) of the {last:,}-event incident, new app",
            report_seconds,
            whole_seconds,
            "SELECT + json.loads of all its rows",
            None,
            "(same)",
        ),
    ]


def main() -> None:
    arguments = replay_arguments(__doc__, events=100_000)
    print_figures(measure(arguments.store, arguments.events, arguments.runs))


if __name__ == "__main__":
    main()
