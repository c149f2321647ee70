"""Compiler of the rule condition language: exact values, null semantics, safety of the code."""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from kfworkflow.errors import RuleCheckError
from kfworkflow.rules.expr_check import FieldSchema
from kfworkflow.rules.expr_compile import compile_expr, generated_source
from kfworkflow.rules.expr_parse import parse

AS_OF = dt.date(2022, 11, 30)  # a Wednesday


@dataclass(frozen=True)
class WeekendCalendar:
    """Monday-Friday are workdays; no holidays."""

    as_of: dt.date

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        sign = 1
        if start > end:
            start, end, sign = end, start, -1
        days = (end - start).days
        return sign * sum((start + dt.timedelta(i)).weekday() < 5 for i in range(1, days + 1))

    def add_workdays(self, day: dt.date, count: int) -> dt.date:
        step = 1 if count >= 0 else -1
        while count:
            day += dt.timedelta(step)
            if day.weekday() < 5:
                count -= step
        return day


ENV = WeekendCalendar(AS_OF)
SCHEMA = FieldSchema(
    fields={
        "state": "str",
        "planned.started": "date",
        "due": "date",
        "exempt": "bool",
        "rate": "number",
        "count": "int",
        "tags": "list",
        "previous_light.start": "str",
    },
    dimensions=frozenset({"start"}),
    rule_ids=frozenset({"late"}),
)


def run(text: str, facts: Mapping[str, Any] | None = None, *, typed: bool = False) -> Any:
    function = compile_expr(parse(text), "test", SCHEMA if typed else None)
    return function(dict(facts or {}), ENV)


def both(text: str, facts: Mapping[str, Any] | None = None) -> Any:
    """The value, after checking the typed (schema) and untyped compilations agree."""
    untyped = run(text, facts)
    typed = run(text, facts, typed=True)
    assert (typed, type(typed)) == (untyped, type(untyped))
    return untyped


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("10 - 2 - 3", 5),
        ("7 / 2", 3.5),
        ("6 / 3", 2.0),
        ("-3 * 2", -6),
        ("- -3", 3),
        ("95% * 200", 190.0),
        ("1 / 0", None),
        ("1 / 0.0", None),
        ("ratio(3, 4)", 0.75),
        ("ratio(3, 0)", None),
        ("ratio(3, none)", None),
        ("1 + none", None),
        ("-none", None),
        ("'a' == 'a'", True),
        ("1 == 1.0", True),
        ("1 != 2", True),
        ("2 > 1", True),
        ("2 >= 2", True),
        ("2 < 2", False),
        ("2 <= 2", True),
        ("'b' > 'a'", True),
        ("2022-11-30 > 2022-11-29", True),
        ("'a' in ['a', 'b']", True),
        ("'c' not in ['a', 'b']", True),
        ("'ab' in 'xaby'", True),
        ("none is none", True),
        ("1 is not none", True),
        ("true and false", False),
        ("false or true", True),
        ("not false", True),
        ("today", AS_OF),
    ],
)
def test_operators_exact_values(text: str, expected: Any) -> None:
    result = both(text)
    assert (result, type(result)) == (expected, type(expected))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-11-30 - 2022-11-01", 29),
        ("planned.started - due", -31),
        ("due - planned.started", 31),
        ("planned.started + 1", dt.date(2022, 11, 2)),
        ("1 + planned.started", dt.date(2022, 11, 2)),
        ("planned.started - 1", dt.date(2022, 10, 31)),
        ("today - planned.started", 29),
        ("today + count", dt.date(2022, 12, 3)),
        ("planned.started + count > due", False),
    ],
)
def test_date_arithmetic(text: str, expected: Any) -> None:
    facts = {"planned.started": dt.date(2022, 11, 1), "due": dt.date(2022, 12, 2), "count": 3}
    result = both(text, facts)
    assert (result, type(result)) == (expected, type(expected))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("days_since(2022-11-01)", 29),
        ("days_since(2022-12-01)", -1),
        ("days_until(2022-12-31)", 31),
        ("working_days_since(2022-11-25)", 3),  # Fri -> Mon 28, Tue 29, Wed 30
        ("working_days_since(2022-12-05)", -3),
        ("working_days_until(2022-12-05)", 3),  # Thu 1, Fri 2, Mon 5
        ("working_days_since(today)", 0),
        ("add_days(2022-11-30, 2)", dt.date(2022, 12, 2)),
        ("add_days(2022-11-30, -30)", dt.date(2022, 10, 31)),
        ("add_working_days(2022-12-02, 1)", dt.date(2022, 12, 5)),
        ("add_working_days(2022-11-30, -3)", dt.date(2022, 11, 25)),
        ("pro_rata_months()", 11 / 12),
        ("pro_rata_days(2022-11-01, 2022-11-30)", 1.0),
        ("pro_rata_days(2022-11-21, 2022-12-10)", 0.5),  # 10 of 20 days
        ("pro_rata_days(2022-12-01, 2022-12-31)", 0.0),
        ("pro_rata_days(2022-01-01, 2022-06-30)", 1.0),  # clamped
        ("pro_rata_days(2022-12-10, 2022-12-01)", None),  # ends before it starts
        ("pro_rata_window(2022-09-20, 6)", 2 / 6),  # October and November of six months
        ("pro_rata_window(2022-11-05, 6)", 0.0),
        ("pro_rata_window(2021-01-20, 6)", 1.0),
        ("pro_rata_window(2022-09-20, 0)", None),
        ("pp_gap(0.8, pro_rata_months())", (0.8 - 11 / 12) * 100),
        ("pp_gap(95%, 90%)", (0.95 - 0.9) * 100),
        ("min(3, 1.5, 2)", 1.5),
        ("max(3, 1.5, 2)", 3),
        ("max(2022-11-01, 2022-12-01)", dt.date(2022, 12, 1)),
        ("abs(-3)", 3),
        ("abs(0.5 - 1)", 0.5),
        ("round(2.5)", 3),
        ("round(-2.5)", -3),
        ("round(2.4)", 2),
        ("round(2.675, 2)", 2.68),
        ("round(0.125, 2)", 0.13),
        ("round(1250, -2)", 1300),
        ("round(7, 1)", 7),
        ("coalesce(none, none, 3)", 3),
        ("coalesce(none, 2, 3)", 2),
        ("coalesce(none, -none, -4)", -4),
        ("len(['a', 'b'])", 2),
        ("len('abc')", 3),
    ],
)
def test_functions_exact_values(text: str, expected: Any) -> None:
    result = both(text)
    assert (result, type(result)) == (expected, type(expected))


