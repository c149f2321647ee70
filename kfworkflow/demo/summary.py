"""What the demo prints at the end: targets, assignments, the monthly last place."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from kfworkflow.config.policies import Policies, Target
from kfworkflow.storage.engine_models import Assignment, MetricSnapshot, PassRun, Ranking

RATE_OF = {
    "start_rate": ("started", "due_to_start"),
    "funds_in_place_rate": ("funds_arrived", "planned_funds"),
    "investment_completion_rate": ("completed_investment", "planned_investment"),
    "on_time_completion_rate": ("completed_on_time", "due_to_complete"),
    "disbursement_rate": ("funds_disbursed", "planned_funds"),
}
COUNT_OF = {"new_signed": "signed", "new_started": "started", "new_in_production": "in_production"}


@dataclass(frozen=True)
class TargetProgress:
    target: Target
    on: date
    value: float | None
    met: bool | None

    @property
    def tracked(self) -> bool:
        """Whether the ledger and reports hold what the target measures."""
        return self.target.metric in RATE_OF or self.target.metric in COUNT_OF or (
            self.target.metric == "completed_investment")

    def mark(self) -> str:
        if not self.tracked:
            return "未统计 not tracked: the ledger holds no such figure"
        if self.met:
            return "达成 met"
        if self.on < self.target.due:
            return f"进行中 in progress, due {self.target.due}"
        return "—" if self.met is None else "未达 missed"

    def shown(self) -> str:
        if self.value is None:
            return "—"
        if self.target.metric in RATE_OF:
            return f"{self.value * 100:.1f}%"
        if self.target.metric == "completed_investment":
            return f"{self.value / 10000:,.1f} 亿元"
        return f"{self.value:,.0f}"


def _snapshot(session: Session, scope: str, on: date) -> dict[str, Any] | None:
    row = session.execute(
        select(MetricSnapshot).where(col(MetricSnapshot.scope_kind) == "category",
                                     col(MetricSnapshot.scope_key) == scope,
                                     col(MetricSnapshot.as_of) <= on)
        .order_by(col(MetricSnapshot.as_of).desc(), col(MetricSnapshot.id).desc()).limit(1)
    ).scalars().first()
    return json.loads(row.metrics) if row else None


def target_progress(session: Session, policies: Policies, on: date) -> list[TargetProgress]:
    out = []
    for target in policies.targets:
        snapshots = [s for s in (_snapshot(session, c, on) for c in target.categories) if s]
        value: float | None = None
        if snapshots and target.metric in RATE_OF:
            part, whole = RATE_OF[target.metric]
            denominator = sum(s[whole] or 0 for s in snapshots)
            value = sum(s[part] or 0 for s in snapshots) / denominator if denominator else None
        elif snapshots and target.metric == "completed_investment":
            value = sum(s["completed_investment"] or 0 for s in snapshots)
        elif snapshots and target.metric in COUNT_OF:
            value = sum((s.get("new") or {}).get(COUNT_OF[target.metric], 0) for s in snapshots)
        met = None if value is None else _holds(value, target.op, target.threshold)
        out.append(TargetProgress(target, on, value, met))
    return out


def _holds(value: float, op: str, threshold: float) -> bool:
    return {">": value > threshold, ">=": value >= threshold - 1e-12,
            "<": value < threshold, "<=": value <= threshold, "==": value == threshold}[op]


def assignment_counts(session: Session) -> dict[str, Any]:
    rows = session.execute(select(col(Assignment.level), col(Assignment.status), func.count())
                           .group_by(col(Assignment.level), col(Assignment.status))).all()
    by_level: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    for level, status, count in rows:
        by_level[level] += count
        by_status[status] += count
    escalated = session.execute(select(func.count()).select_from(Assignment)
                                .where(col(Assignment.escalations) > 0)).scalar_one()
    return {"total": sum(by_level.values()), "by_level": dict(by_level),
            "by_status": dict(by_status), "escalated": escalated}


def last_places(session: Session, policies: Policies) -> list[tuple[str, date, str]]:
    """(ranked month, as-of date of the pass that ranked it, county name) of the bottom county
    of each ranked month, from its effective run."""
    names = {c.id: c.name for c in policies.counties}
    rows = session.execute(
        select(Ranking, col(PassRun.as_of)).join(PassRun, col(PassRun.id) == col(
            Ranking.pass_run_id)).where(col(PassRun.status) == "succeeded")
        .order_by(col(Ranking.period), col(Ranking.id))).all()
    worst: dict[str, tuple[int, int, str, date]] = {}
    for row, as_of in rows:
        if row.rank is None:
            continue
        current = worst.get(row.period)
        candidate = (row.rank, row.pass_run_id, row.county, as_of)
        if current is None or (row.pass_run_id, row.rank) > (current[1], current[0]):
            worst[row.period] = candidate
    return [(period, as_of, names.get(county, county))
            for period, (_, _, county, as_of) in sorted(worst.items())]


def example_project(session: Session) -> str | None:
    """A project whose story is worth explaining: the one with the most escalated item."""
    row = session.execute(
        select(col(Assignment.project_code)).where(col(Assignment.subject_kind) == "project")
        .order_by(col(Assignment.escalations).desc(), col(Assignment.id)).limit(1)).first()
    return None if row is None else str(row[0])
