"""Helpers for workflow tests: the example declaration, the per-test stack, polling."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowHistory

from bootstrap import ACTIVITY_THREADS, build_application, build_data_converter, build_worker
from cli import offers
from cli.agreement import load_into_store
from cli.smtp_sink import MailSink, read_mailbox
from codec.keys import ensure_key_file
from contracts.agreement import load_agreement_file
from contracts.directory_file import load_directory_file
from contracts.messages import (
    AcknowledgeAlert,
    AcknowledgementResult,
    Actor,
    IncidentDeclaration,
    IncidentOutcome,
    IncidentStatus,
    PhaseResult,
)
from domain.application import HistoryEntry, LotseApplication
from settings import Settings
from workflows.incident_response import IncidentResponse

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPORAL_BINARY = Path(sys.executable).parent / "temporal"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def declaration(**overrides: Any) -> dict[str, Any]:
    """The example declaration with deadlines short enough for a test."""
    base: dict[str, Any] = {
        "title": "Anschlag auf den Weihnachtsmarkt (Übung)",
        "kind": "terrorist",
        "occurred_at": "2026-11-28T17:05:00+01:00",
        "location": "Altmarkt",
        "region": "dresden",
        "declared_by": {"partner_id": "opferbeauftragte", "staff_ref": "lagedienst-1"},
        "estimated_affected": 120,
        "deadlines": {"ack": 60, "escalation_step": 60, "reflection_after": 1},
    }
    base.update(overrides)
    return base


@dataclass
class Stack:
    """Everything one test needs: the client, the worker's settings and the store."""

    client: Client
    settings: Settings
    app: LotseApplication
    mail_dir: Path
    handles: list[WorkflowHandle[Any, Any]] = field(default_factory=list)
    sink: MailSink | None = None
    """The stack's SMTP relay: stop it to play a relay outage, start it to end one."""

    async def declare(
        self, data: dict[str, Any], incident_id: str | None = None
    ) -> WorkflowHandle[Any, Any]:
        handle = await self.client.start_workflow(
            "IncidentResponse",
            data,
            id=incident_id or f"incident-{uuid.uuid4().hex[:10]}",
            task_queue=self.settings.task_queue,
            result_type=IncidentOutcome,
        )
        self.handles.append(handle)
        return handle

    def mails(self) -> list[EmailMessage]:
        return read_mailbox(self.mail_dir)

    def history(self, incident_id: str) -> list[HistoryEntry]:
        return self.app.history(incident_id)

    async def status(self, handle: WorkflowHandle[Any, Any]) -> IncidentStatus:
        status: IncidentStatus = await handle.query("status", result_type=IncidentStatus)
        return status


