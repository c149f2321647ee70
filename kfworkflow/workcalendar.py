"""Chinese working days: statutory holidays, make-up workdays (调休上班) and a local data file.

A day's status comes from, highest priority first: the data file's ``local`` section; the data
file's ``years`` sections; the ``chinese-calendar`` package (unless the data file marks that year
``complete: true``, which replaces the package for the year); Monday–Friday. A year that neither
the package nor a complete file section covers is unknown: ``CalendarError``, or Monday–Friday
when loaded with ``fallback="weekends-only"``.

Counting is table-driven: each year, built on first use, holds prefix counts of workdays by day
of year and the ordinals of its workdays, so ``workdays_between`` is O(1) (whole years in between
are summed once per pair of years and remembered) and ``add_workdays`` is a direct index.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, date, timedelta
from functools import cache
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import chinese_calendar

from kfworkflow.errors import CalendarError, InputError
from kfworkflow.workcalendar_data import CalendarData, DesignatedDay, load_calendar_data

Fallback = Literal["error", "weekends-only"]
DayKind = Literal["workday", "weekend", "holiday", "makeup_workday"]

WEEKEND_REASON = "周末"
UNNAMED_HOLIDAY = "节假日"
WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


@dataclass(frozen=True)
class PackageSchedule:
    """What the installed ``chinese-calendar`` knows, with holiday names in Chinese."""

    version: str
    years: frozenset[int]
    days: Mapping[date, DesignatedDay]


@cache
def package_schedule() -> PackageSchedule:
    chinese_names = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}
    days: dict[date, DesignatedDay] = {}
    for on, english in chinese_calendar.holidays.items():
        days[on] = DesignatedDay(on, False, chinese_names.get(english, english), "package")
    for on, english in chinese_calendar.workdays.items():
        days[on] = DesignatedDay(on, True, chinese_names.get(english, english), "package")
    first, last = min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year
    return PackageSchedule(
        version=str(chinese_calendar.__version__),
        years=frozenset(range(first, last + 1)),
        days=MappingProxyType(days),
    )


@dataclass(frozen=True)
class _YearTable:
    first_ordinal: int
    prefix: array[int]  # prefix[i]: workdays among the year's first i days
    workday_ordinals: array[int]

    @property
    def total(self) -> int:
        return len(self.workday_ordinals)

    def through(self, ordinal: int) -> int:
        """Workdays from 1 January up to and including ``ordinal``."""
        return self.prefix[ordinal - self.first_ordinal + 1]


@dataclass(frozen=True)
class WorkCalendar:
    """Immutable in behaviour; year tables are built lazily under a lock, so it is shareable."""

    version: str
    fallback: Fallback = "error"
    data_file: Path | None = field(default=None, compare=False)
    _package: PackageSchedule = field(default_factory=package_schedule, repr=False, compare=False)
    _data: CalendarData | None = field(default=None, repr=False, compare=False)
    _tables: dict[int, _YearTable] = field(default_factory=dict, repr=False, compare=False)
    # workdays in the whole years strictly between two years, keyed by (first, last) year
    _full_years: dict[tuple[int, int], int] = field(
        default_factory=dict, repr=False, compare=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def load(cls, data_file: Path | None = None, *, fallback: Fallback = "error") -> WorkCalendar:
        if fallback not in ("error", "weekends-only"):
            raise InputError(
                f"unknown calendar fallback {fallback!r}: expected 'error' or 'weekends-only'"
            )
        package = package_schedule()
        data = load_calendar_data(data_file) if data_file is not None else None
        known = package.years | (data.complete_years if data else frozenset())
        version = f"cc{package.version}"
        if data is not None:
            version += f"+file:{data.digest[:8]}"
        if fallback == "weekends-only":
            version += f"+fallback:{describe_unknown_years(known)}"
        return cls(version, fallback, data_file, package, data)

    # --- coverage -------------------------------------------------------------------------

    def known_years(self) -> frozenset[int]:
        complete = self._data.complete_years if self._data else frozenset()
        return self._package.years | complete

    def fallback_years(self, years: Iterable[int]) -> frozenset[int]:
        if self.fallback != "weekends-only":
            return frozenset()
        known = self.known_years()
        return frozenset(year for year in years if year not in known)

    def check_years(self, years: Iterable[int]) -> None:
        wanted = sorted(set(years))
        out_of_range = [year for year in wanted if not MINYEAR <= year <= MAXYEAR]
        if out_of_range:
            raise CalendarError(
                f"year(s) {_join(out_of_range)} are outside the dates Python can represent"
            )
        if self.fallback == "weekends-only":
            return
        known = self.known_years()
        unknown = [year for year in wanted if year not in known]
        if unknown:
            raise CalendarError(self._unknown_years_message(unknown))

    def _unknown_years_message(self, unknown: list[int]) -> str:
        package = self._package
        message = (
            f"the working-day calendar does not know year(s) {_join(unknown)}: chinese-calendar"
            f" {package.version} covers {min(package.years)}–{max(package.years)}"
        )
        if self._data is None:
            message += "; no calendar data file was given"
        else:
            partial = [year for year in unknown if year in self._data.partial_years]
            message += f"; data file {self._data.path} has no complete section for them"
            if partial:
                message += f" ({_join(partial)} listed without complete: true)"
        return message + (
            ". Fix: add each year's holidays and make-up workdays to the data file under"
            " years: <year>: with complete: true (from the State Council's published schedule),"
            " or load the calendar with fallback='weekends-only' (Mon–Fri, recorded in the"
            " version)"
        )

    # --- single days ----------------------------------------------------------------------

    def is_workday(self, d: date) -> bool:
        table = self._table(d.year)
        index = d.toordinal() - table.first_ordinal
        return table.prefix[index + 1] != table.prefix[index]

    def day_kind(self, d: date) -> tuple[str, str | None]:
        self._table(d.year)  # raises for an unknown year
        designated = self._designation(d)
        if designated is not None:
            return ("makeup_workday" if designated.is_workday else "holiday"), designated.name
        return ("weekend" if d.weekday() >= 5 else "workday"), None

    def show(self, year: int) -> list[dict[str, str | None]]:
        """Every holiday and make-up workday of ``year`` (plain weekends omitted), in date order."""
        self._table(year)
        rows: list[dict[str, str | None]] = []
        day, end = date(year, 1, 1), date(year, 12, 31)
        while day <= end:
            designated = self._designation(day)
            if designated is not None:
                rows.append({
                    "date": day.isoformat(),
                    "weekday": WEEKDAY_NAMES[day.weekday()],
                    "kind": "makeup_workday" if designated.is_workday else "holiday",
                    "name": designated.name,
                    "source": designated.source,
                })
            day += timedelta(days=1)
        return rows

    # --- counting -------------------------------------------------------------------------

    def workdays_between(self, a: date, b: date) -> int:
        """Workdays in (a, b]; negative when b is before a."""
        if b < a:
            return -self.workdays_between(b, a)
        start = self._table(a.year)
        if a.year == b.year:
            return start.through(b.toordinal()) - start.through(a.toordinal())
        end = self._table(b.year)
        middle = 0
        if b.year - a.year > 1:
            middle = self._full_years.get((a.year, b.year), -1)
            if middle < 0:
                middle = sum(self._table(year).total for year in range(a.year + 1, b.year))
                self._full_years[(a.year, b.year)] = middle  # same value from any thread
        return start.total - start.through(a.toordinal()) + middle + end.through(b.toordinal())

    def add_workdays(self, d: date, n: int) -> date:
        """The n-th workday after d (before d when n < 0); d itself is not counted."""
        year = d.year
        table = self._table(year)
        if n == 0:
            return d
        if n > 0:
            rank = table.through(d.toordinal()) + n  # 1-based rank within the year
            while rank > table.total:
                rank -= table.total
                year += 1
                table = self._table(year)
            return date.fromordinal(table.workday_ordinals[rank - 1])
        rank = table.through(d.toordinal() - 1) + n + 1  # through(31 Dec before) is 0
        while rank < 1:
            year -= 1
            table = self._table(year)
            rank += table.total
        return date.fromordinal(table.workday_ordinals[rank - 1])

    def skipped_days(self, d: date, n: int) -> list[tuple[date, str]]:
        """Non-workdays passed over while adding n workdays to d, in date order, with why."""
        target = self.add_workdays(d, n)
        first, last = (d, target) if n >= 0 else (target, d)
        skipped: list[tuple[date, str]] = []
        day = first + timedelta(days=1)
        while day < last:
            if not self.is_workday(day):
                kind, name = self.day_kind(day)
                reason = WEEKEND_REASON if kind == "weekend" else name or UNNAMED_HOLIDAY
                skipped.append((day, reason))
            day += timedelta(days=1)
        return skipped

    # --- tables ---------------------------------------------------------------------------

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            with self._lock:
                table = self._tables.get(year)
                if table is None:
                    self.check_years([year])
                    table = self._build(year)
                    self._tables[year] = table
        return table

    def _build(self, year: int) -> _YearTable:
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        prefix = array("i", [0])
        workdays = array("i")
        for ordinal in range(first, last + 1):
            if self._computed_workday(date.fromordinal(ordinal)):
                workdays.append(ordinal)
            prefix.append(len(workdays))
        return _YearTable(first, prefix, workdays)

    def _computed_workday(self, d: date) -> bool:
        designated = self._designation(d)
        return designated.is_workday if designated is not None else d.weekday() < 5

    def _designation(self, d: date) -> DesignatedDay | None:
        data = self._data
        if data is not None:
            found = data.local.get(d) or data.schedule.get(d)
            if found is not None:
                return found
            if d.year in data.complete_years:
                return None
        if d.year in self._package.years:
            return self._package.days.get(d)
        return None


def describe_unknown_years(known: frozenset[int]) -> str:
    """The complement of ``known`` as ranges, e.g. ``<2004,2027-2029,>2030``."""
    if not known:
        return "all"
    ordered = sorted(known)
    parts = [f"<{ordered[0]}"]
    for before, after in pairwise(ordered):
        if after - before == 2:
            parts.append(str(before + 1))
        elif after - before > 2:
            parts.append(f"{before + 1}-{after - 1}")
    parts.append(f">{ordered[-1]}")
    return ",".join(parts)


def _join(years: Iterable[int]) -> str:
    return ", ".join(str(year) for year in years)
