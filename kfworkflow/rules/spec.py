"""Rule files → ``RuleSpec``s: shape (JSON Schema) first, then meaning, all findings collected."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kfworkflow.errors import Finding
from kfworkflow.rules.schema import RULES_FILE
from kfworkflow.yamlsource import Located, load_yaml, validate


@dataclass(frozen=True)
class Deadline:
    amount: int
    unit: str  # working_days | days

    def to_dict(self) -> dict[str, int]:
        return {self.unit: self.amount}


@dataclass(frozen=True)
class Outcome:
    light: tuple[str, str] | None = None  # (dimension, color)
    route_level: str | None = None  # county | city | province | subject
    recipient: str | None = None  # template; None = the ladder's recipient
    deadline: Deadline | None = None  # None = the ladder's deadline
    escalate: bool = False
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.light:
            out["light"] = {"dimension": self.light[0], "color": self.light[1]}
        if self.route_level:
            route: dict[str, Any] = {"level": self.route_level}
            if self.recipient:
                route["recipient"] = self.recipient
            if self.deadline:
                route["deadline"] = self.deadline.to_dict()
            out["route"] = route
        if self.escalate:
            out["escalate"] = True
        if self.action:
            out["action"] = self.action
        return out


@dataclass(frozen=True)
class Where:
    """Where a piece of a rule was written, for located findings."""

    file: str
    positions: Mapping[tuple[Any, ...], tuple[int, int]]
    lines: tuple[str, ...]
    base: tuple[Any, ...]

    def at(self, *path: Any) -> tuple[int | None, int | None]:
        full = (*self.base, *path)
        while full:
            if full in self.positions:
                return self.positions[full]
            full = full[:-1]
        return None, None

    def in_text(self, key: str, offset: int) -> tuple[int | None, int | None]:
        """Line and column of character ``offset`` inside the string value at ``key``."""
        line, col = self.at(key)
        if line is None or col is None:
            return line, col
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        quoted = col - 1 < len(text) and text[col - 1] in "'\""
        return line, col + offset + (1 if quoted else 0)


@dataclass(frozen=True)
class RuleSpec:
    id: str
    title: str
    applies_to: str
    pass_kind: str
    when: str
    then: Outcome
    reason: str
    effective_from: date
    effective_to: date | None = None
    group: str | None = None
    priority: int = 0
    lets: tuple[tuple[str, str], ...] = ()
    description: str | None = None
    where: Where | None = field(default=None, compare=False, repr=False)

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def canonical(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "applies_to": self.applies_to,
            "pass": self.pass_kind,
            "group": self.group,
            "priority": self.priority,
            "let": dict(self.lets),
            "when": self.when,
            "then": self.then.to_dict(),
            "reason": self.reason,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
        }


@dataclass(frozen=True)
class GroupSpec:
    id: str
    hit: str  # first | collect
    title: str | None = None


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    title_en: str | None = None


@dataclass
class RuleSource:
    """Everything read from one rules folder, before compilation."""

    rules: list[RuleSpec] = field(default_factory=list)
    groups: dict[str, GroupSpec] = field(default_factory=dict)
    dimensions: dict[str, Dimension] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # relative name -> text


def rule_files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.glob("*.yaml") if p.is_file())


def read_rules(folder: Path) -> RuleSource:
    source = RuleSource()
    files = rule_files(folder)
    if not files:
        source.findings.append(Finding("KFW-R001", f"no rule files (*.yaml) in {folder}",
                                       file=str(folder)))
    for path in files:
        text = path.read_text(encoding="utf-8")
        name = str(path)
        source.files[path.name] = text
        read_rules_text(text, name, source)
    return source


def read_rules_text(text: str, file: str, source: RuleSource) -> None:
    located, findings = load_yaml(text, file=file)
    source.findings.extend(findings)
    if located is None:
        return
    if located.data is None:
        return
    shape = validate(located, RULES_FILE)
    source.findings.extend(shape)
    if shape:
        return
    lines = tuple(text.splitlines())
    data = located.data
    for i, item in enumerate(data.get("dimensions") or []):
        _add_unique(source.dimensions, Dimension(item["id"], item["title"], item.get("title_en")),
                    "dimension", _where(located, lines, ("dimensions", i)), source.findings)
    for i, item in enumerate(data.get("groups") or []):
        _add_unique(source.groups, GroupSpec(item["id"], item["hit"], item.get("title")),
                    "group", _where(located, lines, ("groups", i)), source.findings)
    for i, item in enumerate(data.get("rules") or []):
        source.rules.append(_rule(item, _where(located, lines, ("rules", i))))


def _where(located: Located, lines: tuple[str, ...], base: tuple[Any, ...]) -> Where:
    return Where(located.file, located.positions, lines, base)


def _add_unique(target: dict[str, Any], item: Any, kind: str, where: Where,
                findings: list[Finding]) -> None:
    if item.id in target:
        line, col = where.at("id")
        findings.append(Finding("KFW-R002", f"duplicate {kind} id {item.id!r}", file=where.file,
                                line=line, col=col))
        return
    target[item.id] = item


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _rule(item: Mapping[str, Any], where: Where) -> RuleSpec:
    then = item["then"]
    route = then.get("route") or {}
    deadline = route.get("deadline")
    when = item["when"]
    return RuleSpec(
        id=item["id"],
        title=item["title"],
        description=item.get("description"),
        applies_to=item["applies_to"],
        pass_kind=item["pass"],
        when=("true" if when else "false") if isinstance(when, bool) else str(when),
        then=Outcome(
            light=(then["light"]["dimension"], then["light"]["color"]) if "light" in then
            else None,
            route_level=route.get("level"),
            recipient=route.get("recipient"),
            deadline=Deadline(*next(iter((v, k) for k, v in deadline.items())))
            if deadline else None,
            escalate=bool(then.get("escalate", False)),
            action=then.get("action"),
        ),
        reason=item["reason"],
        effective_from=_as_date(item["effective_from"]),
        effective_to=_as_date(item["effective_to"]) if item.get("effective_to") else None,
        group=item.get("group"),
        priority=int(item.get("priority", 0)),
        lets=tuple((k, str(v)) for k, v in (item.get("let") or {}).items()),
        where=where,
    )
