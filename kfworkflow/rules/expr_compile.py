"""Compile a checked condition expression into a plain Python function.

``compile_expr(node)`` returns ``fn(facts, env)``. The function runs close to hand-written Python
because it *is* Python bytecode: field reads are ``f.get('<name>')``, operators are Python
operators, and the null rules (see below) are inlined with walrus temporaries, e.g.
``((_t1 := f.get('rate')) is not None and _t1 < 0.8)``.

Why this is safe although it compiles code at run time:

* Policy text never reaches ``compile()`` as source. The input is the syntax tree our own parser
  produced; this module builds a Python ``ast`` tree from it node by node and compiles that tree.
  There is no ``eval`` or ``exec`` anywhere: the code object of ``_fn`` is taken out of the
  compiled module's constants and wrapped with ``types.FunctionType``.
* Every identifier in the generated tree is one this module invents: the parameters ``f`` and
  ``env``, temporaries ``_t<n>``, constants ``_k<n>`` and the fixed helper table (``_timedelta``,
  ``_add``, ``_f_round``, ...). Field names, strings and function names written by users appear
  only as ``ast.Constant`` values (``f.get('planned.started')``) or select a helper from the fixed
  table; they can never become a name, an attribute or code. The only attributes used are
  ``get``, ``as_of``, ``days``, ``month``, ``workdays_between`` and ``add_workdays``.
* The function's globals hold ``__builtins__ = {}`` plus the helper table, so even a bug in this
  module could not reach ``open``, ``__import__`` and the like.

Semantics (shared with the tracing interpreter in ``expr_trace``, which reuses the helpers here):

* Operands are evaluated left to right; every operand of an operator or function call is
  evaluated, then the null rule applies: arithmetic and functions (except ``coalesce``) on a
  ``none`` give ``none``; an ordering comparison with a ``none`` side is false; ``==``/``!=``
  compare normally; ``in``/``not in`` with a ``none`` list are false; division by zero is ``none``.
* ``and``/``or`` short-circuit and give true/false, treating ``none`` as false; comparison chains
  stop at the first false link, like Python.
* ``date - date`` is whole days; ``date ± int`` moves by calendar days.
* ``round`` rounds half away from zero (四舍五入), not to even.
"""

from __future__ import annotations

import ast
import datetime as dt
import types
import warnings
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from kfworkflow.errors import Finding, RuleCheckError
from kfworkflow.rules.expr_ast import (
    ORDERING_OPS,
    Arithmetic,
    BoolOp,
    Call,
    Compare,
    ListLiteral,
    LiteralValue,
    Name,
    Negate,
    Node,
    Not,
)
from kfworkflow.rules.expr_check import (
    HISTORY_FUNCTIONS,
    SIGNATURES,
    TODAY,
    Analysis,
    FieldSchema,
    analyze,
    history_field,
    history_literal,
)


class EvalEnv(Protocol):
    """What an expression needs besides the facts: the pass date and a working-day calendar."""

    @property
    def as_of(self) -> dt.date: ...

    def workdays_between(self, start: dt.date, end: dt.date) -> int: ...

    def add_workdays(self, day: dt.date, count: int) -> dt.date: ...


CompiledExpr = Callable[[Mapping[str, Any], EvalEnv], Any]

# -- runtime helpers (also used by the tracing interpreter) -----------------------------------


def add(left: Any, right: Any) -> Any:
    """``left + right`` for non-none operands, with date + int moving by days."""
    if isinstance(left, dt.date) and isinstance(right, int):
        return left + dt.timedelta(right)
    if isinstance(left, int) and isinstance(right, dt.date):
        return right + dt.timedelta(left)
    return left + right


def subtract(left: Any, right: Any) -> Any:
    """``left - right`` for non-none operands; date - date is whole days."""
    if isinstance(left, dt.date) and isinstance(right, dt.date):
        return (left - right).days
    if isinstance(left, dt.date) and isinstance(right, int):
        return left - dt.timedelta(right)
    return left - right


def divide(left: Any, right: Any) -> Any:
    return None if right == 0 else left / right


def member(item: Any, container: Any) -> bool:
    return container is not None and item in container


def not_member(item: Any, container: Any) -> bool:
    return container is not None and item not in container


def _clamp_share(value: float) -> float:
    return max(0.0, min(1.0, value))


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month


def days_since(env: EvalEnv, day: dt.date) -> int:
    return (env.as_of - day).days


def days_until(env: EvalEnv, day: dt.date) -> int:
    return (day - env.as_of).days


