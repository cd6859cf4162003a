"""An overdue measure is reminded of weeks later, again a reminder interval after, and no more
once it is done — a meeting's measure by the meeting's run, a reflection's by its own
`MeasureReminders` — on Temporal's time-skipping test server (waits of weeks only)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.common import cli_context
from cli.smtp_sink import MailSink, read_mailbox
from contracts.exchange import (
    EXCHANGE_WORKFLOW_TYPE,
    MEASURE_ASSIGNED_SIGNAL,
    MEASURE_REMINDERS_WORKFLOW_TYPE,
    AgreedMeasure,
    ExchangeInput,
    ExchangeStatus,
    MeasureRemindersInput,
    MinutesResult,
    RecordMinutes,
    TrackedMeasure,
)
from contracts.messages import Actor, CommandContext
from contracts.vocabulary import BERLIN, ActorChannel
from domain.application import LotseApplication
from tests.integration.test_event_store import declaration
from tests.workflow.support import (
    PARTNERS,
    eventually,
    free_port,
    keep_history,
    load_agreement,
    make_settings,
)

OFFICE = Actor(partner_id="opferbeauftragte", staff_ref="OB-0042")
OWNER = Actor(partner_id="weisser-ring", staff_ref="landesbuero-2")
OFFICE_AND_OWNER = [
    "lagedienst@opferbeauftragte.example.org",
    "landesbuero@weisser-ring.example.org",
]


def reminders(mail_dir: Path) -> list[str]:
    return sorted(str(m["To"]) for m in read_mailbox(mail_dir) if "überfällig" in str(m["Subject"]))


async def test_an_overdue_measure_is_reminded_weekly_until_it_is_done(
    skipping_env: WorkflowEnvironment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOTSE_EXCHANGE_LEAD_DAYS", "0")
    settings = make_settings(tmp_path, free_port(), f"exchange-weeks-{uuid.uuid4().hex}")
    assert settings.measure_reminder_days == 7  # the default interval is what is tested
    app = build_application(settings)
    load_agreement(settings)
    client = skipping_env.client
    with (
        MailSink(settings.mail_dir, port=settings.smtp_port),
        ThreadPoolExecutor(ACTIVITY_THREADS) as pool,
    ):
        async with build_worker(client, settings, app, pool):
            run = await client.start_workflow(
                EXCHANGE_WORKFLOW_TYPE,
                ExchangeInput(agreement_key=settings.agreement_id),
                id=f"exchange-weeks-{uuid.uuid4().hex[:8]}",
                task_queue=settings.task_queue,
                result_type=ExchangeStatus,
            )
            waiting = await eventually(
                lambda: run.query("status", result_type=ExchangeStatus),
                lambda s: s.stage == "awaiting-minutes",
                what="the invitations",
            )
            assert waiting.held_at is not None
            due_on = waiting.held_at.astimezone(BERLIN).date() + timedelta(days=21)
            recorded = await run.execute_update(
                "record_minutes",
                RecordMinutes(
                    actor=OFFICE,
                    attendees=[OFFICE, OWNER],
                    topics=["Erreichbarkeit am Wochenende"],
                    measures=[
                        AgreedMeasure(text="Vertretungsplan", owner="weisser-ring", due_on=due_on)
                    ],
                ),
                result_type=MinutesResult,
            )
            [key] = recorded.measure_keys

            await skipping_env.sleep(timedelta(days=20))
            assert reminders(settings.mail_dir) == []  # not due yet
            await skipping_env.sleep(timedelta(days=3))  # past the due date
            office_and_owner = [
                "lagedienst@opferbeauftragte.example.org",
                "landesbuero@weisser-ring.example.org",
            ]
            await eventually(lambda: reminders(settings.mail_dir), lambda r: r == office_and_owner)
            await skipping_env.sleep(timedelta(days=7))
            await eventually(
                lambda: reminders(settings.mail_dir), lambda r: r == sorted(office_and_owner * 2)
            )
            assert app.measure(key).reminders == 2

            app.complete_measure(key, "Plan verteilt", cli_context(OWNER, ActorChannel.CLI))
            await skipping_env.sleep(timedelta(days=8))
            outcome = await run.result()
            await keep_history(run, "exchange_full")
    assert outcome.stage == "done"
    assert outcome.open_measures == []
    assert len(reminders(settings.mail_dir)) == 4  # none after it was done
    events = [e.event for e in app.measure_history(key)]
    assert events == ["Agreed", "ReminderSent", "ReminderSent", "Done"]
    app.close()


def reflected(
    app: LotseApplication, agreement_key: str, incident_key: str, start: datetime
) -> None:
    """An incident declared, acknowledged, closed and reflected on, with one measure (r1)."""

    def ctx() -> CommandContext:  # a fresh command id each
        return cli_context(OFFICE, ActorChannel.CLI)

    app.declare_incident(incident_key, declaration(), agreement_key, ctx())
    for partner_id in PARTNERS:
        app.acknowledge_alert(incident_key, partner_id, False, 60.0, ctx())
    app.close_acute_phase(incident_key, None, start + timedelta(weeks=6), ctx())
    app.mark_reflection_due(incident_key, ctx())
    app.record_reflection(incident_key, ["Alarmierung lief"], ["Kontaktliste prüfen"], ctx())


async def test_an_assigned_reflection_measure_is_reminded_weekly_until_it_is_done(
    skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, free_port(), f"measure-weeks-{uuid.uuid4().hex}")
    app = build_application(settings)
    load_agreement(settings)
    start = await skipping_env.get_current_time()
    incident_key = f"reflected-{uuid.uuid4().hex[:8]}"
    reflected(app, settings.agreement_id, incident_key, start)
    key = f"{incident_key}/r1"
    due_on = start.astimezone(BERLIN).date() + timedelta(days=21)
    app.assign_measure(key, "weisser-ring", due_on, cli_context(OFFICE, ActorChannel.CLI))
    client = skipping_env.client
    with (
        MailSink(settings.mail_dir, port=settings.smtp_port),
        ThreadPoolExecutor(ACTIVITY_THREADS) as pool,
    ):
        async with build_worker(client, settings, app, pool):
            run = await client.start_workflow(  # as `lotse measures assign` starts it
                MEASURE_REMINDERS_WORKFLOW_TYPE,
                MeasureRemindersInput(
                    measure_key=key,
                    reminder_interval=timedelta(days=settings.measure_reminder_days),
                    retry_initial_interval=timedelta(seconds=0.2),
                ),
                id=f"measure-weeks-{uuid.uuid4().hex[:8]}",
                task_queue=settings.task_queue,
                start_signal=MEASURE_ASSIGNED_SIGNAL,
                result_type=TrackedMeasure,
            )
            await skipping_env.sleep(timedelta(days=21))
            assert reminders(settings.mail_dir) == []  # due today: not overdue yet
            await skipping_env.sleep(timedelta(days=2))  # past the due date
            await eventually(lambda: reminders(settings.mail_dir), lambda r: r == OFFICE_AND_OWNER)
            await skipping_env.sleep(timedelta(days=7))
            await eventually(
                lambda: reminders(settings.mail_dir), lambda r: r == sorted(OFFICE_AND_OWNER * 2)
            )
            assert app.measure(key).reminders == 2

            app.complete_measure(key, "Liste erneuert", cli_context(OWNER, ActorChannel.CLI))
            await skipping_env.sleep(timedelta(days=8))
            outcome = await run.result()
            await keep_history(run, "measure_reminders_full")
    assert outcome.done
    assert len(reminders(settings.mail_dir)) == 4  # none after it was done
    events = [e.event for e in app.measure_history(key)]
    assert events == ["Agreed", "Assigned", "ReminderSent", "ReminderSent", "Done"]
    app.close()
