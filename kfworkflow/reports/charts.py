"""Charts as inline SVG: no script, no web font, nothing fetched, so they work offline and print.

Three shapes (horizontal bars, lines, horizontal stacked bars) and the charts the documents and
the dashboard show, built from their contexts. Every label is escaped; the result is ``Markup``
ready for an autoescaping template. A chart scales down to its container (``viewBox``) and keeps
its text legible in print.

Nothing is measured in a browser, so text widths are estimated (:func:`text_width`: a CJK
character is about 1 em wide, a Latin one about 0.6 em) and the room for labels is sized from the
longest one: a long county or category name is never cut off at the edge.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from markupsafe import Markup, escape

from kfworkflow.reports.context import (
    LEVELS,
    OPEN_STATUSES,
    RATE_NAMES,
    CountyScore,
    DailyRow,
    DailySection,
    LevelStatusCount,
    RatePoint,
)
from kfworkflow.reports.filters import num, pct
from kfworkflow.reports.site_context import MilestoneStep

FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
              '"WenQuanYi Micro Hei", "SimHei", sans-serif')
LIGHT_COLOURS = {"red": "#d23a2f", "yellow": "#e6a700", "green": "#2e8b4e"}
SERIES_COLOURS = ("#1f5fa8", "#d2691e", "#2e8b4e", "#8e44ad", "#c0392b", "#16a085")
STATUS_COLOURS = {"new": "#1f5fa8", "in_progress": "#6fa8dc", "overdue": "#d23a2f",
                  "escalated": "#8e44ad", "resolved": "#2e8b4e", "closed_out": "#9e9e9e"}
HIGHLIGHT = "#d23a2f"
BAR_COLOUR = "#1f5fa8"
_WIDTH = 480  # a chart's usual width; wider only when its labels need it
_MIN_PLOT = 240  # the least room a bar chart leaves its bars
_ROW = 24
_FONT_SIZE = 12
_TITLE_SIZE = 14
_GAP = 8  # between a label and what it labels, and between two tick labels
_EDGE = 4  # kept free at the left and right edges


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str
    colour: str = BAR_COLOUR


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float | None, ...]
    colour: str


@dataclass(frozen=True)
class Stack:
    name: str
    values: tuple[float, ...]
    colour: str


class Lights(Protocol):
    """A row with a name and its red, yellow and green counts (a ``DailyRow``, a
    :class:`LightCount`)."""

    @property
    def name(self) -> str: ...
    @property
    def red(self) -> int: ...
    @property
    def yellow(self) -> int: ...
    @property
    def green(self) -> int: ...


@dataclass(frozen=True)
class LightCount:
    name: str
    red: int = 0
    yellow: int = 0
    green: int = 0


def _svg(width: float, height: float, title: str, body: list[str]) -> Markup:
    """The chart's ``<svg>``: its ``viewBox`` lets it scale down to the page, and it is never
    narrower than its title."""
    width = max(width, math.ceil(text_width(title, _TITLE_SIZE) + _EDGE))
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
            f'font-family="{escape(FONT_STACK)}" font-size="{_FONT_SIZE}">'
            f'<title>{escape(title)}</title>'
            f'<text x="0" y="16" font-size="{_TITLE_SIZE}" font-weight="bold">'
            f'{escape(title)}</text>')
    return Markup(head + "".join(body) + "</svg>")


def _empty(title: str, empty_text: str) -> Markup:
    return _svg(_WIDTH, 60, title, [f'<text x="0" y="44" fill="#666">{escape(empty_text)}</text>'])


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = "#222",
          size: int | None = None) -> str:
    extra = f' font-size="{size}"' if size else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{extra}>'
            f'{escape(text)}</text>')


def _legend(entries: Sequence[tuple[str, str]], y: float, width: float = _WIDTH
            ) -> tuple[list[str], float]:
    """Legend entries left to right, wrapping at the chart width; returns the elements and the
    baseline of the last row."""
    out, x = [], 0.0
    for name, colour in entries:
        room = 16 + text_width(name) + 14
        if x and x + room - 14 > width:
            x, y = 0.0, y + 18
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}"/>')
        out.append(_text(x + 16, y, name))
        x += room
    return out, y


def text_width(text: str, size: float = _FONT_SIZE) -> float:
    """The estimated width of ``text`` at a font size: a wide character (CJK, and the
    punctuation a CJK font draws full width, such as “ ” and ·) 1 em, any other 0.6 em."""
    return sum(size if unicodedata.east_asian_width(ch) in "WFA" else size * 0.6
               for ch in text)


def label_gutter(labels: Iterable[str]) -> int:
    """The room left of a plot for its labels, right-aligned: the longest label, the gap to
    the plot and the edge margin, in whole pixels."""
    return math.ceil(_EDGE + max((text_width(label) for label in labels), default=0.0) + _GAP)


def tick_indices(count: int, step: float, label_width: float, gap: float = _GAP
                 ) -> list[int]:
    """Which of ``count`` x labels, centred ``step`` apart and each at most ``label_width``
    wide, to show: every k-th from the first, k the least that keeps ``gap`` between two, and
    the last; the k-th label before the last gives way to it when the two would be too close.
    If the first and the last alone would overlap, only the last is shown."""
    if count <= 1:
        return list(range(count))
    need = label_width + gap
    every = max(1, math.ceil(need / step - 1e-9)) if step > 0 else count
    shown = list(range(0, count, every))
    if shown[-1] != count - 1:
        if (count - 1 - shown[-1]) * step < need - 1e-9:
            shown.pop()
        shown.append(count - 1)
    return shown


def _plot_width(gutter: float, value_room: float) -> float:
    """The bars' room: what the usual width leaves, but never less than ``_MIN_PLOT`` (the
    chart grows instead)."""
    return max(_WIDTH - gutter - value_room, _MIN_PLOT)


def bar_chart(title: str, bars: Sequence[Bar], *, empty_text: str,
              max_value: float | None = None) -> Markup:
    """Horizontal bars, one row per label, the value's text after the bar."""
    if not bars:
        return _empty(title, empty_text)
    top = 26
    gutter = label_gutter(b.label for b in bars)
    value_room = math.ceil(6 + max(text_width(b.text) for b in bars) + _EDGE)
    plot = _plot_width(gutter, value_room)
    scale = max_value or max((b.value or 0.0 for b in bars), default=0.0) or 1.0
    body = []
    for index, bar in enumerate(bars):
        y = top + index * _ROW
        length = max(0.0, min(1.0, (bar.value or 0.0) / scale)) * plot
        body.append(_text(gutter - _GAP, y + 16, bar.label, anchor="end"))
        body.append(f'<rect x="{gutter}" y="{y + 4}" width="{length:.1f}" height="16" '
                    f'fill="{bar.colour}"><title>{escape(bar.label)}: {escape(bar.text)}</title>'
                    f'</rect>')
        body.append(_text(gutter + length + 6, y + 16, bar.text))
    return _svg(gutter + plot + value_room, top + len(bars) * _ROW + 8, title, body)


