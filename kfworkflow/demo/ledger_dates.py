"""When each kind of project planned and reached its milestones, as the ledger records them.

One plan per segment kind (:data:`DATE_PLANS`) draws a project's planned and actual milestone
dates from the one generator, in a fixed order; every actual date lies before
:data:`LEDGER_AS_OF`, the campaign's first day.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, timedelta

from kfworkflow.demo.names import draw_int

LEDGER_AS_OF = date(2022, 11, 14)
YEAR_START = date(2022, 1, 1)
YEAR_END = date(2022, 12, 31)
BEFORE_AS_OF = LEDGER_AS_OF - timedelta(days=1)
_LAGGING_CHANCE = 0.9
_DAY_SPANS = [timedelta(days=n) for n in range(-1200, 1201)]


def day_delta(n: int) -> timedelta:
    """``timedelta(days=n)``, cached: building timedeltas is a large share of the run time."""
    return _DAY_SPANS[n + 1200] if -1200 <= n <= 1200 else timedelta(days=n)


Dates = dict[str, date]


def _d(year: int, month: int, day: int) -> date:
    return date(year, month, day)


class DateDraws:
    """Random dates; every draw goes through the one generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.slow = False  # a lagging county: milestones before the campaign are rarer

    def between(self, first: date, last: date) -> date:
        if last <= first:
            return first
        return date.fromordinal(draw_int(self.rng, first.toordinal(), last.toordinal()))

    def shift(self, day: date, low: int, high: int) -> date:
        return day + day_delta(draw_int(self.rng, low, high))

    def chance(self, probability: float) -> bool:
        return self.rng.random() < (probability * _LAGGING_CHANCE if self.slow else probability)


def _reached(actual: Dates, milestone: str, on: date, *, after: date | None = None) -> bool:
    """Record ``milestone`` on ``on`` (not before ``after``) if that is before the as-of date."""
    if after is not None and on < after:
        on = after
    if on > BEFORE_AS_OF:
        return False
    actual[milestone] = on
    return True


def _policy_finance(t: DateDraws) -> tuple[Dates, Dates]:
    signed_plan = t.between(_d(2022, 8, 15), _d(2022, 10, 20))
    funded_plan = min(t.shift(signed_plan, 5, 30), _d(2022, 11, 25))
    started_plan = min(t.between(max(funded_plan + timedelta(days=7), _d(2022, 9, 20)),
                                 _d(2022, 11, 30)), _d(2022, 11, 30))
    planned = {"signed": signed_plan, "funded": funded_plan, "started": started_plan,
               "completed": t.between(_d(2023, 6, 30), _d(2025, 12, 31))}
    actual: Dates = {"signed": min(t.shift(signed_plan, -5, 10), _d(2022, 11, 10))}
    if (t.chance(0.88) and _reached(actual, "funded", t.shift(funded_plan, -7, 10),
                                    after=actual["signed"])):
        if started_plan < LEDGER_AS_OF and t.chance(0.7):
            _reached(actual, "started", t.shift(started_plan, -5, 10), after=actual["funded"])
        elif started_plan >= LEDGER_AS_OF and t.chance(0.1):
            _reached(actual, "started", t.between(actual["funded"], BEFORE_AS_OF))
    return planned, actual


def _batch_sign(t: DateDraws) -> tuple[Dates, Dates]:
    signed_plan = t.between(_d(2022, 11, 8), _d(2022, 12, 28))
    started_plan = t.shift(signed_plan, 45, 200)
    return {"signed": signed_plan, "started": started_plan,
            "in_production": t.shift(started_plan, 180, 540)}, {}


def _batch_start(t: DateDraws) -> tuple[Dates, Dates]:
    signed_plan = t.between(_d(2022, 2, 1), _d(2022, 10, 31))
    signed = min(max(t.shift(signed_plan, -10, 20), YEAR_START), BEFORE_AS_OF)
    started_plan = t.between(max(signed + timedelta(days=20), _d(2022, 11, 5)), _d(2022, 12, 28))
    return ({"signed": signed_plan, "started": started_plan,
             "in_production": t.shift(started_plan, 240, 720)}, {"signed": signed})


def _batch_produce(t: DateDraws) -> tuple[Dates, Dates]:
    signed_plan = t.between(_d(2020, 6, 1), _d(2021, 10, 31))
    signed = t.shift(signed_plan, -10, 20)
    started_plan = t.shift(signed, 20, 120)
    started = max(t.shift(started_plan, -5, 30), signed)
    production_plan = t.between(_d(2022, 11, 5), _d(2022, 12, 28))
    return ({"signed": signed_plan, "started": started_plan, "in_production": production_plan},
            {"signed": signed, "started": started})


def _key_new_start(t: DateDraws) -> tuple[Dates, Dates]:
    if t.chance(0.7):
        started_plan = t.between(_d(2022, 1, 10), _d(2022, 10, 31))
    else:
        started_plan = t.between(_d(2022, 11, 1), _d(2022, 11, 30))
    planned = {"started": started_plan, "completed": t.shift(started_plan, 330, 900)}
    actual: Dates = {}
    if started_plan < LEDGER_AS_OF and t.chance(0.85):
        _reached(actual, "started", t.shift(started_plan, -10, 25), after=YEAR_START)
    elif started_plan >= LEDGER_AS_OF and t.chance(0.06):
        _reached(actual, "started", t.between(LEDGER_AS_OF - timedelta(days=12), BEFORE_AS_OF))
    return planned, actual


