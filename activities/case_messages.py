"""What a case's messages say: to a support offer (a referral, a withdrawal) and to the
Commissioner's office (reminders, escalations, follow-ups), in German, with a JSON payload for
webhooks.

A referral carries the pseudonymous reference, the need, and how to reach the person only as
far as the person's consent for that recipient allows — nothing more. Messages to the office
carry the reference alone: the office reads contact data in the record (`lotse person show`).
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from activities.messages import AnswerRoute, OutgoingMessage, as_exercise
from contracts.case_messages import CaseMessagePurpose
from contracts.links import workflow_page_url
from contracts.people import URGENCY_LABELS_DE, DataCategory, Urgency
from contracts.vocabulary import NEED_CATEGORY_LABELS_DE, NeedCategory, mail_time

PAYLOAD_SCHEMA = "lotse.case-message/1"
STAFF_PLACEHOLDER = "<Ihre Kennung>"

FIELD_LABELS_DE: dict[DataCategory, str] = {
    DataCategory.NAME: "Name",
    DataCategory.DATE_OF_BIRTH: "Geburtsdatum",
    DataCategory.ADDRESS: "Anschrift",
    DataCategory.PHONE: "Telefon",
    DataCategory.EMAIL: "E-Mail",
}


class CaseNotice(BaseModel):
    """Everything one message of a case says. `reach` holds the contact fields that consent
    allows for this recipient (empty: none)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    purpose: CaseMessagePurpose
    message_id: str
    sent_at: datetime
    case_id: str
    incident_id: str
    incident_title: str
    person_ref: str
    recipient_id: str
    recipient_name: str
    category: NeedCategory | None = None
    urgency: Urgency | None = None
    referral_id: str | None = None
    due_at: datetime | None = None
    language: str = "de"
    reach: dict[DataCategory, str] = {}
    detail: str = ""
    answers: AnswerRoute
    exercise: bool = False


def render_case_message(notice: CaseNotice) -> OutgoingMessage:
    """The German message for one step of one case."""
    url = workflow_page_url(notice.answers.ui_url, notice.answers.namespace, notice.case_id)
    request = _request(notice)
    lines = ["Lotse – Koordinierung der Unterstützung nach Großschadenlagen", ""]
    lines += [textwrap.fill(request, width=72), ""]
    lines += _facts(notice)
    lines += ["", *_how_to_answer(notice, url), ""]
    if notice.reach:
        lines += [
            textwrap.fill(
                "Diese Nachricht enthält personenbezogene Daten. Bitte nicht weiterleiten und "
                "nach Übernahme in Ihre Akte löschen.",
                width=72,
            ),
            "",
        ]
    lines += [
        "--",
        f"Gesendet: {mail_time(notice.sent_at)} · Nachrichten-ID: {notice.message_id}",
        "Automatisch erzeugt von Lotse. Bitte nicht antworten.",
    ]
    message = OutgoingMessage(
        message_id=notice.message_id,
        subject=f"[Lotse] {notice.person_ref}: {_subject(notice)}",
        body="\n".join(lines) + "\n",
        payload=_payload(notice, url),
        sent_at=notice.sent_at,
    )
    return as_exercise(message) if notice.exercise else message


def _need(notice: CaseNotice) -> str:
    if notice.category is None:
        return "alle Bedarfe"
    label = NEED_CATEGORY_LABELS_DE[notice.category]
    if notice.urgency is None:
        return label
    return f"{label} (Dringlichkeit: {URGENCY_LABELS_DE[notice.urgency]})"


def _subject(notice: CaseNotice) -> str:
    need = NEED_CATEGORY_LABELS_DE[notice.category] if notice.category else "Fall"
    return {
        CaseMessagePurpose.REFERRAL: f"Vermittlung – {need}, bitte bestätigen",
        CaseMessagePurpose.WITHDRAWN: f"Vermittlung zurückgezogen – {need}",
        CaseMessagePurpose.ESCALATION: f"Eskalation – {need}",
        CaseMessagePurpose.REMINDER: f"Frist überschritten – {need}",
        CaseMessagePurpose.FOLLOW_UP_DUE: "Nachfrage fällig: Ist die Hilfe angekommen?",
    }[notice.purpose]


