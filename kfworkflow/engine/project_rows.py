"""How a project's row from the chunk query becomes facts: which columns are read as they are,
which facts are computed from the latest report, and the prior lights read from the row."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any

from kfworkflow.engine.history import PriorLight
from kfworkflow.engine.project_query import PROJECT_COLUMNS
from kfworkflow.engine.units import Facts
from kfworkflow.storage.driver_select import DriverSelect

# The facts each source of a project provides; a pass whose rules read none of a source's facts
# does not query it (see ``FactsLoader(project_facts=...)``).
REPORT_FACTS = frozenset({"completed_investment", "funds_arrived", "funds_disbursed",
                          "investment_rate", "funds_rate", "disbursement_rate", "last_report_on"})
MILESTONE_FACTS = frozenset({"state", "state_on", "finished"})  # and planned.* / actual.*
EXEMPTION_FACTS = frozenset({"exempt", "exempt_reason"})
PROBLEM_FACTS = frozenset({"open_problems"})


REPORT_NONE: Facts = dict.fromkeys(REPORT_FACTS)
# ledger facts taken as they are from a project's column of the same name
LEDGER_FACTS = ("code", "name", "batch", "responsible_unit", "responsible_person", "owner_unit",
                "total_investment", "annual_investment", "planned_funds")
assert set(LEDGER_FACTS) <= set(PROJECT_COLUMNS)


def values_at(positions: Sequence[int]) -> Callable[[Sequence[Any]], Sequence[Any]]:
    """What reads the values at ``positions`` of a row, as a tuple."""
    if len(positions) > 1:
        return itemgetter(*positions)
    if positions:
        at = positions[0]
        return lambda row: (row[at],)
    return lambda row: ()


def reads_milestones(names: frozenset[str]) -> bool:
    return bool(names & MILESTONE_FACTS) or any(
        n.startswith(("planned.", "actual.")) for n in names)


def ratio(part: float | None, whole: float | None) -> float | None:
    if part is None or not whole:
        return None
    return part / whole


# how each report fact is computed from (annual investment, planned funds, the report's
# columns as the driver returned them: report_on, completed, arrived, disbursed, and what
# converts report_on) — the one definition of these facts
REPORT_COMPUTED: dict[str, Callable[..., Any]] = {
    "completed_investment": lambda annual, funds, r, to_date: r[1],
    "funds_arrived": lambda annual, funds, r, to_date: r[2],
    "funds_disbursed": lambda annual, funds, r, to_date: r[3],
    "investment_rate": lambda annual, funds, r, to_date: ratio(r[1], annual),
    "funds_rate": lambda annual, funds, r, to_date: ratio(r[2], funds),
    "disbursement_rate": lambda annual, funds, r, to_date: ratio(r[3], funds),
    "last_report_on": lambda annual, funds, r, to_date: to_date(r[0]),
}
assert set(REPORT_COMPUTED) == REPORT_FACTS


class RowLights(Mapping[str, Mapping[str, PriorLight]]):
    """code → dimension → light before this pass, of a chunk's projects, read from their rows
    only for the projects a pass lights (most passes light few or none)."""

    def __init__(self, rows: Mapping[str, Sequence[Any]], light_at: Mapping[str, int],
                 select_: DriverSelect) -> None:
        self._rows = rows
        self._light_at = [(d, at, select_.converter(at + 2)) for d, at in light_at.items()]

    def __getitem__(self, code: str) -> Mapping[str, PriorLight]:
        row = self._rows[code]
        return {dimension: PriorLight(row[at], row[at + 1], to_date(row[at + 2]))
                for dimension, at, to_date in self._light_at if row[at] is not None}

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)
