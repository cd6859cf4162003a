"""The operator's updates of a running incident, one thin command each.

Every command names who acts (`--staff` reference of the partner given with `--as`) and how the
step reached Lotse (`--channel cli|phone`). The request is validated here first, then the
workflow's own validator decides; its refusal is printed as one line.

Every update carries an id (`--update-id`, default a fresh one), printed on stderr before it
is sent. Temporal applies an update id once per workflow run and answers a repetition with the
first result, so repeating a command with the same `--update-id` — after a timeout, a Ctrl-C,
a lost connection — never applies it twice. Before sending, the command checks that a worker
polls the incident's task queue (else it sends nothing and says so); every wait is bounded
(`--timeout`, default 30 s).
"""

from __future__ import annotations

import asyncio
import re
import shlex
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import (
    Client,
    RPCTimeoutOrCancelledError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError

from cli.common import (
    STATUS_COMMANDS,
    CliError,
    connect_client,
    duration,
    hint_environment,
    incident_errors,
    invocation_settings,
    lotse_program,
    parse_moment,
    reports_errors,
    status_command,
    validated,
)
from cli.render import phase_words
from contracts.messages import (
    AcknowledgeAlert,
    AcknowledgementResult,
    AssignmentResult,
    AssignNeedCategory,
    CallOff,
    CloseAcutePhase,
    PhaseResult,
    RecordReflection,
    ReportNeeds,
)
from contracts.vocabulary import INCIDENT_CONTINUING, cli_time
from settings import Settings

ANSWER_TIMEOUT = timedelta(seconds=30)
RESEND_PAUSE = 0.2
"""Seconds between two sends of an update the incident refused while moving to a new run."""
# A live worker re-polls as soon as a long poll ends (after about 60 s without work), and the
# server stamps `last_access_time` when a poll starts: measured on the dev server, a live idle
# worker's stamp is at most ~58 s old, a stopped worker's keeps ageing (the entry itself stays
# for minutes). Older than this, nobody polls.
POLLER_FRESHNESS = timedelta(seconds=75)
UPDATE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
R = TypeVar("R", bound=BaseModel)


class OperatorChannel(StrEnum):
    """How the step reached the operator who types it."""

    CLI = "cli"
    PHONE = "phone"


IncidentArg = Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")]
StaffOpt = Annotated[
    str,
    typer.Option(
        "--staff",
        metavar="STAFF",
        help="Your staff reference or role, never a name (e.g. lagedienst-1).",
    ),
]
ActingPartnerOpt = Annotated[
    str,
    typer.Option(
        "--as",
        "--actor-partner",
        metavar="PARTNER",
        help="The partner you act for (e.g. opferbeauftragte).",
    ),
]
ChannelOpt = Annotated[
    OperatorChannel,
    typer.Option(
        "--channel", metavar="cli|phone", help="How it reached you: typed here (cli) or by phone."
    ),
]


UpdateIdOpt = Annotated[
    str | None,
    typer.Option(
        "--update-id",
        metavar="ID",
        help="The id of this update; repeat a command with the id it printed to make sure it "
        "is applied once (default: a fresh id).",
    ),
]
TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=0.1,
        help="How long to wait for the incident's answer.",
    ),
]
DEFAULT_TIMEOUT = ANSWER_TIMEOUT.total_seconds()


def acting(acting_partner: str, staff: str, channel: OperatorChannel) -> dict[str, Any]:
    """The `actor` and `channel` fields every update of an incident or a case carries."""
    return {"actor": {"partner_id": acting_partner, "staff_ref": staff}, "channel": str(channel)}


def new_update_id() -> str:
    """Short enough to read out on the phone, unique enough within one incident."""
    return f"cli-{uuid.uuid4().hex[:12]}"


