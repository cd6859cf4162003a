"""What a test alert sends: the test message to a contact point and the report to the
Commissioner's office of the points that did not answer, in German for people and as JSON for
webhooks (`OutgoingMessage`). They name organisations and contact points, never people.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from activities.exchange_messages import HEADER, _fill, _footer
from activities.messages import OutgoingMessage

PAYLOAD_SCHEMA = "lotse.drill/1"
TEST_ALERT_TITLE = "ÜBUNG — Testalarm, bitte bestätigen"


class TestAlert(BaseModel):
    """One contact point's test message."""

    __test__ = False  # not a pytest test class, despite its name
    model_config = ConfigDict(frozen=True, extra="forbid")

    drill_key: str
    point: str
    partner_name: str
    message_id: str
    sent_at: datetime
    cli_prefix: str = ""


class DrillReport(BaseModel):
    """The office's report of a drill: the contact points that did not answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    drill_key: str
    silent: list[str]
    message_id: str
    sent_at: datetime
    cli_prefix: str = ""


def ack_command(alert: TestAlert) -> str:
    """The command that records this point's answer."""
    partner = alert.point.split("/", 1)[0]
    return (
        f"{alert.cli_prefix}lotse drill ack {alert.drill_key} --point {alert.point} "
        f"--as {partner} --staff <Kennung>"
    )


def render_test_alert(alert: TestAlert) -> OutgoingMessage:
    answer = ack_command(alert)
    lines = [
        HEADER,
        "",
        TEST_ALERT_TITLE,
        "",
        _fill(
            "Dies ist eine Übung, keine echte Lage. Wir prüfen, ob die Kontaktstellen der "
            f"Kooperationsvereinbarung erreichbar sind: hier {alert.partner_name}, "
            f"Kontaktstelle {alert.point}. Bitte bestätigen Sie den Empfang so bald wie möglich:"
        ),
        f"   {answer}",
        "oder telefonisch beim Lagedienst der Opferbeauftragten.",
        "",
        f"Übung:   {alert.drill_key}",
        "",
        *_footer(alert.sent_at, alert.message_id),
    ]
    return OutgoingMessage(
        message_id=alert.message_id,
        subject=f"[Lotse] {TEST_ALERT_TITLE}",
        body="\n".join(lines) + "\n",
        payload={
            "schema": PAYLOAD_SCHEMA,
            "kind": "test-alert",
            "drill_key": alert.drill_key,
            "point": alert.point,
            "how_to_respond": {"cli": answer},
        },
        sent_at=alert.sent_at,
    )


def render_drill_report(report: DrillReport) -> OutgoingMessage:
    status = f"{report.cli_prefix}lotse drill status {report.drill_key}"
    lines = [
        HEADER,
        "",
        _fill(
            f"ÜBUNG — Testalarm {report.drill_key}: {len(report.silent)} Kontaktstelle(n) haben "
            "bis zum Ende der Wartezeit nicht geantwortet. Bitte klären Sie die Erreichbarkeit "
            "vor einer echten Lage:"
        ),
        "",
        *(f"   - {point}" for point in report.silent),
        "",
        "Wer wie schnell geantwortet hat:",
        f"   {status}",
        "",
        *_footer(report.sent_at, report.message_id),
    ]
    return OutgoingMessage(
        message_id=report.message_id,
        subject=f"[Lotse] ÜBUNG — Testalarm {report.drill_key}: ohne Antwort",
        body="\n".join(lines) + "\n",
        payload={
            "schema": PAYLOAD_SCHEMA,
            "kind": "test-alert-silent",
            "drill_key": report.drill_key,
            "silent": list(report.silent),
        },
        sent_at=report.sent_at,
    )
