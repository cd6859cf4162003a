"""What people read about a running incident: open items and the UI's current details, in German.

Pure functions of the workflow's state (no Temporal calls), so they are tested without a server.
Times are Europe/Berlin. Nothing here names a person: partners are organisations, staff
references never appear (Temporal stores the details unencrypted).
"""

from __future__ import annotations

from datetime import datetime

from contracts.messages import DeliveryTrouble, IncidentStatus, NeedTotal, PartnerAlertStatus
from contracts.people import INVOLVEMENT_LABELS_DE, NeedStatus
from contracts.people_counts import PeopleCounts
from contracts.vocabulary import (
    COMMISSIONER_PARTNER_ID,
    FINAL_PHASES,
    INCIDENT_KIND_LABELS_DE,
    NEED_CATEGORY_LABELS_DE,
    NEEDS_OPEN_PHASES,
    PHASE_LABELS_DE,
    REFLECTION_PHASES,
    REGION_LABELS_DE,
    AlertState,
    ContactChannel,
    EscalationStep,
    IncidentKind,
    Phase,
    Region,
    ui_time,
)
from workflows.case_details import REFERRAL_STATUS_LABELS_DE, damage_item

CHANNEL_LABELS_DE = {ContactChannel.EMAIL: "E-Mail", ContactChannel.WEBHOOK: "Webhook"}


EXERCISE_DE = "ÜBUNG"
"""How every view marks an exercise (German, as the UI's texts; messages add `EXERCISE`)."""


def summary(kind: IncidentKind, region: Region, exercise: bool = False) -> str:
    """`terrorist · dresden`, `ÜBUNG · terrorist · dresden` for an exercise: the static summary,
    no free text (Temporal stores it as is)."""
    return f"{EXERCISE_DE} · {kind} · {region}" if exercise else f"{kind} · {region}"


def step_label(step: EscalationStep, partner_id: str) -> str:
    """Who a step reaches, in words."""
    if step is EscalationStep.PRIMARY:
        return "Hauptkontakt"
    if step is EscalationStep.DEPUTY:
        return "Vertretung"
    if partner_id == COMMISSIONER_PARTNER_ID:
        return "letzte Stufe (Lagezentrum)"
    return "letzte Stufe (Opferbeauftragte)"


def _at(moment: datetime | None) -> str:
    return ui_time(moment) if moment is not None else "—"


def trouble_words(partner: PartnerAlertStatus, trouble: DeliveryTrouble) -> str:
    """`Zustellung gestört: E-Mail an Vertretung seit 28.11.2026 17:10`."""
    channel = CHANNEL_LABELS_DE.get(trouble.channel, "Kanal") if trouble.channel else "Kanal"
    target = step_label(trouble.step, partner.partner_id)
    return f"Zustellung gestört: {channel} an {target} seit {_at(trouble.since)}"


def partner_state_words(partner: PartnerAlertStatus) -> str:
    """Where one partner's alert stands, in one line."""
    if partner.state is AlertState.ACKNOWLEDGED:
        words = f"bestätigt {_at(partner.acknowledged_at)}"
        if partner.entered_at and partner.entered_at != partner.acknowledged_at:
            words += f" (erfasst {_at(partner.entered_at)})"
        return words + (" – verspätet" if partner.late else " – fristgerecht")
    if partner.state is AlertState.UNREACHABLE:
        return "nicht erreichbar – auf keiner Eskalationsstufe eine Antwort"
    if partner.state is AlertState.UNDELIVERABLE:
        return "keine Nachricht zugestellt – alle Kanäle gestört, Lotse versucht es weiter"
    deadline = f" (Frist {_at(partner.deadline_at)})" if partner.deadline_at else ""
    if partner.state is AlertState.ESCALATED:
        return f"eskaliert an {step_label(partner.step, partner.partner_id)}{deadline}"
    return f"wartet auf Bestätigung{deadline}"