def working_days_since(env: EvalEnv, day: dt.date) -> int:
    return env.workdays_between(day, env.as_of)


def working_days_until(env: EvalEnv, day: dt.date) -> int:
    return env.workdays_between(env.as_of, day)


def add_days(env: EvalEnv, day: dt.date, count: int) -> dt.date:
    return day + dt.timedelta(count)


def add_working_days(env: EvalEnv, day: dt.date, count: int) -> dt.date:
    return env.add_workdays(day, count)


def ratio(env: EvalEnv, part: Any, whole: Any) -> Any:
    return divide(part, whole)


def pro_rata_months(env: EvalEnv) -> float:
    """序时进度 by months: the share of the year elapsed, counting the current month."""
    return env.as_of.month / 12


def pro_rata_days(env: EvalEnv, start: dt.date, end: dt.date) -> float | None:
    """Share of the days start..end (both counted) elapsed up to as_of, clamped to 0..1."""
    span = (end - start).days + 1
    if span <= 0:
        return None
    return _clamp_share(((env.as_of - start).days + 1) / span)


def pro_rata_window(env: EvalEnv, event: dt.date, months: int) -> float | None:
    """Months from the month after ``event`` up to and including as_of's month, over ``months``."""
    if months <= 0:
        return None
    return _clamp_share((_month_index(env.as_of) - _month_index(event)) / months)


def pp_gap(env: EvalEnv, actual: Any, target: Any) -> Any:
    """Percentage points ahead (positive) or behind (negative) the target."""
    return (actual - target) * 100


def minimum(env: EvalEnv, *values: Any) -> Any:
    return min(values)


def maximum(env: EvalEnv, *values: Any) -> Any:
    return max(values)


def absolute(env: EvalEnv, value: Any) -> Any:
    return abs(value)


def length(env: EvalEnv, value: Any) -> int:
    return len(value)


def round_half_up(env: EvalEnv, value: Any, digits: int | None = None) -> Any:
    """Round half away from zero (四舍五入) at the decimal the user sees; round(x) is an int."""
    places = 0 if digits is None else digits
    if isinstance(value, int) and places >= 0:
        return value
    exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    rounded = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if digits is None or isinstance(value, int):
        return int(rounded)
    return float(rounded)


FUNCTION_IMPLEMENTATIONS: Mapping[str, Callable[..., Any]] = {
    "days_since": days_since,
    "days_until": days_until,
    "working_days_since": working_days_since,
    "working_days_until": working_days_until,
    "add_days": add_days,
    "add_working_days": add_working_days,
    "ratio": ratio,
    "pro_rata_months": pro_rata_months,
    "pro_rata_days": pro_rata_days,
    "pro_rata_window": pro_rata_window,
    "pp_gap": pp_gap,
    "min": minimum,
    "max": maximum,
    "abs": absolute,
    "round": round_half_up,
    "len": length,
}
NULL_TOLERANT_FUNCTIONS = frozenset({"coalesce"})

_HELPERS: dict[str, object] = {
    "_timedelta": dt.timedelta,
    "_add": add,
    "_subtract": subtract,
    "_member": member,
    "_not_member": not_member,
    "_min": min,
    "_max": max,
    "_abs": abs,
    "_len": len,
    **{f"_f_{name}": impl for name, impl in FUNCTION_IMPLEMENTATIONS.items()},
}

# -- compilation -------------------------------------------------------------------------------


def compile_expr(
    node: Node, name: str = "expr", schema: FieldSchema | None = None
) -> CompiledExpr:
    """Compile ``node`` into ``fn(facts, env)``.

    The tree is checked first (against ``schema`` when given, which also lets date arithmetic be
    inlined); any issue raises RuleCheckError carrying one Finding per issue.
    """
    module, constants = _build_module(node, name, schema)
    with warnings.catch_warnings():  # e.g. `1 is not none`: fine in a rule, noise to Python
        warnings.simplefilter("ignore", SyntaxWarning)
        code = compile(module, f"<rule:{name}>", "exec")
    function_code = next(
        const for const in code.co_consts
        if isinstance(const, types.CodeType) and const.co_name == "_fn"
    )
    namespace: dict[str, Any] = {"__builtins__": {}, **_HELPERS, **constants}
    function = types.FunctionType(function_code, namespace, name)
    function.__qualname__ = name
    return function


def generated_source(node: Node, schema: FieldSchema | None = None) -> str:
    """The Python that ``compile_expr`` would compile, for reading and tests."""
    module, _ = _build_module(node, "expr", schema)
    return ast.unparse(module)


