"""``policies.yaml`` → frozen ``Policies``: shape by JSON Schema, then cross-references.

Every finding is located (``file:line:col``) and all are collected in one pass.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kfworkflow.config.schema import POLICIES_SCHEMA
from kfworkflow.errors import Finding, RuleCheckError
from kfworkflow.yamlsource import Located, load_yaml, validate

LEVEL_ORDER = ("county", "city", "province")


@dataclass(frozen=True)
class County:
    id: str
    name: str
    kind: str
    government: str


@dataclass(frozen=True)
class TaskForce:
    id: str
    name: str
    leads: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    task_force: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class Named:
    id: str
    name: str


@dataclass(frozen=True)
class Deadline:
    amount: int
    unit: str  # working_days | days


@dataclass(frozen=True)
class LadderLevel:
    level: str
    name: str
    recipient: str  # a reason-style template, e.g. "{{ county_name }}人民政府"
    deadline: Deadline


@dataclass(frozen=True)
class Target:
    id: str
    title: str
    categories: tuple[str, ...]
    metric: str
    op: str
    threshold: float
    due: date
    unit: str | None = None


@dataclass(frozen=True)
class CalendarPolicy:
    data_file: str | None = None
    fallback: str = "error"


@dataclass(frozen=True)
class Schedules:
    daily: str
    weekly: str
    monthly: str
    catch_up_grace_hours: float = 6.0


@dataclass(frozen=True)
class Campaign:
    title: str
    start: date
    end: date | None


@dataclass(frozen=True)
class Policies:
    timezone: str
    tz: ZoneInfo
    campaign: Campaign
    calendar: CalendarPolicy
    counties: tuple[County, ...]
    milestones: Mapping[str, str]
    task_forces: tuple[TaskForce, ...]
    categories: tuple[Category, ...]
    problem_types: tuple[Named, ...]
    actions: tuple[Named, ...]
    ladder: tuple[LadderLevel, ...]
    targets: tuple[Target, ...]
    schedules: Schedules
    ranking_weights: Mapping[str, float]
    reports: Mapping[str, str]
    ledger_headers: Mapping[str, str]
    source_file: str
    content_hash: str
    raw: Mapping[str, Any]

    def county(self, id_or_name: str) -> County | None:
        return next((c for c in self.counties if id_or_name in (c.id, c.name)), None)

    def category(self, id_or_name: str) -> Category | None:
        return next((c for c in self.categories if id_or_name in (c.id, c.name)), None)

    def task_force(self, task_force_id: str) -> TaskForce:
        return next(t for t in self.task_forces if t.id == task_force_id)

    def task_force_of(self, category_id: str) -> TaskForce:
        category = self.category(category_id)
        if category is None:
            raise KeyError(category_id)
        return self.task_force(category.task_force)

    def level(self, level: str) -> LadderLevel | None:
        return next((lv for lv in self.ladder if lv.level == level), None)

    def next_level(self, level: str) -> LadderLevel | None:
        levels = [lv.level for lv in self.ladder]
        if level not in levels:
            return None
        index = levels.index(level) + 1
        return self.ladder[index] if index < len(self.ladder) else None

    @property
    def ledger(self) -> _LedgerView:
        return _LedgerView(self.ledger_headers)

    @property
    def ranking(self) -> _RankingView:
        return _RankingView(self.ranking_weights)

    def canonical(self) -> dict[str, Any]:
        return json.loads(json.dumps(self.raw, ensure_ascii=False, sort_keys=True, default=str))


@dataclass(frozen=True)
class _LedgerView:
    headers: Mapping[str, str]


@dataclass(frozen=True)
class _RankingView:
    weights: Mapping[str, float]


def load_policies(path: Path) -> Policies:
    """Read and check ``policies.yaml``; raise RuleCheckError with every finding."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleCheckError(f"cannot read {path}: {exc}",
                             [Finding("KFW-P001", f"cannot read the file: {exc}",
                                      file=str(path))]) from exc
    policies, findings = parse_policies(text, str(path))
    if policies is None or findings:
        raise RuleCheckError(f"{len(findings)} problem(s) in {path}", findings)
    return policies


def parse_policies(text: str, file: str) -> tuple[Policies | None, list[Finding]]:
    located, findings = load_yaml(text, file=file)
    if located is None:
        return None, findings
    if not isinstance(located.data, dict):
        return None, [*findings, Finding("KFW-P001", "policies.yaml must be a mapping of keys",
                                         file=file, line=1)]
    findings += validate(located, POLICIES_SCHEMA)
    if findings:
        return None, findings
    findings += _cross_check(located)
    if findings:
        return None, findings
    return _build(located), []


