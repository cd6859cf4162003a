"""The bare floors' worker as a process of its own, as Lotse's runs in `worker.py`:
`python -m bench.bare_worker ADDRESS TASK_QUEUE` polls until SIGINT or SIGTERM.

Same SDK, same data converter as the in-process bare worker of `bench/stack.py`, as many
activity threads as Lotse's worker; no payload codec (Lotse's worker encrypts every payload,
which is part of what is measured against this floor)."""

from __future__ import annotations

import asyncio
import signal
import sys
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Worker

from bench.bare import BARE_WORKFLOWS, noop
from bootstrap import ACTIVITY_THREADS
from workflows.converter import data_converter


async def serve(address: str, task_queue: str) -> None:
    quiet = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )
    client = await Client.connect(address, data_converter=data_converter, runtime=quiet)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with ThreadPoolExecutor(ACTIVITY_THREADS) as pool:
        worker = Worker(
            client,
            task_queue=task_queue,
            workflows=BARE_WORKFLOWS,
            activities=[noop],
            activity_executor=pool,
            max_concurrent_activities=ACTIVITY_THREADS,
        )
        async with worker:
            print(f"bare worker polling {task_queue}", file=sys.stderr, flush=True)
            await stop.wait()


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m bench.bare_worker ADDRESS TASK_QUEUE")
    asyncio.run(serve(sys.argv[1], sys.argv[2]))


if __name__ == "__main__":
    main()
