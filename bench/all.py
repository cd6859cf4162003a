"""Every goal benchmark of issues #6, #8 and #9 and the case figure of issue #7 in one go, printed
as the README's table (`make bench`).

Each figure is a ratio to a floor measured in the same run, the median of `--runs` runs. The
progress and each figure go to stderr as they are measured, the table to stdout at the end.

    .venv/bin/python -m bench.all [--runs 3] [--events 10000] [--stores sqlite,postgres]
        [--incidents 200] [--updates 200] [--declarations 10] [--people 20] [--scale 1000]
        [--verify-events 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from datetime import date
from functools import partial
from typing import Any

import psycopg

from bench import (
    append,
    audit_replay,
    audit_verify,
    case_referral,
    declaration_to_last_alert,
    many_declarations,
    people_scale,
    replay,
    report_needs,
)
from bench.common import POSTGRES_CONNINFO, Figure, StoreKind, at_least


def postgres_reachable() -> bool:
    try:
        with psycopg.connect(POSTGRES_CONNINFO) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return False
    return True


def run_async(measure: Callable[[], Coroutine[Any, Any, list[Figure]]]) -> list[Figure]:
    return asyncio.run(measure())


def table(figures: list[Figure]) -> list[str]:
    lines = [
        "| figure | Lotse | floor (same run) | ratio | goal | command |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for f in figures:
        lines.append(
            f"| {f.name} | {f.measured} | {f.floor} | {f.ratio:.2f} | {f.verdict('**missed**')} | "
            f"`{f.command}` |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument("--events", type=at_least(10), default=10_000, help="per incident")
    parser.add_argument(
        "--history", type=at_least(10), default=100_000, help="events of the replayed incident"
    )
    parser.add_argument("--incidents", type=at_least(1), default=200)
    parser.add_argument("--updates", type=at_least(10), default=200)
    parser.add_argument("--declarations", type=at_least(1), default=10)
    parser.add_argument("--people", type=at_least(1), default=20)
    parser.add_argument("--scale", type=at_least(1), default=1000, help="people in one incident")
    parser.add_argument("--stores", default="sqlite,postgres", help="comma-separated")
    parser.add_argument(
        "--verify-events", type=at_least(100), default=100_000, help="audit verify, SQLite"
    )
    arguments = parser.parse_args()
    runs: int = arguments.runs
    stores: list[StoreKind] = []
    for name in arguments.stores.split(","):
        if name not in ("sqlite", "postgres"):
            parser.error(f"--stores: unknown store {name!r} (sqlite, postgres)")
        if name == "postgres" and not postgres_reachable():
            print("PostgreSQL is not reachable: its figures are left out", file=sys.stderr)
            continue
        stores.append("sqlite" if name == "sqlite" else "postgres")

    steps: list[tuple[str, Callable[[], list[Figure]]]] = []
    for kind in stores:
        for writers in (1, 4):
            steps.append(
                (
                    f"append, {kind}, {writers} writer(s)",
                    partial(append.measure, kind, arguments.events, writers, runs),
                )
            )
        steps.append((f"replay, {kind}", partial(replay.measure, kind, arguments.events, runs)))
        steps.append(
            (
                f"audit replay, {kind}",
                partial(audit_replay.measure, kind, arguments.history, runs),
            )
        )
    if "sqlite" in stores:
        steps.append(
            ("audit verify, sqlite", partial(audit_verify.measure, arguments.verify_events, runs))
        )
    temporal = [
        partial(report_needs.measure, arguments.updates, runs),
        partial(many_declarations.measure, arguments.incidents, runs),
        partial(declaration_to_last_alert.measure, arguments.declarations, runs, False),
        partial(case_referral.measure, arguments.people, runs),
        partial(people_scale.measure_figures, [arguments.scale], runs, people_scale.CONCURRENCY),
    ]
    for measure in temporal:
        steps.append((measure.func.__module__, partial(run_async, measure)))
    figures: list[Figure] = []
    for name, step in steps:
        print(f"running {name} …", file=sys.stderr, flush=True)
        measured = step()
        for figure in measured:
            print(figure.line(), file=sys.stderr, flush=True)
        figures += measured
    print(f"\nMedian of {runs} runs, {date.today().isoformat()}:\n")
    print("\n".join(table(figures)))


if __name__ == "__main__":
    main()
