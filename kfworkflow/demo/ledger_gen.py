"""The synthetic project ledger (台账) of the Kaifeng 2022 campaign.

At scale 1.0 the ledger holds exactly the seed plan's numbers (62 policy-finance projects; the
“三个一批” batches 29 / 72 / 73; 1011 key projects of which 714 are planned new starts in 2022
and 201 are due to complete by 2022-11-30) plus the funding categories. It describes the state on
the campaign's first day, :data:`LEDGER_AS_OF`: every actual date lies before it.

Everything is drawn from one ``random.Random(seed)`` in a fixed order, so the same seed always
gives the same rows. When each kind of project planned and reached its milestones is drawn in
:mod:`kfworkflow.demo.ledger_dates`; the names, places and units come from
:mod:`kfworkflow.demo.names`.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date

from kfworkflow.demo.ledger_dates import (
    BEFORE_AS_OF,
    DATE_PLANS,
    LEDGER_AS_OF,
    YEAR_END,
    DateDraws,
    Dates,
    day_delta,
)

# re-exported: callers import the campaign's dates from here
from kfworkflow.demo.ledger_dates import YEAR_START as YEAR_START
from kfworkflow.demo.names import (
    BATCH_PRODUCE,
    BATCH_SIGN,
    BATCH_START,
    CATEGORY_BY_ID,
    CATEGORY_DEPARTMENTS,
    CITY_DEPARTMENTS,
    COUNTIES,
    DATED_MILESTONES,
    DOMAIN_WEIGHTS,
    LAGGING_COUNTIES,
    TASK_TITLES,
    County,
    draw_int,
    person_name,
    phase_suffix,
    pick,
    pick_weighted,
    project_name,
)
from kfworkflow.errors import InputError

# The seed's 15.97亿元 special-bond quota issued by the end of October, in 万元.
SPECIAL_BOND_QUOTA = 159_700
MIN_INVESTMENT, MAX_INVESTMENT = 500, 500_000
_PLANNED_FIELDS = {m: f"planned_{m}_on" for m in DATED_MILESTONES}
_ACTUAL_FIELDS = {m: f"{m}_on" for m in DATED_MILESTONES}


@dataclass(frozen=True, slots=True)
class Task:
    """One line of a project's 清单."""

    title: str
    owner: str
    due_on: date
    done_on: date | None = None


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One project as the ledger records it; ids for category, county and state."""

    code: str
    name: str
    category: str
    county: str
    responsible_unit: str
    responsible_person: str
    total_investment: float
    annual_investment: float
    state: str
    batch: str | None = None
    owner_unit: str | None = None
    planned_funds: float | None = None
    planned_signed_on: date | None = None
    planned_allocated_on: date | None = None
    planned_approved_on: date | None = None
    planned_funded_on: date | None = None
    planned_disbursed_on: date | None = None
    planned_tendering_on: date | None = None
    planned_started_on: date | None = None
    planned_completed_on: date | None = None
    planned_in_production_on: date | None = None
    signed_on: date | None = None
    allocated_on: date | None = None
    approved_on: date | None = None
    funded_on: date | None = None
    disbursed_on: date | None = None
    tendering_on: date | None = None
    started_on: date | None = None
    completed_on: date | None = None
    in_production_on: date | None = None
    tags: frozenset[str] = frozenset()
    tasks: tuple[Task, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return CATEGORY_BY_ID[self.category].path

    def planned_on(self, milestone: str) -> date | None:
        field_name = _PLANNED_FIELDS.get(milestone)
        value: date | None = getattr(self, field_name) if field_name else None
        return value

    def actual_on(self, milestone: str) -> date | None:
        """The actual date of ``milestone``; None for ``planned``, which is a state only."""
        field_name = _ACTUAL_FIELDS.get(milestone)
        value: date | None = getattr(self, field_name) if field_name else None
        return value


@dataclass(frozen=True)
class Segment:
    """A group of similar projects and how many of them the seed plan names."""

    kind: str
    category: str
    count: int
    batch: str | None = None
    tag: str | None = None


SEGMENTS: tuple[Segment, ...] = (
    Segment("policy_finance", "policy_finance", 62),
    Segment("batch_sign", "three_batches", 29, BATCH_SIGN),
    Segment("batch_start", "three_batches", 72, BATCH_START),
    Segment("batch_produce", "three_batches", 73, BATCH_PRODUCE),
    Segment("key_new_start", "key_project", 714, tag="new_start"),
    Segment("key_completion", "key_project", 201, tag="planned_completion"),
    Segment("key_continuing", "key_project", 96, tag="continuing"),
    Segment("central_budget", "central_budget", 45),
    Segment("special_bond", "special_bond", 60),
    Segment("long_term_loan", "long_term_loan", 25),
    Segment("equipment_loan_subsidy", "equipment_loan_subsidy", 15),
    Segment("housing_delivery", "housing_delivery", 12),
)
BASE_TOTAL = sum(s.count for s in SEGMENTS)


@dataclass(frozen=True)
class _Money:
    median: float  # total investment, 万元
    sigma: float  # of the log-normal
    annual_share: tuple[float, float]  # 2022 plan as a share of the total
    funds_share: tuple[float, float] | None = None  # planned funds as a share of the total


# Medians chosen so that the 2022 plans add up to what the seed's targets presuppose: key
# projects ~2,400亿 planned against "全年完成投资2300亿元以上", central-budget and special-bond
# projects ~180亿 against "150亿元以上" — reachable, but only if the campaign delivers.
MONEY: dict[str, _Money] = {
    "policy_finance": _Money(60_000, 0.8, (0.15, 0.40), (0.05, 0.15)),
    "batch_sign": _Money(30_000, 1.0, (0.02, 0.08)),
    "batch_start": _Money(25_000, 1.0, (0.10, 0.35)),
    "batch_produce": _Money(20_000, 1.0, (0.20, 0.50)),
    "key_new_start": _Money(45_000, 1.1, (0.25, 0.60)),
    "key_completion": _Money(37_500, 1.0, (0.15, 0.50)),
    "key_continuing": _Money(100_000, 1.0, (0.20, 0.45)),
    "central_budget": _Money(10_000, 0.8, (0.30, 0.80), (0.20, 0.60)),
    "special_bond": _Money(50_000, 0.9, (0.20, 0.50), (0.10, 0.40)),
    "long_term_loan": _Money(30_000, 0.9, (0.15, 0.40), (0.30, 0.60)),
    "equipment_loan_subsidy": _Money(3_000, 0.7, (0.50, 1.00), (0.50, 0.80)),
    "housing_delivery": _Money(60_000, 0.6, (0.20, 0.40), (0.08, 0.25)),
}

_EARLIEST_FILING = date(2017, 1, 1)


def segment_counts(n: int) -> list[int]:
    """How many of ``n`` projects fall in each segment (largest remainder, exact at 1404·k)."""
    if n < 0:
        raise InputError(f"the number of projects must be 0 or more, got {n}")
    exact = [s.count * n / BASE_TOTAL for s in SEGMENTS]
    counts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(SEGMENTS)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: n - sum(counts)]:
        counts[i] += 1
    return counts


class _RowMaker:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.dates = DateDraws(rng)
        self.codes: set[str] = set()
        self.name_uses: dict[str, int] = {}
        self.people: dict[str, list[str]] = {}
        self.tag_sets: dict[tuple[str, str | None, bool], frozenset[str]] = {}
        self.county_weights = list(itertools.accumulate(c.weight for c in COUNTIES))
        self.domains = {category: (list(weights), list(itertools.accumulate(weights.values())))
                        for category, weights in DOMAIN_WEIGHTS.items()}

    def segment(self, segment: Segment, count: int) -> Iterator[LedgerRow]:
        rows = (self.row(segment) for _ in range(count))
        if segment.kind != "special_bond":
            yield from rows
            return
        yield from _share_bond_quota(list(rows), round(SPECIAL_BOND_QUOTA * count / 60))

    def row(self, segment: Segment) -> LedgerRow:
        rng = self.rng
        county = pick_weighted(rng, COUNTIES, self.county_weights)
        domain = pick_weighted(rng, *self.domains[segment.category])
        name, owner = self.name_and_owner(county, domain)
        self.dates.slow = county.id in LAGGING_COUNTIES
        planned, actual = DATE_PLANS[segment.kind](self.dates)
        path = CATEGORY_BY_ID[segment.category].path
        reached = [m for m in path if m in actual]
        state = reached[-1] if reached else path[0]
        money = MONEY[segment.kind]
        total = float(round(min(max(rng.lognormvariate(math.log(money.median), money.sigma),
                                    MIN_INVESTMENT), MAX_INVESTMENT)))
        annual_share = rng.uniform(*money.annual_share)
        if segment.kind == "key_new_start":
            # a project planned to start late in the year plans little investment for it
            annual_share *= min(1.0, max(0.2, (YEAR_END - planned["started"]).days / 240))
        annual = float(max(1, round(total * annual_share)))
        funds = (float(max(1, round(total * rng.uniform(*money.funds_share))))
                 if money.funds_share else None)
        unit = self.responsible_unit(county, segment.category, domain)
        person = pick(rng, self.people_of(unit))
        overdue = any(planned[m] < LEDGER_AS_OF for m in path[path.index(state) + 1:]
                      if m in planned)
        tags = self.tag_set(domain, segment.tag, overdue)
        return LedgerRow(
            code=self.code(county, min(planned.values())),
            name=name,
            category=segment.category,
            county=county.id,
            responsible_unit=unit,
            responsible_person=person,
            total_investment=total,
            annual_investment=annual,
            state=state,
            batch=segment.batch,
            owner_unit=owner,
            planned_funds=funds,
            tags=tags,
            tasks=self.tasks(path, planned, actual, person),
            **{_PLANNED_FIELDS[m]: on for m, on in planned.items()},
            **{_ACTUAL_FIELDS[m]: on for m, on in actual.items()},
        )

    def tag_set(self, domain: str, role: str | None, overdue: bool) -> frozenset[str]:
        key = (domain, role, overdue)
        if key not in self.tag_sets:
            tags = {f"domain:{domain}"} | ({role} if role else set())
            self.tag_sets[key] = frozenset(tags | {"overdue"} if overdue else tags)
        return self.tag_sets[key]

    def name_and_owner(self, county: County, domain: str) -> tuple[str, str]:
        for _ in range(2):
            name, owner = project_name(self.rng, county, domain)
            if name not in self.name_uses:
                break
        uses = self.name_uses.get(name, 0) + 1
        self.name_uses[name] = uses
        return (name if uses == 1 else name + phase_suffix(uses)), owner

    def code(self, county: County, first_planned: date) -> str:
        filed = max(first_planned - day_delta(draw_int(self.rng, 60, 540)), _EARLIEST_FILING)
        prefix = f"{filed.year % 100:02d}{filed.month:02d}-{county.admin_code}-04-01-"
        while True:
            code = f"{prefix}{int(self.rng.random() * 1_000_000):06d}"
            if code not in self.codes:
                self.codes.add(code)
                return code

    def responsible_unit(self, county: County, category: str, domain: str) -> str:
        if self.rng.random() >= (0.5 if county.urban else 0.2):
            return county.government
        departments = CATEGORY_DEPARTMENTS.get(category) or CITY_DEPARTMENTS[domain]
        return pick(self.rng, departments)

    def people_of(self, unit: str) -> list[str]:
        if unit not in self.people:
            self.people[unit] = [person_name(self.rng) for _ in range(4)]
        return self.people[unit]

    def tasks(self, path: Sequence[str], planned: Dates, actual: Dates, person: str
              ) -> tuple[Task, ...]:
        rng = self.rng
        near = sorted((abs((planned[m] - LEDGER_AS_OF).days), m) for m in path[1:] if m in planned)
        pool = [(m, title) for _, m in near[:2] for title in TASK_TITLES[m]]
        tasks = []
        for _ in range(min(len(pool), draw_int(rng, 2, 4))):
            milestone, title = pool.pop(int(rng.random() * len(pool)))
            due = planned[milestone] - day_delta(draw_int(rng, 3, 20))
            done: date | None = None
            if milestone in actual:
                done = min(actual[milestone], due + day_delta(draw_int(rng, -10, 5)))
            elif due < LEDGER_AS_OF and rng.random() < 0.5:
                done = min(due + day_delta(draw_int(rng, -5, 10)), BEFORE_AS_OF)
            owner = person if rng.random() < 0.5 else person_name(rng)
            tasks.append(Task(title, owner, due, done))
        tasks.sort(key=_task_order)
        return tuple(tasks)


def _task_order(task: Task) -> tuple[date, str]:
    return task.due_on, task.title


def _share_bond_quota(rows: list[LedgerRow], quota: int) -> list[LedgerRow]:
    """Split the issued bond quota over the projects, in proportion to their drawn amounts."""
    weights = [row.planned_funds or 1.0 for row in rows]
    total_weight = sum(weights)
    if not rows or total_weight <= 0:
        return rows
    exact = [quota * w / total_weight for w in weights]
    amounts = [math.floor(x) for x in exact]
    by_remainder = sorted(range(len(rows)), key=lambda i: (amounts[i] - exact[i], i))
    for i in by_remainder[: quota - sum(amounts)]:
        amounts[i] += 1
    return [replace(row, planned_funds=float(amount)) for row, amount in zip(rows, amounts,
                                                                               strict=True)]


def iter_ledger(seed: int = 2022, n: int = BASE_TOTAL) -> Iterator[LedgerRow]:
    """Yield ``n`` projects in the seed plan's proportions (exactly its counts at ``n=1404``)."""
    return _rows(seed, segment_counts(n))


