"""The daily bulletin from the database.

County and city figures are the daily pass's own metric snapshots. The county × category split
is not snapshotted by the pass, so it is counted here the way the pass counts (the engine's
``MetricsAccumulator`` over the facts as of the pass date, with the lights that run set), for
the run and for the run before it (for the changes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from kfworkflow.engine.facts_loader import FactsLoader
from kfworkflow.engine.history import History
from kfworkflow.engine.metrics import MetricsAccumulator, ScopeTotals, scope_metrics
from kfworkflow.engine.units import Units
from kfworkflow.errors import NotFoundError
from kfworkflow.reports.collect.common import (
    Setting,
    document_info,
    latest_run,
    lights,
    ordered,
    rate_trend,
    require_run,
    setting_on,
    snapshots,
)
from kfworkflow.reports.context import (
    TOTAL_KEY,
    DailyBulletin,
    DailyRow,
    DailySection,
    MissedReport,
)
from kfworkflow.storage.engine_models import PassRun
from kfworkflow.storage.models import DailyReport

TREND_DAYS = 27  # four weeks of daily passes on the rate chart
TOTAL_NAME = "合计"


def row_from_metrics(key: str, name: str, metrics: Mapping[str, Any]) -> DailyRow:
    """A bulletin row from a metric snapshot's JSON (``engine.metrics.scope_metrics``)."""
    rates, growth, counts = metrics["rates"], metrics["growth"], metrics["counts"]
    return DailyRow(
        key=key, name=name, projects=metrics["projects"],
        due_to_start=metrics["due_to_start"], started=metrics["started"],
        start_rate=rates["start"], planned_investment=metrics["planned_investment"],
        completed_investment=metrics["completed_investment"],
        investment_completion_rate=rates["investment_completion"],
        pro_rata_gap_pp=metrics["pp_vs_pro_rata"], planned_funds=metrics["planned_funds"],
        funds_arrived=metrics["funds_arrived"], funds_in_place_rate=rates["funds_in_place"],
        due_to_complete=metrics["due_to_complete"],
        completed_on_time=metrics["completed_on_time"],
        on_time_completion_rate=rates["on_time_completion"],
        start_rate_change_pp=growth["start"],
        funds_in_place_rate_change_pp=growth["funds_in_place"],
        investment_completion_rate_change_pp=growth["investment_completion"],
        on_time_completion_rate_change_pp=growth["on_time_completion"],
        red=counts["red"], yellow=counts["yellow"], green=counts["green"])


def county_category_totals(session: Session, setting: Setting, run: PassRun
                           ) -> dict[tuple[str, str], ScopeTotals]:
    """(county, category) → totals as of the run's date, counted as the daily pass counts."""
    policies = setting.policies
    as_of = run.as_of
    loader = FactsLoader(session, policies, setting.lifecycle, as_of,
                         History([], "daily", as_of, {}, {}), {})
    assert run.id is not None
    overall = lights(session, run.id, "project")
    units = Units(policies)
    by_category: dict[str, MetricsAccumulator] = {}
    for chunk in loader.project_chunks():
        for code, facts in chunk:
            accumulator = by_category.get(facts["category"])
            if accumulator is None:
                accumulator = by_category[facts["category"]] = MetricsAccumulator(
                    units, as_of, policies.campaign.start)
            accumulator.add(facts, overall.get(code))
    return {(county, category): totals
            for category, accumulator in by_category.items()
            for (kind, county), totals in accumulator.scopes.items() if kind == "county"}


def _sections(session: Session, setting: Setting, run: PassRun, previous: PassRun | None
              ) -> tuple[DailySection, ...]:
    today = county_category_totals(session, setting, run)
    before: dict[tuple[str, str], ScopeTotals] = {}
    if previous is not None:
        before = county_category_totals(session, setting_on(session, previous.as_of), previous)
    counties = setting.county_names
    sections = []
    for category in ordered({c for _, c in today}, list(setting.category_names)):
        keys = ordered({county for county, c in today if c == category}, list(counties))
        rows = tuple(
            row_from_metrics(county, counties.get(county, county), scope_metrics(
                today[(county, category)], run.as_of,
                _metrics(before.get((county, category)), previous)))
            for county in keys)
        total_before = [t for (_, c), t in before.items() if c == category]
        total = row_from_metrics(TOTAL_KEY, TOTAL_NAME, scope_metrics(
            _sum(today[(county, category)] for county in keys), run.as_of,
            _metrics(_sum(total_before), previous) if total_before else None))
        sections.append(DailySection(category, setting.category_names.get(category, category),
                                     rows, total))
    return tuple(sections)


def _metrics(totals: ScopeTotals | None, run: PassRun | None) -> dict[str, Any] | None:
    return None if totals is None or run is None else scope_metrics(totals, run.as_of, None)


def _sum(parts: Iterable[ScopeTotals]) -> ScopeTotals:
    out = ScopeTotals()
    for part in parts:
        for name in ("projects", "due_to_start", "started", "due_to_complete",
                     "completed_on_time", "planned_investment", "completed_investment",
                     "planned_funds", "funds_arrived", "funds_disbursed"):
            setattr(out, name, getattr(out, name) + getattr(part, name))
        for color, n in part.counts.items():
            out.counts[color] = out.counts.get(color, 0) + n
    return out


def _last_reports(session: Session, counties: list[str], on: date) -> dict[str, date]:
    if not counties:
        return {}
    rows = session.execute(
        select(col(DailyReport.county), func.max(col(DailyReport.report_on)))
        .where(col(DailyReport.county).in_(counties), col(DailyReport.report_on) <= on)
        .group_by(col(DailyReport.county)))
    return {str(county): day for county, day in rows}


def collect_daily(session: Session, on: date) -> DailyBulletin:
    """The bulletin of the latest daily pass on or before ``on``."""
    run = require_run(session, "daily", on)
    assert run.id is not None
    setting = setting_on(session, run.as_of)
    previous = latest_run(session, "daily", run.as_of, before=True)
    scopes = snapshots(session, run.id)
    county_names = setting.county_names
    county_keys = ordered({key for kind, key in scopes if kind == "county"}, list(county_names))
    counties = tuple(row_from_metrics(key, county_names.get(key, key), scopes[("county", key)])
                     for key in county_keys)
    total_metrics = next((m for (kind, _), m in scopes.items() if kind == "total"), None)
    if total_metrics is None:
        raise NotFoundError(f"the daily pass of {run.as_of} (run #{run.id}) recorded no figures: "
                            "the ledger had no projects then; import one with `kfw ledger "
                            "import` and run the pass again with --rerun")
    missing = list(total_metrics.get("not_reported") or [])
    last = _last_reports(session, missing, run.as_of)
    not_reported = tuple(
        MissedReport(key, county_names.get(key, key),
                     int(scopes.get(("county", key), {}).get("missed_reports") or 0),
                     last.get(key))
        for key in ordered(set(missing), list(county_names)))
    return DailyBulletin(
        info=document_info(setting.policies, run),
        previous_on=previous.as_of if previous else None,
        pro_rata_target=float(total_metrics["pro_rata"]),
        sections=_sections(session, setting, run, previous),
        counties=counties,
        total=row_from_metrics(TOTAL_KEY, TOTAL_NAME, total_metrics),
        not_reported=not_reported,
        trend=rate_trend(session, run.as_of - timedelta(days=TREND_DAYS), run.as_of))
