"""The scheduler: cron times in the configured zone, catch-up in order, never twice, clean stop.

Times are worked out by hand. Asia/Shanghai is UTC+8 all year: the default daily pass
("0 18 * * *") fires at 10:00 UTC, the weekly ("0 9 * * mon") on Mondays at 01:00 UTC, the
monthly ("0 9 1 * *") on the 1st at 01:00 UTC. 2022-11-21 is a Monday (ISO week 47).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kfworkflow import scheduling
from kfworkflow.config.defaults import default_policies_path
from kfworkflow.config.policies import Policies, Schedules, load_policies
from kfworkflow.engine.workspace import Workspace, init_workspace
from kfworkflow.errors import ConfigError, PassBusyError
from kfworkflow.scheduling import (
    NextRun,
    PassScheduler,
    RetryPolicy,
    build_scheduler,
    cron_trigger,
    next_runs,
    passes_engine,
    read_state,
    scheduled_at,
    standard_weekdays,
    status_overview,
)
from kfworkflow.storage.db import write_session
from kfworkflow.storage.rule_store import publish
from kfworkflow.timefmt import SystemClock
from tests.conftest import REPO
from tests.helpers import run_cli

MONDAY_10_CST = datetime(2022, 11, 21, 2, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
        second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.fixture(scope="module")
def policies() -> Policies:
    return load_policies(default_policies_path())


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


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace folder (the fake engine needs no database)."""
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace(root, db=f"sqlite:///{tmp_path / 'unused.db'}", actor="tester",
                     clock=MovableClock(MONDAY_10_CST))


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


# --- cron expressions ---------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "expected"), [
    ("*", "*"),
    ("1", "mon"),
    ("0", "sun"),
    ("7", "sun"),
    ("mon", "mon"),
    ("1-5", "mon,tue,wed,thu,fri"),
    ("mon-fri", "mon,tue,wed,thu,fri"),
    ("5-7", "fri,sat,sun"),
    ("fri-sun", "fri,sat,sun"),
    ("*/2", "tue,thu,sat,sun"),  # cron: 0, 2, 4, 6 = Sun, Tue, Thu, Sat
    ("1,3,5", "mon,wed,fri"),
    ("0-6/3", "wed,sat,sun"),  # 0, 3, 6
])
def test_weekdays_follow_standard_cron_not_apscheduler_numbering(field: str,
                                                                  expected: str) -> None:
    assert standard_weekdays(field, "schedules.weekly") == expected


