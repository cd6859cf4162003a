"""The `lotse` command line against a real Temporal dev server and a fresh Lotse stack.

`temporal_env` and `stack` come from tests/conftest.py; `lotse` runs a command in-process with
the environment variables that point it at this test's stack.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment
from typer.testing import Result

from tests.cli.support import Lotse, cli_environment, invoke
from tests.workflow.support import Stack, running_stack


@pytest.fixture
async def stack(
    temporal_env: WorkflowEnvironment, tmp_path: Path, agreement_path: Path, offers_path: Path
) -> AsyncIterator[Stack]:
    """The stack of tests/conftest.py with the payload codec: the commands connect through
    `bootstrap.connect`, which always encrypts, so the worker must decrypt with the same keys
    (those in the stack's data folder, which the commands read too)."""
    async with running_stack(
        temporal_env.client, tmp_path, agreement_path, offers_path, codec=True
    ) as stack:
        yield stack


@pytest.fixture
def lotse(stack: Stack, temporal_env: WorkflowEnvironment) -> Lotse:
    """`await lotse("incident", "status", "x")`: a command pointed at this test's stack.

    It runs in a thread: the commands call `asyncio.run`, which cannot nest in the test's loop.
    """
    env = cli_environment(
        stack.settings.data_dir,
        LOTSE_TEMPORAL_ADDRESS=temporal_env.client.service_client.config.target_host,
        LOTSE_TASK_QUEUE=stack.settings.task_queue,
    )

    async def run(
        *args: str, stdin: str | None = None, env_extra: dict[str, str] | None = None
    ) -> Result:
        return await asyncio.to_thread(invoke, {**env, **(env_extra or {})}, *args, stdin=stdin)

    return run
