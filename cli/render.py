"""Rich views of what the commands read: an incident's status, the list of incidents."""

from __future__ import annotations

from collections.abc import Iterable

from rich.console import Group, RenderableType
from rich.table import Table

from cli.common import duration, local_time
from contracts.messages import IncidentStatus, NeedTotal, PartnerAlertStatus
from contracts.vocabulary import (
    NEED_CATEGORY_LABELS_DE,
    PHASE_LABELS_DE,
    REGION_LABELS_DE,
    Phase,
)
from domain.incident import Incident


def phase_words(phase: Phase | str) -> str:
    """`coordinating (Bedarfsabstimmung)`."""
    return f"{phase} ({PHASE_LABELS_DE[Phase(phase)]})"


def status_view(status: IncidentStatus) -> RenderableType:
    """Heading, partners' alerts, needs by category, open items."""
    parts: list[RenderableType] = [
        f"incident {status.incident_id}: {status.title}",
        f"phase {phase_words(status.phase)} · kind {status.kind} · "
        f"region {REGION_LABELS_DE[status.region]} · "
        f"agreement version {status.agreement_version or '—'}",
        partners_table(status.partners),
    ]
    if status.needs:
        parts.append(needs_table(status.needs))
    if status.reflection_due_at is not None:
        parts.append(f"reflection due {local_time(status.reflection_due_at)} (Europe/Berlin)")
    parts.append(open_items_text(status.open_items))
    return Group(*parts)


def partners_table(partners: Iterable[PartnerAlertStatus]) -> Table:
    """Where each partner's alert stands (times in Europe/Berlin)."""
    table = Table(
        "partner",
        "state",
        "step",
        "alerted",
        "deadline",
        "acknowledged",
        "time to ack",
        "notes",
        title="alerts (Europe/Berlin)",
    )
    for partner in partners:
        table.add_row(
            partner.partner_id,
            str(partner.state),
            str(partner.step),
            local_time(partner.alerted_at),
            local_time(partner.deadline_at),
            local_time(partner.acknowledged_at),
            duration(partner.seconds_to_acknowledge),
            _partner_notes(partner),
        )
    return table


def _partner_notes(partner: PartnerAlertStatus) -> str:
    notes = ["late"] if partner.late else []
    if partner.delivery_failures:
        notes.append(f"{partner.delivery_failures} delivery failure(s)")
    return ", ".join(notes)


def needs_table(needs: Iterable[NeedTotal]) -> Table:
    """Reported needs per category, by region, and who has been assigned each."""
    table = Table("category", "people", "by region", "assigned to", title="needs")
    for need in needs:
        regions = ", ".join(f"{region}: {count}" for region, count in need.by_region.items())
        table.add_row(
            f"{need.category} ({NEED_CATEGORY_LABELS_DE[need.category]})",
            str(need.count),
            regions,
            need.assigned_to or "— not assigned",
        )
    return table


def open_items_text(items: list[str]) -> str:
    """The open items as a bulleted list, or a line saying there are none."""
    if not items:
        return "no open items"
    return "\n".join(["open items:", *(f"  - {item}" for item in items)])


def incidents_table(incidents: Iterable[Incident]) -> Table:
    """One row per recorded incident, oldest first."""
    table = Table("incident", "declared (Europe/Berlin)", "phase", "kind", "region", "title")
    for incident in incidents:
        table.add_row(
            incident.incident_key,
            local_time(incident.declared_at),
            str(incident.phase),
            str(incident.kind),
            str(incident.region),
            incident.title,
        )
    return table
