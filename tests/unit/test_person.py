"""The `AffectedPerson` aggregate alone: its rules, without a store (the application and both
stores: tests/integration/test_people_store.py)."""

from __future__ import annotations

import pytest

from contracts.case_rules import ReferralAction
from contracts.people import (
    CaseCloseReason,
    DataCategory,
    DeclineReason,
    NeedStatus,
    ReferralStatus,
)
from contracts.vocabulary import COMMISSIONER_PARTNER_ID, NeedCategory
from domain.errors import (
    CaseClosedError,
    CaseStepRefusedError,
    ConsentMissingError,
    ConsentNotFoundError,
    PersonErasedError,
    ReferralRefusedError,
)
from domain.person import AffectedPerson
from tests.people_support import (
    DAY,
    EXPLANATION,
    HOUR,
    OFFER,
    PROVIDER,
    REGISTERING_PARTNER,
    T0,
    TARGET,
    consent,
    ctx,
    psychosocial,
    registration,
)

PSY = NeedCategory.PSYCHOSOCIAL


def new_person() -> AffectedPerson:
    return AffectedPerson(incident_key="dresden-2026-11-14", registration=registration(), ctx=ctx())


def event_names(person: AffectedPerson) -> list[str]:
    return [type(e).__name__ for e in person.collect_events()]


def assert_every_open_need_is_owned_and_due(person: AffectedPerson) -> None:
    for need in person.needs.values():
        if need.status is not NeedStatus.MET:
            assert need.owner is not None, need
            assert need.due_at is not None, need


def referred_person() -> AffectedPerson:
    """Consent for the provider, one need, a referral sent to it; events collected."""
    person = new_person()
    person.give_consent(consent(), ctx())
    person.assess_needs(psychosocial(), T0 + DAY, ctx())
    person.propose_referral("r1", PSY, TARGET, EXPLANATION, ctx())
    person.advance_referral("r1", ReferralAction.SEND, ctx(), due_at=T0 + 2 * DAY)
    person.collect_events()
    return person


def test_a_case_runs_from_registration_to_closing_with_an_owner_and_a_due_date_at_every_step() -> (
    None
):
    person = new_person()
    person.record_contact("c2VhbGVk", ctx())
    assert person.sealed_contact == "c2VhbGVk"
    person.assess_needs(psychosocial(), T0 + DAY, ctx())
    need = person.needs[PSY]
    assert (need.status, need.owner, need.due_at) == (
        NeedStatus.AWAITING_CONSENT,
        REGISTERING_PARTNER,
        T0 + DAY,
    )
    person.give_consent(consent(), ctx(T0 + HOUR))
    assert need.status is NeedStatus.AWAITING_REFERRAL
    assert_every_open_need_is_owned_and_due(person)

    person.propose_referral("r1", PSY, TARGET, EXPLANATION, ctx(T0 + HOUR))
    assert person.referrals["r1"].owner == REGISTERING_PARTNER
    person.advance_referral("r1", ReferralAction.SEND, ctx(T0 + 2 * HOUR), due_at=T0 + 2 * DAY)
    assert (need.status, need.owner, need.due_at) == (NeedStatus.REFERRED, PROVIDER, T0 + 2 * DAY)
    person.advance_referral("r1", ReferralAction.ACKNOWLEDGE, ctx(), due_at=T0 + 3 * DAY)
    person.advance_referral("r1", ReferralAction.ACCEPT, ctx(), due_at=T0 + 7 * DAY)
    assert need.due_at == T0 + 7 * DAY
    assert_every_open_need_is_owned_and_due(person)
    person.advance_referral(
        "r1", ReferralAction.FIRST_CONTACT, ctx(), at=T0 + 4 * DAY, due_at=T0 + 28 * DAY
    )
    assert (need.status, need.owner) == (NeedStatus.IN_CARE, PROVIDER)
    assert person.referrals["r1"].first_contact_at == T0 + 4 * DAY
    person.advance_referral("r1", ReferralAction.CLOSE, ctx())
    need = person.needs[PSY]  # read again: mypy keeps the status narrowed from above
    assert (need.status, need.owner, need.due_at) == (NeedStatus.MET, None, None)
    person.record_follow_up(1, [PSY], [], ctx())
    person.close_case(CaseCloseReason.ALL_NEEDS_MET, ctx())

    assert [s for s, _ in person.referrals["r1"].history] == [
        ReferralStatus.PROPOSED,
        ReferralStatus.SENT,
        ReferralStatus.ACKNOWLEDGED,
        ReferralStatus.ACCEPTED,
        ReferralStatus.FIRST_CONTACT,
        ReferralStatus.CLOSED,
    ]
    assert person.closed_reason is CaseCloseReason.ALL_NEEDS_MET
    assert event_names(person) == [
        "Registered",
        "ContactRecorded",
        "NeedsAssessed",
        "ConsentGiven",
        "ReferralProposed",
        "ReferralSent",
        "ReferralAcknowledged",
        "ReferralAccepted",
        "FirstContactMade",
        "ReferralClosed",
        "FollowUpRecorded",
        "CaseClosed",
    ]


