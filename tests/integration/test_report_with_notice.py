"""The notice "reflection due" carries the reflection report: the activity that delivers it
builds the German HTML report from the record and attaches it; the mail goes through a real SMTP
sink on loopback. Every partner gets the same report; the other notices carry none."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from activities.incident import IncidentActivities
from activities.notify import Notifier
from cli.smtp_sink import MailSink, read_mailbox
from contracts.messages import DeliverNotificationInput
from contracts.vocabulary import EscalationStep, NotificationPurpose
from domain.application import LotseApplication
from tests.integration.test_notifications import free_port
from tests.integration.test_people_store import INCIDENT
from tests.reflection_support import AS_OF, build_test_incident


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    with MailSink(tmp_path / "mail", port=free_port()) as sink:
        yield sink


@pytest.fixture
def activities(tmp_path: Path, mail_sink: MailSink) -> Iterator[IncidentActivities]:
    store = build_test_incident(tmp_path / "store")
    settings = store.model_copy(update={"smtp_host": mail_sink.host, "smtp_port": mail_sink.port})
    app = LotseApplication(env=store.event_store_env())
    yield IncidentActivities(app, Notifier(settings), settings)
    app.close()


def notice(partner_id: str, purpose: NotificationPurpose) -> DeliverNotificationInput:
    return DeliverNotificationInput(
        incident_id=INCIDENT,
        partner_id=partner_id,
        purpose=purpose,
        step=EscalationStep.PRIMARY,
        message_id=f"{INCIDENT}.{purpose}.{partner_id}",
        sent_at=AS_OF,
    )


def attachments(mail: EmailMessage) -> list[tuple[str | None, str]]:
    return [(part.get_filename(), part.get_content()) for part in mail.iter_attachments()]


def test_the_reflection_notice_carries_the_german_html_report(
    activities: IncidentActivities, mail_sink: MailSink
) -> None:
    activities.deliver_notification(notice("weisser-ring", NotificationPurpose.REFLECTION_DUE))

    [mail] = read_mailbox(mail_sink.mail_dir)
    [(filename, page)] = attachments(mail)
    assert filename == f"reflexionsbericht-{INCIDENT}.html"
    assert page.startswith('<!DOCTYPE html><html lang="de">')
    assert page.count("<svg ") == 3
    assert '<td>Anteil erreichter Personen</td><td class="n">40 %</td>' in page
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Reflexion" in body.get_content()


def test_every_partner_gets_the_same_report_and_other_notices_none(
    activities: IncidentActivities, mail_sink: MailSink
) -> None:
    for partner in ("weisser-ring", "raa-sachsen"):
        activities.deliver_notification(notice(partner, NotificationPurpose.REFLECTION_DUE))
    activities.deliver_notification(notice("opferhilfe-sachsen", NotificationPurpose.ALERT))

    first, second, alert = read_mailbox(mail_sink.mail_dir)
    [report] = attachments(first)
    assert attachments(second) == [report]
    assert attachments(alert) == []