def line_chart(title: str, x_labels: Sequence[str], series: Sequence[Series], *,
               empty_text: str, y_format: Callable[[float], str], y_max: float = 1.0) -> Markup:
    """One line per series over shared x labels; a missing value breaks its line. The x labels
    are thinned (:func:`tick_indices`) so that none overlaps another or sticks out."""
    if not x_labels or not any(v is not None for s in series for v in s.values):
        return _empty(title, empty_text)
    values = [v for s in series for v in s.values if v is not None]
    y_top = max(y_max, max(values))
    y_ticks = [y_top * step / 4 for step in range(5)]
    count = len(x_labels)
    first_half, last_half = text_width(x_labels[0]) / 2, text_width(x_labels[-1]) / 2
    left = math.ceil(max(max(text_width(y_format(v)) for v in y_ticks) + 6 + _EDGE,
                         first_half + _EDGE))
    right = math.ceil(max(16.0, last_half + _EDGE))
    body, legend_y = _legend([(s.name, s.colour) for s in series], 36)
    top, bottom = legend_y + 16, 28
    height = top + 200 + bottom
    plot_w, plot_h = _WIDTH - left - right, height - top - bottom

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * i / (count - 1))

    def y_at(v: float) -> float:
        return top + plot_h * (1 - max(0.0, v) / y_top)

    for value in y_ticks:
        y = y_at(value)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{_WIDTH - right}" y2="{y:.1f}" '
                    f'stroke="#ddd" stroke-width="1"/>')
        body.append(_text(left - 6, y + 4, y_format(value), anchor="end", fill="#555"))
    step = plot_w / (count - 1) if count > 1 else float(plot_w)
    for i in tick_indices(count, step, max(text_width(label) for label in x_labels)):
        body.append(_text(x_at(i), height - bottom + 18, x_labels[i], anchor="middle",
                          fill="#555"))
    for line in series:
        for run in _runs(line.values):
            points = " ".join(f"{x_at(i):.1f},{y_at(v):.1f}" for i, v in run)
            if len(run) > 1:
                body.append(f'<polyline points="{points}" fill="none" stroke="{line.colour}" '
                            f'stroke-width="2"/>')
            for i, v in run:
                body.append(f'<circle cx="{x_at(i):.1f}" cy="{y_at(v):.1f}" r="3" '
                            f'fill="{line.colour}"><title>{escape(line.name)} '
                            f'{escape(x_labels[i])}: {escape(y_format(v))}</title></circle>')
    return _svg(_WIDTH, height, title, body)


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    runs: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((i, v))
    return [r for r in runs if r]