def test_functions_reading_facts_and_history() -> None:
    facts = {"tags": ["a", "b", "c"], "previous_light.start": "red", "light_streak.start": 3,
             "streak.late": 2, "planned.started": dt.date(2022, 11, 25)}
    assert both("len(tags)", facts) == 3
    assert both("previous_light('start') == 'red'", facts) is True
    assert run("light_streak('start') + streak('late')", facts) == 5
    assert both("working_days_since(planned.started) > 2", facts) is True
    assert both("previous_light('start')", {}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rate + 1", None),
        ("rate * 2", None),
        ("rate / 2", None),
        ("-rate", None),
        ("rate > 1", False),
        ("rate < 1", False),
        ("rate >= 0", False),
        ("rate <= 0", False),
        ("0 < rate", False),
        ("rate == none", True),
        ("rate != none", False),
        ("rate == 1", False),
        ("rate != 1", True),
        ("rate is none", True),
        ("rate is not none", False),
        ("not exempt", True),
        ("exempt and true", False),
        ("exempt or true", True),
        ("exempt or false", False),
        ("days_since(planned.started)", None),
        ("add_days(planned.started, 1)", None),
        ("add_days(today, count)", None),
        ("planned.started - today", None),
        ("min(rate, 1)", None),
        ("round(rate, 2)", None),
        ("pp_gap(rate, pro_rata_months())", None),
        ("coalesce(rate, count, 0.5)", 0.5),
        ("coalesce(rate, count)", None),
        ("'a' in tags", False),
        ("'a' not in tags", False),
        ("state in ['a', 'b']", False),
        ("state not in ['a', 'b']", True),
        ("len(tags)", None),
        ("0.8 <= rate < 1", False),
    ],
)
def test_null_semantics(text: str, expected: Any) -> None:
    result = both(text, {})
    assert (result, type(result)) == (expected, type(expected))


def test_boolean_results_are_true_or_false_never_none() -> None:
    assert both("state == 'x' or exempt", {"state": "y", "exempt": None}) is False
    assert both("exempt and exempt", {"exempt": None}) is False
    assert both("not (exempt and true)", {"exempt": True}) is False


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.79, False), (0.8, True), (0.95, True), (0.999, True), (1, False), (1.2, False),
     (None, False)],
)
def test_chained_range_inclusive_lower_exclusive_upper(rate: Any, expected: bool) -> None:
    assert both("0.8 <= rate < 1", {"rate": rate}) is expected


@pytest.mark.parametrize(
    ("count", "expected"), [(1, False), (2, True), (3, True), (4, False), (None, False)]
)
def test_chained_range_exclusive_lower_inclusive_upper(count: Any, expected: bool) -> None:
    assert both("1 < count <= 3", {"count": count}) is expected


