"""The floors of the Temporal benchmarks: bare workflows that do the same Temporal work as Lotse
with no-op activities and no record — one round trip, an update that runs one activity, an
incident's shape (one activity, then four parallel pairs of activities) and a person's case up to
the referral sent (local activities where Lotse records, ordinary ones where it chooses and
delivers)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

PARTNERS = 4  # the shipped agreement's partners: one alert delivered and recorded each
TIMEOUT = timedelta(seconds=10)


@activity.defn(name="bench_noop")
def noop(value: int) -> int:
    return value


@workflow.defn(name="BenchBareRoundTrip")
class BareRoundTrip:
    """Start, one no-op activity, result."""

    @workflow.run
    async def run(self, value: int) -> int:
        return await workflow.execute_activity(noop, value, start_to_close_timeout=TIMEOUT)


@workflow.defn(name="BenchBareUpdates")
class BareUpdates:
    """Waits for updates; each runs one no-op activity and answers its result."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def noop_update(self, value: int) -> int:
        return await workflow.execute_activity(noop, value, start_to_close_timeout=TIMEOUT)

    @workflow.signal
    def finish(self) -> None:
        self._done = True


@workflow.defn(name="BenchBareIncidentShape")
class BareIncidentShape:
    """The activities of a declaration up to the last alert recorded, as no-ops: one to record
    the declaration, then per partner one to deliver and one to record, the partners in
    parallel."""

    @workflow.run
    async def run(self, value: int) -> int:
        await workflow.execute_activity(noop, value, start_to_close_timeout=TIMEOUT)

        async def alert(partner: int) -> int:
            await workflow.execute_activity(noop, partner, start_to_close_timeout=TIMEOUT)
            return await workflow.execute_activity(noop, partner, start_to_close_timeout=TIMEOUT)

        return sum(await asyncio.gather(*(alert(partner) for partner in range(PARTNERS))))


@workflow.defn(name="BenchBareCaseShape", sandboxed=False)
class BareCaseShape:
    """What `VictimCase` asks of Temporal from registration to the referral sent, as no-ops.
    Outside the workflow sandbox, as `VictimCase` runs in service.

    A local activity stands for recording the registration; the updates `consent` and `assess`
    wait for it, as Lotse's do, and each runs one local activity (the record). After `assess`
    the run does what Lotse does on its own: an ordinary activity (choose the offer), a local one
    (record the proposal), an ordinary one (deliver the referral), a local one (record it sent).
    Its result is the moment the referral counts as sent."""

    def __init__(self) -> None:
        self._registered = False
        self._assessed = False

    @workflow.run
    async def run(self, value: int) -> int:
        await workflow.execute_local_activity(noop, value, start_to_close_timeout=TIMEOUT)
        self._registered = True
        await workflow.wait_condition(lambda: self._assessed)
        for local in (False, True, False, True):  # choose, proposed, deliver, sent
            if local:
                await workflow.execute_local_activity(noop, value, start_to_close_timeout=TIMEOUT)
            else:
                await workflow.execute_activity(noop, value, start_to_close_timeout=TIMEOUT)
        return value

    @workflow.update
    async def consent(self, value: int) -> int:
        await workflow.wait_condition(lambda: self._registered)
        return await workflow.execute_local_activity(noop, value, start_to_close_timeout=TIMEOUT)

    @workflow.update
    async def assess(self, value: int) -> int:
        await workflow.wait_condition(lambda: self._registered)
        result = await workflow.execute_local_activity(noop, value, start_to_close_timeout=TIMEOUT)
        self._assessed = True
        return result


BARE_WORKFLOWS = [BareRoundTrip, BareUpdates, BareIncidentShape, BareCaseShape]