@pytest.mark.parametrize(("field", "message"), [
    ("8", "schedules.weekly: weekday '8' is not 0-7 or a day name such as mon"),
    ("monday", "schedules.weekly: weekday 'monday' is not 0-7 or a day name such as mon"),
    ("5-2", "schedules.weekly: weekday range '5-2' runs backwards"),
    ("1/2", "schedules.weekly: weekday '1/2': a step needs a range or '*'"),
    ("*/0", "schedules.weekly: weekday step '0' is not a positive number"),
])
def test_bad_weekday_fields_are_refused(field: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        standard_weekdays(field, "schedules.weekly")
    assert str(caught.value) == message


def test_monday_in_standard_cron_numbers_fires_on_monday(policies: Policies) -> None:
    numbered = with_schedules(policies, weekly="0 9 * * 1")
    fire = cron_trigger(numbered, "weekly").get_next_fire_time(None, utc(2022, 11, 15))
    assert fire.isoformat() == "2022-11-21T09:00:00+08:00"  # APScheduler 3 alone: Tuesday 22nd


@pytest.mark.parametrize(("kind", "cron", "message"), [
    ("daily", "0 18 * *",
     "schedules.daily '0 18 * *' is not a 5-field cron expression (minute hour day month "
     "weekday, e.g. '0 18 * * *')"),
    ("monthly", "0 9 1 * mon",
     "schedules.monthly '0 9 1 * mon' restricts both the day of the month and the weekday; cron "
     "would fire on either, APScheduler only on both: restrict one of them"),
])
def test_unusable_schedules_are_refused(policies: Policies, kind: scheduling.Kind, cron: str,
                                        message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        cron_trigger(with_schedules(policies, **{kind: cron}), kind)
    assert str(caught.value) == message


def test_an_out_of_range_hour_names_the_schedule(policies: Policies) -> None:
    with pytest.raises(ConfigError) as caught:
        cron_trigger(with_schedules(policies, daily="0 25 * * *"), "daily")
    assert str(caught.value).startswith(
        "schedules.daily '0 25 * * *' is not a valid cron expression: ")
    assert "25" in str(caught.value)


# --- when schedules fire -------------------------------------------------------------------------

EXPECTED_FROM_SUNDAY = [
    NextRun("daily", utc(2022, 11, 20, 10), date(2022, 11, 20)),
    NextRun("weekly", utc(2022, 11, 21, 1), date(2022, 11, 21)),
    NextRun("daily", utc(2022, 11, 21, 10), date(2022, 11, 21)),
    NextRun("daily", utc(2022, 11, 22, 10), date(2022, 11, 22)),
]


def test_next_runs_in_the_configured_zone(policies: Policies) -> None:
    # from Sunday 2022-11-20 08:00 CST: two days, to Tuesday 08:00 CST
    assert next_runs(policies, utc(2022, 11, 20, 0), 2) == EXPECTED_FROM_SUNDAY[:3]
    assert next_runs(policies, utc(2022, 11, 20, 0), 3) == EXPECTED_FROM_SUNDAY


def test_next_runs_are_strictly_after_and_cover_the_month_end(policies: Policies) -> None:
    after = utc(2022, 11, 30, 10)  # exactly the daily fire of 2022-11-30: not included
    assert next_runs(policies, after, 1) == [
        NextRun("monthly", utc(2022, 12, 1, 1), date(2022, 12, 1)),
        NextRun("daily", utc(2022, 12, 1, 10), date(2022, 12, 1)),
    ]


@pytest.fixture
def server_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def switch(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield switch
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("policy_zone", ["Asia/Shanghai", "Europe/Berlin"])
def test_fire_times_do_not_depend_on_the_servers_time_zone(policies: Policies, server_zone: Any,
                                                           policy_zone: str) -> None:
    configured = with_schedules(policies, timezone=policy_zone)
    seen = []
    offsets = set()
    for zone in ("UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"):
        server_zone(zone)
        offsets.add(time.timezone)
        scheduler_jobs = build_scheduler_jobs(configured)
        seen.append((next_runs(configured, utc(2022, 10, 28), 4), scheduler_jobs))
    assert len(offsets) == 4  # the server's zone really changed
    assert all(item == seen[0] for item in seen)
    local = [(run.kind, run.fire_at.astimezone(ZoneInfo(policy_zone)).strftime("%a %H:%M"))
             for run in seen[0][0]]
    assert local == [("daily", "Fri 18:00"), ("daily", "Sat 18:00"), ("daily", "Sun 18:00"),
                     ("weekly", "Mon 09:00"), ("daily", "Mon 18:00")]


def test_berlin_schedule_follows_the_daylight_saving_change(policies: Policies) -> None:
    # Central Europe leaves summer time on 2022-10-30: 18:00 local is 16:00 UTC, then 17:00 UTC
    berlin = with_schedules(policies, timezone="Europe/Berlin")
    daily = [run.fire_at for run in next_runs(berlin, utc(2022, 10, 29), 2)
             if run.kind == "daily"]
    assert daily == [utc(2022, 10, 29, 16), utc(2022, 10, 30, 17)]


def build_scheduler_jobs(policies: Policies) -> list[tuple[str, datetime]]:
    """The APScheduler jobs a scheduler would run, and their first fire after 2022-10-28."""
    ws = Workspace(Path("."), clock=MovableClock(utc(2022, 10, 28)))
    ws.__dict__["policies"] = policies  # the cached property, set without a policies file
    background = build_scheduler(PassScheduler(ws, engine=FakePasses(date(2022, 10, 1))))
    return [(job.id, to_utc_fire(job.trigger.get_next_fire_time(None, utc(2022, 10, 28))))
            for job in background.get_jobs()]


def to_utc_fire(fire: datetime) -> datetime:
    return fire.astimezone(UTC)


def test_jobs_come_from_the_policies_in_memory(policies: Policies) -> None:
    ws = Workspace(Path("."), clock=MovableClock(MONDAY_10_CST))
    ws.__dict__["policies"] = policies
    background = build_scheduler(PassScheduler(ws, engine=FakePasses(date(2022, 11, 1))),
                                 timedelta(minutes=5))
    background.start(paused=True)  # paused: nothing fires; the job defaults are applied
    try:
        jobs = {job.id: job for job in background.get_jobs()}
        assert sorted(jobs) == ["pass-daily", "pass-monthly", "pass-weekly", "recheck"]
        assert jobs["recheck"].trigger.interval == timedelta(minutes=5)
        assert jobs["recheck"].args == ()
        assert jobs["pass-weekly"].args == ("weekly",)
        assert jobs["pass-weekly"].misfire_grace_time is None
        assert jobs["pass-weekly"].coalesce and jobs["pass-weekly"].max_instances == 1
        assert type(background._jobstores["default"]).__name__ == "MemoryJobStore"
        assert str(background.timezone) == "Asia/Shanghai"
    finally:
        background.shutdown(wait=False)


@pytest.mark.parametrize(("kind", "as_of", "expected"), [
    ("daily", date(2022, 11, 19), utc(2022, 11, 19, 10)),
    ("weekly", date(2022, 11, 23), utc(2022, 11, 21, 1)),  # the Monday of the ISO week
    ("monthly", date(2022, 11, 23), utc(2022, 11, 1, 1)),
])
def test_a_period_is_due_at_its_first_fire(policies: Policies, kind: scheduling.Kind,
                                           as_of: date, expected: datetime) -> None:
    assert scheduled_at(policies, kind, as_of) == expected


def test_a_period_the_cron_skips_is_due_at_the_next_fire(policies: Policies) -> None:
    workdays = with_schedules(policies, daily="0 18 * * 1-5")
    # Saturday 2022-11-19 has no fire of its own: due Monday 2022-11-21 18:00 CST
    assert scheduled_at(workdays, "daily", date(2022, 11, 19)) == utc(2022, 11, 21, 10)


# --- catching up ---------------------------------------------------------------------------------

def test_a_three_day_outage_catches_up_exactly_the_missed_passes_in_order(ws: Workspace) -> None:
    # last pass ran Thursday 2022-11-17; down until Monday 2022-11-21 10:00 CST (02:00 UTC)
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 17))
    scheduler = scheduler_for(ws, engine)
    records = scheduler.catch_up()
    assert summary(records) == [
        ("daily", "2022-11-18", "succeeded", True),  # due Fri 18:00 CST, 64 h late
        ("daily", "2022-11-19", "succeeded", True),  # 40 h late
        ("daily", "2022-11-20", "succeeded", True),  # 16 h late: over the 6 h grace
        ("weekly", "2022-W47", "succeeded", False),  # due Mon 09:00, 1 h: within the grace
    ]
    assert [r.late_by for r in records] == [timedelta(hours=64), timedelta(hours=40),
                                            timedelta(hours=16), timedelta(hours=1)]
    assert engine.ledger[-4:] == [("daily", "2022-11-18"), ("daily", "2022-11-19"),
                                  ("daily", "2022-11-20"), ("weekly", "2022-W47")]
    assert scheduler.catch_up() == []  # nothing more is due before Monday 18:00
    ws.clock.instant = utc(2022, 11, 21, 10, 0, 30)  # type: ignore[attr-defined]
    assert summary(scheduler.catch_up()) == [("daily", "2022-11-21", "succeeded", False)]
    assert engine.attempts.count(("daily", "2022-11-21")) == 1
    assert len(engine.ledger) == len(set(engine.ledger))


def test_a_pass_is_not_run_before_its_scheduled_time(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 20))
    ws.clock.instant = utc(2022, 11, 21, 0, 59, 59)  # type: ignore[attr-defined]
    assert scheduler_for(ws, engine).catch_up() == []
    ws.clock.instant = utc(2022, 11, 21, 1)  # type: ignore[attr-defined]
    assert summary(scheduler_for(ws, engine).catch_up()) == [
        ("weekly", "2022-W47", "succeeded", False)]


