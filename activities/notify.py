"""Delivery of notifications to partners' contact points, once each.

`Notifier.deliver` sends an `OutgoingMessage` (rendered by `activities/messages.py`) by e-mail
(SMTP) or webhook (HTTP POST) and raises `DeliveryError` for every failure. Delivery is
synchronous: it runs in a thread-pool activity. The caller's deterministic `message_id` becomes
the e-mail Message-ID and the webhook's Idempotency-Key, so a retried step lets the receiver drop
the duplicate.

Messages name organisations and staff references only, never people (docs/data-protection.md).
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

import httpx

from activities.messages import OutgoingMessage
from contracts.agreement import ContactPoint
from contracts.messages import DeliveryPolicy
from contracts.vocabulary import (
    BERLIN,
    ContactChannel,
)
from settings import Settings

MESSAGE_ID_DOMAIN = "lotse.example.org"
# A dot-atom that is valid as the left part of a Message-ID and as a file name.
_SAFE_ID = re.compile(r"[A-Za-z0-9_=+-]+(?:\.[A-Za-z0-9_=+-]+)*")
_UNSAFE_ID_CHARS = re.compile(r"[^A-Za-z0-9_=+.-]+")
# What may never reach a header: C0 and C1 controls, DEL, the Unicode line and paragraph
# separators (some mail programs break lines there), unpaired surrogates (no encoder takes them).
_HEADER_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# An HTTP header value is visible ASCII and spaces (RFC 9110 §5.5); httpx refuses the rest.
_NOT_HTTP_HEADER_TEXT = re.compile(r"[^\x20-\x7e]")


class DeliveryError(Exception):
    """A message did not reach its contact point; the text names the target and the problem."""

    def __init__(self, target: str, problem: str) -> None:
        # Both parts in args, so the exception survives pickling and Temporal's failure encoding.
        super().__init__(target, problem)
        self.target = target
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.target} {self.problem}"


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
        for attachment in message.attachments:
            subtype = attachment.content_type.split("/")[1]
            mail.add_attachment(
                attachment.text, subtype=subtype, filename=attachment.filename, charset="utf-8"
            )
        return mail

    def _send_mail(self, address: str, message: OutgoingMessage) -> None:
        settings = self._settings
        target = f"SMTP {settings.smtp_host}:{settings.smtp_port}"
        mail = self.compose_mail(address, message)
        try:
            with self.open_smtp(message) as smtp:
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

    def open_smtp(self, message: OutgoingMessage) -> smtplib.SMTP:
        """A connection to the configured SMTP server that `message` will be sent over; the
        place where a subclass may choose another client."""
        settings = self._settings
        return smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_seconds
        )

    def _post_webhook(self, url: str, message: OutgoingMessage) -> None:
        target = f"webhook {url}"
        document = {**message.payload, "subject": message.subject, "body": message.body}
        if message.attachments:
            document["attachments"] = [a.model_dump() for a in message.attachments]
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


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    """How a workflow retries one message until it arrives, from the settings: the one place
    every workflow's message rounds (alerts, case messages, invitations, test alerts) take it."""
    return DeliveryPolicy(
        max_attempts=settings.delivery_max_attempts,
        initial_interval=timedelta(seconds=settings.delivery_initial_interval_seconds),
        maximum_interval=timedelta(seconds=settings.delivery_maximum_interval_seconds),
    )
