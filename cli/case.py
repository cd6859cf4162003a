"""`lotse case …`: the steps of one person's case (`VictimCase`), one thin command each.

A case is named by its id, `<incident>--<reference>` (e.g. `2026-12-05-dresden--DD-0042`), as
`lotse person register` prints it and as every referral message quotes it. Each command names
who acts (`--staff`, `--as`) and is sent as a Temporal update with an id that makes a repeat
change nothing twice (see cli/updates.py).
"""

from __future__ import annotations

import asyncio
import textwrap
from typing import Annotated, Any

import typer
from pydantic import BaseModel

from cli import updates
from cli.common import (
    CliError,
    connect_client,
    incident_errors,
    invocation_settings,
    parse_moment,
    reports_errors,
    validated,
)
from cli.render import EXERCISE_MARK
from cli.updates import (
    DEFAULT_TIMEOUT,
    ActingPartnerOpt,
    ChannelOpt,
    OperatorChannel,
    StaffOpt,
    TimeoutOpt,
    UpdateIdOpt,
    acting,
)
from contracts.case_messages import (
    AssessNeeds,
    CaseResult,
    CaseStatus,
    CloseCase,
    DeclineReferral,
    FirstContact,
    GiveConsent,
    RecordFollowUp,
    ReferNeed,
    ReferralAnswer,
    WithdrawConsent,
)
from contracts.vocabulary import CASE_ID_SEPARATOR, cli_time
from settings import Settings

app = typer.Typer(help="Drive one person's case: status, consent, needs, referral answers, …")

CaseArg = Annotated[
    str,
    typer.Argument(
        metavar="CASE", help="The case id, <incident>--<reference>, e.g. 2026-12-05-dd--DD-0042."
    ),
]
ReferralArg = Annotated[str, typer.Argument(metavar="REFERRAL", help="The referral: R1, R2, …")]
CASE = "case"
STATUS_WIDTH = 80
"""Lines of `lotse case status`: they read the same in a terminal, a pipe and a file."""


def split_case_id(case_id: str) -> tuple[str, str]:
    """The incident id and the person reference a case id is made of."""
    incident_id, _, ref = checked_case_id(case_id).rpartition(CASE_ID_SEPARATOR)
    return incident_id, ref


def checked_case_id(case_id: str) -> str:
    incident, separator, ref = case_id.rpartition(CASE_ID_SEPARATOR)
    if not separator or not incident or not ref:
        raise CliError(
            f"'{case_id}' is not a case id: write <incident>--<reference>, e.g. "
            "2026-12-05-dresden--DD-0042 (as `lotse person register` printed it)"
        )
    return case_id


def _send(
    ctx: typer.Context,
    case_id: str,
    name: str,
    request: BaseModel,
    options: tuple[str | None, float],
) -> None:
    case_id = checked_case_id(case_id)
    result = asyncio.run(
        updates.send_update(ctx, case_id, name, request, CaseResult, options, noun=CASE)
    )
    typer.echo(describe_result(case_id, result))


def describe_result(case_id: str, result: CaseResult) -> str:
    if result.duplicate:
        return f"{case_id}: this was recorded before; nothing recorded again"
    needs = ", ".join(f"{category} {status}" for category, status in result.needs.items())
    return f"{case_id}: recorded" + (f" — needs: {needs}" if needs else "")


