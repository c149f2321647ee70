"""kfw rules diff: what a candidate rule set would change, with nothing written."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from helpers import HEADERS, ledger_row, run_cli, snapshot, write_csv

from kfworkflow.engine.imports import import_ledger
from kfworkflow.engine.passes import run_pass
from kfworkflow.engine.workspace import Workspace

TABLES = ("project", "pass_run", "decision", "subject_light", "assignment", "assignment_event",
          "metric_snapshot", "rule_version")


def test_diff_lists_the_changed_decision_and_writes_nothing(
        workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("-w", str(workspace.root), "--db", workspace.db or "", "--actor", "tester")
    assert run_cli(capsys, *args, "rules", "publish", "--effective-from", "2022-11-14"
                   ).exit_code == 0
    import_ledger(workspace, write_csv(tmp_path / "l.csv", HEADERS, [
        ledger_row("LATE-1", planned_start="2022-11-15"),
        ledger_row("EARLY-1", planned_start="2022-12-20")]))
    run_pass(workspace, "daily", date(2022, 11, 21))
    strict = tmp_path / "strict" / "rules"
    shutil.copytree(workspace.root / "rules", strict)
    shutil.copy(workspace.root / "policies.yaml", strict.parent / "policies.yaml")
    lights = strict / "lights.yaml"
    lights.write_text(lights.read_text(encoding="utf-8").replace("when: late > 5",
                                                                 "when: late > 2"),
                      encoding="utf-8")
    before = snapshot(workspace.engine, TABLES)
    result = run_cli(capsys, *args, "rules", "diff", str(strict), "--as-of", "2022-11-21",
                     "--pass", "daily", "--json")
    assert result.exit_code == 0, result.err
    report = json.loads(result.out)
    assert (report["added"], report["removed"], report["changed"]) == (0, 0, 1)
    change = report["changes"][0]
    assert (change["subject"], change["county"]) == ("LATE-1", "lankao")
    assert change["before"]["rule_id"] == "start_late_yellow"
    assert change["after"]["rule_id"] == "start_late_red"
    # 2022-11-15 → 2022-11-21: the 16th, 17th, 18th and 21st are working days
    assert change["after"]["reason"] == "计划开工日期 2022-11-15 已过 4 个工作日仍未开工"
    assert report["by_rule"] == {"start_late_red": {"changed": 1}}
    assert snapshot(workspace.engine, TABLES) == before


def test_publish_refuses_to_apply_to_dates_already_decided(
        workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("-w", str(workspace.root), "--db", workspace.db or "", "--actor", "tester")
    assert run_cli(capsys, *args, "rules", "publish", "--effective-from", "2022-11-14"
                   ).exit_code == 0
    import_ledger(workspace, write_csv(tmp_path / "l.csv", HEADERS, [ledger_row("P-1")]))
    run_pass(workspace, "daily", date(2022, 11, 21))
    before = snapshot(workspace.engine, TABLES)
    refused = run_cli(capsys, *args, "rules", "publish", "--effective-from", "2022-11-21")
    assert refused.exit_code == 1
    assert refused.err.startswith(
        "Error: --effective-from 2022-11-21 is on or before 2022-11-21, the date of a pass "
        "already run; a new rule version cannot apply retroactively (不以新政策溯及既往). "
        "Publish with --effective-from 2022-11-22 or later")
    assert snapshot(workspace.engine, TABLES) == before
    assert run_cli(capsys, *args, "rules", "publish", "--effective-from", "2022-11-22"
                   ).exit_code == 0