def test_same_day_passes_run_in_the_order_they_were_due(ws: Workspace) -> None:
    # 2022-12-01 is a Thursday: the monthly pass due at 09:00 runs before that day's daily
    # (18:00), though the engine lists the daily first; at 20:00 the monthly is 11 h late
    engine = FakePasses(date(2022, 11, 28), done_through=date(2022, 11, 30))
    ws.clock.instant = utc(2022, 12, 1, 12)  # type: ignore[attr-defined]
    assert engine.due_periods(ws, date(2022, 12, 1)) == [("daily", date(2022, 12, 1)),
                                                         ("monthly", date(2022, 12, 1))]
    assert summary(scheduler_for(ws, engine).catch_up()) == [
        ("monthly", "2022-11", "succeeded", True), ("daily", "2022-12-01", "succeeded", False)]


def test_late_runs_and_last_runs_are_recorded_in_the_state_file(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 19))
    scheduler_for(ws, engine).catch_up()
    state = read_state(ws)
    assert state["format"] == 1
    assert state["updated_at"] == "2022-11-21T02:00:00+00:00"
    assert {k: v["period_key"] for k, v in state["last"].items()} == {
        "daily": "2022-11-20", "weekly": "2022-W47"}
    assert [(r["kind"], r["period_key"], r["late_by_hours"]) for r in state["late"]] == [
        ("daily", "2022-11-20", 16.0)]
    assert state["failures"] == []
    assert state["last"]["weekly"]["run_id"] == len(engine.ledger)
    assert sorted(p.name for p in ws.root.iterdir()) == ["scheduler-state.json",
                                                         "scheduler-state.json.lock"]


# --- retries and failures ------------------------------------------------------------------------

def test_a_failing_pass_is_retried_with_backoff(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 19))
    engine.failures[("daily", "2022-11-20")] = 2
    waits = Waits()
    scheduler = scheduler_for(ws, engine, wait=waits, retry=RetryPolicy(3, 30))
    records = scheduler.catch_up()
    assert [(r.period_key, r.status, r.tries) for r in records] == [
        ("2022-11-20", "succeeded", 3), ("2022-W47", "succeeded", 1)]
    assert waits.delays == [30.0, 60.0]


