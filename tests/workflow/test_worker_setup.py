"""The worker prepares its server (search attributes) and stops cleanly on a signal."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from bootstrap import ensure_search_attributes
from codec.keys import ensure_key_file
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES
from tests.workflow.support import REPO_ROOT, TEMPORAL_BINARY


async def test_the_worker_creates_missing_search_attributes_once() -> None:
    bare = await WorkflowEnvironment.start_local(dev_server_existing_path=str(TEMPORAL_BINARY))
    try:
        added = await ensure_search_attributes(bare.client, bare.client.namespace)
        assert added == list(SEARCH_ATTRIBUTE_NAMES)
        assert await ensure_search_attributes(bare.client, bare.client.namespace) == []
        listed = await bare.client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=bare.client.namespace)
        )
        assert set(SEARCH_ATTRIBUTE_NAMES) <= set(listed.custom_attributes)
    finally:
        await bare.shutdown()


async def test_the_worker_process_stops_cleanly_on_sigterm(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "LOTSE_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "LOTSE_TASK_QUEUE": f"victim-support-signal-{uuid.uuid4().hex}",
        "LOTSE_DATA_DIR": str(tmp_path),
    }
    ensure_key_file(tmp_path / "codec-keys.json")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        cwd=REPO_ROOT,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    line = await asyncio.wait_for(process.stderr.readline(), 30)
    while b"worker polling" not in line:
        line = await asyncio.wait_for(process.stderr.readline(), 30)
    process.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert (tmp_path / "events.sqlite").exists()


async def test_a_worker_without_codec_keys_stops_saying_where_they_are_and_makes_none(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # Keys of its own would make its payloads unreadable to every other worker.
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LOTSE_")},
        "LOTSE_TEMPORAL_ADDRESS": temporal_env.client.service_client.config.target_host,
        "LOTSE_DATA_DIR": str(tmp_path),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker",
        cwd=REPO_ROOT,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 60)

    assert process.returncode != 0
    assert f"{tmp_path / 'codec-keys.json'}: no codec key file" in stderr.decode()
    assert not (tmp_path / "codec-keys.json").exists()