def _key_completion(t: DateDraws) -> tuple[Dates, Dates]:
    started_plan = t.between(_d(2020, 3, 1), _d(2021, 9, 30))
    completed_plan = t.between(_d(2022, 3, 1), _d(2022, 11, 30))
    actual: Dates = {"started": t.shift(started_plan, -10, 30)}
    if completed_plan < LEDGER_AS_OF and t.chance(0.72):
        _reached(actual, "completed", t.shift(completed_plan, -10, 20), after=actual["started"])
    return {"started": started_plan, "completed": completed_plan}, actual


def _key_continuing(t: DateDraws) -> tuple[Dates, Dates]:
    started_plan = t.between(_d(2019, 6, 1), _d(2021, 12, 20))
    return ({"started": started_plan, "completed": t.between(_d(2022, 12, 10), _d(2024, 12, 31))},
            {"started": t.shift(started_plan, -10, 30)})


def _allocated_funds(t: DateDraws, allocated_plan: date, allocated: date) -> tuple[Dates, Dates]:
    disbursed_plan = min(t.shift(allocated_plan, 30, 120), _d(2022, 12, 20))
    started_plan = min(t.shift(max(disbursed_plan, allocated_plan + timedelta(days=20)), 0, 45),
                       _d(2022, 12, 28))
    planned = {"allocated": allocated_plan, "disbursed": disbursed_plan, "started": started_plan,
               "completed": t.shift(started_plan, 180, 720)}
    actual: Dates = {"allocated": allocated}
    if (disbursed_plan < LEDGER_AS_OF and t.chance(0.75)
            and _reached(actual, "disbursed", t.shift(disbursed_plan, -10, 15), after=allocated)
            and started_plan < LEDGER_AS_OF and t.chance(0.75)):
        _reached(actual, "started", t.shift(started_plan, -7, 20), after=actual["disbursed"])
    return planned, actual


def _central_budget(t: DateDraws) -> tuple[Dates, Dates]:
    allocated_plan = t.between(_d(2022, 2, 15), _d(2022, 10, 20))
    return _allocated_funds(t, allocated_plan, t.shift(allocated_plan, 0, 15))


def _special_bond(t: DateDraws) -> tuple[Dates, Dates]:
    allocated_plan = t.between(_d(2022, 1, 10), _d(2022, 10, 28))
    return _allocated_funds(t, allocated_plan,
                            min(t.shift(allocated_plan, 0, 3), _d(2022, 10, 31)))


def _long_term_loan(t: DateDraws) -> tuple[Dates, Dates]:
    approved_plan = t.between(_d(2022, 6, 20), _d(2022, 10, 25))
    funded_plan = min(t.shift(approved_plan, 15, 60), _d(2022, 11, 30))
    tendering_plan = t.shift(funded_plan, 10, 35)
    started_plan = t.shift(tendering_plan, 10, 40)
    planned = {"approved": approved_plan, "funded": funded_plan, "tendering": tendering_plan,
               "started": started_plan, "completed": t.shift(started_plan, 365, 1000)}
    actual: Dates = {"approved": t.shift(approved_plan, 0, 10)}
    if (funded_plan < LEDGER_AS_OF and t.chance(0.7)
            and _reached(actual, "funded", t.shift(funded_plan, -5, 15), after=actual["approved"])
            and tendering_plan < LEDGER_AS_OF and t.chance(0.6)
            and _reached(actual, "tendering", t.shift(tendering_plan, -5, 15),
                         after=actual["funded"])
            and started_plan < LEDGER_AS_OF and t.chance(0.6)):
        _reached(actual, "started", t.shift(started_plan, -5, 15), after=actual["tendering"])
    return planned, actual


def _equipment_loan_subsidy(t: DateDraws) -> tuple[Dates, Dates]:
    approved_plan = t.between(_d(2022, 10, 8), _d(2022, 11, 8))
    funded_plan = t.shift(approved_plan, 7, 40)
    started_plan = t.shift(funded_plan, 10, 45)
    planned = {"approved": approved_plan, "funded": funded_plan, "started": started_plan,
               "completed": t.shift(started_plan, 60, 200)}
    actual: Dates = {"approved": min(t.shift(approved_plan, 0, 5), BEFORE_AS_OF)}
    if (funded_plan < LEDGER_AS_OF and t.chance(0.6)
            and _reached(actual, "funded", t.shift(funded_plan, -3, 5), after=actual["approved"])
            and started_plan < LEDGER_AS_OF and t.chance(0.5)):
        _reached(actual, "started", t.shift(started_plan, -3, 5), after=actual["funded"])
    return planned, actual


def _housing_delivery(t: DateDraws) -> tuple[Dates, Dates]:
    started_plan = t.between(_d(2022, 9, 15), _d(2022, 11, 30))
    actual: Dates = {}
    if started_plan < LEDGER_AS_OF and t.chance(0.55):
        _reached(actual, "started", t.shift(started_plan, -5, 20))
    return ({"started": started_plan, "completed": t.between(_d(2023, 3, 31), _d(2023, 12, 31))},
            actual)


DATE_PLANS: dict[str, Callable[[DateDraws], tuple[Dates, Dates]]] = {
    "policy_finance": _policy_finance,
    "batch_sign": _batch_sign,
    "batch_start": _batch_start,
    "batch_produce": _batch_produce,
    "key_new_start": _key_new_start,
    "key_completion": _key_completion,
    "key_continuing": _key_continuing,
    "central_budget": _central_budget,
    "special_bond": _special_bond,
    "long_term_loan": _long_term_loan,
    "equipment_loan_subsidy": _equipment_loan_subsidy,
    "housing_delivery": _housing_delivery,
}
