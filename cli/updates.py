"""The operator's updates of a running incident, one thin command each.

Every command names who acts (`--staff` reference of the partner given with `--as`) and how the
step reached Lotse (`--channel cli|phone`). The request is validated here first, then the
workflow's own validator decides; its refusal is printed as one line.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

from cli.common import (
    BERLIN,
    CliError,
    connect_client,
    duration,
    incident_errors,
    local_time,
    reports_errors,
    validated,
)
from cli.render import phase_words
from contracts.messages import (
    AcknowledgeAlert,
    AcknowledgementResult,
    AssignNeedCategory,
    CallOff,
    CloseAcutePhase,
    PhaseResult,
    RecordReflection,
    ReportNeeds,
)
from settings import Settings

ANSWER_TIMEOUT = timedelta(seconds=30)
R = TypeVar("R", bound=BaseModel)


class OperatorChannel(StrEnum):
    """How the step reached the operator who types it."""

    CLI = "cli"
    PHONE = "phone"


IncidentArg = Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident id.")]
StaffOpt = Annotated[
    str,
    typer.Option("--staff", help="Your staff reference or role, never a name (e.g. lagedienst-1)."),
]
ActingPartnerOpt = Annotated[
    str,
    typer.Option(
        "--as", "--actor-partner", help="The partner you act for (e.g. opferbeauftragte)."
    ),
]
ChannelOpt = Annotated[
    OperatorChannel,
    typer.Option("--channel", help="How it reached you: typed here (cli) or by phone."),
]


def _actor(acting_partner: str, staff: str, channel: OperatorChannel) -> dict[str, Any]:
    return {"actor": {"partner_id": acting_partner, "staff_ref": staff}, "channel": str(channel)}


async def _update(incident_id: str, name: str, request: BaseModel, result_type: type[R]) -> R:
    client = await connect_client(Settings())
    handle = client.get_workflow_handle(incident_id)
    with incident_errors(incident_id):
        result: R = await handle.execute_update(
            name, request, result_type=result_type, rpc_timeout=ANSWER_TIMEOUT
        )
    return result


def _phase_update(incident_id: str, name: str, request: BaseModel) -> None:
    result = asyncio.run(_update(incident_id, name, request, PhaseResult))
    typer.echo(f"{incident_id}: phase {phase_words(result.phase)}")


# --- acknowledge ----------------------------------------------------------------------------


@reports_errors
def acknowledge(
    incident_id: IncidentArg,
    partner: Annotated[str, typer.Option("--partner", help="The partner that acknowledges.")],
    staff: StaffOpt,
    acting_partner: Annotated[
        str | None,
        typer.Option(
            "--as",
            "--actor-partner",
            help="Record it for --partner as a member of this partner (e.g. the Commissioner's "
            "office taking a phone call); default: --partner itself.",
        ),
    ] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
    received_at: Annotated[
        str | None,
        typer.Option(
            "--received-at",
            help="When the acknowledgement arrived, if earlier than now (ISO 8601; without an "
            "offset it is Europe/Berlin time).",
        ),
    ] = None,
) -> None:
    """Record that a partner acknowledged its alert (yourself, or on its behalf by phone)."""
    request = validated(
        AcknowledgeAlert,
        {
            **_actor(acting_partner or partner, staff, channel),
            "partner_id": partner,
            "received_at": _moment(received_at),
        },
        "acknowledgement",
    )
    result = asyncio.run(_update(incident_id, "acknowledge_alert", request, AcknowledgementResult))
    for line in describe_acknowledgement(request, result):
        typer.echo(line)


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--received-at '{text}' is not an ISO 8601 time (e.g. 2026-12-05T17:52 or "
            "2026-12-05T17:52+01:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=BERLIN)


def describe_acknowledgement(request: AcknowledgeAlert, result: AcknowledgementResult) -> list[str]:
    """What the workflow recorded, in the operator's words."""
    at = f"{local_time(result.acknowledged_at)} (Europe/Berlin)"
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
    incident_id: IncidentArg,
    need: Annotated[
        list[str],
        typer.Option(
            "--need",
            help="CATEGORY:REGION:COUNT, e.g. psychosocial:dresden:40 (repeat for more).",
        ),
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
) -> None:
    """Report counts of people with a need, by category and region, for your partner."""
    request = validated(
        ReportNeeds,
        {**_actor(acting_partner, staff, channel), "needs": [_need(item) for item in need]},
        "needs report",
    )
    _phase_update(incident_id, "report_needs", request)


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
    incident_id: IncidentArg,
    category: Annotated[str, typer.Option("--category", help="The need category.")],
    partner: Annotated[
        str, typer.Option("--partner", help="The partner whose remit covers the category.")
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
) -> None:
    """Give a need category to a partner whose existing remit covers it."""
    request = validated(
        AssignNeedCategory,
        {**_actor(acting_partner, staff, channel), "category": category, "partner_id": partner},
        "assignment",
    )
    _phase_update(incident_id, "assign_need_category", request)


# --- phases ---------------------------------------------------------------------------------


@reports_errors
def close_acute(
    incident_id: IncidentArg,
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    note: Annotated[str | None, typer.Option("--note", help="Why the acute phase ends.")] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
) -> None:
    """End the acute phase; the reflection is scheduled."""
    request = validated(
        CloseAcutePhase, {**_actor(acting_partner, staff, channel), "note": note}, "closing"
    )
    _phase_update(incident_id, "close_acute_phase", request)


@reports_errors
def reflect(
    incident_id: IncidentArg,
    finding: Annotated[list[str], typer.Option("--finding", help="A finding (repeat for more).")],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    measure: Annotated[
        list[str] | None, typer.Option("--measure", help="An agreed measure (repeat).")
    ] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
) -> None:
    """Record the reflection's findings and agreed measures; closes the incident."""
    request = validated(
        RecordReflection,
        {**_actor(acting_partner, staff, channel), "findings": finding, "measures": measure or []},
        "reflection",
    )
    _phase_update(incident_id, "record_reflection", request)


@reports_errors
def call_off(
    incident_id: IncidentArg,
    reason: Annotated[str, typer.Option("--reason", help="Why: false alarm, duplicate, …")],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
) -> None:
    """End the incident early (a false alarm or a duplicate declaration)."""
    request = validated(
        CallOff, {**_actor(acting_partner, staff, channel), "reason": reason}, "call-off"
    )
    _phase_update(incident_id, "call_off", request)