def stacked_bar_chart(title: str, labels: Sequence[str], stacks: Sequence[Stack], *,
                      empty_text: str) -> Markup:
    """Horizontal bars split into coloured segments, with the total after each bar; a segment
    shows its value when the value fits in it."""
    totals = [sum(s.values[i] for s in stacks) for i in range(len(labels))]
    if not labels or not any(totals):
        return _empty(title, empty_text)
    gutter = label_gutter(labels)
    value_room = math.ceil(6 + max(text_width(num(total)) for total in totals) + _EDGE)
    plot = _plot_width(gutter, value_room)
    width = gutter + plot + value_room
    body, legend_y = _legend([(s.name, s.colour) for s in stacks], 36, width)
    top = legend_y + 10
    scale = max(totals)
    for index, label in enumerate(labels):
        y = top + index * _ROW
        x = float(gutter)
        body.append(_text(gutter - _GAP, y + 16, label, anchor="end"))
        for stack in stacks:
            value = stack.values[index]
            if not value:
                continue
            length = plot * value / scale
            body.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{length:.1f}" height="16" '
                        f'fill="{stack.colour}"><title>{escape(label)} {escape(stack.name)}: '
                        f'{escape(num(value))}</title></rect>')
            if length >= text_width(num(value), 11) + 6:
                body.append(_text(x + length / 2, y + 16, num(value), anchor="middle",
                                  fill="#fff", size=11))
            x += length
        body.append(_text(x + 6, y + 16, num(totals[index])))
    return _svg(width, top + len(labels) * _ROW + 8, title, body)


# ------------------------------------------------------------------ the documents' charts


def ranking_chart(rows: Sequence[CountyScore], t: Mapping[str, str]) -> Markup:
    """Counties by composite score, best first; the last place in red."""
    ranked = sorted((r for r in rows if r.rank is not None), key=lambda r: r.rank or 0)
    last = ranked[-1].rank if len(ranked) > 1 else None
    bars = [Bar(f"{r.rank}. {r.county_name}", r.score, num(r.score, 2),
                HIGHLIGHT if r.rank == last else BAR_COLOUR) for r in ranked]
    return bar_chart(t["ranking_chart"], bars, empty_text=t["no_data"], max_value=100.0)