def test_after_the_last_try_the_failure_is_recorded_and_later_periods_wait(
        ws: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 18))
    engine.failures[("daily", "2022-11-20")] = 3
    waits = Waits()
    scheduler = scheduler_for(ws, engine, wait=waits, retry=RetryPolicy(3, 10))
    with caplog.at_level(logging.WARNING, logger="kfworkflow.scheduler"):
        records = scheduler.catch_up()
    assert summary(records) == [("daily", "2022-11-19", "succeeded", True),
                                ("daily", "2022-11-20", "failed", True)]
    assert records[-1].error == "RuntimeError: connection to the database lost"
    assert waits.delays == [10.0, 20.0]
    assert ("weekly", "2022-W47") not in engine.attempts  # never run ahead of a failed period
    assert caplog.messages[-1] == ("daily 2022-11-20 failed after 3 tries: RuntimeError: "
                                   "connection to the database lost")
    state = read_state(ws)
    assert [(f["kind"], f["period_key"], f["tries"], f["error"]) for f in state["failures"]] == [
        ("daily", "2022-11-20", 3, "RuntimeError: connection to the database lost")]
    assert state["last_failure"]["period_key"] == "2022-11-20"
    assert not scheduler.report.ok
    # the next round runs it (the database is back) and clears the failure
    ws.clock.instant = utc(2022, 11, 21, 3)  # type: ignore[attr-defined]
    assert summary(scheduler.catch_up()) == [("daily", "2022-11-20", "succeeded", True),
                                             ("weekly", "2022-W47", "succeeded", False)]
    assert read_state(ws)["failures"] == []


def test_the_recheck_leaves_a_failed_period_to_the_next_schedule_fire(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 19))
    engine.failures[("daily", "2022-11-20")] = 2
    scheduler = scheduler_for(ws, engine, retry=RetryPolicy(1, 0))
    scheduler.on_fire("weekly")
    assert engine.attempts.count(("daily", "2022-11-20")) == 1
    scheduler.on_fire(None)  # the periodic re-check: no new attempt at a failed period
    assert engine.attempts.count(("daily", "2022-11-20")) == 1
    scheduler.on_fire("daily")  # a schedule fires: tried again (fails again)
    scheduler.on_fire("daily")  # and again: it succeeds, and the rest follows
    assert summary(scheduler.report.records) == [
        ("daily", "2022-11-20", "failed", True), ("daily", "2022-11-20", "failed", True),
        ("daily", "2022-11-20", "succeeded", True), ("weekly", "2022-W47", "succeeded", False)]


def test_the_recheck_takes_up_a_period_that_was_busy(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 19))
    scheduler = scheduler_for(ws, engine)
    engine._running.add(("daily", "2022-11-20"))  # another scheduler is running it
    scheduler.on_fire("daily")
    engine._running.clear()  # ... and is killed: its transaction rolls back
    scheduler.on_fire(None)  # the re-check takes the period up
    assert summary(scheduler.report.records) == [
        ("daily", "2022-11-20", "busy", True), ("daily", "2022-11-20", "succeeded", True),
        ("weekly", "2022-W47", "succeeded", False)]


def test_a_stop_during_the_backoff_gives_up_the_retry(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 19))
    engine.failures[("daily", "2022-11-20")] = 1
    records = scheduler_for(ws, engine, wait=Waits(stop_after=1)).catch_up()
    assert [(r.status, r.tries, r.error) for r in records] == [
        ("failed", 1, "RuntimeError: connection to the database lost "
                      "(stopped before the next try)")]


def test_when_due_periods_cannot_be_listed_the_error_is_reported(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14))

    def broken(workspace: Workspace, until: date) -> list[tuple[scheduling.Kind, date]]:
        raise RuntimeError("database is down")

    engine.due_periods = broken  # type: ignore[method-assign]
    scheduler = scheduler_for(ws, engine, retry=RetryPolicy(2, 5))
    assert scheduler.catch_up() == []
    message = ("could not list the due periods after 2 tries: RuntimeError: database is down")
    assert scheduler.report.errors == [message]
    assert read_state(ws)["last_error"]["error"] == message


@pytest.mark.parametrize(("tries", "backoff", "message"), [
    (0, 1.0, "tries must be at least 1, not 0"),
    (1, -1.0, "backoff must not be negative, not -1.0"),
])
def test_retry_policy_is_checked(tries: int, backoff: float, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        RetryPolicy(tries, backoff)
    assert str(caught.value) == message


# --- never twice ----------------------------------------------------------------------------------

def test_a_second_scheduler_skips_the_period_that_is_running(
        ws: Workspace, caplog: pytest.LogCaptureFixture) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 19))
    first = scheduler_for(ws, engine)
    second = scheduler_for(ws, engine)
    seen: list[list[scheduling.RunRecord]] = []
    # while the first runs daily 2022-11-20, the second starts its round
    engine.during_pass[("daily", "2022-11-20")] = lambda: seen.append(second.catch_up())
    with caplog.at_level(logging.INFO, logger="kfworkflow.scheduler"):
        records = first.catch_up()
    assert summary(seen[0]) == [("daily", "2022-11-20", "busy", True)]
    assert ("daily 2022-11-20 skipped: already running (the daily pass for 2022-11-20 is "
            "already running)") in caplog.messages
    assert summary(records) == [("daily", "2022-11-20", "succeeded", True),
                                ("weekly", "2022-W47", "succeeded", False)]
    assert second.catch_up() == []  # afterwards nothing is left for it
    assert engine.ledger.count(("daily", "2022-11-20")) == 1
    assert engine.ledger.count(("weekly", "2022-W47")) == 1


