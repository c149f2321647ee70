"""Explain one recorded decision in plain Chinese (or English): why, by which rule, what followed.

The explanation is rebuilt from the record alone — its inputs, the rule-set revision and the
calendar version it names — with the tracing interpreter, so every condition shows the actual
value next to its threshold. The text is rendered from a plain dict, which ``--json`` prints.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlmodel import Session, col

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
from kfworkflow.audit.verify import decision_table, log_bounds
from kfworkflow.errors import InputError, NotFoundError
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.rules.expr_ast import format_value
from kfworkflow.rules.expr_trace import Step, trace
from kfworkflow.rules.ruleset import CompiledRule, RuleSet
from kfworkflow.storage import rule_store
from kfworkflow.storage.engine_models import Assignment, AssignmentEvent, PassRun
from kfworkflow.storage.models import Problem, Project
from kfworkflow.timefmt import business_date
from kfworkflow.workcalendar import WEEKEND_REASON, WorkCalendar

LANGS = ("zh", "en")

_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "decision": "决策", "as_of": "日期", "pass_run": "调度批次", "subject": "对象",
        "rule": "规则", "revision": "规则集修订", "in_force": "施行", "published_version":
        "发布版本", "calendar": "工作日历", "lets": "中间值", "conditions": "条件",
        "holds": "条件成立", "not_applied": "未适用的更高优先级规则", "outcome": "结果",
        "light": "灯", "route": "交办层级", "recipient": "承办单位", "deadline": "办结时限",
        "counting": "时限计算", "action": "处置措施", "escalate": "升级",
        "top_overdue": "已是最高层级，列为逾期", "reason": "理由", "history": "此前经过",
        "no_history": "（无更早的记录）", "replay": "复核（按记录的输入与当时规则重算）",
        "identical": "一致", "diverged": "不一致", "resulting": "交办事项", "now": "现为",
    },
    "en": {
        "decision": "Decision", "as_of": "as of", "pass_run": "pass run", "subject": "Subject",
        "rule": "Rule", "revision": "rule-set revision", "in_force": "in force",
        "published_version": "published version", "calendar": "working-day calendar",
        "lets": "Intermediate values", "conditions": "Conditions", "holds": "condition holds",
        "not_applied": "Higher-priority rules that did not apply", "outcome": "Outcome",
        "light": "light", "route": "Assigned to level", "recipient": "Recipient",
        "deadline": "Deadline", "counting": "How the deadline was counted", "action": "Action",
        "escalate": "escalated", "top_overdue": "already at the top level: marked overdue",
        "reason": "Reason", "history": "What led here", "no_history": "(no earlier records)",
        "replay": "Replay (recorded inputs, rules then in force)", "identical": "identical",
        "diverged": "DIVERGED", "resulting": "Assignment", "now": "now",
    },
}
_COLORS = {"zh": {"red": "红灯", "yellow": "黄灯", "green": "绿灯"},
           "en": {"red": "red", "yellow": "yellow", "green": "green"}}
_KINDS = {"zh": {"project": "项目", "problem": "问题", "assignment": "交办事项", "county": "县区",
                 "task_force": "专班", "category": "项目类别"},
          "en": {"project": "project", "problem": "problem", "assignment": "assignment",
                 "county": "county", "task_force": "task force", "category": "category"}}
_UNITS = {"zh": {"working_days": "个工作日", "days": "个自然日"},
          "en": {"working_days": "working days", "days": "calendar days"}}
_STATUS = {"new": "新交办", "in_progress": "办理中", "resolved": "已办结", "closed_out": "已销号",
           "overdue": "逾期", "escalated": "已升级", "reopened": "重新交办"}


@dataclass(frozen=True)
class Explanation:
    data: dict[str, Any]
    lang: str

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def text(self) -> str:
        return "\n".join(render(self.data, self.lang))


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise InputError(f"unknown language {lang!r}: expected one of {', '.join(LANGS)}")


def explain_decision(record: RecordedDecision, ruleset: RuleSet, calendar: WorkCalendar, *,
                     version: Mapping[str, Any] | None = None, subject_name: str | None = None,
                     history: Sequence[Mapping[str, Any]] = (), lang: str = "zh"
                     ) -> Explanation:
    """Everything an auditor asks about one decision, as data; ``.text()`` renders it."""
    _check_lang(lang)
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


# --- rendering ---------------------------------------------------------------------------------


def render(data: Mapping[str, Any], lang: str) -> list[str]:
    _check_lang(lang)
    t = _LABELS[lang]
    zh = lang == "zh"
    sep = "：" if zh else ": "
    subject = data["subject"]
    kind = _KINDS[lang].get(subject["kind"], subject["kind"])
    name = f"（{subject['name']}）" if zh and subject["name"] else (
        f" ({subject['name']})" if subject["name"] else "")
    lines = [f"{t['decision']} #{data['decision']}  {t['as_of']} {data['as_of']}  "
             f"{t['pass_run']} #{data['pass_run']}",
             f"{t['subject']}{sep}{kind} {subject['key']}{name}"]
    rule = data["rule"]
    lines.append(f"{t['rule']}{sep}{rule['id']} {_quote(rule.get('title'), zh)}")
    lines.append("  " + _provenance(data, lang))
    if rule.get("description"):
        lines.append(f"  {rule['description']}")
    if data.get("lets"):
        lines.append(f"{t['lets']}{sep}".rstrip())
        for let in data["lets"]:
            for step in let["steps"] or [f"{let['expression']} = {let['value']}"]:
                lines.append(f"  {let['name']} ← {step}")
    if "conditions" in data:
        lines.append(f"{t['conditions']}{sep}{rule.get('when', '')}")
        lines.extend(f"  {step}" for step in data["conditions"])
        if data.get("holds"):
            lines.append(f"  ⇒ {t['holds']}")
    if data.get("not_applied"):
        lines.append(f"{t['not_applied']}{sep}".rstrip())
        for item in data["not_applied"]:
            why = "; ".join(item["conditions"]) or "—"
            lines.append(f"  {item['id']} {_quote(item['title'], zh)}{sep}{why}")
    lines.extend(_outcome_lines(data, lang))
    lines.append(f"{t['reason']}{sep}{data['reason']}")
    lines.append(f"{t['history']}{sep}".rstrip())
    history = _history_lines(data["history"], lang) or [t["no_history"]]
    lines.extend(f"  {line}" for line in history)
    replay = data["replay"]
    verdict = t["identical"] if replay["identical"] else t["diverged"]
    lines.append(f"{t['replay']}{sep}{verdict}")
    for diff in replay["diffs"]:
        lines.append(f"  {diff['field']}: {diff['recorded']!r} → {diff['replayed']!r}")
    return lines


def _provenance(data: Mapping[str, Any], lang: str) -> str:
    rule = data["rule"]
    version = data.get("version") or {}
    if lang == "zh":
        parts = [f"规则集修订 {data['revision']}"]
        if version.get("effective_from"):
            parts.append(f"发布版本 {version.get('id')}（{version['effective_from']} 起施行）")
        if rule.get("effective_from"):
            parts.append(f"本规则施行期 {rule['effective_from']} 至 "
                         f"{rule.get('effective_to') or '今'}")
        parts.append(f"工作日历 {data['calendar_version']}")
        return "；".join(parts)
    parts = [f"rule-set revision {data['revision']}"]
    if version.get("effective_from"):
        parts.append(f"published version {version.get('id')} (in force from "
                     f"{version['effective_from']})")
    if rule.get("effective_from"):
        parts.append(f"rule in force {rule['effective_from']} to "
                     f"{rule.get('effective_to') or 'now'}")
    parts.append(f"working-day calendar {data['calendar_version']}")
    return "; ".join(parts)


def _quote(title: str | None, zh: bool) -> str:
    if not title:
        return ""
    return f"「{title}」" if zh else f"“{title}”"


def _outcome_lines(data: Mapping[str, Any], lang: str) -> list[str]:
    t = _LABELS[lang]
    zh = lang == "zh"
    sep = "：" if zh else ": "
    outcome = data["outcome"]
    parts = []
    light = data.get("light")
    if light:
        title = (light["title"] if zh else light["title_en"] or light["title"]) or light[
            "dimension"]
        color = _COLORS[lang].get(light["color"], light["color"])
        parts.append(f"{title}{t['light']} {color}" if zh else f"{title} {t['light']}: {color}")
    if outcome.get("escalate"):
        parts.append(t["escalate"])
    if outcome.get("top_level_overdue"):
        parts.append(t["top_overdue"])
    if outcome.get("action"):
        name = data.get("action_name")
        parts.append(f"{t['action']} {name or outcome['action']}" + (
            f" ({outcome['action']})" if name and not zh else ""))
    lines = [f"{t['outcome']}{sep}{'，'.join(parts) if zh else '; '.join(parts) or '—'}"]
    route = outcome.get("route")
    if isinstance(route, Mapping):
        level = data.get("level_name") if zh else route.get("level")
        lines.append(f"{t['route']}{sep}{level or route.get('level')}")
        lines.append(f"{t['recipient']}{sep}{route.get('recipient')}")
        lines.append(f"{t['deadline']}{sep}{route.get('deadline_on')}")
    deadline = data.get("deadline")
    if deadline:
        lines.append(f"{t['counting']}{sep}{_counting(deadline, lang)}")
    for item in data.get("resulting") or []:
        lines.append(f"{t['resulting']}{sep}{item['number']} {_state(item, lang)}"
                     + (f"; {t['now']} {_state(item['now'], lang)}" if item["now"] != {
                         k: item[k] for k in ("level", "status", "deadline_on")} else ""))
    return lines


def _state(item: Mapping[str, Any], lang: str) -> str:
    status = _STATUS.get(item["status"], item["status"]) if lang == "zh" else item["status"]
    deadline = f", {item['deadline_on']}" if item.get("deadline_on") else ""
    return f"({item['level']}, {status}{deadline})"


def _counting(deadline: Mapping[str, Any], lang: str) -> str:
    unit = _UNITS[lang].get(deadline["unit"], deadline["unit"])
    skipped = deadline["skipped"]
    if lang == "zh":
        text = (f"自 {deadline['from']} 起算（当日不计）{deadline['amount']} {unit}，"
                f"至 {deadline['on']}")
        if deadline["unit"] == "working_days":
            text += "；跳过 " + ("、".join(f"{span}（{why}）" for span, why in _spans(skipped))
                               if skipped else "：无非工作日")
            if deadline["makeup_workdays"]:
                text += "；调休上班日计入：" + "、".join(deadline["makeup_workdays"])
        return text
    text = (f"{deadline['amount']} {unit} counted from {deadline['from']} (that day not "
            f"counted) → {deadline['on']}")
    if deadline["unit"] == "working_days":
        text += "; skipped: " + (", ".join(f"{span} ({_why_en(why)})"
                                           for span, why in _spans(skipped))
                                 if skipped else "no non-working days")
        if deadline["makeup_workdays"]:
            text += "; make-up workdays counted: " + ", ".join(deadline["makeup_workdays"])
    return text


def _spans(skipped: Sequence[Mapping[str, str]]) -> list[tuple[str, str]]:
    """Consecutive skipped days with the same reason as one span: 2022-10-01–2022-10-07."""
    spans: list[list[str]] = []  # [first, last, why]
    for item in skipped:
        day = date.fromisoformat(item["on"])
        if spans and spans[-1][2] == item["why"] and (
                date.fromisoformat(spans[-1][1]) + timedelta(days=1) == day):
            spans[-1][1] = item["on"]
        else:
            spans.append([item["on"], item["on"], item["why"]])
    return [(first if first == last else f"{first}–{last}", why) for first, last, why in spans]


def _why_en(why: str) -> str:
    return "weekend" if why == WEEKEND_REASON else f"holiday {why}"


def _history_lines(history: Sequence[Mapping[str, Any]], lang: str) -> list[str]:
    zh = lang == "zh"
    lines = []
    for item in history:
        kind = item.get("kind")
        if kind == "decision":
            outcome = _short_outcome(item.get("outcome") or {}, lang)
            subject = f"{item['subject']} " if item.get("subject") else ""
            lines.append(f"{item['on']} #{item['id']} {subject}{item['rule_id']}"
                         f"{'：' if zh else ': '}{outcome} — {item.get('reason') or ''}"
                         .rstrip(" —"))
        elif kind == "light_run":
            color = _COLORS[lang].get(item["color"], item["color"])
            span = item["on"] if item["on"] == item["until"] else f"{item['on']}–{item['until']}"
            times = f"×{item['count']}" if item["count"] > 1 else ""
            lines.append(f"{span} {item['dimension']} {color}{times} ({item['rule_id']}, "
                         f"#{item['first_id']}" + (f"–#{item['last_id']})" if item["count"] > 1
                                                    else ")"))
        elif kind in ("assignment", "assignment_event"):
            status = (_STATUS.get(item["status"], item["status"]) if zh else item["status"])
            level = (item.get("level_name") or item["level"]) if zh else item["level"]
            deadline = item.get("deadline_on")
            if zh:
                verb = "交办" if kind == "assignment" else "→"
                text = f"{item['on']} {item['number']} {verb} {status}（{level}"
                text += f"，办结时限 {deadline}）" if deadline else "）"
            else:
                verb = "assigned" if kind == "assignment" else "→"
                text = f"{item['on']} {item['number']} {verb} {status} ({level}"
                text += f", deadline {deadline})" if deadline else ")"
            if item.get("reason"):
                text += f" — {item['reason']}"
            lines.append(text)
        else:
            lines.append(f"{item.get('on')} {item.get('text', '')}")
    return lines


def _short_outcome(outcome: Mapping[str, Any], lang: str) -> str:
    parts = []
    light = outcome.get("light")
    if isinstance(light, Mapping):
        color = _COLORS[lang].get(str(light.get("color")), light.get("color"))
        parts.append(f"{light.get('dimension')} {color}")
    route = outcome.get("route")
    if isinstance(route, Mapping):
        parts.append(f"→ {route.get('level')} {route.get('recipient')} "
                     f"({route.get('deadline_on')})")
    if outcome.get("escalate"):
        parts.append(_LABELS[lang]["escalate"])
    if outcome.get("action"):
        parts.append(str(outcome["action"]))
    return ", ".join(parts)


# --- reading what an explanation needs from the database ---------------------------------------


def load_decision(session: Session, decision_id: int) -> RecordedDecision:
    row = session.connection().execute(
        select(decision_table()).where(decision_table().c.id == decision_id)).first()
    if row is None:
        _count, upper = log_bounds(session.connection())
        known = f"ids go up to {upper}" if upper is not None else "the log is empty"
        raise NotFoundError(f"no decision {decision_id} in the log ({known})")
    return record_from_row(row)


def version_info(session: Session, revision: str) -> dict[str, Any] | None:
    try:
        version = rule_store.by_revision(session, revision)
    except NotFoundError:
        return None
    return {"id": version.id, "effective_from": version.effective_from.isoformat(),
            "published_at": version.published_at.isoformat(), "actor": version.actor,
            "note": version.note}


def explain_by_id(session: Session, calendar: WorkCalendar, decision_id: int, *,
                  lang: str = "zh", rulesets: RuleSets | None = None) -> Explanation:
    _check_lang(lang)
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
                                   subject_name=_subject_name(session, record),
                                   history=history, lang=lang)
    explanation.data["resulting"] = _resulting(session, record)
    return explanation


def explain_project(session: Session, calendar: WorkCalendar, code: str, *,
                    on: date | None = None, lang: str = "zh") -> list[Explanation]:
    """Every decision about project ``code`` (and its problems and assignments) on ``on``,
    by default on the latest date with any."""
    _check_lang(lang)
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


def about_project(session: Session, project: Project) -> ColumnElement[bool]:
    table = decision_table()
    problem_ids = [str(pid) for pid in session.execute(
        select(col(Problem.id)).where(col(Problem.project_id) == project.id)).scalars()]
    numbers = list(session.execute(select(col(Assignment.number)).where(
        col(Assignment.project_code) == project.code)).scalars())
    return or_(
        and_(table.c.subject_kind == "project", table.c.subject_key == project.code),
        and_(table.c.subject_kind == "problem", table.c.subject_key.in_(problem_ids)),
        and_(table.c.subject_kind == "assignment", table.c.subject_key.in_(numbers)),
    )


def _subject_name(session: Session, record: RecordedDecision) -> str | None:
    name = record.inputs.get("name")
    if isinstance(name, str):
        return name
    code = record.inputs.get("code")
    if record.subject_kind == "project":
        code = record.subject_key
    elif record.subject_kind == "assignment":
        found = _assignment(session, record.subject_key)
        code = found.project_code if found is not None else code
    if not isinstance(code, str):
        return None
    return session.execute(select(col(Project.name)).where(col(Project.code) == code)
                           ).scalars().first()


def _assignment(session: Session, key: str) -> Assignment | None:
    found = session.execute(select(Assignment).where(col(Assignment.number) == key)
                            ).scalars().first()
    if found is None and key.isdigit():
        found = session.get(Assignment, int(key))
    return found


HISTORY_LIMIT = 40


def gather_history(session: Session, record: RecordedDecision, ruleset: RuleSet
                   ) -> list[dict[str, Any]]:
    """Earlier decisions on the same subject (runs of one light merged), and the assignments
    about it with their events, up to the decision's date; the latest ``HISTORY_LIMIT``."""
    table = decision_table()
    rows = session.connection().execute(
        select(table).where(table.c.subject_kind == record.subject_kind,
                            table.c.subject_key == record.subject_key, table.c.id < record.id)
        .order_by(table.c.id.desc()).limit(500)).all()
    items = _merge_light_runs([record_from_row(row) for row in reversed(rows)])
    run_dates: dict[int, date] = {}
    for assignment in _related_assignments(session, record):
        origin = assignment.decision_id
        if origin is not None and origin < record.id and not any(
                item.get("id") == origin for item in items):
            created = load_decision(session, origin)
            items.append({"kind": "decision", "on": created.as_of.isoformat(), "id": created.id,
                          "subject": f"{created.subject_kind} {created.subject_key}",
                          "rule_id": created.rule_id, "outcome": dict(created.outcome),
                          "reason": created.reason, "seq": 0})
        events = session.execute(select(AssignmentEvent).where(
            col(AssignmentEvent.assignment_id) == assignment.id).order_by(
            col(AssignmentEvent.id))).scalars()
        for event in events:
            if event.decision_id is not None and event.decision_id >= record.id:
                continue  # what followed from this decision, or came later
            on = _event_on(session, event, ruleset, run_dates)
            if on > record.as_of:
                continue
            level = ruleset.policies.level(event.level)
            items.append({"kind": "assignment" if event.from_status is None
                          else "assignment_event", "on": on.isoformat(),
                          "number": assignment.number, "from_status": event.from_status,
                          "status": event.to_status, "level": event.level,
                          "level_name": level.name if level else None,
                          "deadline_on": event.deadline_on.isoformat()
                          if event.deadline_on else None,
                          "reason": event.reason, "actor": event.actor,
                          "decision": event.decision_id, "seq": 1})
    items.sort(key=lambda item: (item["on"], item.get("seq", 2)))
    for item in items:
        item.pop("seq", None)
    return items[-HISTORY_LIMIT:]


