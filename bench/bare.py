"""The baseline: one bare Temporal workflow round trip (start, one no-op activity, result)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
def noop(value: int) -> int:
    return value


@workflow.defn(name="BenchBareRoundTrip")
class BareRoundTrip:
    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(
            noop, value, start_to_close_timeout=timedelta(seconds=10)
        )
