"""The reflection report in one of three formats, from the same sections:

- `md`: Markdown for the minutes of the reflection (tables, no charts);
- `html`: one self-contained file (no link, script or font fetched) with the charts as inline
  SVG, for a browser or an e-mail attachment;
- `json`: the figures themselves under stable English keys (`SCHEMA` names their version), the
  same in either language, for machines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html import escape

from contracts.vocabulary import PHASE_LABELS_DE, Phase
from domain.reflection import ReflectionFigures
from reports import charts
from reports.labels import WORDS, Language, ReportFormat, moment, number, percent

SCHEMA = "lotse.reflection-report/1"


@dataclass(frozen=True)
class Table:
    heading: str
    columns: list[str]
    rows: list[list[str]]
    numeric: frozenset[int] = frozenset()
    """The columns that hold numbers (right-aligned in HTML)."""


def render(figures: ReflectionFigures, fmt: ReportFormat, language: Language) -> str:
    """The report as text in `fmt`; `language` does not change the JSON."""
    if fmt is ReportFormat.JSON:
        document = {"schema": SCHEMA, "figures": figures.model_dump(mode="json")}
        return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if fmt is ReportFormat.MD:
        return markdown(figures, language)
    return html(figures, language)


# --- the sections, in words ------------------------------------------------------------------


def heading_lines(figures: ReflectionFigures, language: Language) -> list[tuple[str, str]]:
    w = WORDS[language]
    revision = figures.agreement_revision
    agreement = figures.agreement_id + (f" ({w['revision']} {revision})" if revision else "")
    return [
        (w["incident"], f"{figures.title} ({figures.incident_id})"),
        (w["declared"], moment(figures.declared_at, language)),
        (w["as_of"], moment(figures.as_of, language)),
        (w["phase"], _phase(figures.phase, language)),
        (w["agreement"], agreement),
    ]


def _phase(phase: str, language: Language) -> str:
    if language is Language.DE and phase in PHASE_LABELS_DE:
        return f"{PHASE_LABELS_DE[Phase(phase)]} ({phase})"
    return phase


def partner_table(figures: ReflectionFigures, language: Language) -> Table:
    w = WORDS[language]
    rows = []
    for p in figures.partners:
        acknowledged = p.minutes_to_acknowledge is not None
        rows.append(
            [
                p.partner_id,
                str(p.deadline_minutes) if p.deadline_minutes is not None else w["none"],
                number(p.minutes_to_acknowledge, language)
                if acknowledged
                else w["not_acknowledged"],
                (w["yes"] if p.late else w["no"]) if acknowledged else w["none"],
                str(p.escalations),
                str(p.messages_delivered),
                str(p.delivery_failures),
            ]
        )
    columns = [
        w["partner"],
        w["deadline"],
        w["to_ack"],
        w["late"],
        w["escalations"],
        w["delivered"],
        w["failed"],
    ]
    return Table(w["alerts"], columns, rows, frozenset({1, 2, 4, 5, 6}))


def figure_tables(figures: ReflectionFigures, language: Language) -> list[Table]:
    """People, referrals, needs and the record's housekeeping, each as label/value rows."""
    w = WORDS[language]
    hours = f" {w['hours']}"
    days = f" {w['days']}"
    r = figures.referrals
    sections = [
        (
            w["people"],
            [
                (w["registered"], str(figures.people_registered)),
                (w["erased"], str(figures.people_erased)),
                (w["contacted"], str(figures.people_contacted)),
                (w["share_contacted"], percent(figures.share_contacted, language)),
                (
                    w["median_first_contact"],
                    _with(figures.median_hours_to_first_contact, hours, language),
                ),
                (
                    w["max_first_contact"],
                    _with(figures.max_hours_to_first_contact, hours, language),
                ),
            ],
        ),
        (
            w["referrals"],
            [
                (w["sent"], str(r.sent)),
                (w["in_time"], str(r.in_time)),
                (w["answered_late"], str(r.late)),
                (w["unanswered_overdue"], str(r.unanswered_overdue)),
                (w["awaiting"], str(r.awaiting)),
                (w["share_in_time"], percent(r.share_in_time, language)),
            ],
        ),
        (
            w["needs"],
            [
                (w["open_needs"], str(figures.open_needs)),
                (w["median_age"], _with(figures.median_open_need_age_days, days, language)),
                (w["oldest"], _with(figures.oldest_open_need_age_days, days, language)),
                *((w[f"age_{i}"], str(n)) for i, n in enumerate(figures.open_need_ages)),
            ],
        ),
        (
            w["record"],
            [
                (w["duplicates_linked"], str(figures.duplicates_linked)),
                (w["pairs_confirmed"], str(figures.duplicate_pairs_confirmed)),
                (w["pairs_rejected"], str(figures.duplicate_pairs_rejected)),
                (w["pairs_pending"], str(figures.duplicate_pairs_pending)),
                (w["consent_withdrawals"], str(figures.consent_withdrawals)),
                (w["follow_ups_overdue"], str(figures.follow_ups_overdue)),
            ],
        ),
    ]
    return [
        Table(title, ["", ""], [[a, b] for a, b in pairs], frozenset({1}))
        for title, pairs in sections
    ]


