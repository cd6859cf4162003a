"""A workflow that refuses updates as `IncidentContinuing` while it is "handing over", as an
incident does during continue-as-new; a signal ends the handing over. Its own module, with
nothing at import time, because the workflow sandbox re-imports it."""

from __future__ import annotations

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.vocabulary import INCIDENT_CONTINUING


class Text(BaseModel):
    """Stands in for an update's request and result models."""

    text: str


@workflow.defn(name="HandingOver")
class HandingOver:
    def __init__(self) -> None:
        self.handing_over = True
        self.taken: list[str] = []

    @workflow.run
    async def run(self) -> list[str]:
        await workflow.wait_condition(lambda: len(self.taken) >= 1)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.taken

    @workflow.signal
    def handed_over(self) -> None:
        self.handing_over = False

    @workflow.update
    def report(self, request: Text) -> Text:
        self.taken.append(request.text)
        return Text(text=f"taken: {request.text}")

    @report.validator
    def _refuse_while_handing_over(self, request: Text) -> None:
        if self.handing_over:
            raise ApplicationError("moving to a new run", type=INCIDENT_CONTINUING)