def _build_module(
    node: Node, name: str, schema: FieldSchema | None
) -> tuple[ast.Module, dict[str, object]]:
    analysis = analyze(node, schema)
    if analysis.issues:
        findings = [
            Finding(code=issue.code, message=issue.message, col=issue.pos + 1, hint=issue.hint)
            for issue in analysis.issues
        ]
        raise RuleCheckError(
            f"cannot compile expression {name!r}: {analysis.issues[0].message}", findings
        )
    generator = _Generator(analysis)
    body = generator.value(node)
    arguments = ast.arguments(
        posonlyargs=[], args=[ast.arg("f"), ast.arg("env")], kwonlyargs=[], kw_defaults=[],
        defaults=[],
    )
    function_fields: dict[str, Any] = {
        "name": "_fn", "args": arguments, "body": [ast.Return(body)], "decorator_list": [],
    }
    if "type_params" in ast.FunctionDef._fields:
        function_fields["type_params"] = []
    module = ast.Module(body=[ast.FunctionDef(**function_fields)], type_ignores=[])
    return ast.fix_missing_locations(module), generator.constants


def _load(identifier: str) -> ast.expr:
    return ast.Name(identifier, ast.Load())


def _call(function: ast.expr, *args: ast.expr) -> ast.expr:
    return ast.Call(function, list(args), [])


def _is_none(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.Is()], [ast.Constant(None)])


def _is_not_none(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.IsNot()], [ast.Constant(None)])


def _combine(tests: list[ast.expr], operator: ast.operator) -> ast.expr:
    """Join tests with ``&`` or ``|``, which (unlike and/or) evaluate every operand."""
    combined = tests[0]
    for test in tests[1:]:
        combined = ast.BinOp(combined, operator, test)
    return combined


def _and(tests: list[ast.expr]) -> ast.expr:
    flat: list[ast.expr] = []
    for test in tests:
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            flat.extend(test.values)
        else:
            flat.append(test)
    return flat[0] if len(flat) == 1 else ast.BoolOp(ast.And(), flat)


_AS_OF = ("env", "as_of")
_COMPARE_OPS: dict[str, Callable[[], ast.cmpop]] = {
    "==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE,
    "in": ast.In, "not in": ast.NotIn, "is": ast.Is, "is not": ast.IsNot,
}
_ARITHMETIC_OPS: dict[str, Callable[[], ast.operator]] = {
    "+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div,
}


class _Bound:
    """An operand evaluated once: ``first`` evaluates it (into a temporary unless it is a
    constant), ``ref`` reads the value again. ``is_none_literal`` marks the `none` literal."""

    def __init__(self, first: ast.expr, ref: ast.expr, constant: bool, none: bool) -> None:
        self.first = first
        self.ref = ref
        self.constant = constant
        self.is_none_literal = none
        self.used = False
        self.known_present = False

    def use(self) -> ast.expr:
        """The evaluating expression the first time, then the reference."""
        if self.used:
            return self.ref
        self.used = True
        return self.first


