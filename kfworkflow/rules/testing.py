"""Rule test cases written by policy staff (``rules/tests/*.yaml``), OPA-style.

A case gives a note, an as-of date, a pass, the facts of one or more subjects and the expected
decisions. The runner evaluates the compiled rule set on exactly those facts and reports each
difference, plus which rules no case made fire (coverage).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from kfworkflow.errors import Finding
from kfworkflow.evaluate.decision import Decision
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.evaluate.run import evaluate
from kfworkflow.rules.facts import field_types
from kfworkflow.rules.ruleset import RuleSet
from kfworkflow.rules.schema import TEST_FILE
from kfworkflow.workcalendar import WorkCalendar
from kfworkflow.yamlsource import load_yaml, validate


@dataclass
class CaseResult:
    file: str
    line: int | None
    note: str
    passed: bool
    diff: list[str] = field(default_factory=list)


@dataclass
class TestReport:
    results: list[CaseResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)
    uncovered: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cases": len(self.results),
            "passed": len(self.results) - len(self.failed),
            "failed": [{"file": r.file, "line": r.line, "note": r.note, "diff": r.diff}
                       for r in self.failed],
            "findings": [f.to_dict() for f in self.findings],
            "covered_rules": sorted(self.fired),
            "uncovered_rules": self.uncovered,
        }


def test_files(rules_dir: Path) -> list[Path]:
    folder = rules_dir / "tests" if rules_dir.is_dir() else rules_dir.parent / "tests"
    return sorted(folder.glob("*.yaml")) if folder.is_dir() else []


def run_tests(ruleset: RuleSet, files: list[Path], calendar: WorkCalendar) -> TestReport:
    report = TestReport()
    for path in files:
        located, findings = load_yaml(path.read_text(encoding="utf-8"), file=str(path))
        report.findings.extend(findings)
        if located is None or located.data is None:
            continue
        shape = validate(located, TEST_FILE)
        report.findings.extend(shape)
        if shape:
            continue
        for i, case in enumerate(located.data["cases"]):
            line = located.positions.get(("cases", i), (None, None))[0]
            report.results.append(_run_case(ruleset, case, str(path), line, calendar, report))
    report.uncovered = sorted(r.id for r in ruleset.rules if r.id not in report.fired)
    return report


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def typed_facts(kind: str, raw: Mapping[str, Any], milestones: Any) -> dict[str, Any]:
    """Flatten nested test facts and turn date strings into dates by the facts' types."""
    types = field_types(kind, milestones)
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            flat[prefix] = value

    walk("", raw)
    for name, value in list(flat.items()):
        if types.get(name) == "date" and isinstance(value, str):
            flat[name] = date.fromisoformat(value)
    return flat


def _run_case(ruleset: RuleSet, case: Mapping[str, Any], file: str, line: int | None,
              calendar: WorkCalendar, report: TestReport) -> CaseResult:
    as_of = _as_date(case["as_of"])
    env = PassEnv(as_of, calendar)
    only = frozenset(case["only_rules"]) if case.get("only_rules") else None
    got: list[Decision] = []
    for subject in case["subjects"]:
        facts = typed_facts(subject["kind"], subject["facts"], ruleset.policies.milestones)
        got.extend(evaluate(ruleset, case["pass"], subject["kind"],
                            [(str(subject["key"]), facts)], env, only_rules=only))
    report.fired |= {d.rule_id for d in got}
    got_rows = sorted(_decision_row(d) for d in got
                      if only is None or d.rule_id in only)
    want_rows = sorted(_want_row(w) for w in case["want"])
    diff = []
    for row in want_rows:
        if row not in got_rows:
            diff.append(f"- want {row}")
    for row in got_rows:
        if row not in want_rows:
            diff.append(f"+ got  {row}")
    return CaseResult(file, line, case["note"], not diff, diff)


def _decision_row(d: Decision) -> str:
    parts = [f"subject={d.subject_key}", f"rule={d.rule_id}"]
    if d.light:
        parts.append(f"light.{d.light[0]}={d.light[1]}")
    if d.route:
        parts += [f"route.level={d.route.level}", f"route.recipient={d.route.recipient}",
                  f"route.deadline={d.route.deadline_on.isoformat()}"]
    if d.escalate:
        parts.append("escalate=true")
    if d.action:
        parts.append(f"action={d.action}")
    parts.append(f"reason={d.reason}")
    return " ".join(parts)


def _want_row(w: Mapping[str, Any]) -> str:
    parts = [f"subject={w['subject']}", f"rule={w['rule']}"]
    for dim, color in (w.get("light") or {}).items():
        parts.append(f"light.{dim}={color}")
    route = w.get("route") or {}
    if route:
        parts += [f"route.level={route.get('level')}", f"route.recipient={route.get('recipient')}",
                  f"route.deadline={_as_date(route['deadline']).isoformat()}"
                  if route.get("deadline") else "route.deadline=None"]
    if w.get("escalate"):
        parts.append("escalate=true")
    if w.get("action"):
        parts.append(f"action={w['action']}")
    parts.append(f"reason={w.get('reason')}")
    return " ".join(parts)
