"""Previewing a rule change: which decisions would differ on the current database.

Each pass kind is run twice inside transactions that are always rolled back — once under the
version in force on the as-of date, once under the candidate rules — through the same code as
``kfw pass run``, so the preview sees exactly what a pass would see (history, open
assignments, metrics). Nothing is ever committed.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.engine.passes import PASS_KINDS, _PassRun, period_key
from kfworkflow.engine.workspace import Workspace
from kfworkflow.rules.ruleset import RuleSet, canonical_json
from kfworkflow.storage import rule_store
from kfworkflow.storage.db import is_sqlite
from kfworkflow.storage.engine_models import Decision
from kfworkflow.storage.models import Project
from kfworkflow.storage.rule_models import RuleVersion

Key = tuple[str, str, str]  # subject kind, subject key, rule group


@dataclass(frozen=True)
class Seen:
    rule_id: str
    outcome: str
    reason: str


@dataclass(frozen=True)
class Change:
    kind: str  # pass kind
    change: str  # added | removed | changed
    subject_kind: str
    subject_key: str
    county: str | None
    before: Seen | None
    after: Seen | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "pass": self.kind, "change": self.change, "subject_kind": self.subject_kind,
            "subject": self.subject_key, "county": self.county,
            "before": None if self.before is None else self.before.__dict__,
            "after": None if self.after is None else self.after.__dict__,
        }


@dataclass
class DiffReport:
    as_of: date
    current_revision: str
    candidate_revision: str
    changes: list[Change] = field(default_factory=list)
    compared: int = 0

    def by_rule(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for c in self.changes:
            rule = (c.after or c.before).rule_id  # type: ignore[union-attr]
            out.setdefault(rule, Counter())[c.change] += 1
        return dict(sorted(out.items()))

    def by_county(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for c in self.changes:
            out.setdefault(c.county or "-", Counter())[c.change] += 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(), "current_revision": self.current_revision,
            "candidate_revision": self.candidate_revision, "compared": self.compared,
            "added": sum(1 for c in self.changes if c.change == "added"),
            "removed": sum(1 for c in self.changes if c.change == "removed"),
            "changed": sum(1 for c in self.changes if c.change == "changed"),
            "by_rule": {k: dict(v) for k, v in self.by_rule().items()},
            "by_county": {k: dict(v) for k, v in self.by_county().items()},
            "changes": [c.to_dict() for c in self.changes],
        }


def candidate_version(ruleset: RuleSet, rules_dir: Path, policies_file: Path, now: datetime
                      ) -> RuleVersion:
    """An unsaved version of the candidate rules, in the form the version store keeps."""
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(rules_dir.glob("*.yaml"))}
    return RuleVersion(revision=ruleset.revision, effective_from=date.min, published_at=now,
                       actor="preview", content=canonical_json(dict(ruleset.content)),
                       files=json.dumps(files, ensure_ascii=False, sort_keys=True),
                       policies=policies_file.read_text(encoding="utf-8"))


def _decisions(workspace: Workspace, kind: str, as_of: date, version: RuleVersion | None,
               county_of: dict[str, str]) -> dict[Key, Seen]:
    engine = workspace.ready_engine()
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.info["sqlite_begin"] = "BEGIN"
        transaction = conn.begin()
        try:
            session = Session(bind=conn)
            run = _PassRun(workspace, session, workspace.calendar, kind, period_key(kind, as_of),
                           as_of, None, workspace.clock.now(), chunk=None, version=version)
            run.execute()
            rows = session.execute(select(Decision).where(
                col(Decision.pass_run_id) == run.run_id)).scalars()
            seen = {}
            for row in rows:
                outcome = json.loads(row.outcome)
                group = outcome.pop("group", row.rule_id)
                county = json.loads(row.inputs).get("county")
                if county:
                    county_of.setdefault(row.subject_key, county)
                seen[(row.subject_kind, row.subject_key, group)] = Seen(
                    row.rule_id, json.dumps(outcome, ensure_ascii=False, sort_keys=True),
                    row.reason)
            session.close()
            return seen
        finally:
            transaction.rollback()
            conn.info.pop("sqlite_begin", None)


def diff_rules(workspace: Workspace, candidate: RuleVersion, as_of: date,
               kinds: tuple[str, ...] = PASS_KINDS) -> DiffReport:
    engine = workspace.ready_engine()
    with Session(engine) as session:
        current = rule_store.in_force(session, as_of)
        counties: dict[str, str] = {code: county for code, county in session.execute(
            select(col(Project.code), col(Project.county)))}
    report = DiffReport(as_of, current.revision, candidate.revision)
    for kind in kinds:
        before = _decisions(workspace, kind, as_of, None, counties)
        after = _decisions(workspace, kind, as_of, candidate, counties)
        for key in sorted(before.keys() | after.keys()):
            report.compared += 1
            old, new = before.get(key), after.get(key)
            if old == new:
                continue
            change = "added" if old is None else "removed" if new is None else "changed"
            subject_kind, subject_key, _ = key
            county = counties.get(subject_key)
            report.changes.append(Change(kind, change, subject_kind, subject_key, county, old,
                                         new))
    return report