def test_a_period_done_elsewhere_meanwhile_is_reported_as_already_done(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 19))
    scheduler = scheduler_for(ws, engine)
    listed = scheduler.due_now(MONDAY_10_CST)
    engine.ledger.append(("daily", "2022-11-20"))  # another scheduler finished it
    engine.due_periods = lambda workspace, until: [(p.kind, p.as_of)  # type: ignore
                                                   for p in listed]
    assert summary(scheduler.catch_up()) == [("daily", "2022-11-20", "already_done", False),
                                             ("weekly", "2022-W47", "succeeded", False)]


def test_two_schedulers_in_threads_run_each_period_once(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 1), done_through=date(2022, 11, 2))
    schedulers = [scheduler_for(ws, engine) for _ in range(2)]
    start = threading.Barrier(2)

    def run(scheduler: PassScheduler) -> None:
        start.wait()
        while scheduler.catch_up():  # a busy period ends a round; the next round goes on
            pass

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    due = engine._periods(date(2022, 11, 21))
    assert len(engine.ledger) == len(set(engine.ledger)) == len(due) - 1  # Monday 18:00 not yet
    ran = [r for s in schedulers for r in s.report.records if r.status == "succeeded"]
    assert len(ran) == len(due) - 1 - 3  # three periods were done before the outage


# --- stopping -------------------------------------------------------------------------------------

def test_a_stop_lets_the_running_pass_finish_and_starts_no_other(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 17))
    scheduler = scheduler_for(ws, engine)
    engine.during_pass[("daily", "2022-11-18")] = lambda: scheduler.request_stop("SIGTERM")
    assert summary(scheduler.catch_up()) == [("daily", "2022-11-18", "succeeded", True)]
    assert scheduler.report.stop_reason == "SIGTERM"
    assert scheduler.catch_up() == []
    assert engine.attempts[-1] == ("daily", "2022-11-18")


# --- status ---------------------------------------------------------------------------------------

def test_status_shows_last_next_overdue_and_failed(ws: Workspace) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 18))
    engine.failures[("daily", "2022-11-19")] = 1
    scheduler_for(ws, engine, retry=RetryPolicy(1, 0)).catch_up()
    overview = status_overview(ws, engine)
    assert overview["now"] == "2022-11-21T02:00:00+00:00"
    assert [(k["kind"], (k["last_run"] or {}).get("period_key"), k["next_run_at"],
             k["next_business_date"]) for k in overview["kinds"]] == [
        ("daily", "2022-11-18", "2022-11-21T10:00:00+00:00", "2022-11-21"),
        ("weekly", "2022-W46", "2022-11-28T01:00:00+00:00", "2022-11-28"),
        ("monthly", None, "2022-12-01T01:00:00+00:00", "2022-12-01")]
    assert [(o["kind"], o["period_key"], o["due_at"], o["late"]) for o in overview["overdue"]] == [
        ("daily", "2022-11-19", "2022-11-19T10:00:00+00:00", True),
        ("daily", "2022-11-20", "2022-11-20T10:00:00+00:00", True),
        ("weekly", "2022-W47", "2022-11-21T01:00:00+00:00", False)]
    assert [(f["period_key"], f["error"]) for f in overview["failures"]] == [
        ("2022-11-19", "RuntimeError: connection to the database lost")]
    assert overview["notes"] == []


class MissingPasses(FakePasses):
    def available(self) -> bool:
        return False

    def list_runs(self, workspace: Workspace) -> None:  # type: ignore[override]
        return None


def test_status_says_what_it_cannot_know_without_the_passes_engine(ws: Workspace) -> None:
    overview = status_overview(ws, MissingPasses(date(2022, 11, 14)))
    assert overview["overdue"] == []
    assert overview["notes"] == [
        "the passes engine (kfworkflow.engine.passes) is not installed: overdue periods "
        "cannot be listed",
        "the pass ledger cannot be listed (no list_runs in the passes engine): last runs come "
        "from the scheduler's state file"]
    assert [k["last_run_source"] for k in overview["kinds"]] == ["scheduler state"] * 3


# --- the CLI --------------------------------------------------------------------------------------

