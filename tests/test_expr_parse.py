"""Parser of the rule condition language: shapes, literals, positions and syntax errors."""

from __future__ import annotations

import datetime as dt

import pytest

from kfworkflow.errors import InputError, KfwError
from kfworkflow.rules.expr_ast import (
    Arithmetic,
    Call,
    Compare,
    ListLiteral,
    LiteralPython,
    LiteralValue,
    Name,
    line_col,
    to_sexpr,
)
from kfworkflow.rules.expr_parse import ExprSyntaxError, parse


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("a or b and c", "(or a (and b c))"),
        ("a and b or c", "(or (and a b) c)"),
        ("a and b and c", "(and (and a b) c)"),
        ("not a and b", "(and (not a) b)"),
        ("not not a", "(not (not a))"),
        ("not a == b", "(not (compare a == b))"),
        ("a + b * c", "(+ a (* b c))"),
        ("a - b - c", "(- (- a b) c)"),
        ("a / b * c", "(* (/ a b) c)"),
        ("-a * b", "(* (neg a) b)"),
        ("- -a", "(neg (neg a))"),
        ("(a + b) * c", "(* (+ a b) c)"),
        ("a + b > c * 2", "(compare (+ a b) > (* c 2))"),
        ("a > 1 or b < 2 and not c", "(or (compare a > 1) (and (compare b < 2) (not c)))"),
        ("f(a, b + 1) >= 3", "(compare (f() a (+ b 1)) >= 3)"),
        ("pro_rata_months()", "(pro_rata_months())"),
        ("days_since(planned.started)", "(days_since() planned.started)"),
        ("x - f(y)", "(- x (f() y))"),
        ("[a, b + 1]", "[a (+ b 1)]"),
    ],
)
def test_precedence_and_associativity(text: str, shape: str) -> None:
    assert to_sexpr(parse(text)) == shape


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("0.8 <= rate < 1", "(compare 0.8 <= rate < 1)"),
        ("0 < a <= b < 10", "(compare 0 < a <= b < 10)"),
        ("a == b != c", "(compare a == b != c)"),
        ("x is none", "(compare x is none)"),
        ("x is not none", "(compare x is not none)"),
        ("x in ['a', 'b']", "(compare x in ['a' 'b'])"),
        ("x not in tags", "(compare x not in tags)"),
        ("not x in tags", "(not (compare x in tags))"),
        ("a + 1 < b - 1 <= c", "(compare (+ a 1) < (- b 1) <= c)"),
    ],
)
def test_comparisons_chain(text: str, shape: str) -> None:
    assert to_sexpr(parse(text)) == shape


def test_chain_keeps_every_operator_and_position() -> None:
    node = parse("0.8 <= rate < 1")
    assert isinstance(node, Compare)
    assert node.ops == ("<=", "<")
    assert node.op_positions == (4, 12)
    assert [operand.pos for operand in node.operands] == [0, 7, 14]


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("5", 5, "int"),
        ("0", 0, "int"),
        ("0.95", 0.95, "number"),
        ("95%", 0.95, "number"),
        ("12.5%", 0.125, "number"),
        ("100%", 1.0, "number"),
        ("'planned'", "planned", "str"),
        ('"planned"', "planned", "str"),
        ("'开工'", "开工", "str"),
        (r"'it\'s'", "it's", "str"),
        ("''", "", "str"),
        ("2022-11-30", dt.date(2022, 11, 30), "date"),
        ("true", True, "bool"),
        ("false", False, "bool"),
        ("none", None, "none"),
    ],
)
def test_literals(text: str, value: LiteralPython, kind: str) -> None:
    node = parse(text)
    assert node == LiteralValue(value, kind, pos=0, text=text)
    assert type(node.value) is type(value)
    assert node.text == text


def test_list_literals() -> None:
    assert parse("[]") == ListLiteral((), pos=0, text="[]")
    node = parse("['a', 2022-01-05, 3]")
    assert isinstance(node, ListLiteral)
    assert [item.value for item in node.items if isinstance(item, LiteralValue)] == [
        "a", dt.date(2022, 1, 5), 3,
    ]
    assert [item.pos for item in node.items] == [1, 6, 18]


def test_date_is_one_token_but_spaced_minus_is_arithmetic() -> None:
    assert to_sexpr(parse("2022-11-30 - 3")) == "(- 2022-11-30 3)"
    assert to_sexpr(parse("2022 - 11 - 30")) == "(- (- 2022 11) 30)"


def test_dotted_names_and_keywords() -> None:
    assert parse("planned.started") == Name("planned.started", pos=0, text="planned.started")
    assert parse("rates.start") == Name("rates.start", pos=0, text="rates.start")
    assert parse("rates.in") == Name("rates.in", pos=0, text="rates.in")  # dotted: not a keyword
    assert parse("_x1") == Name("_x1", pos=0, text="_x1")


def test_positions_and_source_slices() -> None:
    text = "a + b.c > 5"
    node = parse(text)
    assert isinstance(node, Compare)
    assert (node.pos, node.text) == (0, text)
    left = node.operands[0]
    assert isinstance(left, Arithmetic)
    assert (left.pos, left.text, left.op_pos) == (0, "a + b.c", 2)
    assert (left.right.pos, left.right.text) == (4, "b.c")
    assert (node.operands[1].pos, node.op_positions) == (10, (8,))


