"""`lotse exchange …` and `lotse measures …`: the record's commands work without Temporal; the
schedule is made once on the real dev server; bad input is one `error:` line."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from cli.common import cli_context
from contracts.exchange import AgreedMeasure, RecordMinutes, measure_reminders_id
from contracts.messages import Actor, CommandContext
from domain.application import LotseApplication
from settings import Settings
from tests.cli.support import Lotse, cli_environment, invoke
from tests.workflow.support import Stack, eventually, load_agreement
from tests.workflow.test_measure_reminders import reflected

MEETING = "exchange-20270112"
OFFICE = Actor(partner_id="opferbeauftragte", staff_ref="OB-0042")


@pytest.fixture(autouse=True)
def meeting_on_the_day_the_run_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set before the stack's worker reads its settings: minutes are taken at once."""
    monkeypatch.setenv("LOTSE_EXCHANGE_LEAD_DAYS", "0")


@pytest.fixture
def recorded(tmp_path: Path) -> dict[str, str | None]:
    """A store with a meeting whose minutes agreed two measures, one of them overdue; no
    Temporal anywhere (the address points nowhere)."""
    env = cli_environment(tmp_path, LOTSE_TEMPORAL_ADDRESS="127.0.0.1:1")
    settings = Settings(store="sqlite", data_dir=tmp_path, sqlite_path=None)
    load_agreement(settings)
    app = LotseApplication(env=settings.event_store_env())
    ctx = _ctx()
    app.schedule_meeting(MEETING, settings.agreement_id, datetime(2027, 1, 12, 9, tzinfo=UTC), ctx)
    overdue = date.today() - timedelta(days=3)
    minutes = RecordMinutes(
        actor=OFFICE,
        attendees=[OFFICE],
        topics=["Erreichbarkeit am Wochenende"],
        measures=[
            AgreedMeasure(text="Vertretungsplan abstimmen", owner="weisser-ring", due_on=overdue),
            AgreedMeasure(text="Übung vorbereiten", owner="raa-sachsen", due_on=date(2099, 1, 1)),
        ],
    )
    app.record_minutes(MEETING, minutes, _ctx())
    app.close()
    return env


def _ctx() -> CommandContext:
    return cli_context(OFFICE)


def test_measures_list_reads_the_record_with_temporal_down(recorded: dict[str, str | None]) -> None:
    result = invoke(recorded, "measures", "list")
    assert result.exit_code == 0, result.output
    first, second = result.output.splitlines()  # not a terminal: one line per measure
    assert first.startswith("measure: exchange-20270112/m1  ·  state: OVERDUE  ·  ")
    assert "owner: weisser-ring" in first
    assert second.startswith("measure: exchange-20270112/m2  ·  state: open  ·  ")
    only = invoke(recorded, "measures", "list", "--partner", "raa-sachsen")
    assert "exchange-20270112/m2" in only.output
    assert "m1" not in only.output


def test_only_the_owner_or_the_office_marks_a_measure_done_and_only_once(
    recorded: dict[str, str | None],
) -> None:
    key = f"{MEETING}/m1"
    refused = invoke(recorded, "measures", "done", key, "--as", "raa-sachsen", "--staff", "k-1")
    assert refused.exit_code == 1
    assert refused.output == (
        f"error: only the owner of measure {key} (weisser-ring) or the Commissioner's office "
        "(opferbeauftragte) may mark it done, not raa-sachsen\n"
    )
    done = invoke(recorded, "measures", "done", key, "--as", "weisser-ring", "--staff", "lb-2")
    assert done.exit_code == 0, done.output
    assert "recorded by weisser-ring/lb-2" in done.output
    again = invoke(recorded, "measures", "done", key, "--as", "weisser-ring", "--staff", "lb-2")
    assert again.exit_code == 0
    assert "was already done on" in again.output
    assert "nothing recorded" in again.output
    open_only = invoke(recorded, "measures", "list", "--open")
    assert key not in open_only.output


def test_exchange_list_shows_the_meeting_and_its_minutes(recorded: dict[str, str | None]) -> None:
    result = invoke(recorded, "exchange", "list")
    assert result.exit_code == 0, result.output
    assert MEETING in result.output
    assert "recorded" in result.output
    assert "0/4 delivered" in result.output


@pytest.mark.parametrize(
    ("every", "message"),
    [
        ("3x", "error: --every '3x': write a number of days or weeks, e.g. 4w or 90d"),
        ("60w", "error: --every '60w': at most 366 days (52w) between two meetings"),
    ],
)
def test_a_bad_every_is_one_error_line(tmp_path: Path, every: str, message: str) -> None:
    result = invoke(cli_environment(tmp_path), "exchange", "schedule", "--every", every)
    assert result.exit_code == 1
    assert result.output.startswith(message)
    assert len(result.output.splitlines()) == 1


