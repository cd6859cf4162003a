"""Each goal benchmark runs end to end at a tiny size and prints its ratio line (issue #6)."""

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


@pytest.mark.parametrize(
    "store",
    [pytest.param("sqlite"), pytest.param("postgres", marks=pytest.mark.postgres)],
)
def test_append_benchmark_reports_app_and_raw_rates_and_their_ratio(
    store: str, request: pytest.FixtureRequest
) -> None:
    if store == "postgres":
        request.getfixturevalue("postgres_available")
    lines = run_bench("bench.append", "--events", "12", "--runs", "1", "--store", store)
    assert any(line.startswith("application append") for line in lines), lines
    assert any("(floor)" in line for line in lines), lines
    assert lines[-1].startswith("ratio app/raw: "), lines


def test_replay_benchmark_reports_app_and_floor_times_and_their_ratio() -> None:
    lines = run_bench("bench.replay", "--events", "12", "--runs", "1")
    assert lines[0].startswith("store sqlite, one incident of 13 events"), lines
    assert lines[-1].startswith("ratio app speed/floor speed: "), lines


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
