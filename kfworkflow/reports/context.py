"""What each document's template may read: frozen dataclasses, one per table or part.

Every field is documented in ``docs/reference/report-contexts.md`` (a test checks that the docs
and these classes agree). Conventions: rates are fractions (0.853 is 85.3 %) and ``None`` when
nothing was due; changes and gaps are percentage points; money is in 万元; a light is
``"red"``, ``"yellow"``, ``"green"`` or ``None``; ``*_on`` fields are business dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date

LIGHTS = ("red", "yellow", "green")
LEVELS = ("county", "city", "province")
STATUSES = ("new", "in_progress", "resolved", "closed_out", "overdue", "escalated")
OPEN_STATUSES = ("new", "in_progress", "escalated", "overdue", "resolved")
OUTCOMES = ("resolved", "closed_out", "still_open", "escalated", "overdue")
LAGS = ("milestone", "investment", "other")  # the sub-tables of the weekly list's part three
RATE_NAMES = ("start_rate", "funds_in_place_rate", "investment_completion_rate",
              "on_time_completion_rate")
PERIOD_KINDS = ("month", "quarter", "half_year", "year")
TOTAL_KEY = "total"
UNIT_SEPARATOR = "、"  # joins the units of a joint recipient: 市发展改革委、市重点办


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, or None when nothing was due."""
    return None if not denominator else numerator / denominator


def change_pp(now: float | None, before: float | None) -> float | None:
    """The change of a rate in percentage points; None when either side is unknown."""
    return None if now is None or before is None else (now - before) * 100


@dataclass(frozen=True)
class DocumentInfo:
    title: str
    organisation: str
    as_of: date
    rule_revision: str | None = None
    pass_run_id: int | None = None


# ------------------------------------------------------------------------------ daily bulletin


@dataclass(frozen=True)
class DailyRow:
    key: str
    name: str
    projects: int
    due_to_start: int
    started: int
    start_rate: float | None
    planned_investment: float
    completed_investment: float
    investment_completion_rate: float | None
    pro_rata_gap_pp: float | None
    planned_funds: float
    funds_arrived: float
    funds_in_place_rate: float | None
    due_to_complete: int
    completed_on_time: int
    on_time_completion_rate: float | None
    start_rate_change_pp: float | None
    funds_in_place_rate_change_pp: float | None
    investment_completion_rate_change_pp: float | None
    on_time_completion_rate_change_pp: float | None
    red: int
    yellow: int
    green: int


@dataclass(frozen=True)
class DailyCounts:
    """The raw counts and sums of one row; :func:`daily_row` derives the rates from them."""

    projects: int = 0
    due_to_start: int = 0
    started: int = 0
    planned_investment: float = 0.0
    completed_investment: float = 0.0
    planned_funds: float = 0.0
    funds_arrived: float = 0.0
    due_to_complete: int = 0
    completed_on_time: int = 0
    red: int = 0
    yellow: int = 0
    green: int = 0

    def __add__(self, other: DailyCounts) -> DailyCounts:
        return DailyCounts(
            projects=self.projects + other.projects,
            due_to_start=self.due_to_start + other.due_to_start,
            started=self.started + other.started,
            planned_investment=self.planned_investment + other.planned_investment,
            completed_investment=self.completed_investment + other.completed_investment,
            planned_funds=self.planned_funds + other.planned_funds,
            funds_arrived=self.funds_arrived + other.funds_arrived,
            due_to_complete=self.due_to_complete + other.due_to_complete,
            completed_on_time=self.completed_on_time + other.completed_on_time,
            red=self.red + other.red, yellow=self.yellow + other.yellow,
            green=self.green + other.green)


def daily_row(key: str, name: str, counts: DailyCounts, pro_rata_target: float,
              previous: DailyRow | None = None) -> DailyRow:
    """A bulletin row from its counts; changes are against ``previous`` (the day before)."""
    start = ratio(counts.started, counts.due_to_start)
    investment = ratio(counts.completed_investment, counts.planned_investment)
    funds = ratio(counts.funds_arrived, counts.planned_funds)
    on_time = ratio(counts.completed_on_time, counts.due_to_complete)
    return DailyRow(
        key=key, name=name, projects=counts.projects,
        due_to_start=counts.due_to_start, started=counts.started, start_rate=start,
        planned_investment=counts.planned_investment,
        completed_investment=counts.completed_investment,
        investment_completion_rate=investment,
        pro_rata_gap_pp=change_pp(investment, pro_rata_target),
        planned_funds=counts.planned_funds, funds_arrived=counts.funds_arrived,
        funds_in_place_rate=funds,
        due_to_complete=counts.due_to_complete, completed_on_time=counts.completed_on_time,
        on_time_completion_rate=on_time,
        start_rate_change_pp=change_pp(start, previous.start_rate if previous else None),
        funds_in_place_rate_change_pp=change_pp(
            funds, previous.funds_in_place_rate if previous else None),
        investment_completion_rate_change_pp=change_pp(
            investment, previous.investment_completion_rate if previous else None),
        on_time_completion_rate_change_pp=change_pp(
            on_time, previous.on_time_completion_rate if previous else None),
        red=counts.red, yellow=counts.yellow, green=counts.green,
    )


