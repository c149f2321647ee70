"""Daily dispatch, weekly assignment (周交办) and monthly ranking passes.

A pass is keyed by kind and period (daily ``2022-11-21``, weekly ISO ``2022-W47``, monthly
``2022-11``) and runs in ONE transaction: it reads the facts as of its date, evaluates the rule
version in force on that date, appends its decisions to the hash-chained log, records lights
and streaks, creates and escalates assignments, saves metric snapshots (daily) and the ranking
(monthly), and records the pass run. Running a period that is done changes nothing; ``rerun``
records a superseding run that never re-creates what its period created nor escalates twice.
"""

from __future__ import annotations

import gc
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from kfworkflow.config.policies import Policies
from kfworkflow.engine.facts_loader import FactsLoader, Subject
from kfworkflow.engine.history import History, PriorLight
from kfworkflow.engine.metrics import (
    TOTAL_KEY,
    MetricsAccumulator,
    aggregate_facts,
    scope_metrics,
)
from kfworkflow.engine.pass_aggregates import previous_snapshots, save_ranking, save_snapshots
from kfworkflow.engine.pass_assignments import AssignmentWriter
from kfworkflow.engine.pass_ledger import (
    due_periods,
    history_start,
    last_runs,
    list_runs,
    run_dict,
)
from kfworkflow.engine.pass_lock import pass_transaction
from kfworkflow.engine.periods import PASS_KINDS, check_kind, period_key, scheduled_periods
from kfworkflow.engine.rule_versions import compile_version
from kfworkflow.engine.units import OVERALL, Units, worst
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import PassBusyError
from kfworkflow.evaluate.decision import Decision
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.evaluate.run import evaluate, firing
from kfworkflow.rules.facts import AGGREGATE_KINDS
from kfworkflow.storage import rule_store
from kfworkflow.storage.bulk import bulk_insert
from kfworkflow.storage.db import write_session
from kfworkflow.storage.decision_log import Appended, DecisionAppender
from kfworkflow.storage.engine_models import (
    PassRun,
    RuleStreak,
    SubjectLight,
)
from kfworkflow.storage.rule_models import RuleVersion
from kfworkflow.workcalendar import WorkCalendar

SUBJECT_ORDER = ("assignment", "project", "problem", "county", "task_force", "category")
ROUTABLE = ("project", "problem")
ASSIGNMENT_FACTS = ("code", "county", "category", "task_force", "responsible_person")


# --- results ---------------------------------------------------------------------------------


@dataclass
class PassResult:
    kind: str
    period_key: str
    as_of: date
    status: str  # succeeded | already_done
    run_id: int | None
    counts: dict[str, int] = field(default_factory=dict)
    revision: str | None = None
    calendar_version: str | None = None
    duration_ms: int | None = None
    supersedes_id: int | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "period": self.period_key, "as_of": self.as_of.isoformat(),
                "status": self.status, "run_id": self.run_id, "counts": self.counts,
                "revision": self.revision, "calendar_version": self.calendar_version,
                "duration_ms": self.duration_ms, "supersedes": self.supersedes_id,
                "message": self.message}


def _effective_run(session: Session, kind: str, key: str) -> PassRun | None:
    return session.execute(
        select(PassRun).where(col(PassRun.kind) == kind, col(PassRun.period_key) == key,
                              col(PassRun.status) == "succeeded")
        .order_by(col(PassRun.id).desc())).scalars().first()


# --- running a pass ----------------------------------------------------------------------


def run_pass(workspace: Workspace, kind: str, as_of: date, *, rerun: bool = False,
             chunk: int | None = None) -> PassResult:
    """Run (or, with ``rerun``, re-run) the ``kind`` pass for the period of ``as_of``."""
    key = period_key(kind, as_of)
    engine = workspace.ready_engine()
    calendar = workspace.calendar
    calendar.check_years([as_of.year])
    started = time.perf_counter()
    started_at = workspace.clock.now()
    try:
        with pass_transaction(engine, kind, key) as session:
            existing = _effective_run(session, kind, key)
            if existing is not None and not rerun:
                return PassResult(
                    kind, key, as_of, "already_done", existing.id, json.loads(existing.counts),
                    existing.revision, existing.calendar_version, existing.duration_ms,
                    existing.supersedes_id,
                    f"{kind} pass {key} already done (run {existing.id}, as of "
                    f"{existing.as_of}); nothing changed — use --rerun to run it again")
            run = _PassRun(workspace, session, calendar, kind, key, as_of, existing, started_at,
                           chunk=chunk)
            with _fewer_collections():
                counts = run.execute()
            record = run.run
            record.status = "succeeded"
            record.counts = json.dumps(counts, sort_keys=True)
            record.finished_at = workspace.clock.now()
            record.duration_ms = int((time.perf_counter() - started) * 1000)
            if existing is not None:
                existing.status = "superseded"
                session.add(existing)
            session.add(record)
            session.flush()
            verb = f"re-ran (superseding run {existing.id})" if existing else "ran"
            return PassResult(kind, key, as_of, "succeeded", record.id, counts,
                              record.revision, record.calendar_version, record.duration_ms,
                              record.supersedes_id,
                              f"{verb} {kind} pass {key} as of {as_of}: " + _summary(counts))
    except PassBusyError:
        raise
    except Exception as exc:
        _record_failure(workspace, engine, kind, key, as_of, started_at, started, exc)
        raise


