"""An overdue measure is reminded of weeks later, again a reminder interval after, and no more
once it is done — on Temporal's time-skipping test server (waits of weeks only)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.common import cli_context
from cli.smtp_sink import MailSink, read_mailbox
from contracts.exchange import (
    EXCHANGE_WORKFLOW_TYPE,
    AgreedMeasure,
    ExchangeInput,
    ExchangeStatus,
    MinutesResult,
    RecordMinutes,
)
from contracts.messages import Actor
from contracts.vocabulary import BERLIN, ActorChannel
from tests.workflow.support import (
    eventually,
    free_port,
    keep_history,
    load_agreement,
    make_settings,
)

OFFICE = Actor(partner_id="opferbeauftragte", staff_ref="OB-0042")
OWNER = Actor(partner_id="weisser-ring", staff_ref="landesbuero-2")


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
