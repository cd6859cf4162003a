"""One person's case on the real dev server: registered, consent, needs, referred, answered,
followed up, closed — and re-routed, escalated, refused without consent, withdrawn, erased."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from contracts.case_messages import CaseOutcome
from contracts.messages import CommandContext
from contracts.people import CaseCloseReason, NeedStatus
from contracts.vocabulary import VICTIM_CASE_WORKFLOW_TYPE, ActorChannel, NeedCategory
from domain.errors import PersonErasedError
from tests.workflow.case_support import (
    ERIKA,
    OFFICE,
    TWO_OFFERS,
    consent,
    declared_incident,
    record_contact,
    referral_in,
    register,
    registration,
    send,
    service,
    status,
)
from tests.workflow.support import (
    SHIPPED_AGREEMENT,
    Stack,
    eventually,
    keep_history,
    running_stack,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def offers_path() -> Path:
    return TWO_OFFERS


def events(stack: Stack, incident_id: str, ref: str = "DD-0042") -> list[str]:
    return [entry.event for entry in stack.app.person_history(incident_id, ref)]


def mails_to(stack: Stack, address: str) -> list[Any]:
    return [mail for mail in stack.mails() if str(mail["To"]) == address]


OHS_MAIL = "beratung-dresden@opferhilfe-sachsen.example.org"
WR_MAIL = "dresden@weisser-ring.example.org"
OFFICE_MAIL = "lagedienst@opferbeauftragte.example.org"


async def test_a_person_goes_from_registration_through_referral_and_follow_up_to_closed(
    stack: Stack,
) -> None:
    incident_id = await declared_incident(stack)
    handle = await register(stack, incident_id, follow_ups=[8])
    record_contact(stack, incident_id)
    await consent(handle, "opferhilfe-sachsen", "needs", "name", "phone")
    await send(handle, "assess_needs", needs=[{"category": "psychosocial", "urgency": "immediate"}])

    sent = await referral_in(handle, "R1", "sent")
    referral = sent.referrals[0]
    assert (referral.offer_id, referral.provider_id) == ("ohs-dresden", "opferhilfe-sachsen")
    need = sent.needs[0]
    assert (need.status, need.owner, need.due_at) == (
        NeedStatus.REFERRED,
        "opferhilfe-sachsen",
        referral.due_at,
    )
    (mail,) = mails_to(stack, OHS_MAIL)
    body = mail.get_content()
    assert "DD-0042" in body
    assert ERIKA.name in body
    assert ERIKA.phone in body
    assert ERIKA.email not in body  # consent covers name and phone only
    assert ERIKA.address not in body

    provider = service("opferhilfe-sachsen").model_dump()
    await send(handle, "acknowledge_referral", referral_id="R1", actor=provider)
    await send(handle, "accept_referral", referral_id="R1", actor=provider)
    again = await send(handle, "accept_referral", referral_id="R1", actor=provider)
    assert again.duplicate  # accepted again, by phone, say: answered as a repeat
    late_ack = await send(handle, "acknowledge_referral", referral_id="R1", actor=provider)
    assert late_ack.duplicate
    contacted = await send(handle, "record_first_contact", referral_id="R1", actor=provider)
    assert contacted.needs == {NeedCategory.PSYCHOSOCIAL: NeedStatus.IN_CARE}

    await eventually(
        lambda: status(handle),
        lambda case: case.follow_ups[0].answer_due_at is not None,
        what="the follow-up to fall due",
    )
    await eventually(
        lambda: [str(m["Subject"]) for m in mails_to(stack, OFFICE_MAIL)],
        lambda subjects: any("Nachfrage fällig" in s for s in subjects),
        what="the follow-up notice to the office",
    )
    await send(
        handle, "record_follow_up", results=[{"category": "psychosocial", "help_arrived": True}]
    )

    outcome: CaseOutcome = await handle.result()
    assert outcome.closed_reason is CaseCloseReason.ALL_NEEDS_MET
    await keep_history(handle, "case_full")
    assert events(stack, incident_id) == [
        "Registered",
        "ContactRecorded",
        "ConsentGiven",
        "NeedsAssessed",
        "ReferralProposed",
        "ReferralSent",
        "ReferralAcknowledged",
        "ReferralAccepted",
        "FirstContactMade",
        "FollowUpRecorded",
        "ReferralClosed",
        "CaseClosed",
    ]


async def test_a_declined_referral_is_rerouted_to_the_next_matching_offer(stack: Stack) -> None:
    incident_id = await declared_incident(stack)
    handle = await register(stack, incident_id)
    await consent(handle, "opferhilfe-sachsen")
    await consent(handle, "weisser-ring")
    await send(handle, "assess_needs", needs=[{"category": "psychosocial"}])
    await referral_in(handle, "R1", "sent")

    declined = await send(
        handle,
        "decline_referral",
        referral_id="R1",
        reason="no-capacity",
        actor=service("opferhilfe-sachsen").model_dump(),
    )
    # The consent still holds: the need waits for the next referral, which follows at once.
    assert declined.needs[NeedCategory.PSYCHOSOCIAL] is NeedStatus.AWAITING_REFERRAL
    case = await referral_in(handle, "R2", "sent")
    assert [(r.referral_id, r.offer_id, r.status) for r in case.referrals] == [
        ("R1", "ohs-dresden", "declined"),
        ("R2", "wr-dresden", "sent"),
    ]
    assert case.needs[0].owner == "weisser-ring"
    assert len(mails_to(stack, WR_MAIL)) == 1
    assert "ReferralDeclined" in events(stack, incident_id)


async def test_an_unanswered_referral_is_rerouted_and_with_no_offer_left_escalated(
    stack: Stack,
) -> None:
    incident_id = await declared_incident(stack)
    handle = await register(stack, incident_id, acknowledge=1)
    await consent(handle, "opferhilfe-sachsen")
    await consent(handle, "weisser-ring")
    await send(handle, "assess_needs", needs=[{"category": "psychosocial"}])

    case = await eventually(
        lambda: status(handle),
        lambda case: case.needs and case.needs[0].status is NeedStatus.ESCALATED,
        what="the need to be escalated",
    )
    assert [(r.offer_id, r.status) for r in case.referrals] == [
        ("ohs-dresden", "rerouted"),
        ("wr-dresden", "rerouted"),
    ]
    need = case.needs[0]
    assert need.owner == "opferbeauftragte"
    assert need.due_at is not None
    await eventually(
        lambda: [str(m["Subject"]) for m in mails_to(stack, OFFICE_MAIL)],
        lambda subjects: any("Eskalation" in s for s in subjects),
        what="the escalation to the office",
    )
    await keep_history(handle, "case_rerouted_escalated")
    recorded = events(stack, incident_id)
    assert recorded.count("ReferralRerouted") == 2
    assert "NeedEscalated" in recorded
    overdue = await eventually(
        lambda: stack.app.overdue(incident_id, need.due_at),
        bool,
        what="the escalated need in the overdue list",
    )
    assert [(item.person_ref, item.owner) for item in overdue] == [("DD-0042", "opferbeauftragte")]


async def test_a_referral_without_consent_is_refused_and_only_the_refusal_is_recorded(
    stack: Stack,
) -> None:
    incident_id = await declared_incident(stack)
    handle = await register(stack, incident_id)
    await consent(handle, "weisser-ring", "phone")  # no consent to share the need itself
    await send(handle, "assess_needs", needs=[{"category": "psychosocial"}])
    # Lotse looked for an offer and found none that consent covers: it waits for consent.
    case = await eventually(
        lambda: status(handle),
        lambda case: case.needs[0].status is NeedStatus.AWAITING_CONSENT,
        what="the need to wait for consent",
    )
    assert case.referrals == []

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await send(handle, "refer_need", category="psychosocial", offer_id="ohs-dresden")
    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ConsentMissing"
    assert "'ohs-dresden'" in cause.message
    assert "needs" in cause.message
    assert "ReferralProposed" not in events(stack, incident_id)
    assert (await status(handle)).referrals == []
    [refusal] = [e for e in stack.history(incident_id) if e.event == "ActionRefused"]
    assert (refusal.ctx.actor, refusal.details) == (
        OFFICE,
        {
            "action": "refer_need",
            "kind": "consent-missing",
            "reason": cause.message,
            "person_ref": "DD-0042",
        },
    )
    [row] = [r for r in stack.app.timeline(incident_id) if r.event == "ActionRefused"]
    assert (row.person_ref, row.facts()["kind"]) == ("DD-0042", "consent-missing")


async def test_a_withdrawal_ends_the_referral_and_tells_the_offer(stack: Stack) -> None:
    incident_id = await declared_incident(stack)
    handle = await register(stack, incident_id)
    await consent(handle, "opferhilfe-sachsen")
    await send(handle, "assess_needs", needs=[{"category": "psychosocial"}])
    await referral_in(handle, "R1", "sent")

    await send(handle, "withdraw_consent", recipient="opferhilfe-sachsen")
    case = await status(handle)
    assert case.referrals[0].status == "withdrawn"
    assert case.consents[0].withdrawn_at is not None
    assert case.needs[0].status is NeedStatus.AWAITING_CONSENT
    subjects = await eventually(
        lambda: [str(m["Subject"]) for m in mails_to(stack, OHS_MAIL)],
        lambda found: len(found) == 2,
        what="the withdrawal notice to the offer",
    )
    assert "zurückgezogen" in subjects[1]
    assert {"ConsentWithdrawn", "ReferralWithdrawn"} <= set(events(stack, incident_id))
    assert "wr-dresden" not in {r.offer_id for r in case.referrals}  # no consent for it


async def test_an_erased_person_is_unreadable_while_the_history_still_reads(
    stack: Stack,
) -> None:
    incident_id = await declared_incident(stack)
    handle = await register(stack, incident_id)
    other = await register(stack, incident_id, "DD-0043")
    record_contact(stack, incident_id)
    record_contact(stack, incident_id, "DD-0043")
    await consent(handle, "opferhilfe-sachsen")
    await send(handle, "assess_needs", needs=[{"category": "psychosocial"}])
    await referral_in(handle, "R1", "sent")
    before = events(stack, incident_id)

    stack.app.erase_person(incident_id, "DD-0042", _erasure_ctx())
    await send(handle, "close_case", reason="erased")
    outcome: CaseOutcome = await handle.result()
    assert outcome.closed_reason is CaseCloseReason.ERASED

    with pytest.raises(PersonErasedError):
        stack.app.contact_of(incident_id, "DD-0042")
    history = stack.app.person_history(incident_id, "DD-0042")
    assert [entry.event for entry in history][: len(before)] == before
    assert history[-1].event == "PersonalDataErased"
    contact_entry = next(entry for entry in history if entry.event == "ContactRecorded")
    assert contact_entry.details["contact"] == "erased"
    assert stack.app.contact_of(incident_id, "DD-0043") == ERIKA
    assert (await status(other)).closed_reason is None


def _erasure_ctx() -> CommandContext:
    return CommandContext(
        command_id=f"erase-{uuid.uuid4()}",
        actor=OFFICE,
        channel=ActorChannel.CLI,
        business_time=datetime.now(UTC),
    )


async def test_a_relay_outage_is_not_the_services_silence(stack: Stack) -> None:
    """While the referral cannot be delivered, its deadline does not run: it is neither
    re-routed nor escalated, the case shows the delivery trouble, and once the relay is back
    the referral is sent and its deadline starts then."""
    incident_id = await declared_incident(stack)
    handle = await register(stack, incident_id, acknowledge=2)
    await consent(handle, "opferhilfe-sachsen")
    assert stack.sink is not None
    stack.sink.stop()
    try:
        await send(handle, "assess_needs", needs=[{"category": "psychosocial"}])
        troubled = await eventually(
            lambda: status(handle),
            lambda case: bool(case.referrals) and case.referrals[0].delivery_trouble_since,
            what="the delivery trouble to show",
        )
        assert troubled.referrals[0].status == "proposed"
        assert any("Zustellung gestört" in item for item in troubled.open_items)
        await asyncio.sleep(4)  # twice the deadline to acknowledge
        waiting = await status(handle)
        assert [(r.referral_id, r.status) for r in waiting.referrals] == [("R1", "proposed")]
    finally:
        stack.sink.start()
    sent = await referral_in(handle, "R1", "sent")
    referral = sent.referrals[0]
    assert referral.sent_at is not None
    assert referral.due_at == referral.sent_at + timedelta(seconds=2)
    assert referral.delivery_trouble_since is None


async def test_a_case_whose_person_was_erased_in_the_record_follows_and_ends(
    stack: Stack,
) -> None:
    """`lotse privacy erase` could not reach Temporal: the case learns it from the record the
    next time it acts by itself (here: re-routing a silent referral), and ends — it neither
    fails nor keeps sending."""
    incident_id = await declared_incident(stack)
    handle = await register(stack, incident_id, acknowledge=2)
    await consent(handle, "opferhilfe-sachsen")
    await send(handle, "assess_needs", needs=[{"category": "psychosocial"}])
    await referral_in(handle, "R1", "sent")

    stack.app.erase_person(incident_id, "DD-0042", _erasure_ctx())
    outcome: CaseOutcome = await handle.result()

    assert outcome.closed_reason is CaseCloseReason.ERASED
    assert len(mails_to(stack, OHS_MAIL)) == 1  # no further referral went out


async def test_a_wrong_registration_fails_the_case_at_once_in_words_the_ui_shows(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Read without the codec, as the UI's failure banner shows it: the rule, not
    "Encoded failure"; and never the refused value."""
    async with running_stack(
        temporal_env.client, tmp_path, SHIPPED_AGREEMENT, TWO_OFFERS, codec=True
    ) as stack:
        data = registration("2026-12-05-dresden", "Erika Beispiel")
        handle = await stack.client.start_workflow(
            VICTIM_CASE_WORKFLOW_TYPE, data, id="wrong-id", task_queue=stack.settings.task_queue
        )
        stack.handles.append(handle)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        plain = temporal_env.client.get_workflow_handle(handle.id)
        with pytest.raises(WorkflowFailureError) as failed:
            await plain.result()
    message = str(failed.value.cause)
    assert "person_ref: String should match pattern" in message
    assert "Erika" not in message
