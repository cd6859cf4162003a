"""Many incidents declared at once until each has its four alerts recorded, against bare
workflows that run the same number and shape of no-op activities (issue #6, point 2).

Lotse: N `IncidentResponse` workflows started together (the shipped agreement: four partners);
done when the record holds four delivered `AlertSent` events for each. The record is read
from outside, as an auditor would: the notification log from where the last poll ended, so a
poll decodes only the new alert events (cheaper than N `status` queries, which would each
cost the worker a query task). The floor: N `BenchBareIncidentShape` workflows started
together — one no-op activity, then four parallel pairs of no-op activities, as Lotse records
the declaration, then delivers and records each alert — done when every one has completed.

Goal: Lotse incidents/s ÷ bare incidents/s ≥ 0.7.

    .venv/bin/python -m bench.many_declarations [--incidents 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from bench.common import Figure, at_least, median, print_figures
from bench.stack import DeliveredAlerts, Stack, temporal_stack

GOAL = 0.7


async def lotse_seconds(stack: Stack, incidents: int) -> float:
    alerts = DeliveredAlerts(stack.reader)
    ids = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(incidents)]
    started = time.perf_counter()
    handles = await asyncio.gather(*(stack.declare(incident_id) for incident_id in ids))
    await alerts.wait_for(ids, pause=0.01)
    seconds = time.perf_counter() - started
    await asyncio.gather(*(handle.terminate(reason="benchmark done") for handle in handles))
    return seconds


async def bare_seconds(stack: Stack, incidents: int) -> float:
    started = time.perf_counter()
    handles = await asyncio.gather(
        *(
            stack.client.start_workflow(
                "BenchBareIncidentShape",
                number,
                id=f"bare-{uuid.uuid4().hex}",
                task_queue=stack.bare_queue,
            )
            for number in range(incidents)
        )
    )
    await asyncio.gather(*(handle.result() for handle in handles))
    return time.perf_counter() - started


async def measure_on(stack: Stack, incidents: int, runs: int) -> list[Figure]:
    await bare_seconds(stack, 5)  # warm-up
    await lotse_seconds(stack, 5)
    lotse: list[float] = []
    bare: list[float] = []
    ratios: list[float] = []
    for _ in range(runs):
        bare.append(await bare_seconds(stack, incidents))
        lotse.append(await lotse_seconds(stack, incidents))
        ratios.append(bare[-1] / lotse[-1])  # rates: incidents/lotse ÷ incidents/bare
    ratio = median(ratios)
    return [
        Figure(
            name=f"{incidents} incidents declared at once until 4 alerts recorded each",
            measured=f"{median(lotse):.2f} s ({incidents / median(lotse):.0f} incidents/s)",
            floor=f"{median(bare):.2f} s bare workflows, same activities as no-ops",
            ratio=ratio,
            goal=f"≥ {GOAL}",
            met=ratio >= GOAL,
            command=f"python -m bench.many_declarations --incidents {incidents}",
        )
    ]


async def measure(incidents: int, runs: int) -> list[Figure]:
    async with temporal_stack() as stack:
        return await measure_on(stack, incidents, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--incidents", type=at_least(1), default=200)
    parser.add_argument("--runs", type=at_least(1), default=3)
    arguments = parser.parse_args()
    print(f"{arguments.incidents} incidents at once, ratio: median of {arguments.runs} runs")
    print_figures(asyncio.run(measure(arguments.incidents, arguments.runs)))


if __name__ == "__main__":
    main()
