"""What a notification says: the German text for people and the JSON payload for machines.

`render_notification` turns one step of the procedure (an alert, an escalation, a due
reflection, an all-clear), given as one `Notification`, into an `OutgoingMessage`, saying what
happened, what is asked and how to answer. How it is delivered is `activities/notify.py`'s
business; the texts change for other reasons (wording, the procedure) than the delivery
(protocols, servers).

Messages name organisations and staff references only, never people (docs/data-protection.md).
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.links import workflow_page_url
from contracts.vocabulary import (
    COMMISSIONER_PARTNER_ID,
    INCIDENT_KIND_LABELS_DE,
    REGION_LABELS_DE,
    EscalationStep,
    IncidentKind,
    NotificationPurpose,
    Region,
    mail_time,
)

PAYLOAD_SCHEMA = "lotse.notification/1"
ACKNOWLEDGE_UPDATE = "acknowledge_alert"
REFLECTION_UPDATE = "record_reflection"
STAFF_PLACEHOLDER = "<Ihre Kennung>"
EXERCISE_SUBJECT = "[ÜBUNG / EXERCISE]"
EXERCISE_LINE = "ÜBUNG / EXERCISE – Dies ist eine Übung, keine echte Lage. This is an exercise."


class Attachment(BaseModel):
    """A document that goes with a message: an e-mail attachment, or for a webhook one entry
    of its `attachments`. Text only (the reflection report as HTML)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")
    content_type: str = Field(pattern=r"^text/[a-z]+$")
    text: str


