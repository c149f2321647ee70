"""Tracing interpreter for "explain": evaluates a tree step by step and records why.

It walks the syntax tree directly (no code generation) and is therefore slow; use it to explain a
decision, never to make one. It follows exactly the semantics of ``expr_compile`` (same
evaluation order and short-circuits, same null rules, same helper functions), which a property
test checks.

A ``Step`` is recorded for every comparison link, boolean operator and function call, in
evaluation order (operands before the operator that uses them), so an explanation can print::

    working_days_since(planned.started) = 7
    working_days_since(planned.started) = 7 > 5 → true
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
    format_value,
)
from kfworkflow.rules.expr_check import (
    HISTORY_FUNCTIONS,
    TODAY,
    analyze,
    history_field,
    history_literal,
)
from kfworkflow.rules.expr_compile import has_no_effect
from kfworkflow.rules.expr_runtime import (
    FUNCTION_IMPLEMENTATIONS,
    EvalEnv,
    add,
    divide,
    member,
    not_member,
    subtract,
)


class _NotEvaluated:
    """Marks the right side of `and`/`or` that short-circuiting skipped."""

    def __repr__(self) -> str:
        return "NOT_EVALUATED"


NOT_EVALUATED: Any = _NotEvaluated()

_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "in": member,
    "not in": not_member,
    "is": lambda value, _none: value is None,
    "is not": lambda value, _none: value is not None,
}


@dataclass(frozen=True)
class Step:
    """One evaluated comparison link, boolean operator or function call.

    ``text`` is the source slice of the whole step. For a comparison ``left``/``right`` are the
    operand values and ``left_text``/``right_text`` their source ('' for literals); ``right`` is
    NOT_EVALUATED when a none on the left already decided an ordering comparison. For `and`/`or`
    they are the operand values (``right`` is NOT_EVALUATED when short-circuited); for `not`
    ``left`` is the operand value; for a call ``op`` is the function name and ``left`` the tuple
    of argument values.
    """

    pos: int
    text: str
    op: str
    left: Any
    right: Any
    result: Any
    left_text: str = ""
    right_text: str = ""

    def describe(self) -> str:
        """One line for people, e.g. ``working_days_since(planned.started) = 7 > 5 → true``."""
        result = format_value(self.result)
        if self.op in _COMPARISONS:
            left = _operand(self.left_text, self.left)
            right = _operand(self.right_text, self.right)
            return f"{left} {self.op} {right} → {result}"
        if self.op in ("and", "or", "not"):
            skipped = " (right side not needed)" if self.right is NOT_EVALUATED else ""
            return f"{self.text} → {result}{skipped}"
        return f"{self.text} = {result}"


def _operand(text: str, value: Any) -> str:
    if value is NOT_EVALUATED:
        return f"{text} (not evaluated)"
    shown = format_value(value)
    return shown if not text or text == shown else f"{text} = {shown}"


def trace(node: Node, facts: Mapping[str, Any], env: EvalEnv) -> tuple[Any, list[Step]]:
    """Evaluate ``node`` like its compiled form would, returning (value, steps)."""
    issues = analyze(node, None).issues
    if issues:
        findings = [Finding(issue.code, issue.message, col=issue.pos + 1, hint=issue.hint)
                    for issue in issues]
        raise RuleCheckError(f"cannot trace expression: {issues[0].message}", findings)
    tracer = _Tracer(facts, env)
    return tracer.value(node), tracer.steps


def _source(node: Node) -> str:
    return "" if isinstance(node, LiteralValue) else node.text


class _Tracer:
    def __init__(self, facts: Mapping[str, Any], env: EvalEnv) -> None:
        self.facts = facts
        self.env = env
        self.steps: list[Step] = []

    def record(self, node: Node, op: str, left: Any, right: Any, result: Any,
               left_text: str = "", right_text: str = "") -> None:
        self.steps.append(Step(node.pos, node.text, op, left, right, result, left_text,
                               right_text))

    def value(self, node: Node) -> Any:
        match node:
            case LiteralValue(value=value):
                return value
            case ListLiteral(items=items):
                return [self.value(item) for item in items]
            case Name(name=name):
                return self.env.as_of if name == TODAY else self.facts.get(name)
            case Negate(operand=operand):
                operand_value = self.value(operand)
                return None if operand_value is None else -operand_value
            case Not(operand=operand):
                operand_value = self.value(operand)
                result = not operand_value
                self.record(node, "not", operand_value, None, result, operand.text)
                return result
            case BoolOp():
                return self.bool_op(node)
            case Arithmetic():
                return self.arithmetic(node)
            case Compare():
                return self.compare(node)
            case Call():
                return self.call(node)

    def bool_op(self, node: BoolOp) -> bool:
        left = self.value(node.left)
        decided = (not left) if node.op == "and" else bool(left)
        if decided:
            result = node.op == "or"
            right = NOT_EVALUATED
        else:
            right = self.value(node.right)
            result = bool(right)
        self.record(node, node.op, left, right, result, node.left.text, node.right.text)
        return result

    def arithmetic(self, node: Arithmetic) -> Any:
        left = self.value(node.left)
        if left is None:
            return None
        right = self.value(node.right)
        if right is None:
            return None
        if node.op == "+":
            return add(left, right)
        if node.op == "-":
            return subtract(left, right)
        if node.op == "*":
            return left * right
        return divide(left, right)

    def compare(self, node: Compare) -> bool:
        left = self.value(node.operands[0])
        for index, op in enumerate(node.ops):
            left_node, right_node = node.operands[index], node.operands[index + 1]
            if op in ORDERING_OPS and left is None and not has_no_effect(right_node):
                right = NOT_EVALUATED  # the link is already false
            else:
                right = self.value(right_node)
            if op in ORDERING_OPS and (left is None or right is None):
                result = False
            else:
                result = bool(_COMPARISONS[op](left, right))
            link_text = node.text[left_node.pos - node.pos:right_node.end - node.pos]
            self.steps.append(Step(left_node.pos, link_text, op, left, right, result,
                                   _source(left_node), _source(right_node)))
            if not result:
                return False
            left = right
        return True

    def call(self, node: Call) -> Any:
        if node.func in HISTORY_FUNCTIONS:
            literal = history_literal(node)
            assert literal is not None  # guaranteed by analyze()
            result = self.facts.get(history_field(node.func, literal))
            self.record(node, node.func, (literal,), None, result)
            return result
        args: list[Any] = []
        if node.func == "coalesce":
            result = None
            for arg in node.args:
                result = self.value(arg)
                args.append(result)
                if result is not None:
                    break
        else:
            for arg in node.args:  # stop at the first none
                args.append(self.value(arg))
                if args[-1] is None:
                    break
            if args and args[-1] is None:
                result = None
            else:
                result = FUNCTION_IMPLEMENTATIONS[node.func](self.env, *args)
        self.record(node, node.func, tuple(args), None, result)
        return result