def _list(option: str, text: str) -> list[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise CliError(f"{option}: give at least one value, separated by commas")
    return items


# --- status ---------------------------------------------------------------------------------


@app.command("status")
@reports_errors
def status(
    ctx: typer.Context,
    case_id: CaseArg,
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """Needs with owner, status and due date; referrals; follow-ups (the `status` query)."""
    result = asyncio.run(query_case(invocation_settings(ctx), checked_case_id(case_id)))
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
        return
    for line in describe_status(result):
        typer.echo(line)


async def query_case(settings: Settings, case_id: str) -> CaseStatus:
    client = await connect_client(settings)
    with incident_errors(case_id, CASE):
        result: CaseStatus = await client.get_workflow_handle(case_id).query(
            "status", result_type=CaseStatus, rpc_timeout=updates.ANSWER_TIMEOUT
        )
    return result


def describe_status(status: CaseStatus) -> list[str]:
    """The case in lines that fit 80 columns."""
    lines = [
        f"case {status.case_id}{EXERCISE_MARK if status.exercise else ''}",
        f"  person {status.person_ref}: {status.involvement}, {status.region}, "
        f"language {status.language}",
        f"  registered {cli_time(status.registered_at)} (Europe/Berlin)",
    ]
    if status.closed_reason is not None:
        lines.append(f"  closed: {status.closed_reason}")
    for consent in status.consents:
        scope = consent.scope
        state = f"withdrawn {cli_time(consent.withdrawn_at)}" if consent.withdrawn_at else "valid"
        lines.append(
            f"  consent for {scope.recipient}: {', '.join(scope.data_categories)} "
            f"({scope.method}, {state})"
        )
    for need in status.needs:
        lines.append(
            f"  need {need.category}: {need.status}, owner {need.owner}, "
            f"due {cli_time(need.due_at)}"
        )
    for referral in status.referrals:
        lines.append(
            f"  referral {referral.referral_id} {referral.category} → {referral.offer_id}: "
            f"{referral.status}, due {cli_time(referral.due_at)}"
        )
    for item in status.open_items:
        lines += textwrap.wrap(
            item, width=STATUS_WIDTH, initial_indent="  open: ", subsequent_indent=" " * 8
        )
    return lines


# --- consent and needs ----------------------------------------------------------------------


@app.command("consent")
@reports_errors
def consent(
    ctx: typer.Context,
    case_id: CaseArg,
    recipient: Annotated[
        str, typer.Option("--recipient", metavar="ID", help="A partner id or a support offer id.")
    ],
    data: Annotated[
        str,
        typer.Option(
            "--data",
            metavar="CATEGORIES",
            help="What may be shared, comma-separated: name, date-of-birth, address, phone, "
            "email, involvement, needs.",
        ),
    ],
    method: Annotated[str, typer.Option("--method", metavar="written|oral")],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    purpose: Annotated[str, typer.Option("--purpose", metavar="referral|follow-up")] = "referral",
    given_at: Annotated[str | None, typer.Option("--given-at", metavar="TIME")] = None,
    expires_at: Annotated[str | None, typer.Option("--expires-at", metavar="TIME")] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Record the person's consent to share data with one recipient."""
    request = validated(
        GiveConsent,
        {
            **acting(acting_partner, staff, channel),
            "recipient": recipient,
            "data_categories": _list("--data", data),
            "method": method,
            "purpose": purpose,
            "given_at": parse_moment("--given-at", given_at),
            "expires_at": parse_moment("--expires-at", expires_at),
        },
        "consent",
    )
    _send(ctx, case_id, "give_consent", request, (update_id, timeout))


@app.command("withdraw")
@reports_errors
def withdraw(
    ctx: typer.Context,
    case_id: CaseArg,
    recipient: Annotated[str, typer.Option("--recipient", metavar="ID")],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Record that the person withdraws consent for a recipient; its referrals end."""
    request = validated(
        WithdrawConsent,
        {**acting(acting_partner, staff, channel), "recipient": recipient},
        "withdrawal",
    )
    _send(ctx, case_id, "withdraw_consent", request, (update_id, timeout))


@app.command("needs")
@reports_errors
def needs(
    ctx: typer.Context,
    case_id: CaseArg,
    need: Annotated[
        list[str],
        typer.Option(
            "--need",
            metavar="CATEGORY[:URGENCY]",
            help="e.g. psychosocial:immediate (urgency immediate, soon or routine; repeat).",
        ),
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Record the person's needs from the catalogue (no notes)."""
    assessed = []
    for item in need:
        category, _, urgency = item.partition(":")
        assessed.append({"category": category, "urgency": urgency or "soon"})
    request = validated(
        AssessNeeds, {**acting(acting_partner, staff, channel), "needs": assessed}, "needs"
    )
    _send(ctx, case_id, "assess_needs", request, (update_id, timeout))


# --- the service's answers ------------------------------------------------------------------


def _answer(
    ctx: typer.Context,
    case_id: str,
    name: str,
    model: type[ReferralAnswer],
    fields: dict[str, Any],
    options: tuple[str | None, float],
) -> None:
    request = validated(model, fields, "answer")
    _send(ctx, case_id, name, request, options)


@app.command("ack")
@reports_errors
def acknowledge(
    ctx: typer.Context,
    case_id: CaseArg,
    referral: ReferralArg,
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """The service confirms that it received the referral."""
    fields = {**acting(acting_partner, staff, channel), "referral_id": referral}
    _answer(ctx, case_id, "acknowledge_referral", ReferralAnswer, fields, (update_id, timeout))


@app.command("accept")
@reports_errors
def accept(
    ctx: typer.Context,
    case_id: CaseArg,
    referral: ReferralArg,
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """The service takes the referral on."""
    fields = {**acting(acting_partner, staff, channel), "referral_id": referral}
    _answer(ctx, case_id, "accept_referral", ReferralAnswer, fields, (update_id, timeout))


@app.command("decline")
@reports_errors
def decline(
    ctx: typer.Context,
    case_id: CaseArg,
    referral: ReferralArg,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            metavar="REASON",
            help="no-capacity, outside-remit, language, district, already-in-care or other.",
        ),
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """The service declines; Lotse refers the need to the next matching offer."""
    fields = {
        **acting(acting_partner, staff, channel),
        "referral_id": referral,
        "reason": reason,
    }
    _answer(ctx, case_id, "decline_referral", DeclineReferral, fields, (update_id, timeout))


@app.command("contact")
@reports_errors
def first_contact(
    ctx: typer.Context,
    case_id: CaseArg,
    referral: ReferralArg,
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    at: Annotated[str | None, typer.Option("--at", metavar="TIME")] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """The service has reached the person (first contact)."""
    fields = {
        **acting(acting_partner, staff, channel),
        "referral_id": referral,
        "contacted_at": parse_moment("--at", at),
    }
    _answer(ctx, case_id, "record_first_contact", FirstContact, fields, (update_id, timeout))


# --- follow-up, referral by hand, closing ---------------------------------------------------


@app.command("follow-up")
@reports_errors
def follow_up(
    ctx: typer.Context,
    case_id: CaseArg,
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    met: Annotated[
        list[str] | None, typer.Option("--met", metavar="CATEGORY", help="Help arrived (repeat).")
    ] = None,
    unmet: Annotated[
        list[str] | None,
        typer.Option("--unmet", metavar="CATEGORY", help="Help did not arrive (repeat)."),
    ] = None,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Record whether help arrived, per need; an unmet need is referred again."""
    results = [{"category": c, "help_arrived": True} for c in met or []]
    results += [{"category": c, "help_arrived": False} for c in unmet or []]
    request = validated(
        RecordFollowUp,
        {**acting(acting_partner, staff, channel), "results": results},
        "follow-up",
    )
    _send(ctx, case_id, "record_follow_up", request, (update_id, timeout))


@app.command("refer")
@reports_errors
def refer(
    ctx: typer.Context,
    case_id: CaseArg,
    category: Annotated[str, typer.Option("--category", metavar="CATEGORY")],
    offer: Annotated[str, typer.Option("--offer", metavar="OFFER", help="The offer's id.")],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Refer a need to an offer you chose (after an escalation); needs the person's consent."""
    request = validated(
        ReferNeed,
        {**acting(acting_partner, staff, channel), "category": category, "offer_id": offer},
        "referral",
    )
    _send(ctx, case_id, "refer_need", request, (update_id, timeout))


@app.command("close")
@reports_errors
def close(
    ctx: typer.Context,
    case_id: CaseArg,
    reason: Annotated[
        str,
        typer.Option(
            "--reason", metavar="REASON", help="all-needs-met, help-declined or duplicate."
        ),
    ],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    channel: ChannelOpt = OperatorChannel.CLI,
    update_id: UpdateIdOpt = None,
    timeout: TimeoutOpt = DEFAULT_TIMEOUT,
) -> None:
    """Close the case; open referrals are withdrawn."""
    request = validated(
        CloseCase, {**acting(acting_partner, staff, channel), "reason": reason}, "closing"
    )
    _send(ctx, case_id, "close_case", request, (update_id, timeout))
