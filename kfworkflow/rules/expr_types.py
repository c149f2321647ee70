"""The type system of condition expressions: which types there are, what a field schema and
a function signature declare, and what type an operator or call yields for its operands.

Types are the schema's: 'str', 'int', 'number', 'bool', 'date', 'list'; plus 'none' (the `none`
literal) and 'any' (unknown, e.g. after an error, so one mistake is reported once). 'int' is a
'number'; `bool` is not. Nothing is reported here: a combination that makes no sense answers
None (or False), and :mod:`kfworkflow.rules.expr_check` turns that into an issue.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kfworkflow.errors import ConfigError

FIELD_TYPES = frozenset({"str", "int", "number", "bool", "date", "list"})
TODAY = "today"
NUMERIC = frozenset({"int", "number"})

# history function -> (prefix of the field it reads, result type, what its literal names)
HISTORY_FUNCTIONS: dict[str, tuple[str, str, str]] = {
    "previous_light": ("previous_light", "str", "dimension"),
    "light_streak": ("light_streak", "int", "dimension"),
    "streak": ("streak", "int", "rule id"),
}


@dataclass(frozen=True)
class Signature:
    """Parameter types ('date', 'int', 'num', 'list|str', 'num|date') and arity of a function.

    With ``variadic`` the last parameter may repeat; ``min_args`` defaults to len(params).
    """

    params: tuple[str, ...]
    result: str  # a type, or 'widest' (of the arguments), or 'round'
    variadic: bool = False
    min_args: int | None = None

    @property
    def fewest(self) -> int:
        return len(self.params) if self.min_args is None else self.min_args

    def arity_text(self, name: str) -> str:
        fewest = self.fewest
        if self.variadic:
            return f"{name}() takes at least {fewest} arguments"
        if fewest != len(self.params):
            return f"{name}() takes {fewest} or {len(self.params)} arguments"
        noun = "argument" if fewest == 1 else "arguments"
        return f"{name}() takes {fewest} {noun}"


SIGNATURES: dict[str, Signature] = {
    "days_since": Signature(("date",), "int"),
    "days_until": Signature(("date",), "int"),
    "working_days_since": Signature(("date",), "int"),
    "working_days_until": Signature(("date",), "int"),
    "add_days": Signature(("date", "int"), "date"),
    "add_working_days": Signature(("date", "int"), "date"),
    "ratio": Signature(("num", "num"), "number"),
    "pro_rata_months": Signature((), "number"),
    "pro_rata_days": Signature(("date", "date"), "number"),
    "pro_rata_window": Signature(("date", "int"), "number"),
    "pp_gap": Signature(("num", "num"), "number"),
    "min": Signature(("num|date", "num|date"), "widest", variadic=True),
    "max": Signature(("num|date", "num|date"), "widest", variadic=True),
    "abs": Signature(("num",), "widest"),
    "round": Signature(("num", "int"), "round", min_args=1),
    "coalesce": Signature(("any", "any"), "widest", variadic=True),
    "len": Signature(("list|str",), "int"),
}
FUNCTION_NAMES = frozenset(SIGNATURES) | frozenset(HISTORY_FUNCTIONS)


@dataclass(frozen=True)
class FieldSchema:
    """What an expression may read: field name -> type, plus the literals history functions take."""

    fields: Mapping[str, str]
    dimensions: frozenset[str] = frozenset()
    rule_ids: frozenset[str] = frozenset()
    extra_names: Mapping[str, str] = field(default_factory=dict)  # e.g. let-bound names

    def __post_init__(self) -> None:
        for name, type_ in {**self.fields, **self.extra_names}.items():
            if type_ not in FIELD_TYPES:
                raise ConfigError(
                    f"field {name!r} has type {type_!r}; expected one of {sorted(FIELD_TYPES)}"
                )

    def type_of(self, name: str) -> str | None:
        if name in self.extra_names:
            return self.extra_names[name]
        return self.fields.get(name)

    def names(self) -> list[str]:
        return sorted({*self.fields, *self.extra_names, TODAY})



def is_numeric(type_: str) -> bool:
    return type_ in NUMERIC


def family(type_: str) -> str:
    return "number" if type_ in NUMERIC else type_


def comparable(left: str, right: str) -> bool:
    if "any" in (left, right) or "none" in (left, right):
        return True
    return family(left) == family(right)


def fits(actual: str, param: str) -> bool:
    if actual in ("any", "none") or param == "any":
        return True
    allowed: set[str] = set()
    for part in param.split("|"):
        allowed |= NUMERIC if part == "num" else {part}
    return actual in allowed


def widest(types: list[str]) -> str:
    known = [t for t in types if t not in ("none", "any")]
    if "any" in types:
        return "any"
    if not known:
        return "none"
    if all(t == "int" for t in known):
        return "int"
    if all(is_numeric(t) for t in known):
        return "number"
    return known[0] if all(t == known[0] for t in known) else "any"



def arithmetic_type(op: str, left: str, right: str) -> str | None:
    """Result type of ``left op right``, or None when the operation makes no sense."""
    if left == "none" or right == "none":  # always none; `none + 1` might be number or date
        other = right if left == "none" else left
        return "any" if other in (*NUMERIC, "date", "any", "none") else None
    if left == "any" or right == "any":
        known = right if left == "any" else left
        return "any" if known in (*NUMERIC, "date", "any") else None
    if is_numeric(left) and is_numeric(right):
        if op == "/":
            return "number"
        return "int" if left == right == "int" else "number"
    if op == "+" and {left, right} == {"date", "int"}:
        return "date"
    if op == "-" and left == "date" and right == "int":
        return "date"
    if op == "-" and left == right == "date":
        return "int"
    return None


def result_type(signature: Signature, arg_types: list[str]) -> str:
    if signature.result == "widest":
        return widest(arg_types)
    if signature.result == "round":
        if len(arg_types) == 1:
            return "int"
        return "int" if arg_types[0] == "int" else "number"
    return signature.result
