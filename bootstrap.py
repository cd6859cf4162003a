"""Wiring only: settings → event store, notifier, Temporal client → activities → worker.

The one place where Lotse's dependencies are built from a `Settings` (docs/architecture.md);
nothing is built at import time. The worker process (`worker.py`) and the CLI both use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import psycopg
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Interceptor, UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from codec.aesgcm import EncryptionCodec
from codec.keys import KeyRing, read_key_file
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES
from domain.application import LotseApplication
from settings import Settings
from workflows.converter import SealingFailureConverter, data_converter

if TYPE_CHECKING:
    from activities.notify import Notifier

log = logging.getLogger("lotse.worker")

ACTIVITY_THREADS = 12
"""Threads for activities (local ones too). Fewer than the SQLite event store's connection pool
holds (5 + 10 overflow): with 12, the people view's catch-up thread and a reader of the
worker's own still find a connection without waiting (tests/integration/test_event_store.py).
Should the pool run dry all the same, a request waits up to `sqlite_pool_timeout_seconds` and
then fails its activity, which Temporal retries; the pool (domain/sqlite_store.py) gives back
the writer lock such a request took. eventsourcing 9.5.6's own pool kept it, and every later
write timed out: that is where 5,000 people in one incident stalled on SQLite, with 16 threads
and again with 12 (see the README's scale benchmark, measured before Lotse's pool)."""


WORKFLOW_TASKS = 16
"""Workflow tasks the worker works on at once. A task includes the local activities it starts
(the record's steps), which wait for the `ACTIVITY_THREADS`; with the SDK's default of 100,
tasks queued inside the worker behind them ran past Temporal's 10 s task timeout when 5,000
people arrived at once, and were done again. Tasks beyond these wait at the server, where the
timeout does not run."""


def build_application(settings: Settings) -> LotseApplication:
    """The event-sourced application on the configured store (SQLite file by default)."""
    if settings.store == "sqlite":
        settings.event_store_path.parent.mkdir(parents=True, exist_ok=True)
    else:
        # Fail here, clearly, rather than inside the library's constructor, which leaves a
        # half-built connection pool behind for the garbage collector.
        psycopg.connect(
            host=settings.postgres_host,
            port=settings.postgres_port,
            user=settings.postgres_user,
            password=settings.postgres_password.get_secret_value(),
            dbname=settings.postgres_dbname,
            connect_timeout=settings.postgres_connect_timeout_seconds,
        ).close()
    return LotseApplication(env=settings.event_store_env())


def load_key_ring(settings: Settings) -> KeyRing:
    """The codec keys: `LOTSE_CODEC_KEYS` when set, else the key file; `CodecKeyError` naming
    the source when neither gives a valid ring. Never creates keys: two workers that each made
    their own would not read each other's payloads (`lotse dev` and `lotse codec init` do)."""
    if text := settings.codec_keys.get_secret_value():
        return KeyRing.parse(text, "LOTSE_CODEC_KEYS")
    return read_key_file(settings.codec_keys_path)


def build_data_converter(settings: Settings) -> DataConverter:
    """Lotse's converter with the AES-GCM payload codec: what every client and worker uses.

    Workers take the converter of their client, so a worker built on `connect`'s client
    encrypts what it hands to Temporal and decrypts what it reads."""
    return dataclasses.replace(
        data_converter,
        payload_codec=EncryptionCodec(load_key_ring(settings)),
        failure_converter_class=SealingFailureConverter,
    )


async def connect(settings: Settings) -> Client:
    """A client of the configured Temporal namespace, with the payload codec.

    Temporal is reached first: with no server running, that is the problem to report, not a
    key file that the first `lotse dev` has not created yet."""
    client = await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter,
    )
    config = client.config()
    config["data_converter"] = build_data_converter(settings)
    return Client(**config)


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Create the custom search attributes the workflow upserts; return those it added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = [name for name in SEARCH_ATTRIBUTE_NAMES if name not in existing.custom_attributes]
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=namespace,
                search_attributes={
                    name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in missing
                },
            )
        )
    return missing


