"""The facts a rule can read, per kind of subject: the contract between the engine and rules.

Every name here is documented in ``docs/reference/rules.md`` (a test checks both agree). Facts
are flat mappings keyed by the full dotted name (``planned.started``); a missing key is ``none``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SUBJECT_KINDS = ("project", "problem", "assignment", "county", "task_force", "category")
AGGREGATE_KINDS = ("county", "task_force", "category")
RATES = ("start", "funds_in_place", "investment_completion", "on_time_completion",
         "disbursement")


@dataclass(frozen=True)
class FieldDoc:
    name: str
    type: str
    zh: str
    en: str


def _f(name: str, type_: str, zh: str, en: str) -> FieldDoc:
    return FieldDoc(name, type_, zh, en)


_PROJECT_UNIT = (
    _f("county", "str", "所属县区（id）", "county id"),
    _f("county_name", "str", "所属县区名称", "county name"),
    _f("county_government", "str", "所属县区人民政府（管委会）",
       "the county's government (or zone management committee)"),
    _f("category", "str", "项目类别（id）", "category id"),
    _f("task_force", "str", "牵头专班（id）", "task force id"),
    _f("task_force_name", "str", "牵头专班名称", "task force name"),
    _f("task_force_leads", "str", "专班牵头单位（顿号分隔）", "the task force's lead units"),
)

PROJECT: tuple[FieldDoc, ...] = (
    _f("code", "str", "项目代码", "national project code"),
    _f("name", "str", "项目名称", "project name"),
    *_PROJECT_UNIT,
    _f("batch", "str", "“三个一批”批次", "three-batches batch"),
    _f("state", "str", "当前里程碑状态", "current milestone state"),
    _f("state_on", "date", "到达当前状态的日期", "date the current state was reached"),
    _f("finished", "bool", "已完成路径或已调出", "path finished or adjusted out"),
    _f("responsible_unit", "str", "责任单位", "responsible unit"),
    _f("responsible_person", "str", "责任人", "responsible person"),
    _f("owner_unit", "str", "项目单位", "owner unit"),
    _f("total_investment", "number", "总投资（万元）", "total investment (10k yuan)"),
    _f("annual_investment", "number", "年度计划投资（万元）", "annual planned investment"),
    _f("planned_funds", "number", "计划资金（万元）", "planned funds"),
    _f("completed_investment", "number", "累计完成投资（万元）", "cumulative investment"),
    _f("funds_arrived", "number", "累计到位资金（万元）", "cumulative funds arrived"),
    _f("funds_disbursed", "number", "累计拨付资金（万元）", "cumulative funds disbursed"),
    _f("investment_rate", "number", "投资完成率 = 完成投资 / 年度计划投资",
       "completed / annual planned investment"),
    _f("funds_rate", "number", "资金到位率 = 到位资金 / 计划资金", "funds arrived / planned"),
    _f("disbursement_rate", "number", "资金拨付率 = 拨付资金 / 计划资金",
       "funds disbursed / planned"),
    _f("last_report_on", "date", "最近一次填报的日期", "date of the latest report"),
    _f("exempt", "bool", "正当理由是否有效", "a valid reason (正当理由) is in force"),
    _f("exempt_reason", "str", "正当理由内容", "the valid reason's text"),
    _f("open_problems", "int", "未解决问题数", "open problems"),
)

PROBLEM: tuple[FieldDoc, ...] = (
    _f("id", "int", "问题编号", "problem id"),
    _f("code", "str", "所属项目代码", "project code"),
    _f("name", "str", "所属项目名称", "project name"),
    *_PROJECT_UNIT,
    _f("type", "str", "问题类型（id）", "problem type id"),
    _f("type_name", "str", "问题类型名称", "problem type name"),
    _f("level", "str", "需协调层级 county/city/province", "level whose coordination it needs"),
    _f("title", "str", "问题描述", "description"),
    _f("opened_on", "date", "提出日期", "date opened"),
    _f("assigned", "bool", "是否已交办", "an open assignment exists for it"),
    _f("exempt", "bool", "所属项目正当理由是否有效", "the project's valid reason is in force"),
)

ASSIGNMENT: tuple[FieldDoc, ...] = (
    _f("number", "str", "交办编号", "assignment number"),
    _f("subject_kind", "str", "交办对象类型 project/problem", "what was assigned"),
    _f("subject_key", "str", "交办对象", "the subject's key"),
    _f("code", "str", "项目代码", "project code"),
    _f("name", "str", "项目名称", "project name"),
    *_PROJECT_UNIT,
    _f("rule_id", "str", "产生交办的规则", "rule that created it"),
    _f("level", "str", "当前层级 county/city/province", "current level"),
    _f("recipient", "str", "承办单位", "recipient unit"),
    _f("status", "str", "状态", "lifecycle status"),
    _f("assigned_on", "date", "交办日期", "date assigned (at this level)"),
    _f("deadline_on", "date", "办结时限", "deadline"),
    _f("escalations", "int", "已升级次数", "times escalated"),
    _f("exempt", "bool", "所属项目正当理由是否有效", "the project's valid reason is in force"),
)

AGGREGATE: tuple[FieldDoc, ...] = (
    _f("key", "str", "单位 id", "unit id"),
    _f("name", "str", "单位名称", "unit name"),
    _f("projects", "int", "项目数", "projects"),
    _f("due_to_start", "int", "应开工项目数", "projects due to start by today"),
    _f("started", "int", "已开工项目数（应开工中）", "of those, started"),
    _f("due_to_complete", "int", "应竣工项目数", "projects due to complete by today"),
    _f("completed_on_time", "int", "按期竣工项目数", "of those, completed on time"),
    _f("planned_investment", "number", "年度计划投资（万元）", "annual planned investment"),
    _f("completed_investment", "number", "累计完成投资（万元）", "cumulative investment"),
    _f("planned_funds", "number", "计划资金（万元）", "planned funds"),
    _f("funds_arrived", "number", "到位资金（万元）", "funds arrived"),
    _f("funds_disbursed", "number", "拨付资金（万元）", "funds disbursed"),
    *(_f(f"rates.{r}", "number", f"{zh}", f"{r.replace('_', ' ')} rate")
      for r, zh in zip(RATES, ("项目开工率", "资金到位率", "投资完成率", "按期竣工率",
                               "资金拨付率"), strict=True)),
    *(_f(f"growth.{r}", "number", "较上期变化（百分点）", "change since the previous pass, pp")
      for r in RATES),
    _f("counts.red", "int", "红灯项目数", "projects with a red overall light"),
    _f("counts.yellow", "int", "黄灯项目数", "projects with a yellow overall light"),
    _f("counts.green", "int", "绿灯项目数", "projects with a green overall light"),
    _f("new.signed", "int", "攻坚以来新增签约", "newly signed since the campaign start"),
    _f("new.started", "int", "攻坚以来新增开工", "newly started since the campaign start"),
    _f("new.in_production", "int", "攻坚以来新增投产", "newly commissioned since campaign start"),
    _f("reported", "bool", "当日是否填报（县区）", "the county reported for the pass date"),
    _f("missed_reports", "int", "连续未填报天数（县区）", "consecutive workdays without report"),
    _f("score", "number", "综合得分", "composite score (monthly pass)"),
    _f("rank", "int", "排名（1 为第一）", "rank among peers, 1 = best"),
    _f("rank_from_bottom", "int", "倒数名次（1 为末位）", "1 = last place"),
    _f("rank_change", "int", "名次变化（正数为上升）", "places gained since last month"),
    _f("peers", "int", "参与排名的单位数", "units ranked"),
)

_BY_KIND: Mapping[str, tuple[FieldDoc, ...]] = {
    "project": PROJECT,
    "problem": PROBLEM,
    "assignment": ASSIGNMENT,
    "county": AGGREGATE,
    "task_force": AGGREGATE,
    "category": AGGREGATE,
}


def field_docs(kind: str, milestones: Iterable[str] = ()) -> tuple[FieldDoc, ...]:
    docs = _BY_KIND[kind]
    if kind != "project":
        return docs
    per_milestone = []
    for m in milestones:
        if m in ("planned", "adjusted"):
            continue
        per_milestone.append(_f(f"planned.{m}", "date", f"计划{m}日期", f"planned date of {m}"))
        per_milestone.append(_f(f"actual.{m}", "date", f"实际{m}日期（未到达为空）",
                                f"actual date of {m} (none until reached)"))
    return (*docs, *per_milestone)


def field_types(kind: str, milestones: Iterable[str] = ()) -> dict[str, str]:
    return {doc.name: doc.type for doc in field_docs(kind, milestones)}


def nested(facts: Mapping[str, object]) -> dict[str, object]:
    """``{'planned.started': d}`` → ``{'planned': {'started': d}}`` for reason templates."""
    out: dict[str, object] = {}
    for key, value in facts.items():
        parts = key.split(".")
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[parts[-1]] = value
    return out
