"""Notifications end to end: rendered German text, real SMTP sink, real HTTP webhook receiver.

Every server listens on 127.0.0.1 on a free port; nothing is mocked and nothing leaves the host.
"""

from __future__ import annotations

import json
import re
import smtplib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from activities.notify import (
    DeliveryError,
    Notifier,
    OutgoingMessage,
    render_notification,
)
from cli.smtp_sink import MailSink, read_deliveries, read_mailbox
from contracts.agreement import ContactPoint
from contracts.vocabulary import (
    ContactChannel,
    EscalationStep,
    IncidentKind,
    NotificationPurpose,
    Region,
)
from settings import Settings

# 20:15 UTC on 28 November is 21:15 in Berlin (CET, UTC+1).
OCCURRED_AT = datetime(2026, 11, 28, 20, 15, tzinfo=UTC)
SENT_AT = datetime(2026, 11, 28, 20, 20, tzinfo=UTC)
UI_URL = "http://127.0.0.1:8233"
INCIDENT_KEY = "chemnitz-2026-11-28"


def free_port() -> int:
    """A loopback port that nothing listens on at the moment of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def prose(text: str) -> str:
    """The text with line breaks and runs of spaces folded, as a reader sees wrapped lines."""
    return " ".join(text.split())


def render(
    purpose: NotificationPurpose = NotificationPurpose.ALERT,
    step: EscalationStep = EscalationStep.PRIMARY,
    *,
    message_id: str = "chemnitz-2026-11-28.opferhilfe-sachsen.primary",
    occurred_at: datetime = OCCURRED_AT,
    addressed_to: str | None = None,
) -> OutgoingMessage:
    return render_notification(
        incident_key=INCIDENT_KEY,
        title="Anschlag auf den Weihnachtsmarkt",
        kind=IncidentKind.TERRORIST,
        region=Region.CHEMNITZ,
        location="Neumarkt",
        occurred_at=occurred_at,
        sent_at=SENT_AT,
        partner_id="opferhilfe-sachsen",
        partner_name="Opferhilfe Sachsen e.V.",
        purpose=purpose,
        step=step,
        message_id=message_id,
        ui_url=UI_URL,
        task_queue="victim-support",
        addressed_to=addressed_to,
    )


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail", port=free_port()) as sink:
        yield sink


@pytest.fixture
def mail_notifier(mail_sink: MailSink) -> Notifier:
    return Notifier(Settings(smtp_host=mail_sink.host, smtp_port=mail_sink.port))


@dataclass
class WebhookReceiver:
    """A real HTTP server on loopback that records each POST and answers `status`."""

    base_url: str
    status: int = 204
    received: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver: WebhookReceiver | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            assert receiver is not None
            length = int(self.headers["Content-Length"])
            document = json.loads(self.rfile.read(length))
            receiver.received.append((dict(self.headers.items()), document))
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep the test output clean

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog) but never says a word."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port: int = listener.getsockname()[1]
        yield port


def email_to(address: str = "bereitschaft@opferhilfe-sachsen.example.org") -> ContactPoint:
    return ContactPoint(channel=ContactChannel.EMAIL, address=address)


# --- e-mail ---------------------------------------------------------------------------------


def test_alert_email_reaches_the_sink_in_german_with_berlin_time_and_ack_instructions(
    mail_sink: MailSink, mail_notifier: Notifier
) -> None:
    message = render()

    mail_notifier.deliver(email_to(), message)

    [mail] = read_mailbox(mail_sink.mail_dir)
    assert mail["Subject"] == (
        "[Lotse] Großschadenlage: Anschlag auf den Weihnachtsmarkt – Bitte Alarmierung bestätigen"
    )
    assert mail["To"] == "bereitschaft@opferhilfe-sachsen.example.org"
    assert (
        mail["Message-ID"] == "<chemnitz-2026-11-28.opferhilfe-sachsen.primary@lotse.example.org>"
    )
    assert mail["Date"] is not None
    body = prose(mail.get_content())
    assert "Anschlag auf den Weihnachtsmarkt" in body
    assert "terroristischer Anschlag" in body
    assert "Neumarkt, Chemnitz" in body
    assert "28.11.2026, 21:15 Uhr" in body
    assert "Bitte bestätigen Sie die Alarmierung" in body
    assert f"{UI_URL}/namespaces/default/workflows/{INCIDENT_KEY}" in body
    assert "Send an Update" in body
    assert "acknowledge_alert" in body
    assert '{"partner_id": "opferhilfe-sachsen", "actor": {"partner_id": "opferhilfe-sachsen"' in (
        body
    )
    assert f"lotse incident ack {INCIDENT_KEY} --partner opferhilfe-sachsen --staff" in body


def test_times_are_shown_in_berlin_summer_time_even_across_midnight() -> None:
    # 22:30 UTC on 1 July is 00:30 on 2 July in Berlin (CEST, UTC+2).
    message = render(occurred_at=datetime(2026, 7, 1, 22, 30, tzinfo=UTC))

    assert "02.07.2026, 00:30 Uhr" in prose(message.body)
    assert message.payload["occurred_at"] == "2026-07-01T22:30:00+00:00"


def test_the_same_message_id_gives_the_same_mail_message_id(mail_notifier: Notifier) -> None:
    first = mail_notifier.compose_mail("a@example.org", render(message_id="abc-1"))
    again = mail_notifier.compose_mail("a@example.org", render(message_id="abc-1"))

    assert first["Message-ID"] == again["Message-ID"] == "<abc-1@lotse.example.org>"
    assert first.as_bytes() == again.as_bytes()


def test_delivering_the_same_message_twice_leaves_one_file_and_counts_two_deliveries(
    mail_sink: MailSink, mail_notifier: Notifier
) -> None:
    message = render()

    mail_notifier.deliver(email_to(), message)
    mail_notifier.deliver(email_to(), message)

    name = "chemnitz-2026-11-28.opferhilfe-sachsen.primary@lotse.example.org"
    assert [path.name for path in mail_sink.mail_dir.glob("*.eml")] == [f"{name}.eml"]
    assert len(read_mailbox(mail_sink.mail_dir)) == 1
    assert [(d.message_id, d.recipients, d.file) for d in read_deliveries(mail_sink.mail_dir)] == [
        (f"<{name}>", (email_to().address,), f"{name}.eml")
    ] * 2


def test_different_steps_leave_one_file_each(mail_sink: MailSink, mail_notifier: Notifier) -> None:
    mail_notifier.deliver(email_to(), render(message_id="alert-1"))
    mail_notifier.deliver(
        email_to("vorstand@opferhilfe-sachsen.example.org"),
        render(NotificationPurpose.ESCALATION, EscalationStep.DEPUTY, message_id="escalation-1"),
    )

    subjects = [mail["Subject"] for mail in read_mailbox(mail_sink.mail_dir)]
    assert len(subjects) == 2
    assert subjects[0].endswith("Bitte Alarmierung bestätigen")
    assert "Eskalation" in subjects[1]


def test_smtp_to_a_closed_port_raises_delivery_error() -> None:
    port = free_port()
    notifier = Notifier(Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_timeout_seconds=2))

    with pytest.raises(DeliveryError, match=rf"SMTP 127\.0\.0\.1:{port} is unreachable"):
        notifier.deliver(email_to(), render())


def test_smtp_server_that_never_answers_raises_delivery_error(silent_port: int) -> None:
    settings = Settings(smtp_host="127.0.0.1", smtp_port=silent_port, smtp_timeout_seconds=0.5)

    with pytest.raises(DeliveryError, match=r"did not answer within 0\.5 s"):
        Notifier(settings).deliver(email_to(), render())


def test_mail_sink_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"refusing to bind to '0\.0\.0\.0'"):
        MailSink(tmp_path, host="0.0.0.0")
    with pytest.raises(ValueError, match=r"'mail\.example\.org'"):
        MailSink(tmp_path, host="mail.example.org")


def test_mail_sink_names_a_message_without_message_id_by_uuid(mail_sink: MailSink) -> None:
    # smtplib.sendmail sends the bytes as they are: no Message-ID is added on the way.
    with smtplib.SMTP(mail_sink.host, mail_sink.port, timeout=5) as smtp:
        smtp.sendmail("a@example.org", ["b@example.org"], b"Subject: ohne Kennung\r\n\r\nText\r\n")

    [path] = mail_sink.mail_dir.glob("*.eml")
    assert path.name.startswith("no-message-id-")
    [mail] = read_mailbox(mail_sink.mail_dir)
    assert mail["Subject"] == "ohne Kennung"


# --- webhook --------------------------------------------------------------------------------


def test_webhook_receives_json_with_idempotency_key(webhook: WebhookReceiver) -> None:
    contact = ContactPoint(channel=ContactChannel.WEBHOOK, address=f"{webhook.base_url}/lotse")
    message = render()

    Notifier(Settings()).deliver(contact, message)

    [(headers, document)] = webhook.received
    assert headers["Idempotency-Key"] == message.message_id
    assert headers["X-Lotse-Message-Id"] == message.message_id
    assert document["incident_id"] == INCIDENT_KEY
    assert document["partner_id"] == "opferhilfe-sachsen"
    assert document["purpose"] == "alert"
    assert document["step"] == "primary"
    assert document["occurred_at"] == "2026-11-28T20:15:00+00:00"
    assert document["subject"] == message.subject
    assert document["body"] == message.body
    assert document["how_to_respond"]["update"] == "acknowledge_alert"
    assert document["how_to_respond"]["update_input"]["partner_id"] == "opferhilfe-sachsen"


def test_webhook_answering_500_raises_delivery_error(webhook: WebhookReceiver) -> None:
    webhook.status = 500
    url = f"{webhook.base_url}/lotse"
    contact = ContactPoint(channel=ContactChannel.WEBHOOK, address=url)

    with pytest.raises(DeliveryError, match=rf"webhook {re.escape(url)} answered 500"):
        Notifier(Settings()).deliver(contact, render())


def test_webhook_on_a_closed_port_raises_delivery_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/lotse"
    contact = ContactPoint(channel=ContactChannel.WEBHOOK, address=url)
    notifier = Notifier(Settings(webhook_timeout_seconds=2))

    with pytest.raises(
        DeliveryError, match=rf"webhook {re.escape(url)} is unreachable: ConnectError"
    ):
        notifier.deliver(contact, render())


def test_webhook_that_never_answers_raises_delivery_error(silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}/lotse"
    contact = ContactPoint(channel=ContactChannel.WEBHOOK, address=url)
    notifier = Notifier(Settings(webhook_timeout_seconds=0.5))

    with pytest.raises(DeliveryError, match=rf"webhook {re.escape(url)} did not answer within"):
        notifier.deliver(contact, render())


# --- rendering ------------------------------------------------------------------------------


def test_alert_asks_the_partner_to_acknowledge() -> None:
    message = render(NotificationPurpose.ALERT, EscalationStep.PRIMARY)
    text = prose(message.body)

    assert message.subject.endswith("Bitte Alarmierung bestätigen")
    assert "Bitte bestätigen Sie die Alarmierung umgehend." in text
    assert "z. Hd." not in text


def test_escalation_to_the_deputy_names_the_partner_that_did_not_acknowledge() -> None:
    message = render(NotificationPurpose.ESCALATION, EscalationStep.DEPUTY)
    text = prose(message.body)

    assert message.subject.endswith(
        "Eskalation: Opferhilfe Sachsen e.V. hat die Alarmierung nicht bestätigt"
    )
    assert "Opferhilfe Sachsen e.V. hat die Alarmierung nicht fristgerecht bestätigt." in text
    assert "Sie erhalten diese Nachricht als Vertretung." in text
    assert '"actor": {"partner_id": "opferhilfe-sachsen"' in text


def test_escalation_to_the_commissioner_asks_to_reach_the_partner() -> None:
    message = render(NotificationPurpose.ESCALATION, EscalationStep.COMMISSIONER)
    text = prose(message.body)

    assert "Opferhilfe Sachsen e.V. hat die Alarmierung nicht fristgerecht bestätigt." in text
    assert "Nehmen Sie Kontakt mit Opferhilfe Sachsen e.V. auf" in text
    # The office records the acknowledgement on the partner's behalf.
    assert '"actor": {"partner_id": "opferbeauftragte"' in text
    assert "--partner opferhilfe-sachsen --staff <Kennung> --as opferbeauftragte" in text


def test_escalation_to_the_declaring_operator_is_addressed_to_the_staff_reference() -> None:
    message = render(
        NotificationPurpose.ESCALATION, EscalationStep.COMMISSIONER, addressed_to="OB-0042"
    )

    assert "z. Hd. OB-0042" in message.body
    assert message.payload["addressed_to"] == "OB-0042"


def test_reflection_due_asks_to_record_findings() -> None:
    message = render(NotificationPurpose.REFLECTION_DUE, EscalationStep.PRIMARY)
    text = prose(message.body)

    assert message.subject.endswith("Reflexion fällig")
    assert "die Reflexion der getroffenen Maßnahmen ist jetzt fällig" in text
    assert "erfassen Sie die Erkenntnisse" in text
    assert "record_reflection" in text
    assert "acknowledge_alert" not in text


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        render(occurred_at=datetime(2026, 11, 28, 21, 15))