@contextmanager
def _fewer_collections(young: int = 20_000) -> Iterator[None]:
    """Collect the young generation every ``young`` allocations instead of Python's 700.

    A pass allocates a facts dictionary and a row per project, kept for one chunk; at the
    default thresholds the collector scans them over and over (about 10% of a weekly pass at
    100,000 projects). What a pass allocates is freed by reference counting, so collecting less
    often costs no memory that stays.
    """
    before = gc.get_threshold()
    if before[0] >= young:
        yield
        return
    gc.set_threshold(young, 10, 10)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _summary(counts: Mapping[str, int]) -> str:
    shown = [f"{counts[k]} {k.replace('_', ' ')}" for k in (
        "decisions", "assignments_created", "assignments_reopened", "escalated", "overdue")
        if counts.get(k)]
    return ", ".join(shown) or "no decisions"


def _record_failure(workspace: Workspace, engine: Engine, kind: str, key: str, as_of: date,
                    started_at: Any, started: float, exc: Exception) -> None:
    """Everything the pass wrote was rolled back; keep a trace of the failed run."""
    try:
        with write_session(engine) as session:
            session.add(PassRun(kind=kind, period_key=key, as_of=as_of, status="failed",
                                counts="{}", started_at=started_at,
                                finished_at=workspace.clock.now(),
                                duration_ms=int((time.perf_counter() - started) * 1000),
                                actor=workspace.actor,
                                error=f"{type(exc).__name__}: {exc}"[:4000]))
    except Exception:
        pass  # the original error is what the caller must see


