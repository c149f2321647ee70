"""Charts as inline SVG: no script, no web font, nothing fetched, so they work offline and print.

Three shapes (horizontal bars, lines, horizontal stacked bars) and the four charts the documents
show, built from their contexts. Every label is escaped; the result is ``Markup`` ready for an
autoescaping template. A chart scales down to its container (``viewBox``) and keeps its text
legible in print.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from kfworkflow.reports.context import (
    LEVELS,
    OPEN_STATUSES,
    RATE_NAMES,
    CountyScore,
    DailyRow,
    LevelStatusCount,
    MilestoneStep,
    RatePoint,
)
from kfworkflow.reports.filters import num, pct

FONT_STACK = ('"Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", '
              '"WenQuanYi Micro Hei", "SimHei", sans-serif')
LIGHT_COLOURS = {"red": "#d23a2f", "yellow": "#e6a700", "green": "#2e8b4e"}
SERIES_COLOURS = ("#1f5fa8", "#d2691e", "#2e8b4e", "#8e44ad", "#c0392b", "#16a085")
STATUS_COLOURS = {"new": "#1f5fa8", "in_progress": "#6fa8dc", "overdue": "#d23a2f",
                  "escalated": "#8e44ad", "resolved": "#2e8b4e", "closed_out": "#9e9e9e"}
HIGHLIGHT = "#d23a2f"
BAR_COLOUR = "#1f5fa8"
_WIDTH = 480
_ROW = 24
_LABEL_WIDTH = 124
_FONT_SIZE = 12


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


def _svg(width: float, height: float, title: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {width:g} {height:g}" width="{width:g}" height="{height:g}" '
            f'font-family="{escape(FONT_STACK)}" font-size="{_FONT_SIZE}">'
            f'<title>{escape(title)}</title>'
            f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>')
    return Markup(head + "".join(body) + "</svg>")


def _empty(title: str, empty_text: str) -> Markup:
    return _svg(_WIDTH, 60, title, [f'<text x="0" y="44" fill="#666">{escape(empty_text)}</text>'])


def _text(x: float, y: float, text: str, anchor: str = "start", fill: str = "#222",
          size: int | None = None) -> str:
    extra = f' font-size="{size}"' if size else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}"{extra}>'
            f'{escape(text)}</text>')


def _legend(entries: Sequence[tuple[str, str]], y: float) -> tuple[list[str], float]:
    """Legend entries left to right, wrapping at the chart width; returns the elements and the
    baseline of the last row."""
    out, x = [], 0.0
    for name, colour in entries:
        width = 16 + _text_width(name) + 14
        if x and x + width > _WIDTH:
            x, y = 0.0, y + 18
        out.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{colour}"/>')
        out.append(_text(x + 16, y, name))
        x += width
    return out, y


def _text_width(text: str) -> float:
    """Approximate width at the chart font size: CJK characters are about square."""
    return sum(_FONT_SIZE if ord(ch) > 0x2E80 else _FONT_SIZE * 0.6 for ch in text)


def bar_chart(title: str, bars: Sequence[Bar], *, empty_text: str,
              max_value: float | None = None) -> Markup:
    """Horizontal bars, one row per label, the value's text after the bar."""
    if not bars:
        return _empty(title, empty_text)
    top, value_room = 26, 50
    plot = _WIDTH - _LABEL_WIDTH - value_room
    scale = max_value or max((b.value or 0.0 for b in bars), default=0.0) or 1.0
    body = []
    for index, bar in enumerate(bars):
        y = top + index * _ROW
        length = max(0.0, min(1.0, (bar.value or 0.0) / scale)) * plot
        body.append(_text(_LABEL_WIDTH - 8, y + 16, bar.label, anchor="end"))
        body.append(f'<rect x="{_LABEL_WIDTH}" y="{y + 4}" width="{length:.1f}" height="16" '
                    f'fill="{bar.colour}"><title>{escape(bar.label)}: {escape(bar.text)}</title>'
                    f'</rect>')
        body.append(_text(_LABEL_WIDTH + length + 6, y + 16, bar.text))
    return _svg(_WIDTH, top + len(bars) * _ROW + 8, title, body)


