"""Notifications to partners' contact points: render the German message, deliver it once.

`render_notification` turns one step of the procedure (an alert, an escalation, a due reflection)
into an `OutgoingMessage`: German plain text for people, a JSON payload for machines, both saying
what happened, what is asked and how to answer. `Notifier.deliver` sends it by e-mail (SMTP) or
webhook (HTTP POST) and raises `DeliveryError` for every failure. Delivery is synchronous: it runs
in a thread-pool activity. The caller's deterministic `message_id` becomes the e-mail Message-ID
and the webhook's Idempotency-Key, so a retried step lets the receiver drop the duplicate.

Messages name organisations and staff references only, never people (docs/data-protection.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import smtplib
import ssl
import textwrap
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

import httpx
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from activities.faults import SMTPDyingAfterData
from contracts.agreement import ContactPoint
from contracts.links import workflow_page_url
from contracts.vocabulary import (
    BERLIN,
    COMMISSIONER_PARTNER_ID,
    INCIDENT_KIND_LABELS_DE,
    REGION_LABELS_DE,
    ContactChannel,
    EscalationStep,
    IncidentKind,
    NotificationPurpose,
    Region,
    mail_time,
)
from settings import Settings

MESSAGE_ID_DOMAIN = "lotse.example.org"
PAYLOAD_SCHEMA = "lotse.notification/1"
ACKNOWLEDGE_UPDATE = "acknowledge_alert"
REFLECTION_UPDATE = "record_reflection"
STAFF_PLACEHOLDER = "<Ihre Kennung>"

# A dot-atom that is valid as the left part of a Message-ID and as a file name.
_SAFE_ID = re.compile(r"[A-Za-z0-9_=+-]+(?:\.[A-Za-z0-9_=+-]+)*")
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_=+.-]+")
# What may never reach a header: C0 and C1 controls, DEL, the Unicode line and paragraph
# separators (some mail programs break lines there), unpaired surrogates (no encoder takes them).
_HEADER_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# An HTTP header value is visible ASCII and spaces (RFC 9110 §5.5); httpx refuses the rest.
_NOT_HTTP_HEADER_TEXT = re.compile(r"[^\x20-\x7e]")


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


class DeliveryError(Exception):
    """A message did not reach its contact point; the text names the target and the problem."""

    def __init__(self, target: str, problem: str) -> None:
        # Both parts in args, so the exception survives pickling and Temporal's failure encoding.
        super().__init__(target, problem)
        self.target = target
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.target} {self.problem}"


# --- rendering ------------------------------------------------------------------------------


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


# --- delivery -------------------------------------------------------------------------------


def mail_message_id(message_id: str) -> str:
    """The e-mail Message-ID for a Lotse message id: the same id always gives the same header."""
    if _SAFE_ID.fullmatch(message_id):
        left = message_id
    else:
        # Keep it readable, and a digest keeps two ids that differ only in odd characters apart.
        cleaned = _UNSAFE_ID_CHARS.sub("-", message_id).strip(".-") or "lotse"
        cleaned = re.sub(r"\.{2,}", ".", cleaned)
        digest = hashlib.sha256(message_id.encode()).hexdigest()[:12]
        left = f"{cleaned}.{digest}"
    return f"<{left}@{MESSAGE_ID_DOMAIN}>"


class Notifier:
    """Delivers an `OutgoingMessage` to one contact point; built once with the `Settings`.

    `deliver` returns only when the receiving server accepted the message; otherwise it raises
    `DeliveryError`. It keeps no state, so it is safe to call from several threads.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def deliver(self, contact: ContactPoint, message: OutgoingMessage) -> None:
        if contact.channel is ContactChannel.EMAIL:
            self._send_mail(contact.address, message)
        else:
            self._post_webhook(contact.address, message)

    def compose_mail(self, address: str, message: OutgoingMessage) -> EmailMessage:
        """The e-mail exactly as it is sent; identical for every retry of the same message.

        No field can break or add a header: every value is one line (`header_text`), and the
        address must be one plain address (`DeliveryError` otherwise). The declaration already
        refuses line breaks in titles; this holds for any text that reaches a header.
        """
        mail = EmailMessage()
        mail["From"] = formataddr(("Lotse", header_text(self._settings.smtp_sender)))
        mail["To"] = single_mail_address(address)
        mail["Subject"] = header_text(message.subject)
        mail["Date"] = format_datetime(message.sent_at.astimezone(BERLIN))
        mail["Message-ID"] = mail_message_id(message.message_id)
        # RFC 3834: automatic replies (holiday notices) must not answer an alert.
        mail["Auto-Submitted"] = "auto-generated"
        mail["X-Lotse-Message-Id"] = header_text(message.message_id)
        mail.set_content(message.body, charset="utf-8")
        return mail

    def _send_mail(self, address: str, message: OutgoingMessage) -> None:
        settings = self._settings
        target = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
        mail = self.compose_mail(address, message)
        # Tests only: a client that dies in the middle of this message's SMTP transaction.
        client = (
            SMTPDyingAfterData
            if settings.crash_after_smtp_data_of == message.message_id
            else smtplib.SMTP
        )
        try:
            with client(
                settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
            ) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if settings.smtp_username:
                    smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
                # The envelope names the one recipient; nothing in the headers can add another.
                smtp.send_message(mail, to_addrs=[address])
        except smtplib.SMTPRecipientsRefused as error:
            replies = "; ".join(
                f"{code} {_decode(reply)}" for code, reply in error.recipients.values()
            )
            raise DeliveryError(target, f"refused the recipient {address}: {replies}") from None
        except smtplib.SMTPResponseException as error:
            reply = _decode(error.smtp_error)
            raise DeliveryError(target, f"refused the message: {error.smtp_code} {reply}") from None
        except smtplib.SMTPException as error:
            # smtplib reports a read timeout as a disconnection; name the timeout instead.
            if isinstance(error.__context__, TimeoutError):
                raise DeliveryError(target, _no_answer(settings.smtp_timeout_seconds)) from None
            raise DeliveryError(target, f"failed: {type(error).__name__}: {error}") from None
        except TimeoutError:
            raise DeliveryError(target, _no_answer(settings.smtp_timeout_seconds)) from None
        except OSError as error:
            # Refused connections, DNS and TLS failures are all OSErrors.
            raise DeliveryError(
                target, f"is unreachable: {type(error).__name__}: {error}"
            ) from None

    def _post_webhook(self, url: str, message: OutgoingMessage) -> None:
        target = f"webhook {url}"
        document = {**message.payload, "subject": message.subject, "body": message.body}
        key = http_header_text(message.message_id)
        headers = {"Idempotency-Key": key, "X-Lotse-Message-Id": key}
        try:
            response = httpx.post(
                url,
                json=document,
                headers=headers,
                timeout=self._settings.webhook_timeout_seconds,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            raise DeliveryError(target, f"is not a usable URL: {error}") from None
        except httpx.TimeoutException as error:
            problem = _no_answer(self._settings.webhook_timeout_seconds)
            raise DeliveryError(target, f"{problem} ({type(error).__name__})") from None
        except httpx.HTTPError as error:
            raise DeliveryError(
                target, f"is unreachable: {type(error).__name__}: {error}"
            ) from None
        if not response.is_success:
            raise DeliveryError(
                target, f"answered {response.status_code} {response.reason_phrase}".rstrip()
            )


def header_text(value: str) -> str:
    """`value` as one header line: control characters and line breaks become spaces, and runs
    of whitespace one space, so no text can end a header or start another."""
    return " ".join(_HEADER_BREAKERS.sub(" ", value).split())


def http_header_text(value: str) -> str:
    """`value` as an HTTP header value: anything but visible ASCII and spaces becomes '-'.
    The same value always gives the same text, so an idempotency key stays stable."""
    return _NOT_HTTP_HEADER_TEXT.sub("-", value).strip() or "-"


def single_mail_address(address: str) -> str:
    """`address` if it is one plain e-mail address (no display name, no list, no header
    syntax); `DeliveryError` otherwise, so that a bad contact address cannot add recipients."""
    _, parsed = parseaddr(address)
    plain = parsed == address and address.count("@") == 1
    if not plain or _HEADER_BREAKERS.search(address) or any(c in address for c in ' ,;:<>"\\'):
        raise DeliveryError("the contact address", "is not one plain e-mail address")
    return address


def _no_answer(seconds: float) -> str:
    return f"did not answer within {seconds:g} s"


def _decode(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
