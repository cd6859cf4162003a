"""What the Temporal server writes to disk is ciphertext when client and worker use the codec.

A dev server of its own with `--db-filename` (the shared one keeps its state in memory, with
no file to read): an incident runs with a distinctive marker in its title and call-off reason,
and afterwards the server's database file holds neither marker, while the query and the result
read through the codec show both. A control incident without the codec on the same server
proves that the search would find a marker stored in the clear.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from contracts.messages import CallOff, IncidentOutcome
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES
from tests.workflow.support import (
    PARTNERS,
    SHIPPED_AGREEMENT,
    TEMPORAL_BINARY,
    Stack,
    declaration,
    eventually,
    running_stack,
    staff,
    update,
    with_codec,
)
from workflows.converter import data_converter

MARKER = "Zyxwvu-Marker Uebung"
REASON_MARKER = "Qjxv-Grund Fehlalarm"
SUMMARY_MARKER = "Vwxq-Kurzfassung"
CLEAR_MARKER = "Klartext-Kontrolle Pwqx"


@pytest.fixture(scope="module")
async def disk_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Client, Path]]:
    """A dev server whose state is one SQLite file, and the codec-less client of it."""
    db_file = tmp_path_factory.mktemp("temporal") / "temporal.db"
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_BINARY),
        data_converter=data_converter,
        search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTE_NAMES],
        dev_server_extra_args=["--db-filename", str(db_file), "--headless"],
    )
    yield env.client, db_file
    await env.shutdown()


def stored_bytes(db_file: Path) -> bytes:
    """The server's database as it is on disk, its write-ahead log included."""
    wal = db_file.with_name(db_file.name + "-wal")
    return db_file.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


async def run_incident(
    stack: Stack, title: str, reason: str
) -> tuple[WorkflowHandle[Any, Any], str]:
    """Declare, wait for every alert, call off; the title the status query reads."""
    handle = await stack.client.start_workflow(
        "IncidentResponse",
        declaration(title=title),
        id=f"codec-{uuid.uuid4().hex[:10]}",
        task_queue=stack.settings.task_queue,
        result_type=IncidentOutcome,
        static_summary=f"terrorist · dresden {SUMMARY_MARKER}" if "Zyxwvu" in title else None,
    )
    stack.handles.append(handle)
    await eventually(lambda: len(stack.mails()), lambda n: n >= len(PARTNERS), what="alerts")
    status = await stack.status(handle)
    await update(handle, "call_off", CallOff(actor=staff("opferbeauftragte"), reason=reason))
    return handle, status.title


async def test_the_server_s_database_holds_no_marker_the_codec_encrypted(
    disk_env: tuple[Client, Path], tmp_path: Path
) -> None:
    client, db_file = disk_env
    async with running_stack(client, tmp_path / "sealed", SHIPPED_AGREEMENT, codec=True) as sealed:
        handle, title = await run_incident(sealed, f"Anschlag {MARKER}", REASON_MARKER)
        outcome = await handle.result()
        described = await handle.describe()
    async with running_stack(client, tmp_path / "clear", SHIPPED_AGREEMENT) as clear:
        await run_incident(clear, f"Anschlag {CLEAR_MARKER}", "Kontrolle ohne Codec")

    on_disk = stored_bytes(db_file)

    # Read through the codec, everything is there …
    assert title == f"Anschlag {MARKER}"
    assert outcome.reason == REASON_MARKER
    assert await described.static_summary() == f"terrorist · dresden {SUMMARY_MARKER}"
    # … and on disk, none of it; the control proves a marker in the clear would be found.
    assert CLEAR_MARKER.encode() in on_disk
    assert MARKER.encode() not in on_disk
    assert REASON_MARKER.encode() not in on_disk
    assert SUMMARY_MARKER.encode() not in on_disk  # temporalio 1.35 encodes user metadata too


async def test_a_worker_without_the_codec_cannot_run_an_incident_started_with_it(
    disk_env: tuple[Client, Path], tmp_path: Path
) -> None:
    client, _ = disk_env
    async with running_stack(client, tmp_path, SHIPPED_AGREEMENT) as codecless:
        sealing_client = with_codec(client, codecless.settings)
        handle = await sealing_client.start_workflow(
            "IncidentResponse",
            declaration(title=f"Anschlag {MARKER}"),
            id=f"codec-{uuid.uuid4().hex[:10]}",
            task_queue=codecless.settings.task_queue,
        )
        codecless.handles.append(handle)

        failures = await eventually(
            lambda: workflow_task_failures(handle),
            bool,
            what="a failed workflow task",
        )

    assert "binary/encrypted" in failures[0]
    assert codecless.mails() == []  # nobody was alerted by a worker that could not read it


async def workflow_task_failures(handle: WorkflowHandle[Any, Any]) -> list[str]:
    """The messages of each failed workflow task's failure chain, one string per task."""
    found = []
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failure = event.workflow_task_failed_event_attributes.failure
            found.append(f"{failure.message}: {failure.cause.message}")
    return found
