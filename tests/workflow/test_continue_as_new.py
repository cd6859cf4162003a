"""Needs keep arriving for weeks: when Temporal suggests it, the incident continues as new with
its whole state, so the history limits are never reached. A dev server of its own suggests
continue-as-new after 40 events, so that a short test crosses several runs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio import client as client_interceptors
from temporalio import worker as worker_interceptors
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.smtp_sink import MailSink
from contracts.activities import RECORD_NEEDS
from contracts.messages import (
    AcknowledgeAlert,
    AcknowledgementResult,
    Actor,
    AssignNeedCategory,
    CallOff,
    CloseAcutePhase,
    IncidentOutcome,
    IncidentStatus,
    NeedReport,
    PhaseResult,
    RecordReflection,
    ReportNeeds,
)
from contracts.vocabulary import (
    INCIDENT_CONTINUING,
    SEARCH_ATTRIBUTE_NAMES,
    NeedCategory,
    Phase,
    Region,
)
from domain.application import LotseApplication
from tests.workflow.case_support import (
    TWO_OFFERS,
    declared_incident,
    referral_in,
    register,
    service,
)
from tests.workflow.case_support import consent as case_consent
from tests.workflow.case_support import send as case_send
from tests.workflow.case_support import status as case_status
from tests.workflow.support import (
    PARTNERS,
    SHIPPED_AGREEMENT,
    TEMPORAL_BINARY,
    declaration,
    eventually,
    free_port,
    keep_history,
    load_agreement,
    make_settings,
    running_stack,
)
from workflows.converter import data_converter

REPORTS = 12


@pytest.fixture
async def small_history_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_BINARY),
        data_converter=data_converter,
        search_attributes=[SearchAttributeKey.for_keyword(n) for n in SEARCH_ATTRIBUTE_NAMES],
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=40",
        ],
    )
    yield env
    await env.shutdown()


def someone(partner_id: str = "opferhilfe-sachsen") -> Actor:
    return Actor(partner_id=partner_id, staff_ref="bereitschaft-1")


async def assign(handle: WorkflowHandle[Any, Any], category: NeedCategory, partner: str) -> None:
    await handle.execute_update(
        "assign_need_category",
        AssignNeedCategory(
            actor=someone("opferbeauftragte"), category=category, partner_id=partner
        ),
        result_type=PhaseResult,
    )


@asynccontextmanager
async def acknowledged_incident(
    client: Client, tmp_path: Path, task_timeout: timedelta | None = None
) -> AsyncIterator[tuple[WorkflowHandle[Any, IncidentOutcome], LotseApplication]]:
    """An incident on a worker of its own, every partner's alert acknowledged. The record stays
    open for the test to read after the worker stopped."""
    settings = make_settings(tmp_path, free_port(), f"victim-support-can-{uuid.uuid4().hex}")
    app = build_application(settings)
    load_agreement(settings)
    with (
        MailSink(settings.mail_dir, port=settings.smtp_port),
        ThreadPoolExecutor(ACTIVITY_THREADS) as pool,
    ):
        async with build_worker(client, settings, app, pool):
            handle = await client.start_workflow(
                "IncidentResponse",
                declaration(),
                id=f"can-{uuid.uuid4().hex[:8]}",
                task_queue=settings.task_queue,
                result_type=IncidentOutcome,
                task_timeout=task_timeout,
            )
            for partner_id in PARTNERS:
                await handle.execute_update(
                    "acknowledge_alert",
                    AcknowledgeAlert(partner_id=partner_id, actor=someone(partner_id)),
                    result_type=AcknowledgementResult,
                )
            yield handle, app


async def test_a_long_incident_continues_as_new_without_losing_state(
    small_history_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = small_history_env.client
    async with acknowledged_incident(client, tmp_path) as (handle, app):
        first_run = handle.result_run_id
        # Alerting took more than 40 events: the run continues as new as soon as it is
        # over, before any further update. What the UI shows now comes from the new run.
        latest = client.get_workflow_handle(handle.id, result_type=IncidentOutcome)
        await eventually(
            latest.describe,
            lambda d: d.run_id != first_run,
            what="the run to continue as new",
        )
        metadata = await latest.query("__temporal_workflow_metadata")
        assert "**Phase:** coordinating" in metadata.current_details

        # Assigned before any need of the category is reported: must survive the next run.
        await assign(latest, NeedCategory.FINANCIAL, "weisser-ring")
        second_run = (await latest.describe()).run_id
        legal = ReportNeeds(
            actor=someone(),
            needs=[NeedReport(category=NeedCategory.LEGAL, region=Region.LEIPZIG, count=1)],
        )
        for number in range(REPORTS):
            await latest.execute_update(
                "report_needs", legal, id=f"needs-{number}", result_type=PhaseResult
            )
        assert (await latest.describe()).run_id != second_run  # and once more
        # The replay guards of a run that hands its state over, and of one that takes it.
        await keep_history(
            client.get_workflow_handle(handle.id, run_id=first_run),
            "incident_continued_first_run",
        )
        await keep_history(
            client.get_workflow_handle(handle.id, run_id=second_run),
            "incident_continued_next_run",
        )
        # An operator repeats the first report with its update id after the run changed:
        # Temporal no longer knows the id, the incident does, and nothing is counted twice.
        repeated = await latest.execute_update(
            "report_needs", legal, id="needs-0", result_type=PhaseResult
        )
        assert repeated.duplicate
        await assign(latest, NeedCategory.LEGAL, "opferhilfe-sachsen")

        status = await latest.query("status", result_type=IncidentStatus)
        assert status.phase is Phase.COORDINATING
        assert [(n.category, n.count, n.assigned_to) for n in status.needs] == [
            (NeedCategory.LEGAL, REPORTS, "opferhilfe-sachsen"),
            (NeedCategory.FINANCIAL, 0, "weisser-ring"),
        ]
        assert {p.partner_id: p.seconds_to_acknowledge is not None for p in status.partners} == {
            p: True for p in PARTNERS
        }
        duplicate = await latest.execute_update(
            "acknowledge_alert",
            AcknowledgeAlert(partner_id="raa-sachsen", actor=someone("raa-sachsen")),
            result_type=AcknowledgementResult,
        )
        assert duplicate.duplicate

        await latest.execute_update(
            "close_acute_phase",
            CloseAcutePhase(actor=someone("opferbeauftragte")),
            result_type=PhaseResult,
        )
        await eventually(
            lambda: latest.query("status", result_type=IncidentStatus),
            lambda s: s.phase is Phase.REFLECTION_DUE,
            what="the reflection to become due in a later run",
        )
        await eventually(
            lambda: [e.event for e in app.history(handle.id)],
            lambda names: names.count("AlertSent") == 8,
            what="the reflection-due notices to be recorded",
        )
        await latest.execute_update(
            "record_reflection",
            RecordReflection(actor=someone("opferbeauftragte"), findings=["Lange Lage"]),
            result_type=PhaseResult,
        )
        outcome = await latest.result()
    assert outcome.phase is Phase.CLOSED
    names = [e.event for e in app.history(handle.id)]
    assert names.count("NeedsReported") == REPORTS
    assert names.count("Declared") == 1
    assert names[-1] == "Closed"
    app.close()


CONCURRENCY = 10
SUGGESTED = 40
MARGIN = 90
"""At most 10 updates are in flight at once (Temporal's limit per execution); each of them
finishes in its run after continue-as-new is suggested, with a handful of events each."""


class SlowStore(client_interceptors.Interceptor, worker_interceptors.Interceptor):
    """Makes recording needs take `delay` seconds, in the test worker only: the handlers of a
    steady stream then overlap across workflow tasks, as with a busy store."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def intercept_activity(
        self, next: worker_interceptors.ActivityInboundInterceptor
    ) -> worker_interceptors.ActivityInboundInterceptor:
        return _SlowRecord(next, self.delay)