def build_notifier(settings: Settings) -> Notifier:
    """Delivery by SMTP and webhook as the settings configure it."""
    from activities.notify import Notifier  # see build_worker: not every command sends mail

    return Notifier(settings)


def workflow_classes() -> list[type]:
    """The workflows the worker runs, as `lotse audit workflow-replay` replays them."""
    # Imported here, not at the top: see `build_worker`.
    from workflows.drill import AlertDrill
    from workflows.incident_response import IncidentResponse
    from workflows.measure_reminders import MeasureReminders
    from workflows.regular_exchange import RegularExchange
    from workflows.victim_case import VictimCase

    return [IncidentResponse, VictimCase, RegularExchange, MeasureReminders, AlertDrill]


def build_worker(
    client: Client,
    settings: Settings,
    app: LotseApplication,
    executor: ThreadPoolExecutor,
    *,
    notifier: Notifier | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> Worker:
    """The Temporal worker with Lotse's workflows and activities; `notifier` replaces the one
    the settings describe, `interceptors` wrap every activity and workflow task."""
    # Imported here, not at the top: every `lotse` command imports this module for the store
    # and the client, and would otherwise load both workflows, every activity and the mail
    # and webhook code it never runs (about a third of a command's start-up).
    from activities.case import CaseActivities
    from activities.drill import DrillActivities
    from activities.exchange import ExchangeActivities
    from activities.incident import IncidentActivities

    delivery = notifier or build_notifier(settings)
    incidents = IncidentActivities(app, delivery, settings)
    cases = CaseActivities(app, delivery, settings)
    exchange = ExchangeActivities(app, delivery, settings)
    drills = DrillActivities(app, delivery, settings)
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=workflow_classes(),
        activities=[*incidents.all(), *cases.all(), *exchange.all(), *drills.all()],
        activity_executor=executor,
        max_concurrent_activities=ACTIVITY_THREADS,
        max_concurrent_workflow_tasks=WORKFLOW_TASKS,
        max_cached_workflows=settings.workflow_cache_size,
        interceptors=interceptors,
        # The workflows that leave the sandbox (`VictimCase`) get it back when asked.
        unsandboxed_workflow_runner=(
            SandboxedWorkflowRunner() if settings.sandbox_cases else UnsandboxedWorkflowRunner()
        ),
    )


async def run_worker(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    notifier: Notifier | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> None:
    """Run until `stop` is set (or, without one, until cancelled); shut down cleanly.
    `notifier` and `interceptors` as for `build_worker`."""
    client = await connect(settings)
    await ensure_search_attributes(client, settings.temporal_namespace)
    app = build_application(settings)
    done = asyncio.Event()
    keeper = asyncio.create_task(
        keep_people_view_current(app, settings.people_view_catch_up_seconds, done)
    )
    try:
        with ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="lotse-activity") as pool:
            worker = build_worker(
                client, settings, app, pool, notifier=notifier, interceptors=interceptors
            )
            async with worker:
                log.info(
                    "worker polling task queue %s on %s",
                    settings.task_queue,
                    settings.temporal_address,
                )
                await (stop or asyncio.Event()).wait()
    finally:
        done.set()
        await keeper  # its catch-up in flight ends before the store is closed
        app.close()


async def keep_people_view_current(
    app: LotseApplication, seconds: float, done: asyncio.Event
) -> None:
    """Catch the people view up every `seconds` in a thread of its own until `done`, so that
    readers find it current. A failure (the store away) is logged and tried again."""
    while not done.is_set():
        try:
            applied = await asyncio.to_thread(app.catch_up_people)
        except Exception:
            log.exception("people view: catch-up failed; trying again in %s s", seconds)
        else:
            if applied:
                log.debug("people view: %d person events applied", applied)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), seconds)
