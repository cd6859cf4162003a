"""The follow-ups of a case fall due 4 weeks, 3 months and 12 months after registration, on
Temporal's time-skipping test server (weeks pass in a second; everything else runs on the dev
server)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from bootstrap import ACTIVITY_THREADS, build_application, build_worker
from cli.smtp_sink import MailSink, read_mailbox
from contracts.case_messages import CaseOutcome
from contracts.messages import Actor, CommandContext, IncidentDeclaration
from contracts.people import CaseCloseReason, NeedStatus
from contracts.vocabulary import (
    VICTIM_CASE_WORKFLOW_TYPE,
    ActorChannel,
    NeedCategory,
    case_workflow_id,
)
from tests.workflow.case_support import registration, send, service, status
from tests.workflow.support import declaration, free_port, load_agreement, make_settings

OFFICE_MAIL = "lagedienst@opferbeauftragte.example.org"


def setup_context() -> CommandContext:
    return CommandContext(
        command_id=f"setup-{uuid.uuid4()}",
        actor=Actor(partner_id="opferbeauftragte", staff_ref="test-setup"),
        channel=ActorChannel.CLI,
        business_time=datetime.now(UTC),
    )


def office_subjects(mail_dir: Path) -> list[str]:
    return [str(m["Subject"]) for m in read_mailbox(mail_dir) if str(m["To"]) == OFFICE_MAIL]


async def test_follow_ups_fall_due_after_four_weeks_three_months_and_a_year(
    skipping_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    client = skipping_env.client
    settings = make_settings(tmp_path, free_port(), f"victim-support-case-{uuid.uuid4().hex}")
    app = build_application(settings)
    load_agreement(settings)
    with (
        MailSink(settings.mail_dir, port=settings.smtp_port),
        ThreadPoolExecutor(ACTIVITY_THREADS) as pool,
    ):
        async with build_worker(client, settings, app, pool):
            # The incident in the record only: its own workflow would spend the skipped year
            # reading its people's counts (once an hour when quiet), which a case never needs.
            incident_id = f"weeks-{uuid.uuid4().hex[:8]}"
            declared = IncidentDeclaration.model_validate(declaration())
            app.declare_incident(incident_id, declared, settings.agreement_id, setup_context())
            data = registration(incident_id)
            del data["deadlines"]  # the defaults: follow-ups after 4 weeks, 91 and 365 days
            handle = await client.start_workflow(
                VICTIM_CASE_WORKFLOW_TYPE,
                data,
                id=case_workflow_id(incident_id, "DD-0042"),
                task_queue=settings.task_queue,
                result_type=CaseOutcome,
            )
            await send(
                handle,
                "give_consent",
                recipient="opferhilfe-sachsen",
                data_categories=["needs", "phone"],
                method="written",
            )
            await send(handle, "assess_needs", needs=[{"category": "psychosocial"}])
            await skipping_env.sleep(timedelta(seconds=5))  # the referral is delivered
            provider = service("opferhilfe-sachsen").model_dump()
            await send(handle, "accept_referral", referral_id="R1", actor=provider)
            await send(handle, "record_first_contact", referral_id="R1", actor=provider)

            case = await status(handle)
            registered = case.registered_at
            assert [f.due_at - registered for f in case.follow_ups] == [
                timedelta(weeks=4),
                timedelta(days=91),
                timedelta(days=365),
            ]
            assert case.needs[0].due_at == case.follow_ups[0].due_at  # in care until then

            await skipping_env.sleep(timedelta(weeks=4) - timedelta(hours=1))
            assert (await status(handle)).follow_ups[0].answer_due_at is None
            await skipping_env.sleep(timedelta(hours=2))
            first = (await status(handle)).follow_ups[0]
            assert first.answer_due_at is not None
            assert any("Nachfrage fällig" in s for s in office_subjects(settings.mail_dir))
            arrived = [{"category": "psychosocial", "help_arrived": True}]
            answered = await send(handle, "record_follow_up", results=arrived)
            assert answered.needs[NeedCategory.PSYCHOSOCIAL] is NeedStatus.MET

            # The second follow-up goes unanswered past its 14 days: the office hears of it.
            await skipping_env.sleep(timedelta(days=91 - 28 + 15))
            second = (await status(handle)).follow_ups[1]
            assert second.answer_due_at is not None
            assert second.answered_at is None
            assert any("Eskalation" in s for s in office_subjects(settings.mail_dir))
            await send(handle, "record_follow_up", results=arrived)

            await skipping_env.sleep(timedelta(days=365 - 91 - 15 + 1))
            assert (await status(handle)).follow_ups[2].answer_due_at is not None
            await send(handle, "record_follow_up", results=arrived)
            outcome = await handle.result()
    assert outcome.closed_reason is CaseCloseReason.ALL_NEEDS_MET
    recorded = [e.event for e in app.person_history(incident_id, "DD-0042")]
    assert recorded.count("FollowUpRecorded") == 3
    assert recorded[-1] == "CaseClosed"
    app.close()
