"""The daily reports (日调度) of the Kaifeng 2022 campaign, simulated from a ledger.

:func:`plan_campaign` decides, from the seed, what happens to every project: when each of its
next milestones is reached, which projects stall on a land or funds problem (and whether that is
resolved), which cannot meet their plan, which report a minor problem, and how fast each invests.
The :class:`Scenario` fixes the story the demo tells: which counties lag and which days one of
them fails to report. :func:`simulate_campaign` then produces one batch of report rows per
working day.

Guarantees: a milestone is never dated before the previous one nor after the report carrying it;
each report row carries at most one milestone, so milestones are always reported in path order;
cumulative values never decrease and funds disbursed never exceed funds arrived.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import chinese_calendar

from kfworkflow.demo.ledger_gen import BASE_TOTAL, YEAR_END, YEAR_START, LedgerRow
from kfworkflow.demo.names import (
    COUNTY_BY_ID,
    INFEASIBLE_REASONS,
    LAGGING_COUNTIES,
    PROBLEM_LEVEL_WEIGHTS,
    PROBLEM_TITLES,
    PROBLEM_TYPE_WEIGHTS,
    STALL_PROBLEMS,
    draw_int,
    pick,
    pick_weighted,
)
from kfworkflow.errors import CalendarError, InputError

CAMPAIGN_START = date(2022, 11, 14)
CAMPAIGN_END = date(2022, 12, 31)

# Delay of a milestone against its plan, in days, for a county that keeps pace.
_DELAYS = tuple(range(-3, 7))
_DELAY_WEIGHTS = tuple(itertools.accumulate((1, 2, 3, 5, 5, 4, 3, 2, 1, 1)))


@dataclass(frozen=True, slots=True)
class ReportRow:
    """One project's line in one day's report; ids for milestone, problem type and level."""

    code: str
    report_on: date
    completed_investment: float | None = None
    funds_arrived: float | None = None
    funds_disbursed: float | None = None
    milestone: str | None = None
    milestone_on: date | None = None
    problem_type: str | None = None
    problem_level: str | None = None
    problem_title: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Problem:
    type: str
    level: str
    title: str
    opened_on: date
    resolved_on: date | None = None


@dataclass(frozen=True)
class Scenario:
    """The fixed story of the campaign; counts are for the full 1404-project ledger."""

    lagging_counties: tuple[str, ...] = LAGGING_COUNTIES
    missed_reports: tuple[tuple[str, date], ...] = (
        ("weishi", date(2022, 11, 18)),
        ("weishi", date(2022, 11, 29)),
        ("weishi", date(2022, 12, 9)),
        ("weishi", date(2022, 12, 22)),
    )
    stalled_projects: int = 15
    resolved_stalls: int = 5
    infeasible_projects: int = 5
    problem_rate: float = 0.0015  # chance that a project raises a minor problem on a report day

    @classmethod
    def for_ledger(cls, size: int) -> Scenario:
        """The default story with its counts scaled to a ledger of ``size`` projects."""
        share = size / BASE_TOTAL
        stalled = max(1, round(cls.stalled_projects * share)) if size else 0
        infeasible = max(1, round(cls.infeasible_projects * share)) if size else 0
        return cls(stalled_projects=stalled, resolved_stalls=round(stalled / 3),
                   infeasible_projects=infeasible)

    def check(self) -> None:
        unknown = sorted({c for c in self.lagging_counties if c not in COUNTY_BY_ID}
                         | {c for c, _ in self.missed_reports if c not in COUNTY_BY_ID})
        if unknown:
            raise InputError(f"scenario names unknown counties {', '.join(unknown)}; expected "
                             f"one of {', '.join(COUNTY_BY_ID)}")
        if self.resolved_stalls > self.stalled_projects:
            raise InputError(f"scenario resolves {self.resolved_stalls} stalls but only "
                             f"{self.stalled_projects} projects stall")
        if not 0 <= self.problem_rate <= 1:
            raise InputError(f"scenario problem_rate must be between 0 and 1, got "
                             f"{self.problem_rate}")


@dataclass(frozen=True)
class ProjectScript:
    """What happens to one project during the campaign."""

    events: tuple[tuple[str, date], ...]  # milestones reached, in path order
    pace: float  # investment speed against the project's own pro-rata share
    bias: float  # percentage points ahead (+) or behind (-) that share
    stall: Problem | None = None
    problem: Problem | None = None
    infeasible_note: str | None = None
    note_on: date | None = None


@dataclass(frozen=True)
class CampaignPlan:
    report_days: tuple[date, ...]
    missed: Mapping[str, frozenset[date]]
    scripts: Mapping[str, ProjectScript] = field(repr=False)

    def reports(self, county: str, day: date) -> bool:
        return day not in self.missed.get(county, frozenset())


def working_days(start: date, end: date) -> list[date]:
    """Every working day from ``start`` to ``end``, by the State Council's schedule."""
    days = []
    day = start
    while day <= end:
        try:
            if chinese_calendar.is_workday(day):
                days.append(day)
        except NotImplementedError:
            raise CalendarError(
                f"the working-day calendar does not know {day.year} (chinese-calendar knows "
                "2004-2026); simulate a campaign within those years") from None
        day += timedelta(days=1)
    return days