def date_labels(days: Sequence[date]) -> list[str]:
    """``MM-DD`` under each point (the document's date says the year); when the points span
    New Year, the first and the last in full, so that the trend reads in order."""
    spans_years = bool(days) and days[0].year != days[-1].year
    return [day.isoformat() if spans_years and index in (0, len(days) - 1)
            else day.strftime("%m-%d") for index, day in enumerate(days)]


def rates_chart(points: Sequence[RatePoint], t: Mapping[str, str]) -> Markup:
    """The four rates over time, one line each."""
    labels = date_labels([p.on for p in points])
    series = [Series(t[name], tuple(getattr(p, name) for p in points), colour)
              for name, colour in zip(RATE_NAMES, SERIES_COLOURS, strict=False)]
    return line_chart(t["trend"], labels, series, empty_text=t["no_data"], y_format=_pct0)


def lights_chart(rows: Sequence[Lights], t: Mapping[str, str], *,
                 by: str = "county") -> Markup:
    """Red, yellow and green projects per row: per county (``by="county"``) or per category
    (``by="category"``); the title says which."""
    stacks = [Stack(t[f"light_{light}"], tuple(float(getattr(r, light)) for r in rows), colour)
              for light, colour in LIGHT_COLOURS.items()]
    return stacked_bar_chart(t[f"lights_by_{by}"], [r.name for r in rows], stacks,
                             empty_text=t["no_data"])


def assignments_chart(counts: Sequence[LevelStatusCount], t: Mapping[str, str]) -> Markup:
    """Open assignments per level, split by status."""
    levels = [lv for lv in LEVELS if any(c.level == lv for c in counts)]
    statuses = [s for s in OPEN_STATUSES if any(c.status == s for c in counts)]
    stacks = [Stack(t.get(f"status_{s}", s),
                    tuple(float(sum(c.count for c in counts if c.level == lv and c.status == s))
                          for lv in levels),
                    STATUS_COLOURS.get(s, BAR_COLOUR))
              for s in statuses]
    return stacked_bar_chart(t["assignments_chart"], [t.get(f"level_{lv}", lv) for lv in levels],
                             stacks, empty_text=t["no_data"])


