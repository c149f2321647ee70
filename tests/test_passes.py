"""Passes: idempotency by period, re-runs, crashes, concurrency, catch-up, metrics, CLI.

The ledger and rules here are the six-week scenario's (``test_scenario.py`` asserts the story;
these tests assert the engine's guarantees); its builders are in ``pass_scenario.py``.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from helpers import run_cli
from pass_scenario import (
    build_ledger,
    counts,
    periods,
    publish_rules,
    run_all,
    set_day,
    state_of,
)
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import col

from kfworkflow.engine import pass_lock, passes
from kfworkflow.engine.passes import (
    catch_up,
    due_periods,
    list_runs,
    period_key,
    run_pass,
)
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import InputError, NotFoundError, PassBusyError
from kfworkflow.storage.engine_models import (
    Assignment,
    MetricSnapshot,
    PassRun,
    Ranking,
    RuleStreak,
)


@pytest.fixture
def ledger(workspace: Workspace) -> Workspace:
    publish_rules(workspace)
    build_ledger(workspace)
    return workspace


# --- periods ----------------------------------------------------------------------------------


def test_period_keys() -> None:
    assert period_key("daily", date(2022, 11, 21)) == "2022-11-21"
    assert period_key("weekly", date(2022, 11, 21)) == "2022-W47"
    assert period_key("weekly", date(2022, 11, 27)) == "2022-W47"  # Sunday: same ISO week
    assert period_key("weekly", date(2023, 1, 1)) == "2022-W52"  # ISO year of 2023-01-01
    # a monthly pass ranks the month before its date's: the run of 12-01 is November's
    assert period_key("monthly", date(2022, 12, 1)) == "2022-11"
    assert period_key("monthly", date(2023, 1, 1)) == "2022-12"
    assert period_key("monthly", date(2022, 11, 30)) == "2022-10"  # a late run of October
    with pytest.raises(InputError, match="unknown pass kind 'hourly'; expected one of daily, "
                                         "weekly, monthly"):
        period_key("hourly", date(2022, 11, 21))


def test_scheduled_periods_count_the_holiday_and_make_up_days() -> None:
    got = periods(date(2022, 10, 10))
    assert got == [
        ("daily", date(2022, 9, 26)), ("weekly", date(2022, 9, 26)),
        ("daily", date(2022, 9, 27)), ("daily", date(2022, 9, 28)),
        ("daily", date(2022, 9, 29)), ("daily", date(2022, 9, 30)),
        ("monthly", date(2022, 10, 1)), ("weekly", date(2022, 10, 3)),
        ("daily", date(2022, 10, 8)), ("daily", date(2022, 10, 9)),  # 调休上班 Sat, Sun
        ("daily", date(2022, 10, 10)), ("weekly", date(2022, 10, 10)),
    ]


# --- running, idempotency, re-runs ------------------------------------------------------------


def test_daily_pass_writes_decisions_lights_snapshots_and_the_run(ledger: Workspace) -> None:
    result = run_pass(ledger, "daily", date(2022, 9, 27))
    assert result.status == "succeeded"
    assert result.period_key == "2022-09-27"
    # 30 start lights + 3 county report lights; every subject also gets an overall light
    assert result.counts == {"decisions": 33, "lights": 66, "snapshots": 10,
                             "subjects_county": 3, "subjects_project": 30}
    assert result.message == ("ran daily pass 2022-09-27 as of 2022-09-27: 33 decisions")
    runs = list_runs(ledger)
    assert [(r["kind"], r["period"], r["status"], r["counts"]["decisions"]) for r in runs] == [
        ("daily", "2022-09-27", "succeeded", 33)]
    assert runs[0]["revision"] == result.revision
    assert runs[0]["calendar_version"] == ledger.calendar.version
    assert runs[0]["actor"] == "tester"
    assert runs[0]["duration_ms"] >= 0


def test_same_period_again_changes_nothing(ledger: Workspace) -> None:
    first = run_pass(ledger, "weekly", date(2022, 9, 26))
    before = counts(ledger.engine)
    again = run_pass(ledger, "weekly", date(2022, 9, 28))  # same ISO week 2022-W39
    assert again.status == "already_done"
    assert again.run_id == first.run_id
    assert again.message == ("weekly pass 2022-W39 already done (run 1, as of 2022-09-26); "
                             "nothing changed — use --rerun to run it again")
    assert counts(ledger.engine) == before


def test_a_pass_collects_garbage_less_often_and_restores_the_thresholds(
        ledger: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, int, int]] = []
    original = passes._PassRun.execute

    def spy(self: Any) -> dict[str, int]:
        seen.append(gc.get_threshold())
        return original(self)

    monkeypatch.setattr(passes._PassRun, "execute", spy)
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    try:
        assert run_pass(ledger, "weekly", date(2022, 9, 26)).status == "succeeded"
        assert seen == [(20_000, 10, 10)]
        assert gc.get_threshold() == (700, 10, 10)
        monkeypatch.setattr(passes._PassRun, "execute", lambda self: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            run_pass(ledger, "weekly", date(2022, 10, 3))
        assert gc.get_threshold() == (700, 10, 10)  # restored when a pass fails too
    finally:
        gc.set_threshold(*before)


def test_rerun_supersedes_and_never_duplicates_or_escalates_twice(ledger: Workspace) -> None:
    run_all(ledger, date(2022, 10, 10))  # W41 escalates the city problem to the province
    before = state_of(ledger.engine)
    with ledger.engine.connect() as conn:
        old = conn.execute(select(col(PassRun.id)).where(
            col(PassRun.period_key) == "2022-W41")).scalar_one()
    rerun = run_pass(ledger, "weekly", date(2022, 10, 10), rerun=True)
    assert rerun.status == "succeeded"
    assert rerun.supersedes_id == old
    assert rerun.counts.get("escalated", 0) == 0
    assert rerun.counts.get("assignments_created", 0) == 0
    assert rerun.message.startswith(f"re-ran (superseding run {old}) weekly pass 2022-W41")
    statuses = {r["id"]: r["status"] for r in list_runs(ledger, kind="weekly")}
    assert statuses[old] == "superseded" and statuses[rerun.run_id] == "succeeded"
    assert state_of(ledger.engine) == before


def test_rerun_of_a_daily_pass_keeps_lights_and_streaks(ledger: Workspace) -> None:
    run_all(ledger, date(2022, 9, 30))
    before = state_of(ledger.engine)
    for day in (date(2022, 9, 28), date(2022, 9, 30)):
        run_pass(ledger, "daily", day, rerun=True)
    assert state_of(ledger.engine) == before
    run_pass(ledger, "weekly", date(2022, 10, 3))
    with ledger.engine.connect() as conn:
        routed = [r.subject_key for r in conn.execute(select(Assignment).where(
            col(Assignment.rule_id) == "start_red_3"))]
    assert routed == ["Q01", "L01"]


# --- crashes ----------------------------------------------------------------------------------


def test_failure_mid_pass_leaves_nothing_and_the_next_run_completes(
        ledger: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    run_all(ledger, date(2022, 10, 3))
    before = counts(ledger.engine)

    def boom(self: Any, *args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(passes._PassRun, "_write_streaks", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        run_pass(ledger, "daily", date(2022, 10, 8))
    after = counts(ledger.engine)
    assert after == {**before, "pass_run": before["pass_run"] + 1}
    failed = list_runs(ledger, limit=1)[0]
    assert (failed["kind"], failed["period"], failed["status"], failed["error"]) == (
        "daily", "2022-10-08", "failed", "RuntimeError: disk full")
    monkeypatch.undo()
    result = run_pass(ledger, "daily", date(2022, 10, 8))
    assert result.status == "succeeded" and result.counts["decisions"] == 33


CRASH_SCRIPT = textwrap.dedent("""
    import sys, time
    from datetime import date
    from pathlib import Path
    from kfworkflow.engine import passes
    from kfworkflow.engine.workspace import Workspace, init_workspace

    original = passes._PassRun._write_lights

    def slow(self, *args):
        out = original(self, *args)
        self.session.flush()
        print("mid-pass", flush=True)
        time.sleep(60)
        return out

    passes._PassRun._write_lights = slow
    passes.run_pass(Workspace(Path(sys.argv[1]), db=sys.argv[2]), "weekly", date(2022, 10, 3))
