"""The fast path: each group of rules compiled into one Python function per rule set.

``group_function(ruleset, group, subject_kind)`` gives ``fn(key, facts, env)``. For a
first-match group it returns the decision of the first rule that fires, or None; for a collect
group, the list of decisions of every rule that fires. Inside, for a group such as the start
light, the generated code reads like this (shortened):

    def _fn(key, f, env):
        _l1 = _unset
        if f.get('exempt'):
            _o = _new(_Decision); _ds0(_o, 'project'); _ds1(_o, key); ...
            _ds4(_o, f'有正当理由，不计开工延误：{_text(f.get("exempt_reason"))}')
            _ds5(_o, {'actual.signed': f.get('actual.signed'), ...})
            return _o
        ...
        if (_l1 if _l1 is not _unset else (_l1 := <working_days_since(planned.started)>))
                is not None and _l1 > 5:
            _l1 = ...                      # every let of the firing rule, computed at most once
            ...
        return None

so a ``let`` is computed at most once per subject however many conditions and reasons use it
(``rules.group_compile``), the reason is an f-string of the template's text and formatter calls
(for templates that ``ReasonTemplate`` renders without Jinja2), and the recorded inputs are a
dict display. Rules that route or escalate, and reasons that need Jinja2, call the reference
``decide`` with the let values already computed. The generated function is compiled from an
``ast`` tree built here and in ``rules.expr_compile``: user text is only ever an
``ast.Constant``, every identifier is chosen here, and the globals hold only the helpers below.

The result must be identical to the reference path (``evaluate(..., fast=False)``, which replay
uses); ``tests/test_eval_fastpath.py`` checks this on a varied scenario set.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import Any

from kfworkflow.evaluate.decide import Ladder, decide
from kfworkflow.evaluate.decision import DECISION_FIELDS, DECISION_SETTERS, Decision
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.rules.expr_compile import HELPERS, function_from_module, function_module
from kfworkflow.rules.group_compile import GroupCode
from kfworkflow.rules.reason import text
from kfworkflow.rules.ruleset import CompiledRule, Group, RuleSet

GroupFunction = Callable[[str, Mapping[str, Any], PassEnv], Any]

_PARAMS = ("key", "f", "env")
_OUT = "_out"
_DECISION = "_o"
_CACHE: dict[tuple[Any, ...], GroupFunction] = {}


def group_function(ruleset: RuleSet, group: Group, subject_kind: str) -> GroupFunction:
    """The compiled function of ``group`` (cached per rule-set revision)."""
    return _cached(ruleset, group, subject_kind, conditions_only=False)


def fires_function(ruleset: RuleSet, group: Group, subject_kind: str) -> GroupFunction:
    """``fn(key, facts, env)``: whether any rule of ``group`` fires for the subject — its
    conditions only (and the lets they use), no decision built (cached per rule-set revision).
    A subject for which it is false gets no decision from ``group_function``."""
    return _cached(ruleset, group, subject_kind, conditions_only=True)


def _cached(ruleset: RuleSet, group: Group, subject_kind: str, *, conditions_only: bool
            ) -> GroupFunction:
    key = (conditions_only, ruleset.revision, subject_kind, group.id, group.hit, group.reads,
           tuple(rule.id for rule in group.rules))
    found = _CACHE.get(key)
    if found is None:
        if len(_CACHE) > 512:
            _CACHE.clear()
        found = _CACHE[key] = _GroupBuilder(ruleset, group, subject_kind).build(
            conditions_only=conditions_only)
    return found


def group_source(ruleset: RuleSet, group: Group, subject_kind: str) -> str:
    """The Python that ``group_function`` compiles, for reading and tests."""
    return ast.unparse(_GroupBuilder(ruleset, group, subject_kind).module())


def is_simple(rule: CompiledRule) -> bool:
    """Built entirely by generated code: no route, no escalation, a reason without Jinja2."""
    then = rule.spec.then
    return not (then.route_level or then.escalate) and rule.reason.parts is not None


def _load(identifier: str) -> ast.expr:
    return ast.Name(identifier, ast.Load())


def _call(function: str, *args: ast.expr) -> ast.expr:
    return ast.Call(_load(function), list(args), [])


class _GroupBuilder:
    def __init__(self, ruleset: RuleSet, group: Group, subject_kind: str) -> None:
        self.ruleset = ruleset
        self.group = group
        self.subject_kind = subject_kind
        self.first = group.hit == "first"
        self.code = GroupCode([(rule.when_tree, rule.let_nodes) for rule in group.rules])
        self.namespace: dict[str, object] = {
            **HELPERS, "_new": object.__new__, "_Decision": Decision, "_text": text,
            **{f"_ds{index}": DECISION_SETTERS[name] for index, name in enumerate(DECISION_FIELDS)},
        }

    def build(self, *, conditions_only: bool = False) -> GroupFunction:
        module = self.conditions_module() if conditions_only else self.module()
        namespace = {**self.namespace, **self.code.constants}
        name = f"{'fires' if conditions_only else 'group'}:{self.subject_kind}:{self.group.id}"
        return function_from_module(module, name, namespace)

    def conditions_module(self) -> ast.Module:
        """``if <condition of rule 1>: return True`` … ``return False``."""
        body: list[ast.stmt] = self.code.prologue()
        for index in range(len(self.group.rules)):
            body.append(ast.If(self.code.condition(index), [ast.Return(ast.Constant(True))], []))
        body.append(ast.Return(ast.Constant(False)))
        return function_module(_PARAMS, body)

    def module(self) -> ast.Module:
        body: list[ast.stmt] = self.code.prologue()
        if not self.first:
            body.append(ast.Assign([ast.Name(_OUT, ast.Store())], ast.List([], ast.Load())))
        for index, rule in enumerate(self.group.rules):
            statements, lets = self.code.force_lets(index)
            statements += self.decision(index, rule, lets)
            if self.first:
                statements.append(ast.Return(_load(_DECISION)))
            else:
                append = ast.Attribute(_load(_OUT), "append", ast.Load())
                statements.append(ast.Expr(ast.Call(append, [_load(_DECISION)], [])))
            body.append(ast.If(self.code.condition(index), statements, []))
        body.append(ast.Return(ast.Constant(None) if self.first else _load(_OUT)))
        return function_module(_PARAMS, body)

    def decision(self, index: int, rule: CompiledRule, lets: dict[str, ast.expr]
                 ) -> list[ast.stmt]:
        """Statements leaving rule ``index``'s decision in ``_o``."""
        target: list[ast.expr] = [ast.Name(_DECISION, ast.Store())]
        if not is_simple(rule):
            finish = f"_finish{index}"
            self.namespace[finish] = _reference_finish(
                rule, self.group, self.subject_kind, Ladder(self.ruleset))
            let_names: list[ast.expr | None] = [ast.Constant(name) for name in lets]
            let_values = ast.Dict(let_names, list(lets.values()))
            return [ast.Assign(target, _call(finish, *map(_load, _PARAMS), let_values))]
        then = rule.spec.then
        values: dict[str, ast.expr] = {
            "subject_kind": ast.Constant(self.subject_kind),
            "subject_key": _load("key"),
            "rule_id": ast.Constant(rule.id),
            "group": ast.Constant(self.group.id),
            "reason": self.reason(rule, lets),
            "inputs": self.inputs(),
            "light": self.code.constant(then.light),
            "route": ast.Constant(None),
            "escalate": ast.Constant(bool(then.escalate)),
            "top_level_overdue": ast.Constant(False),
            "action": self.code.constant(then.action),
        }
        statements: list[ast.stmt] = [ast.Assign(target, _call("_new", _load("_Decision")))]
        for field_index, name in enumerate(DECISION_FIELDS):
            setter = _call(f"_ds{field_index}", _load(_DECISION), values[name])
            statements.append(ast.Expr(setter))
        return statements

    def inputs(self) -> ast.expr:
        """``{'<fact>': f.get('<fact>'), ...}`` over the group's reads, in their order."""
        names: list[ast.expr | None] = [ast.Constant(name) for name in self.group.reads]
        return ast.Dict(names, [self.code.fact(name) for name in self.group.reads])

    def reason(self, rule: CompiledRule, lets: dict[str, ast.expr]) -> ast.expr:
        """The reason as an f-string, the same text ``ReasonTemplate.render`` joins."""
        parts = rule.reason.parts
        assert parts is not None  # is_simple
        pieces: list[ast.expr] = []
        for part in parts:
            if isinstance(part, str):
                pieces.append(ast.Constant(part))
                continue
            source, name, filter_fn, args = part
            value = self.reason_value(rule, source, name, lets)
            if filter_fn is None:
                formatted = _call("_text", value)
            else:
                formatter = self.code.constant(filter_fn)
                formatted = ast.Call(formatter, [value, *map(self.code.constant, args)], [])
            pieces.append(ast.FormattedValue(formatted, -1, None))
        if all(isinstance(piece, ast.Constant) for piece in pieces):
            return ast.Constant("".join(piece.value for piece in pieces))  # type: ignore[attr-defined]
        return ast.JoinedStr(pieces)

    def reason_value(self, rule: CompiledRule, source: int, name: str,
                     lets: dict[str, ast.expr]) -> ast.expr:
        """What ``reason._value`` reads for a simple rule: a let, an extra of the pass, else
        the subject's fact of that name (``recipient`` etc. exist only on routed decisions)."""
        if source == 0 and name in lets:
            return lets[name]
        if source == 1 and name in ("as_of", "today"):
            return self.code.as_of()
        if source == 1 and name == "rule_title":
            return self.code.constant(rule.spec.title)
        return self.code.fact(name)


def _reference_finish(rule: CompiledRule, group: Group, subject_kind: str, ladder: Ladder
                      ) -> Callable[..., Decision]:
    def finish(key: str, facts: Mapping[str, Any], env: PassEnv,
               lets: Mapping[str, Any]) -> Decision:
        return decide(rule, group, subject_kind, key, facts, env, ladder, None, lets)

    return finish
