"""Daily dispatch metrics (日调度): the four rates and disbursement per county, task force,
category and in total, accumulated project by project while a pass streams the ledger.

- start rate = started / due to start (planned.started ≤ as-of; started = actual.started ≤ as-of)
- on-time completion = completed by the planned date / due to complete (planned final
  milestone ≤ as-of; the final milestone is the last of the category's path)
- investment completion = completed investment / annual planned investment
- funds in place = funds arrived / planned funds; disbursement = funds disbursed / planned funds
- points vs pro-rata (序时进度) = (investment completion − months elapsed / 12) × 100
Rates are fractions (1.0 = 100%); a rate with nothing to divide by is none. Projects adjusted
out (调出) count nowhere. Growth is in percentage points since the previous daily snapshot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kfworkflow.engine.units import Facts, Units
from kfworkflow.lifecycle.milestones import ADJUSTED
from kfworkflow.rules.facts import RATES

SCOPE_KINDS = ("county", "task_force", "category", "total")
TOTAL_KEY = "all"
NEW_MILESTONES = ("signed", "started", "in_production")


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


@dataclass
class ScopeTotals:
    projects: int = 0
    due_to_start: int = 0
    started: int = 0
    due_to_complete: int = 0
    completed_on_time: int = 0
    planned_investment: float = 0.0
    completed_investment: float = 0.0
    planned_funds: float = 0.0
    funds_arrived: float = 0.0
    funds_disbursed: float = 0.0
    counts: dict[str, int] = field(default_factory=lambda: {"red": 0, "yellow": 0, "green": 0})
    new: dict[str, int] = field(default_factory=lambda: dict.fromkeys(NEW_MILESTONES, 0))

    def rates(self) -> dict[str, float | None]:
        return {
            "start": _ratio(self.started, self.due_to_start),
            "funds_in_place": _ratio(self.funds_arrived, self.planned_funds),
            "investment_completion": _ratio(self.completed_investment, self.planned_investment),
            "on_time_completion": _ratio(self.completed_on_time, self.due_to_complete),
            "disbursement": _ratio(self.funds_disbursed, self.planned_funds),
        }


class MetricsAccumulator:
    """Adds up projects into every scope; memory is one small record per scope."""

    def __init__(self, units: Units, as_of: date, campaign_start: date) -> None:
        self.units = units
        self.as_of = as_of
        self.campaign_start = campaign_start
        self.scopes: dict[tuple[str, str], ScopeTotals] = {}

    def _scope(self, kind: str, key: str) -> ScopeTotals:
        found = self.scopes.get((kind, key))
        if found is None:
            found = self.scopes[(kind, key)] = ScopeTotals()
        return found

    def add(self, facts: Mapping[str, Any], overall: str | None) -> None:
        if facts.get("state") == ADJUSTED:
            return
        targets = (self._scope("county", facts["county"]),
                   self._scope("task_force", facts["task_force"]),
                   self._scope("category", facts["category"]),
                   self._scope("total", TOTAL_KEY))
        as_of = self.as_of
        planned_start = facts.get("planned.started")
        due_start = planned_start is not None and planned_start <= as_of
        started = due_start and facts.get("actual.started") is not None
        final = self.units.final_milestone(facts["category"])
        planned_end = facts.get(f"planned.{final}") if final else None
        actual_end = facts.get(f"actual.{final}") if final else None
        due_end = planned_end is not None and planned_end <= as_of
        on_time = due_end and actual_end is not None and actual_end <= planned_end
        new = [m for m in NEW_MILESTONES
               if (d := facts.get(f"actual.{m}")) is not None and self.campaign_start <= d]
        for scope in targets:
            scope.projects += 1
            scope.due_to_start += due_start
            scope.started += started
            scope.due_to_complete += due_end
            scope.completed_on_time += on_time
            scope.planned_investment += facts.get("annual_investment") or 0.0
            scope.completed_investment += facts.get("completed_investment") or 0.0
            scope.planned_funds += facts.get("planned_funds") or 0.0
            scope.funds_arrived += facts.get("funds_arrived") or 0.0
            scope.funds_disbursed += facts.get("funds_disbursed") or 0.0
            if overall in scope.counts:
                scope.counts[overall] += 1
            for milestone in new:
                scope.new[milestone] += 1

    def ensure(self, kind: str, key: str) -> None:
        """A scope with no projects still gets a (zero) record, e.g. a county that reports."""
        self._scope(kind, key)


def pro_rata(as_of: date) -> float:
    """序时进度 by months, the current month counted (as ``pro_rata_months()`` in rules)."""
    return as_of.month / 12


def scope_metrics(totals: ScopeTotals, as_of: date,
                  previous: Mapping[str, Any] | None) -> dict[str, Any]:
    """The JSON of one metric snapshot row."""
    rates = totals.rates()
    before = (previous or {}).get("rates") or {}
    growth = {
        rate: (round((rates[rate] - before[rate]) * 100, 4)
               if rates.get(rate) is not None and before.get(rate) is not None else None)
        for rate in RATES}
    completion = rates["investment_completion"]
    return {
        "projects": totals.projects,
        "due_to_start": totals.due_to_start,
        "started": totals.started,
        "due_to_complete": totals.due_to_complete,
        "completed_on_time": totals.completed_on_time,
        "planned_investment": totals.planned_investment,
        "completed_investment": totals.completed_investment,
        "planned_funds": totals.planned_funds,
        "funds_arrived": totals.funds_arrived,
        "funds_disbursed": totals.funds_disbursed,
        "rates": rates,
        "pro_rata": pro_rata(as_of),
        "pp_vs_pro_rata": (round((completion - pro_rata(as_of)) * 100, 4)
                           if completion is not None else None),
        "growth": growth,
        "counts": dict(totals.counts),
        "new": dict(totals.new),
    }


def aggregate_facts(key: str, name: str, metrics: Mapping[str, Any]) -> Facts:
    """The facts of an aggregate subject (county, task force, category) from its metrics."""
    facts: Facts = {"key": key, "name": name}
    for field_name in ("projects", "due_to_start", "started", "due_to_complete",
                       "completed_on_time", "planned_investment", "completed_investment",
                       "planned_funds", "funds_arrived", "funds_disbursed"):
        facts[field_name] = metrics[field_name]
    for rate in RATES:
        facts[f"rates.{rate}"] = metrics["rates"][rate]
        facts[f"growth.{rate}"] = metrics["growth"][rate]
    for color in ("red", "yellow", "green"):
        facts[f"counts.{color}"] = metrics["counts"][color]
    for milestone in NEW_MILESTONES:
        facts[f"new.{milestone}"] = metrics["new"][milestone]
    for name_ in ("reported", "missed_reports", "score", "rank", "rank_from_bottom",
                  "rank_change", "peers"):
        facts[name_] = metrics.get(name_)
    return facts