def plan_campaign(ledger: Sequence[LedgerRow], seed: int = 2022, start: date = CAMPAIGN_START,
                  end: date = CAMPAIGN_END, scenario: Scenario | None = None) -> CampaignPlan:
    if end < start:
        raise InputError(f"the campaign ends ({end}) before it starts ({start})")
    scenario = scenario or Scenario.for_ledger(len(ledger))
    scenario.check()
    days = working_days(start, end)
    return _Planner(ledger, random.Random(f"kfw-campaign-{seed}"), days, start, end,
                    scenario).plan()


def simulate_campaign(ledger: Sequence[LedgerRow], seed: int = 2022,
                      start: date = CAMPAIGN_START, end: date = CAMPAIGN_END,
                      scenario: Scenario | None = None
                      ) -> Iterator[tuple[date, list[ReportRow]]]:
    """One ``(day, rows)`` batch per working day; a county that misses a day has no rows in it.

    Arguments are checked at the call, before the first batch is asked for.
    """
    scenario = scenario or Scenario.for_ledger(len(ledger))
    plan = plan_campaign(ledger, seed, start, end, scenario)
    lagging = set(scenario.lagging_counties)
    trackers = [_Tracker(row, plan.scripts[row.code], row.county in lagging) for row in ledger]
    return _batches(plan, trackers)


def _batches(plan: CampaignPlan, trackers: list[_Tracker]
             ) -> Iterator[tuple[date, list[ReportRow]]]:
    for day in plan.report_days:
        yield day, [t.report(day) for t in trackers if plan.reports(t.row.county, day)]


def campaign_rows(batches: Iterator[tuple[date, list[ReportRow]]]) -> Iterator[ReportRow]:
    """The report rows of all batches, in order (for writing them to one file)."""
    for _, rows in batches:
        yield from rows