def test_a_bad_due_date_is_one_error_line(recorded: dict[str, str | None]) -> None:
    result = invoke(
        recorded, "measures", "assign", f"{MEETING}/m2", "--owner", "raa-sachsen",
        "--due", "31.03.2027", "--as", "opferbeauftragte", "--staff", "OB-0042",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output == (
        "error: --due '31.03.2027' is not a date: write YYYY-MM-DD, e.g. 2027-03-31\n"
    )


async def test_schedule_twice_makes_one_schedule(lotse: Lotse, stack: Stack) -> None:
    first = (date.today() + timedelta(days=40)).isoformat()
    made = await lotse("exchange", "schedule", "--every", "4w", "--first", first)
    again = await lotse("exchange", "schedule", "--every", "4w", "--first", first)
    handle = stack.client.get_schedule_handle("exchange-kooperation-opferhilfe-sachsen")
    try:
        assert made.exit_code == 0, made.output
        assert (
            made.output.splitlines()[0]
            == "schedule exchange-kooperation-opferhilfe-sachsen: created"
        )
        assert again.output.splitlines()[0].endswith(": unchanged")
        described = await handle.describe()
        assert [i.every for i in described.schedule.spec.intervals] == [timedelta(weeks=4)]
    finally:
        await handle.delete()


MINUTES_TOML = """
attendees = [{ partner_id = "opferbeauftragte", staff_ref = "OB-0042" }]
topics = ["Erreichbarkeit am Wochenende"]
[[measures]]
text = "Vertretungsplan abstimmen"
owner = "{owner}"
due_on = 2099-01-31
"""


async def test_minutes_from_a_toml_file_reach_the_meetings_run(
    lotse: Lotse, stack: Stack, tmp_path: Path
) -> None:
    first = (date.today() + timedelta(days=40)).isoformat()
    made = await lotse("exchange", "schedule", "--every", "4w", "--first", first)
    assert made.exit_code == 0, made.output
    schedule = stack.client.get_schedule_handle("exchange-kooperation-opferhilfe-sachsen")
    try:
        await schedule.trigger()
        described = await eventually(
            schedule.describe, lambda d: bool(d.info.recent_actions), what="a run"
        )
    finally:
        await schedule.delete()
    run = stack.client.get_workflow_handle(described.info.recent_actions[-1].action.workflow_id)
    stack.handles.append(run)
    [key] = await eventually(
        lambda: _meetings_with_invitations(stack), lambda keys: len(keys) == 1, what="invitations"
    )
    bad = tmp_path / "bad.toml"
    bad.write_text(MINUTES_TOML.replace("{owner}", "nobody"), encoding="utf-8")
    args = ("--as", "opferbeauftragte", "--staff", "OB-0042")
    refused = await lotse("exchange", "minutes", key, str(bad), *args)
    assert refused.exit_code == 1
    assert refused.output == (
        "error: minutes refused: measure 1: owner 'nobody' is not a partner (opferbeauftragte, "
        "opferhilfe-sachsen, raa-sachsen, weisser-ring)\n"
    )
    good = tmp_path / "minutes.toml"
    good.write_text(MINUTES_TOML.replace("{owner}", "raa-sachsen"), encoding="utf-8")
    taken = await lotse("exchange", "minutes", key, str(good), *args)
    assert taken.exit_code == 0, taken.output
    assert taken.stdout.splitlines() == [
        f"{key}: minutes recorded; measures tracked: 1",
        f"  {key}/m1",
    ]
    listed = await lotse("measures", "list", "--partner", "raa-sachsen")
    assert listed.output.startswith(f"measure: {key}/m1  ·  state: open  ·  owner: raa-sachsen")


def _meetings_with_invitations(stack: Stack) -> list[str]:
    keys = stack.app.meeting_keys()
    return [k for k in keys if len(stack.app.meeting(k).invitations) == 4]


async def test_assigning_a_reflections_measure_starts_its_reminders_once(
    lotse: Lotse, stack: Stack
) -> None:
    incident_key = "reflected-20261128"
    reflected(stack.app, stack.settings.agreement_id, incident_key, datetime.now(UTC))
    key = f"{incident_key}/r1"
    args = ("--owner", "weisser-ring", "--as", "opferbeauftragte", "--staff", "OB-0042")
    workflow_id = measure_reminders_id(key)
    stack.handles.append(stack.client.get_workflow_handle(workflow_id))

    first = await lotse("measures", "assign", key, *args, "--due", "2099-01-31")
    again = await lotse("measures", "assign", key, *args, "--due", "2099-02-28")

    for result in (first, again):
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines()[1] == f"  reminders when overdue: workflow {workflow_id}"
    handle = stack.client.get_workflow_handle(workflow_id)
    runs = [w async for w in stack.client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) == 1  # the second assignment signalled the running one
    signals = [
        e.workflow_execution_signaled_event_attributes.signal_name
        async for e in handle.fetch_history_events()
        if e.HasField("workflow_execution_signaled_event_attributes")
    ]
    assert signals == ["assigned", "assigned"]
    assert stack.app.measure(key).due_on == "2099-02-28"


def test_assigning_a_reflections_measure_with_temporal_down_records_and_says_to_repeat(
    recorded: dict[str, str | None], tmp_path: Path
) -> None:
    settings = Settings(store="sqlite", data_dir=tmp_path, sqlite_path=None)
    app = LotseApplication(env=settings.event_store_env())
    reflected(app, settings.agreement_id, "reflected-20261128", datetime.now(UTC))
    app.close()
    key = "reflected-20261128/r1"
    args = ("--owner", "weisser-ring", "--due", "2099-01-31", "--as", "weisser-ring")

    result = invoke(recorded, "measures", "assign", key, *args, "--staff", "lb-2")

    assert result.exit_code == 1
    assert result.stderr == (
        f"error: measure {key} is assigned, but its reminders could not be started: cannot "
        "reach Temporal at 127.0.0.1:1 (is `make run` running?); run the same command again "
        "once Temporal is reachable (nothing is recorded twice)\n"
    )
    listed = invoke(recorded, "measures", "list")
    assert f"measure: {key}  ·  state: open  ·  owner: weisser-ring" in listed.stdout
