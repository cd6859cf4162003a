"""Views of what the commands read: an incident's status, the list of incidents.

Nothing here cuts an id, an actor, a staff reference or an event name: on a terminal wide
enough a table shows them whole (long free text folds instead); on a narrower one, and
whenever stdout is not a terminal (a file, a pipe), every row is one line of `heading: value`
pairs that `grep` can use.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from cli.common import duration
from contracts.messages import IncidentStatus, NeedTotal, PartnerAlertStatus
from contracts.people import NeedStatus
from contracts.people_counts import PeopleCounts
from contracts.vocabulary import (
    NEED_CATEGORY_LABELS_DE,
    PHASE_LABELS_DE,
    REFLECTION_PHASES,
    REGION_LABELS_DE,
    Phase,
    cli_time,
)
from domain.application import DamagedIncident
from domain.incident import Incident

EXERCISE_MARK = " (ÜBUNG / exercise: not a real incident, left out of KPIs)"
"""Beside the id of an exercise incident or case, wherever a command shows it."""


def phase_words(phase: Phase | str) -> str:
    """`coordinating (Bedarfsabstimmung)`."""
    return f"{phase} ({PHASE_LABELS_DE[Phase(phase)]})"


FOLDED_MIN_WIDTH = 12


def fits(table: Table, width: int) -> bool:
    """Whether `table` fits `width` with every no-wrap column at its full width (rich would
    otherwise cut them with `…`) and every other column at least `FOLDED_MIN_WIDTH` wide."""
    needed = 1  # the left border
    for column in table.columns:
        widest = max((cell_len(str(c)) for c in [column.header, *column.cells]), default=0)
        needed += (widest if column.no_wrap else min(widest, FOLDED_MIN_WIDTH)) + 3  # pad, border
    return needed <= width


def print_table(out: Console, table: Table) -> None:
    """`table` on a terminal wide enough to show its no-wrap cells uncut; else as lines."""
    if out.is_terminal and fits(table, out.width):
        out.print(table)
        return
    if table.title:
        out.print(str(table.title), soft_wrap=True)
    headings = [str(column.header) for column in table.columns]
    cells = [[str(cell) for cell in column.cells] for column in table.columns]
    for row in zip(*cells, strict=True):
        pairs = [
            f"{heading}: {value}" for heading, value in zip(headings, row, strict=True) if value
        ]
        out.print("  ·  ".join(pairs), soft_wrap=True)


def print_text(out: Console, text: str) -> None:
    """A line of text: wrapped between words on a terminal, never cut; one line elsewhere."""
    out.print(text, soft_wrap=not out.is_terminal)


def whole(table: Table, *headings: str) -> Table:
    """Add columns whose values are never wrapped or cut (ids, names of events)."""
    for heading in headings:
        table.add_column(heading, no_wrap=True)
    return table


def folded(table: Table, *headings: str) -> Table:
    """Add columns of free text that may wrap between words (and fold a too long word)."""
    for heading in headings:
        table.add_column(heading, overflow="fold")
    return table


def print_status(out: Console, status: IncidentStatus) -> None:
    """Heading, partners' alerts, needs by category, open items."""
    mark = EXERCISE_MARK if status.exercise else ""
    print_text(out, f"incident {status.incident_id}{mark}: {status.title}")
    print_text(
        out,
        f"phase {phase_words(status.phase)} · kind {status.kind} · "
        f"region {REGION_LABELS_DE[status.region]} · "
        f"agreement version {status.agreement_revision or '—'}",
    )
    print_table(out, alerts_table(status.partners))
    if status.needs:
        print_table(out, needs_table(status.needs))
    if status.reflection_due_at is not None and status.phase in REFLECTION_PHASES:
        print_text(out, f"reflection due {cli_time(status.reflection_due_at)} (Europe/Berlin)")
    for line in open_items_text(status.open_items).splitlines():
        print_text(out, line)


