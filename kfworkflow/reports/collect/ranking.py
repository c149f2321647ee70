"""The monthly ranking (and quarter, half-year, year) from the database.

A monthly pass runs on the 1st and ranks the month that just ended, so the run of 2022-12-01
is November's ranking, keyed ``2022-11`` (``kfworkflow.engine.periods``). A longer period's
document uses the latest monthly run in it (its rates are cumulative), the monthly runs before
it for the trend, and compares ranks with the last ranking of the previous period of the same
length (a quarter's 上期名次 is the rank at the end of the previous quarter).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.engine.periods import ranked_month
from kfworkflow.errors import InputError
from kfworkflow.reports.collect.common import (
    EFFECTIVE,
    document_info,
    lights,
    ordered,
    rate_trend,
    require_run,
    setting_on,
)
from kfworkflow.reports.collect.items import ItemHistory
from kfworkflow.reports.context import (
    PERIOD_KINDS,
    CountyScore,
    CountyTrend,
    MetricScore,
    MetricWeight,
    MonthlyRanking,
    ScorePoint,
    ratio,
    top_and_bottom,
)
from kfworkflow.storage.engine_models import Decision, PassRun, Ranking

TREND_MONTHS = 6
SUMMONS = "summons"


def monthly_runs(session: Session, first: date, last: date) -> list[PassRun]:
    """Effective monthly runs that rank a month in [first, last], oldest first."""
    return list(session.execute(
        select(PassRun).where(col(PassRun.kind) == "monthly", col(PassRun.status) == EFFECTIVE,
                              col(PassRun.period_key) >= f"{first:%Y-%m}",
                              col(PassRun.period_key) <= f"{last:%Y-%m}")
        .order_by(col(PassRun.as_of), col(PassRun.id))).scalars())


def _month_end(first: date) -> date:
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def period_of(kind: str, month: date) -> tuple[str, date]:
    """(period key, first day) of the ``kind`` period that contains ``month``."""
    if kind == "month":
        return f"{month.year}-{month.month:02d}", month
    if kind == "quarter":
        quarter = (month.month - 1) // 3 + 1
        return f"{month.year}-Q{quarter}", date(month.year, 3 * quarter - 2, 1)
    if kind == "half_year":
        half = 1 if month.month <= 6 else 2
        return f"{month.year}-H{half}", date(month.year, 6 * half - 5, 1)
    if kind == "year":
        return str(month.year), date(month.year, 1, 1)
    raise InputError(f"unknown period {kind!r}; expected one of {', '.join(PERIOD_KINDS)}")


def _months_back(month: date, count: int) -> date:
    year, index = month.year, month.month - 1 - (count - 1)
    while index < 0:
        year, index = year - 1, index + 12
    return date(year, index + 1, 1)


def _summoned(session: Session, run_ids: list[int]) -> set[str]:
    if not run_ids:
        return set()
    rows = session.execute(
        select(col(Decision.subject_key), col(Decision.outcome))
        .where(col(Decision.pass_run_id).in_(run_ids), col(Decision.subject_kind) == "county"))
    return {str(key) for key, outcome in rows if json.loads(outcome).get("action") == SUMMONS}


def _closure(history: ItemHistory, first: date, last: date, on: date
             ) -> dict[str, tuple[int, int]]:
    """county → (items created in [first, last], of those closed out by ``on``)."""
    out: dict[str, tuple[int, int]] = {}
    for state in history.states(on):
        if not first <= state.created_on <= last:
            continue
        assigned, closed = out.get(state.item.county, (0, 0))
        out[state.item.county] = (assigned + 1,
                                  closed + (state.closed_on is not None and state.closed_on <= on))
    return out


def _previous_ranks(session: Session, period_kind: str, first: date) -> dict[str, int | None]:
    """county → its rank in the last ranking of the ``period_kind`` period before the one
    starting on ``first`` (the quarter before, for a quarter); empty when none was made."""
    before = ranked_month(first)
    _, before_first = period_of(period_kind, before)
    runs = monthly_runs(session, before_first, before)
    if not runs:
        return {}
    return {str(county): rank for county, rank in session.execute(
        select(col(Ranking.county), col(Ranking.rank))
        .where(col(Ranking.pass_run_id) == runs[-1].id))}


def _score(ranking: Ranking, names: Mapping[str, str], weights: Mapping[str, float],
           light: str | None, closure: tuple[int, int],
           previous_ranks: Mapping[str, int | None] | None) -> CountyScore:
    """``previous_ranks``: the previous period's ranks, or None for a month (the pass stored
    the change since the month before)."""
    breakdown: dict[str, Any] = json.loads(ranking.breakdown).get("weights", {})
    metrics = tuple(MetricScore(metric, (breakdown.get(metric) or {}).get("rate"), weight,
                                (breakdown.get(metric) or {}).get("points"))
                    for metric, weight in weights.items())
    rank = ranking.rank
    if previous_ranks is None:
        change = ranking.rank_change
        previous = rank + change if rank is not None and change is not None else None
    else:
        previous = previous_ranks.get(ranking.county)
        change = previous - rank if rank is not None and previous is not None else None
    assigned, closed = closure
    return CountyScore(
        rank=rank, county=ranking.county,
        county_name=names.get(ranking.county, ranking.county), score=ranking.score,
        metrics=metrics, previous_rank=previous, rank_change=change,
        assigned=assigned, closed_out=closed, closure_rate=ratio(closed, assigned),
        light=light)


def collect_ranking(session: Session, on: date, period_kind: str = "month") -> MonthlyRanking:
    """The ranking of the latest monthly pass on or before ``on``, over the ``period_kind``
    period that contains the month it ranks."""
    run = require_run(session, "monthly", on)
    assert run.id is not None
    setting = setting_on(session, run.as_of)
    policies = setting.policies
    month = ranked_month(run.as_of)
    period, first = period_of(period_kind, month)
    last = _month_end(month)
    names = setting.county_names
    weights = dict(policies.ranking.weights)
    rankings = {r.county: r for r in session.execute(
        select(Ranking).where(col(Ranking.pass_run_id) == run.id)).scalars()}
    county_lights = lights(session, run.id, "county", dimension=None)
    history = ItemHistory(session, policies)
    closure = _closure(history, first, last, run.as_of)
    previous_ranks = (None if period_kind == "month"
                      else _previous_ranks(session, period_kind, first))
    rows = [_score(rankings[c], names, weights, county_lights.get(c), closure.get(c, (0, 0)),
                   previous_ranks)
            for c in ordered(set(rankings), list(names))]
    rows.sort(key=lambda r: (r.rank is None, r.rank or 0))
    top, bottom = top_and_bottom(rows)
    ranked = [r for r in rows if r.rank is not None]
    last_rank = max((r.rank for r in ranked if r.rank is not None), default=None)
    last_place = next((r for r in ranked if r.rank == last_rank), None) if len(ranked) > 1 else None
    in_period = monthly_runs(session, first, month)
    summoned = _summoned(session, [r.id for r in in_period if r.id is not None])
    trend_from = first if period_kind != "month" else _months_back(month, TREND_MONTHS)
    trend_runs = monthly_runs(session, trend_from, month)
    history_rows: dict[int, dict[str, Ranking]] = {}
    if trend_runs:
        for ranking in session.execute(select(Ranking).where(
                col(Ranking.pass_run_id).in_([r.id for r in trend_runs]))).scalars():
            history_rows.setdefault(ranking.pass_run_id, {})[ranking.county] = ranking
    months = [(r.period_key, history_rows.get(r.id or 0, {})) for r in trend_runs]
    trend = tuple(
        CountyTrend(r.county, r.county_name, tuple(
            ScorePoint(label, by_county[r.county].score if r.county in by_county else None,
                       by_county[r.county].rank if r.county in by_county else None)
            for label, by_county in months))
        for r in rows)
    assigned = sum(a for a, _ in closure.values())
    closed = sum(c for _, c in closure.values())
    return MonthlyRanking(
        info=document_info(policies, run), period_kind=period_kind, period=period,
        period_start=first, period_end=last,
        weights=tuple(MetricWeight(m, w) for m, w in weights.items()), rows=tuple(rows),
        top=top, bottom=bottom, last_place=last_place,
        reminder_talks=tuple(r for r in rows if r.county in summoned),
        assigned=assigned, closed_out=closed, closure_rate=ratio(closed, assigned),
        trend=trend, rate_trend=rate_trend(session, first, min(last, run.as_of)))