def line_chart(title: str, x_labels: Sequence[str], series: Sequence[Series], *,
               empty_text: str, y_format: Callable[[float], str], y_max: float = 1.0) -> Markup:
    """One line per series over shared x labels; a missing value breaks its line."""
    if not x_labels or not any(v is not None for s in series for v in s.values):
        return _empty(title, empty_text)
    body, legend_y = _legend([(s.name, s.colour) for s in series], 36)
    left, right, top, bottom = 44, 16, legend_y + 16, 28
    height = top + 200 + bottom
    values = [v for s in series for v in s.values if v is not None]
    y_top = max(y_max, max(values))
    plot_w, plot_h = _WIDTH - left - right, height - top - bottom
    count = len(x_labels)

    def x_at(i: int) -> float:
        return left + (plot_w / 2 if count == 1 else plot_w * i / (count - 1))

    def y_at(v: float) -> float:
        return top + plot_h * (1 - max(0.0, v) / y_top)

    for step in range(5):
        value = y_top * step / 4
        y = y_at(value)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{_WIDTH - right}" y2="{y:.1f}" '
                    f'stroke="#ddd" stroke-width="1"/>')
        body.append(_text(left - 6, y + 4, y_format(value), anchor="end", fill="#555"))
    every = max(1, math.ceil(count / 6))
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == count - 1:
            body.append(_text(x_at(i), height - bottom + 18, label, anchor="middle", fill="#555"))
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
    """Horizontal bars split into coloured segments, with the total after each bar."""
    totals = [sum(s.values[i] for s in stacks) for i in range(len(labels))]
    if not labels or not any(totals):
        return _empty(title, empty_text)
    body, legend_y = _legend([(s.name, s.colour) for s in stacks], 36)
    top, value_room = legend_y + 10, 40
    plot = _WIDTH - _LABEL_WIDTH - value_room
    scale = max(totals)
    for index, label in enumerate(labels):
        y = top + index * _ROW
        x = float(_LABEL_WIDTH)
        body.append(_text(_LABEL_WIDTH - 8, y + 16, label, anchor="end"))
        for stack in stacks:
            value = stack.values[index]
            if not value:
                continue
            width = plot * value / scale
            body.append(f'<rect x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="16" '
                        f'fill="{stack.colour}"><title>{escape(label)} {escape(stack.name)}: '
                        f'{escape(num(value))}</title></rect>')
            if width >= 22:
                body.append(_text(x + width / 2, y + 16, num(value), anchor="middle",
                                  fill="#fff", size=11))
            x += width
        body.append(_text(x + 6, y + 16, num(totals[index])))
    return _svg(_WIDTH, top + len(labels) * _ROW + 8, title, body)


# ------------------------------------------------------------------ the documents' charts


def ranking_chart(rows: Sequence[CountyScore], t: Mapping[str, str]) -> Markup:
    """Counties by composite score, best first; the last place in red."""
    ranked = sorted((r for r in rows if r.rank is not None), key=lambda r: r.rank or 0)
    last = ranked[-1].rank if len(ranked) > 1 else None
    bars = [Bar(f"{r.rank}. {r.county_name}", r.score, num(r.score, 2),
                HIGHLIGHT if r.rank == last else BAR_COLOUR) for r in ranked]
    return bar_chart(t["ranking_chart"], bars, empty_text=t["no_data"], max_value=100.0)


def rates_chart(points: Sequence[RatePoint], t: Mapping[str, str]) -> Markup:
    """The four rates over time, one line each."""
    labels = [p.on.strftime("%m-%d") for p in points]
    series = [Series(t[name], tuple(getattr(p, name) for p in points), colour)
              for name, colour in zip(RATE_NAMES, SERIES_COLOURS, strict=False)]
    return line_chart(t["trend"], labels, series, empty_text=t["no_data"], y_format=_pct0)


def lights_chart(rows: Sequence[DailyRow], t: Mapping[str, str]) -> Markup:
    """Red, yellow and green projects per county."""
    stacks = [Stack(t[f"light_{light}"], tuple(float(getattr(r, light)) for r in rows), colour)
              for light, colour in LIGHT_COLOURS.items()]
    return stacked_bar_chart(t["lights_by_county"], [r.name for r in rows], stacks,
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
    dashed line for the as-of date, a red link where a milestone is late."""
    dates = [d for s in steps for d in (s.planned_on, s.actual_on) if d is not None]
    if not dates:
        return _empty(t["timeline"], t["no_data"])
    first, last = min([*dates, as_of]), max([*dates, as_of])
    span = max((last - first).days, 1)
    left, right, top = _LABEL_WIDTH, 24, 30
    plot = _WIDTH - left - right

    def x_at(day: date) -> float:
        return left + plot * (day - first).days / span

    height = top + len(steps) * _ROW + 30
    body = [f'<circle cx="{_WIDTH - 150}" cy="12" r="5" fill="#fff" stroke="{BAR_COLOUR}" '
            f'stroke-width="2"/>', _text(_WIDTH - 140, 16, t["planned_on"]),
            f'<circle cx="{_WIDTH - 70}" cy="12" r="5" fill="{BAR_COLOUR}"/>',
            _text(_WIDTH - 60, 16, t["actual_on"])]
    x_today = x_at(as_of)
    body.append(f'<line x1="{x_today:.1f}" y1="{top - 4}" x2="{x_today:.1f}" '
                f'y2="{height - 24}" stroke="#888" stroke-dasharray="4 3"/>')
    body.append(_text(x_today, height - 10, as_of.isoformat(), anchor="middle", fill="#555"))
    body.append(_text(left, height - 10, first.isoformat(), anchor="start", fill="#555")
                if x_today - left > 70 else "")
    body.append(_text(_WIDTH - right, height - 10, last.isoformat(), anchor="end", fill="#555")
                if _WIDTH - right - x_today > 70 else "")
    for index, step in enumerate(steps):
        y = top + index * _ROW + 12
        body.append(_text(left - 8, y + 4, step.name, anchor="end"))
        body.append(f'<line x1="{left}" y1="{y}" x2="{_WIDTH - right}" y2="{y}" '
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
    return _svg(_WIDTH, height, t["timeline"], body)


def _pct0(value: float) -> str:
    return pct(value, 0)
