"""Evaluating a rule set over subjects: the hot loop of every pass.

For each subject and each group of rules in force: a first-match group stops at its first
rule whose condition holds (rules tried in ascending ``priority``); a collect group keeps all.
Only a rule that fires pays for its reason, route and recorded inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import Any, ClassVar

from kfworkflow.evaluate.decision import Decision, Route
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.rules.reason import ReasonTemplate
from kfworkflow.rules.ruleset import CompiledRule, Group, RuleSet

Facts = Mapping[str, Any]


def evaluate(
    ruleset: RuleSet,
    pass_kind: str,
    subject_kind: str,
    subjects: Iterable[tuple[str, Facts]],
    env: PassEnv,
    *,
    only_rules: frozenset[str] | None = None,
) -> Iterator[Decision]:
    plan = ruleset.plan(pass_kind, subject_kind, env.as_of)
    if only_rules is not None:
        plan = tuple(g for g in plan if any(r.id in only_rules for r in g.rules))
    ladder = _Ladder(ruleset)
    groups = [(g.hit == "first", tuple((r.when, r, _extras(r, env)) for r in g.rules), g)
              for g in plan]
    for key, facts in subjects:
        for first, rules, group in groups:
            for when, rule, extras in rules:
                if when(facts, env):
                    yield decide(rule, group, subject_kind, key, facts, env, ladder, extras)
                    if first:
                        break


def _extras(rule: CompiledRule, env: PassEnv) -> dict[str, Any]:
    """Names every reason may use besides facts and lets; shared by all subjects of a pass."""
    return {"as_of": env.as_of, "today": env.as_of, "rule_title": rule.spec.title}


def evaluate_group(ruleset: RuleSet, group: Group, subject_kind: str, key: str, facts: Facts,
                   env: PassEnv) -> list[Decision]:
    """One group on one subject (replay and explain use this)."""
    ladder = _Ladder(ruleset)
    out = []
    for rule in group.rules:
        if rule.when(facts, env):
            out.append(decide(rule, group, subject_kind, key, facts, env, ladder))
            if group.hit == "first":
                break
    return out


class _Ladder:
    """The escalation ladder with its recipient templates compiled once per rule set."""

    _cache: ClassVar[dict[str, _Ladder]] = {}

    def __new__(cls, ruleset: RuleSet) -> _Ladder:
        found = cls._cache.get(ruleset.revision)
        if found is not None:
            return found
        self = super().__new__(cls)
        policies = ruleset.policies
        self.levels = [lv.level for lv in policies.ladder]
        self.by_level = {lv.level: lv for lv in policies.ladder}
        self.recipients = {lv.level: ReasonTemplate(lv.recipient) for lv in policies.ladder}
        self.rule_recipients = {r.id: ReasonTemplate(r.spec.then.recipient,
                                                     [name for name, _ in r.lets])
                                for r in ruleset.rules if r.spec.then.recipient}
        if len(cls._cache) > 64:
            cls._cache.clear()
        cls._cache[ruleset.revision] = self
        return self

    levels: list[str]
    by_level: dict[str, Any]
    recipients: dict[str, ReasonTemplate]
    rule_recipients: dict[str, ReasonTemplate]

    def next_level(self, level: str | None) -> str | None:
        if level not in self.levels:
            return self.levels[0] if self.levels else None
        index = self.levels.index(level) + 1
        return self.levels[index] if index < len(self.levels) else None


def _deadline(env: PassEnv, amount: int, unit: str) -> Any:
    if unit == "working_days":
        return env.add_workdays(env.as_of, amount)
    return env.as_of + timedelta(days=amount)


def decide(rule: CompiledRule, group: Group, subject_kind: str, key: str, facts: Facts,
           env: PassEnv, ladder: _Ladder, extras: dict[str, Any] | None = None) -> Decision:
    spec = rule.spec
    then = spec.then
    inputs = {name: facts.get(name) for name in group.reads}
    lets = {name: fn(facts, env) for name, fn in rule.lets} if rule.lets else {}
    if extras is None:
        extras = _extras(rule, env)
    route = None
    top_overdue = False
    level: str | None = None
    if then.escalate:
        level = ladder.next_level(facts.get("level"))
        top_overdue = level is None
    elif then.route_level:
        level = facts.get("level") if then.route_level == "subject" else then.route_level
    if level is not None and level in ladder.by_level:
        rung = ladder.by_level[level]
        amount, unit = ((then.deadline.amount, then.deadline.unit) if then.deadline and
                        not then.escalate else (rung.deadline.amount, rung.deadline.unit))
        deadline_on = _deadline(env, amount, unit)
        template = ladder.rule_recipients.get(rule.id) if not then.escalate else None
        template = template or ladder.recipients[level]
        recipient = template.render(lets, extras, facts)
        route = Route(level, recipient, deadline_on, amount, unit)
        extras = {**extras, "recipient": recipient, "deadline_on": deadline_on, "level": level,
                  "level_name": rung.name}
    # positional: this runs once per decision, and keyword passing costs measurably here
    return Decision(subject_kind, key, spec.id, group.id, rule.reason.render(lets, extras, facts),
                    inputs, then.light, route, then.escalate, top_overdue, then.action)

