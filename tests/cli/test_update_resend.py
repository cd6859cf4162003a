"""`lotse` sends an update again, with the same update id, while the incident refuses it as
`IncidentContinuing` (it is handing over to a new run and recorded nothing); any other refusal
reaches the operator at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from cli.updates import RESEND_PAUSE, send_until_a_run_takes_it
from tests.cli.handing_over_workflow import HandingOver, Text
from tests.workflow.support import terminate_if_running


@pytest.fixture
async def handing_over(
    temporal_env: WorkflowEnvironment,
) -> AsyncIterator[WorkflowHandle[Any, list[str]]]:
    """A workflow that refuses updates as handing over until it is signalled, on its worker."""
    client = temporal_env.client
    queue = f"handing-over-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[HandingOver]):
        handle = await client.start_workflow(
            HandingOver.run, id=f"handing-over-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        yield handle
        await terminate_if_running(handle)


async def test_an_update_refused_while_the_incident_hands_over_is_sent_again_until_taken(
    handing_over: WorkflowHandle[Any, list[str]],
) -> None:
    handle = handing_over
    sending = asyncio.create_task(
        send_until_a_run_takes_it(handle, "report", Text(text="Bedarf 1"), "update-1", Text)
    )
    await asyncio.sleep(RESEND_PAUSE * 5)  # several sends, each refused
    assert not sending.done()
    await handle.signal(HandingOver.handed_over)
    assert await asyncio.wait_for(sending, 30) == Text(text="taken: Bedarf 1")
    assert await handle.result() == ["Bedarf 1"]  # taken once


async def test_any_other_refusal_reaches_the_operator_at_once(
    handing_over: WorkflowHandle[Any, list[str]],
) -> None:
    handle = handing_over
    with pytest.raises(WorkflowUpdateFailedError, match="update failed"):
        await asyncio.wait_for(
            send_until_a_run_takes_it(handle, "no_such_update", Text(text="x"), "u-2", Text),
            30,
        )
