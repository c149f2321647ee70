"""Compile the conditions and ``let`` values of a whole group of rules into one function body.

``compile_expr`` turns one condition into one function, with every ``let`` inlined: a rule
that uses ``late`` twice, and a first-match group whose rules all define the same ``late``,
compute it again at each use. ``GroupCode`` instead gives each distinct ``let`` tree a local
(``_l<n>``) that starts as the ``_unset`` marker and is filled the first time the value is
needed: ``(_l1 if _l1 is not _unset else (_l1 := <let value>))``. Conditions, the firing rule's
reason and whatever else the caller builds all read that local, so a let is computed at most
once per call, and only where the reference path would compute it.

Two lets share a local when their trees are equal (same shape, same text positions: see
``expr_ast``); lets are pure functions of the facts and the pass environment, so equal trees
give equal values. Lets that are only a field read or a constant are not worth a local and
stay inlined.

The caller (``evaluate.fastpath``) puts the statements together and compiles them with
``function_from_module``; the safety rules of ``expr_compile`` hold unchanged: user text only
ever becomes ``ast.Constant`` values, and every identifier is one chosen here.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from kfworkflow.errors import RuleCheckError
from kfworkflow.rules.expr_ast import Call, Name, Node
from kfworkflow.rules.expr_check import HISTORY_FUNCTIONS, Analysis, analyze
from kfworkflow.rules.expr_compile import ExprGenerator, has_no_effect

UNSET_NAME = "_unset"


class _Unset:
    """The value of a let local before its let is computed."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<unset>"


UNSET = _Unset()

RuleTrees = tuple[Node, Sequence[tuple[str, Node]]]  # (inlined condition, (name, inlined let))


def worth_caching(node: Node) -> bool:
    """A let whose value costs more than reading it back from a local."""
    if has_no_effect(node) or isinstance(node, Name):
        return False
    return not (isinstance(node, Call) and node.func in HISTORY_FUNCTIONS)


class GroupCode:
    """Expression and statement trees for the rules of one group, sharing let locals."""

    def __init__(self, rules: Sequence[RuleTrees]) -> None:
        self.rules = list(rules)
        types: dict[int, str] = {}
        for when, lets in self.rules:
            for tree in (when, *(node for _, node in lets)):
                analysis = analyze(tree, None)
                if analysis.issues:  # already checked when the rule set was compiled
                    raise RuleCheckError(f"cannot compile group: {analysis.issues[0].message}")
                types.update(analysis._node_types)
        self.generator = ExprGenerator(Analysis(self.rules[0][0], "any", (), types))
        self._slots: dict[Node, str] = {}  # equal let trees share one local
        self._rule_slots: list[tuple[tuple[str, str], ...]] = []
        for _, lets in self.rules:
            names = []
            for let_name, node in lets:
                slot = self._slots.setdefault(node, f"_l{len(self._slots) + 1}")
                if worth_caching(node):
                    self.generator.let_slots[id(node)] = slot
                names.append((let_name, slot))
            self._rule_slots.append(tuple(names))

    @property
    def constants(self) -> dict[str, object]:
        """Globals the generated trees refer to (dates and other non-literal constants)."""
        return {**self.generator.constants, UNSET_NAME: UNSET}

    def prologue(self) -> list[ast.stmt]:
        """``_l1 = _l2 = ... = _unset``: every let local starts unset."""
        if not self._slots:
            return []
        targets: list[ast.expr] = [ast.Name(slot, ast.Store()) for slot in self._slots.values()]
        return [ast.Assign(targets, ast.Name(UNSET_NAME, ast.Load()))]

    def condition(self, index: int) -> ast.expr:
        """Rule ``index``'s condition; its truth says whether the rule fires."""
        return self.generator.value(self.rules[index][0])

    def force_lets(self, index: int) -> tuple[list[ast.stmt], dict[str, ast.expr]]:
        """Statements computing every let of rule ``index`` (in order, each at most once), and
        a load of each let's value by name. The reference path computes all of a firing rule's
        lets, so the fast path does too, whether or not its reason uses them."""
        statements: list[ast.stmt] = []
        loads: dict[str, ast.expr] = {}
        for (let_name, node), (_, slot) in zip(self.rules[index][1], self._rule_slots[index],
                                               strict=True):
            statements.append(ast.Assign([ast.Name(slot, ast.Store())],
                                         self.generator.value(node)))
            loads[let_name] = ast.Name(slot, ast.Load())
        return statements, loads

    def constant(self, value: Any) -> ast.expr:
        """Any object as a global of the generated function (a name chosen here)."""
        if value is None or isinstance(value, bool | int | float | str):
            return ast.Constant(value)
        identifier = f"_k{len(self.generator.constants)}"
        self.generator.constants[identifier] = value
        return ast.Name(identifier, ast.Load())

    def fact(self, name: str) -> ast.expr:
        """``f.get('<name>')``."""
        return self.generator.read_fact(name)

    def as_of(self) -> ast.expr:
        return self.generator.as_of()
