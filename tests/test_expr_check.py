"""Checker of the rule condition language: names, functions, arity, types, history literals."""

from __future__ import annotations

import pytest

from kfworkflow.errors import ConfigError
from kfworkflow.rules.expr_check import ExprIssue, FieldSchema, check, check_source, references
from kfworkflow.rules.expr_parse import parse

SCHEMA = FieldSchema(
    fields={
        "state": "str",
        "planned.started": "date",
        "planned.due": "date",
        "exempt": "bool",
        "rate": "number",
        "count": "int",
        "tags": "list",
    },
    dimensions=frozenset({"start", "funds"}),
    rule_ids=frozenset({"late_start"}),
    extra_names={"gap": "number"},
)


def issues_of(text: str) -> list[tuple[str, str, int, str | None]]:
    _, issues = check(parse(text), SCHEMA)
    return [(issue.code, issue.message, issue.pos, issue.hint) for issue in issues]


@pytest.mark.parametrize(
    ("text", "result_type"),
    [
        ("state == 'planned' and working_days_since(planned.started) > 5 and not exempt", "bool"),
        ("0.8 <= rate < 1", "bool"),
        ("rate * 2", "number"),
        ("count + 1", "int"),
        ("count / 2", "number"),
        ("-count", "int"),
        ("planned.due - planned.started", "int"),
        ("planned.started + 3", "date"),
        ("3 + planned.started", "date"),
        ("planned.started - 3", "date"),
        ("days_since(planned.started)", "int"),
        ("add_working_days(planned.started, count)", "date"),
        ("today", "date"),
        ("gap", "number"),
        ("round(rate)", "int"),
        ("round(rate, 2)", "number"),
        ("round(count, 1)", "int"),
        ("min(count, 2)", "int"),
        ("max(count, rate)", "number"),
        ("min(planned.started, today)", "date"),
        ("coalesce(planned.started, today)", "date"),
        ("coalesce(rate, none)", "number"),
        ("abs(rate)", "number"),
        ("len(tags)", "int"),
        ("ratio(count, 3)", "number"),
        ("pro_rata_months()", "number"),
        ("pp_gap(rate, pro_rata_months())", "number"),
        ("pro_rata_window(planned.started, 6)", "number"),
        ("previous_light('start')", "str"),
        ("light_streak('funds')", "int"),
        ("streak('late_start')", "int"),
        ("[1, 2]", "list"),
        ("none", "none"),
        ("rate + none", "any"),
        ("state in ['a', 'b'] or 'x' in tags or 'a' in state", "bool"),
        ("planned.started is none or rate == none", "bool"),
    ],
)
def test_valid_expressions_and_their_types(text: str, result_type: str) -> None:
    assert check(parse(text), SCHEMA) == (result_type, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("planed.started > today",
         ("KFW-E002", "unknown name 'planed.started'", 0, "did you mean 'planned.started'?")),
        ("rate > 1 and cuont > 2",
         ("KFW-E002", "unknown name 'cuont'", 13, "did you mean 'count'?")),
        ("gapp > 1", ("KFW-E002", "unknown name 'gapp'", 0, "did you mean 'gap'?")),
        ("started.planned < today",
         ("KFW-E002", "unknown name 'started.planned'", 0, "did you mean 'planned.started'?")),
        ("zzz == 1", ("KFW-E002", "unknown name 'zzz'", 0, None)),
        ("exempt == True", ("KFW-E002", "unknown name 'True'", 10, "write 'true' in lower case")),
        ("pro_rata_months > 0.5",
         ("KFW-E002", "unknown name 'pro_rata_months'", 0,
          "pro_rata_months is a function: write pro_rata_months(...)")),
    ],
)
def test_unknown_names(text: str, expected: tuple[str, str, int, str | None]) -> None:
    assert issues_of(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("days_snce(planned.started) > 3",
         ("KFW-E003", "unknown function 'days_snce'", 0, "did you mean 'days_since'?")),
        ("1 < workingdays_since(today)",
         ("KFW-E003", "unknown function 'workingdays_since'", 4,
          "did you mean 'working_days_since'?")),
        ("today() > planned.started",
         ("KFW-E003", "unknown function 'today'", 0, "today is a name: write it without ()")),
        ("state() == 'a'",
         ("KFW-E003", "unknown function 'state'", 0, "'state' is a field: write it without ()")),
        ("frobnicate(1)", ("KFW-E003", "unknown function 'frobnicate'", 0, None)),
    ],
)
def test_unknown_functions(text: str, expected: tuple[str, str, int, str | None]) -> None:
    assert issues_of(text) == [expected]


