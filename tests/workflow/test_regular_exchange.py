"""The regular exchange on the real dev server: its Schedule, a meeting it starts, the
invitations in the SMTP sink, the minutes refused with their reasons and then accepted."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from temporalio.client import ScheduleHandle, WorkflowUpdateFailedError

from cli.exchange import ensure_schedule, exchange_schedule
from contracts.exchange import (
    AgreedMeasure,
    ExchangeStatus,
    MinutesResult,
    RecordMinutes,
)
from contracts.messages import Actor
from contracts.vocabulary import BERLIN
from tests.workflow.support import PARTNERS, Stack, eventually

AGREEMENT = "kooperation-opferhilfe-sachsen"
OFFICE = Actor(partner_id="opferbeauftragte", staff_ref="OB-0042")
PRIMARIES = {
    "lagedienst@opferbeauftragte.example.org",
    "bereitschaft@opferhilfe-sachsen.example.org",
    "landesbuero@weisser-ring.example.org",
    "support@raa-sachsen.example.org",
}


@pytest.fixture(autouse=True)
def meeting_on_the_day_the_run_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Invitations and meeting on one day, so that minutes are accepted at once (they are
    refused before the meeting)."""
    monkeypatch.setenv("LOTSE_EXCHANGE_LEAD_DAYS", "0")


FIRST = datetime.combine(date.today() + timedelta(days=30), datetime.min.time(), tzinfo=BERLIN)


async def schedule(stack: Stack, every: timedelta, schedule_id: str) -> tuple[str, ScheduleHandle]:
    first = FIRST + timedelta(hours=10)
    wanted = exchange_schedule(stack.settings, AGREEMENT, every, first)
    outcome = await ensure_schedule(stack.client, schedule_id, wanted)
    return outcome, stack.client.get_schedule_handle(schedule_id)


async def test_scheduling_twice_makes_one_schedule_and_the_same_values_change_nothing(
    stack: Stack,
) -> None:
    schedule_id = f"exchange-test-{uuid.uuid4().hex[:8]}"
    first, handle = await schedule(stack, timedelta(weeks=4), schedule_id)
    again, _ = await schedule(stack, timedelta(weeks=4), schedule_id)
    changed, _ = await schedule(stack, timedelta(days=90), schedule_id)
    try:
        assert (first, again, changed) == ("created", "unchanged", "updated")
        described = await handle.describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(days=90)]
        listed = [s.id async for s in await stack.client.list_schedules()]
        assert listed.count(schedule_id) == 1
    finally:
        await handle.delete()


async def started_run(stack: Stack, handle: ScheduleHandle) -> Any:
    """Trigger the schedule now; the handle of the run it started."""
    await handle.trigger()
    described = await eventually(
        handle.describe, lambda d: bool(d.info.recent_actions), what="a run of the schedule"
    )
    run = stack.client.get_workflow_handle(
        described.info.recent_actions[-1].action.workflow_id, result_type=ExchangeStatus
    )
    stack.handles.append(run)
    return run


async def status(run: Any) -> ExchangeStatus:
    found: ExchangeStatus = await run.query("status", result_type=ExchangeStatus)
    return found


def good_minutes(held_on: date) -> RecordMinutes:
    return RecordMinutes(
        actor=OFFICE,
        attendees=[OFFICE, Actor(partner_id="raa-sachsen", staff_ref="koordination-1")],
        topics=["Erreichbarkeit am Wochenende"],
        measures=[
            AgreedMeasure(
                text="Vertretungsplan abstimmen",
                owner="raa-sachsen",
                due_on=held_on + timedelta(days=21),
            )
        ],
    )


async def test_a_triggered_meeting_invites_every_partner_and_takes_valid_minutes_once(
    stack: Stack,
) -> None:
    _, handle = await schedule(stack, timedelta(weeks=4), f"exchange-test-{uuid.uuid4().hex[:8]}")
    try:
        run = await started_run(stack, handle)
        waiting = await eventually(
            lambda: status(run), lambda s: s.stage == "awaiting-minutes", what="the invitations"
        )
    finally:
        await handle.delete()
    assert {i.partner_id: i.state for i in waiting.invitations} == dict.fromkeys(
        PARTNERS, "delivered"
    )
    mails = stack.mails()
    assert {str(m["To"]) for m in mails} == PRIMARIES
    assert all("Einladung zum fachlichen Austausch" in str(m["Subject"]) for m in mails)
    key = str(waiting.meeting_key)
    assert all(key in m.get_content() for m in mails)

    bad = RecordMinutes(
        actor=OFFICE,
        attendees=[Actor(partner_id="nobody", staff_ref="x-1")],
        topics=[],
        measures=[AgreedMeasure(text="Übung planen")],
    )
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await run.execute_update("record_minutes", bad, result_type=MinutesResult)
    assert str(getattr(refused.value.cause, "message", "")) == (
        "minutes refused: attendee 'nobody' is not a partner (opferbeauftragte, "
        "opferhilfe-sachsen, raa-sachsen, weisser-ring); no topics: name at least one topic "
        "that was discussed; measure 1 has no owner: name the partner that sees to it; "
        "measure 1 has no due date: give due_on as YYYY-MM-DD"
    )
    assert not stack.app.meeting(key).minutes_at  # the refusal recorded nothing

    held_on = waiting.held_at.astimezone(BERLIN).date() if waiting.held_at else date.today()
    result = await run.execute_update(
        "record_minutes", good_minutes(held_on), result_type=MinutesResult
    )
    assert result.measure_keys == [f"{key}/m1"]
    with pytest.raises(WorkflowUpdateFailedError, match="Workflow update failed") as twice:
        await run.execute_update("record_minutes", good_minutes(held_on), result_type=MinutesResult)
    assert "were already recorded" in str(getattr(twice.value.cause, "message", ""))
    tracking = await eventually(lambda: status(run), lambda s: s.stage == "tracking")
    assert tracking.open_measures == [f"{key}/m1"]
    [measure] = stack.app.measures()
    assert (measure.owner, measure.due_on) == ("raa-sachsen", held_on + timedelta(days=21))
    meeting = stack.app.meeting(key)
    assert meeting.topics == ["Erreichbarkeit am Wochenende"]
    assert meeting.invitations == dict.fromkeys(PARTNERS, True)