class _SlowRecord(worker_interceptors.ActivityInboundInterceptor):
    def __init__(self, next: worker_interceptors.ActivityInboundInterceptor, delay: float) -> None:
        super().__init__(next)
        self.delay = delay

    async def execute_activity(self, input: worker_interceptors.ExecuteActivityInput) -> Any:
        if activity.info().activity_type == RECORD_NEEDS.name:
            await asyncio.sleep(self.delay)
        return await self.next.execute_activity(input)


async def _send_until_taken(handle: WorkflowHandle[Any, Any], number: int) -> PhaseResult:
    """What an operator's client does: an update refused because the incident is moving to a
    new run is sent again, with the same update id, until a run takes it."""
    request = ReportNeeds(
        actor=someone(),
        needs=[NeedReport(category=NeedCategory.LEGAL, region=Region.DRESDEN, count=1)],
    )
    while True:
        try:
            result: PhaseResult = await handle.execute_update(
                "report_needs", request, id=f"stream-{number}", result_type=PhaseResult
            )
            return result
        except WorkflowUpdateFailedError as refused:
            cause = refused.cause
            if not (isinstance(cause, ApplicationError) and cause.type == INCIDENT_CONTINUING):
                raise
            await asyncio.sleep(0.05)


async def _run_lengths(client: Client, workflow_id: str) -> list[int]:
    """The number of history events of every run of the incident, oldest first."""
    runs = [r async for r in client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    lengths = []
    for run in sorted(runs, key=lambda r: r.start_time):
        history = await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
        lengths.append(len(history.events))
    return lengths


@pytest.mark.parametrize(
    ("updates", "store_delay", "task_timeout"),
    [
        pytest.param(120, 0.0, None, id="quick-store"),
        # Recording takes longer than a workflow task may stay open: handlers overlap across
        # tasks, and only refusing newcomers while the run hands over lets it continue.
        pytest.param(30, 0.4, timedelta(seconds=1), id="busy-store"),
    ],
)
async def test_a_steady_stream_of_updates_continues_as_new_near_the_suggested_size(
    small_history_env: WorkflowEnvironment,
    tmp_path: Path,
    updates: int,
    store_delay: float,
    task_timeout: timedelta | None,
) -> None:
    config = small_history_env.client.config()
    config["interceptors"] = [SlowStore(store_delay)]
    client = Client(**config)
    async with acknowledged_incident(client, tmp_path, task_timeout) as (handle, app):
        latest = client.get_workflow_handle(handle.id, result_type=IncidentOutcome)
        numbers = iter(range(updates))

        async def operator() -> None:  # one of ten, each sending one update after another
            for number in numbers:
                await _send_until_taken(latest, number)

        await asyncio.gather(*(operator() for _ in range(CONCURRENCY)))
        status = await latest.query("status", result_type=IncidentStatus)
        lengths = await _run_lengths(client, handle.id)
        await latest.execute_update(
            "call_off",
            CallOff(actor=someone(), reason="Übung beendet"),
            result_type=PhaseResult,
        )
        await latest.result()
    # Every update counted once, none lost, none twice — in the workflow and in the record.
    assert [(n.category, n.count) for n in status.needs] == [(NeedCategory.LEGAL, updates)]
    assert [e.event for e in app.history(handle.id)].count("NeedsReported") == updates
    # Several runs, each near the suggested size: the stream never held a run open.
    assert len(lengths) >= 3, lengths
    assert max(lengths[1:]) <= SUGGESTED + MARGIN, lengths
    app.close()


async def test_a_case_continues_as_new_with_its_deadlines_unchanged(
    small_history_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    async with running_stack(
        small_history_env.client, tmp_path, SHIPPED_AGREEMENT, TWO_OFFERS
    ) as stack:
        incident_id = await declared_incident(stack)
        handle = await register(stack, incident_id)
        first_run = (await handle.describe()).run_id
        await case_consent(handle, "opferhilfe-sachsen")
        await case_send(handle, "assess_needs", needs=[{"category": "psychosocial"}])
        before = await referral_in(handle, "R1", "sent")
        for _ in range(40):  # each consent adds a few events: the run passes 40 soon
            await case_consent(handle, "weisser-ring", "needs")
            if (await handle.describe()).run_id != first_run:
                break
        else:
            pytest.fail("the case did not continue as new")
        after = await case_status(handle)
        assert after.referrals[0].due_at == before.referrals[0].due_at
        assert after.needs[0].due_at == before.needs[0].due_at
        assert [f.due_at for f in after.follow_ups] == [f.due_at for f in before.follow_ups]
        accepted = await case_send(
            handle,
            "accept_referral",
            referral_id="R1",
            actor=service("opferhilfe-sachsen").model_dump(),
        )
        assert accepted.needs[NeedCategory.PSYCHOSOCIAL] == "referred"
        recorded = [e.event for e in stack.app.person_history(incident_id, "DD-0042")]
        assert recorded.count("ReferralAccepted") == 1
