"""What the regular exchange sends: the invitation to a meeting and the reminder of an overdue
measure, in German for people and as JSON for webhooks (`OutgoingMessage`).

Messages name organisations, measure keys and staff-reference placeholders, never people.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, date, datetime

from pydantic import BaseModel, ConfigDict

from activities.messages import OutgoingMessage
from contracts.vocabulary import mail_time

PAYLOAD_SCHEMA = "lotse.exchange/1"
HEADER = "Lotse – Koordinierung der Unterstützung nach Großschadenlagen"


class Invitation(BaseModel):
    """One partner's invitation to one meeting."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    meeting_key: str
    held_at: datetime
    partner_id: str
    partner_name: str
    message_id: str
    sent_at: datetime
    cli_prefix: str = ""


class Reminder(BaseModel):
    """One reminder of one overdue measure, to its owner or to the Commissioner's office."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    measure_key: str
    text: str
    owner: str
    owner_name: str
    due_on: date
    number: int
    message_id: str
    sent_at: datetime
    cli_prefix: str = ""


def render_invitation(invitation: Invitation) -> OutgoingMessage:
    when = mail_time(invitation.held_at)
    minutes = (
        f"{invitation.cli_prefix}lotse exchange minutes {invitation.meeting_key} PROTOKOLL.toml "
        "--as <Partner> --staff <Kennung>"
    )
    lines = [
        HEADER,
        "",
        _fill(
            "Die Partner der Kooperationsvereinbarung treffen sich regelmäßig zum fachlichen "
            f"Austausch. Hiermit laden wir {invitation.partner_name} zum nächsten Treffen ein."
        ),
        "",
        f"Wann:    {when}",
        f"Treffen: {invitation.meeting_key}",
        f"Partner: {invitation.partner_name} ({invitation.partner_id})",
        "",
        "Nach dem Treffen erfasst die Protokollführung Teilnehmende (Partner und Kennung),",
        "Themen und vereinbarte Maßnahmen (mit zuständigem Partner und Frist):",
        f"   {minutes}",
        "",
        *_footer(invitation.sent_at, invitation.message_id),
    ]
    return OutgoingMessage(
        message_id=invitation.message_id,
        subject=f"[Lotse] Einladung zum fachlichen Austausch am {when}",
        body="\n".join(lines) + "\n",
        payload={
            "schema": PAYLOAD_SCHEMA,
            "kind": "invitation",
            "meeting_key": invitation.meeting_key,
            "held_at": invitation.held_at.astimezone(UTC).isoformat(),
            "partner_id": invitation.partner_id,
            "how_to_respond": {"cli": minutes},
        },
        sent_at=invitation.sent_at,
    )


def render_reminder(reminder: Reminder) -> OutgoingMessage:
    due = f"{reminder.due_on:%d.%m.%Y}"
    done = (
        f"{reminder.cli_prefix}lotse measures done {reminder.measure_key} "
        f"--as {reminder.owner} --staff <Kennung>"
    )
    lines = [
        HEADER,
        "",
        _fill(
            f"Die Maßnahme {reminder.measure_key} ist seit dem {due} fällig und noch nicht als "
            f"erledigt erfasst (Erinnerung {reminder.number})."
        ),
        "",
        f"Maßnahme:   {reminder.text}",
        f"Zuständig:  {reminder.owner_name} ({reminder.owner})",
        f"Frist:      {due}",
        "",
        "Ist sie erledigt, erfassen Sie das bitte:",
        f"   {done}",
        "",
        *_footer(reminder.sent_at, reminder.message_id),
    ]
    return OutgoingMessage(
        message_id=reminder.message_id,
        subject=f"[Lotse] Maßnahme überfällig: {reminder.measure_key}",
        body="\n".join(lines) + "\n",
        payload={
            "schema": PAYLOAD_SCHEMA,
            "kind": "measure-overdue",
            "measure_key": reminder.measure_key,
            "owner": reminder.owner,
            "due_on": reminder.due_on.isoformat(),
            "number": reminder.number,
            "how_to_respond": {"cli": done},
        },
        sent_at=reminder.sent_at,
    )


def _fill(text: str) -> str:
    # Plain-text mail readers do not wrap; 72 columns read well everywhere.
    return textwrap.fill(text, width=72)


def _footer(sent_at: datetime, message_id: str) -> list[str]:
    return [
        "--",
        f"Gesendet: {mail_time(sent_at)} · Nachrichten-ID: {message_id}",
        "Automatisch erzeugt von Lotse. Bitte nicht antworten.",
    ]
