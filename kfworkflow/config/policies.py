"""``policies.yaml`` → frozen ``Policies``: shape by JSON Schema, then cross-references.

Every finding is located (``file:line:col``) and all are collected in one pass.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kfworkflow.config.schema import POLICIES_SCHEMA
from kfworkflow.errors import Finding, RuleCheckError, did_you_mean
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
    recipient: str  # a reason-style template, e.g. "{{ county_government }}"
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
class Ranking:
    weights: Mapping[str, float]  # rate metric -> weight of the monthly composite score


@dataclass(frozen=True)
class ReportSettings:
    language: str = "zh"
    title: str = ""
    organisation: str = ""


@dataclass(frozen=True)
class LedgerSettings:
    headers: Mapping[str, str]  # extra spreadsheet header -> ledger field


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
    ranking: Ranking
    reports: ReportSettings
    ledger: LedgerSettings
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

    def canonical(self) -> dict[str, Any]:
        return json.loads(json.dumps(dict(self.raw), ensure_ascii=False, sort_keys=True))


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
    findings += _cross_check(located)
    if findings:
        findings.sort(key=lambda f: (f.line or 0, f.col or 0, f.code))
        return None, findings
    return _build(located), []


def _items(data: Mapping[str, Any], kind: str) -> list[tuple[int, dict[str, Any]]]:
    """The well-formed entries of a list section; the schema reports the rest."""
    section = data.get(kind)
    if not isinstance(section, list):
        return []
    return [(i, item) for i, item in enumerate(section)
            if isinstance(item, dict) and isinstance(item.get("id"), str)]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _section(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _cross_check(doc: Located) -> list[Finding]:
    """Meaning checks, defensive about shape so that they run alongside the schema's."""
    data: dict[str, Any] = doc.data
    out: list[Finding] = []

    def at(path: tuple[Any, ...], code: str, message: str, hint: str | None = None) -> None:
        line, col = doc.where(path)
        out.append(Finding(code, message, file=doc.file, line=line, col=col, hint=hint))

    timezone = _text(data.get("timezone"))
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            at(("timezone",), "KFW-P002", f"unknown time zone {timezone!r}",
               "use an IANA name such as Asia/Shanghai")
    for kind in ("counties", "task_forces", "categories", "problem_types", "actions", "targets"):
        seen: set[str] = set()
        for i, item in _items(data, kind):
            if item["id"] in seen:
                at((kind, i, "id"), "KFW-P003", f"duplicate id {item['id']!r} in {kind}")
            seen.add(item["id"])
    milestones = _section(data, "milestones")
    task_forces = [t["id"] for _, t in _items(data, "task_forces")]
    categories = [c["id"] for _, c in _items(data, "categories")]
    for i, category in _items(data, "categories"):
        _check_category(at, i, category, task_forces, milestones)
    ladder = data.get("ladder")
    levels = [r.get("level") for r in ladder if isinstance(r, dict)] if isinstance(
        ladder, list) else []
    if levels != [lv for lv in LEVEL_ORDER if lv in levels] or len(set(levels)) != len(levels):
        at(("ladder",), "KFW-P006", f"ladder levels {levels} must be unique and in the order "
           "county, city, province")
    for i, target in _items(data, "targets"):
        named = target.get("category")
        for j, name in enumerate(named if isinstance(named, list) else [named]):
            if isinstance(name, str) and name not in categories:
                path = ("targets", i, "category", j) if isinstance(named, list) else (
                    "targets", i, "category")
                at(path, "KFW-P007", f"target {target['id']} names unknown category {name!r}",
                   _known_hint(name, categories))
    schedules = _section(data, "schedules")
    for kind in ("daily", "weekly", "monthly"):
        cron = _text(schedules.get(kind))
        if cron is not None and len(cron.split()) != 5:
            at(("schedules", kind), "KFW-P008", f"schedule {kind} {cron!r} is not a 5-field "
               "cron expression", "minute hour day month weekday, e.g. '0 18 * * *'")
    weights = _section(data, "ranking").get("weights")
    if isinstance(weights, dict) and all(
            isinstance(w, int | float) and not isinstance(w, bool) for w in weights.values()):
        total = sum(weights.values())
        if abs(total - 1.0) > 1e-9:
            at(("ranking", "weights"), "KFW-P009", f"ranking weights sum to {total:g}, not 1")
    return out


def _known_hint(name: str, known: list[str]) -> str:
    return did_you_mean(name, known) or f"known: {', '.join(known)}"


def _check_category(at: Callable[..., None], i: int, category: dict[str, Any],
                    task_forces: list[str], milestones: Mapping[str, Any]) -> None:
    task_force = category.get("task_force")
    if isinstance(task_force, str) and task_force not in task_forces:
        at(("categories", i, "task_force"), "KFW-P004",
           f"category {category['id']} names unknown task force {task_force!r}",
           _known_hint(task_force, task_forces))
    path = category.get("path")
    if not isinstance(path, list):
        return
    for j, milestone in enumerate(path):
        if milestone == "adjusted":
            at(("categories", i, "path", j), "KFW-P005",
               "'adjusted' is implicit: every unfinished state can be adjusted out; "
               "remove it from the path")
        elif isinstance(milestone, str) and milestone not in milestones:
            at(("categories", i, "path", j), "KFW-P005",
               f"category {category['id']} uses unknown milestone {milestone!r}",
               _known_hint(milestone, list(milestones)))
    if len(set(map(str, path))) != len(path):
        at(("categories", i, "path"), "KFW-P005",
           f"category {category['id']} lists a milestone twice")


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
        schedules=Schedules(
            data["schedules"]["daily"], data["schedules"]["weekly"], data["schedules"]["monthly"],
            float(data["schedules"].get("catch_up_grace_hours", 6))),
        ranking=Ranking(MappingProxyType(
            {k: float(v) for k, v in data["ranking"]["weights"].items()})),
        reports=ReportSettings(**(data.get("reports") or {})),
        ledger=LedgerSettings(MappingProxyType(
            dict((data.get("ledger") or {}).get("headers") or {}))),
        source_file=doc.file,
        content_hash=hashlib.sha256(canonical.encode()).hexdigest(),
        raw=MappingProxyType(json.loads(canonical)),
    )
