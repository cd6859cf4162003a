"""What people read about a running case: its open items and the UI's current details, in German.

Pure functions of the case's state (no Temporal calls), tested without a server. Times are
Europe/Berlin. Only the pseudonymous reference names the person: Temporal stores these texts
unencrypted.
"""

from __future__ import annotations

from datetime import datetime

from contracts.case_messages import CaseStatus
from contracts.people import INVOLVEMENT_LABELS_DE, NeedStatus, ReferralStatus
from contracts.vocabulary import NEED_CATEGORY_LABELS_DE, REGION_LABELS_DE, Region, ui_time

NEED_STATUS_LABELS_DE: dict[NeedStatus, str] = {
    NeedStatus.AWAITING_CONSENT: "wartet auf Einwilligung",
    NeedStatus.AWAITING_REFERRAL: "wartet auf Vermittlung",
    NeedStatus.REFERRED: "vermittelt",
    NeedStatus.ESCALATED: "eskaliert an die Opferbeauftragte",
    NeedStatus.IN_CARE: "in Betreuung",
    NeedStatus.MET: "erledigt",
}
REFERRAL_STATUS_LABELS_DE: dict[ReferralStatus, str] = {
    ReferralStatus.PROPOSED: "wird zugestellt",
    ReferralStatus.SENT: "zugestellt, Bestätigung ausstehend",
    ReferralStatus.ACKNOWLEDGED: "bestätigt, Annahme ausstehend",
    ReferralStatus.ACCEPTED: "angenommen, Erstkontakt ausstehend",
    ReferralStatus.DECLINED: "abgelehnt",
    ReferralStatus.FIRST_CONTACT: "Erstkontakt erfolgt",
    ReferralStatus.CLOSED: "abgeschlossen",
    ReferralStatus.REROUTED: "Frist verstrichen, weitergeleitet",
    ReferralStatus.WITHDRAWN: "Einwilligung widerrufen",
}


def summary(person_ref: str, involvement: str, region: Region) -> str:
    """`DD-0042 · injured · dresden`: the static summary, pseudonymous."""
    return f"{person_ref} · {involvement} · {region}"


def at(moment: datetime | None) -> str:
    """A time as the UI shows it, or `—`."""
    return ui_time(moment) if moment is not None else "—"


def current_details(status: CaseStatus) -> str:
    """The markdown the UI shows under *Current Details*."""
    exercise = "ÜBUNG – keine echte Lage · " if status.exercise else ""
    lines = [
        f"**{exercise}{status.person_ref}** — {INVOLVEMENT_LABELS_DE[status.involvement]}, "
        f"{REGION_LABELS_DE[status.region]}",
        "",
    ]
    if status.closed_reason is not None:
        lines.append(f"Fall abgeschlossen ({status.closed_reason}).")
        return "\n".join(lines)
    for need in status.needs:
        lines.append(
            f"- {NEED_CATEGORY_LABELS_DE[need.category]}: {NEED_STATUS_LABELS_DE[need.status]}"
            f" (zuständig {need.owner}, fällig {at(need.due_at)})"
        )
    if status.open_items:
        lines += ["", "**Offen:**", *(f"- {item}" for item in status.open_items)]
    return "\n".join(lines)


def damage_item(record_damage: str) -> str:
    """The open item of a record that cannot be read, for an incident and a case alike:
    nothing more is recorded until it is repaired, so updates are refused; the store's words
    name the stream and the version."""
    return (
        "Aufzeichnung beschädigt – Lotse kann nichts mehr dazu aufzeichnen, Updates werden "
        f"abgelehnt; prüfen mit `lotse audit verify`: {record_damage}"
    )