def print_people(
    out: Console, people: PeopleCounts | None, source: str, problem: str | None, hint: str
) -> None:
    """The incident's people in numbers: `source` says whence and when (the record now, or
    the incident's last read); `problem` why the record could not be read, if so."""
    if problem is not None:
        print_text(out, f"people: the record could not be read: {problem}")
    if people is None:
        return
    overdue = f"{people.overdue} overdue"
    if people.oldest_overdue_at is not None:
        overdue += f", oldest due {cli_time(people.oldest_overdue_at)} (list: {hint})"
    print_text(
        out,
        f"people ({source}): {people.total} registered · {people.closed} closed · "
        f"{people.erased} erased · {overdue}",
    )
    if people.by_involvement:
        words = ", ".join(f"{kind} {n}" for kind, n in people.by_involvement.items())
        print_text(out, f"  involvement: {words}")
    for category, by_status in people.needs.items():
        still_open = sum(n for status, n in by_status.items() if status != NeedStatus.MET)
        statuses = ", ".join(f"{status} {n}" for status, n in by_status.items())
        print_text(
            out,
            f"  need {category}: {still_open} open of {sum(by_status.values())} ({statuses})",
        )
    if people.referrals:
        words = ", ".join(f"{status} {n}" for status, n in people.referrals.items())
        print_text(out, f"  referrals: {words}")


def alerts_table(partners: Iterable[PartnerAlertStatus]) -> Table:
    """Where each partner's alert stands (times in Europe/Berlin)."""
    table = Table(title="alerts (Europe/Berlin)")
    whole(table, "partner", "state", "step", "alerted", "deadline", "acknowledged")
    whole(table, "time to ack")
    folded(table, "notes")
    for partner in partners:
        table.add_row(
            partner.partner_id,
            str(partner.state),
            str(partner.step),
            cli_time(partner.alerted_at),
            cli_time(partner.deadline_at),
            cli_time(partner.acknowledged_at),
            duration(partner.seconds_to_acknowledge),
            _partner_notes(partner),
        )
    return table


def _partner_notes(partner: PartnerAlertStatus) -> str:
    notes = ["late"] if partner.late else []
    if partner.entered_at and partner.entered_at != partner.acknowledged_at:
        notes.append(f"entered {cli_time(partner.entered_at)}")
    notes += [
        f"delivery failing: {t.channel or 'channel'} to {t.step} since {cli_time(t.since)}"
        for t in partner.delivery_trouble
    ]
    if partner.delivery_failures:
        notes.append(f"{partner.delivery_failures} failed delivery round(s)")
    return ", ".join(notes)


def needs_table(needs: Iterable[NeedTotal]) -> Table:
    """Reported needs per category, by region, and who has been assigned each."""
    table = Table(title="needs")
    folded(table, "category")
    whole(table, "people")
    folded(table, "by region")
    whole(table, "assigned to")
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


def incidents_table(incidents: Iterable[Incident | DamagedIncident]) -> Table:
    """One row per recorded incident, oldest first; a damaged one says where its record is
    damaged instead of what it cannot read."""
    table = Table()
    whole(table, "incident", "declared (Europe/Berlin)", "phase", "kind", "region", "exercise")
    folded(table, "title")
    for incident in incidents:
        if isinstance(incident, DamagedIncident):
            table.add_row(*damaged_row(incident))
            continue
        table.add_row(
            incident.incident_key,
            cli_time(incident.declared_at),
            str(incident.phase),
            str(incident.kind),
            str(incident.region),
            "ÜBUNG" if incident.exercise else "",
            incident.title,
        )
    return table


def damaged_row(listed: DamagedIncident) -> tuple[str, ...]:
    """The row of an incident whose record cannot be read: its id (or its stream's, when the
    declaration is what is damaged) and the version where the damage is."""
    damage = listed.damage
    return (
        listed.incident_key or f"stream {damage.originator_id}",
        "—",
        "record damaged",
        "—",
        "—",
        "—",  # whether it is an exercise is in the declaration, which may be what is damaged
        f"record damaged at version {damage.version}: {damage.problem} — see `lotse audit verify`",
    )
