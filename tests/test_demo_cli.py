"""``kfw demo`` end to end on a short campaign, on SQLite and PostgreSQL: every step reaches
the database given with ``--db`` (rules, passes, reports, audit), and the summary says so."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from helpers import run_cli
from sqlalchemy import create_engine, text


def test_a_short_demo_runs_every_step_on_the_given_database(
        tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    directory = tmp_path / "demo"
    scheduler_log = logging.getLogger("kfworkflow.scheduler")
    level = scheduler_log.level
    result = run_cli(capsys, "--db", db_url, "demo", "--dir", str(directory), "--quiet",
                     "--until", "2022-11-21")
    assert result.exit_code == 0, result.err
    assert scheduler_log.level == level  # the demo quiets the late-pass warnings only while it runs
    lines = result.out.splitlines()
    assert "调度 passes run: 8" in lines
    assert "审计 audit: verify ok, replay ok" in lines
    assert f"报告 report: {directory}/reports/weekly-2022-11-21.html" in lines
    assert any(line.startswith(f"  kfw -w {directory} --db {db_url} audit explain --project ")
               for line in lines)
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT kind, period_key FROM pass_run "
                                     "WHERE status = 'succeeded' ORDER BY id")).all()
            versions = conn.execute(text("SELECT count(*) FROM rule_version")).scalar_one()
            projects = conn.execute(text("SELECT count(*) FROM project")).scalar_one()
    finally:
        engine.dispose()
    # each day's catch-up runs what is due by 18:05, in the order it fell due: the weekly
    # list at 09:00 on Monday before that day's 18:00 dispatch
    assert [tuple(r) for r in runs] == [
        ("weekly", "2022-W46"), ("daily", "2022-11-14"), ("daily", "2022-11-15"),
        ("daily", "2022-11-16"), ("daily", "2022-11-17"), ("daily", "2022-11-18"),
        ("weekly", "2022-W47"), ("daily", "2022-11-21")]
    assert (versions, projects) == (1, 1404)
    explain = lines[-1].split("--project ")[1]
    shown = run_cli(capsys, "-w", str(directory), "--db", db_url, "audit", "explain",
                    "--project", explain, "--json")
    assert shown.exit_code == 0, shown.err
    assert json.loads(shown.out)


def test_the_demo_stops_when_its_rules_cannot_be_published(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kfworkflow.cli import demo_cmd

    real = demo_cmd._kfw
    monkeypatch.setattr(demo_cmd, "_kfw", lambda ws, *args: 1 if args[:2] == (
        "rules", "publish") else real(ws, *args))
    directory = tmp_path / "demo"
    result = run_cli(capsys, "demo", "--dir", str(directory), "--quiet", "--until",
                     "2022-11-14")
    assert result.exit_code == 1
    assert result.err.strip() == (
        f"Error: the demo could not publish its rules (run `kfw -w {directory} rules publish` "
        "to see why)")
    assert not (directory / "reports").exists()  # no pass ran, nothing was rendered


def test_the_demo_fails_when_its_audit_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kfworkflow.cli import demo_cmd

    monkeypatch.setattr(demo_cmd, "_audit", lambda ws, quiet: {"verify": False,
                                                               "replay": True})
    result = run_cli(capsys, "demo", "--dir", str(tmp_path / "demo"), "--quiet", "--until",
                     "2022-11-14")
    assert result.exit_code == 1
    assert "审计 audit: verify FAILED, replay ok" in result.out.splitlines()
    assert result.err.strip() == ("Error: the audit of the demo's decision log failed "
                                  "(see above)")


def test_the_demo_stops_at_the_first_pass_that_fails(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kfworkflow.engine import passes

    def broken(self: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(passes._PassRun, "execute", broken)
    directory = tmp_path / "demo"
    result = run_cli(capsys, "demo", "--dir", str(directory), "--quiet", "--until",
                     "2022-11-15")
    assert result.exit_code == 1
    # the first pass due is Monday's weekly list; no later day was simulated
    assert result.err.strip() == (
        "Error: the demo's weekly pass for 2022-W46 failed: RuntimeError: disk full "
        f"(run `kfw -w {directory} pass run weekly --as-of 2022-11-14` to see it again)")
    assert not (directory / "data" / "daily-2022-11-15.csv").exists()
    assert not (directory / "reports").exists()
