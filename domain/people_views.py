"""What the record shows of one person: the history with contact data opened or marked
erased, the export of Art. 15 GDPR, and what is overdue. Pure functions of the aggregate and
of what the application opened; nothing here reads a key or keeps contact data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic_core import to_jsonable_python

from contracts.case_rules import OverdueItem, referral_live
from contracts.people import ContactData, NeedStatus
from domain.history import HistoryEntry
from domain.person import AffectedPerson

ERASED = "erased"
"""What the record shows in place of contact data whose key was destroyed."""
UNREADABLE = "unreadable"
"""What it shows for a sealed text that the person's key does not open (damaged)."""

ContactView = dict[str, Any] | str | None


def contact_view(contact: ContactData | str | None) -> ContactView:
    """The contact as JSON, or the text `erased` / `unreadable`, or None if none recorded."""
    if isinstance(contact, ContactData):
        return contact.model_dump(mode="json")
    return contact


def export(
    person: AffectedPerson, contact: ContactView, history: list[HistoryEntry]
) -> dict[str, Any]:
    """Everything the record holds about the person, JSON-serialisable."""
    return {
        "incident_key": person.incident_key,
        "person_ref": person.person_ref,
        "registration": person.registration.model_dump(mode="json"),
        "registered_by": person.registered_by,
        "registered_at": person.registered_at.isoformat(),
        "contact": contact,
        "consents": [
            {"consent_id": consent_id, **consent.model_dump(mode="json")}
            for consent_id, consent in person.given.items()
        ],
        "needs": to_jsonable_python(list(person.needs.values())),
        "referrals": [
            to_jsonable_python(referral)
            | {"history": [{"status": s, "at": at.isoformat()} for s, at in referral.history]}
            for referral in person.referrals.values()
        ],
        "follow_ups": to_jsonable_python(list(person.follow_ups.values())),
        "closed_reason": person.closed_reason,
        "erased": person.erased,
        "history": [entry.model_dump(mode="json") for entry in history],
    }


def overdue_items(person: AffectedPerson, now: datetime) -> list[OverdueItem]:
    """Open needs without a live referral and live referrals, due before `now`. A need with
    a live referral is due when its referral is, so it is listed once, as the referral."""
    if person.closed_reason is not None or person.erased:
        return []
    items: list[OverdueItem] = []
    for need in person.needs.values():
        referral = person.referrals.get(need.referral_id or "")
        if referral is not None and referral_live(referral.status):
            continue
        if need.status is not NeedStatus.MET and need.due_at and need.owner and need.due_at < now:
            items.append(
                OverdueItem(
                    person_ref=person.person_ref,
                    category=need.category,
                    status=need.status,
                    owner=need.owner,
                    due_at=need.due_at,
                )
            )
    for referral in person.referrals.values():
        due, owner = referral.due_at, referral.owner
        if referral_live(referral.status) and due and owner and due < now:
            items.append(
                OverdueItem(
                    person_ref=person.person_ref,
                    category=referral.category,
                    status=referral.status,
                    owner=owner,
                    due_at=due,
                    referral_id=referral.referral_id,
                )
            )
    return items