class _Planner:
    def __init__(self, ledger: Sequence[LedgerRow], rng: random.Random, days: list[date],
                 start: date, end: date, scenario: Scenario) -> None:
        self.ledger = ledger
        self.rng = rng
        self.days = days
        self.start = start
        self.end = end
        self.scenario = scenario
        self.lagging = set(scenario.lagging_counties)

    def plan(self) -> CampaignPlan:
        rng = self.rng
        paces = {row.code: self.pace(row) for row in self.ledger}
        infeasible = self.pick_infeasible()
        stalls = self.pick_stalls(set(infeasible))
        problems = self.pick_problems(set(infeasible) | set(stalls))
        scripts: dict[str, ProjectScript] = {}
        for row in self.ledger:
            events = self.natural_events(row)
            stall, problem = stalls.get(row.code), problems.get(row.code)
            note: tuple[str, date] | None = infeasible.get(row.code)
            if note is not None:
                events = []
            elif stall is not None and events:
                resumed = (stall.resolved_on + timedelta(days=draw_int(rng, 2, 7))
                           if stall.resolved_on else None)
                events = _push_back(events, resumed, self.end) if resumed else []
            elif problem is not None and events and events[0][1] >= problem.opened_on:
                events = _push_back(events, events[0][1] + timedelta(days=draw_int(rng, 2, 8)),
                                    self.end)
            pace, bias = paces[row.code]
            scripts[row.code] = ProjectScript(
                tuple(events), pace, bias, stall, problem,
                note[0] if note else None, note[1] if note else None)
        missed: dict[str, set[date]] = {}
        for county, day in self.scenario.missed_reports:
            if day in self.days:
                missed.setdefault(county, set()).add(day)
        return CampaignPlan(tuple(self.days), {c: frozenset(d) for c, d in missed.items()},
                            scripts)

    def pace(self, row: LedgerRow) -> tuple[float, float]:
        if row.county in self.lagging:
            return self.rng.uniform(0.93, 0.97), -self.rng.uniform(0.03, 0.08)
        return self.rng.uniform(1.02, 1.16), max(-0.06, min(0.06, self.rng.gauss(0.0, 0.03)))

    def first_pending(self, row: LedgerRow) -> tuple[str, date] | None:
        path = row.path
        position = path.index(row.state) + 1 if row.state in path else len(path)
        if position >= len(path):
            return None
        milestone = path[position]
        planned = row.planned_on(milestone)
        return (milestone, planned) if planned is not None else None

    def pick_infeasible(self) -> dict[str, tuple[str, date]]:
        """Projects due to start by the end of November that will not start at all."""
        deadline = min(self.end, date(self.start.year, 11, 30))
        candidates = [row for row in self.ledger
                      if (pending := self.first_pending(row)) is not None
                      and pending[0] == "started" and pending[1] <= deadline
                      and row.category in ("key_project", "policy_finance")]
        chosen = self.sample(candidates, self.scenario.infeasible_projects)
        notes = {}
        for row in chosen:
            planned = row.planned_on("started") or self.start
            notes[row.code] = (pick(self.rng, INFEASIBLE_REASONS),
                               max(self.start, planned - timedelta(days=7)))
        return notes

    def pick_stalls(self, excluded: set[str]) -> dict[str, Problem]:
        """Projects stopped by a land (city) or funds (province) problem; some get resolved."""
        last_planned = self.end - timedelta(days=10)
        candidates = [row for row in self.ledger if row.code not in excluded
                      and (pending := self.first_pending(row)) is not None
                      and pending[1] <= last_planned]
        chosen = self.sample(candidates, self.scenario.stalled_projects)
        opening_days = self.days[: min(10, len(self.days))]
        stalls = {}
        for index, row in enumerate(chosen):
            type_, level, titles = STALL_PROBLEMS[0 if index % 5 < 3 else 1]
            opened = pick(self.rng, opening_days)
            resolved = None
            if index < self.scenario.resolved_stalls:
                candidate = opened + timedelta(days=draw_int(self.rng, 8, 18))
                resolved = candidate if candidate <= self.end else None
            stalls[row.code] = Problem(type_, level, pick(self.rng, titles), opened, resolved)
        return stalls

    def pick_problems(self, excluded: set[str]) -> dict[str, Problem]:
        rng = self.rng
        rate = self.scenario.problem_rate
        before_start = list(PROBLEM_TYPE_WEIGHTS)
        before_weights = list(itertools.accumulate(PROBLEM_TYPE_WEIGHTS.values()))
        # once building, paperwork is done: problems are about the site, resources and money
        building = [t for t in before_start if t in ("construction_env", "resources", "funds")]
        building_weights = list(itertools.accumulate(PROBLEM_TYPE_WEIGHTS[t] for t in building))
        open_rows = [row for row in self.ledger
                     if row.code not in excluded and self.first_pending(row) is not None]
        problems: dict[str, Problem] = {}
        for day in self.days:
            for row in open_rows:
                if rng.random() >= rate or row.code in problems:
                    continue
                if row.started_on is None:
                    type_ = pick_weighted(rng, before_start, before_weights)
                else:
                    type_ = pick_weighted(rng, building, building_weights)
                levels = PROBLEM_LEVEL_WEIGHTS[type_]
                level = pick_weighted(rng, list(levels),
                                      list(itertools.accumulate(levels.values())))
                problems[row.code] = Problem(type_, level, pick(rng, PROBLEM_TITLES[type_]), day)
        return problems

    def sample(self, rows: list[LedgerRow], count: int) -> list[LedgerRow]:
        return self.rng.sample(rows, min(count, len(rows)))

    def natural_events(self, row: LedgerRow) -> list[tuple[str, date]]:
        """When the project's next milestones happen if nothing special gets in the way."""
        rng = self.rng
        lagging = row.county in self.lagging
        path = row.path
        if row.state not in path:
            return []
        reached = [on for m in path[: path.index(row.state) + 1]
                   if (on := row.actual_on(m)) is not None]
        previous = max(reached, default=self.start)
        events: list[tuple[str, date]] = []
        for milestone in path[path.index(row.state) + 1:]:
            planned = row.planned_on(milestone)
            if planned is None or planned > self.end + timedelta(days=7):
                break
            if planned < self.start:
                if rng.random() < (0.25 if lagging else 0.1):
                    break  # stays late through the whole campaign
                delay = draw_int(rng, 0, 15) + (draw_int(rng, 7, 25) if lagging else 0)
                on = self.start + timedelta(days=delay)
            else:
                delay = pick_weighted(rng, _DELAYS, _DELAY_WEIGHTS)
                if rng.random() < 0.08:
                    delay += draw_int(rng, 7, 20)
                if lagging:
                    delay += draw_int(rng, 5, 20)
                on = planned + timedelta(days=delay)
            on = max(on, previous, self.start)
            if on > self.end:
                break
            events.append((milestone, on))
            previous = on
        return events