@dataclass(frozen=True)
class DailySection:
    category: str
    category_name: str
    rows: tuple[DailyRow, ...]
    total: DailyRow


@dataclass(frozen=True)
class MissedReport:
    county: str
    county_name: str
    missed_days: int
    last_report_on: date | None


@dataclass(frozen=True)
class RatePoint:
    on: date
    start_rate: float | None
    funds_in_place_rate: float | None
    investment_completion_rate: float | None
    on_time_completion_rate: float | None


@dataclass(frozen=True)
class DailyBulletin:
    info: DocumentInfo
    previous_on: date | None
    pro_rata_target: float
    sections: tuple[DailySection, ...]
    counties: tuple[DailyRow, ...]
    total: DailyRow
    not_reported: tuple[MissedReport, ...]
    trend: tuple[RatePoint, ...]


# ------------------------------------------------------------------------------ weekly list


@dataclass(frozen=True)
class AssignmentRow:
    number: str
    assigned_on: date
    project_code: str
    project_name: str
    category: str
    category_name: str
    county: str
    county_name: str
    problem: str | None
    problem_type: str | None
    problem_type_name: str | None
    level: str
    recipient: str
    lead_units: tuple[str, ...]
    cooperating_units: tuple[str, ...]
    responsible_person: str | None
    deadline_on: date
    days_overdue: int
    status: str
    light: str | None
    reason: str
    progress: str | None
    escalated_from: str | None = None

    def recipient_units(self) -> tuple[str, ...]:
        """The units the item is assigned to: a joint recipient (``市发展改革委、市重点办``)
        split into its units."""
        return tuple(u for u in self.recipient.split(UNIT_SEPARATOR) if u)

    def addressed_to(self, unit: str) -> bool:
        """Whether ``unit`` receives this item: as its recipient, as one of the units of a
        joint recipient, or as a lead unit (co-operating units are not sent the item)."""
        return unit == self.recipient or unit in self.recipient_units() or (
            unit in self.lead_units)


@dataclass(frozen=True)
class ReviewedAssignment:
    outcome: str
    # the item as it stood on last week's list (level, holder, deadline, reason), with its
    # status and progress now and its working days overdue against last week's deadline
    item: AssignmentRow
    current: AssignmentRow  # the item now: an escalated one at its new level
    outcome_on: date | None


@dataclass(frozen=True)
class WeeklyReview:
    week: str
    resolved: int
    closed_out: int
    still_open: int
    escalated: int
    overdue: int
    items: tuple[ReviewedAssignment, ...]


def weekly_review(week: str, items: Iterable[ReviewedAssignment]) -> WeeklyReview:
    """Part one with its counts taken from the items, so the counts always add up."""
    listed = tuple(items)
    counts = {outcome: sum(1 for r in listed if r.outcome == outcome) for outcome in OUTCOMES}
    return WeeklyReview(week, counts["resolved"], counts["closed_out"], counts["still_open"],
                        counts["escalated"], counts["overdue"], listed)


@dataclass(frozen=True)
class LaggingProject:
    code: str
    name: str
    category: str
    category_name: str
    county: str
    county_name: str
    recipient: str
    responsible_unit: str
    lead_units: tuple[str, ...]
    milestone: str | None
    milestone_name: str | None
    planned_on: date | None
    lag_days: int
    investment_completion_rate: float | None
    pro_rata_gap_pp: float | None
    light: str | None
    lag: str
    disbursement_rate: float | None
    light_dimensions: tuple[str, ...]

    def concerns(self, unit: str) -> bool:
        """Whether the project is on ``unit``'s list: ``unit`` is its county's government (the
        recipient), a lead unit of its task force, or its responsible unit."""
        return unit in (self.recipient, self.responsible_unit) or unit in self.lead_units