def _rows(seed: int, counts: list[int]) -> Iterator[LedgerRow]:
    maker = _RowMaker(random.Random(seed))
    for segment, count in zip(SEGMENTS, counts, strict=True):
        yield from maker.segment(segment, count)


def generate_ledger(seed: int = 2022, scale: float = 1.0) -> list[LedgerRow]:
    """The whole ledger; ``scale`` multiplies every count (1.0 = the seed plan's numbers)."""
    if not scale > 0 or math.isinf(scale):
        raise InputError(f"scale must be a positive number, got {scale!r}")
    return list(iter_ledger(seed, round(BASE_TOTAL * scale)))


SAMPLE_COUNTIES = ("lankao", "weishi", "longting")
SAMPLE_CATEGORIES = ("key_project", "policy_finance", "special_bond")


def sample_ledger(rows: Sequence[LedgerRow], *, counties: Sequence[str] = SAMPLE_COUNTIES,
                  categories: Sequence[str] = SAMPLE_CATEGORIES, per_category: int = 10,
                  seed: int = 2022) -> list[LedgerRow]:
    """A small ledger for examples: ``per_category`` projects of each category from ``counties``.

    Within a category the picks rotate over states and counties, so the sample shows projects
    not yet started, started and completed, in every county; rows keep the ledger's order.
    """
    rng = random.Random(seed)
    chosen: set[str] = set()
    for category in categories:
        groups: dict[tuple[str, str], list[LedgerRow]] = {}
        for row in rows:
            if row.category == category and row.county in counties:
                groups.setdefault((row.state, row.county), []).append(row)
        pools = [rng.sample(group, len(group)) for _, group in sorted(groups.items())]
        picked = 0
        while picked < per_category and any(pools):
            for pool in pools:
                if pool and picked < per_category:
                    chosen.add(pool.pop().code)
                    picked += 1
    return [row for row in rows if row.code in chosen]
