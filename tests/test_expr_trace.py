"""Tracing interpreter: explanation steps, and agreement with the compiler (property test)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kfworkflow.errors import CalendarError, RuleCheckError
from kfworkflow.rules.expr_check import FieldSchema, check
from kfworkflow.rules.expr_compile import compile_expr
from kfworkflow.rules.expr_parse import parse
from kfworkflow.rules.expr_trace import NOT_EVALUATED, Step, trace


@dataclass(frozen=True)
class WeekendCalendar:
    """Monday-Friday are workdays, no holidays; counting is O(1) so far dates stay cheap."""

    as_of: dt.date

    @staticmethod
    def _weekdays_up_to(day: dt.date) -> int:
        weeks, rest = divmod(day.toordinal(), 7)  # ordinal 1 (0001-01-01) is a Monday
        return weeks * 5 + min(rest, 5)

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        return self._weekdays_up_to(end) - self._weekdays_up_to(start)

    def add_workdays(self, day: dt.date, count: int) -> dt.date:
        step = 1 if count >= 0 else -1
        while count:
            day += dt.timedelta(step)
            if day.weekday() < 5:
                count -= step
        return day


ENV = WeekendCalendar(dt.date(2022, 11, 30))


class KnownYearsCalendar(WeekendCalendar):
    """Like a real calendar, refuses years it does not know: errors must surface identically."""

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        for day in (start, end):
            if not 2022 <= day.year <= 2023:
                raise CalendarError(f"no working-day calendar for {day.year}")
        return super().workdays_between(start, end)


def steps_of(text: str, facts: dict[str, Any]) -> tuple[Any, list[str]]:
    value, steps = trace(parse(text), facts, ENV)
    return value, [step.describe() for step in steps]


def test_explains_the_example_condition() -> None:
    text = "state == 'planned' and working_days_since(planned.started) > 5 and not exempt"
    facts = {"state": "planned", "planned.started": dt.date(2022, 11, 21), "exempt": False}
    assert steps_of(text, facts) == (True, [
        "state = 'planned' == 'planned' → true",
        "working_days_since(planned.started) = 7",
        "working_days_since(planned.started) = 7 > 5 → true",
        "state == 'planned' and working_days_since(planned.started) > 5 → true",
        "not exempt → true",
        "state == 'planned' and working_days_since(planned.started) > 5 and not exempt → true",
    ])


def test_step_fields() -> None:
    _, steps = trace(parse("x + days_since(d) > 5"), {"x": 1, "d": dt.date(2022, 11, 28)}, ENV)
    assert steps == [
        Step(4, "days_since(d)", "days_since", (dt.date(2022, 11, 28),), None, 2),
        Step(0, "x + days_since(d) > 5", ">", 3, 5, False, "x + days_since(d)", ""),
    ]


def test_short_circuit_is_shown() -> None:
    value, steps = trace(parse("exempt or rate > 1"), {"exempt": True, "rate": 2}, ENV)
    assert value is True
    assert len(steps) == 1
    assert steps[0].right is NOT_EVALUATED
    assert steps[0].describe() == "exempt or rate > 1 → true (right side not needed)"


def test_chain_has_one_step_per_link_and_stops_at_the_first_false() -> None:
    assert steps_of("0.8 <= rate < 1", {"rate": 0.85}) == (True, [
        "0.8 <= rate = 0.85 → true",
        "rate = 0.85 < 1 → true",
    ])
    assert steps_of("0.8 <= rate < 1", {"rate": 0.5}) == (False, ["0.8 <= rate = 0.5 → false"])
    assert steps_of("0.8 <= rate < 1", {}) == (False, ["0.8 <= rate = none → false"])


def test_literals_show_their_value_and_none_propagates() -> None:
    assert steps_of("planned.started is none", {}) == (
        True, ["planned.started = none is none → true"]
    )
    assert steps_of("days_since(planned.started) > 95%", {}) == (False, [
        "days_since(planned.started) = none",
        "days_since(planned.started) = none > 0.95 → false",
    ])
    assert steps_of("coalesce(rate, 0.5) < 1", {}) == (True, [
        "coalesce(rate, 0.5) = 0.5",
        "coalesce(rate, 0.5) = 0.5 < 1 → true",
    ])
    assert steps_of("previous_light('start') in ['red', 'yellow']",
                    {"previous_light.start": "red"}) == (True, [
        "previous_light('start') = 'red'",
        "previous_light('start') = 'red' in ['red', 'yellow'] → true",
    ])


@pytest.mark.parametrize(
    ("text", "expected", "described"),
    [
        ("rate > working_days_since(d)", False,
         ["rate = none > working_days_since(d) (not evaluated) → false"]),
        ("rate + working_days_since(d) > 1", False,
         ["rate + working_days_since(d) = none > 1 → false"]),
        ("days_since(rate) == working_days_until(d)", None, None),
        ("coalesce(2, working_days_since(d)) > 1", True,
         ["coalesce(2, working_days_since(d)) = 2",
          "coalesce(2, working_days_since(d)) = 2 > 1 → true"]),
    ],
)
def test_evaluation_stops_at_a_none_in_both_evaluators(
    text: str, expected: bool | None, described: list[str] | None
) -> None:
    """Short-circuits decide whether a failing calendar is ever asked (here: year 2030)."""
    env = KnownYearsCalendar(dt.date(2022, 11, 30))
    facts = {"d": dt.date(2030, 1, 1)}
    node = parse(text)
    if expected is None:
        with pytest.raises(CalendarError, match="no working-day calendar for 2030"):
            compile_expr(node, "r")(facts, env)
        with pytest.raises(CalendarError, match="no working-day calendar for 2030"):
            trace(node, facts, env)
        return
    assert compile_expr(node, "r")(facts, env) is expected
    value, steps = trace(node, facts, env)
    assert value is expected
    assert [step.describe() for step in steps] == described


def test_trace_refuses_invalid_trees() -> None:
    with pytest.raises(RuleCheckError) as caught:
        trace(parse("frob(1) > 2"), {}, ENV)
    assert str(caught.value) == "cannot trace expression: unknown function 'frob'"
    assert [(f.code, f.col) for f in caught.value.findings] == [("KFW-E003", 1)]


# -- property: the compiled function and the tracer always agree ------------------------------

FIELDS = {"n1": "number", "n2": "number", "i1": "int", "i2": "int", "d1": "date", "d2": "date",
          "s1": "str", "b1": "bool", "tags": "list"}
SCHEMA = FieldSchema(FIELDS, dimensions=frozenset({"start"}), rule_ids=frozenset({"r1"}))
Strategy = st.SearchStrategy[str]


def _call(name: str, *parts: Strategy) -> Strategy:
    return st.tuples(*parts).map(lambda args: f"{name}({', '.join(args)})")


def _infix(left: Strategy, ops: list[str], right: Strategy) -> Strategy:
    return st.tuples(left, st.sampled_from(ops), right).map(lambda t: f"({t[0]} {t[1]} {t[2]})")


def _grammar() -> dict[str, Callable[[int], Strategy]]:
    small_int = st.integers(-20, 20).map(str)
    int_leaf = st.one_of(small_int, st.sampled_from(
        ["i1", "i2", "len(tags)", "streak('r1')", "light_streak('start')", "none"]))
    number_leaf = st.one_of(int_leaf, st.sampled_from(
        ["0.5", "2.25", "95%", "0.0", "n1", "n2", "pro_rata_months()"]))
    date_leaf = st.sampled_from(["d1", "d2", "today", "2022-01-15", "2023-03-01", "none"])

    def ints(depth: int) -> Strategy:
        if depth == 0:
            return int_leaf
        sub, dates = ints(depth - 1), date(depth - 1)
        return st.one_of(
            int_leaf,
            _infix(sub, ["+", "-", "*"], sub),
            sub.map(lambda s: f"-{s}"),
            _call("abs", sub), _call("min", sub, sub), _call("max", sub, sub, sub),
            _call("coalesce", sub, sub), _call("round", number(depth - 1)),
            _call("days_since", dates), _call("days_until", dates),
            _call("working_days_since", dates), _call("working_days_until", dates),
            _infix(dates, ["-"], dates),
        )

    def number(depth: int) -> Strategy:
        if depth == 0:
            return number_leaf
        sub, dates = number(depth - 1), date(depth - 1)
        return st.one_of(
            number_leaf, ints(depth),
            _infix(sub, ["+", "-", "*", "/"], sub),
            sub.map(lambda s: f"-{s}"),
            _call("ratio", sub, sub), _call("pp_gap", sub, sub), _call("abs", sub),
            _call("min", sub, sub), _call("max", sub, sub), _call("coalesce", sub, sub, sub),
            _call("round", sub, st.integers(0, 2).map(str)),
            _call("pro_rata_days", dates, dates),
            _call("pro_rata_window", dates, st.integers(-1, 12).map(str)),
        )

    def date(depth: int) -> Strategy:
        if depth == 0:
            return date_leaf
        sub, sub_int = date(depth - 1), ints(depth - 1)
        return st.one_of(
            date_leaf,
            _call("add_days", sub, sub_int),
            _call("add_working_days", sub, st.integers(-9, 9).map(str)),
            _infix(sub, ["+", "-"], sub_int),
            _infix(sub_int, ["+"], sub),
            _call("coalesce", sub, sub), _call("min", sub, sub), _call("max", sub, sub),
        )

    def boolean(depth: int) -> Strategy:
        leaf = st.sampled_from([
            "b1", "true", "false", "none", "(s1 == 'a')", "(s1 != 'b')", "(s1 in ['a', 'b'])",
            "(s1 not in tags)", "('a' in tags)", "(previous_light('start') == 'red')",
            "(n1 is none)", "(d1 is not none)", "(tags == none)", "(tags == ['a'])",
        ])
        if depth == 0:
            return leaf
        sub, num, dates = boolean(depth - 1), number(depth - 1), date(depth - 1)
        ordering = ["<", "<=", ">", ">=", "==", "!="]
        chain = st.tuples(num, st.sampled_from(ordering), num, st.sampled_from(ordering), num)
        return st.one_of(
            leaf,
            _infix(num, ordering, num),
            chain.map(lambda t: f"({' '.join(t)})"),
            _infix(dates, ordering, dates),
            _infix(sub, ["and", "or"], sub),
            sub.map(lambda s: f"(not {s})"),
            _infix(sub, ["==", "!="], sub),
            num.map(lambda s: f"({s} is none)"),
        )

    return {"int": ints, "number": number, "date": date, "bool": boolean}


GRAMMAR = _grammar()
EXPRESSIONS = st.one_of(*(make(3) for make in GRAMMAR.values()))

FACTS = st.fixed_dictionaries({}, optional={
    "n1": st.one_of(st.none(), st.integers(-40, 40).map(lambda k: k / 4), st.integers(-5, 5)),
    "n2": st.one_of(st.none(), st.integers(-40, 40).map(lambda k: k / 4)),
    "i1": st.one_of(st.none(), st.integers(-10, 10)),
    "i2": st.one_of(st.none(), st.integers(-10, 10)),
    "d1": st.one_of(st.none(), st.dates(dt.date(2021, 1, 1), dt.date(2023, 12, 31))),
    "d2": st.one_of(st.none(), st.dates(dt.date(2021, 1, 1), dt.date(2023, 12, 31))),
    "s1": st.one_of(st.none(), st.sampled_from(["a", "b", "c"])),
    "b1": st.one_of(st.none(), st.booleans()),
    "tags": st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", "c"]), max_size=3)),
    "previous_light.start": st.one_of(st.none(), st.sampled_from(["red", "yellow", "green"])),
    "light_streak.start": st.one_of(st.none(), st.integers(0, 5)),
    "streak.r1": st.one_of(st.none(), st.integers(0, 5)),
})
AS_OF = st.dates(dt.date(2022, 1, 1), dt.date(2023, 12, 31))


def _outcome(run: Callable[[], Any]) -> tuple[str, Any]:
    try:
        value = run()
    except (ArithmeticError, CalendarError) as error:  # e.g. a date past 9999, unknown year
        return "raised", (type(error), str(error))
    return "value", (value, type(value))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=EXPRESSIONS, facts=FACTS, as_of=AS_OF)
def test_compiled_and_traced_results_agree(text: str, facts: dict[str, Any],
                                           as_of: dt.date) -> None:
    node = parse(text)
    issues = check(node, SCHEMA)[1]
    # the grammar builds well-typed expressions, except orderings against a bare none
    assert all(issue.message.endswith("with none is always false") for issue in issues)
    assume(not issues)
    env = KnownYearsCalendar(as_of)
    traced = _outcome(lambda: trace(node, facts, env)[0])
    untyped = _outcome(lambda: compile_expr(node, "p")(facts, env))
    typed = _outcome(lambda: compile_expr(node, "p", SCHEMA)(facts, env))
    assert untyped == traced
    assert typed == traced
