"""How close a compiled rule condition runs to hand-written Python (goal: at most 1.5x).

Run: ``python benchmarks/expr_speed.py [N]`` (N fact dicts, default 100000). Each condition is
compiled both without a schema (as the rule set does) and with one, and timed against a
hand-written lambda with the same null handling; best of 5 runs. The calendar is a cheap
weekends-only one so the expression itself, not the calendar, dominates.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kfworkflow.rules.expr_check import FieldSchema
from kfworkflow.rules.expr_compile import compile_expr
from kfworkflow.rules.expr_parse import parse

Condition = Callable[[Mapping[str, Any], Any], Any]


@dataclass(frozen=True)
class WeekendCalendar:
    as_of: dt.date

    @staticmethod
    def _weekdays_up_to(day: dt.date) -> int:
        weeks, rest = divmod(day.toordinal(), 7)
        return weeks * 5 + min(rest, 5)

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        return self._weekdays_up_to(end) - self._weekdays_up_to(start)

    def add_workdays(self, day: dt.date, count: int) -> dt.date:
        raise NotImplementedError


SCHEMA = FieldSchema(
    fields={"state": "str", "planned.started": "date", "exempt": "bool", "funds_rate": "number",
            "investment_rate": "number", "light_streak.start": "int"},
    dimensions=frozenset({"start"}),
)

CASES: list[tuple[str, Condition]] = [
    (
        "state == 'planned' and working_days_since(planned.started) > 5 and not exempt",
        lambda f, env: f.get("state") == "planned"
        and (d := f.get("planned.started")) is not None
        and env.workdays_between(d, env.as_of) > 5
        and not f.get("exempt"),
    ),
    (
        "0.8 <= funds_rate < 1 and days_since(planned.started) > 30",
        lambda f, env: (r := f.get("funds_rate")) is not None
        and 0.8 <= r < 1
        and (d := f.get("planned.started")) is not None
        and (env.as_of - d).days > 30,
    ),
    (
        "pp_gap(investment_rate, pro_rata_months()) < -10 "
        "or coalesce(light_streak('start'), 0) >= 2",
        lambda f, env: ((r := f.get("investment_rate")) is not None
                        and (r - env.as_of.month / 12) * 100 < -10)
        or (s if (s := f.get("light_streak.start")) is not None else 0) >= 2,
    ),
]


def make_facts(count: int) -> list[dict[str, Any]]:
    chooser = random.Random(20221130)
    facts = []
    for _ in range(count):
        row: dict[str, Any] = {
            "state": chooser.choice(["planned", "started", "planned", "signed"]),
            "planned.started": dt.date(2022, 1, 1) + dt.timedelta(chooser.randrange(365)),
            "exempt": chooser.random() < 0.1,
            "funds_rate": round(chooser.uniform(0.5, 1.2), 3),
            "investment_rate": round(chooser.uniform(0.4, 1.1), 3),
            "light_streak.start": chooser.randrange(4),
        }
        for key in list(row):
            if chooser.random() < 0.05:
                del row[key]  # missing facts are none
        facts.append(row)
    return facts


def best_time(condition: Condition, facts: list[dict[str, Any]], env: Any) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for row in facts:
            condition(row, env)
        best = min(best, time.perf_counter() - start)
    return best


def main(count: int) -> None:
    facts = make_facts(count)
    env = WeekendCalendar(dt.date(2022, 11, 30))
    print(f"{count} fact dicts, best of 5; ratio = compiled / hand-written")
    for text, hand in CASES:
        untyped = compile_expr(parse(text), "bench")
        typed = compile_expr(parse(text), "bench", SCHEMA)
        for row in facts:
            expected = bool(hand(row, env))
            assert untyped(row, env) is expected and typed(row, env) is expected, (text, row)
        hand_s = best_time(hand, facts, env)
        untyped_s = best_time(untyped, facts, env)
        typed_s = best_time(typed, facts, env)
        print(f"\n{text}\n  hand-written {hand_s * 1000:7.1f} ms"
              f"\n  compiled     {untyped_s * 1000:7.1f} ms  ratio {untyped_s / hand_s:.2f}"
              f"\n  with schema  {typed_s * 1000:7.1f} ms  ratio {typed_s / hand_s:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
