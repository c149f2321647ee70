"""Explain one recorded decision: gather, as a plain dict, why, by which rule, what followed.

The explanation is rebuilt from the record alone — its inputs, the rule-set revision and the
calendar version it names — with the tracing interpreter, so every condition shows the actual
value next to its threshold; the database adds the published version, the subject's name, the
history and the resulting assignments (:mod:`kfworkflow.audit.explain_queries`). ``--json``
prints the dict; :mod:`kfworkflow.audit.explain_text` renders it as text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from kfworkflow.audit.explain_queries import (
    about_project,
    gather_history,
    load_decision,
    lookup_subject_name,
    resulting_assignments,
    version_info,
)
from kfworkflow.audit.explain_text import check_lang, render
from kfworkflow.audit.replay import (
    Calendars,
    RecordedDecision,
    RuleSets,
    decode_inputs,
    group_of,
    record_from_row,
    replay_decision,
    stored_rulesets,
)
from kfworkflow.audit.verify import decision_table
from kfworkflow.errors import NotFoundError
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.rules.expr_ast import format_value
from kfworkflow.rules.expr_trace import Step, trace
from kfworkflow.rules.ruleset import CompiledRule, RuleSet
from kfworkflow.storage.models import Project
from kfworkflow.workcalendar import WorkCalendar


@dataclass(frozen=True)
class Explanation:
    data: dict[str, Any]
    lang: str

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def text(self) -> str:
        return "\n".join(render(self.data, self.lang))


def explain_decision(record: RecordedDecision, ruleset: RuleSet, calendar: WorkCalendar, *,
                     version: Mapping[str, Any] | None = None, subject_name: str | None = None,
                     history: Sequence[Mapping[str, Any]] = (), lang: str = "zh"
                     ) -> Explanation:
    """Everything an auditor asks about one decision, as data; ``.text()`` renders it."""
    check_lang(lang)
    facts = decode_inputs(record.subject_kind, record.inputs, ruleset)
    env = PassEnv(record.as_of, calendar)
    data: dict[str, Any] = {
        "decision": record.id, "pass_run": record.pass_run_id, "as_of": record.as_of.isoformat(),
        "subject": {"kind": record.subject_kind, "key": record.subject_key,
                    "name": subject_name or _text_or_none(facts.get("name"))},
        "calendar_version": record.calendar_version, "revision": record.revision,
        "version": dict(version) if version else None,
        "inputs": dict(record.inputs), "outcome": dict(record.outcome), "reason": record.reason,
        "hash": record.hash or None,
    }
    try:
        rule = ruleset.rule(record.rule_id)
    except KeyError:
        data["rule"] = {"id": record.rule_id, "title": None, "missing": True}
    else:
        data["rule"] = _rule_data(rule)
        data.update(_trace_rule(rule, facts, env))
        data["not_applied"] = _not_applied(ruleset, rule, record, facts, env)
    data["deadline"] = _deadline(record, calendar)
    data["light"] = _light(record.outcome, ruleset)
    data["action_name"] = _action_name(record.outcome, ruleset)
    data["level_name"] = _level_name(record.outcome, ruleset)
    data["history"] = [dict(item) for item in history]
    diffs = replay_decision(record, ruleset, calendar)
    data["replay"] = {"identical": not diffs, "diffs": [d.to_dict() for d in diffs]}
    return Explanation(data, lang)


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _rule_data(rule: CompiledRule) -> dict[str, Any]:
    spec = rule.spec
    return {"id": spec.id, "title": spec.title, "description": spec.description,
            "group": spec.group, "priority": spec.priority, "when": spec.when,
            "effective_from": spec.effective_from.isoformat(),
            "effective_to": spec.effective_to.isoformat() if spec.effective_to else None}


def _trace_rule(rule: CompiledRule, facts: Mapping[str, Any], env: PassEnv) -> dict[str, Any]:
    values: dict[str, Any] = dict(facts)
    lets = []
    for name, node in rule.let_nodes:
        value, steps = trace(node, values, env)
        values[name] = value
        lets.append({"name": name, "expression": node.text, "value": _plain(value),
                     "steps": [_describe(s) for s in steps if s.op != "and"]})
    result, steps = trace(rule.when_node, values, env)
    conditions = [_describe(s) for s in steps if s.op != "and"]
    if not conditions:  # a bare name or literal: say its value
        conditions = [f"{rule.when_node.text} = {format_value(result)}"]
    return {"lets": lets, "conditions": conditions,
            "holds": bool(result)}


def _describe(step: Step) -> str:
    """``Step.describe``, but a `not` also shows the value it negated."""
    if step.op == "not" and step.left_text:
        return (f"not {step.left_text} ({step.left_text} = {format_value(step.left)}) → "
                f"{format_value(step.result)}")
    return step.describe()


def _not_applied(ruleset: RuleSet, rule: CompiledRule, record: RecordedDecision,
                 facts: Mapping[str, Any], env: PassEnv) -> list[dict[str, Any]]:
    """In a first-match group, the rules tried before this one, and why each did not hold."""
    group = group_of(ruleset, rule, record.subject_kind, record.as_of)
    if group is None or group.hit != "first":
        return []
    out = []
    for earlier in group.rules:
        if earlier.id == rule.id:
            break
        traced = _trace_rule(earlier, facts, env)
        out.append({"id": earlier.id, "title": earlier.spec.title,
                    "conditions": traced["conditions"][-1:], "holds": traced["holds"]})
    return out


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def _deadline(record: RecordedDecision, calendar: WorkCalendar) -> dict[str, Any] | None:
    route = record.outcome.get("route")
    if not isinstance(route, Mapping) or not route.get("deadline"):
        return None
    unit, amount = next(iter(route["deadline"].items()))
    start = record.as_of
    skipped: list[dict[str, str]] = []
    makeup: list[str] = []
    if unit == "working_days":
        skipped = [{"on": day.isoformat(), "why": why}
                   for day, why in calendar.skipped_days(start, int(amount))]
        end = calendar.add_workdays(start, int(amount))
        day = start + timedelta(days=1)
        while day <= end:
            if calendar.day_kind(day)[0] == "makeup_workday":
                makeup.append(day.isoformat())
            day += timedelta(days=1)
    return {"from": start.isoformat(), "amount": amount, "unit": unit,
            "on": route.get("deadline_on"), "skipped": skipped, "makeup_workdays": makeup}


def _light(outcome: Mapping[str, Any], ruleset: RuleSet) -> dict[str, Any] | None:
    light = outcome.get("light")
    if not isinstance(light, Mapping):
        return None
    dim = ruleset.dimensions.get(str(light.get("dimension")))
    return {"dimension": light.get("dimension"), "color": light.get("color"),
            "title": dim.title if dim else None, "title_en": dim.title_en if dim else None}


def _action_name(outcome: Mapping[str, Any], ruleset: RuleSet) -> str | None:
    action = outcome.get("action")
    found = next((a for a in ruleset.policies.actions if a.id == action), None)
    return found.name if found else None


def _level_name(outcome: Mapping[str, Any], ruleset: RuleSet) -> str | None:
    route = outcome.get("route")
    if not isinstance(route, Mapping):
        return None
    level = ruleset.policies.level(str(route.get("level")))
    return level.name if level else None


def explain_by_id(session: Session, calendar: WorkCalendar, decision_id: int, *,
                  lang: str = "zh", rulesets: RuleSets | None = None) -> Explanation:
    check_lang(lang)
    record = load_decision(session, decision_id)
    return _explain_loaded(session, record, Calendars(calendar),
                           rulesets or stored_rulesets(session), lang)


def _explain_loaded(session: Session, record: RecordedDecision, calendars: Calendars,
                    rulesets: RuleSets, lang: str) -> Explanation:
    ruleset = rulesets.get(record.revision, record.id)
    calendar = calendars.get(record.calendar_version, record.id)
    history = gather_history(session, record, ruleset)
    explanation = explain_decision(record, ruleset, calendar,
                                   version=version_info(session, record.revision),
                                   subject_name=lookup_subject_name(session, record),
                                   history=history, lang=lang)
    explanation.data["resulting"] = resulting_assignments(session, record)
    return explanation


def explain_project(session: Session, calendar: WorkCalendar, code: str, *,
                    on: date | None = None, lang: str = "zh") -> list[Explanation]:
    """Every decision about project ``code`` (and its problems and assignments) on ``on``,
    by default on the latest date with any."""
    check_lang(lang)
    project = session.execute(select(Project).where(col(Project.code) == code)).scalars().first()
    if project is None:
        raise NotFoundError(f"no project with code {code!r} in the ledger "
                            "(`kfw ledger list` shows the codes)")
    about = about_project(session, project)
    table = decision_table()
    if on is None:
        on = session.connection().execute(select(func.max(table.c.as_of)).where(about)).scalar()
        if on is None:
            raise NotFoundError(f"no decisions recorded about project {code}")
    rows = session.connection().execute(
        select(table).where(about, table.c.as_of == on).order_by(table.c.id)).all()
    if not rows:
        raise NotFoundError(f"no decisions recorded about project {code} on {on}")
    calendars = Calendars(calendar)
    rulesets = stored_rulesets(session)
    return [_explain_loaded(session, record_from_row(row), calendars, rulesets, lang)
            for row in rows]

