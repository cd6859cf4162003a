"""The state of one case and the changes the procedure makes, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.case_messages import CaseOpened, RegisterPerson
from contracts.case_rules import ReferralAction
from contracts.messages import DeliveryPolicy
from contracts.people import (
    AssessedNeed,
    CaseCloseReason,
    ConsentMethod,
    ConsentScope,
    DataCategory,
    NeedStatus,
    ReferralStatus,
    ReferralTarget,
    Urgency,
)
from contracts.vocabulary import NeedCategory
from workflows import case_details
from workflows.case_state import CaseState

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
OHS = ReferralTarget(offer_id="ohs-dresden", provider_id="opferhilfe-sachsen")
WR = ReferralTarget(offer_id="wr-dresden", provider_id="weisser-ring")
PSY = NeedCategory.PSYCHOSOCIAL


def opened() -> CaseState:
    registration = RegisterPerson.model_validate(
        {
            "incident_id": "2026-12-05-dresden",
            "person_ref": "DD-0042",
            "involvement": "injured",
            "source": "hotline",
            "region": "dresden",
            "registered_by": {"partner_id": "raa-sachsen", "staff_ref": "hotline-3"},
        }
    )
    policy = DeliveryPolicy(
        max_attempts=3, initial_interval=timedelta(seconds=1), maximum_interval=timedelta(60)
    )
    return CaseState.opened(
        registration,
        CaseOpened(registered_at=T0, office_id="opferbeauftragte", delivery=policy),
    )


def consent(recipient: str = "opferhilfe-sachsen") -> ConsentScope:
    return ConsentScope(
        recipient=recipient,
        data_categories=[DataCategory.NEEDS, DataCategory.PHONE],
        method=ConsentMethod.ORAL,
        recorded_by="hotline-3",
        given_at=T0,
    )


def referred(state: CaseState) -> None:
    state.assess([AssessedNeed(category=PSY, urgency=Urgency.IMMEDIATE)], T0)
    state.give_consent(consent(), T0)
    state.propose("R1", PSY, OHS, "Opferhilfe Dresden", "best fit")


def test_a_registered_case_waits_for_the_assessment_and_asks_three_follow_ups() -> None:
    state = opened()
    assert state.assessment_due_at == T0 + timedelta(days=3)
    assert [f.due_at - T0 for f in state.follow_ups] == [
        timedelta(weeks=4),
        timedelta(days=91),
        timedelta(days=365),
    ]
    assert state.next_deadline() == T0 + timedelta(days=3)
    assert not state.finished(T0)


def test_an_assessed_need_belongs_to_the_registering_partner_until_consent() -> None:
    state = opened()
    state.assess([AssessedNeed(category=PSY, urgency=Urgency.IMMEDIATE)], T0)
    need = state.needs[PSY]
    assert (need.status, need.owner, need.due_at) == (
        NeedStatus.AWAITING_CONSENT,
        "raa-sachsen",
        T0 + timedelta(days=2),
    )
    assert state.to_route() == [need]
    assert state.assessment_due_at is None


def test_a_referral_gives_the_need_to_the_provider_with_the_deadline_of_each_step() -> None:
    state = opened()
    referred(state)
    referral = state.referrals["R1"]
    need = state.needs[PSY]
    assert (need.status, need.owner, need.due_at) == (
        NeedStatus.REFERRED,
        "opferhilfe-sachsen",
        None,
    )
    sent_at = T0 + timedelta(minutes=1)
    state.advance(referral, ReferralAction.SEND, sent_at)
    assert referral.due_at == need.due_at == sent_at + timedelta(days=2)
    state.advance(referral, ReferralAction.ACCEPT, sent_at + timedelta(hours=1))
    assert need.due_at == sent_at + timedelta(hours=1, days=7)
    state.advance(referral, ReferralAction.FIRST_CONTACT, sent_at + timedelta(days=1))
    assert need.status is NeedStatus.IN_CARE
    assert need.due_at == state.follow_ups[0].due_at  # until the first follow-up


def test_a_declined_referral_reopens_the_need_and_remembers_the_offer_tried() -> None:
    state = opened()
    referred(state)
    referral = state.referrals["R1"]
    state.advance(referral, ReferralAction.SEND, T0)
    state.advance(referral, ReferralAction.DECLINE, T0 + timedelta(hours=2))
    need = state.needs[PSY]
    assert referral.status is ReferralStatus.DECLINED
    assert need.status is NeedStatus.AWAITING_REFERRAL  # consent is still valid
    assert need.route_pending
    assert need.tried == ["ohs-dresden"]
    assert need.owner == "raa-sachsen"
    assert state.next_referral_id() == "R2"


def test_an_unanswered_referral_is_overdue_at_its_deadline_and_not_before() -> None:
    state = opened()
    referred(state)
    referral = state.referrals["R1"]
    state.advance(referral, ReferralAction.SEND, T0)
    due = T0 + timedelta(days=2)
    assert state.overdue_referrals(due - timedelta(seconds=1)) == []
    assert state.overdue_referrals(due) == [referral]
    assert state.next_deadline() == due


def test_escalation_gives_the_need_to_the_office() -> None:
    state = opened()
    state.assess([AssessedNeed(category=PSY)], T0)
    state.escalate(PSY, T0)
    need = state.needs[PSY]
    assert (need.status, need.owner) == (NeedStatus.ESCALATED, "opferbeauftragte")
    assert need.due_at == T0 + timedelta(days=2)


def test_withdrawing_consent_names_the_live_referrals_to_that_recipient() -> None:
    state = opened()
    referred(state)
    ended = state.withdraw_consent("opferhilfe-sachsen", T0 + timedelta(hours=1))
    assert [r.referral_id for r in ended] == ["R1"]
    assert state.consents[0].withdrawn_at == T0 + timedelta(hours=1)
    state.advance(ended[0], ReferralAction.WITHDRAW, T0 + timedelta(hours=1))
    assert state.needs[PSY].status is NeedStatus.AWAITING_CONSENT


def test_a_follow_up_with_help_arrived_closes_the_referral_and_an_unmet_need_reopens() -> None:
    state = opened()
    referred(state)
    state.assess([AssessedNeed(category=NeedCategory.LEGAL)], T0)
    referral = state.referrals["R1"]
    for action in (ReferralAction.SEND, ReferralAction.ACCEPT, ReferralAction.FIRST_CONTACT):
        state.advance(referral, action, T0)
    first = state.follow_ups[0]
    state.ask_follow_up(first, first.due_at)
    closing = state.record_follow_up([PSY], [NeedCategory.LEGAL], first.due_at)
    assert closing == [referral]
    assert first.answered_at == first.due_at
    assert state.needs[NeedCategory.LEGAL].route_pending


def test_the_case_is_finished_once_every_follow_up_is_answered_and_no_need_is_open() -> None:
    state = opened()
    state.assess([AssessedNeed(category=PSY)], T0)
    state.needs[PSY].status = NeedStatus.MET
    assert not state.finished(T0)
    for follow_up in state.follow_ups:
        state.ask_follow_up(follow_up, follow_up.due_at)
        state.record_follow_up([], [], follow_up.due_at)
    assert state.finished(T0)


def test_the_state_survives_continue_as_new_with_its_deadlines_unchanged() -> None:
    state = opened()
    referred(state)
    state.advance(state.referrals["R1"], ReferralAction.SEND, T0)
    again = CaseState.model_validate(state.model_dump(mode="json"))
    assert again == state
    assert again.next_deadline() == state.next_deadline()


def test_open_items_say_who_must_act_by_when_in_german() -> None:
    state = opened()
    referred(state)
    state.advance(state.referrals["R1"], ReferralAction.SEND, T0)
    items = state.open_items()
    assert items == [
        "psychosoziale Unterstützung: zugestellt, Bestätigung ausstehend — zuständig "
        "opferhilfe-sachsen, fällig 08.12.2026 11:00"
    ]
    state.close(CaseCloseReason.HELP_DECLINED)
    assert state.open_items() == []


def test_the_current_details_name_the_person_only_by_reference() -> None:
    state = opened()
    referred(state)
    text = case_details.current_details(state.status("2026-12-05-dresden--DD-0042"))
    assert text.startswith("**DD-0042** — verletzt, Dresden")
    assert "psychosoziale Unterstützung: vermittelt" in text
