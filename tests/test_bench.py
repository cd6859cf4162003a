"""Each goal benchmark runs end to end at a tiny size and prints its ratio lines (issue #6);
`bench.all` prints them as one table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_bench(module: str, *arguments: str) -> list[str]:
    finished = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    return finished.stdout.splitlines()


def ratio_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if " | floor " in line and " | ratio " in line]


@pytest.mark.parametrize(
    "store",
    [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)],
)
@pytest.mark.parametrize("writers", ["1", "2"])
def test_append_benchmark_reports_the_rate_and_the_late_commands_against_their_floors(
    store: str, writers: str, request: pytest.FixtureRequest
) -> None:
    if store == "postgres":
        request.getfixturevalue("postgres_available")
    lines = run_bench(
        "bench.append", "--events", "12", "--writers", writers, "--runs", "1", "--store", store
    )
    rate, late = ratio_lines(lines)
    assert rate.startswith(f"append, {store}, "), lines
    assert "raw " in rate, lines
    assert late.startswith("… command 12 vs 10th"), lines


def test_replay_benchmark_reports_app_and_floor_times_and_their_ratio() -> None:
    lines = run_bench("bench.replay", "--events", "12", "--runs", "1")
    [figure] = ratio_lines(lines)
    assert figure.startswith("replay of a 13-event incident, sqlite"), lines


def test_audit_verify_benchmark_reports_verify_against_a_plain_script() -> None:
    lines = run_bench("bench.audit_verify", "--events", "200", "--runs", "1")
    [figure] = ratio_lines(lines)
    assert figure.startswith("audit verify of 200 events, SQLite"), lines
    assert "sqlite3 SELECT + hashlib.sha256" in figure, lines
    assert figure.endswith(("(goal ≥ 0.8: met)", "(goal ≥ 0.8: missed)")), lines


@pytest.mark.parametrize(
    "store",
    [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)],
)
def test_audit_replay_benchmark_reports_a_replay_near_the_end_against_its_floor(
    store: str, request: pytest.FixtureRequest
) -> None:
    if store == "postgres":
        request.getfixturevalue("postgres_available")
    lines = run_bench("bench.audit_replay", "--events", "30", "--runs", "1", "--store", store)
    replay, report = ratio_lines(lines)
    assert replay.startswith(f"point-in-time replay at version 21 of 31, {store}"), lines
    assert "SELECT + json.loads" in replay, lines
    assert report.startswith("… reflection report (HTML, German) of the 31-event incident"), lines
    assert "SELECT + json.loads of all its rows" in report, lines


@pytest.mark.parametrize(
    "store",
    [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)],
)
def test_people_view_benchmark_reports_the_first_catch_up_and_the_steady_reads(
    store: str, request: pytest.FixtureRequest
) -> None:
    if store == "postgres":
        request.getfixturevalue("postgres_available")
    lines = run_bench("bench.people_view", "--people", "24", "--runs", "1", "--store", store)
    first, counts, overdue = ratio_lines(lines)
    assert first.startswith(f"first catch-up of 24 people, {store}"), lines
    assert counts.startswith(f"people counts of 24 people, {store}, view current"), lines
    assert overdue.startswith(f"overdue of 24 people, {store}, view current"), lines


def test_report_needs_benchmark_reports_sequential_and_concurrent_updates() -> None:
    lines = run_bench("bench.report_needs", "--updates", "10", "--runs", "1")
    sequential, concurrent = ratio_lines(lines)
    assert "one after another" in sequential, lines
    assert "10 in flight" in concurrent, lines


def test_many_declarations_benchmark_reports_lotse_against_bare_workflows() -> None:
    lines = run_bench("bench.many_declarations", "--incidents", "3", "--runs", "1")
    [figure] = ratio_lines(lines)
    assert figure.startswith("3 incidents declared at once until 4 alerts recorded"), lines


def test_declaration_benchmark_reports_the_last_alert_against_a_round_trip() -> None:
    lines = run_bench("bench.declaration_to_last_alert", "--declarations", "1", "--runs", "1")
    [figure] = ratio_lines(lines)
    assert figure.startswith("declaration → 4th alert delivered and recorded"), lines


def test_case_benchmark_reports_the_referral_sent_against_a_round_trip_and_the_bare_case() -> None:
    lines = run_bench("bench.case_referral", "--people", "2", "--runs", "1")
    against_round_trip, against_shape, after_assessment = ratio_lines(lines)
    assert against_round_trip.startswith("registration → referral sent"), lines
    assert "bare round trip" in against_round_trip, lines
    assert "bare case shape" in against_shape, lines
    assert after_assessment.startswith("… needs assessment answered → referral sent"), lines
    assert all(line.endswith("(goal none set)") for line in ratio_lines(lines)), lines


def test_scale_benchmark_drives_every_case_to_sent_and_reports_time_memory_and_limits() -> None:
    lines = run_bench("bench.people_scale", "--people", "10", "--runs", "1")
    per_person, registration, memory = ratio_lines(lines)
    assert per_person.startswith("10 people imported and driven to referral sent"), lines
    assert "bare case shape" in per_person, lines
    assert per_person.endswith(("(goal ≤ 1.5: met)", "(goal ≤ 1.5: missed)")), lines
    assert registration.startswith("… the import of the 10 rows"), lines
    assert memory.startswith("… the worker's peak memory"), lines
    assert " MiB | floor " in memory, lines
    [limits] = [line for line in lines if "Temporal: a case's history at most" in line]
    assert "(10 cases sampled)" in limits, lines


@pytest.mark.slow
def test_all_benchmarks_print_one_table_row_per_figure() -> None:
    lines = run_bench(
        "bench.all",
        *("--runs", "1", "--events", "10", "--history", "10", "--incidents", "2"),
        *("--updates", "10", "--declarations", "1", "--people", "1", "--scale", "2"),
        *("--stores", "sqlite", "--verify-events", "200"),
    )
    rows = [line for line in lines if line.startswith("| ") and "---" not in line]
    # The header, append (rate and late commands) for 1 and 4 writers, replay, audit replay and
    # the reflection report, two
    # report_needs figures, the many declarations, the declaration to the last alert, and the
    # case: registration to sent against two floors, assessment to sent; the scale benchmark:
    # time per person, registration, the worker's peak memory; audit verify.
    assert len(rows) == 1 + 4 + 1 + 2 + 2 + 1 + 1 + 3 + 3 + 1, lines
    assert all(row.count(" | ") == 5 for row in rows), rows  # six columns


def test_a_benchmark_size_below_its_minimum_is_refused_with_the_rule() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "bench.append", "--events", "5"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == 2
    assert "--events: 5 is too small: must be at least 10" in finished.stderr