def timeline_table(figures: ReflectionFigures, language: Language) -> Table:
    w = WORDS[language]
    rows = [
        [str(n), moment(m.at, language), w.get(m.event, m.event), m.partner_id or ""]
        for n, m in enumerate(figures.timeline, start=1)
    ]
    return Table(w["timeline"], ["#", w["when"], w["event"], w["partner"]], rows)


def refusal_table(figures: ReflectionFigures, language: Language) -> Table:
    """Actions refused on substance: one row per kind and partner, with the count."""
    w = WORDS[language]
    rows = [[w.get(r.kind, r.kind), r.partner_id, str(r.count)] for r in figures.refusals]
    return Table(w["refusals"], [w["refusal_kind"], w["partner"], w["count"]], rows, frozenset({2}))


def audit_read_table(figures: ReflectionFigures, language: Language) -> Table:
    """Every audit read of the incident: when, who (partner/staff), what."""
    w = WORDS[language]
    rows = [
        [str(n), moment(r.at, language), f"{r.partner_id}/{r.staff_ref}", r.what]
        for n, r in enumerate(figures.audit_reads, start=1)
    ]
    return Table(
        f"{w['audit_reads']}: {len(rows)}", ["#", w["when"], w["reader"], w["read_what"]], rows
    )


def _with(value: float | None, unit: str, language: Language) -> str:
    text = number(value, language)
    return text if value is None else text + unit


# --- Markdown --------------------------------------------------------------------------------


def markdown(figures: ReflectionFigures, language: Language) -> str:
    w = WORDS[language]
    lines = [f"# {w['title']}: {figures.title}", ""]
    if figures.exercise:
        lines += [f"**{w['exercise']}**", ""]
    lines += [f"- {label}: {value}" for label, value in heading_lines(figures, language)]
    tables = [
        partner_table(figures, language),
        *figure_tables(figures, language),
        timeline_table(figures, language),
        refusal_table(figures, language),
        audit_read_table(figures, language),
    ]
    for table in tables:
        lines += ["", f"## {table.heading}", "", *_md_table(table)]
    for key, items in (("findings", figures.findings), ("measures", figures.measures)):
        lines += ["", f"## {w[key]}", ""]
        lines += [f"- {item}" for item in items] or [f"_{w['none_recorded']}_"]
    lines += ["", f"_{w['definitions']}_", ""]
    return "\n".join(lines)


def _md_table(table: Table) -> list[str]:
    def row(cells: list[str]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    return [row(table.columns), row(["---"] * len(table.columns)), *map(row, table.rows)]


# --- HTML ------------------------------------------------------------------------------------

STYLE = """
body { font-family: sans-serif; color: #000; background: #fff; max-width: 760px; margin: 2em auto;
  padding: 0 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border-bottom: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.n { text-align: right; }
.exercise { border: 3px solid #000; padding: 0.5em; font-weight: bold; font-size: 1.3em; }
figure { margin: 1em 0; } figcaption { font-style: italic; }
"""


def html(figures: ReflectionFigures, language: Language) -> str:
    w = WORDS[language]
    parts = [
        f'<!DOCTYPE html><html lang="{language.value}"><head><meta charset="utf-8">',
        f"<title>{escape(w['title'])}: {escape(figures.title)}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(w['title'])}: {escape(figures.title)}</h1>",
    ]
    if figures.exercise:
        parts.append(f'<p class="exercise">{escape(w["exercise"])}</p>')
    parts.append(
        _html_table(Table("", ["", ""], [list(p) for p in heading_lines(figures, language)]))
    )
    parts.append(_figure(charts.timeline_chart(figures, language), w["timeline_chart"]))
    parts.append(_html_section(partner_table(figures, language)))
    parts.append(_figure(charts.acknowledgement_chart(figures, language), w["ack_chart"]))
    tables = figure_tables(figures, language)
    for table in tables:
        parts.append(_html_section(table))
        if table.heading == w["needs"]:
            parts.append(_figure(charts.need_age_chart(figures, language), w["age_chart"]))
    parts.append(_html_section(timeline_table(figures, language)))
    parts.append(_html_section(refusal_table(figures, language)))
    parts.append(_html_section(audit_read_table(figures, language)))
    for key, items in (("findings", figures.findings), ("measures", figures.measures)):
        parts.append(f"<h2>{escape(w[key])}</h2>")
        if items:
            parts.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")
        else:
            parts.append(f"<p><em>{escape(w['none_recorded'])}</em></p>")
    parts.append(f"<p><small>{escape(w['definitions'])}</small></p></body></html>\n")
    return "\n".join(parts)


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{escape(caption)}</figcaption></figure>"


def _html_section(table: Table) -> str:
    return f"<h2>{escape(table.heading)}</h2>{_html_table(table)}"


def _html_table(table: Table) -> str:
    head = ""
    if any(table.columns):
        head = "<tr>" + "".join(f"<th>{escape(c)}</th>" for c in table.columns) + "</tr>"
    body = "".join(
        "<tr>" + "".join(_cell(c, i in table.numeric) for i, c in enumerate(row)) + "</tr>"
        for row in table.rows
    )
    return f"<table>{head}{body}</table>"


def _cell(text: str, numeric: bool) -> str:
    return f'<td class="n">{escape(text)}</td>' if numeric else f"<td>{escape(text)}</td>"
