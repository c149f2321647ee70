"""Name and type checking of condition expressions against a field schema.

Walks a parsed tree, infers each node's type with the rules of :mod:`kfworkflow.rules.expr_types`
and collects every problem found as an ``ExprIssue`` with its message and hint; nothing is
raised.

Codes: KFW-E001 syntax, KFW-E002 unknown name, KFW-E003 unknown function, KFW-E004 wrong
argument count, KFW-E005 type mismatch, KFW-E006 bad history argument.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from kfworkflow.errors import Finding, did_you_mean
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
    line_col,
    walk,
)
from kfworkflow.rules.expr_parse import SYNTAX_CODE, ExprSyntaxError, parse
from kfworkflow.rules.expr_types import (
    FIELD_TYPES,
    FUNCTION_NAMES,
    NUMERIC,
    arithmetic_type,
    comparable,
    family,
    fits,
    result_type,
)

# re-exported: callers import the schema and the function tables from here
from kfworkflow.rules.expr_types import HISTORY_FUNCTIONS as HISTORY_FUNCTIONS
from kfworkflow.rules.expr_types import SIGNATURES as SIGNATURES
from kfworkflow.rules.expr_types import TODAY as TODAY
from kfworkflow.rules.expr_types import FieldSchema as FieldSchema

UNKNOWN_NAME = "KFW-E002"
UNKNOWN_FUNCTION = "KFW-E003"
WRONG_ARITY = "KFW-E004"
TYPE_MISMATCH = "KFW-E005"
BAD_HISTORY_ARGUMENT = "KFW-E006"


@dataclass(frozen=True)
class ExprIssue:
    code: str
    message: str
    pos: int
    hint: str | None = None

    def to_finding(
        self, source: str, file: str | None = None, line: int = 1, col: int = 1
    ) -> Finding:
        """Locate the issue in a file, given where ``source`` starts (1-based line and column)."""
        issue_line, issue_col = line_col(source, self.pos)
        absolute_col = col + issue_col - 1 if issue_line == 1 else issue_col
        return Finding(
            code=self.code,
            message=self.message,
            file=file,
            line=line + issue_line - 1,
            col=absolute_col,
            hint=self.hint,
        )

    def __str__(self) -> str:
        text = f"{self.code} at {self.pos}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text


@dataclass(frozen=True)
class Analysis:
    """Result type, issues, and the type of every node (by identity) of one checked tree."""

    root: Node
    result_type: str
    issues: tuple[ExprIssue, ...]
    _node_types: Mapping[int, str]

    def type_of(self, node: Node) -> str:
        return self._node_types.get(id(node), "any")


def check(node: Node, schema: FieldSchema) -> tuple[str, list[ExprIssue]]:
    """Check names, functions, arity and types; returns (result type, all issues found)."""
    analysis = analyze(node, schema)
    return analysis.result_type, list(analysis.issues)


def analyze(node: Node, schema: FieldSchema | None) -> Analysis:
    """Like ``check``, keeping each node's type. With no schema every field is of unknown type
    and history literals are not validated (the function and arity checks still apply)."""
    checker = _Checker(schema)
    result = checker.visit(node)
    return Analysis(node, result, tuple(checker.issues), dict(checker.types))


def check_source(
    text: str, schema: FieldSchema
) -> tuple[Node | None, str, list[ExprIssue]]:
    """Parse and check ``text``; a syntax error becomes a KFW-E001 issue (and no tree)."""
    try:
        node = parse(text)
    except ExprSyntaxError as error:
        return None, "any", [ExprIssue(SYNTAX_CODE, error.message, error.pos, error.hint)]
    result, issues = check(node, schema)
    return node, result, issues


def references(node: Node) -> frozenset[str]:
    """Every fact name the expression reads, including those history functions read."""
    found: set[str] = set()
    for sub in walk(node):
        if isinstance(sub, Name) and sub.name != TODAY:
            found.add(sub.name)
        elif isinstance(sub, Call) and sub.func in HISTORY_FUNCTIONS:
            literal = history_literal(sub)
            if literal is not None:
                found.add(history_field(sub.func, literal))
    return frozenset(found)


def history_literal(call: Call) -> str | None:
    """The string literal a history call names, or None when it is not exactly one."""
    if len(call.args) == 1:
        arg = call.args[0]
        if isinstance(arg, LiteralValue) and arg.kind == "str":
            assert isinstance(arg.value, str)
            return arg.value
    return None


def history_field(func: str, literal: str) -> str:
    return f"{HISTORY_FUNCTIONS[func][0]}.{literal}"



_PARAM_WORDS = {"num": "number", "num|date": "number or date", "list|str": "list or str"}


class _Checker:
    def __init__(self, schema: FieldSchema | None) -> None:
        self.schema = schema
        self.issues: list[ExprIssue] = []
        self.types: dict[int, str] = {}

    def report(self, code: str, message: str, pos: int, hint: str | None = None) -> None:
        self.issues.append(ExprIssue(code, message, pos, hint))

    def visit(self, node: Node) -> str:
        type_ = self._visit(node)
        self.types[id(node)] = type_
        return type_

    def _visit(self, node: Node) -> str:
        match node:
            case LiteralValue(kind=kind):
                return kind
            case ListLiteral(items=items):
                for item in items:
                    self.visit(item)
                return "list"
            case Name():
                return self.name(node)
            case Negate(operand=operand):
                operand_type = self.visit(operand)
                if operand_type in NUMERIC or operand_type in ("any", "none"):
                    return operand_type
                self.report(TYPE_MISMATCH, f"cannot negate a {operand_type}", node.pos)
                return "any"
            case Not(operand=operand):
                self.truth_operand(operand, "not")
                return "bool"
            case BoolOp(op=op, left=left, right=right):
                self.truth_operand(left, op)
                self.truth_operand(right, op)
                return "bool"
            case Arithmetic():
                return self.arithmetic(node)
            case Compare():
                self.compare(node)
                return "bool"
            case Call():
                return self.call(node)

    # -- names -------------------------------------------------------------------------------

    def name(self, node: Name) -> str:
        if node.name == TODAY:
            return "date"
        if self.schema is None:
            return "any"
        known = self.schema.type_of(node.name)
        if known is not None:
            return known
        names = self.schema.names()
        swapped = ".".join(reversed(node.name.split(".")))
        hint = f"did you mean '{swapped}'?" if swapped in names else did_you_mean(node.name, names)
        if node.name.lower() in ("true", "false", "none", "and", "or", "not", "in", "is"):
            hint = f"write '{node.name.lower()}' in lower case"
        elif node.name in FUNCTION_NAMES:
            hint = f"{node.name} is a function: write {node.name}(...)"
        self.report(UNKNOWN_NAME, f"unknown name '{node.name}'", node.pos, hint)
        return "any"

    # -- operators ---------------------------------------------------------------------------

    def truth_operand(self, operand: Node, op: str) -> None:
        type_ = self.visit(operand)
        if type_ not in ("bool", "any", "none"):
            self.report(
                TYPE_MISMATCH,
                f"'{op}' needs true/false values, but '{operand.text}' is {type_}",
                operand.pos,
                "compare it first, e.g. x > 0 or x == 'y'",
            )

    def arithmetic(self, node: Arithmetic) -> str:
        left = self.visit(node.left)
        right = self.visit(node.right)
        result = arithmetic_type(node.op, left, right)
        if result is not None:
            return result
        hint = None
        if node.op in "+-" and "date" in (left, right) and "number" in (left, right):
            hint = "add or subtract a whole number of days"
        elif "str" in (left, right):
            hint = "text cannot take part in arithmetic"
        self.report(
            TYPE_MISMATCH, f"cannot apply '{node.op}' to {left} and {right}", node.op_pos, hint
        )
        return "any"

    def compare(self, node: Compare) -> None:
        types = [self.visit(operand) for operand in node.operands]
        for index, op in enumerate(node.ops):
            left, right = types[index], types[index + 1]
            left_node, right_node = node.operands[index], node.operands[index + 1]
            pos = node.op_positions[index]
            if op in ("is", "is not"):
                continue
            if op in ("in", "not in"):
                self.membership(op, left, right, right_node, pos)
            elif op in ORDERING_OPS:
                self.ordering(op, left, right, left_node, right_node, pos)
            elif not comparable(left, right):
                self.report(TYPE_MISMATCH, f"cannot compare {left} with {right} using '{op}'",
                            pos, _quoted_date_hint(left, right, left_node, right_node))

    def ordering(self, op: str, left: str, right: str, left_node: Node, right_node: Node,
                 pos: int) -> None:
        if "none" in (left, right):
            self.report(TYPE_MISMATCH, f"'{op}' with none is always false", pos,
                        "use 'is none' or 'is not none'")
            return
        orderable = {"int", "number", "date", "str", "any"}
        if left in orderable and right in orderable and comparable(left, right):
            return
        self.report(TYPE_MISMATCH, f"cannot compare {left} with {right} using '{op}'", pos,
                    _quoted_date_hint(left, right, left_node, right_node))

    def membership(self, op: str, left: str, right: str, right_node: Node, pos: int) -> None:
        if right not in ("list", "str", "any", "none"):
            self.report(TYPE_MISMATCH, f"'{op}' needs a list or str on its right, got {right}",
                        pos, "write a list like ['a', 'b']")
            return
        if right == "str" and left not in ("str", "any", "none"):
            self.report(TYPE_MISMATCH, f"'{op}' a str needs a str on its left, got {left}", pos)
            return
        if isinstance(right_node, ListLiteral):
            for item in right_node.items:
                item_type = self.types.get(id(item), "any")
                if not comparable(left, item_type):
                    self.report(TYPE_MISMATCH,
                                f"the list holds {item_type} values but the left side is {left}",
                                item.pos)

    # -- calls -------------------------------------------------------------------------------

    def call(self, node: Call) -> str:
        if node.func in HISTORY_FUNCTIONS:
            return self.history_call(node)
        arg_types = [self.visit(arg) for arg in node.args]
        signature = SIGNATURES.get(node.func)
        if signature is None:
            self.unknown_function(node)
            return "any"
        count = len(node.args)
        too_many = not signature.variadic and count > len(signature.params)
        if count < signature.fewest or too_many:
            self.report(WRONG_ARITY, f"{signature.arity_text(node.func)}, got {count}", node.pos)
            return signature.result if signature.result in FIELD_TYPES else "any"
        for index, (arg, arg_type) in enumerate(zip(node.args, arg_types, strict=True)):
            param = signature.params[min(index, len(signature.params) - 1)]
            if not fits(arg_type, param):
                wanted = _PARAM_WORDS.get(param, param)
                self.report(
                    TYPE_MISMATCH,
                    f"{node.func}() needs {wanted} as argument {index + 1}, got {arg_type}",
                    arg.pos,
                    _quoted_date_hint(param, arg_type, arg, arg),
                )
        families = {family(t) for t in arg_types if t not in ("none", "any")}
        if signature.result == "widest" and len(families) > 1:
            self.report(TYPE_MISMATCH,
                        f"{node.func}() arguments mix {' and '.join(sorted(families))}", node.pos)
            return "any"
        result = result_type(signature, arg_types)
        return result

    def unknown_function(self, node: Call) -> None:
        hint = did_you_mean(node.func, FUNCTION_NAMES)
        if node.func == TODAY:
            hint = "today is a name: write it without ()"
        elif self.schema is not None and self.schema.type_of(node.func) is not None:
            hint = f"'{node.func}' is a field: write it without ()"
        self.report(UNKNOWN_FUNCTION, f"unknown function '{node.func}'", node.pos, hint)

    def history_call(self, node: Call) -> str:
        _, result, noun = HISTORY_FUNCTIONS[node.func]
        for arg in node.args:
            if not isinstance(arg, Name):  # a bare name here is a missing quote, not a field
                self.visit(arg)
        if len(node.args) != 1:
            self.report(WRONG_ARITY, f"{node.func}() takes 1 argument, got {len(node.args)}",
                        node.pos)
            return result
        literal = history_literal(node)
        example = f"{node.func}('start')" if noun == "dimension" else f"{node.func}('rule_id')"
        if literal is None:
            arg = node.args[0]
            hint = f"write {node.func}('{arg.name}')" if isinstance(arg, Name) else None
            self.report(BAD_HISTORY_ARGUMENT,
                        f"{node.func}() needs a quoted {noun}, e.g. {example}", arg.pos, hint)
            return result
        if self.schema is None:
            return result
        known = self.schema.dimensions if noun == "dimension" else self.schema.rule_ids
        if literal not in known:
            self.report(BAD_HISTORY_ARGUMENT, f"unknown {noun} '{literal}' in {node.func}()",
                        node.args[0].pos, did_you_mean(literal, sorted(known)))
        return result


def _quoted_date_hint(left: str, right: str, left_node: Node, right_node: Node) -> str | None:
    """Suggest dropping the quotes when a str literal holding an ISO date meets a date."""
    if "date" not in (left, right):
        return None
    for node in (left_node, right_node):
        if isinstance(node, LiteralValue) and node.kind == "str":
            assert isinstance(node.value, str)
            if _looks_like_iso_date(node.value):
                return f"write dates without quotes: {node.value}"
    return None


def _looks_like_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10