@pytest.fixture
def cli_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.delenv("KFW_DATABASE_URL", raising=False)
    monkeypatch.setattr(SystemClock, "now", lambda self: MONDAY_10_CST)
    root = tmp_path / "cli"
    init_workspace(root)
    yield root
    logger = logging.getLogger("kfworkflow")
    for handler in [h for h in logger.handlers if h.get_name() == "kfw-scheduler"]:
        logger.removeHandler(handler)  # `scheduler run` logs to the stderr of its test only
    logger.setLevel(logging.NOTSET)


def test_plan_names_the_rule_revision_in_force_on_each_date(
        cli_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = Workspace(cli_ws)
    with write_session(ws.ready_engine()) as session:
        publish(session, revision="rev-a", effective_from=date(2022, 11, 22), content="{}",
                files={}, policies_text="", actor="tester", now=MONDAY_10_CST)
    result = run_cli(capsys, "-w", str(cli_ws), "scheduler", "plan", "--days", "2")
    assert result.exit_code == 0, result.err
    assert result.out.splitlines() == [
        "next 2 day(s), times in Asia/Shanghai",
        "kind   fires at          business date  rule revision",
        "-----  ----------------  -------------  --------------",
        "daily  2022-11-21 18:00  2022-11-21     none published",
        "daily  2022-11-22 18:00  2022-11-22     rev-a",
        "no rule version is in force on 2022-11-21: those passes will fail; publish one with "
        "`kfw rules publish --effective-from 2022-11-21` (or earlier)",
    ]
    result = run_cli(capsys, "-w", str(cli_ws), "scheduler", "plan", "--days", "7", "--json")
    data = json.loads(result.out)
    assert [(r["kind"], r["fire_at"], r["business_date"], r["rule_revision"])
            for r in data["runs"]][:3] == [
        ("daily", "2022-11-21T10:00:00+00:00", "2022-11-21", None),
        ("daily", "2022-11-22T10:00:00+00:00", "2022-11-22", "rev-a"),
        ("daily", "2022-11-23T10:00:00+00:00", "2022-11-23", "rev-a")]
    assert [(r["kind"], r["fire_at_local"]) for r in data["runs"] if r["kind"] != "daily"] == [
        ("weekly", "2022-11-28T09:00:00+08:00")]
    assert data["no_rules_on"] == ["2022-11-21"]


def test_plan_refuses_a_bad_days_value(cli_ws: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "-w", str(cli_ws), "scheduler", "plan", "--days", "0")
    assert result.exit_code == 2
    assert "Invalid value for '--days': 0 is not in the range 1<=x<=366." in result.err


def test_run_once_prints_what_it_did(cli_ws: Path, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 18))
    monkeypatch.setattr(passes_engine, "PassesEngine", lambda: engine)
    result = run_cli(capsys, "-w", str(cli_ws), "scheduler", "run", "--once")
    assert result.exit_code == 0, result.err
    assert result.out.splitlines() == [
        "caught up",
        "ran: daily 2022-11-19, daily 2022-11-20, weekly 2022-W47",
        "late (more than 6 h after due): daily 2022-11-19 (40 h), daily 2022-11-20 (16 h)",
    ]
    assert "late: daily 2022-11-19 was due 2022-11-19T18:00+08:00, running 40.0 h after it" in (
        result.err)
    result = run_cli(capsys, "-w", str(cli_ws), "scheduler", "run", "--once", "--json")
    assert json.loads(result.out)["ran"] == []
    status = run_cli(capsys, "-w", str(cli_ws), "scheduler", "status")
    assert status.out.splitlines()[:5] == [
        "now 2022-11-21 10:00 Asia/Shanghai",
        "kind     schedule     last run                      next run",
        "-------  -----------  ----------------------------  ----------------",
        "daily    0 18 * * *   2022-11-20 succeeded (run 8)  2022-11-21 18:00",
        "weekly   0 9 * * mon  2022-W47 succeeded (run 9)    2022-11-28 09:00",
    ]