def test_parentheses_are_part_of_the_slice() -> None:
    node = parse("  (a + b) * c")
    assert isinstance(node, Arithmetic)
    assert (node.pos, node.text, node.end) == (2, "(a + b) * c", 13)
    assert (node.left.pos, node.left.text) == (2, "(a + b)")


def test_call_positions() -> None:
    node = parse("x + days_since( d )")
    assert isinstance(node, Arithmetic)
    call = node.right
    assert isinstance(call, Call)
    assert (call.func, call.pos, call.text) == ("days_since", 4, "days_since( d )")
    assert call.args == (Name("d", pos=16, text="d"),)


def test_multiline_expression() -> None:
    node = parse("a > 1\n  and b")
    assert to_sexpr(node) == "(and (compare a > 1) b)"


@pytest.mark.parametrize(
    ("text", "pos", "message", "hint"),
    [
        ("a >", 3, "expected a value after '>', found the end of the expression", None),
        ("a = 1", 2, "unexpected '='", "use == to compare"),
        ("a === 1", 4, "unexpected '='", "use == to compare"),
        ("(a > 1", 0, "this '(' is never closed", "add ')'"),
        ("f(a, (b)", 1, "this '(' is never closed", "add ')'"),
        ("[1, 2", 0, "this '[' is never closed", "add ']'"),
        ("f(a b)", 4, "expected ',' or ')', found name 'b'", None),
        ("(a b)", 3, "expected ')', found name 'b'", None),
        ("a > 1)", 5, "unmatched ')'", None),
        ("a b", 2, "unexpected name 'b' after a complete expression",
         "join conditions with 'and' or 'or'"),
        ("a $ b", 2, "unexpected character '$'", None),
        ("a && b", 2, "unexpected '&&'", "use 'and'"),
        ("a || b", 2, "unexpected '||'", "use 'or'"),
        ("!a", 0, "unexpected '!'", "use 'not' to negate, or != to compare"),
        ("95 %", 3, "unexpected '%'", "write a percentage right after its number, e.g. 95%"),
        (".5", 0, "unexpected '.'", "write decimals with a leading digit, e.g. 0.5"),
        ("x（1）", 1, "unexpected full-width character '（'", "use the ASCII '('"),
        ("状态 == 1", 0, "unexpected character '状'", "text values must be in quotes, e.g. 'red'"),
        ("", 0, "the expression is empty", None),
        ("   ", 3, "the expression is empty", None),
        ("x == 'abc", 5, "this string is never closed", "end it with '"),
        ("2022-13-01", 0, "'2022-13-01' is not a valid date", None),
        ("d > 2022-1-5", 4, "'2022-1-5' looks like a date but is not written YYYY-MM-DD",
         "write dates as e.g. 2022-01-05; put spaces around '-' or '/' for arithmetic"),
        ("d > 2022/11/30", 4, "'2022/11/30' looks like a date but is not written YYYY-MM-DD",
         "write dates as e.g. 2022-01-05; put spaces around '-' or '/' for arithmetic"),
        ("5days", 1, "unexpected 'd' right after the number 5", None),
        ("x is 5", 5, "'is' must be followed by 'none', found number 5",
         "use == or != to compare values"),
        ("x is not 'a'", 9, "'is not' must be followed by 'none', found string 'a'",
         "use == or != to compare values"),
        ("a and", 5, "expected a value after 'and', found the end of the expression", None),
        ("a or or b", 5, "expected a value after 'or', found 'or'", None),
        ("not", 3, "expected a value after 'not', found the end of the expression", None),
        ("a > * 2", 4, "expected a value, found '*'", None),
        ("a == in", 5, "expected a value, found the keyword 'in'", None),
        ("f(a,)", 4, "expected a value after ',', found ')'", None),
        ("planned.", 8, "expected a name after 'planned.'", "dotted names look like a.b"),
    ],
)
def test_syntax_errors(text: str, pos: int, message: str, hint: str | None) -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        parse(text)
    error = caught.value
    assert (error.pos, error.message, error.hint) == (pos, message, hint)
    assert str(error) == message
    assert error.code == "KFW-E001"


def test_syntax_error_is_an_input_error_with_a_finding() -> None:
    with pytest.raises(ExprSyntaxError) as caught:
        parse("a = 1")
    error = caught.value
    assert isinstance(error, InputError)
    assert isinstance(error, KfwError)
    assert [(f.code, f.message, f.hint) for f in error.findings] == [
        ("KFW-E001", "unexpected '='", "use == to compare")
    ]


def test_syntax_error_line_and_column() -> None:
    text = "a > 1 and\n  b = 2"
    with pytest.raises(ExprSyntaxError) as caught:
        parse(text)
    assert caught.value.pos == 14
    assert caught.value.line_col(text) == (2, 5)
    assert line_col(text, 0) == (1, 1)
    assert line_col("abc", 2) == (1, 3)
