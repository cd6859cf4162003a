"""Time from an operator's declaration to the last partner's alert delivered and recorded,
beside one bare Temporal workflow round trip, both on the same dev server in the same run.

Run: `make bench` (or `.venv/bin/python -m bench.declaration_to_last_alert --runs 20`).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.bare import BareRoundTrip, noop
from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.agreement import load_into_store
from cli.smtp_sink import MailSink
from contracts.agreement import load_agreement_file
from contracts.messages import Actor
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES
from domain.application import LotseApplication
from domain.errors import IncidentNotFoundError
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


async def bare_round_trips(client: Client, runs: int, pool: ThreadPoolExecutor) -> list[float]:
    queue = f"bench-bare-{uuid.uuid4().hex}"
    timings = []
    async with Worker(
        client,
        task_queue=queue,
        workflows=[BareRoundTrip],
        activities=[noop],
        activity_executor=pool,
    ):
        for run in range(runs):
            started = time.perf_counter()
            await client.execute_workflow(
                "BenchBareRoundTrip", run, id=f"bare-{uuid.uuid4().hex}", task_queue=queue
            )
            timings.append(time.perf_counter() - started)
    return timings


def alerts_recorded(app: LotseApplication, incident_id: str) -> int:
    try:
        history = app.history(incident_id)
    except IncidentNotFoundError:  # the declaration is not recorded yet
        return 0
    return sum(1 for e in history if e.event == "AlertSent" and e.details["delivered"])


async def declaration_to_last_alert(
    client: Client, settings: Settings, runs: int, pool: ThreadPoolExecutor
) -> list[float]:
    worker_app = build_application(settings)
    reader = build_application(settings)
    terms = load_agreement_file(settings.agreement_file)
    load_into_store(settings, terms, Actor(partner_id="opferbeauftragte", staff_ref="bench-1"))
    timings = []
    async with build_worker(client, settings, worker_app, pool):
        for _ in range(runs):
            incident_id = f"bench-{uuid.uuid4().hex[:12]}"
            started = time.perf_counter()
            handle = await client.start_workflow(
                "IncidentResponse", DECLARATION, id=incident_id, task_queue=settings.task_queue
            )
            # Polling the store from outside is the measurement: no hook inside the worker.
            while alerts_recorded(reader, incident_id) < 4:  # noqa: ASYNC110
                await asyncio.sleep(0.002)
            timings.append(time.perf_counter() - started)
            await handle.terminate(reason="benchmark run done")
    worker_app.close()
    reader.close()
    return timings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def describe(name: str, timings: list[float]) -> str:
    ms = sorted(t * 1000 for t in timings)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    return f"{name}: median {statistics.median(ms):.1f} ms, p90 {p90:.1f} ms, n={len(ms)}"


async def main(runs: int, persistent: bool) -> None:
    temporal = Path(sys.executable).parent / "temporal"
    with tempfile.TemporaryDirectory() as data_dir:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(temporal),
            data_converter=data_converter,
            search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTE_NAMES],
            dev_server_database_filename=f"{data_dir}/temporal.db" if persistent else None,
        )
        settings = Settings(
            data_dir=Path(data_dir),
            task_queue=f"bench-lotse-{uuid.uuid4().hex}",
            agreement_file=REPO_ROOT / "agreements" / "saxony.toml",
            smtp_port=free_port(),
        )
        try:
            with (
                MailSink(settings.mail_dir, port=settings.smtp_port),
                ThreadPoolExecutor(ACTIVITY_THREADS) as pool,
            ):
                await bare_round_trips(env.client, 3, pool)  # warm-up
                bare = await bare_round_trips(env.client, runs, pool)
                lotse = await declaration_to_last_alert(env.client, settings, runs, pool)
        finally:
            await env.shutdown()
    print(f"dev server state: {'SQLite file (as make run)' if persistent else 'in memory'}")
    print(describe("bare workflow round trip (baseline)", bare))
    print(describe("declaration → 4th alert delivered and recorded", lotse))
    ratio = statistics.median(lotse) / statistics.median(bare)
    print(f"ratio (median): {ratio:.1f}× the bare round trip")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--persistent", action="store_true", help="dev server state in a file, as `make run` has"
    )
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.persistent))
