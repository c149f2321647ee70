"""How values look on a document: numbers, rates, dates, periods and enumerated labels.

A missing value prints as an em dash. An enumerated value the catalogue does not know (a status
a newer engine added, say) prints as itself rather than failing the whole document.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from kfworkflow.reports.messages import messages

if TYPE_CHECKING:
    from kfworkflow.reports.context import ReviewedAssignment, WeeklyReview

DASH = "—"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def pct(value: float | None, digits: int = 1) -> str:
    """0.8534 → ``85.3%``."""
    return DASH if value is None else f"{value * 100:.{digits}f}%"


def pp(value: float | None, digits: int = 1) -> str:
    """Percentage points with a sign: ``+1.5``, ``-2.0``, ``0.0``."""
    if value is None:
        return DASH
    rounded = round(value, digits)
    return f"{rounded:+.{digits}f}" if rounded else f"{0.0:.{digits}f}"


def num(value: float | None, digits: int = 0) -> str:
    """Thousands separators: 1234567.8 → ``1,234,568``."""
    return DASH if value is None else f"{value:,.{digits}f}"


def signed(value: int | None) -> str:
    """A change of rank: ``↑2``, ``↓1``, ``–`` for none, em dash when unknown."""
    if value is None:
        return DASH
    if value > 0:
        return f"↑{value}"
    return f"↓{-value}" if value < 0 else "–"


def day(value: date | None) -> str:
    return DASH if value is None else value.isoformat()


def unit_names(values: Iterable[str] | None, t: Mapping[str, str]) -> str:
    """Units in a cell: ``市发展改革委、市重点办``, an em dash for none."""
    listed = [v for v in values or () if v]
    return t["list_sep"].join(listed) if listed else DASH


def dimension_names(names: Iterable[str], t: Mapping[str, str]) -> str:
    """What a project is lit for: ``开工、资金`` — or ``t.light_none`` for nothing."""
    listed = [t.get(f"dimension_{name}", name) for name in names]
    return t["list_sep"].join(listed) if listed else t["light_none"]


def review_counts(review: WeeklyReview, t: Mapping[str, str]) -> str:
    """Part one's count line of the weekly list: 上周交办事项 N 项：已办结 …，已销号 …, ….
    One wording for the md and html lists (the ``review_counts`` filter) and the workbook."""
    return t["review_counts"].format(
        total=len(review.items), resolved=review.resolved, closed_out=review.closed_out,
        still_open=review.still_open, escalated=review.escalated, overdue=review.overdue)


def review_outcome(reviewed: ReviewedAssignment, t: Mapping[str, str]) -> str:
    """What became of last week's item, in one line; an escalated one names its new level,
    holder and deadline (已升级 → 市级（…，… 前办结）). The md list and the workbook use it."""
    if reviewed.outcome != "escalated":
        return t.get(f"outcome_{reviewed.outcome}", reviewed.outcome)
    now = reviewed.current
    return t["escalated_to_holder"].format(level=t.get(f"level_{now.level}", now.level),
                                           recipient=now.recipient, deadline=day(now.deadline_on))


def markdown_text(value: str) -> str:
    """User text made inert in a Markdown table cell: specials backslash-escaped, HTML
    entities for ``& < >`` (Markdown viewers render raw HTML), one line."""
    text = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _LINE_BREAKS.sub(" ", _MARKDOWN_SPECIAL.sub(r"\\\1", text))


def build_filters(lang: str) -> dict[str, Callable[..., Any]]:
    """The template filters of one language."""
    t = messages(lang)

    def label(prefix: str) -> Callable[[str | None], str]:
        def lookup(value: str | None) -> str:
            if value is None:
                return t.get(f"{prefix}_none", DASH)
            return t.get(f"{prefix}_{value}", value)
        return lookup

    def long_date(value: date | None) -> str:
        if value is None:
            return DASH
        if lang == "zh":
            return f"{value.year}年{value.month}月{value.day}日"
        return f"{value.day} {calendar.month_name[value.month]} {value.year}"

    def short_date(value: date) -> str:
        if lang == "zh":
            return f"{value.month}月{value.day}日"
        return f"{value.day} {calendar.month_abbr[value.month]}"

    def week_label(week: str, start: date, end: date) -> str:
        year, number = _iso_week(week)
        return t["week_label"].format(year=year, week=number, start=short_date(start),
                                      end=short_date(end))

    def period_label(kind: str, period: str) -> str:
        return format_period(t, kind, period)

    def fmt(message: str, **values: Any) -> str:
        return message.format(**values)

    return {
        "pct": pct, "pp": pp, "num": num, "signed": signed, "day": day,
        "long_date": long_date, "short_date": short_date, "week_label": week_label,
        "period_label": period_label, "units": lambda values: unit_names(values, t), "fmt": fmt,
        "light": label("light"), "level": label("level"), "status": label("status"),
        "outcome": label("outcome"), "metric": lambda name: t.get(name, name),
        "event_kind": label("event"),
        "dimensions": lambda names: dimension_names(names, t),
        "review_counts": lambda review: review_counts(review, t),
        "review_outcome": lambda reviewed: review_outcome(reviewed, t),
    }


def format_period(t: Mapping[str, str], kind: str, period: str) -> str:
    """``month 2022-11`` → 2022年11月; quarter ``2022-Q4``, half ``2022-H2``, year ``2022``."""
    year = period[:4]
    if kind == "month" and len(period) == 7:
        month = int(period[5:7])
        return t["period_month"].format(year=year, month=month,
                                        month_name=calendar.month_name[month])
    if kind == "quarter" and period[5:6] == "Q":
        return t["period_quarter"].format(year=year, quarter=period[6:])
    if kind == "half_year" and period[5:6] == "H":
        return t["period_half_year"].format(year=year, half=t[f"half_{period[6:]}"])
    if kind == "year":
        return t["period_year"].format(year=year)
    return period


def _iso_week(week: str) -> tuple[str, str]:
    """``2022-W47`` → (``2022``, ``47``); anything else is shown as it is."""
    match = re.fullmatch(r"(\d{4})-W(\d{1,2})", week)
    return (match.group(1), str(int(match.group(2)))) if match else (week, "")
