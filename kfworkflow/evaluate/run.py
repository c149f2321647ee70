"""Evaluating a rule set over subjects: the hot loop of every pass.

For each subject and each group of rules in force: a first-match group stops at its first
rule whose condition holds (rules tried in ascending ``priority``); a collect group keeps all.
Only a rule that fires pays for its reason, route and recorded inputs.

Two implementations give identical decisions: the fast path (default; each group compiled into
one function, see ``fastpath``) and the reference path (each rule's condition, then ``decide``),
which replay and explain use through ``evaluate_group``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from kfworkflow.evaluate.decide import Ladder, decide, extras_for
from kfworkflow.evaluate.decision import Decision
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.evaluate.fastpath import fires_function, group_function
from kfworkflow.rules.ruleset import Group, RuleSet

Facts = Mapping[str, Any]
SubjectT = TypeVar("SubjectT", bound=tuple[str, Facts])

__all__ = ["decide", "evaluate", "evaluate_group", "firing"]


def evaluate(
    ruleset: RuleSet,
    pass_kind: str,
    subject_kind: str,
    subjects: Iterable[tuple[str, Facts]],
    env: PassEnv,
    *,
    only_rules: frozenset[str] | None = None,
    fast: bool = True,
) -> Iterator[Decision]:
    plan = ruleset.plan(pass_kind, subject_kind, env.as_of)
    if only_rules is not None:
        plan = tuple(g for g in plan if any(r.id in only_rules for r in g.rules))
    if not fast:
        yield from _evaluate_reference(ruleset, plan, subject_kind, subjects, env)
        return
    functions = [(g.hit == "first", group_function(ruleset, g, subject_kind)) for g in plan]
    for key, facts in subjects:
        for first, function in functions:
            if first:
                decision = function(key, facts, env)
                if decision is not None:
                    yield decision
            else:
                yield from function(key, facts, env)


def firing(ruleset: RuleSet, pass_kind: str, subject_kind: str, subjects: Iterable[SubjectT],
           env: PassEnv) -> list[SubjectT]:
    """The subjects for which some rule in force fires: those ``evaluate`` gives a decision
    for. Only the conditions are evaluated, so a subject need not have the facts that only a
    firing rule's reason, route or recorded inputs read (see ``Group.condition_reads``)."""
    plan = ruleset.plan(pass_kind, subject_kind, env.as_of)
    functions = [fires_function(ruleset, g, subject_kind) for g in plan]
    return [subject for subject in subjects
            if any(function(subject[0], subject[1], env) for function in functions)]


def _evaluate_reference(ruleset: RuleSet, plan: tuple[Group, ...], subject_kind: str,
                        subjects: Iterable[tuple[str, Facts]], env: PassEnv
                        ) -> Iterator[Decision]:
    ladder = Ladder(ruleset)
    groups = [(g.hit == "first", tuple((r.when, r, extras_for(r, env)) for r in g.rules), g)
              for g in plan]
    for key, facts in subjects:
        for first, rules, group in groups:
            for when, rule, extras in rules:
                if when(facts, env):
                    yield decide(rule, group, subject_kind, key, facts, env, ladder, extras)
                    if first:
                        break


def evaluate_group(ruleset: RuleSet, group: Group, subject_kind: str, key: str, facts: Facts,
                   env: PassEnv) -> list[Decision]:
    """One group on one subject by the reference path (replay and explain use this)."""
    ladder = Ladder(ruleset)
    out = []
    for rule in group.rules:
        if rule.when(facts, env):
            out.append(decide(rule, group, subject_kind, key, facts, env, ladder))
            if group.hit == "first":
                break
    return out