@dataclass(frozen=True)
class LevelStatusCount:
    level: str
    status: str
    count: int


def level_status_counts(items: Iterable[AssignmentRow]) -> tuple[LevelStatusCount, ...]:
    """Open items by level and status, in ladder and lifecycle order, zero counts left out."""
    listed = list(items)
    return tuple(
        LevelStatusCount(level, status, n)
        for level in LEVELS for status in OPEN_STATUSES
        if (n := sum(1 for i in listed if i.level == level and i.status == status)))


@dataclass(frozen=True)
class WeeklyList:
    info: DocumentInfo
    week: str
    week_start: date
    week_end: date
    recipient: str | None
    review: WeeklyReview
    items: tuple[AssignmentRow, ...]
    lagging: tuple[LaggingProject, ...]
    open_by_level_status: tuple[LevelStatusCount, ...]
    # units responsible for a project, who get a list even with nothing on it
    units: tuple[str, ...] = ()

    def recipients(self) -> tuple[str, ...]:
        """Every unit that gets its own list, one unit each (a joint recipient is split):
        ``units`` first, then the units holding items last week or this week (county level
        first), then the units responsible for a slow project."""
        rows = [r.item for r in self.review.items] + list(self.items)
        rows.sort(key=lambda r: LEVELS.index(r.level) if r.level in LEVELS else len(LEVELS))
        units = dict.fromkeys(self.units)
        for row in rows:
            for unit in (*row.recipient_units(), *row.lead_units):
                units.setdefault(unit)
        for project in self.lagging:
            for unit in (project.recipient, *project.lead_units, project.responsible_unit):
                if unit:
                    units.setdefault(unit)
        return tuple(units)

    def for_recipient(self, unit: str) -> WeeklyList:
        """The list one unit receives: in part one the items it held last week (addressed to
        it as they stood then, whatever became of them: an item escalated away stays on the
        list of the unit that held it), in part two the items addressed to it now that are new
        this week, in part three the slow projects that concern it; the open items it holds
        now counted by level and status."""
        review = weekly_review(self.review.week,
                               (r for r in self.review.items if r.item.addressed_to(unit)))
        items = tuple(i for i in self.items if i.addressed_to(unit))
        held = {r.current.number: r.current for r in review.items
                if r.current.addressed_to(unit)}
        held.update((i.number, i) for i in items)
        return replace(
            self, recipient=unit, review=review, items=items,
            lagging=tuple(p for p in self.lagging if p.concerns(unit)),
            open_by_level_status=level_status_counts(
                i for i in held.values() if i.status in OPEN_STATUSES))


# ------------------------------------------------------------------------------ monthly ranking


@dataclass(frozen=True)
class MetricWeight:
    metric: str
    weight: float


@dataclass(frozen=True)
class MetricScore:
    metric: str
    rate: float | None
    weight: float
    points: float | None


@dataclass(frozen=True)
class CountyScore:
    rank: int | None
    county: str
    county_name: str
    score: float | None
    metrics: tuple[MetricScore, ...]
    previous_rank: int | None
    rank_change: int | None
    assigned: int
    closed_out: int
    closure_rate: float | None
    light: str | None


@dataclass(frozen=True)
class ScorePoint:
    period: str
    score: float | None
    rank: int | None


@dataclass(frozen=True)
class CountyTrend:
    county: str
    county_name: str
    points: tuple[ScorePoint, ...]


@dataclass(frozen=True)
class MonthlyRanking:
    info: DocumentInfo
    period_kind: str
    period: str
    period_start: date
    period_end: date
    weights: tuple[MetricWeight, ...]
    rows: tuple[CountyScore, ...]
    top: tuple[CountyScore, ...]
    bottom: tuple[CountyScore, ...]
    last_place: CountyScore | None
    reminder_talks: tuple[CountyScore, ...]
    assigned: int
    closed_out: int
    closure_rate: float | None
    trend: tuple[CountyTrend, ...]
    rate_trend: tuple[RatePoint, ...]


def top_and_bottom(rows: Sequence[CountyScore], size: int = 3
                   ) -> tuple[tuple[CountyScore, ...], tuple[CountyScore, ...]]:
    """The first and last ``size`` ranked counties; with few counties the two never overlap."""
    ordered = sorted((r for r in rows if r.rank is not None), key=lambda r: r.rank or 0)
    size = min(size, len(ordered) // 2)
    return tuple(ordered[:size]), tuple(ordered[len(ordered) - size:])


Document = DailyBulletin | WeeklyList | MonthlyRanking
