"""A workflow whose record is damaged answers at once and says so (issue #9, point 2).

On the real dev server: incidents are declared and acknowledged with one worker, the worker
stops, a row of one incident's stream is deleted with plain SQL, and a new worker (a restart:
its application reads the stream afresh) takes the next updates. Before, the store activity
met the library's `OriginatorVersionError`, which Temporal retries for ever: the update never
came back.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.smtp_sink import MailSink
from contracts.messages import IncidentOutcome, NeedReport, PhaseResult, ReportNeeds
from contracts.vocabulary import DAMAGED_RECORD, NeedCategory, Phase, Region
from domain import ids
from domain.application import LotseApplication
from settings import Settings
from tests.damage_support import Damage
from tests.workflow.case_support import consent, declared_incident, register, status
from tests.workflow.support import (
    PARTNERS,
    Stack,
    ack,
    declaration,
    free_port,
    load_agreement,
    make_settings,
    staff,
    terminate_if_running,
)

ANSWER_WITHIN = 30.0
"""Seconds an update on a damaged incident may take to come back: before, it never did."""
NEEDS = ReportNeeds(
    actor=staff("opferbeauftragte"),
    needs=[NeedReport(category=NeedCategory.PSYCHOSOCIAL, region=Region.DRESDEN, count=12)],
)


@asynccontextmanager
async def worker(client: Client, settings: Settings) -> AsyncIterator[None]:
    """A worker with an application of its own, as a (re)started `python -m worker`."""
    app = build_application(settings)
    try:
        with ThreadPoolExecutor(ACTIVITY_THREADS) as pool:
            async with build_worker(client, settings, app, pool):
                yield
    finally:
        app.close()


@pytest.fixture
async def settings(tmp_path: Path) -> AsyncIterator[Settings]:
    """A store with the agreement and offers loaded, and a mail sink for the alerts."""
    settings = make_settings(tmp_path, free_port(), f"damage-test-{uuid.uuid4().hex}")
    sink = MailSink(settings.mail_dir, port=settings.smtp_port)
    sink.start()
    load_agreement(settings)
    yield settings
    sink.stop()


async def coordinating(client: Client, settings: Settings) -> WorkflowHandle[Any, Any]:
    """An incident every partner has acknowledged: coordinating, nothing on a timer."""
    handle = await client.start_workflow(
        "IncidentResponse",
        declaration(),
        id=f"damage-{uuid.uuid4().hex[:10]}",
        task_queue=settings.task_queue,
        result_type=IncidentOutcome,
    )
    for partner_id in PARTNERS:
        await ack(handle, partner_id)
    return handle


async def test_an_update_on_a_damaged_incident_is_refused_at_once_and_shown_as_open(
    temporal_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = temporal_env.client
    async with worker(client, settings):
        damaged = await coordinating(client, settings)
        other = await coordinating(client, settings)
    Damage(settings).delete(ids.incident_id(damaged.id), 2)
    try:
        async with worker(client, settings):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await asyncio.wait_for(
                    damaged.execute_update("report_needs", NEEDS, result_type=PhaseResult),
                    ANSWER_WITHIN,
                )
            answered = await other.execute_update("report_needs", NEEDS, result_type=PhaseResult)
            status = await damaged.query("status")
            running = (await damaged.describe()).status
    finally:
        for handle in (damaged, other):
            await terminate_if_running(handle)

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == DAMAGED_RECORD
    assert cause.message.startswith(
        f"the record of incident '{damaged.id}' (stream {ids.incident_id(damaged.id)}) is "
        "damaged at version 2: version 2 is missing (the next one stored is version 3)"
    )
    assert answered.phase is Phase.COORDINATING
    assert status["open_items"][0] == (
        "Aufzeichnung beschädigt – Lotse kann nichts mehr dazu aufzeichnen, Updates werden "
        f"abgelehnt; prüfen mit `lotse audit verify`: {cause.message}"
    )
    assert status["needs"] == []  # the refused report is not counted
    assert running is not None
    assert running.name == "RUNNING"


@pytest.fixture
def reader(settings: Settings) -> Iterator[LotseApplication]:
    """The application the case helpers read the record with (as `lotse` would)."""
    app = build_application(settings)
    yield app
    app.close()


async def test_an_update_on_a_case_whose_person_record_is_damaged_is_refused_and_shown(
    temporal_env: WorkflowEnvironment, settings: Settings, reader: LotseApplication
) -> None:
    client = temporal_env.client
    stack = Stack(client, settings, reader, settings.mail_dir)
    try:
        async with worker(client, settings):
            incident_id = await declared_incident(stack)
            case = await register(stack, incident_id)
            await consent(case, "weisser-ring")
            await consent(case, "opferhilfe-sachsen")
        person_id = ids.person_id(incident_id, "DD-0042")
        Damage(settings).delete(person_id, 2)
        async with worker(client, settings):
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await asyncio.wait_for(consent(case, "raa-sachsen"), ANSWER_WITHIN)
            shown = await status(case)
            running = (await case.describe()).status
    finally:
        for handle in stack.handles:
            await terminate_if_running(handle)

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == DAMAGED_RECORD
    assert cause.message.startswith(
        f"the record of person DD-0042 of incident '{incident_id}' (stream {person_id}) is "
        "damaged at version 2: version 2 is missing (the next one stored is version 3)"
    )
    assert shown.open_items[0].endswith(f"prüfen mit `lotse audit verify`: {cause.message}")
    assert [c.scope.recipient for c in shown.consents] == ["weisser-ring", "opferhilfe-sachsen"]
    assert running is not None
    assert running.name == "RUNNING"
