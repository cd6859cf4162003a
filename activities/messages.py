"""What a notification says: the German text for people and the JSON payload for machines.

`render_notification` turns one step of the procedure (an alert, an escalation, a due
reflection, an all-clear) into an `OutgoingMessage`, saying what happened, what is asked and how
to answer. How it is delivered is `activities/notify.py`'s business; the texts change for other
reasons (wording, the procedure) than the delivery (protocols, servers).

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


def render_notification(
    *,
    incident_key: str,
    title: str,
    kind: IncidentKind,
    region: Region,
    location: str,
    occurred_at: datetime,
    sent_at: datetime,
    partner_id: str,
    partner_name: str,
    purpose: NotificationPurpose,
    step: EscalationStep,
    message_id: str,
    ui_url: str,
    task_queue: str,
    addressed_to: str | None = None,
    namespace: str = "default",
    unanswered_since: datetime | None = None,
    office_silent: bool = False,
    cli_prefix: str = "",
) -> OutgoingMessage:
    """The German message for one partner at one step of one incident.

    `partner_id`/`partner_name` is the partner the step is about: the alerted partner, or, for an
    escalation, the partner that has not acknowledged. `addressed_to` names a recipient outside
    the partners, the agreement's final escalation contact: with it, the last escalation step
    asks that recipient to reach the silent partner by phone (it cannot record anything itself).
    `unanswered_since` is when the silent partner was first alerted, for "seit …" in the text.
    """
    final = (
        addressed_to is not None
        and purpose is NotificationPurpose.ESCALATION
        and step is EscalationStep.COMMISSIONER
    )
    since = None if unanswered_since is None else mail_time(unanswered_since)
    workflow_url = workflow_page_url(ui_url, namespace, incident_key)
    if final:
        answer = _how_the_final_contact_helps(incident_key, partner_name, workflow_url)
    else:
        answer = _how_to_answer(incident_key, partner_id, purpose, step, workflow_url, cli_prefix)
    facts = [
        ("Was", f"{INCIDENT_KIND_LABELS_DE[kind]} – {title}"),
        ("Wo", f"{location}, {REGION_LABELS_DE[region]}"),
        ("Wann", mail_time(occurred_at)),
        ("Lage", incident_key),
        ("Partner", f"{partner_name} ({partner_id})"),
    ]
    body = _body(
        addressed_to=addressed_to,
        request=(
            _final_request_text(
                partner_name, since, office_silent and partner_id != COMMISSIONER_PARTNER_ID
            )
            if final
            else _request_text(purpose, step, partner_name)
        ),
        facts=facts,
        answer_lines=answer["lines"],
        sent_at=sent_at,
        message_id=message_id,
        task_queue=task_queue,
    )
    payload: dict[str, Any] = {
        "schema": PAYLOAD_SCHEMA,
        "message_id": message_id,
        "incident_id": incident_key,
        "title": title,
        "kind": kind.value,
        "region": region.value,
        "location": location,
        "occurred_at": _iso_utc(occurred_at),
        "sent_at": _iso_utc(sent_at),
        "partner_id": partner_id,
        "partner_name": partner_name,
        "purpose": purpose.value,
        "step": step.value,
        "addressed_to": addressed_to,
        "unanswered_since": None if unanswered_since is None else _iso_utc(unanswered_since),
        "office_silent": office_silent,
        "task_queue": task_queue,
        "how_to_respond": answer["machine"],
    }
    return OutgoingMessage(
        message_id=message_id,
        subject=f"[Lotse] Großschadenlage: {title} – "
        + (
            _final_subject_request(partner_name, since)
            if final
            else _subject_request(purpose, partner_name)
        ),
        body=body,
        payload=payload,
        sent_at=sent_at,
    )


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


def _how_to_answer(
    incident_key: str,
    partner_id: str,
    purpose: NotificationPurpose,
    step: EscalationStep,
    workflow_url: str,
    cli_prefix: str = "",
) -> dict[str, Any]:
    """Instructions for people (`lines`) and machines (`machine`): UI update and CLI command.

    `cli_prefix` carries the settings a copied command needs to reach this Temporal (e.g.
    `LOTSE_TEMPORAL_ADDRESS=…`), empty where the defaults apply."""
    actor_partner = _acting_partner(partner_id, purpose, step)
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
        cli = f"{cli_prefix}lotse incident ack {incident_key} --partner {partner_id}"
        cli += " --staff <Kennung>"
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


def _body(
    *,
    addressed_to: str | None,
    request: str,
    facts: list[tuple[str, str]],
    answer_lines: list[str],
    sent_at: datetime,
    message_id: str,
    task_queue: str,
) -> str:
    width = max(len(label) for label, _ in facts) + 2
    lines = ["Lotse – Koordinierung der Unterstützung nach Großschadenlagen", ""]
    if addressed_to:
        lines += [f"An: {addressed_to}", ""]
    # Plain-text mail readers do not wrap; 72 columns read well everywhere.
    lines += [textwrap.fill(request, width=72), ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in facts]
    lines += ["", *answer_lines, ""]
    lines += [
        "--",
        f"Gesendet: {mail_time(sent_at)} · Nachrichten-ID: {message_id}",
        f"Automatisch erzeugt von Lotse (Task Queue „{task_queue}“). Bitte nicht antworten.",
    ]
    return "\n".join(lines) + "\n"


def _iso_utc(moment: datetime) -> str:
    mail_time(moment)  # the same refusal of naive times as in the text
    return moment.astimezone(UTC).isoformat()
