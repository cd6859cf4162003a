"""`report_needs` updates on one incident through Temporal, against a bare workflow whose update
handler runs one no-op activity (issue #6, point 2).

Lotse: one incident declared with the shipped agreement and acknowledged by all four partners
(phase `coordinating`, where needs arrive for weeks), then N `report_needs` updates, each
answered once the record has it — one after another, and with 10 in flight (Temporal's limit of
updates in flight per workflow). The floor: `BenchBareUpdates` gets N updates the same two
ways. Same client, same dev server, same run; a fresh workflow for each measurement. Only the
updates are used, never the workflow's internals.

Goals: Lotse updates/s ÷ bare updates/s ≥ 0.5 sequential, ≥ 0.3 at concurrency 10.

    .venv/bin/python -m bench.report_needs [--updates 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import WorkflowHandle

from bench.common import Figure, at_least, median, print_figures
from bench.stack import Stack, temporal_stack

GOALS = {1: 0.5, 10: 0.3}
NEEDS = {
    "actor": {"partner_id": "opferhilfe-sachsen", "staff_ref": "bench-1"},
    "needs": [{"category": "psychosocial", "region": "dresden", "count": 1}],
}


async def rate(updates: int, in_flight: int, send: Callable[[], Awaitable[Any]]) -> float:
    """Updates per second: `updates` sends, at most `in_flight` at once."""
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            await send()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(updates)))
    return updates / (time.perf_counter() - started)


async def lotse_rate(stack: Stack, updates: int, in_flight: int) -> float:
    handle = await stack.coordinating_incident()
    try:
        return await rate(updates, in_flight, lambda: handle.execute_update("report_needs", NEEDS))
    finally:
        await handle.terminate(reason="benchmark done")


async def bare_rate(stack: Stack, updates: int, in_flight: int) -> float:
    handle: WorkflowHandle[Any, Any] = await stack.client.start_workflow(
        "BenchBareUpdates", id=f"bare-{uuid.uuid4().hex}", task_queue=stack.bare_queue
    )
    try:
        return await rate(updates, in_flight, lambda: handle.execute_update("noop_update", 1))
    finally:
        await handle.signal("finish")
        await handle.result()


async def measure_on(stack: Stack, updates: int, runs: int) -> list[Figure]:
    await bare_rate(stack, 10, 1)  # warm-up: both workers have run once before measuring
    await lotse_rate(stack, 10, 1)
    figures = []
    for in_flight, goal in GOALS.items():
        lotse: list[float] = []
        bare: list[float] = []
        ratios: list[float] = []
        for _ in range(runs):
            bare.append(await bare_rate(stack, updates, in_flight))
            lotse.append(await lotse_rate(stack, updates, in_flight))
            ratios.append(lotse[-1] / bare[-1])
        ratio = median(ratios)
        how = "one after another" if in_flight == 1 else f"{in_flight} in flight"
        figures.append(
            Figure(
                name=f"report_needs updates on one incident, {how} ({updates} each)",
                measured=f"{median(lotse):.0f} updates/s",
                floor=f"{median(bare):.0f}/s bare update with one no-op activity",
                ratio=ratio,
                goal=f"≥ {goal}",
                met=ratio >= goal,
                command=f"python -m bench.report_needs --updates {updates}",
            )
        )
    return figures


async def measure(updates: int, runs: int) -> list[Figure]:
    async with temporal_stack() as stack:
        return await measure_on(stack, updates, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--updates", type=at_least(10), default=200)
    parser.add_argument("--runs", type=at_least(1), default=3)
    arguments = parser.parse_args()
    print(
        f"{arguments.updates} updates per measurement on a fresh workflow, "
        f"ratios: median of {arguments.runs} runs"
    )
    print_figures(asyncio.run(measure(arguments.updates, arguments.runs)))


if __name__ == "__main__":
    main()