async def eventually(
    probe: Callable[[], Any],
    until: Callable[[Any], bool],
    within: float = 20.0,
    what: str = "condition",
) -> Any:
    """Poll `probe` until `until(result)` holds; fail naming `what` and the last value."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = probe()
        value = await result if isinstance(result, Awaitable) else result
        if until(value):
            return value
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"timed out after {within}s waiting for {what}; last value: {value!r}")
        await asyncio.sleep(0.1)


SHIPPED_AGREEMENT = REPO_ROOT / "agreements" / "saxony.toml"
SHIPPED_OFFERS = REPO_ROOT / "agreements" / "support-offers.toml"
PARTNERS = ["opferbeauftragte", "opferhilfe-sachsen", "weisser-ring", "raa-sachsen"]
"""The partners of the shipped agreement, in its order."""


def make_settings(tmp_path: Path, smtp_port: int, task_queue: str, **extra: Any) -> Settings:
    extra.setdefault("agreement_file", SHIPPED_AGREEMENT)
    return Settings(
        temporal_address="unused-in-tests",
        task_queue=task_queue,
        data_dir=tmp_path,
        store="sqlite",
        smtp_port=smtp_port,
        delivery_max_attempts=2,
        delivery_initial_interval_seconds=0.2,
        delivery_maximum_interval_seconds=0.5,
        **extra,
    )


def load_agreement(settings: Settings) -> None:
    """Load the settings' agreement file into the settings' store, as `lotse agreement load`,
    and its directory of support offers, as `lotse offers load`."""
    actor = Actor(partner_id="opferbeauftragte", staff_ref="test-setup")
    load_into_store(settings, load_agreement_file(settings.agreement_file), actor)
    directory = load_directory_file(settings.support_offers_file)
    offers.load_into_store(settings, directory, actor)


def with_codec(client: Client, settings: Settings) -> Client:
    """`client` (same connection) with the data converter `bootstrap.connect` gives: the codec
    with the key ring of `settings`, created in its data folder if missing, as `lotse dev` does."""
    ensure_key_file(settings.codec_keys_path)
    config = client.config()
    config["data_converter"] = build_data_converter(settings)
    return Client(**config)


@asynccontextmanager
async def running_stack(
    client: Client,
    folder: Path,
    agreement_file: Path,
    offers_file: Path = SHIPPED_OFFERS,
    *,
    codec: bool = False,
) -> AsyncIterator[Stack]:
    """A Lotse stack in `folder`: store with the agreement and the directory of offers loaded,
    mail sink, and a worker on a task queue of its own; its workflows are terminated when it
    ends.

    With `codec`, the stack's client and worker encrypt payloads as `bootstrap.connect` makes
    them do (keys in `folder`); without, they use the codec-less converter of `client`, so the
    histories the workflow tests keep (tests/histories) stay replayable without keys."""
    settings = make_settings(
        folder,
        free_port(),
        f"victim-support-test-{uuid.uuid4().hex}",
        agreement_file=agreement_file,
        support_offers_file=offers_file,
    )
    if codec:
        client = with_codec(client, settings)
    sink = MailSink(settings.mail_dir, port=settings.smtp_port)
    sink.start()
    worker_app = build_application(settings)
    load_agreement(settings)
    reader_app = build_application(settings)
    stack = Stack(client, settings, reader_app, settings.mail_dir, sink=sink)
    try:
        with ThreadPoolExecutor(ACTIVITY_THREADS) as pool:
            async with build_worker(client, settings, worker_app, pool):
                yield stack
                for handle in stack.handles:
                    await terminate_if_running(handle)
    finally:
        sink.stop()
        worker_app.close()
        reader_app.close()


async def terminate_if_running(handle: WorkflowHandle[Any, Any]) -> None:
    description = await handle.describe()
    if description.status is not None and description.status.name == "RUNNING":
        await handle.terminate(reason="test finished")


# Referenced so that the workflow module is imported (and its sandbox validated) at collection.
assert IncidentResponse is not None
assert IncidentDeclaration is not None


async def keep_history(handle: WorkflowHandle[Any, Any], name: str) -> WorkflowHistory:
    """The workflow's Temporal history; with LOTSE_RECORD_HISTORIES=DIR also written to
    DIR/NAME.json. That is how tests/histories/*.json, the replay guard, are made."""
    history = await handle.fetch_history()
    if target := os.environ.get("LOTSE_RECORD_HISTORIES"):
        path = Path(target) / f"{name}.json"
        await asyncio.to_thread(path.write_text, history.to_json(), "utf-8")
    return history


def payload_texts(history: WorkflowHistory) -> str:
    """Every payload in a Temporal history, decoded: what Temporal actually stores.

    (`to_json()` keeps payloads base64-encoded, so searching it finds nothing.)"""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "metadata" in node and isinstance(node.get("data"), str):
                texts.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(history.to_json()))
    return "\n".join(texts)


def staff(partner_id: str) -> Actor:
    """Someone of the partner's on-call staff (a role, never a name)."""
    return Actor(partner_id=partner_id, staff_ref="bereitschaft-1")


async def ack(
    handle: WorkflowHandle[Any, Any], partner_id: str, **extra: Any
) -> AcknowledgementResult:
    result: AcknowledgementResult = await handle.execute_update(
        "acknowledge_alert",
        AcknowledgeAlert(
            partner_id=partner_id, actor=extra.pop("actor", staff(partner_id)), **extra
        ),
        result_type=AcknowledgementResult,
    )
    return result


async def update(handle: WorkflowHandle[Any, Any], name: str, request: Any) -> PhaseResult:
    """Send an update that answers with the phase, and wait for its answer."""
    result: PhaseResult = await handle.execute_update(name, request, result_type=PhaseResult)
    return result
