"""What a case's messages say: a referral carries the pseudonym, the need and only the contact
fields that consent allows; messages to the office carry the reference alone."""

from __future__ import annotations

from datetime import UTC, datetime

from activities.case_messages import CaseNotice, render_case_message
from activities.messages import AnswerRoute
from contracts.case_messages import CaseMessagePurpose
from contracts.people import DataCategory, Urgency
from contracts.vocabulary import NeedCategory

SENT = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def notice(purpose: CaseMessagePurpose, **fields: object) -> CaseNotice:
    base: dict[str, object] = {
        "purpose": purpose,
        "message_id": "2026-12-05-dresden--DD-0042/R1/referral",
        "sent_at": SENT,
        "case_id": "2026-12-05-dresden--DD-0042",
        "incident_id": "2026-12-05-dresden",
        "incident_title": "Anschlag auf den Weihnachtsmarkt (Übung)",
        "person_ref": "DD-0042",
        "recipient_id": "opferhilfe-sachsen",
        "recipient_name": "Beratungsstelle Dresden",
        "category": NeedCategory.PSYCHOSOCIAL,
        "urgency": Urgency.IMMEDIATE,
        "referral_id": "R1",
        "due_at": SENT,
        "answers": AnswerRoute(ui_url="http://127.0.0.1:8233", task_queue="victim-support"),
    }
    base.update(fields)
    return CaseNotice.model_validate(base)


def test_a_referral_carries_the_pseudonym_the_need_and_the_consented_contact_fields() -> None:
    message = render_case_message(
        notice(
            CaseMessagePurpose.REFERRAL,
            reach={DataCategory.NAME: "Erika Beispiel", DataCategory.PHONE: "+49 351 555 0100"},
        )
    )
    assert (
        message.subject
        == "[Lotse] DD-0042: Vermittlung – psychosoziale Unterstützung, bitte bestätigen"
    )
    assert any(line.split() == ["Referenz:", "DD-0042"] for line in message.body.splitlines())
    assert "psychosoziale Unterstützung (Dringlichkeit: sofort)" in message.body
    assert "  Name: Erika Beispiel" in message.body
    assert "  Telefon: +49 351 555 0100" in message.body
    assert (
        "lotse case accept 2026-12-05-dresden--DD-0042 R1 --as opferhilfe-sachsen" in message.body
    )
    notice_line = next(line for line in message.body.splitlines() if "personenbezogene" in line)
    assert len(notice_line) <= 72
    assert message.payload["reach"] == {"name": "Erika Beispiel", "phone": "+49 351 555 0100"}
    assert "Bitte nicht weiterleiten" in message.body


def test_a_referral_without_consented_contact_fields_says_how_to_reach_the_person() -> None:
    message = render_case_message(notice(CaseMessagePurpose.REFERRAL))
    assert "Keine Kontaktdaten freigegeben" in message.body
    assert message.payload["reach"] == {}
    assert "Bitte nicht weiterleiten" not in message.body


def test_messages_to_the_office_name_the_reference_alone() -> None:
    for purpose in (
        CaseMessagePurpose.ESCALATION,
        CaseMessagePurpose.REMINDER,
        CaseMessagePurpose.FOLLOW_UP_DUE,
    ):
        message = render_case_message(
            notice(purpose, recipient_id="opferbeauftragte", referral_id=None)
        )
        assert "DD-0042" in message.subject
        assert "Erreichbarkeit" not in message.body
        assert message.payload["reach"] == {}
