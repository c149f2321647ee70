"""Render a gathered explanation as lines of text, in Chinese or English.

Works from the plain dict :mod:`kfworkflow.audit.explain` gathers (the same dict ``--json``
prints): labels, colours, statuses, the provenance line, how a deadline was counted and the
history, with no database and no rule evaluation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from kfworkflow.errors import InputError
from kfworkflow.workcalendar import WEEKEND_REASON

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


def check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise InputError(f"unknown language {lang!r}: expected one of {', '.join(LANGS)}")


def render(data: Mapping[str, Any], lang: str) -> list[str]:
    check_lang(lang)
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

