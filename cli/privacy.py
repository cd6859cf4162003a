"""`lotse privacy …`: what the data-protection officer does — erase a person, export their data.

Erasure destroys the person's key: every copy of their contact data in the record (events,
caches, exports, history output) becomes unreadable at once, while every stored event stays as
written, so the record stays complete and verifiable. The erasure itself is recorded.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from cli import updates
from cli.case import CASE, split_case_id
from cli.common import (
    CliError,
    invocation_settings,
    open_application,
    reports_errors,
    validated,
)
from cli.updates import ActingPartnerOpt, StaffOpt
from contracts.case_messages import CaseResult, CloseCase
from contracts.messages import Actor, CommandContext
from contracts.people import CaseCloseReason
from contracts.vocabulary import ActorChannel
from settings import Settings

app = typer.Typer(help="Erase a person's personal data; export it (GDPR Art. 15).")

ERASURE_NAMESPACE = uuid.UUID("2c5e8f14-7b3a-4d92-a6e0-1f9d3b7c5e28")


@app.command("erase")
@reports_errors
def erase(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The person's case id.")],
    staff: StaffOpt,
    acting_partner: ActingPartnerOpt,
    yes: Annotated[
        bool, typer.Option("--yes", help="Do not ask; erasure cannot be undone.")
    ] = False,
) -> None:
    """Destroy the person's key: their contact data becomes unreadable everywhere, for good."""
    incident_id, ref = split_case_id(case_id)
    if not yes:
        if not sys.stdin.isatty():
            raise CliError("erasure cannot be undone: confirm with --yes")
        typer.confirm(f"Erase the personal data of {ref} for good?", abort=True)
    actor = validated(Actor, {"partner_id": acting_partner, "staff_ref": staff}, "actor")
    settings = invocation_settings(ctx)
    command = ActorChannel.CLI
    context = CommandContext(
        # One erasure per person: a repeat finds it done and changes nothing.
        command_id=f"erase-{uuid.uuid5(ERASURE_NAMESPACE, case_id)}",
        actor=actor,
        channel=command,
        business_time=datetime.now(UTC),
        workflow_id=case_id,
    )
    with open_application(settings) as store:
        store.erase_person(incident_id, ref, context)
    typer.echo(f"{case_id}: personal data erased (the person's key is destroyed)")
    typer.echo(_close_the_case(ctx, settings, case_id, actor))


def _close_the_case(ctx: typer.Context, settings: Settings, case_id: str, actor: Actor) -> str:
    """Tell the running case, so that it sends nothing more; say what to do if it cannot."""
    request = CloseCase(actor=actor, channel=ActorChannel.CLI, reason=CaseCloseReason.ERASED)
    try:
        asyncio.run(
            updates.send_update(
                ctx,
                case_id,
                "close_case",
                request,
                CaseResult,
                (f"erase-{uuid.uuid5(ERASURE_NAMESPACE, case_id).hex[:16]}", 30.0),
                noun=CASE,
                announce=False,
            )
        )
    except Exception as error:
        return (
            f"  the case could not be closed now ({' '.join(str(error).split())[:200]}); "
            f"it sends nothing readable, and `lotse case close {case_id} --reason erased` "
            "closes it"
        )
    return "  the case is closed; open referrals were withdrawn"


@app.command("export")
@reports_errors
def export(
    ctx: typer.Context,
    case_id: Annotated[str, typer.Argument(metavar="CASE", help="The person's case id.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", metavar="FILE", help="Write to FILE.")
    ] = None,
) -> None:
    """The person's own data and its history as JSON (GDPR Art. 15)."""
    incident_id, ref = split_case_id(case_id)
    with open_application(invocation_settings(ctx), reading=True) as store:
        data = store.export_person(incident_id, ref)
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n"
    if output is None:
        typer.echo(text, nl=False)
        return
    # Created readable by its owner only, before a byte of personal data is in it.
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a file that existed keeps its mode otherwise
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    typer.echo(f"{case_id}: exported to {output} (personal data: readable by you only)")
