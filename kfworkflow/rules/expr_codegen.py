"""The code generator: a checked condition tree as a Python ``ast`` expression.

``ExprGenerator(analysis).value(node)`` builds the expression ``expr_compile`` (one condition)
and ``group_compile`` (a group's function) compile. The safety rules and semantics are described
in ``expr_compile``: user text only ever becomes an ``ast.Constant`` or selects a helper from the
fixed table; every identifier is one invented here (``f``, ``env``, ``_t<n>``, ``_k<n>``, the
helpers' ``_`` names, the ``_l<n>`` let slots the group compiler hands in).
"""

from __future__ import annotations

import ast
import datetime as dt
from collections.abc import Callable

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
    history_field,
    history_literal,
)


def _load(identifier: str) -> ast.expr:
    return ast.Name(identifier, ast.Load())


def _call(function: ast.expr, *args: ast.expr) -> ast.expr:
    return ast.Call(function, list(args), [])


def _is_not_none(expr: ast.expr) -> ast.expr:
    return ast.Compare(expr, [ast.IsNot()], [ast.Constant(None)])


def _and(tests: list[ast.expr]) -> ast.expr:
    flat: list[ast.expr] = []
    for test in tests:
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            flat.extend(test.values)
        else:
            flat.append(test)
    return flat[0] if len(flat) == 1 else ast.BoolOp(ast.And(), flat)


_COMPARE_OPS: dict[str, Callable[[], ast.cmpop]] = {
    "==": ast.Eq, "!=": ast.NotEq, "<": ast.Lt, "<=": ast.LtE, ">": ast.Gt, ">=": ast.GtE,
    "in": ast.In, "not in": ast.NotIn, "is": ast.Is, "is not": ast.IsNot,
}
_ARITHMETIC_OPS: dict[str, Callable[[], ast.operator]] = {
    "+": ast.Add, "-": ast.Sub, "*": ast.Mult, "/": ast.Div,
}
# functions that never give none for non-none arguments
_TOTAL_FUNCTIONS = frozenset({
    "days_since", "days_until", "working_days_since", "working_days_until", "add_days",
    "add_working_days", "pro_rata_months", "pp_gap", "min", "max", "abs", "round", "len",
})


def _is_trivial(expr: ast.expr) -> bool:
    """Re-reading costs nothing and changes nothing: a temporary, a constant, ``env.as_of``."""
    if isinstance(expr, ast.Name | ast.Constant):
        return True
    return (isinstance(expr, ast.Attribute) and expr.attr == "as_of"
            and isinstance(expr.value, ast.Name) and expr.value.id == "env")


def has_no_effect(node: Node) -> bool:
    """Evaluating ``node`` reads nothing and cannot fail: literals, `today`, `-5`."""
    if isinstance(node, LiteralValue):
        return True
    if isinstance(node, Negate):
        return isinstance(node.operand, LiteralValue)
    if isinstance(node, ListLiteral):
        return all(has_no_effect(item) for item in node.items)
    return isinstance(node, Name) and node.name == TODAY


def _is_none_constant(node: Node) -> bool:
    """`none` or `-none`."""
    if isinstance(node, Negate):
        return _is_none_constant(node.operand)
    return isinstance(node, LiteralValue) and node.value is None