def open_items(
    phase: Phase,
    partners: list[PartnerAlertStatus],
    needs: list[NeedTotal],
    reflection_due_at: datetime | None,
    record_damage: str | None = None,
) -> list[str]:
    """What still needs someone's attention, most urgent first: a damaged record before all."""
    ended = phase in FINAL_PHASES
    items: list[str] = [damage_item(record_damage)] if record_damage else []
    for partner in partners:
        if partner.state is AlertState.ACKNOWLEDGED or ended:
            continue
        items += [f"{partner.name}: {trouble_words(partner, t)}" for t in partner.delivery_trouble]
        if partner.state in (AlertState.UNREACHABLE, AlertState.UNDELIVERABLE):
            items.append(f"{partner.name}: {partner_state_words(partner)}")
        else:
            items.append(
                f"{partner.name}: Alarmierung nicht bestätigt, "
                f"{step_label(partner.step, partner.partner_id)}"
                + (f" (Frist {_at(partner.deadline_at)})" if partner.deadline_at else "")
            )
    if phase in NEEDS_OPEN_PHASES:
        items += [
            f"Bedarf „{NEED_CATEGORY_LABELS_DE[need.category]}“ ({need.category}, "
            f"{need.count} Personen) ist keinem Partner zugewiesen"
            for need in needs
            if need.assigned_to is None and need.count
        ]
    if phase is Phase.COORDINATING:
        items.append("Akutphase beenden, sobald sie vorüber ist (Update close_acute_phase)")
    if phase in REFLECTION_PHASES and reflection_due_at is not None:
        items.append(f"Reflexion fällig {_at(reflection_due_at)} (Update record_reflection)")
    return items


def current_details(status: IncidentStatus) -> str:
    """The UI's *Current Details* (markdown): the incident, every partner, the open items."""
    exercise = f"{EXERCISE_DE} – keine echte Lage · " if status.exercise else ""
    lines = [
        f"**Lage:** {exercise}{INCIDENT_KIND_LABELS_DE[status.kind]} · "
        f"{REGION_LABELS_DE[status.region]}",
        f"**Phase:** {status.phase} — {PHASE_LABELS_DE[status.phase]}",
        "",
        "**Partner** (Zeiten Europe/Berlin):",
    ]
    for partner in status.partners:
        lines.append(f"- {partner.name}: {partner_state_words(partner)}")
        if partner.state is not AlertState.ACKNOWLEDGED:
            lines += [f"  - {trouble_words(partner, t)}" for t in partner.delivery_trouble]
    lines.append("")
    if status.people is not None:
        lines += [*people_lines(status.people), ""]
    if status.open_items:
        lines += ["**Offene Punkte:**", *[f"- {item}" for item in status.open_items]]
    else:
        lines.append("Keine offenen Punkte.")
    return "\n".join(lines)


def people_lines(people: PeopleCounts) -> list[str]:
    """The incident's people in numbers, as the record had them at the last read."""
    lines = [
        "**Betroffene** (aus dem Register, regelmäßig gelesen):",
        f"- registriert: {people.total} (Fall abgeschlossen: {people.closed}, "
        f"Daten gelöscht: {people.erased})",
    ]
    if people.overdue:
        oldest = f", älteste Frist {_at(people.oldest_overdue_at)}"
        lines.append(f"- überfällig: {people.overdue}{oldest} (lotse cases overdue)")
    else:
        lines.append("- überfällig: nichts")
    if people.by_involvement:
        lines.append(
            "- Betroffenheit: "
            + " · ".join(
                f"{INVOLVEMENT_LABELS_DE[kind]} {n}" for kind, n in people.by_involvement.items()
            )
        )
    if people.needs:
        lines.append(
            "- Bedarfe (offen/alle): "
            + " · ".join(
                f"{NEED_CATEGORY_LABELS_DE[category]} "
                f"{sum(n for s, n in by_status.items() if s != NeedStatus.MET)}"
                f"/{sum(by_status.values())}"
                for category, by_status in people.needs.items()
            )
        )
    if people.referrals:
        lines.append(
            "- Vermittlungen: "
            + " · ".join(f"{REFERRAL_STATUS_LABELS_DE[s]} {n}" for s, n in people.referrals.items())
        )
    return lines
