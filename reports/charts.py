"""The report's charts as inline SVG, drawn by hand: no plotting library, nothing fetched, the
HTML stays one self-contained file. Each function returns one `<svg>` element with a `<title>`.

Colours carry meaning and are the only colours on the page (the text is black): in time green,
late red, registered blue, reached orange, open needs grey-blue. The screenshot test looks for
them.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from html import escape

from contracts.vocabulary import BERLIN
from domain.reflection import ReflectionFigures
from reports.labels import WORDS, Language, day_text, number

IN_TIME = "#2e7d32"
LATE = "#c62828"
REGISTERED = "#1565c0"
REACHED = "#ef6c00"
NEED = "#546e7a"
WIDTH = 720
FONT = 'font-family="sans-serif" font-size="12"'


def _svg(height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" {FONT}><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(text)}</text>'


def acknowledgement_chart(figures: ReflectionFigures, language: Language) -> str:
    """One bar per partner: minutes to acknowledge (green in time, red late), the deadline as a
    black tick; a partner that never acknowledged gets no bar and says so."""
    words = WORDS[language]
    left, right, row = 170, 90, 30
    scale_max = max(
        [p.minutes_to_acknowledge or 0 for p in figures.partners]
        + [p.deadline_minutes or 0 for p in figures.partners]
        + [1]
    )
    span = WIDTH - left - right
    body = []
    for index, partner in enumerate(figures.partners):
        y = 10 + index * row
        body.append(_text(left - 8, y + 17, partner.partner_id, "end"))
        minutes = partner.minutes_to_acknowledge
        if minutes is None:
            body.append(_text(left + 4, y + 17, words["not_acknowledged"]))
        else:
            colour = LATE if partner.late else IN_TIME
            width = max(span * minutes / scale_max, 1)
            body.append(
                f'<rect x="{left}" y="{y + 4}" width="{width:.1f}" height="18" fill="{colour}"/>'
            )
            body.append(_text(left + width + 6, y + 17, number(minutes, language)))
        if partner.deadline_minutes is not None:
            x = left + span * partner.deadline_minutes / scale_max
            body.append(
                f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 26}" stroke="#000" '
                'stroke-width="3"/>'
            )
    height = 20 + len(figures.partners) * row
    return _svg(height, words["ack_chart"], body)


def need_age_chart(figures: ReflectionFigures, language: Language) -> str:
    """Open needs per age group, one column each."""
    words = WORDS[language]
    groups = figures.open_need_ages
    top, bottom, height = 20, 40, 200
    tallest = max([*groups, 1])
    column = (WIDTH - 40) / len(groups)
    body = []
    for index, count in enumerate(groups):
        x = 20 + index * column
        bar = (height - top - bottom) * count / tallest
        y = height - bottom - bar
        body.append(
            f'<rect x="{x + 10:.1f}" y="{y:.1f}" width="{column - 20:.1f}" '
            f'height="{bar:.1f}" fill="{NEED}"/>'
        )
        body.append(_text(x + column / 2, y - 4, str(count), "middle"))
        body.append(_text(x + column / 2, height - bottom + 16, words[f"age_{index}"], "middle"))
    return _svg(height, words["age_chart"], body)


def timeline_chart(figures: ReflectionFigures, language: Language) -> str:
    """Cumulative people registered (blue) and reached (orange) per day, from the declaration
    to the last milestone or day; each milestone a dashed line with its number, which the
    report's timeline table explains."""
    words = WORDS[language]
    days = _day_range(figures)
    left, right, top, bottom, height = 50, 20, 20, 40, 260
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    total = max(figures.people_registered, 1)

    def x_of(day: date) -> float:
        return left + plot_w * (day - days[0]).days / max(len(days) - 1, 1)

    def y_of(count: int) -> float:
        return top + plot_h - plot_h * count / total

    body = [
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#000"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#000"/>',
        _text(left - 6, top + 4, str(total), "end"),
        _text(left - 6, top + plot_h, "0", "end"),
        _text(left, height - bottom + 16, day_text(days[0], language)),
        _text(left + plot_w, height - bottom + 16, day_text(days[-1], language), "end"),
    ]
    for index, (day, numbers) in enumerate(_milestone_days(figures)):
        x = x_of(day)
        body.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#777" '
            'stroke-dasharray="3,3"/>'
        )
        label = str(numbers[0]) if len(numbers) == 1 else f"{numbers[0]}–{numbers[-1]}"
        at_right_edge = x > left + plot_w - 40
        y = top + 10 + 12 * (index % 2)
        body.append(_text(x - 3, y, label, "end") if at_right_edge else _text(x + 3, y, label))
    counts = {d.day: d for d in figures.days}
    for field, colour in (("registered", REGISTERED), ("first_contacts", REACHED)):
        running, points = 0, []
        for day in days:
            running += getattr(counts[day], field) if day in counts else 0
            points.append(f"{x_of(day):.1f},{y_of(running):.1f}")
        body.append(
            f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
            'stroke-width="3"/>'
        )
    legend_y = height - 6
    body.append(
        f'<rect x="{left}" y="{legend_y - 10}" width="14" height="10" fill="{REGISTERED}"/>'
    )
    body.append(_text(left + 20, legend_y, words["registered_line"]))
    body.append(
        f'<rect x="{left + 200}" y="{legend_y - 10}" width="14" height="10" fill="{REACHED}"/>'
    )
    body.append(_text(left + 220, legend_y, words["contacted_line"]))
    return _svg(height, words["timeline_chart"], body)


def _milestone_days(figures: ReflectionFigures) -> list[tuple[date, list[int]]]:
    """Each day with milestones and their numbers (1-based, as the timeline table counts)."""
    days: dict[date, list[int]] = {}
    for number_, milestone in enumerate(figures.timeline, start=1):
        days.setdefault(_day(milestone.at), []).append(number_)
    return list(days.items())


def _day(moment: datetime) -> date:
    return moment.astimezone(BERLIN).date()  # as the figures count days


def _day_range(figures: ReflectionFigures) -> list[date]:
    """Every day (Europe/Berlin) from the declaration to the last counted day or milestone."""
    moments = [
        _day(figures.declared_at),
        *(d.day for d in figures.days),
        *(_day(m.at) for m in figures.timeline),
    ]
    first, last = min(moments), max(moments)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
