"""What a pass keeps of its aggregates: the daily metric snapshots trends are drawn from, and
the monthly ranking of counties with each county's change of rank."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy import Table, insert, select
from sqlmodel import Session, col

from kfworkflow.config.policies import Policies
from kfworkflow.engine.history import RunRef
from kfworkflow.engine.ranking import rank_counties
from kfworkflow.storage.engine_models import MetricSnapshot, Ranking


def previous_snapshots(session: Session, run: RunRef | None
                       ) -> dict[tuple[str, str], dict[str, Any]]:
    """(scope kind, key) → the metrics the daily ``run`` saved (none without a run)."""
    if run is None:
        return {}
    rows = session.execute(
        select(col(MetricSnapshot.scope_kind), col(MetricSnapshot.scope_key),
               col(MetricSnapshot.metrics)).where(col(MetricSnapshot.pass_run_id) == run.id))
    return {(kind, key): json.loads(metrics) for kind, key, metrics in rows}


def save_snapshots(session: Session, run_id: int, as_of: date,
                   by_scope: Mapping[str, Mapping[str, Mapping[str, Any]]],
                   counts: Counter[str]) -> None:
    rows = [{"pass_run_id": run_id, "as_of": as_of, "scope_kind": scope_kind,
             "scope_key": key, "metrics": json.dumps(values, ensure_ascii=False, sort_keys=True)}
            for scope_kind, scopes in by_scope.items() for key, values in scopes.items()]
    if rows:
        table: Table = MetricSnapshot.__table__  # type: ignore[attr-defined]
        session.execute(insert(table), rows)
        counts["snapshots"] += len(rows)


def save_ranking(session: Session, run_id: int, period: str, policies: Policies,
                 previous_run: RunRef | None, counties: dict[str, dict[str, Any]],
                 counts: Counter[str]) -> None:
    """Rank ``counties`` (key → metrics, each given its ranking facts here) by the policies'
    weights, with the change from ``previous_run``'s ranks."""
    previous: dict[str, int | None] = {}
    if previous_run is not None:
        previous = {county: rank for county, rank in session.execute(
            select(col(Ranking.county), col(Ranking.rank))
            .where(col(Ranking.pass_run_id) == previous_run.id))}
    ranked = rank_counties({c: v["rates"] for c, v in counties.items()},
                           policies.ranking.weights, previous)
    rows = []
    for county, result in ranked.items():
        counties[county].update(result.facts())
        rows.append({"pass_run_id": run_id, "period": period, "county": county,
                     "score": result.score, "rank": result.rank,
                     "rank_change": result.rank_change,
                     "breakdown": json.dumps({"weights": result.breakdown,
                                              "rank_from_bottom": result.rank_from_bottom,
                                              "peers": result.peers},
                                             ensure_ascii=False, sort_keys=True)})
    if rows:
        table: Table = Ranking.__table__  # type: ignore[attr-defined]
        session.execute(insert(table), rows)
        counts["ranked"] += len(rows)
