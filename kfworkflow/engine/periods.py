"""Pass kinds and their periods: which day, ISO week or month a pass covers, and the
schedule of periods between two dates (daily on working days, weekly on Mondays, monthly on
the 1st).

A monthly pass ranks the month before the month of its date: the run of 2023-01-01 (or a late
run on any day of January) is December 2022's ranking, keyed ``2022-12``."""

from __future__ import annotations

from datetime import date, timedelta

from kfworkflow.errors import InputError
from kfworkflow.workcalendar import WorkCalendar

PASS_KINDS = ("daily", "weekly", "monthly")


def check_kind(kind: str) -> None:
    if kind not in PASS_KINDS:
        raise InputError(f"unknown pass kind {kind!r}; expected one of {', '.join(PASS_KINDS)}")


def ranked_month(as_of: date) -> date:
    """The first day of the month a monthly pass of ``as_of`` ranks: the month before."""
    if as_of.month == 1:
        return date(as_of.year - 1, 12, 1)
    return date(as_of.year, as_of.month - 1, 1)


def period_key(kind: str, as_of: date) -> str:
    """``2022-11-21`` (daily), ``2022-W47`` (weekly, ISO week), ``2022-11`` (monthly: the
    month it ranks, so the pass of 2022-12-01 is ``2022-11``)."""
    check_kind(kind)
    if kind == "daily":
        return as_of.isoformat()
    if kind == "weekly":
        year, week, _ = as_of.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{ranked_month(as_of):%Y-%m}"


def scheduled_periods(calendar: WorkCalendar, start: date, until: date
                      ) -> list[tuple[str, date]]:
    """Every (kind, as-of) from start to until: daily on working days, weekly on Mondays,
    monthly on the 1st; on one date daily, then weekly, then monthly."""
    out: list[tuple[str, date]] = []
    day = start
    while day <= until:
        if calendar.is_workday(day):
            out.append(("daily", day))
        if day.weekday() == 0:
            out.append(("weekly", day))
        if day.day == 1:
            out.append(("monthly", day))
        day += timedelta(days=1)
    return out