def test_a_referral_without_consent_is_refused_naming_the_recipient_and_the_missing_need() -> None:
    person = new_person()
    person.assess_needs(psychosocial(), T0 + DAY, ctx())
    version = person.version
    with pytest.raises(ConsentMissingError, match=rf"'{OFFER}' \(provider '{PROVIDER}'\).*needs"):
        person.propose_referral("r1", PSY, TARGET, EXPLANATION, ctx())
    assert person.version == version
    assert ConsentMissingError.failure_type == "ConsentMissing"


def test_consent_that_does_not_cover_the_needs_category_is_refused_naming_it() -> None:
    person = new_person()
    person.give_consent(consent(categories=(DataCategory.NAME,)), ctx())
    person.assess_needs(psychosocial(), T0 + DAY, ctx())
    with pytest.raises(ConsentMissingError, match="does not cover the data categories: needs"):
        person.propose_referral("r1", PSY, TARGET, EXPLANATION, ctx())


def test_expired_consent_is_refused() -> None:
    person = new_person()
    person.give_consent(consent(expires_at=T0 + HOUR), ctx())
    person.assess_needs(psychosocial(), T0 + DAY, ctx())
    with pytest.raises(ConsentMissingError, match="no longer valid: expired at"):
        person.propose_referral("r1", PSY, TARGET, EXPLANATION, ctx(T0 + 2 * HOUR))


def test_sending_checks_consent_again_because_it_may_have_expired_since_the_proposal() -> None:
    person = new_person()
    person.give_consent(consent(expires_at=T0 + HOUR), ctx())
    person.assess_needs(psychosocial(), T0 + DAY, ctx())
    person.propose_referral("r1", PSY, TARGET, EXPLANATION, ctx())
    with pytest.raises(ConsentMissingError, match="expired"):
        person.advance_referral("r1", ReferralAction.SEND, ctx(T0 + 2 * HOUR), due_at=T0 + 2 * DAY)
    assert person.referrals["r1"].status is ReferralStatus.PROPOSED


def test_withdrawn_consent_is_refused() -> None:
    person = new_person()
    person.give_consent(consent(), ctx())
    person.assess_needs(psychosocial(), T0 + DAY, ctx())
    person.withdraw_consent(PROVIDER, ctx(T0 + HOUR))
    with pytest.raises(ConsentMissingError, match="no longer valid: withdrawn at"):
        person.propose_referral("r1", PSY, TARGET, EXPLANATION, ctx(T0 + 2 * HOUR))


def test_withdrawing_consent_withdraws_the_live_referral_and_the_need_waits_for_consent() -> None:
    person = referred_person()
    person.withdraw_consent(PROVIDER, ctx(T0 + 3 * HOUR))

    assert event_names(person) == ["ConsentWithdrawn", "ReferralWithdrawn"]
    assert person.consents[0].withdrawn_at == T0 + 3 * HOUR
    assert person.referrals["r1"].status is ReferralStatus.WITHDRAWN
    need = person.needs[PSY]
    assert (need.status, need.owner, need.due_at) == (
        NeedStatus.AWAITING_CONSENT,
        REGISTERING_PARTNER,
        T0 + 3 * HOUR,
    )


def test_a_referral_still_covered_by_consent_for_the_offer_outlives_the_providers_withdrawal() -> (
    None
):
    person = referred_person()
    person.give_consent(consent(recipient=OFFER), ctx())
    person.collect_events()
    person.withdraw_consent(PROVIDER, ctx(T0 + 3 * HOUR))
    assert event_names(person) == ["ConsentWithdrawn"]
    assert person.referrals["r1"].status is ReferralStatus.SENT


def test_withdrawing_consent_that_was_never_given_is_refused_naming_the_recipient() -> None:
    person = new_person()
    with pytest.raises(ConsentNotFoundError, match="no valid consent for 'raa-sachsen'"):
        person.withdraw_consent("raa-sachsen", ctx())