def timeline_chart(steps: Sequence[MilestoneStep], as_of: date, t: Mapping[str, str]
                   ) -> Markup:
    """A project's milestones on a date axis: planned (hollow) and actual (filled) dates, a
    dashed line for the as-of date (labelled above the rows), a red link where a milestone is
    late; the axis's first and last dates are labelled under it. A milestone with neither a
    planned nor an actual date has no row (the milestone table lists it)."""
    steps = [s for s in steps if s.planned_on is not None or s.actual_on is not None]
    dates = [d for s in steps for d in (s.planned_on, s.actual_on) if d is not None]
    if not dates:
        return _empty(t["timeline"], t["no_data"])
    first, last = min([*dates, as_of]), max([*dates, as_of])
    span = max((last - first).days, 1)
    date_room = text_width(as_of.isoformat())
    today_text = f"{t['as_of']} {as_of.isoformat()}"
    today_room = text_width(today_text)
    left, top = label_gutter(s.name for s in steps) + 6, 48  # the dots are 5 wide
    right = 24  # room for the last dot
    # the plot is never too short for its first and last dates side by side
    width = max(_WIDTH, left + max(_MIN_PLOT, math.ceil(2 * date_room + _GAP)) + right)
    plot = width - left - right

    def x_at(day: date) -> float:
        return left + plot * (day - first).days / span

    height = top + len(steps) * _ROW + 30
    actual_x = width - _EDGE - text_width(t["actual_on"])
    planned_x = actual_x - 10 - 14 - text_width(t["planned_on"])
    body = [f'<circle cx="{planned_x - 10:.1f}" cy="12" r="5" fill="#fff" '
            f'stroke="{BAR_COLOUR}" stroke-width="2"/>', _text(planned_x, 16, t["planned_on"]),
            f'<circle cx="{actual_x - 10:.1f}" cy="12" r="5" fill="{BAR_COLOUR}"/>',
            _text(actual_x, 16, t["actual_on"])]
    x_today = x_at(as_of)
    body.append(f'<line x1="{x_today:.1f}" y1="{top - 4}" x2="{x_today:.1f}" '
                f'y2="{height - 24}" stroke="#888" stroke-dasharray="4 3"/>')
    # the as-of date above its line (kept inside the chart), on a row of its own; the axis's
    # first and last dates under its ends
    today_at = min(max(x_today, today_room / 2 + _EDGE), width - _EDGE - today_room / 2)
    body.append(_text(today_at, top - 10, today_text, anchor="middle", fill="#555"))
    body.append(f'<line x1="{left}" y1="{height - 24}" x2="{width - right}" y2="{height - 24}" '
                f'stroke="#bbb"/>')
    body.append(_text(left, height - 10, first.isoformat(), anchor="start", fill="#555"))
    body.append(_text(width - right, height - 10, last.isoformat(), anchor="end", fill="#555"))
    for index, step in enumerate(steps):
        y = top + index * _ROW + 12
        body.append(_text(left - 6 - _GAP, y + 4, step.name, anchor="end"))
        body.append(f'<line x1="{left}" y1="{y}" x2="{width - right}" y2="{y}" '
                    f'stroke="#eee"/>')
        late = step.late_days is not None and step.late_days > 0
        if step.planned_on and (step.actual_on or late):
            end = step.actual_on or as_of
            body.append(f'<line x1="{x_at(step.planned_on):.1f}" y1="{y}" '
                        f'x2="{x_at(end):.1f}" y2="{y}" stroke="{HIGHLIGHT if late else "#999"}" '
                        f'stroke-width="3"/>')
        if step.planned_on:
            body.append(f'<circle cx="{x_at(step.planned_on):.1f}" cy="{y}" r="5" fill="#fff" '
                        f'stroke="{BAR_COLOUR}" stroke-width="2"><title>{escape(step.name)} '
                        f'{escape(t["planned_on"])} {step.planned_on.isoformat()}</title>'
                        f'</circle>')
        if step.actual_on:
            body.append(f'<circle cx="{x_at(step.actual_on):.1f}" cy="{y}" r="5" '
                        f'fill="{BAR_COLOUR}"><title>{escape(step.name)} '
                        f'{escape(t["actual_on"])} {step.actual_on.isoformat()}</title></circle>')
    return _svg(width, height, t["timeline"], body)


# ------------------------------------------------------------------ the dashboard's unit pages
# A breakdown with a single bar says nothing the table above it does not: such a chart is left
# out (an empty ``Markup``, which a template tests with ``{% if charts.lights %}``).


def _breakdown(rows: Sequence[Lights], t: Mapping[str, str], by: str) -> Markup:
    return lights_chart(rows, t, by=by) if len(rows) > 1 else Markup("")


def county_charts(categories: Sequence[DailyRow], t: Mapping[str, str]) -> dict[str, Markup]:
    """A county page's charts: ``lights``, its lights per category."""
    return {"lights": _breakdown(categories, t, "category")}


def task_force_charts(sections: Sequence[DailySection], counties: Sequence[str],
                      t: Mapping[str, str]) -> dict[str, Markup]:
    """A task force's charts: ``lights``, the lights of its projects per county (summed over
    its categories; ``counties`` gives the order, by key), and ``categories``, its lights per
    category."""
    totals: dict[str, LightCount] = {}
    for row in (row for section in sections for row in section.rows):
        seen = totals.get(row.key, LightCount(row.name))
        totals[row.key] = LightCount(seen.name, seen.red + row.red, seen.yellow + row.yellow,
                                     seen.green + row.green)
    order = {key: index for index, key in enumerate(counties)}
    by_county = sorted(totals.items(), key=lambda item: order.get(item[0], len(order)))
    return {"lights": _breakdown([count for _, count in by_county], t, "county"),
            "categories": _breakdown(
                [LightCount(s.category_name, s.total.red, s.total.yellow, s.total.green)
                 for s in sections], t, "category")}


def _pct0(value: float) -> str:
    return pct(value, 0)