def _push_back(events: list[tuple[str, date]], first_on: date, end: date
               ) -> list[tuple[str, date]]:
    """Delay the first event to ``first_on`` or later, keep the order, drop what passes ``end``."""
    moved: list[tuple[str, date]] = []
    floor = first_on
    for milestone, on in events:
        on = max(on, floor)
        if on > end:
            break
        moved.append((milestone, on))
        floor = on
    return moved


class _Tracker:
    """One project's running totals and what it still has to report."""

    __slots__ = ("arrived", "disbursed", "invested", "lagging", "next_event", "note_done",
                 "problem_done", "reached", "resolution_done", "row", "script", "stall_done")

    def __init__(self, row: LedgerRow, script: ProjectScript, lagging: bool) -> None:
        self.row = row
        self.script = script
        self.lagging = lagging
        self.reached = {m: on for m in row.path if (on := row.actual_on(m)) is not None}
        self.reached.update(script.events)  # dates in the future count only once passed
        self.next_event = 0
        self.invested = 0.0
        self.arrived = 0.0
        self.disbursed = 0.0
        self.problem_done = self.stall_done = self.resolution_done = self.note_done = False

    def report(self, day: date) -> ReportRow:
        script = self.script
        milestone = milestone_on = None
        if self.next_event < len(script.events) and script.events[self.next_event][1] <= day:
            milestone, milestone_on = script.events[self.next_event]
            self.next_event += 1
        problem, note = self.news(day)
        effective = self.effective_day(day)
        self.invested = max(self.invested, round(self.row.annual_investment
                                                 * self.investment_ratio(effective), 2))
        arrived = disbursed = None
        if self.row.planned_funds is not None:
            arrived_ratio, disbursed_ratio = self.funds_ratios(effective)
            self.arrived = max(self.arrived, round(self.row.planned_funds * arrived_ratio, 2))
            self.disbursed = max(self.disbursed, min(
                self.arrived, round(self.row.planned_funds * disbursed_ratio, 2)))
            arrived, disbursed = self.arrived, self.disbursed
        return ReportRow(
            code=self.row.code, report_on=day, completed_investment=self.invested,
            funds_arrived=arrived, funds_disbursed=disbursed, milestone=milestone,
            milestone_on=milestone_on,
            problem_type=problem.type if problem else None,
            problem_level=problem.level if problem else None,
            problem_title=problem.title if problem else None, note=note)

    def news(self, day: date) -> tuple[Problem | None, str | None]:
        """The problem and note to report today, each at the first report on or after its date."""
        script = self.script
        problem: Problem | None = None
        note: str | None = None
        if script.stall and not self.stall_done and script.stall.opened_on <= day:
            problem, self.stall_done = script.stall, True
        elif script.problem and not self.problem_done and script.problem.opened_on <= day:
            problem, self.problem_done = script.problem, True
        stall = script.stall
        if (stall and stall.resolved_on and self.stall_done and not self.resolution_done
                and stall.resolved_on <= day):
            note, self.resolution_done = f"已协调解决：{stall.title}", True
        elif (script.infeasible_note and script.note_on and not self.note_done
              and script.note_on <= day):
            note, self.note_done = script.infeasible_note, True
        return problem, note

    def effective_day(self, day: date) -> date:
        """The day progress has reached: a stalled project stands still until resolved."""
        stall = self.script.stall
        if stall is None or day < stall.opened_on:
            return day
        if stall.resolved_on is None or day < stall.resolved_on:
            return stall.opened_on
        return day - (stall.resolved_on - stall.opened_on)

    def since(self, milestone: str, day: date) -> int | None:
        on = self.reached.get(milestone)
        return (day - on).days if on is not None and on <= day else None

    def investment_ratio(self, day: date) -> float:
        """Share of the annual plan done: the year's pro-rata share, at the project's pace.

        Nothing is counted before the start; a project started this year ramps up over about
        three months.
        """
        started = self.reached.get("started")
        if started is None or started > day:
            return 0.0
        pro_rata = ((day - YEAR_START).days + 1) / ((YEAR_END - YEAR_START).days + 1)
        ramp = 1.0 if started < YEAR_START else min(1.0, 0.6 + (day - started).days / 60)
        return min(1.1, max(0.0, pro_rata * self.script.pace * ramp + self.script.bias))

    def funds_ratios(self, day: date) -> tuple[float, float]:
        """Shares of the planned funds arrived and disbursed by ``day``."""
        speed = 0.6 if self.lagging else 1.0
        category = self.row.category

        def grow(milestone: str, base: float, days_to_full: int) -> float:
            days = self.since(milestone, day)
            if days is None:
                return 0.0
            return min(1.0, base + (1 - base) * speed * days / days_to_full)

        if category == "policy_finance":
            return (1.0 if self.since("funded", day) is not None else 0.0,
                    grow("funded", 0.15, 90))
        if category in ("central_budget", "special_bond"):
            return (1.0 if self.since("allocated", day) is not None else 0.0,
                    grow("disbursed", 0.35, 50))
        if category == "long_term_loan":
            return grow("funded", 0.5, 60), grow("tendering", 0.2, 90)
        if category == "equipment_loan_subsidy":
            return (1.0 if self.since("funded", day) is not None else 0.0,
                    grow("funded", 0.3, 45))
        return grow("started", 0.4, 60), grow("started", 0.2, 75)