class OutgoingMessage(BaseModel):
    """One rendered notification, ready to be delivered to any channel.

    `message_id` is given by the caller and must be the same on every retry of the same step;
    `payload` is JSON-safe and is what a webhook receives (with `subject` and `body` added).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str = Field(min_length=1, max_length=200, pattern=r"^\S+$")
    subject: str
    body: str
    payload: dict[str, Any]
    sent_at: AwareDatetime = Field(description="When the step was taken: the e-mail Date.")
    attachments: tuple[Attachment, ...] = ()


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IncidentFacts(_Frozen):
    """What every message says about the incident: its facts as declared.

    Times are checked for a time zone where they are shown (`mail_time`), not here, so that a
    naive time is refused with the same words everywhere."""

    incident_key: str
    title: str
    kind: IncidentKind
    region: Region
    location: str
    occurred_at: datetime
    exercise: bool = False


class AnswerRoute(_Frozen):
    """Where a recipient answers: this Lotse's Temporal UI and task queue, and the settings a
    command copied from the message needs (`cli_prefix`, e.g. `LOTSE_TEMPORAL_ADDRESS=… `,
    empty where the defaults apply)."""

    ui_url: str
    task_queue: str
    namespace: str = "default"
    cli_prefix: str = ""


class Notification(_Frozen):
    """One step of the procedure for one partner: everything its message says.

    `partner_id`/`partner_name` is the partner the step is about: the alerted partner, or, for an
    escalation, the partner that has not acknowledged. `addressed_to` names a recipient outside
    the partners (the agreement's final escalation contact): with it, the last escalation step
    asks that recipient to reach the silent partner by phone (it cannot record anything itself).
    `unanswered_since` is when the silent partner was first alerted, for "seit …" in the text.
    `message_id` must be the same on every retry of the same step.
    """

    incident: IncidentFacts
    partner_id: str
    partner_name: str
    purpose: NotificationPurpose
    step: EscalationStep
    message_id: str
    sent_at: datetime
    answers: AnswerRoute
    addressed_to: str | None = None
    unanswered_since: datetime | None = None
    office_silent: bool = False

    @property
    def to_the_final_contact(self) -> bool:
        """The last escalation step, going to a recipient outside the partners."""
        return (
            self.addressed_to is not None
            and self.purpose is NotificationPurpose.ESCALATION
            and self.step is EscalationStep.COMMISSIONER
        )


def render_notification(notification: Notification) -> OutgoingMessage:
    """The German message for one partner at one step of one incident."""
    incident, partner_name = notification.incident, notification.partner_name
    unanswered_since = notification.unanswered_since
    since = None if unanswered_since is None else mail_time(unanswered_since)
    workflow_url = workflow_page_url(
        notification.answers.ui_url, notification.answers.namespace, incident.incident_key
    )
    if notification.to_the_final_contact:
        answer = _how_the_final_contact_helps(incident.incident_key, partner_name, workflow_url)
        office_silent = (
            notification.office_silent and notification.partner_id != COMMISSIONER_PARTNER_ID
        )
        request = _final_request_text(partner_name, since, office_silent)
        subject_request = _final_subject_request(partner_name, since)
    else:
        answer = _how_to_answer(notification, workflow_url)
        request = _request_text(notification.purpose, notification.step, partner_name)
        subject_request = _subject_request(notification.purpose, partner_name)
    message = OutgoingMessage(
        message_id=notification.message_id,
        subject=f"[Lotse] Großschadenlage: {incident.title} – {subject_request}",
        body=_body(notification, request, answer["lines"]),
        payload=_payload(notification, answer["machine"]),
        sent_at=notification.sent_at,
    )
    return as_exercise(message) if incident.exercise else message


def as_exercise(message: OutgoingMessage) -> OutgoingMessage:
    """The message marked as an exercise where every recipient looks first: the subject
    begins `[ÜBUNG / EXERCISE]`, the first line of the text says it is no real incident, and
    the payload carries `"exercise": true` (absent: a real incident)."""
    return message.model_copy(
        update={
            "subject": f"{EXERCISE_SUBJECT} {message.subject}",
            "body": f"{EXERCISE_LINE}\n\n{message.body}",
            "payload": {**message.payload, "exercise": True},
        }
    )


def _facts(notification: Notification) -> list[tuple[str, str]]:
    incident = notification.incident
    return [
        ("Was", f"{INCIDENT_KIND_LABELS_DE[incident.kind]} – {incident.title}"),
        ("Wo", f"{incident.location}, {REGION_LABELS_DE[incident.region]}"),
        ("Wann", mail_time(incident.occurred_at)),
        ("Lage", incident.incident_key),
        ("Partner", f"{notification.partner_name} ({notification.partner_id})"),
    ]


def _payload(notification: Notification, how_to_respond: dict[str, Any]) -> dict[str, Any]:
    """What a webhook receives (besides subject and body): the facts, JSON-safe, times in UTC."""
    incident, unanswered_since = notification.incident, notification.unanswered_since
    return {
        "schema": PAYLOAD_SCHEMA,
        "message_id": notification.message_id,
        "incident_id": incident.incident_key,
        "title": incident.title,
        "kind": incident.kind.value,
        "region": incident.region.value,
        "location": incident.location,
        "occurred_at": _iso_utc(incident.occurred_at),
        "sent_at": _iso_utc(notification.sent_at),
        "partner_id": notification.partner_id,
        "partner_name": notification.partner_name,
        "purpose": notification.purpose.value,
        "step": notification.step.value,
        "addressed_to": notification.addressed_to,
        "unanswered_since": None if unanswered_since is None else _iso_utc(unanswered_since),
        "office_silent": notification.office_silent,
        "task_queue": notification.answers.task_queue,
        "how_to_respond": how_to_respond,
    }


def _subject_request(purpose: NotificationPurpose, partner_name: str) -> str:
    if purpose is NotificationPurpose.ESCALATION:
        return f"Eskalation: {partner_name} hat die Alarmierung nicht bestätigt"
    if purpose is NotificationPurpose.REFLECTION_DUE:
        return "Reflexion fällig"
    if purpose is NotificationPurpose.ALL_CLEAR:
        return "Entwarnung: Lage abgebrochen"
    return "Bitte Alarmierung bestätigen"


def _final_subject_request(partner_name: str, since: str | None) -> str:
    return f"Letzte Eskalation: {partner_name} hat die Alarmierung {_since(since)}nicht bestätigt"


def _since(since: str | None) -> str:
    return "" if since is None else f"seit {since} "


def _final_request_text(partner_name: str, since: str | None, office_silent: bool = False) -> str:
    """For the final escalation contact: who is silent, since when, and what to do about it."""
    office = (
        " Auch die Opferbeauftragte, die sonst die letzte Stufe ist, hat ihre eigene "
        "Alarmierung nicht bestätigt."
        if office_silent
        else ""
    )
    return (
        f"{partner_name} hat die Alarmierung {_since(since)}nicht bestätigt (weder "
        f"Kontaktstelle noch Vertretung).{office} Sie erhalten diese Nachricht als letzte "
        "Eskalationsstufe der Kooperationsvereinbarung. Bitte nehmen Sie telefonisch Kontakt "
        f"mit {partner_name} auf und sorgen Sie dafür, dass die Alarmierung bestätigt und die "
        "Bestätigung in Lotse erfasst wird."
    )


def _request_text(purpose: NotificationPurpose, step: EscalationStep, partner_name: str) -> str:
    if purpose is NotificationPurpose.ALL_CLEAR:
        about = "Ihre Alarmierung" if step is EscalationStep.PRIMARY else "Die Eskalation"
        return (
            f"Entwarnung: Diese Lage wurde abgebrochen (z. B. Fehlalarm oder doppelte Meldung). "
            f"{about} zu {partner_name} ist damit erledigt; es ist nichts mehr zu "
            "tun, auch keine Bestätigung."
        )
    if purpose is NotificationPurpose.REFLECTION_DUE:
        return (
            "Die akute Phase dieser Lage ist beendet, die Reflexion der getroffenen Maßnahmen "
            "ist jetzt fällig. Bitte halten Sie die Reflexion ab und erfassen Sie die "
            "Erkenntnisse und vereinbarten Maßnahmen."
        )
    if purpose is NotificationPurpose.ALERT:
        return (
            "Nach der Kooperationsvereinbarung werden Sie über diese Großschadenlage alarmiert. "
            "Bitte bestätigen Sie die Alarmierung umgehend."
        )
    missing = f"{partner_name} hat die Alarmierung nicht fristgerecht bestätigt."
    if step is EscalationStep.COMMISSIONER:
        return (
            f"{missing} Bitte kümmern Sie sich darum: Nehmen Sie Kontakt mit {partner_name} auf "
            "und sorgen Sie dafür, dass die Alarmierung bestätigt wird. Sie können die "
            "Bestätigung auch im Auftrag des Partners erfassen."
        )
    return (
        f"{missing} Sie erhalten diese Nachricht als Vertretung. Bitte kümmern Sie sich um die "
        f"Lage und bestätigen Sie die Alarmierung für {partner_name}."
    )


def _how_to_answer(notification: Notification, workflow_url: str) -> dict[str, Any]:
    """Instructions for people (`lines`) and machines (`machine`): UI update and CLI command."""
    incident_key = notification.incident.incident_key
    partner_id, purpose = notification.partner_id, notification.purpose
    actor_partner = _acting_partner(partner_id, purpose, notification.step)
    actor = {"partner_id": actor_partner, "staff_ref": STAFF_PLACEHOLDER}
    if purpose is NotificationPurpose.ALL_CLEAR:
        lines = ["Die Lage ist in der Temporal-Oberfläche nachzulesen:", f"   {workflow_url}"]
        machine: dict[str, Any] = {"workflow_id": incident_key, "ui_url": workflow_url}
        return {"lines": lines, "machine": machine}
    if purpose is NotificationPurpose.REFLECTION_DUE:
        update, heading, cli = REFLECTION_UPDATE, "So erfassen Sie die Reflexion:", None
        update_input: dict[str, Any] = {
            "findings": ["<Erkenntnis>"],
            "measures": ["<vereinbarte Maßnahme>"],
            "actor": actor,
        }
    else:
        update, heading = ACKNOWLEDGE_UPDATE, "So bestätigen Sie die Alarmierung:"
        update_input = {"partner_id": partner_id, "actor": actor}
        cli = f"{notification.answers.cli_prefix}lotse incident ack {incident_key}"
        cli += f" --partner {partner_id} --staff <Kennung>"
        if actor_partner != partner_id:  # the recipient acknowledges for the silent partner
            cli += f" --as {actor_partner}"
    lines = [
        heading,
        "",
        "1. In der Temporal-Oberfläche:",
        f"   {workflow_url}",
        f"   Workflow öffnen, „Send an Update“ wählen, Update „{update}“ mit diesem JSON senden:",
        f"   {json.dumps(update_input, ensure_ascii=False)}",
    ]
    if cli is not None:
        lines += ["", "2. Über die Kommandozeile:", f"   {cli}"]
    lines += ["", "Geben Sie als Kennung Ihre Dienstkennung oder Rolle an, keinen Namen."]
    machine = {
        "workflow_id": incident_key,
        "ui_url": workflow_url,
        "update": update,
        "update_input": update_input,
        "cli": cli,
    }
    return {"lines": lines, "machine": machine}


def _how_the_final_contact_helps(
    incident_key: str, partner_name: str, workflow_url: str
) -> dict[str, Any]:
    """The final escalation contact is no partner: it cannot record an acknowledgement, so the
    message gives it no update and no command, only what to do and who records it."""
    lines = [
        "So geht es weiter:",
        "",
        f"1. Rufen Sie {partner_name} an und weisen Sie auf die unbestätigte "
        f"Alarmierung zur Lage {incident_key} hin.",
        f"2. Die Bestätigung erfasst {partner_name} dann selbst in Lotse, oder ein anderer "
        "Partner der Kooperationsvereinbarung erfasst sie stellvertretend.",
        "",
        "Sie selbst müssen in Lotse nichts erfassen.",
    ]
    machine = {
        "workflow_id": incident_key,
        "ui_url": workflow_url,
        "update": None,
        "update_input": None,
        "cli": None,
    }
    return {"lines": [_wrapped(line) for line in lines], "machine": machine}


def _wrapped(line: str) -> str:
    """A numbered line folded to 72 columns, continued under its text."""
    return textwrap.fill(line, width=72, subsequent_indent="   ") if line else line


def _acting_partner(partner_id: str, purpose: NotificationPurpose, step: EscalationStep) -> str:
    """Who records the answer: the partner itself, or the Commissioner's office on its behalf."""
    if purpose is not NotificationPurpose.ESCALATION or step is not EscalationStep.COMMISSIONER:
        return partner_id
    return COMMISSIONER_PARTNER_ID


def _body(notification: Notification, request: str, answer_lines: list[str]) -> str:
    facts = _facts(notification)
    width = max(len(label) for label, _ in facts) + 2
    lines = ["Lotse – Koordinierung der Unterstützung nach Großschadenlagen", ""]
    if notification.addressed_to:
        lines += [f"An: {notification.addressed_to}", ""]
    # Plain-text mail readers do not wrap; 72 columns read well everywhere.
    lines += [textwrap.fill(request, width=72), ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in facts]
    lines += ["", *answer_lines, ""]
    sent = f"Gesendet: {mail_time(notification.sent_at)}"
    task_queue = notification.answers.task_queue
    lines += [
        "--",
        f"{sent} · Nachrichten-ID: {notification.message_id}",
        f"Automatisch erzeugt von Lotse (Task Queue „{task_queue}“). Bitte nicht antworten.",
    ]
    return "\n".join(lines) + "\n"


def _iso_utc(moment: datetime) -> str:
    mail_time(moment)  # the same refusal of naive times as in the text
    return moment.astimezone(UTC).isoformat()
