"""Needs keep arriving for weeks: when Temporal suggests it, the incident continues as new with
its whole state, so the history limits are never reached. A dev server of its own suggests
continue-as-new after 40 events, so that a short test crosses several runs."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.smtp_sink import MailSink
from contracts.messages import (
    AcknowledgeAlert,
    AcknowledgementResult,
    Actor,
    AssignNeedCategory,
    CloseAcutePhase,
    IncidentOutcome,
    IncidentStatus,
    NeedReport,
    PhaseResult,
    RecordReflection,
    ReportNeeds,
)
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES, NeedCategory, Phase, Region
from tests.workflow.support import (
    PARTNERS,
    TEMPORAL_BINARY,
    declaration,
    eventually,
    free_port,
    load_agreement,
    make_settings,
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


async def test_a_long_incident_continues_as_new_without_losing_state(
    small_history_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = small_history_env.client
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
            )
            first_run = handle.result_run_id
            for partner_id in PARTNERS:
                await handle.execute_update(
                    "acknowledge_alert",
                    AcknowledgeAlert(partner_id=partner_id, actor=someone(partner_id)),
                    result_type=AcknowledgementResult,
                )
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
            assert {
                p.partner_id: p.seconds_to_acknowledge is not None for p in status.partners
            } == {p: True for p in PARTNERS}
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
