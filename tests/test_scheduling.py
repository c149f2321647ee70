"""The scheduler: catch-up in order, retries, never twice, a clean stop, its status.

Times are worked out by hand. Asia/Shanghai is UTC+8 all year: the default daily pass
("0 18 * * *") fires at 10:00 UTC, the weekly ("0 9 * * mon") on Mondays at 01:00 UTC, the
monthly ("0 9 1 * *") on the 1st at 01:00 UTC. 2022-11-21 is a Monday (ISO week 47).
"""

from __future__ import annotations

import logging
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from kfworkflow import scheduling
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import ConfigError
from kfworkflow.scheduling import (
    PassScheduler,
    RetryPolicy,
    read_state,
    status_overview,
)
from tests.scheduling_fakes import (
    MONDAY_10_CST,
    FakePasses,
    MovableClock,
    Waits,
    scheduler_for,
    summary,
    utc,
)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """A workspace folder (the fake engine needs no database)."""
    root = tmp_path / "ws"
    root.mkdir()
    return Workspace(root, db=f"sqlite:///{tmp_path / 'unused.db'}", actor="tester",
                     clock=MovableClock(MONDAY_10_CST))



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