def _request(notice: CaseNotice) -> str:
    purpose, title = notice.purpose, notice.incident_title
    if purpose is CaseMessagePurpose.REFERRAL:
        return (
            f"Nach der Großschadenlage „{title}“ vermittelt Lotse Ihrem Angebot "
            f"„{notice.recipient_name}“ eine betroffene Person. Bitte bestätigen Sie den Eingang, "
            "nehmen Sie die Vermittlung an oder lehnen Sie sie mit Grund ab, und melden Sie den "
            "Erstkontakt. Verwenden Sie in allen Rückmeldungen nur die Referenz."
        )
    if purpose is CaseMessagePurpose.WITHDRAWN:
        return (
            "Die Vermittlung ist beendet: Die Person hat ihre Einwilligung widerrufen oder der "
            "Fall wurde geschlossen. Bitte nehmen Sie keinen Kontakt auf und löschen Sie die "
            "übermittelten Kontaktdaten."
        )
    if purpose is CaseMessagePurpose.FOLLOW_UP_DUE:
        return (
            "Die vereinbarte Nachfrage ist fällig: Bitte fragen Sie die Person, ob die Hilfe "
            "angekommen ist, und erfassen Sie die Antwort je Bedarf. Kontaktdaten stehen nur im "
            "Lotse-Datenbestand (`lotse person show`)."
        )
    if purpose is CaseMessagePurpose.REMINDER:
        return (
            "Eine Frist dieses Falls ist überschritten (Einwilligung oder Bedarfserfassung "
            "stehen aus). Bitte kümmern Sie sich darum, damit keine Anfrage unbeantwortet bleibt."
        )
    return (
        "Für einen Bedarf dieses Falls ist kein passendes Angebot mehr übrig, oder eine "
        "Rückmeldung ist überfällig. Bitte vermitteln Sie von Hand (Update „refer_need“) oder "
        "klären Sie den Fall."
    )


def _facts(notice: CaseNotice) -> list[str]:
    facts = [
        ("Referenz", notice.person_ref),
        ("Lage", notice.incident_id),
        ("Bedarf", _need(notice)),
    ]
    if notice.referral_id:
        facts.append(("Vermittlung", notice.referral_id))
    if notice.due_at is not None:
        facts.append(("Frist", mail_time(notice.due_at)))
    if notice.purpose is CaseMessagePurpose.REFERRAL:
        facts.append(("Sprache", notice.language))
    if notice.detail:
        facts.append(("Hinweis", notice.detail))
    width = max(len(label) for label, _ in facts) + 2
    lines = [f"{label + ':':<{width}}{value}" for label, value in facts]
    if notice.purpose is CaseMessagePurpose.REFERRAL:
        lines += ["", "Erreichbarkeit (soweit die Person eingewilligt hat):"]
        if notice.reach:
            lines += [f"  {FIELD_LABELS_DE[key]}: {value}" for key, value in notice.reach.items()]
        else:
            lines.append(
                "  Keine Kontaktdaten freigegeben – bitte über die Opferbeauftragte Kontakt "
                "aufnehmen."
            )
    return lines


def _how_to_answer(notice: CaseNotice, url: str) -> list[str]:
    if notice.purpose is not CaseMessagePurpose.REFERRAL or notice.referral_id is None:
        return ["Der Fall in der Temporal-Oberfläche:", f"   {url}"]
    actor = {"partner_id": notice.recipient_id, "staff_ref": STAFF_PLACEHOLDER}
    update_input = json.dumps(
        {"referral_id": notice.referral_id, "actor": actor}, ensure_ascii=False
    )
    prefix = notice.answers.cli_prefix
    cli = (
        f"{prefix}lotse case accept {notice.case_id} {notice.referral_id} "
        f"--as {notice.recipient_id} --staff <Kennung>"
    )
    return [
        "So antworten Sie:",
        "",
        "1. In der Temporal-Oberfläche:",
        f"   {url}",
        "   „Send an Update“: acknowledge_referral, accept_referral, decline_referral",
        "   (mit „reason“) oder record_first_contact, mit diesem JSON:",
        f"   {update_input}",
        "",
        "2. Über die Kommandozeile (ack, accept, decline, contact):",
        f"   {cli}",
        "",
        "Geben Sie als Kennung Ihre Dienstkennung oder Rolle an, keinen Namen.",
    ]


def _payload(notice: CaseNotice, url: str) -> dict[str, Any]:
    return {
        "schema": PAYLOAD_SCHEMA,
        "message_id": notice.message_id,
        "purpose": notice.purpose.value,
        "case_id": notice.case_id,
        "incident_id": notice.incident_id,
        "person_ref": notice.person_ref,
        "recipient_id": notice.recipient_id,
        "referral_id": notice.referral_id,
        "category": notice.category.value if notice.category else None,
        "urgency": notice.urgency.value if notice.urgency else None,
        "due_at": notice.due_at.astimezone(UTC).isoformat() if notice.due_at else None,
        "language": notice.language,
        "reach": {key.value: value for key, value in notice.reach.items()},
        "ui_url": url,
        "sent_at": notice.sent_at.astimezone(UTC).isoformat(),
    }
