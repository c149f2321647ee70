"""Syntax tree of the rule condition language.

Every node is a frozen dataclass carrying ``pos`` (0-based offset of its first character in the
source) and ``text`` (its exact source slice, so messages and "explain" can quote it). ``text``
does not take part in equality, so two trees compare equal when they have the same shape and
positions. A parenthesised sub-expression keeps its parentheses in ``pos``/``text``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TypeAlias

LiteralKind: TypeAlias = str  # 'int', 'number', 'str', 'date', 'bool', 'none'
LiteralPython: TypeAlias = int | float | str | dt.date | bool | None

ARITHMETIC_OPS = ("+", "-", "*", "/")
ORDERING_OPS = ("<", "<=", ">", ">=")
EQUALITY_OPS = ("==", "!=")
MEMBERSHIP_OPS = ("in", "not in")
IDENTITY_OPS = ("is", "is not")  # only ever followed by `none`
COMPARISON_OPS = EQUALITY_OPS + ORDERING_OPS + MEMBERSHIP_OPS + IDENTITY_OPS


@dataclass(frozen=True, kw_only=True)
class _Located:
    pos: int
    text: str = field(compare=False, repr=False)

    @property
    def end(self) -> int:
        return self.pos + len(self.text)


@dataclass(frozen=True)
class LiteralValue(_Located):
    """`5`, `0.95`, `95%`, `'x'`, `2022-11-30`, `true`, `false`, `none`."""

    value: LiteralPython
    kind: LiteralKind


@dataclass(frozen=True)
class ListLiteral(_Located):
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Name(_Located):
    """A field read (`state`, `planned.started`) or the built-in name `today`."""

    name: str


@dataclass(frozen=True)
class Negate(_Located):
    operand: Node


@dataclass(frozen=True)
class Arithmetic(_Located):
    op: str  # one of ARITHMETIC_OPS
    left: Node
    right: Node
    op_pos: int


@dataclass(frozen=True)
class BoolOp(_Located):
    """`left and right` / `left or right`; chains nest to the left."""

    op: str  # 'and' | 'or'
    left: Node
    right: Node
    op_pos: int


@dataclass(frozen=True)
class Not(_Located):
    operand: Node


@dataclass(frozen=True)
class Compare(_Located):
    """A comparison chain: ``operands[0] ops[0] operands[1] ops[1] operands[2] ...``.

    Like Python, `0.8 <= rate < 1` means `0.8 <= rate and rate < 1` with `rate` read once.
    For `is` / `is not` the right operand is always the `none` literal.
    """

    operands: tuple[Node, ...]
    ops: tuple[str, ...]
    op_positions: tuple[int, ...]


@dataclass(frozen=True)
class Call(_Located):
    func: str
    args: tuple[Node, ...]


Node: TypeAlias = (
    LiteralValue | ListLiteral | Name | Negate | Arithmetic | BoolOp | Not | Compare | Call
)


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of ``node``, in source order."""
    match node:
        case LiteralValue() | Name():
            return ()
        case ListLiteral(items=items):
            return items
        case Negate(operand=operand) | Not(operand=operand):
            return (operand,)
        case Arithmetic(left=left, right=right) | BoolOp(left=left, right=right):
            return (left, right)
        case Compare(operands=operands):
            return operands
        case Call(args=args):
            return args


def walk(node: Node) -> list[Node]:
    """``node`` and all its descendants, parents before children, in source order."""
    found = [node]
    for child in children(node):
        found.extend(walk(child))
    return found


def format_value(value: object) -> str:
    """A value the way the expression language spells it (`true`, `none`, `'x'`, dates ISO)."""
    if value is None:
        return "none"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    return repr(value)


def to_sexpr(node: Node) -> str:
    """A compact prefix rendering of the tree shape, e.g. ``(and (> x 5) (not y))``."""
    match node:
        case LiteralValue(value=value):
            return format_value(value)
        case ListLiteral(items=items):
            return "[" + " ".join(to_sexpr(item) for item in items) + "]"
        case Name(name=name):
            return name
        case Negate(operand=operand):
            return f"(neg {to_sexpr(operand)})"
        case Not(operand=operand):
            return f"(not {to_sexpr(operand)})"
        case Arithmetic(op=op, left=left, right=right) | BoolOp(op=op, left=left, right=right):
            return f"({op} {to_sexpr(left)} {to_sexpr(right)})"
        case Compare(operands=operands, ops=ops):
            parts = [to_sexpr(operands[0])]
            for op, operand in zip(ops, operands[1:], strict=True):
                parts += [op, to_sexpr(operand)]
            return "(compare " + " ".join(parts) + ")"
        case Call(func=func, args=args):
            return "(" + " ".join([func + "()", *(to_sexpr(arg) for arg in args)]) + ")"


def line_col(source: str, pos: int) -> tuple[int, int]:
    """1-based (line, column) of offset ``pos`` in ``source``."""
    before = source[:pos]
    line = before.count("\n") + 1
    col = pos - (before.rfind("\n") + 1) + 1
    return line, col