def test_a_step_that_does_not_follow_the_referral_status_is_refused() -> None:
    person = referred_person()
    with pytest.raises(ReferralRefusedError, match="referral r1 is sent: cannot first-contact"):
        person.advance_referral("r1", ReferralAction.FIRST_CONTACT, ctx(), due_at=T0 + DAY)
    with pytest.raises(ReferralRefusedError, match="no referral r9"):
        person.advance_referral("r9", ReferralAction.ACCEPT, ctx(), due_at=T0 + DAY)
    with pytest.raises(ReferralRefusedError, match="due_at"):
        person.advance_referral("r1", ReferralAction.ACCEPT, ctx())
    assert event_names(person) == []


def test_a_need_with_a_live_referral_gets_no_second_one() -> None:
    person = referred_person()
    with pytest.raises(ReferralRefusedError, match="already has the live referral r1"):
        person.propose_referral("r2", PSY, TARGET, EXPLANATION, ctx())


def test_a_declined_referral_hands_the_need_back_to_the_registering_partner_due_at_once() -> None:
    person = referred_person()
    person.advance_referral(
        "r1", ReferralAction.DECLINE, ctx(T0 + 5 * HOUR), reason=DeclineReason.NO_CAPACITY
    )
    need = person.needs[PSY]
    assert (need.status, need.owner, need.due_at) == (
        NeedStatus.AWAITING_REFERRAL,
        REGISTERING_PARTNER,
        T0 + 5 * HOUR,
    )
    assert person.referrals["r1"].decline_reason is DeclineReason.NO_CAPACITY
    person.propose_referral("r2", PSY, TARGET, EXPLANATION, ctx())
    assert need.referral_id == "r2"


def test_an_escalated_need_is_owned_by_the_commissioners_office() -> None:
    person = referred_person()
    person.escalate_need(PSY, "keine Rückmeldung des Dienstes", T0 + 3 * DAY, ctx())
    need = person.needs[PSY]
    assert (need.status, need.owner, need.due_at) == (
        NeedStatus.ESCALATED,
        COMMISSIONER_PARTNER_ID,
        T0 + 3 * DAY,
    )


def test_free_text_with_a_phone_number_is_refused_naming_the_field() -> None:
    person = referred_person()
    with pytest.raises(CaseStepRefusedError, match=r"^why: "):
        person.advance_referral(
            "r1", ReferralAction.REROUTE, ctx(), why="bitte 0351 5550100 anrufen"
        )
    with pytest.raises(CaseStepRefusedError, match=r"^why: required"):
        person.advance_referral("r1", ReferralAction.REROUTE, ctx())


def test_a_command_id_applied_before_is_known_to_the_aggregate() -> None:
    person = new_person()
    step = ctx()
    person.give_consent(consent(), step)
    assert person.has_applied(step)
    assert not person.has_applied(ctx())


def test_after_erasure_the_aggregate_holds_no_sealed_contact_and_refuses_commands() -> None:
    person = referred_person()
    person.record_contact("c2VhbGVk", ctx())
    person.collect_events()
    person.erase(ctx())
    assert event_names(person) == ["ReferralWithdrawn", "CaseClosed", "PersonalDataErased"]
    assert person.sealed_contact is None
    assert person.closed_reason is CaseCloseReason.ERASED
    with pytest.raises(PersonErasedError):
        person.record_contact("c2VhbGVk", ctx())
    with pytest.raises(PersonErasedError):
        person.give_consent(consent(), ctx())
    person.erase(ctx())
    assert event_names(person) == []


def test_a_closed_case_refuses_new_referrals_but_allows_withdrawing_consent() -> None:
    person = referred_person()
    person.close_case(CaseCloseReason.HELP_DECLINED, ctx())
    assert person.referrals["r1"].status is ReferralStatus.WITHDRAWN
    with pytest.raises(CaseClosedError, match="help-declined"):
        person.propose_referral("r2", PSY, TARGET, EXPLANATION, ctx())
    person.withdraw_consent(PROVIDER, ctx(T0 + HOUR))
    assert person.consents[0].withdrawn_at == T0 + HOUR


def test_a_follow_up_is_recorded_once_and_names_only_assessed_needs() -> None:
    person = referred_person()
    person.record_follow_up(1, [], [PSY], ctx())
    with pytest.raises(CaseStepRefusedError, match="follow-up 1 is already recorded"):
        person.record_follow_up(1, [PSY], [], ctx())
    with pytest.raises(CaseStepRefusedError, match="not assessed: legal"):
        person.record_follow_up(2, [NeedCategory.LEGAL], [], ctx())