def checked_update_id(update_id: str | None) -> str:
    """The given id, or a fresh one; a `CliError` naming the rule for a malformed one."""
    if update_id is None:
        return new_update_id()
    if not UPDATE_ID.fullmatch(update_id):
        raise CliError(
            f"--update-id '{update_id}': an update id has 1 to 128 letters, digits, '.', '_', "
            "':' or '-' and starts with a letter or digit"
        )
    return update_id


def repeat_command(ctx: typer.Context, settings: Settings, update_id: str) -> str:
    """The command as typed, with `--update-id`: what to paste to repeat it safely."""
    words = [*hint_environment(settings), lotse_program(), *ctx.command_path.split()[1:]]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.name in ("update_id", "timeout") or value is None or value is False:
            continue
        if param.param_type_name == "argument":
            words.append(str(value))
            continue
        option = param.opts[0]
        if value is True:
            words.append(option)
        elif isinstance(value, list | tuple):
            for item in value:
                words += [option, str(item)]
        else:
            words += [option, str(value)]
    return shlex.join([*words, "--update-id", update_id])


async def worker_polls(client: Client, namespace: str, task_queue: str) -> datetime | None:
    """Whether a worker polls `task_queue` for workflow tasks now: None if one does, else
    when one was last seen (`datetime.min` for never)."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=namespace,
            task_queue=TaskQueue(name=task_queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=ANSWER_TIMEOUT,
    )
    seen = [poller.last_access_time.ToDatetime(UTC) for poller in response.pollers]
    last = max(seen, default=datetime.min.replace(tzinfo=UTC))
    return None if datetime.now(UTC) - last < POLLER_FRESHNESS else last


def status_of(noun: str, workflow_id: str) -> str:
    """The command that shows whether an update to `workflow_id` was applied."""
    command = status_command(noun)
    return command if command in STATUS_COMMANDS.values() else f"{command} {workflow_id}"


async def send_update(
    ctx: typer.Context,
    incident_id: str,
    name: str,
    request: BaseModel,
    result_type: type[R],
    options: tuple[str | None, float],
    noun: str = "incident",
    *,
    announce: bool = True,
) -> R:
    """Send update `name` to workflow `incident_id` (an incident, or a case: `noun`) once a
    worker polls its task queue; bounded by the timeout in `options`."""
    given_id, timeout = options
    update_id = checked_update_id(given_id)
    settings = invocation_settings(ctx)
    client = await connect_client(settings)
    handle = client.get_workflow_handle(incident_id)
    with incident_errors(incident_id, noun):
        described = await handle.describe(rpc_timeout=ANSWER_TIMEOUT)
        last_seen = await worker_polls(client, settings.temporal_namespace, described.task_queue)
    if last_seen is not None:
        seen = (
            "never seen"
            if last_seen.year == 1
            else f"last seen {cli_time(last_seen)} (Europe/Berlin)"
        )
        raise CliError(
            f"no worker polls task queue {described.task_queue} ({seen}) — nothing was sent; "
            "start the worker (`make run` or `python -m worker`) and run the command again"
        )
    if announce:  # a command that is itself safe to repeat says nothing of update ids
        typer.echo(
            f"update id {update_id} — to repeat safely: {repeat_command(ctx, settings, update_id)}",
            err=True,
        )
    not_answered = CliError(
        f"{noun} '{incident_id}' did not answer within {timeout:g}s: the update with id "
        f"{update_id} was sent and may still be applied — check `{status_of(noun, incident_id)}`; "
        f"repeating it with --update-id {update_id} is safe (applied at most once)"
    )
    with incident_errors(incident_id, noun):
        try:
            # The client polls for the update's outcome in a loop, and `rpc_timeout` bounds
            # only each poll (the server answers an unfinished one empty, and the client asks
            # again): only a bound around the whole call bounds the wait.
            result: R = await asyncio.wait_for(
                send_until_a_run_takes_it(handle, name, request, update_id, result_type),
                timeout,
            )
        except (TimeoutError, RPCTimeoutOrCancelledError):
            raise not_answered from None
    return result


async def send_until_a_run_takes_it(
    handle: WorkflowHandle[Any, Any],
    name: str,
    request: BaseModel,
    update_id: str,
    result_type: type[R],
) -> R:
    """Send the update; while the incident hands over to a new run (continue-as-new), it
    refuses updates without recording them: send the same update id again a moment later."""
    while True:
        try:
            result: R = await handle.execute_update(
                name, request, id=update_id, result_type=result_type
            )
            return result
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if not (isinstance(cause, ApplicationError) and cause.type == INCIDENT_CONTINUING):
                raise
        await asyncio.sleep(RESEND_PAUSE)


def _phase_update(
    ctx: typer.Context,
    incident_id: str,
    name: str,
    request: BaseModel,
    options: tuple[str | None, float],
) -> None:
    result = asyncio.run(send_update(ctx, incident_id, name, request, PhaseResult, options))
    repeat = " (this update id was applied before; nothing recorded again)"
    typer.echo(
        f"{incident_id}: phase {phase_words(result.phase)}{repeat if result.duplicate else ''}"
    )


# --- acknowledge ----------------------------------------------------------------------------


@reports_errors
def acknowledge(
    ctx: typer.Context,
    incident_id: IncidentArg,
    partner: Annotated[
        str, typer.Option("--partner", metavar="PARTNER", help="The partner that acknowledges.")
    ],
    staff: StaffOpt,
    acting_partner: Annotated[
        str | None,
        typer.Option(
            "--as",
            "--actor-partner",
            metavar="PARTNER",
            help="Record it for --partner as a member of this partner (e.g. the Commissioner's "
            "office taking a phone call); default: --partner itself.",
        ),
    ] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
    received_at: Annotated[
        str | None,
        typer.Option(
            "--received-at",
            metavar="TIME",
            help="When the acknowledgement arrived, if earlier than now (ISO 8601; without an "
            "offset it is Europe/Berlin time).",
        ),
    ] = None,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Record that a partner acknowledged its alert (yourself, or on its behalf by phone)."""
    request = validated(
        AcknowledgeAlert,
        {
            **acting(acting_partner or partner, staff, channel),
            "partner_id": partner,
            "received_at": _moment(received_at),
        },
        "acknowledgement",
    )
    result = asyncio.run(
        send_update(
            ctx,
            incident_id,
            "acknowledge_alert",
            request,
            AcknowledgementResult,
            (update_id, timeout),
        )
    )
    for line in describe_acknowledgement(request, result):
        typer.echo(line)


