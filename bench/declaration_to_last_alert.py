"""Time from an operator's declaration to the last partner's alert delivered and recorded,
beside one bare Temporal workflow round trip (start, one no-op activity, result), both on the
same dev server in the same run (issue #6, point 2).

Each run times `--declarations` declarations one after another and as many bare round trips,
and takes the ratio of their medians; the figure is the median of the runs' ratios. The record
is polled from outside (no hook in the worker), from the notification log.

Goal: declaration → 4th alert recorded ≤ 2× the bare round trip.

    .venv/bin/python -m bench.declaration_to_last_alert [--declarations 10] [--runs 3]
        [--persistent]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from bench.common import Figure, at_least, median, print_figures
from bench.stack import DeliveredAlerts, Stack, temporal_stack

GOAL = 2.0


async def bare_round_trips(stack: Stack, count: int) -> list[float]:
    timings = []
    for number in range(count):
        started = time.perf_counter()
        await stack.client.execute_workflow(
            "BenchBareRoundTrip", number, id=f"bare-{uuid.uuid4().hex}", task_queue=stack.bare_queue
        )
        timings.append(time.perf_counter() - started)
    return timings


async def declarations(stack: Stack, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        alerts = DeliveredAlerts(stack.reader)
        incident_id = f"bench-{uuid.uuid4().hex[:12]}"
        started = time.perf_counter()
        handle = await stack.declare(incident_id)
        await alerts.wait_for([incident_id], pause=0.002)
        timings.append(time.perf_counter() - started)
        await handle.terminate(reason="benchmark done")
    return timings


async def measure_on(stack: Stack, count: int, runs: int, persistent: bool) -> list[Figure]:
    await bare_round_trips(stack, 3)  # warm-up
    await declarations(stack, 3)
    bare: list[float] = []
    lotse: list[float] = []
    ratios: list[float] = []
    for _ in range(runs):
        bare.append(median(await bare_round_trips(stack, count)))
        lotse.append(median(await declarations(stack, count)))
        ratios.append(lotse[-1] / bare[-1])
    ratio = median(ratios)
    state = ", dev server state in a file" if persistent else ""
    return [
        Figure(
            name=f"declaration → 4th alert delivered and recorded{state}",
            measured=f"{median(lotse) * 1000:.0f} ms",
            floor=f"{median(bare) * 1000:.0f} ms bare round trip",
            ratio=ratio,
            goal=f"≤ {GOAL}",
            met=ratio <= GOAL,
            command="python -m bench.declaration_to_last_alert"
            + (" --persistent" if persistent else ""),
        )
    ]


async def measure(count: int, runs: int, persistent: bool) -> list[Figure]:
    async with temporal_stack(persistent) as stack:
        return await measure_on(stack, count, runs, persistent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--declarations", type=at_least(1), default=10, help="per run")
    parser.add_argument("--runs", type=at_least(1), default=3)
    parser.add_argument(
        "--persistent", action="store_true", help="dev server state in a file, as `make run` has"
    )
    arguments = parser.parse_args()
    print(
        f"{arguments.declarations} declarations and round trips per run, "
        f"ratio: median of {arguments.runs} runs"
    )
    figures = asyncio.run(measure(arguments.declarations, arguments.runs, arguments.persistent))
    print_figures(figures)


if __name__ == "__main__":
    main()
