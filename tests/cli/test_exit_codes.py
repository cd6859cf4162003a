"""Every `lotse` process exits with its command's own code: never the abort (134) of the Temporal
client's shutdown race (temporalio/sdk-python#300) after a command that has already succeeded.

The race hit about one run in ten to twenty of a command that used the Temporal client. Every
command leaves through the same exit path (`cli.main.main`, then `os._exit`), so the runs of
all commands that use the client count together: each runs 15 times as a real process of the
installed entry point, four at a time — 75 runs of that path, which a racing exit would pass
unnoticed with a chance of 0.9^75 ≈ 0.04 %. (30 runs each made this one test a third of the
suite's ten minutes.) The store-only commands (`history`, `list`) run fewer times. Updates
repeat one update id, so they are applied once and answered each time. `close-acute`, `reflect`
and `call-off` move the incident on or end it, so they are left out; they share every line of
their exit path with `needs` and `assign` (`cli.updates.send_update`, then `cli.main.main`).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.cli.support import EXAMPLE_DECLARATION, cli_environment
from tests.workflow.support import Stack, eventually

LOTSE = Path(sys.executable).parent / "lotse"
RUNS = 15
FEWER_RUNS = 10
AT_ONCE = 4


def run_many(
    env: dict[str, str], commands: list[list[str]]
) -> list[subprocess.CompletedProcess[str]]:
    def one(args: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(LOTSE), *args], env=env, capture_output=True, text=True, timeout=120
        )

    with ThreadPoolExecutor(AT_ONCE) as pool:
        return list(pool.map(one, commands))


@pytest.mark.slow
async def test_each_command_run_many_times_exits_with_its_own_code_and_never_aborts(
    stack: Stack, temporal_env: WorkflowEnvironment
) -> None:
    incident_id = f"exit-{uuid.uuid4().hex[:10]}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("LOTSE_")}
    lotse_env = cli_environment(
        stack.settings.data_dir,
        LOTSE_TEMPORAL_ADDRESS=temporal_env.client.service_client.config.target_host,
        LOTSE_TASK_QUEUE=stack.settings.task_queue,
    )
    env = {**base, **{k: v for k, v in lotse_env.items() if v is not None}}
    declared = await asyncio.to_thread(
        run_many, env, [["incident", "declare", str(EXAMPLE_DECLARATION), "--id", incident_id]]
    )
    assert declared[0].returncode == 0, declared[0].stderr
    stack.handles.append(stack.client.get_workflow_handle(incident_id))
    await eventually(
        lambda: incident_id in stack.app.incident_keys() and len(stack.history(incident_id)) >= 5,
        bool,
        what="the declaration and four alerts",
    )
    office = ["--staff", "lagedienst-1", "--as", "opferbeauftragte"]
    commands = {
        # Repeated with one update id each: applied once, answered 30 times.
        "needs": ["incident", "needs", incident_id, "--need", "legal:dresden:2", *office,
                  "--update-id", "exit-needs"],
        "ack": ["incident", "ack", incident_id, "--partner", "weisser-ring", "--staff", "wr-1",
                "--update-id", "exit-ack"],
        "assign": ["incident", "assign", incident_id, "--category", "legal",
                   "--partner", "weisser-ring", *office, "--update-id", "exit-assign"],
        "status": ["incident", "status", incident_id],
        "history": ["history", incident_id],
        "list": ["incident", "list"],
        # A refusal must keep its own code, 1.
        "declare again": ["incident", "declare", str(EXAMPLE_DECLARATION), "--id", incident_id],
    }  # fmt: skip
    expected = {"declare again": 1}
    times = {"list": FEWER_RUNS, "history": FEWER_RUNS}
    planned = [
        (name, args) for name, args in commands.items() for _ in range(times.get(name, RUNS))
    ]

    started = time.monotonic()
    runs = await asyncio.to_thread(run_many, env, [args for _, args in planned])
    took = time.monotonic() - started

    for name in commands:
        results = [run for (which, _), run in zip(planned, runs, strict=True) if which == name]
        codes = [r.returncode for r in results]
        aborted = [r.stderr for r in results if "Fatal Python error" in r.stderr]
        assert not aborted, f"{name}: {len(aborted)} of {len(results)} aborted: {aborted[0]}"
        assert codes == [expected.get(name, 0)] * len(results), f"{name}: exit codes {codes}"
    needs = [e for e in stack.history(incident_id) if e.event == "NeedsReported"]
    assert len(needs) == 1
    print(f"{len(runs)} lotse processes, {AT_ONCE} at a time, took {took:.1f}s")
