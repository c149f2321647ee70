"""Helpers of the scheduler tests: a clock that moves when told, a fake passes engine that
records what it is asked to run, and schedules changed in memory."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from kfworkflow import scheduling
from kfworkflow.config.policies import Policies, Schedules
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import PassBusyError
from kfworkflow.scheduling import (
    PassScheduler,
)

MONDAY_10_CST = datetime(2022, 11, 21, 2, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def with_schedules(policies: Policies, *, timezone: str | None = None, **crons: str) -> Policies:
    old = policies.schedules
    schedules = Schedules(crons.get("daily", old.daily), crons.get("weekly", old.weekly),
                          crons.get("monthly", old.monthly), old.catch_up_grace_hours)
    if timezone is None:
        return dataclasses.replace(policies, schedules=schedules)
    return dataclasses.replace(policies, schedules=schedules, timezone=timezone,
                               tz=ZoneInfo(timezone))


# --- a controllable clock and a fake passes engine --------------------------------------------

@dataclass
class MovableClock:
    instant: datetime

    def now(self) -> datetime:
        return self.instant


@dataclass(frozen=True)
class FakeResult:
    kind: str
    period_key: str
    as_of: date
    status: str
    run_id: int | None
    counts: dict[str, int]


def fake_period_key(kind: str, as_of: date) -> str:
    if kind == "daily":
        return as_of.isoformat()
    if kind == "weekly":
        year, week, _ = as_of.isocalendar()
        return f"{year}-W{week:02d}"
    month = as_of.replace(day=1) - timedelta(days=1)  # the month it ranks, the one before
    return f"{month:%Y-%m}"


class FakePasses:
    """The passes engine's API over an in-memory ledger shared by every scheduler using it.

    Periods exist from ``start``: every day, every ISO week (as of its Monday), every month (as
    of its 1st). A period being run holds a lock: a second run of it gets PassBusyError.
    """

    def __init__(self, start: date, done_through: date | None = None) -> None:
        self.start = start
        self.ledger: list[tuple[str, str]] = []  # (kind, period key) in the order they ran
        self.attempts: list[tuple[str, str]] = []
        self.failures: dict[tuple[str, str], int] = {}  # period -> failures still to raise
        self.during_pass: dict[tuple[str, str], Any] = {}  # period -> callable run mid-pass
        self._guard = threading.Lock()
        self._running: set[tuple[str, str]] = set()
        if done_through is not None:
            for kind, as_of in self._periods(done_through):
                self.ledger.append((kind, fake_period_key(kind, as_of)))

    def _periods(self, until: date) -> list[tuple[scheduling.Kind, date]]:
        periods: list[tuple[scheduling.Kind, date]] = []
        day = self.start
        while day <= until:
            periods.append(("daily", day))
            if day.weekday() == 0:
                periods.append(("weekly", day))
            if day.day == 1:
                periods.append(("monthly", day))
            day += timedelta(days=1)
        return periods

    def due_periods(self, workspace: Workspace, until: date
                    ) -> list[tuple[scheduling.Kind, date]]:
        return [(k, d) for k, d in self._periods(until)
                if (k, fake_period_key(k, d)) not in self.ledger]

    def period_key(self, kind: scheduling.Kind, as_of: date) -> str:
        return fake_period_key(kind, as_of)

    def list_runs(self, workspace: Workspace) -> list[dict[str, Any]]:
        return [{"run_id": i + 1, "kind": k, "period_key": p, "as_of": p, "status": "succeeded"}
                for i, (k, p) in enumerate(self.ledger)]

    def run_pass(self, workspace: Workspace, kind: scheduling.Kind, as_of: date, *,
                 rerun: bool = False) -> FakeResult:
        period = (kind, fake_period_key(kind, as_of))
        with self._guard:
            self.attempts.append(period)
            if period in self._running:
                raise PassBusyError(f"the {kind} pass for {period[1]} is already running")
            if period in self.ledger:
                return FakeResult(kind, period[1], as_of, "already_done", None, {})
            self._running.add(period)
        try:
            if self.failures.get(period, 0) > 0:
                self.failures[period] -= 1
                raise RuntimeError("connection to the database lost")
            if period in self.during_pass:
                self.during_pass[period]()
            with self._guard:
                self.ledger.append(period)
                return FakeResult(kind, period[1], as_of, "succeeded", len(self.ledger), {})
        finally:
            with self._guard:
                self._running.discard(period)


class Waits:
    """Stands in for sleeping between retries: records each delay, returns at once."""

    def __init__(self, stop_after: int | None = None) -> None:
        self.delays: list[float] = []
        self.stop_after = stop_after

    def __call__(self, seconds: float) -> bool:
        self.delays.append(seconds)
        return self.stop_after is not None and len(self.delays) >= self.stop_after


def scheduler_for(ws: Workspace, engine: FakePasses, **kwargs: Any) -> PassScheduler:
    kwargs.setdefault("wait", Waits())
    return PassScheduler(ws, engine=engine, **kwargs)


def summary(records: Sequence[scheduling.RunRecord]) -> list[tuple[str, str, str, bool]]:
    return [(r.kind, r.period_key, r.status, r.late) for r in records]