class ExprGenerator:
    """Builds the Python expression for a checked tree.

    ``present(node)`` gives ``(conditions, expr)``: when every condition holds (they run in
    order, joined by ``and``), ``expr`` is the node's value and is not None. Null handling is
    then a chain of ``is not None`` tests in evaluation order, e.g. ``days_since(d) > 30`` becomes
    ``(_t1 := f.get('d')) is not None and (env.as_of - _t1).days > 30``.
    """

    def __init__(self, analysis: Analysis) -> None:
        self.analysis = analysis
        self.constants: dict[str, object] = {}
        self.temp_count = 0
        # id(let tree) -> local that caches its value (see ``cached_let``); empty for a
        # single expression, filled by the group compiler
        self.let_slots: dict[int, str] = {}
        self._expanding: int | None = None

    # -- cached let values ---------------------------------------------------------------------

    def let_slot(self, node: Node) -> str | None:
        """The local caching ``node``'s value, when ``node`` is a cached let tree."""
        if not self.let_slots:
            return None
        key = id(node)
        return None if key == self._expanding else self.let_slots.get(key)

    def cached_let(self, node: Node, slot: str) -> ast.expr:
        """``(_lN if _lN is not _unset else (_lN := <value>))``: computed once per call."""
        outer, self._expanding = self._expanding, id(node)
        try:
            inner = self.value(node)
        finally:
            self._expanding = outer
        is_set = ast.Compare(_load(slot), [ast.IsNot()], [_load("_unset")])
        return ast.IfExp(is_set, _load(slot),
                         ast.NamedExpr(ast.Name(slot, ast.Store()), inner))

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

    def read_fact(self, name: str) -> ast.expr:
        getter = ast.Attribute(_load("f"), "get", ast.Load())
        return _call(getter, ast.Constant(name))

    def temp(self, expr: ast.expr) -> tuple[ast.expr, ast.expr]:
        """(``(_tN := expr)``, ``_tN``)."""
        self.temp_count += 1
        identifier = f"_t{self.temp_count}"
        return ast.NamedExpr(ast.Name(identifier, ast.Store()), expr), _load(identifier)

    # -- values that may be none ---------------------------------------------------------------

    def value(self, node: Node) -> ast.expr:
        slot = self.let_slot(node)
        if slot is not None:
            return self.cached_let(node, slot)
        match node:
            case LiteralValue(value=value):
                return self.constant(value)
            case ListLiteral(items=items):
                return ast.List([self.value(item) for item in items], ast.Load())
            case Name(name=name):
                return self.as_of() if name == TODAY else self.read_fact(name)
            case Not(operand=operand):
                return ast.UnaryOp(ast.Not(), self.test(operand))
            case BoolOp():
                if self.is_bool_valued(node):
                    return self.bool_op(node)
                return ast.IfExp(self.bool_op(node), ast.Constant(True), ast.Constant(False))
            case Compare():
                return self.compare(node)
            case Call(func=func) if func in HISTORY_FUNCTIONS:
                literal = history_literal(node)
                assert literal is not None  # guaranteed by the checker
                return self.read_fact(history_field(func, literal))
            case Call(func="coalesce"):
                return self.coalesce(list(node.args))
            case _:
                conditions, expr, _ = self.computed(node)
                if not conditions:
                    return expr
                return ast.IfExp(_and(conditions), expr, ast.Constant(None))

    def present(self, node: Node) -> tuple[list[ast.expr], ast.expr]:
        """Conditions after which ``expr`` is the node's value and not None."""
        slot = self.let_slot(node)
        if slot is not None:
            return [_is_not_none(self.cached_let(node, slot))], _load(slot)
        if isinstance(node, LiteralValue) and node.value is None:
            return [ast.Constant(False)], ast.Constant(None)
        if isinstance(node, Negate | Arithmetic) or (
            isinstance(node, Call) and node.func in SIGNATURES and node.func != "coalesce"
        ):
            conditions, expr, may_be_none = self.computed(node)
        else:
            conditions, expr, may_be_none = [], self.value(node), not isinstance(
                node, LiteralValue | ListLiteral | Compare | BoolOp | Not
            ) and not (isinstance(node, Name) and node.name == TODAY)
        if may_be_none:
            first, ref = self.temp(expr)
            return [*conditions, _is_not_none(first)], ref
        return conditions, expr

    def operands_present(
        self, nodes: list[Node], keep_last: bool = False
    ) -> tuple[list[ast.expr], list[ast.expr]]:
        """Conditions and values of operands evaluated left to right, stopping at a none.

        An operand's value is kept in a temporary when something with an effect is evaluated
        after it (so evaluation order stays left to right) or when ``keep_last`` asks for it.
        """
        conditions: list[ast.expr] = []
        exprs: list[ast.expr] = []
        for index, node in enumerate(nodes):
            node_conditions, expr = self.present(node)
            conditions += node_conditions
            later_effects = any(not has_no_effect(later) for later in nodes[index + 1:])
            is_last = index == len(nodes) - 1
            if (later_effects or (keep_last and is_last)) and not _is_trivial(expr):
                first, expr = self.temp(expr)
                conditions.append(_is_not_none(first))
            exprs.append(expr)
        return conditions, exprs

    def computed(self, node: Node) -> tuple[list[ast.expr], ast.expr, bool]:
        """(conditions, expression, may the expression itself be None) of an operator or
        function that gives none when an operand is none."""
        match node:
            case Negate(operand=operand):
                if isinstance(operand, LiteralValue) and isinstance(operand.value, int | float):
                    return [], ast.Constant(-operand.value), False
                conditions, (expr,) = self.operands_present([operand])
                return conditions, ast.UnaryOp(ast.USub(), expr), False
            case Arithmetic(op="/", left=dividend, right=divisor):
                return (*self.division(dividend, divisor), False)
            case Call(func="ratio", args=(dividend, divisor)):
                return (*self.division(dividend, divisor), False)
            case Arithmetic():
                conditions, (left, right) = self.operands_present([node.left, node.right])
                return conditions, self.arithmetic(node, left, right), False
            case Call(func=func, args=args):
                assert func in SIGNATURES  # guaranteed by the checker
                conditions, exprs = self.operands_present(list(args))
                return conditions, self.function_body(func, exprs), func not in _TOTAL_FUNCTIONS
        raise AssertionError(f"not a computed node: {node!r}")

    def division(self, left: Node, right: Node) -> tuple[list[ast.expr], ast.expr]:
        conditions, (dividend, divisor) = self.operands_present([left, right], keep_last=True)
        if not (isinstance(divisor, ast.Constant) and divisor.value):
            conditions.append(ast.Compare(divisor, [ast.NotEq()], [ast.Constant(0)]))
        return conditions, ast.BinOp(dividend, ast.Div(), divisor)

    def arithmetic(self, node: Arithmetic, left: ast.expr, right: ast.expr) -> ast.expr:
        left_type = self.analysis.type_of(node.left)
        right_type = self.analysis.type_of(node.right)
        numeric = {"int", "number"}
        pair = (left_type, right_type)
        if (left_type in numeric and right_type in numeric) or node.op == "*":
            return ast.BinOp(left, _ARITHMETIC_OPS[node.op](), right)
        if node.op == "+" and pair == ("date", "int"):
            return ast.BinOp(left, ast.Add(), _call(_load("_timedelta"), right))
        if node.op == "+" and pair == ("int", "date"):
            return ast.BinOp(right, ast.Add(), _call(_load("_timedelta"), left))
        if node.op == "-" and pair == ("date", "int"):
            return ast.BinOp(left, ast.Sub(), _call(_load("_timedelta"), right))
        if node.op == "-" and pair == ("date", "date"):
            return ast.Attribute(ast.BinOp(left, ast.Sub(), right), "days", ast.Load())
        helper = "_add" if node.op == "+" else "_subtract"  # types unknown: decide at run time
        return _call(_load(helper), left, right)

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
            if has_no_effect(arg):  # a constant: either always none or never none
                if not _is_none_constant(arg):
                    result = self.value(arg)
                continue
            first, ref = self.temp(self.value(arg))
            result = ast.IfExp(_is_not_none(first), ref, result)
        return result

    # -- true/false ----------------------------------------------------------------------------

    def test(self, node: Node) -> ast.expr:
        """An expression whose truth is the node's truth (none counts as false)."""
        if isinstance(node, BoolOp) and self.let_slot(node) is None:
            return self.bool_op(node)
        return self.value(node)

    def is_bool_valued(self, node: Node) -> bool:
        """Always evaluates to exactly True or False (so no conversion is needed)."""
        if isinstance(node, Compare | Not):
            return True
        if isinstance(node, BoolOp):
            return self.is_bool_valued(node.left) and self.is_bool_valued(node.right)
        return isinstance(node, LiteralValue) and isinstance(node.value, bool)

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

    def compare(self, node: Compare) -> ast.expr:
        """A chain of links joined by ``and``; a middle operand is evaluated once."""
        ops = node.ops
        links: list[ast.expr] = []
        left_ref: ast.expr | None = None  # the previous link's right operand
        left_present = False
        for index, op in enumerate(ops):
            left_node, right_node = node.operands[index], node.operands[index + 1]
            reused = index + 1 < len(ops)
            if op in ORDERING_OPS:
                if left_ref is None:
                    conditions, (left, right) = self.operands_present(
                        [left_node, right_node], keep_last=reused)
                else:
                    left = left_ref
                    conditions = [] if left_present else [_is_not_none(left_ref)]
                    right_conditions, (right,) = self.operands_present([right_node], reused)
                    conditions += right_conditions
                comparison = ast.Compare(left, [_COMPARE_OPS[op]()], [right])
                links.append(_and([*conditions, comparison]))
                left_ref, left_present = right, True
                continue
            left = self.value(left_node) if left_ref is None else left_ref
            right = self.value(right_node)
            right_first = right
            if reused and not _is_trivial(right):
                right_first, right = self.temp(right)
            if op in ("in", "not in") and not isinstance(right_node, ListLiteral):
                helper = "_member" if op == "in" else "_not_member"
                links.append(_call(_load(helper), left, right_first))
            else:
                links.append(ast.Compare(left, [_COMPARE_OPS[op]()], [right_first]))
            left_ref, left_present = right, False
        return _and(links)