""")


def test_a_killed_pass_leaves_nothing_and_running_again_completes(ledger: Workspace) -> None:
    run_all(ledger, date(2022, 9, 30))
    before = counts(ledger.engine)
    process = subprocess.Popen([sys.executable, "-c", CRASH_SCRIPT, str(ledger.root),
                                ledger.db_url], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "KFW_ACTOR": "crash"})
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "mid-pass"
    finally:
        process.kill()
        process.wait()
    ledger.engine.dispose()
    assert counts(ledger.engine) == before
    result = run_pass(ledger, "weekly", date(2022, 10, 3))
    assert result.status == "succeeded"
    assert result.counts["assignments_created"] == 2


# --- concurrency ------------------------------------------------------------------------------


@contextmanager
def holding_pass_lock(workspace: Workspace, kind: str, day: date) -> Iterator[None]:
    """Another process in the middle of the same pass: SQLite's write lock, PostgreSQL's
    advisory lock on the kind and period."""
    engine = workspace.engine
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        transaction = conn.begin()
        try:
            if engine.dialect.name != "sqlite":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": pass_lock.lock_key(kind, period_key(kind, day))})
            yield
        finally:
            transaction.rollback()
            conn.info.pop("sqlite_begin", None)


def test_the_same_period_running_elsewhere_is_refused(ledger: Workspace) -> None:
    run_all(ledger, date(2022, 9, 30))
    before = counts(ledger.engine)
    with holding_pass_lock(ledger, "weekly", date(2022, 10, 3)), \
            pytest.raises(PassBusyError, match=r"^the weekly pass for 2022-W40 is already "
                                               r"running"):
        run_pass(ledger, "weekly", date(2022, 10, 3))
    assert counts(ledger.engine) == before  # refused before writing, not even a failed run
    assert run_pass(ledger, "weekly", date(2022, 10, 3)).status == "succeeded"


def test_two_passes_started_at_once_one_runs_the_other_is_told(
        ledger: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    run_all(ledger, date(2022, 9, 30))
    original = passes._PassRun._write_lights
    entered = threading.Event()

    def slow(self: Any, *args: Any) -> Any:
        entered.set()
        time.sleep(pass_lock.SQLITE_BUSY_MS / 1000 + 1.5)
        return original(self, *args)

    monkeypatch.setattr(passes._PassRun, "_write_lights", slow)
    outcomes: list[str] = []

    def run() -> None:
        try:
            outcomes.append(run_pass(ledger, "daily", date(2022, 10, 8)).status)
        except PassBusyError as exc:
            outcomes.append(str(exc))

    first = threading.Thread(target=run)
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=run)
    second.start()
    second.join()
    first.join()
    assert outcomes[1] == "succeeded"
    assert outcomes[0].startswith("the daily pass for 2022-10-08 is already running")
    assert [r["status"] for r in list_runs(ledger, kind="daily")][:1] == ["succeeded"]
    assert len([r for r in list_runs(ledger) if r["period"] == "2022-10-08"]) == 1


# --- catch-up ---------------------------------------------------------------------------------


def test_catch_up_after_downtime_runs_the_missed_periods_in_date_order(
        ledger: Workspace) -> None:
    run_all(ledger, date(2022, 9, 30))
    set_day(ledger, date(2022, 10, 10))
    assert due_periods(ledger, date(2022, 10, 10)) == [
        ("monthly", date(2022, 10, 1)), ("weekly", date(2022, 10, 3)),
        ("daily", date(2022, 10, 8)), ("daily", date(2022, 10, 9)),
        ("daily", date(2022, 10, 10)), ("weekly", date(2022, 10, 10))]
    results = catch_up(ledger, date(2022, 10, 10))
    assert [(r.kind, r.period_key, r.status) for r in results] == [
        ("monthly", "2022-09", "succeeded"), ("weekly", "2022-W40", "succeeded"),
        ("daily", "2022-10-08", "succeeded"), ("daily", "2022-10-09", "succeeded"),
        ("daily", "2022-10-10", "succeeded"), ("weekly", "2022-W41", "succeeded")]
    assert catch_up(ledger, date(2022, 10, 10)) == []
    assert state_of(ledger.engine).runs == tuple(sorted(
        (kind, period_key(kind, day), day) for kind, day in periods(date(2022, 10, 10))))


def test_the_upgrade_keys_earlier_monthly_runs_by_the_month_they_rank(ledger: Workspace
                                                                      ) -> None:
    """Migration 0004: monthly runs made when their key was the month of the pass (10-01 →
    2022-10) are relabelled with the month they rank (2022-09), rankings and streaks too, so
    catch-up finds them done; the downgrade puts the old labels back."""
    from alembic import command

    from kfworkflow.storage import migrate

    run_all(ledger, date(2022, 11, 1))
    engine = ledger.engine

    def labels() -> list[tuple[str, date, list[str], list[str]]]:
        with engine.connect() as conn:
            runs = conn.execute(select(col(PassRun.id), col(PassRun.period_key),
                                       col(PassRun.as_of))
                                .where(col(PassRun.kind) == "monthly")
                                .order_by(col(PassRun.as_of))).all()
            return [(key, as_of,
                     sorted(set(conn.execute(select(col(Ranking.period)).where(
                         col(Ranking.pass_run_id) == run_id)).scalars())),
                     sorted(set(conn.execute(select(col(RuleStreak.last_period)).where(
                         col(RuleStreak.pass_run_id) == run_id)).scalars())))
                    for run_id, key, as_of in runs]

    assert labels() == [("2022-09", date(2022, 10, 1), ["2022-09"], ["2022-09"]),
                        ("2022-10", date(2022, 11, 1), ["2022-10"], ["2022-10"])]
    command.downgrade(migrate.alembic_config(engine), "0003")
    assert labels() == [("2022-10", date(2022, 10, 1), ["2022-10"], ["2022-10"]),
                        ("2022-11", date(2022, 11, 1), ["2022-11"], ["2022-11"])]
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == "0004"
    assert labels() == [("2022-09", date(2022, 10, 1), ["2022-09"], ["2022-09"]),
                        ("2022-10", date(2022, 11, 1), ["2022-10"], ["2022-10"])]
    set_day(ledger, date(2022, 11, 1))
    assert due_periods(ledger, date(2022, 11, 1)) == []


def test_catch_up_without_a_published_version_has_nothing_to_do(workspace: Workspace) -> None:
    assert due_periods(workspace, date(2022, 10, 10)) == []
    assert catch_up(workspace, date(2022, 10, 10)) == []
    with pytest.raises(NotFoundError, match=r"no rule version is in force on 2022-10-10; "
                                            r"publish one with `kfw rules publish "
                                            r"--effective-from 2022-10-10` \(or earlier\)"):
        run_pass(workspace, "daily", date(2022, 10, 10))
    assert [(r["status"], r["period"]) for r in list_runs(workspace)] == [
        ("failed", "2022-10-10")]


# --- metrics ----------------------------------------------------------------------------------


def snapshot(engine: Engine, day: date, scope_kind: str, key: str) -> dict[str, Any]:
    with engine.connect() as conn:
        found = conn.execute(
            select(col(MetricSnapshot.metrics))
            .join(PassRun, col(PassRun.id) == col(MetricSnapshot.pass_run_id))
            .where(col(PassRun.period_key) == day.isoformat(),
                   col(PassRun.status) == "succeeded",
                   col(MetricSnapshot.scope_kind) == scope_kind,
                   col(MetricSnapshot.scope_key) == key)).scalar_one()
    return dict(json.loads(found))


def test_daily_metrics_per_county_with_growth_and_pro_rata(ledger: Workspace) -> None:
    run_pass(ledger, "daily", date(2022, 10, 9))
    run_pass(ledger, "daily", date(2022, 10, 10))
    # 杞县 on 10-10: 10 projects, Q01 and Q02 due (planned 9-21) and not started; each reports
    # 960 of 1,200 (600 on 10-09); the 3 central-budget projects have 600 of 1,000 funds in
    # place; nothing is due to complete; Q01 is red, the rest green (Q02 has a valid reason).
    assert snapshot(ledger.engine, date(2022, 10, 10), "county", "qixian") == {
        "projects": 10, "due_to_start": 10, "started": 8, "due_to_complete": 0,
        "completed_on_time": 0, "planned_investment": 12000.0, "completed_investment": 9600.0,
        "planned_funds": 3000.0, "funds_arrived": 1800.0, "funds_disbursed": 0.0,
        "rates": {"start": 0.8, "funds_in_place": 0.6, "investment_completion": 0.8,
                  "on_time_completion": None, "disbursement": 0.0},
        "pro_rata": 10 / 12, "pp_vs_pro_rata": -3.3333,
        "growth": {"start": 0.0, "funds_in_place": 0.0, "investment_completion": 30.0,
                   "on_time_completion": None, "disbursement": 0.0},
        "counts": {"red": 1, "yellow": 0, "green": 9},
        "new": {"signed": 0, "started": 0, "in_production": 0},
        "reported": True, "missed_reports": 0,
    }
    total = snapshot(ledger.engine, date(2022, 10, 10), "total", "all")
    # all 30 due; Q01 and Q02 not started (L01 started that very day)
    assert (total["projects"], total["due_to_start"], total["started"]) == (30, 30, 28)
    assert total["not_reported"] == []
    category = snapshot(ledger.engine, date(2022, 10, 10), "category", "central_budget")
    assert category["funds_arrived"] == 3 * 600.0 + 3 * 800.0 + 3 * 600.0
    assert category["rates"]["funds_in_place"] == 6000.0 / 9000.0


def test_counties_that_did_not_report_are_named(ledger: Workspace) -> None:
    for day in (date(2022, 10, 19), date(2022, 10, 20), date(2022, 10, 21)):
        run_pass(ledger, "daily", day)
    total = snapshot(ledger.engine, date(2022, 10, 21), "total", "all")
    assert total["not_reported"] == ["tongxu"]
    county = snapshot(ledger.engine, date(2022, 10, 21), "county", "tongxu")
    assert (county["reported"], county["missed_reports"]) == (False, 2)
    with ledger.engine.connect() as conn:
        reasons = [r for (r,) in conn.execute(text(
            "SELECT reason FROM decision WHERE rule_id = 'report_missing' ORDER BY id"))]
    assert reasons == ["通许县 2022-10-20 未填报（连续 1 个工作日）",
                       "通许县 2022-10-21 未填报（连续 2 个工作日）"]


# --- CLI --------------------------------------------------------------------------------------


def cli(workspace: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    return run_cli(capsys, "-w", str(workspace.root), "--db", workspace.db_url, *args)


def test_cli_run_list_and_catch_up(ledger: Workspace, capsys: pytest.CaptureFixture[str]
                                   ) -> None:
    result = cli(ledger, capsys, "pass", "run", "daily", "--as-of", "2022-09-26", "--json")
    assert result.exit_code == 0, result.err
    data = json.loads(result.out)
    assert (data["kind"], data["period"], data["status"], data["counts"]["decisions"]) == (
        "daily", "2022-09-26", "succeeded", 33)
    again = cli(ledger, capsys, "pass", "run", "daily", "--as-of", "2022-09-26")
    assert again.exit_code == 0
    assert again.out.strip() == ("daily pass 2022-09-26 already done (run 1, as of "
                                 "2022-09-26); nothing changed — use --rerun to run it again")
    rerun = cli(ledger, capsys, "pass", "run", "daily", "--as-of", "2022-09-26", "--rerun")
    assert rerun.out.startswith("re-ran (superseding run 1) daily pass 2022-09-26")
    caught = cli(ledger, capsys, "pass", "catch-up", "--until", "2022-09-27", "--json")
    assert [(r["kind"], r["period"]) for r in json.loads(caught.out)] == [
        ("weekly", "2022-W39"), ("daily", "2022-09-27")]
    nothing = cli(ledger, capsys, "pass", "catch-up", "--until", "2022-09-27")
    assert nothing.out.strip() == "nothing to catch up: every period is done"
    listed = cli(ledger, capsys, "pass", "list", "--json")
    assert [(r["kind"], r["period"], r["status"]) for r in json.loads(listed.out)] == [
        ("daily", "2022-09-27", "succeeded"), ("weekly", "2022-W39", "succeeded"),
        ("daily", "2022-09-26", "succeeded"), ("daily", "2022-09-26", "superseded")]
    table = cli(ledger, capsys, "pass", "list", "--kind", "weekly")
    assert table.out.splitlines()[0].split() == ["id", "kind", "period", "as_of", "status",
                                                 "revision", "decisions", "ms", "supersedes",
                                                 "error"]


def test_cli_busy_exits_4(ledger: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    with holding_pass_lock(ledger, "daily", date(2022, 9, 26)):
        result = cli(ledger, capsys, "pass", "run", "daily", "--as-of", "2022-09-26")
    assert result.exit_code == 4
    assert result.err.startswith("Error: the daily pass for 2022-09-26 is already running")


def test_cli_rejects_an_unknown_kind(ledger: Workspace, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    result = cli(ledger, capsys, "pass", "run", "hourly")
    assert result.exit_code == 2
    assert "'hourly' is not one of 'daily', 'weekly', 'monthly'" in result.err
