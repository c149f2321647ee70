"""The reference way a firing rule becomes a ``Decision``: reason, route, recorded inputs.

``decide`` handles every rule (routes, escalation, Jinja2 reasons). Replay and explain use it
through ``evaluate_group``; the fast path (``evaluate.fastpath``) generates the same steps for
simple rules and calls ``decide`` for the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, ClassVar

from kfworkflow.evaluate.decision import Decision, Route
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.rules.reason import ReasonTemplate
from kfworkflow.rules.ruleset import CompiledRule, Group, RuleSet

Facts = Mapping[str, Any]


def extras_for(rule: CompiledRule, env: PassEnv) -> dict[str, Any]:
    """Names every reason may use besides facts and lets; shared by all subjects of a pass."""
    return {"as_of": env.as_of, "today": env.as_of, "rule_title": rule.spec.title}


class Ladder:
    """The escalation ladder with its recipient templates compiled once per rule set."""

    _cache: ClassVar[dict[str, Ladder]] = {}

    def __new__(cls, ruleset: RuleSet) -> Ladder:
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
           env: PassEnv, ladder: Ladder, extras: dict[str, Any] | None = None,
           lets: Mapping[str, Any] | None = None) -> Decision:
    """The decision of ``rule`` firing on one subject. ``lets`` are the rule's let values when
    the caller has them already (the fast path); otherwise they are computed here."""
    spec = rule.spec
    then = spec.then
    inputs = {name: facts.get(name) for name in group.reads}
    if lets is None:
        lets = {name: fn(facts, env) for name, fn in rule.lets} if rule.lets else {}
    if extras is None:
        extras = extras_for(rule, env)
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