def test_run_once_exits_1_after_a_failed_pass(cli_ws: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakePasses(date(2022, 11, 14), done_through=date(2022, 11, 19))
    engine.failures[("daily", "2022-11-20")] = 1
    monkeypatch.setattr(passes_engine, "PassesEngine", lambda: engine)
    result = run_cli(capsys, "-w", str(cli_ws), "scheduler", "run", "--once", "--tries", "1")
    assert result.exit_code == 1
    assert result.out.splitlines() == [
        "stopped at a failure",
        "failed after 1 tries: daily 2022-11-20: RuntimeError: connection to the database lost",
    ]
    assert result.err.endswith(
        "Error: the catch-up stopped at a failure; it is retried at the next round "
        "(`kfw scheduler status` lists it)\n")
    status = run_cli(capsys, "-w", str(cli_ws), "scheduler", "status", "--json")
    assert [(f["period_key"], f["tries"]) for f in json.loads(status.out)["failures"]] == [
        ("2022-11-20", 1)]
    overview = run_cli(capsys, "-w", str(cli_ws), "status")
    assert overview.out.splitlines()[-2:] == [
        "FAILED passes (the scheduler gave up after its last try; `kfw scheduler status` has "
        "the details):",
        "  daily 2022-11-20: RuntimeError: connection to the database lost (1 tries)"]
    overview = run_cli(capsys, "-w", str(cli_ws), "status", "--json")
    assert [(f["kind"], f["period_key"], f["tries"])
            for f in json.loads(overview.out)["failed_passes"]] == [("daily", "2022-11-20", 1)]


def test_long_lists_are_shortened_in_text_and_complete_in_json(
        cli_ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    engine = FakePasses(date(2022, 11, 1))  # nothing done: 20 dailies, 3 weeklies, 1 monthly
    monkeypatch.setattr(passes_engine, "PassesEngine", lambda: engine)
    status = run_cli(capsys, "-w", str(cli_ws), "scheduler", "status")
    lines = status.out.splitlines()
    start = lines.index("due and not run yet (is a scheduler running?):")
    assert lines[start + 1:start + 3] == ["  monthly 2022-10: due 2022-11-01 09:00 (late)",
                                          "  daily 2022-11-01: due 2022-11-01 18:00 (late)"]
    assert lines[start + 11] == "  ... and 14 more (--json lists them all)"
    result = run_cli(capsys, "-w", str(cli_ws), "scheduler", "run", "--once")
    assert result.out.splitlines()[1] == (
        "ran: monthly 2022-10, daily 2022-11-01, daily 2022-11-02, daily 2022-11-03, "
        "daily 2022-11-04, daily 2022-11-05, daily 2022-11-06, weekly 2022-W45, "
        "daily 2022-11-07, ... 13 more ..., daily 2022-11-20, weekly 2022-W47")
    result = run_cli(capsys, "-w", str(cli_ws), "scheduler", "run", "--once", "--json")
    assert json.loads(result.out)["ran"] == []
    assert len(engine.ledger) == 24


def test_run_without_the_passes_engine_fails_at_once(
        cli_ws: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passes_engine.PassesEngine, "MODULE", "kfworkflow.engine.no_such_passes")
    result = run_cli(capsys, "-w", str(cli_ws), "scheduler", "run", "--once")
    assert result.exit_code == 1
    assert result.err.strip().splitlines()[-1] == (
        "Error: the passes engine (kfworkflow.engine.no_such_passes) is not installed; the "
        "scheduler runs its passes")


# --- SIGTERM during a pass (a real process) ------------------------------------------------------

CHILD = textwrap.dedent('''
    """kfw scheduler run, with a pass that writes in one SQLite transaction and blocks on stdin."""
    import sqlite3
    import sys
    from datetime import date
    from pathlib import Path

    from kfworkflow.cli.main import main
    from kfworkflow.scheduling import passes_engine

    root = Path(sys.argv[1])
    out = sqlite3.connect(root / "pass-output.db", isolation_level=None,
                          check_same_thread=False)
    out.execute("CREATE TABLE IF NOT EXISTS written (period TEXT)")

    class Result:
        def __init__(self, kind, as_of):
            self.kind, self.as_of, self.status, self.run_id = kind, as_of, "succeeded", 1
            self.period_key = as_of.isoformat()

    class SlowPasses:
        def due_periods(self, workspace, until):
            done = {row[0] for row in out.execute("SELECT period FROM written")}
            return [("daily", d) for d in (date(2022, 11, 19), date(2022, 11, 20))
                    if d.isoformat() not in done]

        def period_key(self, kind, as_of):
            return as_of.isoformat()

        def list_runs(self, workspace):
            return None

        def run_pass(self, workspace, kind, as_of, *, rerun=False):
            out.execute("BEGIN")
            out.execute("INSERT INTO written VALUES (?)", (as_of.isoformat(),))
            (root / "pass-started").write_text(as_of.isoformat())
            sys.stdin.readline()  # the test releases the pass after signalling
            out.execute("COMMIT")
            return Result(kind, as_of)

    passes_engine.PassesEngine = SlowPasses
    sys.exit(main(["-w", str(root), "scheduler", "run", *sys.argv[2:]]))
''')


def child_command(tmp_path: Path, *args: str) -> list[str]:
    script = tmp_path / "child.py"
    script.write_text(CHILD, encoding="utf-8")
    return [sys.executable, str(script), str(tmp_path / "svc"), *args]


CHILD_ENV = {**os.environ, "PYTHONPATH": str(REPO), "KFW_DATABASE_URL": ""}


def start_child(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    root = tmp_path / "svc"
    init_workspace(root)
    child = subprocess.Popen(child_command(tmp_path), cwd=REPO, env=CHILD_ENV,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (root / "pass-started").exists():  # waiting for a process, not for a schedule
        assert child.poll() is None, child.communicate()
        assert time.monotonic() < deadline, "the child never started its pass"
        time.sleep(0.02)
    return child, root


def wait_for_log(child: subprocess.Popen[str], text: str) -> None:
    assert child.stderr is not None
    deadline = time.monotonic() + 30
    while text not in (line := child.stderr.readline()):
        assert line and time.monotonic() < deadline, f"the child never logged {text!r}"


def written(root: Path) -> list[str]:
    import sqlite3

    with sqlite3.connect(root / "pass-output.db") as db:
        return [row[0] for row in db.execute("SELECT period FROM written ORDER BY period")]


def test_sigterm_during_a_pass_lets_it_commit_and_exits_0(tmp_path: Path) -> None:
    child, root = start_child(tmp_path)
    child.send_signal(signal.SIGTERM)
    wait_for_log(child, "SIGTERM: stopping after the running pass")
    out, err = child.communicate(input="release\n", timeout=60)
    assert child.returncode == 0, err
    lines = out.splitlines()
    assert lines[:2] == ["stopped on SIGTERM; no pass was left half-done",
                         "ran: daily 2022-11-19"]
    assert lines[2].startswith("late (more than 6 h after due): daily 2022-11-19 (")
    assert len(lines) == 3
    assert "stop requested: not starting daily 2022-11-20" in err
    assert written(root) == ["2022-11-19"]  # committed; the next period never started
    assert read_state(Workspace(root))["last"]["daily"]["period_key"] == "2022-11-19"


def test_a_second_signal_exits_at_once_the_pass_rolls_back_and_runs_again(
        tmp_path: Path) -> None:
    child, root = start_child(tmp_path)
    child.send_signal(signal.SIGINT)
    wait_for_log(child, "SIGINT: stopping after the running pass")
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=60)  # stdin stays open: the pass is still blocked when the process ends
    assert child.stderr is not None
    err = child.stderr.read()
    assert child.returncode == 1
    assert "SIGTERM again: exiting now; a running pass is rolled back" in err
    assert written(root) == []
    # restarted, it runs the killed period again, then the next, once each
    again = subprocess.run(child_command(tmp_path, "--once"), cwd=REPO, env=CHILD_ENV,
                           input="go\ngo\n", capture_output=True, text=True, timeout=60,
                           check=False)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[:2] == ["caught up", "ran: daily 2022-11-19, daily 2022-11-20"]
    assert written(root) == ["2022-11-19", "2022-11-20"]


# --- the real passes engine ---------------------------------------------------------------------

def real_passes() -> Any:
    return pytest.importorskip("kfworkflow.engine.passes",
                               reason="the passes engine (kfworkflow.engine.passes) has not "
                                      "landed yet")


def run_two_schedulers(root: Path, url: str) -> list[PassScheduler]:
    schedulers = [PassScheduler(Workspace(root, db=url, actor=f"scheduler-{i}",
                                          clock=MovableClock(MONDAY_10_CST)),
                                wait=Waits()) for i in range(2)]
    start = threading.Barrier(2)

    def run(scheduler: PassScheduler) -> None:
        start.wait()
        while scheduler.catch_up():
            pass

    threads = [threading.Thread(target=run, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    return schedulers


def assert_each_period_ran_once(schedulers: list[PassScheduler]
                                ) -> list[scheduling.RunRecord]:
    ran = [(r.kind, r.period_key) for s in schedulers for r in s.report.records
           if r.status == "succeeded"]
    assert ran and len(ran) == len(set(ran))
    assert not [r for s in schedulers for r in s.report.records if r.status == "failed"]
    assert schedulers[0].due_now(MONDAY_10_CST) == []
    runs = schedulers[0].engine.list_runs(schedulers[0].workspace)
    assert runs is not None
    keys = [(r["kind"], r["period"]) for r in runs if r["status"] == "succeeded"]
    assert sorted(keys) == sorted(ran)  # the pass ledger: each period once
    return [r for s in schedulers for r in s.report.records]


def publish_rules(root: Path, url: str) -> None:
    result = subprocess.run([sys.executable, "-m", "kfworkflow.cli.main", "-w", str(root),
                             "--db", url, "rules", "publish", "--effective-from", "2022-11-01"],
                            cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_real_passes_on_sqlite_two_schedulers_run_each_period_once(tmp_path: Path) -> None:
    real_passes()
    root = tmp_path / "real"
    url = f"sqlite:///{tmp_path / 'real.db'}"
    init_workspace(root, db=url)
    publish_rules(root, url)
    assert_each_period_ran_once(run_two_schedulers(root, url))


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # conftest skips without a URL
def test_real_passes_on_postgresql_two_schedulers_run_each_period_once(
        tmp_path: Path, db_url: str) -> None:
    real_passes()
    root = tmp_path / "real"
    init_workspace(root, db=db_url)
    publish_rules(root, db_url)
    assert_each_period_ran_once(run_two_schedulers(root, db_url))
