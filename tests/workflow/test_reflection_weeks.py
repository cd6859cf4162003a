"""The reflection waits its default six weeks on a durable timer, on Temporal's time-skipping
test server (the only test that uses it: everything else runs on the real dev server)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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
from contracts.vocabulary import Phase
from tests.workflow.support import PARTNERS, declaration, free_port, load_agreement, make_settings
from workflows.state import DEFAULT_REFLECTION_AFTER


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
