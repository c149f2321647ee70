"""Daily reports (日调度), problems and valid reasons."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from helpers import HEADERS, LEDGER_TABLES, count, ledger_row, run_cli, snapshot, write_csv
from sqlalchemy import select

from kfworkflow.engine.imports import import_daily, import_ledger
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import ImportRejectedError
from kfworkflow.storage.db import read_session
from kfworkflow.storage.models import DailyReport, Problem, Project

DAILY = ["项目代码", "填报日期", "累计完成投资(万元)", "累计到位资金(万元)", "里程碑", "里程碑日期",
         "问题类型", "协调层级", "问题描述"]


@pytest.fixture
def ledger(workspace: Workspace, tmp_path: Path) -> Workspace:
    import_ledger(workspace, write_csv(tmp_path / "ledger.csv", HEADERS, [
        ledger_row("C1"), ledger_row("C2", county="杞县")]))
    return workspace


def test_import_reports_milestones_and_problems_then_reimport_is_a_no_op(
        ledger: Workspace, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", DAILY, [
        ["C1", "2022-11-17", "1,200", "800", "开工", "2022-11-16", "", "", ""],
        ["C2", "2022-11-17", "300", "", "", "", "要素资源", "市级", "用地指标未落实"],
    ])
    outcome = import_daily(ledger, path)
    r = outcome.result
    assert (r.reports, r.milestones, r.problems, r.counties) == (2, 1, 1, ["lankao", "qixian"])
    before = snapshot(ledger.engine, LEDGER_TABLES)
    again = import_daily(ledger, path).result
    assert (again.reports, again.unchanged, again.milestones, again.problems) == (0, 2, 0, 0)
    assert snapshot(ledger.engine, LEDGER_TABLES) == before
    with read_session(ledger.engine) as session:
        c1 = session.execute(select(Project).where(Project.code == "C1")).scalar_one()
        problem = session.execute(select(Problem)).scalar_one()
    assert (c1.state, str(c1.state_on)) == ("started", "2022-11-16")
    assert (problem.type, problem.level, problem.title) == ("resources", "city", "用地指标未落实")


def test_a_late_report_for_a_past_date_is_kept_beside_the_first(ledger: Workspace,
                                                                tmp_path: Path) -> None:
    import_daily(ledger, write_csv(tmp_path / "a.csv", DAILY,
                                   [["C1", "2022-11-17", "100", "", "", "", "", "", ""]]))
    import_daily(ledger, write_csv(tmp_path / "b.csv", DAILY,
                                   [["C1", "2022-11-17", "150", "", "", "", "", "", ""]]))
    with read_session(ledger.engine) as session:
        rows = list(session.execute(select(DailyReport).order_by(DailyReport.id)).scalars())
    assert [(str(r.report_on), r.completed_investment, r.source) for r in rows] == [
        ("2022-11-17", 100.0, "a.csv"), ("2022-11-17", 150.0, "b.csv")]


@pytest.mark.parametrize(("rows", "expected"), [
    ([["NOPE", "2022-11-17", "1", "", "", "", "", "", ""]],
     "2 [column A 项目代码]: KFW-L014 unknown project code NOPE"),
    ([["C1", "2022-11-17", "1", "", "竣工", "", "", "", ""]],
     "2 [column E 里程碑]: KFW-L010 completed (竣工) cannot follow planned"),
    ([["C1", "2022-11-17", "1", "", "", "", "天气", "县级", "下雨"]],
     "2 [column G 问题类型]: KFW-L012 unknown problem type '天气'"),
    ([["C1", "2022/11/31", "1", "", "", "", "", "", ""]],
     "2 [column B 填报日期]: KFW-L006 '2022/11/31' is not valid"),
    ([["C1", "2022-11-17", "1", "", "开工", "2022-11-18", "", "", ""],
      ["C1", "2022-11-18", "2", "", "竣工", "2022-11-17", "", "", ""]],
     "3 [column E 里程碑]: KFW-L010 竣工 (completed) dated 2022-11-17 is before the previous "
     "milestone 开工 (started) on 2022-11-18"),
])
def test_bad_daily_rows_refuse_the_file(ledger: Workspace, tmp_path: Path,
                                        rows: list[list[str]], expected: str) -> None:
    path = write_csv(tmp_path / "bad.csv", DAILY, rows)
    before = snapshot(ledger.engine, LEDGER_TABLES)
    with pytest.raises(ImportRejectedError) as info:
        import_daily(ledger, path)
    messages = [str(f) for f in info.value.findings]
    assert any(m.startswith(f"{path}:{expected}") for m in messages), messages
    assert snapshot(ledger.engine, LEDGER_TABLES) == before


def _cli(workspace: Workspace, capsys: pytest.CaptureFixture[str], *args: str):
    return run_cli(capsys, "-w", str(workspace.root), "--db", workspace.db or "", *args)


def test_problem_and_exempt_commands(ledger: Workspace, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    opened = _cli(ledger, capsys, "problem", "open", "C1", "--type", "前期手续", "--level", "省级",
                  "--title", "环评批复未下达", "--on", "2022-11-18", "--json")
    assert opened.exit_code == 0, opened.err
    listed = _cli(ledger, capsys, "problem", "list", "--status", "open", "--json")
    assert '"level": "province"' in listed.out and '"type": "procedures"' in listed.out
    resolved = _cli(ledger, capsys, "problem", "resolve", "1", "--note", "已批复", "--on",
                    "2022-11-25")
    assert resolved.out.strip() == "problem 1 resolved"
    again = _cli(ledger, capsys, "problem", "resolve", "1", "--note", "x")
    assert again.exit_code == 1 and again.err.startswith("Error: problem 1 is already resolved")
    exempt = _cli(ledger, capsys, "exempt", "C1", "--reason", "冬季停工期", "--from", "2022-11-20",
                  "--until", "2022-12-31")
    assert exempt.out.strip() == "valid reason 1 recorded for C1 until 2022-12-31"
    ended = _cli(ledger, capsys, "exempt", "end", "C1", "--on", "2022-12-01")
    assert ended.out.strip() == "ended 1 valid reason(s) for C1"
    none_left = _cli(ledger, capsys, "exempt", "end", "C1", "--on", "2022-12-02")
    assert none_left.exit_code == 1
    assert "C1 has no valid reason in force on 2022-12-02" in none_left.err


def _import_in_process(root: str, db: str, path: str) -> None:
    workspace = Workspace(Path(root), db=db, actor="worker")
    import_daily(workspace, Path(path))


@pytest.mark.postgres
def test_two_processes_importing_at_once_lose_nothing(ledger: Workspace, tmp_path: Path) -> None:
    if not (ledger.db or "").startswith("postgresql"):
        pytest.skip("concurrency of two writers is checked on PostgreSQL")
    files = []
    for n in range(2):
        rows = [[code, f"2022-11-{day:02d}", str(day * 10 + n), "", "", "", "", "", ""]
                for code in ("C1", "C2") for day in range(1, 20)]
        files.append(write_csv(tmp_path / f"p{n}.csv", DAILY, rows))
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_import_in_process,
                         args=(str(ledger.root), ledger.db, str(f))) for f in files]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert count(ledger.engine, "daily_report") == 2 * 2 * 19