def test_long_chain_reads_the_middle_once() -> None:
    class CountingFacts(dict[str, Any]):
        reads = 0

        def get(self, key: str, default: Any = None) -> Any:
            CountingFacts.reads += 1
            return super().get(key, default)

    function = compile_expr(parse("0 < rate <= 1 < count"), "chain")
    facts = CountingFacts(rate=0.5, count=2)
    assert function(facts, ENV) is True
    assert CountingFacts.reads == 2
    assert function(CountingFacts(rate=0.5, count=1), ENV) is False


def test_the_example_condition() -> None:
    text = "state == 'planned' and working_days_since(planned.started) > 5 and not exempt"
    facts = {"state": "planned", "planned.started": dt.date(2022, 11, 18), "exempt": False}
    assert both(text, facts) is True  # 8 workdays
    assert both(text, {**facts, "planned.started": dt.date(2022, 11, 23)}) is False  # 5
    assert both(text, {**facts, "exempt": True}) is False
    assert both(text, {**facts, "planned.started": None}) is False


def test_facts_are_not_modified() -> None:
    facts = {"rate": 0.9, "tags": ["a"]}
    run("0.8 <= rate < 1 and 'a' in tags", facts)
    assert facts == {"rate": 0.9, "tags": ["a"]}


def test_compile_refuses_invalid_trees() -> None:
    with pytest.raises(RuleCheckError) as caught:
        compile_expr(parse("days_snce(x) > 1 and previous_light(x) == 'red'"), "r1")
    error = caught.value
    assert str(error) == "cannot compile expression 'r1': unknown function 'days_snce'"
    assert [(f.code, f.message, f.col) for f in error.findings] == [
        ("KFW-E003", "unknown function 'days_snce'", 1),
        ("KFW-E006", "previous_light() needs a quoted dimension, e.g. previous_light('start')",
         37),
    ]
    with pytest.raises(RuleCheckError) as typed:
        compile_expr(parse("planned.started > 'abc'"), "r2", SCHEMA)
    assert [(f.code, f.col) for f in typed.value.findings] == [("KFW-E005", 17)]


def test_function_is_named_after_the_rule() -> None:
    function = compile_expr(parse("rate > 1"), "late_start")
    assert function.__name__ == "late_start"
    assert function.__code__.co_filename == "<rule:late_start>"


def test_generated_code_is_plain_and_inlined() -> None:
    source = generated_source(parse("0.8 <= rate < 1"))
    assert source == (
        "def _fn(f, env):\n"
        "    return (_t1 := f.get('rate')) is not None and 0.8 <= _t1 and (_t1 < 1)"
    )
    example = "state == 'planned' and working_days_since(planned.started) > 5 and not exempt"
    assert generated_source(parse(example)) == (
        "def _fn(f, env):\n"
        "    return f.get('state') == 'planned' and (_t1 := f.get('planned.started')) is not None"
        " and (env.workdays_between(_t1, env.as_of) > 5) and (not f.get('exempt'))"
    )
    typed = generated_source(parse("due - planned.started > 3"), SCHEMA)
    assert "_subtract" not in typed
    assert ".days" in typed
    assert "_subtract" in generated_source(parse("due - planned.started > 3"))


HOSTILE = [
    "__import__ == 'os' or __builtins__ is none",
    "__class__.__bases__ == 1",
    "f == env and _t1 == _add",
    "state == \"'); import os; ('\"",
    "state in ['__import__(\\'os\\').system(\\'x\\')']",
    "previous_light('x\\') or __import__(\\'os') == 'red'",
]
ALLOWED_NAMES = re.compile(
    r"^(f|env|_t\d+|_k\d+|_timedelta|_add|_subtract|_member|_not_member|_min|_max|_abs|_len"
    r"|_f_[a-z_]+)$"
)
ALLOWED_ATTRIBUTES = {"get", "as_of", "days", "month", "workdays_between", "add_workdays"}


@pytest.mark.parametrize("text", HOSTILE)
def test_user_text_only_ever_becomes_constants(text: str) -> None:
    tree = ast.parse(generated_source(parse(text)))
    function = tree.body[0]
    assert isinstance(function, ast.FunctionDef)
    assert function.name == "_fn"
    for node in ast.walk(function.body[0]):
        if isinstance(node, ast.Name):
            assert ALLOWED_NAMES.match(node.id), node.id
        if isinstance(node, ast.Attribute):
            assert node.attr in ALLOWED_ATTRIBUTES, node.attr


def test_hostile_names_are_just_missing_facts() -> None:
    function = compile_expr(parse(HOSTILE[0]), "hostile")
    assert function({}, ENV) is True  # __builtins__ is none: a fact nobody supplied
    assert function({"__import__": "os"}, ENV) is True
    assert function.__globals__["__builtins__"] == {}