class _Generator:
    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.constants: dict[str, object] = {}
        self.temp_count = 0

    # -- leaves ------------------------------------------------------------------------------

    def as_of(self) -> ast.expr:
        return ast.Attribute(_load("env"), "as_of", ast.Load())

    def constant(self, value: object) -> ast.expr:
        if isinstance(value, dt.date):  # ast.Constant cannot hold a date
            identifier = f"_k{len(self.constants)}"
            self.constants[identifier] = value
            return _load(identifier)
        assert value is None or isinstance(value, str | int | float)
        return ast.Constant(value)

    def is_constant(self, node: Node) -> bool:
        """Needs no evaluation and is never none: may be repeated or skipped freely."""
        if isinstance(node, LiteralValue):
            return node.value is not None
        if isinstance(node, Negate):
            return self.is_constant(node.operand)
        return isinstance(node, Name) and node.name == TODAY

    def once(self, node: Node) -> _Bound:
        """An operand read exactly once: no temporary."""
        expr = self.value(node)
        return _Bound(expr, expr, constant=self.is_constant(node), none=False)

    def bind(self, node: Node) -> _Bound:
        if self.is_constant(node):
            expr = self.value(node)
            return _Bound(expr, expr, constant=True, none=False)
        if isinstance(node, LiteralValue):  # the `none` literal: no temporary needed
            return _Bound(ast.Constant(None), ast.Constant(None), constant=False, none=True)
        self.temp_count += 1
        identifier = f"_t{self.temp_count}"
        first = ast.NamedExpr(ast.Name(identifier, ast.Store()), self.value(node))
        return _Bound(first, _load(identifier), constant=False, none=False)

    # -- expressions -------------------------------------------------------------------------

    def test(self, node: Node) -> ast.expr:
        """An expression whose truth is the node's truth (none counts as false)."""
        if isinstance(node, BoolOp):
            return self.bool_op(node)
        return self.value(node)

    def value(self, node: Node) -> ast.expr:
        match node:
            case LiteralValue(value=value):
                return self.constant(value)
            case ListLiteral(items=items):
                return ast.List([self.value(item) for item in items], ast.Load())
            case Name(name=name):
                if name == TODAY:
                    return self.as_of()
                return self.read_fact(name)
            case Negate(operand=operand):
                return self.negate(operand)
            case Not(operand=operand):
                return ast.UnaryOp(ast.Not(), self.test(operand))
            case BoolOp():
                return ast.IfExp(self.bool_op(node), ast.Constant(True), ast.Constant(False))
            case Arithmetic():
                return self.arithmetic(node)
            case Compare():
                return self.compare(node)
            case Call():
                return self.call(node)

    def read_fact(self, name: str) -> ast.expr:
        getter = ast.Attribute(_load("f"), "get", ast.Load())
        return _call(getter, ast.Constant(name))

    def negate(self, operand: Node) -> ast.expr:
        if isinstance(operand, LiteralValue) and isinstance(operand.value, int | float):
            return ast.Constant(-operand.value)
        bound = self.bind(operand)
        return self.null_propagating([bound], ast.UnaryOp(ast.USub(), bound.ref))

    def bool_op(self, node: BoolOp) -> ast.expr:
        operator: ast.boolop = ast.And() if node.op == "and" else ast.Or()
        values: list[ast.expr] = []
        for operand in (node.left, node.right):
            test = self.test(operand)
            if isinstance(test, ast.BoolOp) and type(test.op) is type(operator):
                values.extend(test.values)
            else:
                values.append(test)
        return ast.BoolOp(operator, values)

    def null_propagating(self, operands: list[_Bound], result: ast.expr,
                         extra_none_test: ast.expr | None = None) -> ast.expr:
        """``None if <any operand is none> else result``, evaluating every operand first."""
        tests = [_is_none(bound.use()) for bound in operands if not bound.constant]
        missing = [_combine(tests, ast.BitOr())] if tests else []
        if extra_none_test is not None:
            missing.append(extra_none_test)
        if not missing:
            return result
        test = missing[0] if len(missing) == 1 else ast.BoolOp(ast.Or(), missing)
        return ast.IfExp(test, ast.Constant(None), result)

    def arithmetic(self, node: Arithmetic) -> ast.expr:
        left, right = self.bind(node.left), self.bind(node.right)
        left_type = self.analysis.type_of(node.left)
        right_type = self.analysis.type_of(node.right)
        numeric = {"int", "number"}
        pair = (left_type, right_type)
        result: ast.expr
        if node.op == "/":
            divisor_is_zero = None
            if not (right.constant and isinstance(node.right, LiteralValue) and node.right.value):
                divisor_is_zero = ast.Compare(right.ref, [ast.Eq()], [ast.Constant(0)])
            quotient = ast.BinOp(left.ref, ast.Div(), right.ref)
            return self.null_propagating([left, right], quotient, divisor_is_zero)
        if (left_type in numeric and right_type in numeric) or node.op == "*":
            result = ast.BinOp(left.ref, _ARITHMETIC_OPS[node.op](), right.ref)
        elif node.op == "+" and pair == ("date", "int"):
            result = ast.BinOp(left.ref, ast.Add(), _call(_load("_timedelta"), right.ref))
        elif node.op == "+" and pair == ("int", "date"):
            result = ast.BinOp(right.ref, ast.Add(), _call(_load("_timedelta"), left.ref))
        elif node.op == "-" and pair == ("date", "int"):
            result = ast.BinOp(left.ref, ast.Sub(), _call(_load("_timedelta"), right.ref))
        elif node.op == "-" and pair == ("date", "date"):
            result = ast.Attribute(ast.BinOp(left.ref, ast.Sub(), right.ref), "days", ast.Load())
        else:
            helper = "_add" if node.op == "+" else "_subtract"
            result = _call(_load(helper), left.ref, right.ref)
        return self.null_propagating([left, right], result)

    def compare(self, node: Compare) -> ast.expr:
        ops = node.ops
        bounds: list[_Bound] = []
        for index, operand in enumerate(node.operands):
            in_middle = 0 < index < len(ops)
            in_ordering = any(
                0 <= link < len(ops) and ops[link] in ORDERING_OPS for link in (index - 1, index)
            )
            bounds.append(self.bind(operand) if in_middle or in_ordering else self.once(operand))
        links: list[ast.expr] = []
        for index, op in enumerate(ops):
            left, right = bounds[index], bounds[index + 1]
            right_node = node.operands[index + 1]
            if op in ORDERING_OPS:
                links.append(self.ordering_link(op, left, right))
            elif op in ("in", "not in") and not isinstance(right_node, ListLiteral):
                helper = "_member" if op == "in" else "_not_member"
                links.append(_call(_load(helper), left.use(), right.use()))
            else:
                left_expr = left.use()
                links.append(ast.Compare(left_expr, [_COMPARE_OPS[op]()], [right.use()]))
        return _and(links)

    def ordering_link(self, op: str, left: _Bound, right: _Bound) -> ast.expr:
        present: list[ast.expr] = []
        for bound in (left, right):
            if bound.is_none_literal:
                bound.use()
                present.append(ast.Constant(False))
            elif not bound.constant and not bound.known_present:
                present.append(_is_not_none(bound.use()))
                bound.known_present = True  # later links run only if this one held
        comparison = ast.Compare(left.ref, [_COMPARE_OPS[op]()], [right.ref])
        if not present:
            return comparison
        return ast.BoolOp(ast.And(), [_combine(present, ast.BitAnd()), comparison])

    # -- calls -------------------------------------------------------------------------------

    def call(self, node: Call) -> ast.expr:
        if node.func in HISTORY_FUNCTIONS:
            literal = history_literal(node)
            assert literal is not None  # guaranteed by the checker
            return self.read_fact(history_field(node.func, literal))
        if node.func == "coalesce":
            return self.coalesce(list(node.args))
        assert node.func in SIGNATURES  # guaranteed by the checker
        bounds = [self.bind(arg) for arg in node.args]
        if node.func == "ratio":
            divisor_is_zero = ast.Compare(bounds[1].ref, [ast.Eq()], [ast.Constant(0)])
            quotient = ast.BinOp(bounds[0].ref, ast.Div(), bounds[1].ref)
            return self.null_propagating(bounds, quotient, divisor_is_zero)
        refs = [bound.ref for bound in bounds]
        return self.null_propagating(bounds, self.function_body(node.func, refs))

    def function_body(self, func: str, args: list[ast.expr]) -> ast.expr:
        """The call on non-none arguments; simple functions are inlined, the rest call helpers."""
        as_of = self.as_of()
        env = _load("env")
        match func:
            case "days_since":
                return ast.Attribute(ast.BinOp(as_of, ast.Sub(), args[0]), "days", ast.Load())
            case "days_until":
                return ast.Attribute(ast.BinOp(args[0], ast.Sub(), as_of), "days", ast.Load())
            case "working_days_since":
                method = ast.Attribute(env, "workdays_between", ast.Load())
                return _call(method, args[0], as_of)
            case "working_days_until":
                method = ast.Attribute(env, "workdays_between", ast.Load())
                return _call(method, as_of, args[0])
            case "add_days":
                return ast.BinOp(args[0], ast.Add(), _call(_load("_timedelta"), args[1]))
            case "add_working_days":
                method = ast.Attribute(env, "add_workdays", ast.Load())
                return _call(method, args[0], args[1])
            case "pro_rata_months":
                month = ast.Attribute(as_of, "month", ast.Load())
                return ast.BinOp(month, ast.Div(), ast.Constant(12))
            case "pp_gap":
                gap = ast.BinOp(args[0], ast.Sub(), args[1])
                return ast.BinOp(gap, ast.Mult(), ast.Constant(100))
            case "min" | "max" | "abs" | "len":
                return _call(_load(f"_{func}"), *args)
            case _:
                return _call(_load(f"_f_{func}"), env, *args)

    def coalesce(self, args: list[Node]) -> ast.expr:
        """The first non-none argument, evaluating no further than needed."""
        *leading, last = args
        result = self.value(last)
        for arg in reversed(leading):
            if isinstance(arg, LiteralValue) and arg.value is None:
                continue
            if self.is_constant(arg):
                result = self.value(arg)
                continue
            bound = self.bind(arg)
            result = ast.IfExp(_is_not_none(bound.first), bound.ref, result)
        return result
