"""Compiling rule specs into an immutable ``RuleSet`` with a revision id.

Compile once, evaluate many: every expression is parsed, checked against the facts of its
subject kind and compiled to a Python function here; evaluation never sees YAML or text.
The revision is the SHA-256 of the canonical JSON of the rules and the policies they use, so
the same content always gets the same revision.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

from kfworkflow.config.policies import Policies
from kfworkflow.errors import Finding, RuleCheckError, did_you_mean
from kfworkflow.rules.expr_check import FieldSchema, check, references
from kfworkflow.rules.expr_compile import compile_expr
from kfworkflow.rules.expr_parse import ExprSyntaxError, parse
from kfworkflow.rules.facts import AGGREGATE_KINDS, field_types
from kfworkflow.rules.reason import ReasonTemplate, check_template, template_reads
from kfworkflow.rules.spec import Dimension, GroupSpec, RuleSource, RuleSpec, read_rules

FORMAT = 1
Condition = Callable[[Mapping[str, Any], Any], Any]


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    when: Condition
    lets: tuple[tuple[str, Condition], ...]
    reads: tuple[str, ...]  # fact names read by the condition, lets and reason, sorted
    reason: ReasonTemplate
    when_node: Any
    let_nodes: tuple[tuple[str, Any], ...]
    # the facts its condition reads, through the lets it uses too: all a subject needs to know
    # whether the rule fires (the rest of ``reads`` only once it has)
    condition_reads: tuple[str, ...]

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def when_tree(self) -> Any:
        """The condition with its lets inlined, each let being the very tree in ``let_nodes``
        (the group compiler finds let uses by identity)."""
        return _inline(self.when_node, dict(self.let_nodes))


@dataclass(frozen=True)
class Group:
    id: str
    hit: str
    rules: tuple[CompiledRule, ...]
    reads: tuple[str, ...]  # every fact any rule of the group reads: what replay needs
    condition_reads: tuple[str, ...]  # what any rule's condition reads


@dataclass(frozen=True)
class RuleSet:
    revision: str
    rules: tuple[CompiledRule, ...]
    groups: Mapping[str, GroupSpec]
    dimensions: Mapping[str, Dimension]
    policies: Policies
    content: Mapping[str, Any]
    _plans: dict[tuple[str, str, date], tuple[Group, ...]] = field(
        default_factory=dict, compare=False, repr=False)

    def rule(self, rule_id: str) -> CompiledRule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def plan(self, pass_kind: str, subject_kind: str, as_of: date) -> tuple[Group, ...]:
        """The groups to evaluate, in order, with only the rules in force on ``as_of``."""
        key = (pass_kind, subject_kind, as_of)
        cached = self._plans.get(key)
        if cached is not None:
            return cached
        groups: dict[str, list[CompiledRule]] = {}
        for rule in self.rules:
            spec = rule.spec
            if spec.pass_kind == pass_kind and spec.applies_to == subject_kind and spec.in_force(
                    as_of):
                groups.setdefault(spec.group or f"@{spec.id}", []).append(rule)
        plan = tuple(
            Group(gid, self.groups[gid].hit if gid in self.groups else "collect",
                  tuple(sorted(rules, key=lambda r: (r.spec.priority, r.id))),
                  tuple(sorted({name for rule in rules for name in rule.reads})),
                  tuple(sorted({name for rule in rules for name in rule.condition_reads})))
            for gid, rules in groups.items()
        )
        if len(self._plans) < 1024:
            self._plans[key] = plan
        return plan

    def subject_kinds(self, pass_kind: str) -> list[str]:
        return sorted({r.spec.applies_to for r in self.rules if r.spec.pass_kind == pass_kind})


def canonical_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)


def load_ruleset(folder: Path, policies: Policies) -> RuleSet:
    """Read and compile a rules folder, raising RuleCheckError with every finding."""
    ruleset, findings = compile_source(read_rules(folder), policies)
    if ruleset is None or findings:
        raise RuleCheckError(f"{len(findings)} problem(s) in the rules", findings)
    return ruleset


def compile_source(source: RuleSource, policies: Policies) -> tuple[RuleSet | None, list[Finding]]:
    findings = list(source.findings)
    compiled: list[CompiledRule] = []
    seen: dict[str, RuleSpec] = {}
    for spec in source.rules:
        if spec.id in seen:
            findings.append(_at(spec, "KFW-R002", f"duplicate rule id {spec.id!r}", "id",
                                hint=f"first defined at line {_line(seen[spec.id])}"))
            continue
        seen[spec.id] = spec
    rule_ids = frozenset(seen)
    for spec in seen.values():
        rule_findings = _check_outcome(spec, source, policies)
        rule = _compile_rule(spec, source, policies, rule_ids, rule_findings)
        findings.extend(rule_findings)
        if rule is not None and not rule_findings:
            compiled.append(rule)
    findings.extend(_check_priorities(list(seen.values()), source.groups))
    if findings:
        findings.sort(key=lambda f: (f.file or "", f.line or 0, f.col or 0))
        return None, findings
    content = {
        "format": FORMAT,
        "rules": [r.spec.canonical() for r in sorted(compiled, key=lambda r: r.id)],
        "groups": [{"id": g.id, "hit": g.hit, "title": g.title}
                   for g in sorted(source.groups.values(), key=lambda g: g.id)],
        "dimensions": [{"id": d.id, "title": d.title, "title_en": d.title_en}
                       for d in sorted(source.dimensions.values(), key=lambda d: d.id)],
        "policies": policies.canonical(),
    }
    revision = hashlib.sha256(canonical_json(content).encode()).hexdigest()[:16]
    return RuleSet(
        revision=revision,
        rules=tuple(compiled),
        groups=MappingProxyType(dict(source.groups)),
        dimensions=MappingProxyType(dict(source.dimensions)),
        policies=policies,
        content=MappingProxyType(content),
    ), []


def _line(spec: RuleSpec) -> int | None:
    return spec.where.at("id")[0] if spec.where else None


def _at(spec: RuleSpec, code: str, message: str, *path: Any, hint: str | None = None) -> Finding:
    line, col = spec.where.at(*path) if spec.where else (None, None)
    return Finding(code, f"rule {spec.id}: {message}", file=spec.where.file if spec.where else None,
                   line=line, col=col, hint=hint)


def _check_outcome(spec: RuleSpec, source: RuleSource, policies: Policies) -> list[Finding]:
    out: list[Finding] = []
    then = spec.then
    if spec.group is not None and spec.group not in source.groups:
        out.append(_at(spec, "KFW-R004", f"unknown group {spec.group!r}", "group",
                       hint=did_you_mean(spec.group, source.groups, cutoff=0.5)
                       or "declare it under groups:"))
    if then.light and then.light[0] not in source.dimensions:
        out.append(_at(spec, "KFW-R006", f"unknown light dimension {then.light[0]!r}", "then",
                       "light", "dimension",
                       hint=did_you_mean(then.light[0], source.dimensions, cutoff=0.5)
                       or "declare it under dimensions:"))
    actions = [a.id for a in policies.actions]
    if then.action and then.action not in actions:
        out.append(_at(spec, "KFW-R007", f"unknown action {then.action!r}", "then", "action",
                       hint=did_you_mean(then.action, actions, cutoff=0.5)
                       or f"actions in policies.yaml: {', '.join(actions)}"))
    levels = [level.level for level in policies.ladder]
    if then.route_level == "subject":
        if spec.applies_to not in ("problem", "assignment"):
            out.append(_at(spec, "KFW-R008", "route level 'subject' needs a problem or an "
                           "assignment subject", "then", "route", "level"))
    elif then.route_level and then.route_level not in levels:
        out.append(_at(spec, "KFW-R008",
                       f"route to level {then.route_level!r}, which is not on the ladder",
                       "then", "route", "level",
                       hint=f"the ladder in policies.yaml has {', '.join(levels)}"))
    if then.route_level and spec.applies_to in AGGREGATE_KINDS:
        out.append(_at(spec, "KFW-R008", f"a {spec.applies_to} cannot be routed; route projects "
                       "or problems", "then", "route"))
    if then.escalate and spec.applies_to != "assignment":
        out.append(_at(spec, "KFW-R009", "escalate applies only to assignments", "then",
                       "escalate"))
    if spec.effective_to is not None and spec.effective_to < spec.effective_from:
        out.append(_at(spec, "KFW-R010",
                       f"empty effective period: effective_to {spec.effective_to} is before "
                       f"effective_from {spec.effective_from}", "effective_to"))
    return out


def _check_priorities(specs: list[RuleSpec], groups: Mapping[str, GroupSpec]) -> list[Finding]:
    out = []
    seen: dict[tuple[str, int], RuleSpec] = {}
    for spec in specs:
        if spec.group is None or spec.group not in groups or groups[spec.group].hit != "first":
            continue
        key = (spec.group, spec.priority)
        other = seen.get(key)
        if other is not None and _overlap(spec, other):
            out.append(_at(spec, "KFW-R005",
                           f"same priority {spec.priority} as rule {other.id} in first-match "
                           f"group {spec.group}", "priority",
                           hint="give each rule of a first-match group its own priority"))
        else:
            seen[key] = spec
    return out


def _overlap(a: RuleSpec, b: RuleSpec) -> bool:
    far = date.max
    return a.effective_from <= (b.effective_to or far) and b.effective_from <= (
        a.effective_to or far)


def schema_for(kind: str, policies: Policies, dimensions: Iterable[str],
               rule_ids: Iterable[str], lets: Mapping[str, str] | None = None) -> FieldSchema:
    fields = field_types(kind, policies.milestones)
    dims = frozenset(dimensions)
    rules = frozenset(rule_ids)
    for dim in dims:
        fields[f"previous_light.{dim}"] = "str"
        fields[f"light_streak.{dim}"] = "int"
    for rule_id in rules:
        fields[f"streak.{rule_id}"] = "int"
    return FieldSchema(fields=fields, dimensions=dims, rule_ids=rules,
                       extra_names=dict(lets or {}))


def _compile_rule(spec: RuleSpec, source: RuleSource, policies: Policies,
                  rule_ids: frozenset[str], findings: list[Finding]) -> CompiledRule | None:
    let_types: dict[str, str] = {}
    let_nodes: list[tuple[str, Any]] = []
    reads: set[str] = set()
    base = schema_for(spec.applies_to, policies, source.dimensions, rule_ids)
    for name, text in spec.lets:
        if name in base.fields:
            findings.append(_at(spec, "KFW-R011", f"let name {name!r} hides the fact of the same "
                                "name", "let", name))
            continue
        schema = schema_for(spec.applies_to, policies, source.dimensions, rule_ids, let_types)
        node, type_ = _expression(spec, text, schema, findings, ("let", name))
        if node is None:
            continue
        let_types[name] = type_
        reads |= references(node)
        # a let may use earlier lets: inline them so each let stands on the facts alone
        let_nodes.append((name, _inline(node, dict(let_nodes))))
    schema = schema_for(spec.applies_to, policies, source.dimensions, rule_ids, let_types)
    when_node, when_type = _expression(spec, spec.when, schema, findings, ("when",))
    if when_node is not None and when_type not in ("bool", "any"):
        findings.append(_at(spec, "KFW-E005", f"condition gives a {when_type}, not true/false",
                            "when", hint="compare it, e.g. `... > 0`"))
    names = [*schema.fields, *let_types]
    for issue in check_template(spec.reason, names):
        line = spec.where.at("reason")[0] if spec.where else None
        findings.append(Finding("KFW-R012", f"rule {spec.id}: {issue.message}",
                                file=spec.where.file if spec.where else None,
                                line=(line or 0) + (issue.line or 1) - 1 if line else None,
                                hint=issue.hint))
    if when_node is None or findings:
        return None
    reads |= references(when_node)
    reason = ReasonTemplate(spec.reason, let_types)
    reads |= template_reads(spec.reason) & set(schema.fields)
    if spec.then.route_level or spec.then.escalate:
        recipients = [lv.recipient for lv in policies.ladder]
        if spec.then.recipient:
            recipients.append(spec.then.recipient)
        for text in recipients:
            reads |= template_reads(text) & set(schema.fields)
        if spec.then.escalate or spec.then.route_level == "subject":
            reads.add("level")
    reads -= set(let_types)
    inlined = _inline(when_node, dict(let_nodes))
    return CompiledRule(
        spec=spec,
        when=compile_expr(inlined, spec.id),
        lets=tuple((name, compile_expr(node, f"{spec.id}.{name}")) for name, node in let_nodes),
        reads=tuple(sorted(reads)),
        reason=reason,
        when_node=when_node,
        let_nodes=tuple(let_nodes),
        condition_reads=tuple(sorted(references(inlined))),
    )


def _expression(spec: RuleSpec, text: str, schema: FieldSchema, findings: list[Finding],
                path: tuple[str, ...]) -> tuple[Any, str]:
    where = spec.where
    try:
        node = parse(text)
    except ExprSyntaxError as exc:
        line, col = where.in_text(path[-1], exc.pos) if where and len(path) == 1 else (
            where.at(*path) if where else (None, None))
        findings.append(Finding("KFW-E001", f"rule {spec.id}: {exc}", file=where.file
                                if where else None, line=line, col=col,
                                hint=getattr(exc, "hint", None)))
        return None, "any"
    type_, issues = check(node, schema)
    for issue in issues:
        line, col = where.in_text(path[-1], issue.pos) if where and len(path) == 1 else (
            where.at(*path) if where else (None, None))
        findings.append(Finding(issue.code, f"rule {spec.id}: {issue.message}",
                                file=where.file if where else None, line=line, col=col,
                                hint=issue.hint))
    return (None, "any") if issues else (node, type_)


def _inline(node: Any, lets: Mapping[str, Any]) -> Any:
    """Replace let names in a checked tree by their own trees (no per-subject let dicts)."""
    if not lets:
        return node
    import dataclasses

    if _is_name(node) and node.name in lets:
        return lets[node.name]
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return node
    changes = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value):
            changes[f.name] = _inline(value, lets)
        elif isinstance(value, tuple) and any(dataclasses.is_dataclass(v) for v in value):
            changes[f.name] = tuple(_inline(v, lets) for v in value)
    return dataclasses.replace(node, **changes) if changes else node


def _is_name(node: Any) -> bool:
    return type(node).__name__ in ("Name", "Field", "FieldRef") and hasattr(node, "name")
