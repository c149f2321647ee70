"""What the collectors share: finding the pass run a document describes, the policies that run
used, snapshot rows and lights. Every query goes through SQLAlchemy with bound parameters."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.config.policies import Policies
from kfworkflow.engine.rule_versions import compile_version
from kfworkflow.engine.units import COLOR_RANK, OVERALL
from kfworkflow.errors import NotFoundError
from kfworkflow.lifecycle.milestones import MilestoneLifecycle
from kfworkflow.reports.context import DocumentInfo, RatePoint
from kfworkflow.storage import rule_store
from kfworkflow.storage.engine_models import MetricSnapshot, PassRun, SubjectLight

EFFECTIVE = "succeeded"
RATE_KEYS = {"start_rate": "start", "funds_in_place_rate": "funds_in_place",
             "investment_completion_rate": "investment_completion",
             "on_time_completion_rate": "on_time_completion"}


@dataclass(frozen=True)
class Setting:
    """The policies and milestone lifecycle of the rule version a run used."""

    policies: Policies
    lifecycle: MilestoneLifecycle

    @property
    def county_names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.policies.counties}

    @property
    def category_names(self) -> dict[str, str]:
        return {c.id: c.name for c in self.policies.categories}


def setting_on(session: Session, on: date) -> Setting:
    compiled = compile_version(rule_store.in_force(session, on))
    return Setting(compiled.ruleset.policies, compiled.lifecycle)


def latest_run(session: Session, kind: str, on: date, *, before: bool = False
               ) -> PassRun | None:
    """The latest effective run of ``kind`` with as-of on or before ``on`` (strictly before
    with ``before``)."""
    as_of = col(PassRun.as_of)
    query = (select(PassRun).where(col(PassRun.kind) == kind, col(PassRun.status) == EFFECTIVE,
                                   as_of < on if before else as_of <= on)
             .order_by(as_of.desc(), col(PassRun.id).desc()).limit(1))
    return session.execute(query).scalars().first()


def require_run(session: Session, kind: str, on: date) -> PassRun:
    run = latest_run(session, kind, on)
    if run is None:
        raise NotFoundError(f"no {kind} pass has run on or before {on}; run `kfw pass run "
                            f"{kind} --as-of {on}` or `kfw pass catch-up` first")
    return run


def runs_between(session: Session, kind: str, first: date, last: date) -> list[PassRun]:
    """Effective runs of ``kind`` with as-of in [first, last], oldest first."""
    return list(session.execute(
        select(PassRun).where(col(PassRun.kind) == kind, col(PassRun.status) == EFFECTIVE,
                              col(PassRun.as_of) >= first, col(PassRun.as_of) <= last)
        .order_by(col(PassRun.as_of), col(PassRun.id))).scalars())


def document_info(policies: Policies, run: PassRun) -> DocumentInfo:
    return DocumentInfo(title=policies.reports.title or policies.campaign.title,
                        organisation=policies.reports.organisation, as_of=run.as_of,
                        rule_revision=run.revision, pass_run_id=run.id)


def snapshots(session: Session, run_id: int, scope_kind: str | None = None
              ) -> dict[tuple[str, str], dict[str, Any]]:
    """(scope kind, key) → the metrics JSON of one daily run."""
    query = select(col(MetricSnapshot.scope_kind), col(MetricSnapshot.scope_key),
                   col(MetricSnapshot.metrics)).where(col(MetricSnapshot.pass_run_id) == run_id)
    if scope_kind is not None:
        query = query.where(col(MetricSnapshot.scope_kind) == scope_kind)
    return {(kind, key): json.loads(metrics) for kind, key, metrics in session.execute(query)}


def rate_point(on: date, metrics: Mapping[str, Any]) -> RatePoint:
    rates = metrics.get("rates") or {}
    return RatePoint(on, *(rates.get(RATE_KEYS[name]) for name in RATE_KEYS))


def rate_trend(session: Session, first: date, last: date) -> tuple[RatePoint, ...]:
    """The city's four rates at each effective daily run in [first, last]."""
    runs = runs_between(session, "daily", first, last)
    if not runs:
        return ()
    rows = session.execute(
        select(col(MetricSnapshot.pass_run_id), col(MetricSnapshot.metrics))
        .where(col(MetricSnapshot.pass_run_id).in_([r.id for r in runs]),
               col(MetricSnapshot.scope_kind) == "total"))
    by_run = {int(run_id): json.loads(metrics) for run_id, metrics in rows}
    return tuple(rate_point(r.as_of, by_run[r.id]) for r in runs if r.id in by_run)


def lights(session: Session, run_id: int, kind: str, dimension: str | None = OVERALL
           ) -> dict[str, str]:
    """key → colour set by one run (the worst over dimensions when ``dimension`` is None)."""
    query = select(col(SubjectLight.key), col(SubjectLight.color)).where(
        col(SubjectLight.pass_run_id) == run_id, col(SubjectLight.kind) == kind)
    if dimension is not None:
        query = query.where(col(SubjectLight.dimension) == dimension)
    out: dict[str, str] = {}
    for key, color in session.execute(query):
        if color in COLOR_RANK and (key not in out or COLOR_RANK[color] > COLOR_RANK[out[key]]):
            out[str(key)] = str(color)
    return out


def project_lights_on(session: Session, on: date) -> dict[str, str]:
    """Each project's overall light from the latest daily run on or before ``on``."""
    run = latest_run(session, "daily", on)
    return lights(session, run.id, "project") if run is not None and run.id else {}


def ordered(keys: Mapping[str, Any] | set[str], order: list[str]) -> list[str]:
    """Keys in policies order, unknown ones after, alphabetically."""
    known = [k for k in order if k in keys]
    return known + sorted(k for k in keys if k not in order)
