"""The scheduler from the command line, under a real signal, and on the real passes engine.

Times are worked out by hand. Asia/Shanghai is UTC+8 all year: the default daily pass
("0 18 * * *") fires at 10:00 UTC, the weekly ("0 9 * * mon") on Mondays at 01:00 UTC, the
monthly ("0 9 1 * *") on the 1st at 01:00 UTC. 2022-11-21 is a Monday (ISO week 47).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from kfworkflow import scheduling
from kfworkflow.engine.workspace import Workspace, init_workspace
from kfworkflow.scheduling import (
    PassScheduler,
    passes_engine,
    read_state,
)
from kfworkflow.storage.db import write_session
from kfworkflow.storage.rule_store import publish
from kfworkflow.timefmt import SystemClock
from tests.conftest import REPO
from tests.helpers import run_cli
from tests.scheduling_fakes import (
    MONDAY_10_CST,
    FakePasses,
    MovableClock,
    Waits,
)

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
