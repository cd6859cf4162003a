"""The rules of a case that workflow and record share: consent, referral steps, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.case_messages import AssessNeeds, GiveConsent, RegisterPerson
from contracts.case_rules import (
    CaseDeadlines,
    GivenConsent,
    ReferralAction,
    already_done,
    consent_problem,
    consented_categories,
    referral_problem,
)
from contracts.people import (
    ConsentMethod,
    ConsentPurpose,
    ConsentScope,
    ContactData,
    DataCategory,
    ReferralStatus,
    ReferralTarget,
)

NOW = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
TARGET = ReferralTarget(offer_id="ohs-dresden", provider_id="opferhilfe-sachsen")


def consent(
    recipient: str = "opferhilfe-sachsen",
    categories: tuple[DataCategory, ...] = (DataCategory.NEEDS, DataCategory.PHONE),
    purpose: ConsentPurpose = ConsentPurpose.REFERRAL,
    expires_at: datetime | None = None,
    withdrawn_at: datetime | None = None,
) -> GivenConsent:
    scope = ConsentScope(
        recipient=recipient,
        data_categories=list(categories),
        purpose=purpose,
        method=ConsentMethod.ORAL,
        recorded_by="hotline-3",
        given_at=NOW - timedelta(hours=1),
        expires_at=expires_at,
    )
    return GivenConsent(scope=scope, withdrawn_at=withdrawn_at)


def test_consent_for_the_provider_covers_its_offers() -> None:
    assert consent_problem([consent()], TARGET, NOW) is None


def test_consent_for_the_offer_itself_covers_it() -> None:
    assert consent_problem([consent(recipient="ohs-dresden")], TARGET, NOW) is None


def test_a_referral_without_any_consent_names_the_offer_and_what_is_needed() -> None:
    problem = consent_problem([consent(recipient="weisser-ring")], TARGET, NOW)
    assert problem is not None
    assert "'ohs-dresden'" in problem
    assert "'opferhilfe-sachsen'" in problem
    assert "needs" in problem


def test_consent_for_follow_up_only_does_not_allow_a_referral() -> None:
    problem = consent_problem([consent(purpose=ConsentPurpose.FOLLOW_UP)], TARGET, NOW)
    assert problem is not None
    assert "no consent" in problem


def test_consent_without_the_needs_category_names_the_missing_category() -> None:
    problem = consent_problem([consent(categories=(DataCategory.PHONE,))], TARGET, NOW)
    assert problem == (
        "the consent for 'ohs-dresden' (provider 'opferhilfe-sachsen') does not cover the data "
        "categories: needs"
    )


def test_a_withdrawn_consent_is_refused_with_when_it_was_withdrawn() -> None:
    withdrawn = consent(withdrawn_at=NOW - timedelta(minutes=5))
    problem = consent_problem([withdrawn], TARGET, NOW)
    assert problem is not None
    assert "withdrawn at 2026-12-06T09:55:00+00:00" in problem


def test_an_expired_consent_is_refused_with_when_it_expired() -> None:
    expired = consent(expires_at=NOW - timedelta(minutes=1))
    problem = consent_problem([expired], TARGET, NOW)
    assert problem is not None
    assert "expired at" in problem
    assert consent_problem([expired], TARGET, NOW - timedelta(minutes=2)) is None


def test_what_may_be_shared_is_the_union_of_valid_consents_for_the_recipient() -> None:
    consents = [
        consent(categories=(DataCategory.NEEDS,)),
        consent(recipient="ohs-dresden", categories=(DataCategory.NAME, DataCategory.PHONE)),
        consent(recipient="weisser-ring", categories=(DataCategory.EMAIL,)),
        consent(categories=(DataCategory.ADDRESS,), withdrawn_at=NOW - timedelta(seconds=1)),
    ]
    assert consented_categories(consents, TARGET, NOW) == {
        DataCategory.NEEDS,
        DataCategory.NAME,
        DataCategory.PHONE,
    }


def test_contact_data_shares_only_the_consented_fields() -> None:
    contact = ContactData(
        name="Erika Beispiel", phone="+49 351 555 0100", email="erika@example.org"
    )
    shared = contact.shared_with(frozenset({DataCategory.NAME, DataCategory.PHONE}))
    assert shared == {DataCategory.NAME: "Erika Beispiel", DataCategory.PHONE: "+49 351 555 0100"}


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (ReferralAction.ACKNOWLEDGE, ReferralStatus.SENT),
        (ReferralAction.ACCEPT, ReferralStatus.SENT),
        (ReferralAction.ACCEPT, ReferralStatus.ACKNOWLEDGED),
        (ReferralAction.DECLINE, ReferralStatus.ACKNOWLEDGED),
        (ReferralAction.FIRST_CONTACT, ReferralStatus.ACCEPTED),
        (ReferralAction.CLOSE, ReferralStatus.FIRST_CONTACT),
        (ReferralAction.REROUTE, ReferralStatus.ACCEPTED),
        (ReferralAction.WITHDRAW, ReferralStatus.FIRST_CONTACT),
    ],
)
def test_the_referral_lifecycle_allows_each_next_step(
    action: ReferralAction, status: ReferralStatus
) -> None:
    assert referral_problem(action, status, "R1") is None


@pytest.mark.parametrize(
    ("action", "status"),
    [
        (ReferralAction.ACCEPT, ReferralStatus.PROPOSED),
        (ReferralAction.FIRST_CONTACT, ReferralStatus.SENT),
        (ReferralAction.ACKNOWLEDGE, ReferralStatus.DECLINED),
        (ReferralAction.DECLINE, ReferralStatus.ACCEPTED),
        (ReferralAction.REROUTE, ReferralStatus.FIRST_CONTACT),
        (ReferralAction.WITHDRAW, ReferralStatus.CLOSED),
    ],
)
def test_a_step_out_of_order_is_refused_naming_the_status(
    action: ReferralAction, status: ReferralStatus
) -> None:
    problem = referral_problem(action, status, "R2")
    assert problem is not None
    assert problem.startswith(f"referral R2 is {status}: cannot {action} it")


def test_deadlines_apply_to_the_statuses_in_which_someone_is_waited_for() -> None:
    deadlines = CaseDeadlines()
    assert deadlines.for_status(ReferralStatus.SENT) == timedelta(days=2)
    assert deadlines.for_status(ReferralStatus.ACKNOWLEDGED) == timedelta(days=3)
    assert deadlines.for_status(ReferralStatus.ACCEPTED) == timedelta(days=7)
    assert deadlines.for_status(ReferralStatus.PROPOSED) is None  # delivery is Lotse's job
    assert deadlines.for_status(ReferralStatus.FIRST_CONTACT) is None
    assert deadlines.follow_ups == [timedelta(weeks=4), timedelta(days=91), timedelta(days=365)]


def test_a_registration_refuses_contact_data_and_names_the_field() -> None:
    with pytest.raises(ValidationError, match="phone"):
        RegisterPerson.model_validate(
            {
                "incident_id": "2026-12-05-dresden",
                "person_ref": "DD-0042",
                "involvement": "injured",
                "source": "hotline",
                "region": "dresden",
                "registered_by": {"partner_id": "opferbeauftragte", "staff_ref": "hotline-3"},
                "phone": "+49 351 555 0100",
            }
        )


def test_a_person_reference_is_a_pseudonym_not_a_name() -> None:
    with pytest.raises(ValidationError, match="person_ref"):
        RegisterPerson.model_validate(
            {
                "incident_id": "2026-12-05-dresden",
                "person_ref": "Erika Beispiel",
                "involvement": "injured",
                "source": "hotline",
                "region": "dresden",
                "registered_by": {"partner_id": "opferbeauftragte", "staff_ref": "hotline-3"},
            }
        )


def test_an_assessment_names_each_category_once() -> None:
    actor = {"partner_id": "opferbeauftragte", "staff_ref": "hotline-3"}
    with pytest.raises(ValidationError, match="twice"):
        AssessNeeds.model_validate(
            {"actor": actor, "needs": [{"category": "legal"}, {"category": "legal"}]}
        )


def test_consent_records_who_recorded_it_and_when() -> None:
    request = GiveConsent.model_validate(
        {
            "actor": {"partner_id": "opferbeauftragte", "staff_ref": "hotline-3"},
            "recipient": "opferhilfe-sachsen",
            "data_categories": ["needs", "phone"],
            "method": "oral",
        }
    )
    scope = request.scope(NOW)
    assert scope.recorded_by == "hotline-3"
    assert scope.given_at == NOW


def test_an_answer_the_referral_already_reached_is_a_repeat_not_a_refusal() -> None:
    assert already_done(ReferralAction.ACCEPT, ReferralStatus.ACCEPTED)
    assert already_done(ReferralAction.ACKNOWLEDGE, ReferralStatus.FIRST_CONTACT)
    assert already_done(ReferralAction.DECLINE, ReferralStatus.DECLINED)
    assert not already_done(ReferralAction.ACCEPT, ReferralStatus.DECLINED)
    assert not already_done(ReferralAction.REROUTE, ReferralStatus.REROUTED)