@pytest.mark.parametrize(
    ("text", "message", "pos"),
    [
        ("days_since(planned.started, 1) > 0", "days_since() takes 1 argument, got 2", 0),
        ("add_days(today) > today", "add_days() takes 2 arguments, got 1", 0),
        ("min(1) > 0", "min() takes at least 2 arguments, got 1", 0),
        ("rate > round(rate, 1, 2)", "round() takes 1 or 2 arguments, got 3", 7),
        ("pro_rata_months(1) > 0", "pro_rata_months() takes 0 arguments, got 1", 0),
        ("previous_light() == 'red'", "previous_light() takes 1 argument, got 0", 0),
        ("streak('late_start', 2) > 1", "streak() takes 1 argument, got 2", 0),
    ],
)
def test_wrong_argument_count(text: str, message: str, pos: int) -> None:
    assert issues_of(text) == [("KFW-E004", message, pos, None)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("planned.started > 'abc'", ("cannot compare date with str using '>'", 16, None)),
        ("planned.started > '2022-11-30'",
         ("cannot compare date with str using '>'", 16, "write dates without quotes: 2022-11-30")),
        ("state == 1", ("cannot compare str with int using '=='", 6, None)),
        ("exempt < true", ("cannot compare bool with bool using '<'", 7, None)),
        ("'x' + 1", ("cannot apply '+' to str and int", 4, "text cannot take part in arithmetic")),
        ("planned.started + 1.5",
         ("cannot apply '+' to date and number", 16, "add or subtract a whole number of days")),
        ("1 - planned.started", ("cannot apply '-' to int and date", 2, None)),
        ("exempt + 1", ("cannot apply '+' to bool and int", 7, None)),
        ("-state", ("cannot negate a str", 0, None)),
        ("count and exempt",
         ("'and' needs true/false values, but 'count' is int", 0,
          "compare it first, e.g. x > 0 or x == 'y'")),
        ("not state",
         ("'not' needs true/false values, but 'state' is str", 4,
          "compare it first, e.g. x > 0 or x == 'y'")),
        ("days_since(state) > 1", ("days_since() needs date as argument 1, got str", 11, None)),
        ("days_since('2022-11-01') > 1", ("days_since() needs date as argument 1, got str", 11,
                                          "write dates without quotes: 2022-11-01")),
        ("add_days(today, 1.5) > today", ("add_days() needs int as argument 2, got number", 16,
                                          None)),
        ("len(count) > 1", ("len() needs list or str as argument 1, got int", 4, None)),
        ("rate < none", ("'<' with none is always false", 5, "use 'is none' or 'is not none'")),
        ("state in 5", ("'in' needs a list or str on its right, got int", 6,
                        "write a list like ['a', 'b']")),
        ("count in 'abc'", ("'in' a str needs a str on its left, got int", 6, None)),
        ("state not in ['a', 2]", ("the list holds int values but the left side is str", 19,
                                   None)),
        ("min(today, 1) > 0", ("min() arguments mix date and number", 0, None)),
    ],
)
def test_type_mismatches(text: str, expected: tuple[str, int, str | None]) -> None:
    assert issues_of(text) == [("KFW-E005", *expected)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("previous_light(state) == 'red'",
         ("previous_light() needs a quoted dimension, e.g. previous_light('start')", 15,
          "write previous_light('state')")),
        ("light_streak(1) > 2",
         ("light_streak() needs a quoted dimension, e.g. light_streak('start')", 13, None)),
        ("streak(late_start) > 2",
         ("streak() needs a quoted rule id, e.g. streak('rule_id')", 7,
          "write streak('late_start')")),
        ("previous_light('strat') == 'red'",
         ("unknown dimension 'strat' in previous_light()", 15, "did you mean 'start'?")),
        ("light_streak('zzz') > 1", ("unknown dimension 'zzz' in light_streak()", 13, None)),
        ("streak('late_strat') > 2",
         ("unknown rule id 'late_strat' in streak()", 7, "did you mean 'late_start'?")),
    ],
)
def test_history_arguments(text: str, expected: tuple[str, int, str | None]) -> None:
    assert issues_of(text) == [("KFW-E006", *expected)]