def _event_on(session: Session, event: AssignmentEvent, ruleset: RuleSet,
              run_dates: dict[int, date]) -> date:
    """A pass's event happened on the pass's as-of date (passes may run later, catching up);
    a person's on the business date it was recorded."""
    if event.pass_run_id is None:
        return business_date(event.at, ruleset.policies.tz)
    if event.pass_run_id not in run_dates:
        run = session.get(PassRun, event.pass_run_id)
        run_dates[event.pass_run_id] = run.as_of if run else business_date(
            event.at, ruleset.policies.tz)
    return run_dates[event.pass_run_id]


def _merge_light_runs(records: Sequence[RecordedDecision]) -> list[dict[str, Any]]:
    """Consecutive decisions giving one dimension the same colour become one line."""
    items: list[dict[str, Any]] = []
    open_runs: dict[str, dict[str, Any]] = {}
    for rec in records:
        light = rec.outcome.get("light")
        only_light = isinstance(light, Mapping) and set(rec.outcome) - {"group"} == {"light"}
        if only_light and isinstance(light, Mapping):
            dim, color = str(light.get("dimension")), str(light.get("color"))
            run = open_runs.get(dim)
            if run is not None and run["color"] == color:
                run["until"] = rec.as_of.isoformat()
                run["count"] += 1
                run["last_id"] = rec.id
                continue
            run = {"kind": "light_run", "on": rec.as_of.isoformat(),
                   "until": rec.as_of.isoformat(), "dimension": dim, "color": color,
                   "rule_id": rec.rule_id, "count": 1, "first_id": rec.id, "last_id": rec.id}
            open_runs[dim] = run
            items.append(run)
            continue
        items.append({"kind": "decision", "on": rec.as_of.isoformat(), "id": rec.id,
                      "rule_id": rec.rule_id, "outcome": dict(rec.outcome),
                      "reason": rec.reason})
    return items


