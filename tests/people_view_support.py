"""Invented people of one incident in many different states, and what the record says of them
counted straight from the aggregates (`people_of`), to hold the people view against.

No real person: references only, no contact data.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from contracts.case_rules import OverdueItem, ReferralAction
from contracts.people import (
    AssessedNeed,
    CaseCloseReason,
    DeclineReason,
    Involvement,
    PersonRegistration,
    RegistrationSource,
    Urgency,
)
from contracts.vocabulary import NeedCategory
from domain.application import LotseApplication
from domain.people_views import overdue_items
from tests.people_support import DAY, EXPLANATION, HOUR, T0, TARGET, consent, ctx

PSY = NeedCategory.PSYCHOSOCIAL
INVOLVEMENTS = list(Involvement)
SHAPES = 11
"""How many different ways a person's case goes in `populate` (person number modulo this)."""


def populate(app: LotseApplication, incident: str, numbers: range, prefix: str = "DD") -> None:
    """Register `{prefix}-{n:04d}` for each n, each case taken a different way by n % SHAPES:
    needs due in the past or the future, referrals at every step, closed and erased cases."""
    for n in numbers:
        ref = f"{prefix}-{n:04d}"
        registration = PersonRegistration(
            person_ref=ref,
            involvement=INVOLVEMENTS[n % len(INVOLVEMENTS)],
            source=RegistrationSource.POLICE_LIST,
            region="dresden",
        )
        app.register_person(incident, registration, ctx())
        take_a_way(app, incident, ref, n % SHAPES, T0 + (n % 7) * HOUR)


def take_a_way(app: LotseApplication, incident: str, ref: str, shape: int, due: datetime) -> None:
    """One of SHAPES ways a case goes; `due` the first due date (past or future of T0 + DAY)."""
    if shape == 0:
        return  # registered only
    needs = [AssessedNeed(category=PSY, urgency=Urgency.SOON)]
    if shape % 2:
        needs.append(AssessedNeed(category=NeedCategory.FINANCIAL, urgency=Urgency.ROUTINE))
    if shape == 1:
        app.assess_needs(incident, ref, needs, due + 3 * DAY, ctx())  # due later
        return
    app.give_consent(incident, ref, consent(), ctx())
    app.assess_needs(incident, ref, needs, due, ctx())
    if shape == 2:
        return  # awaiting a referral, overdue
    app.propose_referral(incident, ref, "r1", PSY, TARGET, EXPLANATION, ctx())
    if shape == 3:
        return
    steps = {
        4: [ReferralAction.SEND],
        5: [ReferralAction.SEND, ReferralAction.ACKNOWLEDGE],
        6: [ReferralAction.SEND, ReferralAction.ACKNOWLEDGE, ReferralAction.ACCEPT],
        7: [ReferralAction.SEND, ReferralAction.DECLINE],
        8: [
            ReferralAction.SEND,
            ReferralAction.ACKNOWLEDGE,
            ReferralAction.ACCEPT,
            ReferralAction.FIRST_CONTACT,
            ReferralAction.CLOSE,
        ],
        9: [ReferralAction.SEND],
        10: [ReferralAction.SEND, ReferralAction.REROUTE],
    }[shape]
    for number, action in enumerate(steps, start=1):
        app.advance_referral(
            incident,
            ref,
            "r1",
            action,
            ctx(),
            due_at=due + number * DAY,
            reason=DeclineReason.NO_CAPACITY if action is ReferralAction.DECLINE else None,
            why="Frist verstrichen" if action is ReferralAction.REROUTE else None,
        )
    if shape == 9:
        app.close_case(incident, ref, CaseCloseReason.HELP_DECLINED, ctx())
    if shape == 10 and ref.endswith("0"):
        app.erase_person(incident, ref, ctx())


def counted_from_record(app: LotseApplication, incident: str) -> dict[str, object]:
    """The counts computed from the aggregates themselves, without the view or its summary."""
    people = app.people_of(incident)
    needs: Counter[tuple[str, str]] = Counter(
        (str(need.category), str(need.status)) for p in people for need in p.needs.values()
    )
    return {
        "total": len(people),
        "closed": sum(p.closed_reason is not None for p in people),
        "erased": sum(p.erased for p in people),
        "by_involvement": dict(Counter(str(p.registration.involvement) for p in people)),
        "needs": {
            category: {status: n for (c, status), n in needs.items() if c == category}
            for category in {c for c, _ in needs}
        },
        "referrals": dict(Counter(str(r.status) for p in people for r in p.referrals.values())),
    }


def counted_by_view(app: LotseApplication, incident: str, now: datetime) -> dict[str, object]:
    """The same fields from `people_counts`, as plain strings and numbers."""
    counts = app.people_counts(incident, now).model_dump(mode="json")
    return {key: counts[key] for key in ("total", "closed", "erased", "by_involvement")} | {
        "needs": counts["needs"],
        "referrals": counts["referrals"],
    }


def overdue_from_record(app: LotseApplication, incident: str, now: datetime) -> list[OverdueItem]:
    """What `overdue` answered before the view: every person replayed, items sorted by due."""
    items = [item for p in app.people_of(incident) for item in overdue_items(p, now)]
    return sorted(items, key=lambda item: item.due_at)
