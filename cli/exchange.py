"""`lotse exchange …`: the Schedule of the regular exchange, its meetings, their minutes.

`schedule` creates or updates one Temporal Schedule per agreement (`exchange-<agreement>`): run
twice, it makes one schedule; with the same values it changes nothing. Each firing starts a
`RegularExchange` run for one meeting, `exchange_lead_days` before the meeting. `list` reads the
record (no Temporal needed); `minutes` sends the minutes in a TOML or JSON file to the meeting's
run, checked here first by the same rules as the workflow's.
"""

from __future__ import annotations

import asyncio
import json
import re
import tomllib
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleUpdate,
)

from cli import updates
from cli.common import (
    CliError,
    connect_client,
    console,
    invocation_settings,
    open_application,
    reports_errors,
    validated,
)
from cli.render import print_table, whole
from contracts.exchange import (
    EXCHANGE_WORKFLOW_TYPE,
    ExchangeInput,
    MinutesResult,
    RecordMinutes,
    minutes_problems,
)
from contracts.vocabulary import BERLIN, cli_time
from domain.errors import DamagedRecordError
from settings import Settings

app = typer.Typer(help="The regular exchange of the partners: schedule, list, minutes.")

EVERY = re.compile(r"([1-9][0-9]{0,2})([dw])")
EVERY_MAX = timedelta(days=366)
MEETING_TIME = time(10, 0)
"""When a meeting given by date alone begins (Europe/Berlin)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CATCH_UP = timedelta(days=1)
"""A firing missed while Temporal was down is made up within a day, never weeks later."""


def parse_every(text: str) -> timedelta:
    """`4w` or `90d` as a duration; a `CliError` naming the rule otherwise."""
    match = EVERY.fullmatch(text.strip())
    if match is None:
        raise CliError(
            f"--every '{text}': write a number of days or weeks, e.g. 4w or 90d (at most 366d)"
        )
    count, unit = int(match[1]), match[2]
    every = timedelta(days=count * (7 if unit == "w" else 1))
    if every > EVERY_MAX:
        raise CliError(f"--every '{text}': at most 366 days (52w) between two meetings")
    return every


def parse_first(text: str | None, lead: timedelta, now: datetime) -> datetime:
    """The first meeting: an ISO date (at 10:00) or time, Europe/Berlin unless it names an
    offset; without one, the first day on which the invitations can still go out in time."""
    if text is None:
        day = (now + lead).astimezone(BERLIN).date() + timedelta(days=1)
        return datetime.combine(day, MEETING_TIME, tzinfo=BERLIN)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--first '{text}' is not an ISO 8601 date or time (e.g. 2027-01-12 or "
            "2027-01-12T10:00)"
        ) from None
    if "T" not in text and " " not in text:
        moment = datetime.combine(moment.date(), MEETING_TIME)
    first = moment if moment.tzinfo else moment.replace(tzinfo=BERLIN)
    if first - lead < now:
        raise CliError(
            f"--first {cli_time(first)}: its invitations would have gone out {lead.days} days "
            "before, which is past; choose a later first meeting"
        )
    return first


def exchange_schedule(
    settings: Settings, agreement_key: str, every: timedelta, first: datetime
) -> Schedule:
    """The Schedule: a run `exchange_lead_days` before each meeting, every `every` from the
    first; runs overlap (a run keeps tracking its measures while the next meeting begins)."""
    start = first - timedelta(days=settings.exchange_lead_days)
    offset = (start - EPOCH) % every
    return Schedule(
        action=ScheduleActionStartWorkflow(
            EXCHANGE_WORKFLOW_TYPE,
            ExchangeInput(agreement_key=agreement_key),
            id=f"exchange-{agreement_key}",
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=every, offset=offset)], start_at=start
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL, catchup_window=CATCH_UP),
    )


async def ensure_schedule(client: Client, schedule_id: str, wanted: Schedule) -> str:
    """Create the schedule, or update it to `wanted`: `created`, `updated` or `unchanged`."""
    try:
        await client.create_schedule(schedule_id, wanted)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(schedule_id)
    found = (await handle.describe()).schedule
    if _same(found, wanted):
        return "unchanged"
    await handle.update(lambda _: ScheduleUpdate(schedule=wanted))
    return "updated"


def _same(found: Schedule, wanted: Schedule) -> bool:
    action = found.action
    return (
        found.spec.intervals == wanted.spec.intervals
        and found.spec.start_at == wanted.spec.start_at
        and isinstance(action, ScheduleActionStartWorkflow)
        and isinstance(wanted.action, ScheduleActionStartWorkflow)
        and action.task_queue == wanted.action.task_queue
        and action.workflow == wanted.action.workflow
        and found.policy.overlap == wanted.policy.overlap
    )


@app.command("schedule")
@reports_errors
def schedule(
    ctx: typer.Context,
    every: Annotated[
        str, typer.Option("--every", metavar="4w|90d", help="Time between two meetings.")
    ],
    first: Annotated[
        str | None,
        typer.Option(
            "--first",
            metavar="DATE",
            help="The first meeting (2027-01-12 at 10:00, or 2027-01-12T14:00; Europe/Berlin). "
            "Default: the first day its invitations can still go out in time.",
        ),
    ] = None,
    agreement: Annotated[
        str | None,
        typer.Option("--agreement", metavar="KEY", help="Default: the agreement in settings."),
    ] = None,
) -> None:
    """Create or update the Temporal Schedule of the regular exchange (idempotent)."""
    interval = parse_every(every)
    settings = invocation_settings(ctx)
    lead = timedelta(days=settings.exchange_lead_days)
    first_meeting = parse_first(first, lead, datetime.now(UTC))
    key = agreement or settings.agreement_id
    with open_application(settings, reading=True) as record:
        record.agreement(key)  # AgreementNotFoundError names `lotse agreement load`
    wanted = exchange_schedule(settings, key, interval, first_meeting)

    async def run() -> str:
        client = await connect_client(settings)
        return await ensure_schedule(client, f"exchange-{key}", wanted)

    outcome = asyncio.run(run())
    typer.echo(f"schedule exchange-{key}: {outcome}")
    typer.echo(f"  first meeting: {cli_time(first_meeting)} (Europe/Berlin), then every {every}")
    typer.echo(f"  invitations go out {settings.exchange_lead_days} days before each meeting")


@app.command("list")
@reports_errors
def list_meetings(ctx: typer.Context) -> None:
    """Every exchange meeting in the record: when, invitations, minutes, measures."""
    settings = invocation_settings(ctx)
    table = Table()
    whole(table, "meeting", "held (Europe/Berlin)", "invited", "minutes", "measures")
    with open_application(settings, reading=True) as record:
        for key in record.meeting_keys():
            try:
                meeting = record.meeting(key)
            except DamagedRecordError as damage:  # the others are listed
                typer.echo(f"warning: not listed: {damage}", err=True)
                continue
            delivered = sum(meeting.invitations.values())
            table.add_row(
                key,
                cli_time(meeting.held_at),
                f"{delivered}/{len(meeting.partner_ids)} delivered",
                "recorded" if meeting.minutes_at else "not yet",
                str(len(meeting.measure_keys)),
            )
    if not table.rows:
        typer.echo("no exchange meeting is recorded yet (see `lotse exchange schedule`)")
        return
    print_table(console(), table)


@app.command("minutes")
@reports_errors
def minutes(
    ctx: typer.Context,
    meeting_key: Annotated[str, typer.Argument(metavar="MEETING", help="e.g. exchange-20270112")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The minutes, TOML or JSON.")],
    staff: updates.StaffOpt,
    acting_partner: updates.ActingPartnerOpt,
    channel: updates.ChannelOpt = updates.OperatorChannel.CLI,
    update_id: updates.UpdateIdOpt = None,
    timeout: updates.TimeoutOpt = updates.DEFAULT_TIMEOUT,
) -> None:
    """Record a meeting's minutes: attendees, topics, agreed measures (owner, due_on)."""
    data = read_minutes(file)
    request = validated(
        RecordMinutes,
        {**data, **updates.acting(acting_partner, staff, channel)},
        f"minutes in {file}",
    )
    settings = invocation_settings(ctx)
    with open_application(settings, reading=True) as record:
        meeting = record.meeting(meeting_key)
    problems = minutes_problems(request, meeting.partner_ids, meeting.held_at, datetime.now(UTC))
    if problems:
        raise CliError(f"minutes refused: {'; '.join(problems)}")
    if meeting.workflow_id is None:
        raise CliError(f"meeting {meeting_key} was not scheduled by a workflow run")
    result = asyncio.run(
        updates.send_update(
            ctx,
            meeting.workflow_id,
            "record_minutes",
            request,
            MinutesResult,
            (update_id, timeout),
            noun="exchange",
        )
    )
    typer.echo(f"{meeting_key}: minutes recorded; measures tracked: {len(result.measure_keys)}")
    for key in result.measure_keys:
        typer.echo(f"  {key}")


def read_minutes(file: Path) -> dict[str, Any]:
    """The minutes file as a mapping: TOML when it ends in .toml, JSON otherwise."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as error:
        raise CliError(f"{file}: cannot read: {error.strerror}") from None
    try:
        data: Any = tomllib.loads(text) if file.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        kind = "TOML" if file.suffix == ".toml" else "JSON"
        raise CliError(f"{file}: not valid {kind}: {error}") from None
    if not isinstance(data, dict):
        raise CliError(f"{file}: minutes are a table (TOML) or an object (JSON)")
    return data
