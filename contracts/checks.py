"""Checks of a declaration that need more than its own fields: the incident id and the clock.

Used by the workflow (with `workflow.now()`) and by the CLI (with the wall clock), so that both
refuse the same declarations with the same words.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

INCIDENT_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{2,127}")
INCIDENT_ID_RULE = (
    "an incident id (the workflow id) has 3 to 128 characters: letters a-z or A-Z without "
    "umlauts, digits, '.', '_' or '-', and starts with a letter or digit "
    "(e.g. 2026-12-05-dresden-altmarkt)"
)
FUTURE_TOLERANCE = timedelta(hours=1)


def incident_id_problem(incident_id: str) -> str | None:
    """Why `incident_id` cannot name an incident, or None."""
    if INCIDENT_ID_PATTERN.fullmatch(incident_id):
        return None
    shown = incident_id if len(incident_id) <= 40 else f"{incident_id[:37]}…"
    return f"'{shown}' ({len(incident_id)} characters) is not usable: {INCIDENT_ID_RULE}"


def occurred_at_problem(occurred_at: datetime, now: datetime) -> str | None:
    """Why `occurred_at` cannot be when the incident happened, or None.

    A clock that is a little off is tolerated; an hour ahead is a typing error (a wrong day,
    month or offset), not an attack that has not happened yet."""
    if occurred_at - now > FUTURE_TOLERANCE:
        return (
            f"occurred_at: {occurred_at.isoformat()} lies more than an hour in the future "
            f"(now {now.isoformat(timespec='seconds')}); check the date and the UTC offset"
        )
    return None
