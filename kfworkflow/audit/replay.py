"""Replay: re-evaluate recorded decisions from their recorded inputs, under the rules they name.

Each decision is judged by the rule-set revision and the calendar version it records, never by
the rules in force today (不以新政策溯及既往). A stored revision is compiled once and cached; a
revision or calendar version that cannot be reconstructed is a clear error, not a guess.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Row
from sqlmodel import Session

from kfworkflow.audit.verify import decision_table, log_bounds, stream_decisions
from kfworkflow.errors import InputError, KfwError, NotFoundError
from kfworkflow.evaluate.decision import Decision
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.evaluate.run import evaluate_group
from kfworkflow.rules.facts import field_types
from kfworkflow.rules.ruleset import CompiledRule, Group, RuleSet
from kfworkflow.storage import rule_store
from kfworkflow.storage.decision_log import canonical_json
from kfworkflow.storage.engine_models import PassRun
from kfworkflow.workcalendar import WorkCalendar

Progress = Callable[[int], None]  # called with the number of records just handled


@dataclass(frozen=True)
class RecordedDecision:
    """One decision as the log holds it, with ``inputs`` and ``outcome`` decoded from JSON."""

    id: int
    pass_run_id: int
    subject_kind: str
    subject_key: str
    as_of: date
    rule_id: str
    revision: str
    calendar_version: str
    inputs: Mapping[str, Any]
    outcome: Mapping[str, Any]
    reason: str
    prev_hash: str = ""
    hash: str = ""


@dataclass(frozen=True)
class FieldDiff:
    field: str
    recorded: Any
    replayed: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.field, "recorded": self.recorded, "replayed": self.replayed}


@dataclass(frozen=True)
class Divergence:
    decision_id: int
    pass_run_id: int
    subject_kind: str
    subject_key: str
    as_of: date
    rule_id: str
    revision: str
    diffs: tuple[FieldDiff, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision_id, "pass_run": self.pass_run_id,
                "subject_kind": self.subject_kind, "subject_key": self.subject_key,
                "as_of": self.as_of.isoformat(), "rule_id": self.rule_id,
                "revision": self.revision, "diffs": [d.to_dict() for d in self.diffs]}


@dataclass
class ReplayReport:
    checked: int = 0
    identical: int = 0
    diverged: int = 0
    divergences: list[Divergence] = field(default_factory=list)  # the first ``keep`` of them
    revisions: set[str] = field(default_factory=set)
    calendar_versions: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {"checked": self.checked, "identical": self.identical,
                "diverged": self.diverged, "revisions": sorted(self.revisions),
                "calendar_versions": sorted(self.calendar_versions),
                "divergences": [d.to_dict() for d in self.divergences]}


# --- rebuilding what a record names ----------------------------------------------------------


class RuleSets:
    """Stored revisions compiled on first use; ``load`` compiles one revision."""

    def __init__(self, load: Callable[[str], RuleSet]) -> None:
        self._load = load
        self._compiled: dict[str, RuleSet] = {}

    def get(self, revision: str, decision_id: int | None = None) -> RuleSet:
        found = self._compiled.get(revision)
        if found is None:
            try:
                found = self._load(revision)
            except NotFoundError:
                who = f"decision {decision_id} records" if decision_id is not None else "needed:"
                raise NotFoundError(
                    f"{who} rule revision {revision}, which is not in the version store "
                    "(`kfw rules versions` lists what is); it cannot be replayed without it"
                ) from None
            self._compiled[revision] = found
        return found


class Calendars:
    """The working-day calendar of a recorded version: the workspace's own if it matches, else
    the plain package calendar (with or without the weekends-only fallback) if that matches."""

    def __init__(self, current: WorkCalendar) -> None:
        self._current = current
        self._by_version: dict[str, WorkCalendar] = {current.version: current}

    def get(self, version: str, decision_id: int | None = None) -> WorkCalendar:
        found = self._by_version.get(version)
        if found is not None:
            return found
        for fallback in ("error", "weekends-only"):
            candidate = WorkCalendar.load(None, fallback=fallback)
            if candidate.version == version:
                self._by_version[version] = candidate
                return candidate
        who = f"decision {decision_id} was" if decision_id is not None else "decisions were"
        raise NotFoundError(
            f"{who} made with working-day calendar {version}, but this installation has "
            f"{self._current.version}: install the chinese-calendar version named there and "
            "restore the calendar data file whose digest it names (see the data_file setting "
            "in policies.yaml)")


_DATE_FIELDS: dict[tuple[str, str], frozenset[str]] = {}


def decode_inputs(subject_kind: str, inputs: Mapping[str, Any], ruleset: RuleSet
                  ) -> dict[str, Any]:
    """Recorded inputs → facts: dates were stored as ISO strings."""
    key = (ruleset.revision, subject_kind)
    dates = _DATE_FIELDS.get(key)
    if dates is None:
        types = field_types(subject_kind, ruleset.policies.milestones)
        dates = frozenset(name for name, type_ in types.items() if type_ == "date")
        if len(_DATE_FIELDS) > 256:
            _DATE_FIELDS.clear()
        _DATE_FIELDS[key] = dates
    facts = dict(inputs)
    for name in dates.intersection(facts):
        value = facts[name]
        if isinstance(value, str):
            facts[name] = date.fromisoformat(value)
    return facts


def group_of(ruleset: RuleSet, rule: CompiledRule, subject_kind: str, as_of: date
             ) -> Group | None:
    for group in ruleset.plan(rule.spec.pass_kind, subject_kind, as_of):
        if any(r.id == rule.id for r in group.rules):
            return group
    return None


_LOOKUPS: dict[tuple[str, str, str, date], tuple[CompiledRule, Group | None] | None] = {}


def _rule_and_group(ruleset: RuleSet, rule_id: str, subject_kind: str, as_of: date
                    ) -> tuple[CompiledRule, Group | None] | None:
    """The rule and the group it was evaluated in, looked up once per revision and date."""
    key = (ruleset.revision, rule_id, subject_kind, as_of)
    if key not in _LOOKUPS:
        if len(_LOOKUPS) > 100_000:
            _LOOKUPS.clear()
        try:
            rule = ruleset.rule(rule_id)
        except KeyError:
            _LOOKUPS[key] = None
        else:
            _LOOKUPS[key] = (rule, group_of(ruleset, rule, subject_kind, as_of))
    return _LOOKUPS[key]


# --- comparing ---------------------------------------------------------------------------------


def flatten(prefix: str, value: Any, out: dict[str, Any]) -> dict[str, Any]:
    """``{'route': {'level': 'city'}}`` → ``{'route.level': 'city'}``; JSON-shaped leaves."""
    if isinstance(value, Mapping):
        for key in sorted(value):
            flatten(f"{prefix}.{key}" if prefix else str(key), value[key], out)
    elif isinstance(value, date):
        out[prefix] = value.isoformat()
    elif isinstance(value, tuple):
        out[prefix] = list(value)
    else:
        out[prefix] = value
    return out


def compare(recorded: RecordedDecision, replayed: Decision) -> tuple[FieldDiff, ...]:
    outcome = replayed.outcome()
    if "group" in recorded.outcome:  # the log may also keep the group the rule fired in
        outcome = {**outcome, "group": replayed.group}
    if recorded.reason == replayed.reason and (
            canonical_json(outcome) == canonical_json(recorded.outcome)):
        return ()  # identical: the common case, without flattening both sides
    want = flatten("outcome", dict(recorded.outcome), {})
    got = flatten("outcome", outcome, {})
    diffs = [FieldDiff(name, want.get(name), got.get(name))
             for name in sorted(want.keys() | got.keys()) if want.get(name) != got.get(name)]
    if recorded.reason != replayed.reason:
        diffs.append(FieldDiff("reason", recorded.reason, replayed.reason))
    return tuple(diffs)


def replay_decision(record: RecordedDecision, ruleset: RuleSet, calendar: WorkCalendar
                    ) -> tuple[FieldDiff, ...]:
    """The differences between a record and its re-evaluation; empty when identical."""
    found = _rule_and_group(ruleset, record.rule_id, record.subject_kind, record.as_of)
    if found is None:
        return (FieldDiff("rule_id", record.rule_id,
                          f"(no rule {record.rule_id} in revision {ruleset.revision})"),)
    rule, group = found
    if group is None:
        return (FieldDiff("rule_id", record.rule_id,
                          f"(rule {rule.id} is not in force on {record.as_of} for a "
                          f"{record.subject_kind})"),)
    facts = decode_inputs(record.subject_kind, record.inputs, ruleset)
    env = PassEnv(record.as_of, calendar)
    try:
        fired = evaluate_group(ruleset, group, record.subject_kind, record.subject_key, facts,
                               env)
    except KfwError as exc:
        return (FieldDiff("evaluation", None, f"{type(exc).__name__}: {exc}"),)
    except (TypeError, ValueError, ArithmeticError) as exc:
        # Only inputs of the wrong type get here (rules are type-checked against the facts):
        # a record that was edited. Report it as a divergence, not a crash.
        return (FieldDiff("evaluation", None, f"{type(exc).__name__}: {exc}"),)
    same_rule = next((d for d in fired if d.rule_id == record.rule_id), None)
    if same_rule is None:
        return (FieldDiff("rule_id", record.rule_id,
                          ", ".join(d.rule_id for d in fired) or "(no rule fires)"),)
    return compare(record, same_rule)


def replay_records(records: Iterable[RecordedDecision], rulesets: RuleSets,
                   calendars: Calendars, *, keep: int = 1000,
                   progress: Progress | None = None) -> ReplayReport:
    report = ReplayReport()
    for record in records:
        ruleset = rulesets.get(record.revision, record.id)
        calendar = calendars.get(record.calendar_version, record.id)
        diffs = replay_decision(record, ruleset, calendar)
        report.checked += 1
        report.revisions.add(record.revision)
        report.calendar_versions.add(record.calendar_version)
        if diffs:
            report.diverged += 1
            if len(report.divergences) < keep:
                report.divergences.append(Divergence(
                    record.id, record.pass_run_id, record.subject_kind, record.subject_key,
                    record.as_of, record.rule_id, record.revision, diffs))
        else:
            report.identical += 1
        if progress is not None:
            progress(1)
    return report


# --- replaying the stored log ------------------------------------------------------------------


def record_from_row(row: Any) -> RecordedDecision:
    """A decision row (ORM object or Core row) → ``RecordedDecision``."""
    if isinstance(row, Row):  # one mapping lookup per field: cheaper than Row attributes
        values = row._mapping
        return RecordedDecision(
            id=int(values["id"]), pass_run_id=int(values["pass_run_id"]),
            subject_kind=values["subject_kind"], subject_key=values["subject_key"],
            as_of=values["as_of"], rule_id=values["rule_id"], revision=values["revision"],
            calendar_version=values["calendar_version"], inputs=json.loads(values["inputs"]),
            outcome=json.loads(values["outcome"]), reason=values["reason"],
            prev_hash=values["prev_hash"], hash=values["hash"])
    return RecordedDecision(
        id=int(row.id), pass_run_id=int(row.pass_run_id), subject_kind=row.subject_kind,
        subject_key=row.subject_key, as_of=row.as_of, rule_id=row.rule_id,
        revision=row.revision, calendar_version=row.calendar_version,
        inputs=json.loads(row.inputs), outcome=json.loads(row.outcome), reason=row.reason,
        prev_hash=row.prev_hash, hash=row.hash)


def stored_rulesets(session: Session) -> RuleSets:
    """Published versions compiled from their stored files, exactly as passes compile them."""
    from kfworkflow.engine.rule_versions import compile_version

    def load(revision: str) -> RuleSet:
        return compile_version(rule_store.by_revision(session, revision)).ruleset

    return RuleSets(load)


@dataclass(frozen=True)
class Scope:
    """Which recorded decisions to replay, checked and counted before any work starts."""

    conditions: tuple[ColumnElement[bool], ...]
    count: int
    upper_id: int | None
    description: str


def replay_scope(session: Session, *, from_on: date | None = None, to_on: date | None = None,
                 pass_run_id: int | None = None) -> Scope:
    table = decision_table()
    conditions: list[ColumnElement[bool]] = []
    if pass_run_id is not None:
        if from_on is not None or to_on is not None:
            raise InputError("give either --pass or --from/--to, not both")
        if session.get(PassRun, pass_run_id) is None:
            raise NotFoundError(f"no pass run {pass_run_id} (`kfw pass list` shows the runs)")
        conditions.append(table.c.pass_run_id == pass_run_id)
        description = f"pass run {pass_run_id}"
    else:
        if from_on is not None and to_on is not None and from_on > to_on:
            raise InputError(f"empty date range: --from {from_on} is after --to {to_on}")
        if from_on is not None:
            conditions.append(table.c.as_of >= from_on)
        if to_on is not None:
            conditions.append(table.c.as_of <= to_on)
        description = (f"as of {from_on or 'the start'} to {to_on or 'the end'}"
                       if from_on or to_on else "the whole log")
    count, upper = log_bounds(session.connection(), *conditions)
    if count == 0:
        raise NotFoundError(f"no decisions recorded for {description}")
    return Scope(tuple(conditions), count, upper, description)


def replay_log(session: Session, calendar: WorkCalendar, scope: Scope, *, keep: int = 1000,
               progress: Progress | None = None) -> ReplayReport:
    """Replay every decision of ``scope`` in id order; rule sets compiled once per revision."""
    rows = stream_decisions(session.connection(), where=scope.conditions,
                            upper_id=scope.upper_id)
    return replay_records((record_from_row(row) for row in rows), stored_rulesets(session),
                          Calendars(calendar), keep=keep, progress=progress)
