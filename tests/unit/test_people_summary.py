"""One person's case summed up for the people view, and many summaries counted: without a store
(the view on both stores: tests/integration/test_people_view.py)."""

from __future__ import annotations

import json

from contracts.case_rules import ReferralAction
from contracts.people import CaseCloseReason, Involvement, NeedStatus, ReferralStatus
from contracts.vocabulary import NeedCategory
from domain.people_summary import PersonRow, count, next_due, summary_of
from domain.people_view import decode, encode
from domain.person import AffectedPerson
from tests.people_support import (
    DAY,
    ERIKA,
    EXPLANATION,
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


def person(ref: str = "DD-0042") -> AffectedPerson:
    return AffectedPerson(
        incident_key="dresden-2026-11-14", registration=registration(ref), ctx=ctx()
    )


def referred(ref: str = "DD-0042") -> AffectedPerson:
    """Consent, a psychosocial need due on day 1, its referral sent and due on day 2."""
    p = person(ref)
    p.give_consent(consent(), ctx())
    p.assess_needs(psychosocial(), T0 + DAY, ctx())
    p.propose_referral("r1", PSY, TARGET, EXPLANATION, ctx())
    p.advance_referral("r1", ReferralAction.SEND, ctx(), due_at=T0 + 2 * DAY)
    return p


def test_a_summary_keeps_where_each_need_and_referral_stands_and_what_is_due() -> None:
    summary = summary_of(referred())
    assert summary == {
        "involvement": "injured",
        "closed": None,
        "erased": False,
        "needs": {"psychosocial": "referred"},
        "referrals": ["sent"],
        "due": [
            {
                "category": "psychosocial",
                "status": "sent",
                "owner": PROVIDER,
                "due_at": "2026-11-16T21:00:00Z",
                "referral_id": "r1",
            }
        ],
    }
    assert next_due(summary) == T0 + 2 * DAY
    assert decode("DD-0042", encode(summary)).summary == summary


def test_a_need_without_a_live_referral_is_due_with_its_owner() -> None:
    p = person()
    p.assess_needs(psychosocial(), T0 + DAY, ctx())
    (item,) = summary_of(p)["due"]
    assert (item["status"], item["owner"], item["referral_id"]) == (
        "awaiting-consent",
        REGISTERING_PARTNER,
        None,
    )


def test_a_closed_or_erased_case_has_nothing_due_and_no_contact_in_its_summary() -> None:
    closed = referred()
    closed.close_case(CaseCloseReason.HELP_DECLINED, ctx())
    erased = referred("DD-0043")
    erased.record_contact("sealed-text-of-erika", ctx())
    erased.erase(ctx())
    for p in (closed, erased):
        summary = summary_of(p)
        assert summary["due"] == []
        assert next_due(summary) is None
        assert summary["referrals"] == ["withdrawn"]
    assert summary_of(erased)["closed"] == "erased"
    assert summary_of(erased)["erased"] is True
    text = json.dumps(summary_of(erased))
    assert "sealed" not in text
    assert ERIKA.name not in text
    assert "lagedienst" not in text


def test_counts_add_up_the_summaries_and_list_what_is_overdue_oldest_first() -> None:
    waiting = person("DD-0001")
    waiting.assess_needs(psychosocial(), T0 + 3 * DAY, ctx())
    rows = [
        PersonRow("DD-0042", summary_of(referred())),
        PersonRow("DD-0001", summary_of(waiting)),
        PersonRow("DD-0002", summary_of(person("DD-0002"))),
    ]
    counted = count("dresden-2026-11-14", rows, T0 + 4 * DAY)
    assert (counted.total, counted.closed, counted.erased) == (3, 0, 0)
    assert counted.by_involvement == {Involvement.INJURED: 3}
    assert counted.needs == {PSY: {NeedStatus.AWAITING_CONSENT: 1, NeedStatus.REFERRED: 1}}
    assert counted.referrals == {ReferralStatus.SENT: 1}
    assert [(i.person_ref, i.due_at) for i in counted.overdue_items] == [
        ("DD-0042", T0 + 2 * DAY),
        ("DD-0001", T0 + 3 * DAY),
    ]
    assert counted.overdue == 2
    assert counted.oldest_overdue_at == T0 + 2 * DAY
    assert count("dresden-2026-11-14", rows, T0 + 2 * DAY).overdue == 0  # due is not late yet
    assert counted.counts().model_dump() == counted.model_dump(
        exclude={"incident_id", "as_of", "overdue_items"}
    )
