"""Notifications end to end: rendered German text, real SMTP sink, real HTTP webhook receiver.

Every server listens on 127.0.0.1 on a free port; nothing is mocked and nothing leaves the host.
"""

from __future__ import annotations

import json
import re
import smtplib
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from activities.incident import IncidentActivities
from activities.messages import (
    AnswerRoute,
    Attachment,
    IncidentFacts,
    Notification,
    OutgoingMessage,
    render_notification,
)
from activities.notify import DeliveryError, Notifier
from cli.smtp_sink import MailSink, read_deliveries, read_mailbox
from contracts.agreement import AgreementTerms, ContactPoint
from contracts.messages import (
    Actor,
    CommandContext,
    DeliverNotificationInput,
    IncidentDeclaration,
)
from contracts.vocabulary import (
    COMMISSIONER_PARTNER_ID,
    ContactChannel,
    EscalationStep,
    IncidentKind,
    NotificationPurpose,
    Region,
)
from domain.agreement import Agreement
from domain.application import LotseApplication
from settings import Settings

MakeCtx = Callable[..., CommandContext]

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


FACTS = IncidentFacts(
    incident_key=INCIDENT_KEY,
    title="Anschlag auf den Weihnachtsmarkt",
    kind=IncidentKind.TERRORIST,
    region=Region.CHEMNITZ,
    location="Neumarkt",
    occurred_at=OCCURRED_AT,
)
ANSWERS = AnswerRoute(ui_url=UI_URL, task_queue="victim-support")


