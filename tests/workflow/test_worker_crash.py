"""A worker killed right after the store committed, before Temporal heard back, loses nothing and
duplicates nothing: a new worker retries the activity with the same command id."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment

from cli.smtp_sink import MailSink, read_mailbox
from contracts.messages import AcknowledgeAlert, Actor
from domain.application import LotseApplication
from settings import Settings
from tests.workflow.support import (
    REPO_ROOT,
    declaration,
    eventually,
    free_port,
    load_agreement,
    make_settings,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def crash_settings(tmp_path: Path) -> Iterator[Settings]:
    settings = make_settings(tmp_path, free_port(), f"victim-support-crash-{uuid.uuid4().hex}")
    load_agreement(settings)
    with MailSink(settings.mail_dir, port=settings.smtp_port):
        yield settings


def spawn_worker(
    env: WorkflowEnvironment, settings: Settings, crash_in: str = ""
) -> subprocess.Popen[bytes]:
    variables = {
        **os.environ,
        "LOTSE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "LOTSE_TASK_QUEUE": settings.task_queue,
        "LOTSE_DATA_DIR": str(settings.data_dir),
        "LOTSE_STORE": "sqlite",
        "LOTSE_AGREEMENT_FILE": str(settings.agreement_file),
        "LOTSE_SMTP_PORT": str(settings.smtp_port),
        "LOTSE_CRASH_AFTER_COMMIT_IN": crash_in,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "worker"], cwd=REPO_ROOT, env=variables, stderr=subprocess.PIPE
    )


async def wait_for_exit(process: subprocess.Popen[bytes], within: float) -> int:
    returncode = await asyncio.wait_for(asyncio.to_thread(process.wait), within)
    return returncode


@pytest.fixture
async def workers() -> AsyncIterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            await wait_for_exit(process, 15)


@pytest.mark.parametrize(
    "crash_in", ["record_declaration", "record_notification", "record_acknowledgement"]
)
async def test_a_worker_killed_after_the_commit_is_resumed_by_a_new_one_without_duplicates(
    temporal_env: WorkflowEnvironment,
    crash_settings: Settings,
    workers: list[subprocess.Popen[bytes]],
    crash_in: str,
) -> None:
    incident_id = f"crash-{crash_in}-{uuid.uuid4().hex[:8]}"
    first = spawn_worker(temporal_env, crash_settings, crash_in=crash_in)
    workers.append(first)
    handle = await temporal_env.client.start_workflow(
        "IncidentResponse", declaration(), id=incident_id, task_queue=crash_settings.task_queue
    )
    if crash_in == "record_acknowledgement":
        await eventually(
            lambda: read_mailbox(crash_settings.mail_dir), lambda m: len(m) >= 4, what="alerts"
        )
        update = await handle.start_update(
            "acknowledge_alert",
            AcknowledgeAlert(
                partner_id="raa-sachsen", actor=Actor(partner_id="raa-sachsen", staff_ref="s-1")
            ),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
    assert await wait_for_exit(first, 30) == -signal.SIGKILL

    app = LotseApplication(env=crash_settings.event_store_env())
    try:
        committed = [e.event for e in app.history(incident_id)]
        assert committed.count("Declared") == 1  # the commit happened before the crash
        if crash_in == "record_acknowledgement":
            assert committed.count("AlertAcknowledged") == 1
        if crash_in == "record_notification":
            assert committed.count("AlertSent") >= 1  # at least the one that killed the worker

        workers.append(spawn_worker(temporal_env, crash_settings))
        if crash_in == "record_acknowledgement":
            await asyncio.wait_for(update.result(), 60)
            expected = {"Declared": 1, "AlertSent": 4, "AlertAcknowledged": 1}
        else:
            expected = {"Declared": 1, "AlertSent": 4}
        events = await eventually(
            lambda: [e.event for e in app.history(incident_id)],
            lambda names: names.count("AlertSent") >= 4,
            within=60,
            what="the new worker to finish alerting",
        )
        assert {name: events.count(name) for name in expected} == expected
        assert len(read_mailbox(crash_settings.mail_dir)) == 4
    finally:
        app.close()
        await handle.terminate(reason="test finished")
