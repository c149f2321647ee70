"""What-if: evaluate recorded history under another rule set. HYPOTHETICAL; writes nothing.

For each successful pass run in the date range, the facts of each subject are rebuilt from the
recorded inputs of that run's decisions about it, evaluated under the other rules (same pass
kind, as-of date and calendar version), and the effects — lights per dimension, routes,
escalations, actions — are compared with what was recorded.

Limits, also printed with every report (``LIMITS``):

1. Only subjects that some recorded rule decided about in a run are seen.
2. Facts are the union of what the recorded rules' groups read; a fact only the other rules read
   is unknown (none). Each such fact is counted in ``missing_facts``, and a difference that may
   come from one is marked ``uncertain``.
3. History facts (``previous_light.*``, ``light_streak.*``, ``streak.*``) are as recorded: earlier
   hypothetical lights do not feed later passes.
4. Assignments the other rules would have created or escalated do not exist: the assignment
   subjects are the ones that really existed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.audit.replay import (
    Calendars,
    RecordedDecision,
    decode_inputs,
    flatten,
    record_from_row,
)
from kfworkflow.audit.verify import decision_table, stream_decisions
from kfworkflow.errors import InputError, NotFoundError
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.evaluate.run import evaluate
from kfworkflow.rules.ruleset import RuleSet
from kfworkflow.storage.engine_models import Assignment, PassRun
from kfworkflow.storage.models import Problem, Project
from kfworkflow.workcalendar import WorkCalendar

LIMITS = (
    "only subjects that a recorded rule decided about in a pass are seen",
    "facts are what the recorded rules read; a fact only the other rules read is unknown (none) "
    "and a difference that may come from one is marked uncertain (?)",
    "history facts (previous lights, streaks) are as recorded, not re-derived under the other "
    "rules",
    "assignments the other rules would have created or escalated do not exist",
)
Progress = Callable[[int], None]  # called with the number of pass runs just evaluated


@dataclass(frozen=True)
class Difference:
    pass_run_id: int
    pass_kind: str
    as_of: date
    subject_kind: str
    subject_key: str
    county: str | None
    effect: str  # light.start | route | escalate | action | top_level_overdue
    recorded: Any
    recorded_rule: str | None
    hypothetical: Any
    hypothetical_rule: str | None
    uncertain: bool = False  # the other rules' group read facts the log does not hold

    def to_dict(self) -> dict[str, Any]:
        return {"pass_run": self.pass_run_id, "pass": self.pass_kind,
                "as_of": self.as_of.isoformat(), "subject_kind": self.subject_kind,
                "subject_key": self.subject_key, "county": self.county, "effect": self.effect,
                "recorded": self.recorded, "recorded_rule": self.recorded_rule,
                "hypothetical": self.hypothetical, "hypothetical_rule": self.hypothetical_rule,
                "uncertain": self.uncertain}


@dataclass
class WhatIfReport:
    revision: str
    from_on: date
    to_on: date
    passes: int = 0
    subjects: int = 0
    differing_subjects: int = 0
    differences: int = 0
    uncertain: int = 0
    shown: list[Difference] = field(default_factory=list)
    recorded_fires: Counter[str] = field(default_factory=Counter)
    hypothetical_fires: Counter[str] = field(default_factory=Counter)
    rule_differences: Counter[str] = field(default_factory=Counter)
    county_differences: Counter[str] = field(default_factory=Counter)
    county_effects: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    missing_facts: Counter[str] = field(default_factory=Counter)

    def by_rule(self) -> list[dict[str, Any]]:
        rules = sorted(set(self.recorded_fires) | set(self.hypothetical_fires)
                       | set(self.rule_differences))
        return [{"rule": rule, "recorded": self.recorded_fires[rule],
                 "hypothetical": self.hypothetical_fires[rule],
                 "change": self.hypothetical_fires[rule] - self.recorded_fires[rule],
                 "differences": self.rule_differences[rule]} for rule in rules]

    def by_county(self) -> list[dict[str, Any]]:
        return [{"county": county, "differences": count,
                 "effects": dict(sorted(self.county_effects[county].items()))}
                for county, count in sorted(self.county_differences.items())]

    def to_dict(self) -> dict[str, Any]:
        return {"hypothetical": True, "revision": self.revision,
                "from": self.from_on.isoformat(), "to": self.to_on.isoformat(),
                "passes": self.passes, "subjects": self.subjects,
                "differing_subjects": self.differing_subjects,
                "differences": self.differences, "uncertain": self.uncertain,
                "by_rule": self.by_rule(),
                "by_county": self.by_county(), "missing_facts": dict(self.missing_facts),
                "limits": list(LIMITS), "shown": [d.to_dict() for d in self.shown]}


def what_if(session: Session, ruleset: RuleSet, calendar: WorkCalendar, from_on: date,
            to_on: date, *, keep: int = 200, progress: Progress | None = None
            ) -> WhatIfReport:
    """Compare the recorded passes of [from_on, to_on] with ``ruleset``; reads only."""
    if from_on > to_on:
        raise InputError(f"empty date range: --from {from_on} is after --to {to_on}")
    runs = list(session.execute(
        select(PassRun).where(col(PassRun.as_of) >= from_on, col(PassRun.as_of) <= to_on,
                              col(PassRun.status) == "succeeded")
        .order_by(col(PassRun.as_of), col(PassRun.id))).scalars())
    if not runs:
        raise NotFoundError(f"no successful pass runs recorded from {from_on} to {to_on}")
    report = WhatIfReport(ruleset.revision, from_on, to_on)
    calendars = Calendars(calendar)
    counties = _Counties(session)
    for run in runs:
        _compare_run(session, run, ruleset, calendars, counties, report, keep)
        report.passes += 1
        if progress is not None:
            progress(1)
    return report


def _run_records(session: Session, run_id: int) -> Iterator[RecordedDecision]:
    table = decision_table()
    for row in stream_decisions(session.connection(), where=(table.c.pass_run_id == run_id,)):
        yield record_from_row(row)


def _compare_run(session: Session, run: PassRun, ruleset: RuleSet, calendars: Calendars,
                 counties: _Counties, report: WhatIfReport, keep: int) -> None:
    assert run.id is not None
    by_subject: dict[tuple[str, str], list[RecordedDecision]] = defaultdict(list)
    for record in _run_records(session, run.id):
        by_subject[(record.subject_kind, record.subject_key)].append(record)
    if not by_subject:
        return
    first = next(iter(by_subject.values()))[0]
    env = PassEnv(run.as_of, calendars.get(first.calendar_version, first.id))
    kinds = sorted({kind for kind, _ in by_subject})
    for kind in kinds:
        keys = sorted(key for k, key in by_subject if k == kind)
        facts_of = {key: _merged_facts(kind, by_subject[(kind, key)], ruleset) for key in keys}
        plan = ruleset.plan(run.kind, kind, run.as_of)
        reads = {name for group in plan for name in group.reads}
        group_reads = {rule.id: frozenset(group.reads) for group in plan for rule in group.rules}
        new: dict[str, list[Any]] = defaultdict(list)
        for decision in evaluate(ruleset, run.kind, kind, facts_of.items(), env):
            new[decision.subject_key].append(decision)
        for key in keys:
            facts = facts_of[key]
            missing = {name for name in reads if name not in facts}
            report.missing_facts.update(missing)
            recorded = by_subject[(kind, key)]
            report.subjects += 1
            report.recorded_fires.update(r.rule_id for r in recorded)
            report.hypothetical_fires.update(d.rule_id for d in new[key])
            old_effects = _effects((r.rule_id, r.outcome) for r in recorded)
            new_effects = _effects((d.rule_id, d.outcome()) for d in new[key])
            names = sorted(old_effects.keys() | new_effects.keys())
            changed = [name for name in names if old_effects.get(name, (None, None))[0]
                       != new_effects.get(name, (None, None))[0]]
            if not changed:
                continue
            report.differing_subjects += 1
            county = counties.of(kind, key, facts)
            for name in changed:
                old_value, old_rule = old_effects.get(name, (None, None))
                new_value, new_rule = new_effects.get(name, (None, None))
                report.differences += 1
                uncertain = bool(missing) and (new_rule is None or any(
                    group_reads.get(rule, frozenset()) & missing
                    for rule in str(new_rule).split(", ")))
                report.uncertain += uncertain
                for rule in {old_rule, new_rule} - {None}:
                    report.rule_differences[str(rule)] += 1
                report.county_differences[county or "—"] += 1
                report.county_effects[county or "—"][name] += 1
                if len(report.shown) < keep:
                    assert run.id is not None
                    report.shown.append(Difference(
                        run.id, run.kind, run.as_of, kind, key, county, name, old_value,
                        old_rule, new_value, new_rule, uncertain))


def _merged_facts(kind: str, records: list[RecordedDecision], ruleset: RuleSet
                  ) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for record in records:
        merged.update(record.inputs)
    return decode_inputs(kind, merged, ruleset)


def _effects(decisions: Iterable[tuple[str, Mapping[str, Any]]]
             ) -> dict[str, tuple[Any, str | None]]:
    """What a subject's decisions did, by effect: light per dimension, route, escalate,
    action; several decisions with one effect are joined."""
    out: dict[str, tuple[Any, str | None]] = {}

    def put(name: str, value: Any, rule_id: str) -> None:
        if name in out:
            before, rules = out[name]
            out[name] = (f"{before}; {value}", f"{rules}, {rule_id}")
        else:
            out[name] = (value, rule_id)

    for rule_id, outcome in decisions:
        light = outcome.get("light")
        if isinstance(light, Mapping):
            put(f"light.{light.get('dimension')}", light.get("color"), rule_id)
        route = outcome.get("route")
        if isinstance(route, Mapping):
            flat = flatten("", dict(route), {})
            put("route", f"{flat.get('level')} {flat.get('recipient')} by "
                         f"{flat.get('deadline_on')}", rule_id)
        for flag in ("escalate", "top_level_overdue"):
            if outcome.get(flag):
                put(flag, True, rule_id)
        if outcome.get("action"):
            put("action", outcome["action"], rule_id)
    return out


class _Counties:
    """The county of a subject: from its facts when recorded, else from the ledger (cached)."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._cache: dict[tuple[str, str], str | None] = {}

    def of(self, kind: str, key: str, facts: Mapping[str, Any]) -> str | None:
        if kind == "county":
            return key
        county = facts.get("county")
        if isinstance(county, str):
            return county
        cached = (kind, key)
        if cached not in self._cache:
            self._cache[cached] = self._lookup(kind, key, facts)
        return self._cache[cached]

    def _lookup(self, kind: str, key: str, facts: Mapping[str, Any]) -> str | None:
        session = self._session
        if kind == "project":
            return session.execute(select(col(Project.county)).where(
                col(Project.code) == key)).scalars().first()
        if kind == "problem" and key.isdigit():
            return session.execute(select(col(Project.county)).join(
                Problem, col(Problem.project_id) == col(Project.id)).where(
                col(Problem.id) == int(key))).scalars().first()
        if kind == "assignment":
            return session.execute(select(col(Assignment.county)).where(
                col(Assignment.number) == key)).scalars().first()
        return None