def render(
    purpose: NotificationPurpose = NotificationPurpose.ALERT,
    step: EscalationStep = EscalationStep.PRIMARY,
    *,
    message_id: str = "chemnitz-2026-11-28.opferhilfe-sachsen.primary",
    occurred_at: datetime = OCCURRED_AT,
) -> OutgoingMessage:
    return render_notification(
        Notification(
            incident=FACTS.model_copy(update={"occurred_at": occurred_at}),
            partner_id="opferhilfe-sachsen",
            partner_name="Opferhilfe Sachsen e.V.",
            purpose=purpose,
            step=step,
            message_id=message_id,
            sent_at=SENT_AT,
            answers=ANSWERS,
        )
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


def test_a_webhook_receives_the_attachments_in_its_json(webhook: WebhookReceiver) -> None:
    contact = ContactPoint(channel=ContactChannel.WEBHOOK, address=f"{webhook.base_url}/lotse")
    report = Attachment(filename="bericht.html", content_type="text/html", text="<p>ok</p>")

    Notifier(Settings()).deliver(contact, render().model_copy(update={"attachments": (report,)}))

    [(_, document)] = webhook.received
    assert document["attachments"] == [
        {"filename": "bericht.html", "content_type": "text/html", "text": "<p>ok</p>"}
    ]


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


# --- headers: no text can break or add one --------------------------------------------------

HOSTILE_SUBJECT = (
    "[Lotse] Großschadenlage: Anschlag\r\nBcc: victim@example.org\nX-Injected: 1\u2028Ende\x00"
)


@dataclass
class Envelope:
    sender: str
    recipients: list[str]
    content: bytes


@pytest.fixture
def recording_smtp() -> Iterator[tuple[Settings, list[Envelope]]]:
    """A real SMTP server on loopback that keeps each envelope: who the mail really went to."""
    received: list[Envelope] = []

    class Keep:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's hook name)
            received.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield Settings(smtp_host="127.0.0.1", smtp_port=controller.port), received
    finally:
        controller.stop()


def test_a_subject_with_line_breaks_gives_one_subject_header_and_no_other(
    mail_notifier: Notifier,
) -> None:
    message = render().model_copy(update={"subject": HOSTILE_SUBJECT})

    mail = mail_notifier.compose_mail("bereitschaft@opferhilfe-sachsen.example.org", message)

    assert mail.get_all("Subject") == [
        "[Lotse] Großschadenlage: Anschlag Bcc: victim@example.org X-Injected: 1 Ende"
    ]
    assert mail.get_all("Bcc") is None
    assert mail.get_all("X-Injected") is None
    assert mail.get_all("To") == ["bereitschaft@opferhilfe-sachsen.example.org"]
    # What goes on the wire parses back to the same headers.
    sent = message_from_bytes(mail.as_bytes(), policy=policy.default)
    assert sorted(set(sent.keys())) == sorted(set(mail.keys()))
    assert sent.get_all("Subject") == mail.get_all("Subject")


def test_a_subject_with_line_breaks_is_delivered_over_smtp_to_its_one_recipient(
    recording_smtp: tuple[Settings, list[Envelope]],
) -> None:
    settings, received = recording_smtp
    message = render().model_copy(update={"subject": HOSTILE_SUBJECT})

    Notifier(settings).deliver(email_to(), message)

    [envelope] = received
    assert envelope.recipients == ["bereitschaft@opferhilfe-sachsen.example.org"]
    mail = message_from_bytes(envelope.content, policy=policy.default)
    assert mail.get_all("Subject") == [
        "[Lotse] Großschadenlage: Anschlag Bcc: victim@example.org X-Injected: 1 Ende"
    ]
    assert mail.get_all("Bcc") is None
    assert mail.get_all("X-Injected") is None


@pytest.mark.parametrize(
    "address",
    [
        "a@example.org\r\nBcc: b@example.org",
        "a@example.org, b@example.org",
        "Opferhilfe <a@example.org>",
        "a@example.org\tb@example.org",
        "undisclosed: b@example.org;",
    ],
    ids=["header-injection", "list", "display-name", "tab", "group"],
)
def test_a_contact_address_that_is_not_one_plain_address_is_refused_and_nothing_is_sent(
    recording_smtp: tuple[Settings, list[Envelope]], address: str
) -> None:
    settings, received = recording_smtp
    # Built without validation: the agreement's own check is not what is tested here.
    contact = ContactPoint.model_construct(channel=ContactChannel.EMAIL, address=address)

    with pytest.raises(DeliveryError, match="the contact address is not one plain e-mail address"):
        Notifier(settings).deliver(contact, render())
    assert received == []


def test_a_message_id_with_odd_characters_gives_the_webhook_plain_ascii_headers(
    webhook: WebhookReceiver,
) -> None:
    contact = ContactPoint(channel=ContactChannel.WEBHOOK, address=f"{webhook.base_url}/lotse")
    message = render(message_id="lage-ü\x01schritt")

    Notifier(Settings()).deliver(contact, message)

    [(headers, _)] = webhook.received
    assert headers["Idempotency-Key"] == headers["X-Lotse-Message-Id"] == "lage---schritt"


# --- rendering ------------------------------------------------------------------------------


def test_alert_asks_the_partner_to_acknowledge() -> None:
    message = render(NotificationPurpose.ALERT, EscalationStep.PRIMARY)
    text = prose(message.body)

    assert message.subject.endswith("Bitte Alarmierung bestätigen")
    assert "Bitte bestätigen Sie die Alarmierung umgehend." in text
    assert "An:" not in text
    assert message.payload["addressed_to"] is None


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


# --- the final escalation contact -----------------------------------------------------------

LAGEZENTRUM = "Lagezentrum des Sächsischen Staatsministeriums des Innern"
OFFICE_NAME = "Opferbeauftragte der Sächsischen Staatsregierung"
# 16:10 UTC is 17:10 in Berlin: when the office was first alerted.
FIRST_ALERTED_AT = datetime(2026, 11, 28, 16, 10, tzinfo=UTC)


def render_final(unanswered_since: datetime | None = FIRST_ALERTED_AT) -> OutgoingMessage:
    """The office's own last escalation step, as it goes to the agreement's final contact."""
    return render_notification(
        Notification(
            incident=FACTS,
            partner_id=COMMISSIONER_PARTNER_ID,
            partner_name=OFFICE_NAME,
            purpose=NotificationPurpose.ESCALATION,
            step=EscalationStep.COMMISSIONER,
            message_id=f"{INCIDENT_KEY}.escalation.commissioner.opferbeauftragte",
            sent_at=SENT_AT,
            answers=ANSWERS,
            addressed_to=LAGEZENTRUM,
            unanswered_since=unanswered_since,
        )
    )


def test_the_final_escalation_says_who_has_not_answered_since_when() -> None:
    message = render_final()
    text = prose(message.body)

    assert message.subject.endswith(
        f"Letzte Eskalation: {OFFICE_NAME} hat die Alarmierung seit 28.11.2026, 17:10 Uhr "
        "nicht bestätigt"
    )
    assert f"An: {LAGEZENTRUM}" in message.body
    assert (
        f"{OFFICE_NAME} hat die Alarmierung seit 28.11.2026, 17:10 Uhr nicht bestätigt "
        "(weder Kontaktstelle noch Vertretung)."
    ) in text
    assert f"Bitte nehmen Sie telefonisch Kontakt mit {OFFICE_NAME} auf" in text
    assert message.payload["addressed_to"] == LAGEZENTRUM
    assert message.payload["partner_id"] == COMMISSIONER_PARTNER_ID  # who is silent
    assert message.payload["unanswered_since"] == "2026-11-28T16:10:00+00:00"


def test_the_final_escalation_without_a_known_first_alert_leaves_out_since_when() -> None:
    message = render_final(unanswered_since=None)
    text = prose(message.body)

    assert message.subject.endswith(f"{OFFICE_NAME} hat die Alarmierung nicht bestätigt")
    assert f"{OFFICE_NAME} hat die Alarmierung nicht bestätigt (weder" in text
    assert "seit" not in text
    assert message.payload["unanswered_since"] is None


def test_the_final_contact_is_told_to_phone_and_given_no_command_it_cannot_use() -> None:
    message = render_final()
    text = prose(message.body)

    assert f"1. Rufen Sie {OFFICE_NAME} an" in text
    assert f"Die Bestätigung erfasst {OFFICE_NAME} dann selbst in Lotse" in text
    assert "Sie selbst müssen in Lotse nichts erfassen." in text
    # It is no partner: an update needs a partner as actor, and so does the CLI.
    assert "lotse incident ack" not in text
    assert "Send an Update" not in text
    assert '"actor"' not in text
    how = message.payload["how_to_respond"]
    assert (how["update"], how["update_input"], how["cli"]) == (None, None, None)
    assert how["workflow_id"] == INCIDENT_KEY


def test_an_escalation_to_the_office_still_asks_it_to_act_for_the_partner() -> None:
    message = render(NotificationPurpose.ESCALATION, EscalationStep.COMMISSIONER)

    assert "Letzte Eskalation" not in message.subject
    assert "An:" not in message.body
    assert "--as opferbeauftragte" in message.body


def test_the_final_escalation_webhook_names_its_recipient_and_the_silent_partner(
    webhook: WebhookReceiver,
) -> None:
    contact = ContactPoint(channel=ContactChannel.WEBHOOK, address=f"{webhook.base_url}/lz")

    Notifier(Settings()).deliver(contact, render_final())

    [(_, document)] = webhook.received
    assert document["addressed_to"] == LAGEZENTRUM
    assert (document["partner_id"], document["partner_name"]) == (
        COMMISSIONER_PARTNER_ID,
        OFFICE_NAME,
    )
    assert document["unanswered_since"] == "2026-11-28T16:10:00+00:00"
    assert document["how_to_respond"]["cli"] is None


# --- who receives the last step: through the delivery activity, into the mail sink ------------


@pytest.fixture
def record() -> LotseApplication:
    return LotseApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def declare(
    record: LotseApplication, make_ctx: MakeCtx, terms: AgreementTerms, *, load: bool = True
) -> None:
    """Declare the incident under `terms`' agreement, loaded first unless `load` is False."""
    if load:
        record.load_agreement(terms, make_ctx())
    declarer = Actor(partner_id="opferhilfe-sachsen", staff_ref="bereitschaft-7")
    record.declare_incident(
        INCIDENT_KEY,
        IncidentDeclaration(
            title="Anschlag auf den Weihnachtsmarkt",
            kind=IncidentKind.TERRORIST,
            occurred_at=OCCURRED_AT,
            location="Neumarkt",
            region=Region.CHEMNITZ,
            declared_by=declarer,
        ),
        terms.agreement_id,
        make_ctx().model_copy(update={"actor": declarer}),
    )


def save_terms_from_before_the_final_contact(
    record: LotseApplication, terms: AgreementTerms, make_ctx: MakeCtx
) -> None:
    """The events a load recorded before agreements named a final escalation contact."""
    ctx = make_ctx()
    legacy = Agreement(agreement_key=terms.agreement_id, title="alt", ctx=ctx)
    for partner in terms.partners:
        legacy._partner_joined(terms=partner, ctx=ctx)
    legacy._revised(title="alt", label="2021-01", digest="alt", escalation_step_minutes=30, ctx=ctx)
    record.save(legacy)


def deliver_last_step(
    record: LotseApplication,
    mail_sink: MailSink,
    partner_id: str,
    purpose: NotificationPurpose = NotificationPurpose.ESCALATION,
    step: EscalationStep = EscalationStep.COMMISSIONER,
    *,
    office_silent: bool = False,
) -> EmailMessage:
    """Run the real delivery activity for `partner_id`'s step (by default its last escalation);
    the mail it sent."""
    settings = Settings(smtp_host=mail_sink.host, smtp_port=mail_sink.port)
    activities = IncidentActivities(record, Notifier(settings), settings)
    activities.deliver_notification(
        DeliverNotificationInput(
            incident_id=INCIDENT_KEY,
            partner_id=partner_id,
            purpose=purpose,
            step=step,
            message_id=f"{INCIDENT_KEY}.{purpose}.{step}.{partner_id}",
            sent_at=SENT_AT,
            unanswered_since=(
                FIRST_ALERTED_AT if purpose is NotificationPurpose.ESCALATION else None
            ),
            office_silent=office_silent,
        )
    )
    [mail] = read_mailbox(mail_sink.mail_dir)
    return mail


def test_the_offices_own_last_step_goes_to_the_final_contact_not_back_to_the_office(
    record: LotseApplication,
    mail_sink: MailSink,
    agreement_terms: AgreementTerms,
    make_ctx: MakeCtx,
) -> None:
    declare(record, make_ctx, agreement_terms)

    mail = deliver_last_step(record, mail_sink, COMMISSIONER_PARTNER_ID)

    assert mail["To"] == "lagezentrum@smi.example.org"
    body = prose(mail.get_content())
    assert f"An: {LAGEZENTRUM}" in body
    assert f"{OFFICE_NAME} hat die Alarmierung seit 28.11.2026, 17:10 Uhr nicht" in body


def test_another_partners_last_step_goes_to_the_office(
    record: LotseApplication,
    mail_sink: MailSink,
    agreement_terms: AgreementTerms,
    make_ctx: MakeCtx,
) -> None:
    declare(record, make_ctx, agreement_terms)

    mail = deliver_last_step(record, mail_sink, "weisser-ring")

    assert mail["To"] == "lagedienst@opferbeauftragte.example.org"
    assert "An:" not in mail.get_content()


def test_a_last_step_to_the_mailbox_that_did_not_answer_goes_to_the_final_contact(
    record: LotseApplication,
    mail_sink: MailSink,
    agreement_terms: AgreementTerms,
    make_ctx: MakeCtx,
) -> None:
    # RAA's deputy is the office's duty desk: the office's step would reach the silent mailbox.
    data = agreement_terms.model_dump(mode="json")
    for partner in data["partners"]:
        if partner["id"] == "raa-sachsen":
            partner["deputy"]["address"] = "Lagedienst@opferbeauftragte.example.org"
    declare(record, make_ctx, AgreementTerms.model_validate(data))

    mail = deliver_last_step(record, mail_sink, "raa-sachsen")

    assert mail["To"] == "lagezentrum@smi.example.org"
    assert "Rufen Sie RAA Sachsen e.V." in prose(mail.get_content())


def test_terms_recorded_before_the_final_contact_keep_the_rule_they_ran_under(
    record: LotseApplication,
    mail_sink: MailSink,
    agreement_terms: AgreementTerms,
    make_ctx: MakeCtx,
) -> None:
    save_terms_from_before_the_final_contact(record, agreement_terms, make_ctx)
    declare(record, make_ctx, agreement_terms, load=False)

    mail = deliver_last_step(record, mail_sink, COMMISSIONER_PARTNER_ID)

    replayed = record.agreement(agreement_terms.agreement_id)
    assert (replayed.revision, replayed.final_escalation) == (1, None)
    # Then the office's last step went to the declaring operator's partner, for its attention.
    assert mail["To"] == "bereitschaft@opferhilfe-sachsen.example.org"
    assert "An: bereitschaft-7" in mail.get_content()


GOLDEN_TEXTS = Path(__file__).parents[1] / "unit" / "golden" / "notification_texts.json"
OFFICE_DESK = "lagedienst@opferbeauftragte.example.org"
FINAL_CONTACT = "lagezentrum@smi.example.org"


@dataclass(frozen=True)
class Delivered:
    """One step through the delivery activity: what it is, and where it must land."""

    partner_id: str
    purpose: NotificationPurpose
    step: EscalationStep
    to: str
    office_silent: bool = False
    before_final_contact: bool = False  # under terms recorded before the final contact existed


ESCALATION, COMMISSIONER = NotificationPurpose.ESCALATION, EscalationStep.COMMISSIONER
# The golden texts of tests/unit/test_notification_texts.py that this incident also produces.
DELIVERED_AS_RECORDED = {
    "alert": Delivered(
        "opferhilfe-sachsen",
        NotificationPurpose.ALERT,
        EscalationStep.PRIMARY,
        "bereitschaft@opferhilfe-sachsen.example.org",
    ),
    "escalation-deputy": Delivered(
        "opferhilfe-sachsen",
        ESCALATION,
        EscalationStep.DEPUTY,
        "vorstand@opferhilfe-sachsen.example.org",
    ),
    "escalation-commissioner": Delivered(
        "opferhilfe-sachsen", ESCALATION, COMMISSIONER, OFFICE_DESK
    ),
    "escalation-final-office": Delivered(
        COMMISSIONER_PARTNER_ID, ESCALATION, COMMISSIONER, FINAL_CONTACT
    ),
    "escalation-final-office-silent": Delivered(
        "raa-sachsen", ESCALATION, COMMISSIONER, FINAL_CONTACT, office_silent=True
    ),
    "escalation-final-declarer": Delivered(
        COMMISSIONER_PARTNER_ID,
        ESCALATION,
        COMMISSIONER,
        "bereitschaft@opferhilfe-sachsen.example.org",
        before_final_contact=True,
    ),
    "all-clear": Delivered(
        "opferhilfe-sachsen",
        NotificationPurpose.ALL_CLEAR,
        EscalationStep.PRIMARY,
        "bereitschaft@opferhilfe-sachsen.example.org",
    ),
    "all-clear-final": Delivered(
        COMMISSIONER_PARTNER_ID, NotificationPurpose.ALL_CLEAR, COMMISSIONER, FINAL_CONTACT
    ),
}


@pytest.mark.parametrize("name", sorted(DELIVERED_AS_RECORDED))
def test_the_delivery_activity_sends_the_recorded_text_to_the_contact_the_agreement_names(
    record: LotseApplication,
    mail_sink: MailSink,
    agreement_terms: AgreementTerms,
    make_ctx: MakeCtx,
    name: str,
) -> None:
    case = DELIVERED_AS_RECORDED[name]
    if case.before_final_contact:
        save_terms_from_before_the_final_contact(record, agreement_terms, make_ctx)
    declare(record, make_ctx, agreement_terms, load=not case.before_final_contact)

    mail = deliver_last_step(
        record,
        mail_sink,
        case.partner_id,
        case.purpose,
        case.step,
        office_silent=case.office_silent,
    )

    golden = json.loads(GOLDEN_TEXTS.read_text(encoding="utf-8"))[name]
    assert (mail["To"], mail["Subject"]) == (case.to, golden["subject"])
    # SMTP carries the lines with CRLF; the text itself is the golden one.
    assert mail.get_content().replace("\r\n", "\n") == "\n".join(golden["body"])


@pytest.mark.parametrize(
    ("address", "prefix"),
    [
        ("127.0.0.1:7233", "lotse incident ack"),
        ("temporal.example.org:7233", "LOTSE_TEMPORAL_ADDRESS=temporal.example.org:7233 lotse"),
    ],
)
def test_the_command_in_an_alert_reaches_the_configured_temporal_when_copied(
    record: LotseApplication,
    mail_sink: MailSink,
    agreement_terms: AgreementTerms,
    make_ctx: MakeCtx,
    address: str,
    prefix: str,
) -> None:
    declare(record, make_ctx, agreement_terms)
    settings = Settings(
        smtp_host=mail_sink.host, smtp_port=mail_sink.port, temporal_address=address
    )
    activities = IncidentActivities(record, Notifier(settings), settings)

    activities.deliver_notification(
        DeliverNotificationInput(
            incident_id=INCIDENT_KEY,
            partner_id="weisser-ring",
            purpose=NotificationPurpose.ALERT,
            step=EscalationStep.PRIMARY,
            message_id=f"{INCIDENT_KEY}.alert.primary.weisser-ring",
            sent_at=SENT_AT,
        )
    )

    [mail] = read_mailbox(mail_sink.mail_dir)
    command = next(
        line.strip() for line in mail.get_content().splitlines() if "incident ack" in line
    )
    assert command.startswith(prefix)
    assert command.endswith(f"{INCIDENT_KEY} --partner weisser-ring --staff <Kennung>")
