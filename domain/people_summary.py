"""One person's case summed up for the incident's counts, and the counts of many such summaries.

A summary is what the projection (domain/people_view.py) keeps per person: involvement, whether
the case is closed or the data erased, each need's category and status, each referral's status,
and every open item with its owner and due date. Pseudonymous only: no contact data (the
aggregate holds it sealed anyway), no free text (explanations, reasons), no staff references.
Pure functions, tested without a store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from contracts.case_rules import OverdueItem
from contracts.people import Involvement, NeedStatus, ReferralStatus
from contracts.people_counts import IncidentPeople
from contracts.vocabulary import NeedCategory
from domain.people_views import overdue_items
from domain.person import AffectedPerson

NEVER = datetime.max.replace(tzinfo=UTC)
"""Later than any due date: what is open with a due date is "overdue" against it."""

Summary = dict[str, Any]
"""JSON of one person: `involvement`, `closed` (reason or None), `erased`, `needs` (category →
status), `referrals` (statuses), `due` (open items: category, status, owner, due_at,
referral_id)."""


def summary_of(person: AffectedPerson) -> Summary:
    """What the counts need of one person's case, JSON-serialisable."""
    return {
        "involvement": str(person.registration.involvement),
        "closed": str(person.closed_reason) if person.closed_reason is not None else None,
        "erased": person.erased,
        "needs": {str(need.category): str(need.status) for need in person.needs.values()},
        "referrals": [str(referral.status) for referral in person.referrals.values()],
        "due": [
            item.model_dump(mode="json", exclude={"person_ref"})
            for item in overdue_items(person, NEVER)
        ],
    }


def next_due(summary: Summary) -> datetime | None:
    """The earliest due date of the person's open items, if any (indexed in the view, so that
    the overdue read skips everybody who has nothing due)."""
    dues = [datetime.fromisoformat(item["due_at"]) for item in summary["due"]]
    return min(dues) if dues else None


@dataclass(frozen=True)
class PersonRow:
    """One row of the view: the person's reference and summary."""

    person_ref: str
    summary: Summary


def overdue_of(rows: Iterable[PersonRow], now: datetime) -> list[OverdueItem]:
    """The items due before `now`, oldest first; equal due dates in the order of registration
    (`rows` come in that order), as `people_of` lists people."""
    items = [
        OverdueItem(person_ref=row.person_ref, **item)
        for row in rows
        for item in row.summary["due"]
        if datetime.fromisoformat(item["due_at"]) < now
    ]
    return sorted(items, key=lambda item: item.due_at)


def count(incident_id: str, rows: Iterable[PersonRow], now: datetime) -> IncidentPeople:
    """The counts of the incident's people, in registration order of `rows`."""
    kept = list(rows)
    involvement: Counter[str] = Counter()
    needs: dict[str, Counter[str]] = {}
    referrals: Counter[str] = Counter()
    closed = erased = 0
    for row in kept:
        summary = row.summary
        involvement[summary["involvement"]] += 1
        closed += summary["closed"] is not None
        erased += bool(summary["erased"])
        for category, status in summary["needs"].items():
            needs.setdefault(category, Counter())[status] += 1
        referrals.update(summary["referrals"])
    overdue = overdue_of(kept, now)
    return IncidentPeople(
        incident_id=incident_id,
        as_of=now,
        total=len(kept),
        closed=closed,
        erased=erased,
        by_involvement={i: involvement[i] for i in Involvement if involvement[i]},
        needs={
            c: {s: needs[c][s] for s in NeedStatus if needs[c][s]}
            for c in NeedCategory
            if c in needs
        },
        referrals={s: referrals[s] for s in ReferralStatus if referrals[s]},
        overdue=len(overdue),
        oldest_overdue_at=overdue[0].due_at if overdue else None,
        overdue_items=overdue,
    )