def test_all_issues_are_collected_in_source_order() -> None:
    text = ("planed.started > 'x' and days_snce(today) > 1 and count + 'a' > 0 "
            "and previous_light('strat') == 'red' and min(1) > 0")
    assert issues_of(text) == [
        ("KFW-E002", "unknown name 'planed.started'", 0, "did you mean 'planned.started'?"),
        ("KFW-E003", "unknown function 'days_snce'", 25, "did you mean 'days_since'?"),
        ("KFW-E005", "cannot apply '+' to int and str", 56, "text cannot take part in arithmetic"),
        ("KFW-E006", "unknown dimension 'strat' in previous_light()", 85,
         "did you mean 'start'?"),
        ("KFW-E004", "min() takes at least 2 arguments, got 1", 107, None),
    ]


def test_an_unknown_operand_does_not_cascade() -> None:
    # `zzz` is unknown, so its comparison and the `and` are not reported as type errors.
    assert [code for code, *_ in issues_of("zzz > 'x' and zzz")] == ["KFW-E002", "KFW-E002"]


def test_references_lists_every_fact_read() -> None:
    node = parse(
        "state == 'planned' and days_since(planned.started) > 5 "
        "and previous_light('start') == 'red' and streak('late_start') > 1 and today > x"
    )
    assert references(node) == frozenset(
        {"state", "planned.started", "previous_light.start", "streak.late_start", "x"}
    )
    assert references(parse("1 + 2 > pro_rata_months()")) == frozenset()


def test_check_source_turns_syntax_errors_into_issues() -> None:
    node, type_, issues = check_source("rate = 1", SCHEMA)
    assert (node, type_) == (None, "any")
    assert issues == [ExprIssue("KFW-E001", "unexpected '='", 5, "use == to compare")]
    node, type_, issues = check_source("rate > 1", SCHEMA)
    assert node is not None
    assert (type_, issues) == ("bool", [])


def test_issue_to_finding_locates_in_the_file() -> None:
    source = "rate > 1 and\n  cuont > 2"
    _, _, issues = check_source(source, SCHEMA)
    assert len(issues) == 1
    finding = issues[0].to_finding(source, file="rules/a.yaml", line=10, col=9)
    assert (finding.file, finding.line, finding.col) == ("rules/a.yaml", 11, 3)
    assert str(finding) == (
        "rules/a.yaml:11:3: KFW-E002 unknown name 'cuont' (did you mean 'count'?)"
    )
    first_line = ExprIssue("KFW-E002", "x", 4).to_finding("abc def", line=3, col=7)
    assert (first_line.line, first_line.col) == (3, 11)


def test_schema_rejects_unknown_types() -> None:
    with pytest.raises(ConfigError) as caught:
        FieldSchema(fields={"rate": "float"})
    assert str(caught.value) == (
        "field 'rate' has type 'float'; expected one of "
        "['bool', 'date', 'int', 'list', 'number', 'str']"
    )
