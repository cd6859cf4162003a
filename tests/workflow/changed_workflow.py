"""Deliberately changed workflows, to show that the replay tests catch a change.

Its own module, with nothing at import time, because the workflow sandbox re-imports it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import workflow


@workflow.defn(name="IncidentResponse")
class IncidentResponseThatSkipsTheDeclaration:
    """A changed procedure: it never records the declaration."""

    @workflow.run
    async def run(self, declaration: dict[str, Any]) -> None:
        await workflow.wait_condition(lambda: False)


@workflow.defn(name="VictimCase", sandboxed=False)
class VictimCaseThatReadsTheClock:
    """A case that asks the machine for the time, as `VictimCase` never may: it leaves the
    sandbox in service, as `VictimCase` does, so only a sandboxing runner catches it."""

    @workflow.run
    async def run(self, registration: dict[str, Any]) -> str:
        return datetime.now(UTC).isoformat()


@workflow.defn(name="IncidentResponse")
class IncidentResponseThatWaitsFirst:
    """A changed procedure that ran for real: it waits an hour before anything else, where
    `IncidentResponse` first shows the incident in the UI and records the declaration."""

    @workflow.run
    async def run(self, declaration: dict[str, Any]) -> None:
        await workflow.sleep(timedelta(hours=1))