def _cross_check(doc: Located) -> list[Finding]:
    data = doc.data
    out: list[Finding] = []

    def at(path: tuple[Any, ...], code: str, message: str, hint: str | None = None) -> None:
        line, col = doc.where(path)
        out.append(Finding(code, message, file=doc.file, line=line, col=col, hint=hint))

    try:
        ZoneInfo(data["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        at(("timezone",), "KFW-P002", f"unknown time zone {data['timezone']!r}",
           "use an IANA name such as Asia/Shanghai")
    milestones = data["milestones"]
    task_forces = {t["id"] for t in data["task_forces"]}
    categories = set()
    for kind in ("counties", "task_forces", "categories", "problem_types", "actions"):
        seen: set[str] = set()
        for i, item in enumerate(data[kind]):
            if item["id"] in seen:
                at((kind, i, "id"), "KFW-P003", f"duplicate id {item['id']!r} in {kind}")
            seen.add(item["id"])
    for i, category in enumerate(data["categories"]):
        categories.add(category["id"])
        if category["task_force"] not in task_forces:
            at(("categories", i, "task_force"), "KFW-P004",
               f"category {category['id']} names unknown task force {category['task_force']!r}",
               f"task forces: {', '.join(sorted(task_forces))}")
        for j, milestone in enumerate(category["path"]):
            if milestone == "adjusted":
                at(("categories", i, "path", j), "KFW-P005",
                   "'adjusted' is implicit: every unfinished state can be adjusted out; "
                   "remove it from the path")
            elif milestone not in milestones:
                at(("categories", i, "path", j), "KFW-P005",
                   f"category {category['id']} uses unknown milestone {milestone!r}",
                   f"milestones: {', '.join(milestones)}")
        if len(set(category["path"])) != len(category["path"]):
            at(("categories", i, "path"), "KFW-P005",
               f"category {category['id']} lists a milestone twice")
    levels = [rung["level"] for rung in data["ladder"]]
    if levels != [lv for lv in LEVEL_ORDER if lv in levels] or len(set(levels)) != len(levels):
        at(("ladder",), "KFW-P006", f"ladder levels {levels} must be unique and in the order "
           "county, city, province")
    for i, target in enumerate(data.get("targets") or []):
        wanted = target["category"] if isinstance(target["category"], list) else [
            target["category"]]
        for name in wanted:
            if name not in categories:
                at(("targets", i, "category"), "KFW-P007",
                   f"target {target['id']} names unknown category {name!r}")
    for kind in ("daily", "weekly", "monthly"):
        cron = data["schedules"][kind]
        if len(cron.split()) != 5:
            at(("schedules", kind), "KFW-P008", f"schedule {kind} {cron!r} is not a 5-field "
               "cron expression", "minute hour day month weekday, e.g. '0 18 * * *'")
    weights = data["ranking"]["weights"]
    if abs(sum(weights.values()) - 1.0) > 1e-9:
        at(("ranking", "weights"), "KFW-P009",
           f"ranking weights sum to {sum(weights.values()):g}, not 1")
    return out


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _build(doc: Located) -> Policies:
    data = doc.data
    campaign = data.get("campaign") or {}
    canonical = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    milestones = dict(data["milestones"])
    milestones.setdefault("adjusted", "调出")
    return Policies(
        timezone=data["timezone"],
        tz=ZoneInfo(data["timezone"]),
        campaign=Campaign(campaign.get("title", ""), _as_date(campaign.get("start", "2022-01-01")),
                          _as_date(campaign["end"]) if campaign.get("end") else None),
        calendar=CalendarPolicy(**(data.get("calendar") or {})),
        counties=tuple(County(c["id"], c["name"], c["kind"],
                              c.get("government") or f"{c['name']}人民政府")
                       for c in data["counties"]),
        milestones=MappingProxyType(milestones),
        task_forces=tuple(TaskForce(t["id"], t["name"], tuple(t["leads"]))
                          for t in data["task_forces"]),
        categories=tuple(Category(c["id"], c["name"], c["task_force"], tuple(c["path"]))
                         for c in data["categories"]),
        problem_types=tuple(Named(p["id"], p["name"]) for p in data["problem_types"]),
        actions=tuple(Named(a["id"], a["name"]) for a in data["actions"]),
        ladder=tuple(
            LadderLevel(r["level"], r["name"], r["recipient"],
                        Deadline(*next((v, k) for k, v in r["deadline"].items())))
            for r in data["ladder"]),
        targets=tuple(
            Target(t["id"], t["title"],
                   tuple(t["category"]) if isinstance(t["category"], list) else (t["category"],),
                   t["metric"], t["op"], float(t["threshold"]), _as_date(t["due"]), t.get("unit"))
            for t in data.get("targets") or []),
        schedules=Schedules(**data["schedules"]),
        ranking_weights=MappingProxyType(dict(data["ranking"]["weights"])),
        reports=MappingProxyType(dict(data.get("reports") or {})),
        ledger_headers=MappingProxyType(dict((data.get("ledger") or {}).get("headers") or {})),
        source_file=doc.file,
        content_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        raw=MappingProxyType(json.loads(canonical)),
    )