def _related_assignments(session: Session, record: RecordedDecision) -> list[Assignment]:
    if record.subject_kind == "assignment":
        found = _assignment(session, record.subject_key)
        if found is None:
            return []
        root = found.parent_id or found.id
        chain = session.execute(select(Assignment).where(or_(
            col(Assignment.id) == root, col(Assignment.parent_id) == root,
            col(Assignment.id) == found.reopened_from_id)).order_by(col(Assignment.id)))
        return list(chain.scalars())
    query = select(Assignment).where(col(Assignment.subject_kind) == record.subject_kind,
                                     col(Assignment.subject_key) == record.subject_key)
    return list(session.execute(query.order_by(col(Assignment.id))).scalars())


def _resulting(session: Session, record: RecordedDecision) -> list[dict[str, Any]]:
    """Assignments this decision created or moved, as it left them (and as they are now)."""
    rows = session.execute(select(AssignmentEvent, Assignment).join(
        Assignment, col(Assignment.id) == col(AssignmentEvent.assignment_id)).where(
        col(AssignmentEvent.decision_id) == record.id).order_by(col(AssignmentEvent.id))).all()
    return [{"number": item.number, "level": event.level, "status": event.to_status,
             "deadline_on": event.deadline_on.isoformat() if event.deadline_on else None,
             "now": {"level": item.level, "status": item.status,
                     "deadline_on": item.deadline_on.isoformat()}}
            for event, item in rows]
