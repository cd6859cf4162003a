"""A deliberately changed `IncidentResponse`, to show that the replay test catches a change.

Its own module, with nothing at import time, because the workflow sandbox re-imports it."""

from __future__ import annotations

from typing import Any

from temporalio import workflow


@workflow.defn(name="IncidentResponse")
class IncidentResponseThatSkipsTheDeclaration:
    """A changed procedure: it never records the declaration."""

    @workflow.run
    async def run(self, declaration: dict[str, Any]) -> None:
        await workflow.wait_condition(lambda: False)