class _PassRun:
    """The work of one pass inside its transaction."""

    def __init__(self, workspace: Workspace, session: Session, calendar: WorkCalendar,
                 kind: str, key: str, as_of: date, existing: PassRun | None, started_at: Any,
                 *, chunk: int | None, version: RuleVersion | None = None) -> None:
        self.workspace = workspace
        self.session = session
        self.kind = kind
        self.key = key
        self.as_of = as_of
        self.now = started_at
        self.actor = workspace.actor
        # ``version``: an unsaved candidate, for previews in a rolled-back transaction
        version = version or rule_store.in_force(session, as_of)
        compiled = compile_version(version)
        self.ruleset = compiled.ruleset
        self.policies: Policies = compiled.ruleset.policies
        self.env = PassEnv(as_of, calendar)
        self.log = DecisionAppender(session)  # takes the log lock (PostgreSQL) first
        self.run = PassRun(kind=kind, period_key=key, as_of=as_of,
                           revision=self.ruleset.revision, calendar_version=calendar.version,
                           status="running", counts="{}", started_at=started_at,
                           supersedes_id=existing.id if existing else None, actor=self.actor)
        session.add(self.run)
        session.flush()
        assert self.run.id is not None
        self.run_id: int = self.run.id
        self.period_runs = {int(i) for (i,) in session.execute(
            select(col(PassRun.id)).where(col(PassRun.kind) == kind,
                                          col(PassRun.period_key) == key))}
        runs = [r for r in History.effective_runs(session) if r.id not in self.period_runs]
        self.history = History(runs, kind, as_of, self._light_kinds(), self._streak_rules())
        wanted = self._project_facts()
        self.loader = FactsLoader(session, self.policies, compiled.lifecycle, as_of,
                                  self.history, self._history_dimensions(),
                                  project_facts=wanted,
                                  when_fired=self._only_when_fired(wanted), **(
                                      {"chunk": chunk} if chunk else {}))
        self.units = Units(self.policies)
        self.counts: Counter[str] = Counter()
        self.assignments = AssignmentWriter(session, run_id=self.run_id,
                                            period_runs=self.period_runs, as_of=as_of,
                                            now=started_at, actor=self.actor, counts=self.counts)

    # what history the rules need ---------------------------------------------------------

    def _light_kinds(self) -> dict[str, set[str]]:
        kinds: dict[str, set[str]] = defaultdict(set)
        for rule in self.ruleset.rules:
            if rule.spec.then.light:
                kinds[rule.spec.then.light[0]].add(rule.spec.pass_kind)
        kinds[OVERALL] = {"daily"}
        return kinds

    def _history_dimensions(self) -> dict[str, list[str]]:
        """Per subject kind, the dimensions whose previous light this pass reads or extends."""
        out: dict[str, list[str]] = {}
        for subject_kind in SUBJECT_ORDER:
            wanted: set[str] = set()
            for group in self.ruleset.plan(self.kind, subject_kind, self.as_of):
                for name in group.reads:
                    prefix, _, dimension = name.partition(".")
                    if prefix in ("previous_light", "light_streak"):
                        wanted.add(dimension)
                for rule in group.rules:
                    if rule.spec.then.light:
                        wanted.add(rule.spec.then.light[0])
                        if self.kind == "daily":
                            wanted.add(OVERALL)
            if subject_kind == "project" and self.kind != "daily" and self._needs_metrics():
                wanted.add(OVERALL)  # the red/yellow/green counts of the metrics
            out[subject_kind] = sorted(wanted)
        return out

    def _project_facts(self) -> frozenset[str] | None:
        """The project facts this pass reads: its rules', what assignments copy and the
        streaks its rules extend (all of them when the pass computes metrics)."""
        if self._needs_metrics():
            return None
        names = set(ASSIGNMENT_FACTS)
        for group in self.ruleset.plan(self.kind, "project", self.as_of):
            names.update(group.reads)
            # a rule that fires extends its streak, if any rule reads it
            names.update(f"streak.{rule.spec.id}" for rule in group.rules)
        return frozenset(names)

    def _only_when_fired(self, wanted: frozenset[str] | None) -> frozenset[str]:
        """Of the project facts ``wanted``, those no condition of this pass reads: needed only
        for the projects some rule fires for."""
        if wanted is None:
            return frozenset()
        groups = self.ruleset.plan(self.kind, "project", self.as_of)
        return wanted - {name for group in groups for name in group.condition_reads}

    def _needs_metrics(self) -> bool:
        kinds = set(self.ruleset.subject_kinds(self.kind))
        return self.kind in ("daily", "monthly") or bool(kinds & set(AGGREGATE_KINDS))

    def _streak_rules(self) -> dict[str, str]:
        known = {r.id: r.spec.pass_kind for r in self.ruleset.rules}
        out: dict[str, str] = {}
        for rule in self.ruleset.rules:
            for name in rule.reads:
                if name.startswith("streak.") and name[7:] in known:
                    out[name[7:]] = known[name[7:]]
        return out

    # the pass ------------------------------------------------------------------------------

    def execute(self) -> dict[str, int]:
        kinds = set(self.ruleset.subject_kinds(self.kind))
        needs_metrics = self._needs_metrics()
        if "assignment" in kinds:
            for subjects in self.loader.assignment_chunks():
                self._evaluate_chunk("assignment", subjects)
        metrics = MetricsAccumulator(self.units, self.as_of, self.policies.campaign.start)
        if "project" in kinds or needs_metrics:
            for subjects in self.loader.project_chunks():
                overall = (self._evaluate_chunk("project", subjects) if "project" in kinds
                           else {})
                if not needs_metrics:
                    continue
                for code, facts in subjects:
                    color = (overall.get(code) if self.kind == "daily"
                             else facts.get(f"previous_light.{OVERALL}"))
                    metrics.add(facts, color)
        if "problem" in kinds:
            for subjects in self.loader.problem_chunks():
                self._evaluate_chunk("problem", subjects)
        if needs_metrics:
            self._aggregates(metrics, kinds)
        self.log.flush()
        self.counts["decisions"] = self.log.count
        return dict(sorted(self.counts.items()))

    def _evaluate_chunk(self, subject_kind: str, subjects: Sequence[Subject]
                        ) -> dict[str, str | None]:
        """Evaluate, log, light, streak and act on one chunk; returns key → overall colour."""
        self.counts[f"subjects_{subject_kind}"] += len(subjects)
        if subject_kind == "project" and self.loader.reports_when_fired:
            # no metrics read these subjects: keep those a rule fires for, with their reports
            subjects = firing(self.ruleset, self.kind, subject_kind, subjects, self.env)
            self.loader.complete(subjects)
        by_key = dict(subjects)
        fired: list[tuple[Decision, Appended]] = []
        for decision in evaluate(self.ruleset, self.kind, subject_kind, subjects, self.env):
            outcome = {**decision.outcome(), "group": decision.group}
            appended = self.log.append(
                pass_run_id=self.run_id, subject_kind=subject_kind,
                subject_key=decision.subject_key, as_of=self.as_of, rule_id=decision.rule_id,
                revision=self.ruleset.revision, calendar_version=self.env.calendar.version,
                inputs=decision.inputs, outcome=outcome, reason=decision.reason)
            fired.append((decision, appended))
        self.log.flush()
        overall = self._write_lights(subject_kind, fired, self.loader.prior_lights)
        self._write_streaks(subject_kind, fired, by_key)
        if subject_kind == "assignment":
            self.assignments.escalate(fired)
        elif subject_kind in ROUTABLE:
            self.assignments.assign(subject_kind, fired, by_key)
        return overall

    # lights and streaks --------------------------------------------------------------------

    def _write_lights(self, subject_kind: str, fired: Sequence[tuple[Decision, Appended]],
                      prior: Mapping[str, Mapping[str, PriorLight]]) -> dict[str, str | None]:
        colors: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for decision, _ in fired:
            if decision.light:
                dimension, shade = decision.light
                colors[decision.subject_key][dimension].append(shade)
        rows: list[dict[str, Any]] = []
        overall: dict[str, str | None] = {}
        for key, by_dimension in colors.items():
            lights = {d: worst(c) for d, c in by_dimension.items()}
            if self.kind == "daily":
                lights[OVERALL] = worst(c for d, c in lights.items() if d != OVERALL and c)
                overall[key] = lights[OVERALL]
            for dimension, found in lights.items():
                if found is None:
                    continue
                color: str = found
                before = prior.get(key, {}).get(dimension)
                same = before is not None and before.color == color
                rows.append({"pass_run_id": self.run_id, "kind": subject_kind, "key": key,
                             "dimension": dimension, "color": color,
                             "since_on": before.since_on if same and before else self.as_of,
                             "streak": before.streak + 1 if same and before else 1})
        if rows:
            table: Table = SubjectLight.__table__  # type: ignore[attr-defined]
            bulk_insert(self.session, table, rows)
            self.counts["lights"] += len(rows)
        return overall

    def _write_streaks(self, subject_kind: str, fired: Sequence[tuple[Decision, Appended]],
                       facts: Mapping[str, Mapping[str, Any]]) -> None:
        tracked = self.history.tracked_rules
        rows = [{"pass_run_id": self.run_id, "kind": subject_kind, "key": d.subject_key,
                 "rule_id": d.rule_id, "last_period": self.key,
                 "streak": int(facts[d.subject_key].get(f"streak.{d.rule_id}") or 0) + 1}
                for d, _ in fired if d.rule_id in tracked]
        if rows:
            table: Table = RuleStreak.__table__  # type: ignore[attr-defined]
            bulk_insert(self.session, table, rows)

    # aggregates: metrics, snapshots (daily), ranking (monthly) ----------------------------

    def _aggregates(self, metrics: MetricsAccumulator, kinds: set[str]) -> None:
        reports = self.loader.county_reports(self.env.calendar)
        for county in reports:
            metrics.ensure("county", county)
        previous = previous_snapshots(self.session, self.history.latest_by_kind.get("daily"))
        by_scope: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
        for (scope_kind, key), totals in sorted(metrics.scopes.items()):
            values = scope_metrics(totals, self.as_of, previous.get((scope_kind, key)))
            if scope_kind == "county":
                reported, missed = reports.get(key, (False, 0))
                values["reported"] = reported
                values["missed_reports"] = missed
            if scope_kind == "total":
                values["not_reported"] = sorted(c for c, (done, _) in reports.items()
                                                if not done)
            by_scope[scope_kind][key] = values
        if self.kind == "monthly":
            save_ranking(self.session, self.run_id, self.key, self.policies,
                         self.history.latest_by_kind.get("monthly"), by_scope.get("county", {}),
                         self.counts)
        if self.kind == "daily":
            save_snapshots(self.session, self.run_id, self.as_of, by_scope, self.counts)
        names = {"county": self.units.county_names,
                 "task_force": {k: t.name for k, t in self.units.task_forces.items()},
                 "category": {k: c.name for k, c in self.units.categories.items()}}
        for scope_kind in AGGREGATE_KINDS:
            if scope_kind not in kinds:
                continue
            base = {key: aggregate_facts(key, names[scope_kind].get(key, key), values)
                    for key, values in by_scope.get(scope_kind, {}).items()}
            self._evaluate_chunk(scope_kind, self.loader.aggregate_subjects(scope_kind, base))


# --- catch-up --------------------------------------------------------------------------------


def catch_up(workspace: Workspace, until: date) -> list[PassResult]:
    """Run every missed period up to ``until``, in date order; stops at the first failure."""
    return [run_pass(workspace, kind, day) for kind, day in due_periods(workspace, until)]


__all__ = ["PASS_KINDS", "TOTAL_KEY", "PassResult", "catch_up", "check_kind", "due_periods",
           "history_start", "last_runs", "list_runs", "period_key", "run_dict", "run_pass",
           "scheduled_periods"]