def _moment(text: str | None) -> datetime | None:
    return parse_moment("--received-at", text)


def describe_acknowledgement(request: AcknowledgeAlert, result: AcknowledgementResult) -> list[str]:
    """What the workflow recorded, in the operator's words."""
    at = f"{cli_time(result.acknowledged_at)} (Europe/Berlin)"
    if request.received_at is not None:
        at += " as received; entered now"
    if result.duplicate:
        return [f"{result.partner_id} had already acknowledged at {at}; nothing recorded"]
    timing = "LATE — after its deadline" if result.late else "in time"
    actor = request.actor
    behalf = f" on behalf of {result.partner_id}" if actor.partner_id != result.partner_id else ""
    return [
        f"{result.partner_id} acknowledged at {at}, "
        f"{duration(result.seconds_to_acknowledge)} after the alert: {timing}",
        f"recorded by {actor.partner_id}/{actor.staff_ref}{behalf} via {request.channel}",
    ]


# --- needs and assignment -------------------------------------------------------------------


@reports_errors
def report_needs(
    ctx: typer.Context,
    incident_id: IncidentArg,
    need: Annotated[
        list[str],
        typer.Option(
            "--need",
            metavar="CATEGORY:REGION:COUNT",
            help="CATEGORY:REGION:COUNT, e.g. psychosocial:dresden:40 (repeat for more).",
        ),
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Report counts of people with a need, by category and region, for your partner."""
    request = validated(
        ReportNeeds,
        {**acting(acting_partner, staff, channel), "needs": [_need(item) for item in need]},
        "needs report",
    )
    _phase_update(ctx, incident_id, "report_needs", request, (update_id, timeout))


def _need(text: str) -> dict[str, Any]:
    parts = text.split(":")
    if len(parts) != 3:
        raise CliError(f"--need '{text}': write CATEGORY:REGION:COUNT, e.g. legal:leipzig:12")
    category, region, count = parts
    # The update takes a count only as a whole number; the command line gives text.
    if not (count.isascii() and count.isdecimal()):
        raise CliError(f"--need '{text}': COUNT must be a whole number, e.g. legal:leipzig:12")
    return {"category": category, "region": region, "count": int(count)}


@reports_errors
def assign(
    ctx: typer.Context,
    incident_id: IncidentArg,
    category: Annotated[
        str, typer.Option("--category", metavar="CATEGORY", help="The need category.")
    ],
    partner: Annotated[
        str,
        typer.Option(
            "--partner", metavar="PARTNER", help="The partner whose remit covers the category."
        ),
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Give a need category to a partner whose existing remit covers it."""
    request = validated(
        AssignNeedCategory,
        {
            **acting(acting_partner, staff, channel),
            "category": category,
            "partner_id": partner,
        },
        "assignment",
    )
    result = asyncio.run(
        send_update(
            ctx,
            incident_id,
            "assign_need_category",
            request,
            AssignmentResult,
            (update_id, timeout),
        )
    )
    typer.echo(describe_assignment(incident_id, result))


def describe_assignment(incident_id: str, result: AssignmentResult) -> str:
    """What an assignment did, naming the partner it replaced."""
    if result.duplicate:
        return (
            f"{incident_id}: '{result.category}' was already assigned to {result.partner_id}; "
            "nothing recorded"
        )
    replaced = f", replacing {result.replaced}" if result.replaced else ""
    return f"{incident_id}: '{result.category}' assigned to {result.partner_id}{replaced}"


# --- phases ---------------------------------------------------------------------------------


@reports_errors
def close_acute(
    ctx: typer.Context,
    incident_id: IncidentArg,
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    note: Annotated[
        str | None, typer.Option("--note", metavar="TEXT", help="Why the acute phase ends.")
    ] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """End the acute phase; the reflection is scheduled."""
    request = validated(
        CloseAcutePhase, {**acting(acting_partner, staff, channel), "note": note}, "closing"
    )
    _phase_update(ctx, incident_id, "close_acute_phase", request, (update_id, timeout))


@reports_errors
def reflect(
    ctx: typer.Context,
    incident_id: IncidentArg,
    finding: Annotated[
        list[str], typer.Option("--finding", metavar="TEXT", help="A finding (repeat for more).")
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    measure: Annotated[
        list[str] | None,
        typer.Option("--measure", metavar="TEXT", help="An agreed measure (repeat)."),
    ] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Record the reflection's findings and agreed measures; closes the incident."""
    request = validated(
        RecordReflection,
        {
            **acting(acting_partner, staff, channel),
            "findings": finding,
            "measures": measure or [],
        },
        "reflection",
    )
    _phase_update(ctx, incident_id, "record_reflection", request, (update_id, timeout))


@reports_errors
def call_off(
    ctx: typer.Context,
    incident_id: IncidentArg,
    reason: Annotated[
        str, typer.Option("--reason", metavar="TEXT", help="Why: false alarm, duplicate, …")
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """End the incident early (a false alarm or a duplicate declaration)."""
    request = validated(
        CallOff, {**acting(acting_partner, staff, channel), "reason": reason}, "call-off"
    )
    _phase_update(ctx, incident_id, "call_off", request, (update_id, timeout))
