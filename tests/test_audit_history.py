"""`kfw ledger history CODE` lists the project's decisions and assignment events in time order."""

from __future__ import annotations

import json

import pytest
from helpers import run_cli
from test_audit_explain import story  # noqa: F401  (the fixture)

from kfworkflow.engine.workspace import Workspace


def test_history_lists_decisions_and_assignments_in_time_order(
        story: Workspace, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    result = run_cli(capsys, "-w", str(story.root), "--db", story.db_url, "ledger", "history",
                     "P1", "--json")
    assert result.exit_code == 0, result.err
    items = [(i["on"], i["kind"], i["what"], i["source"]) for i in json.loads(result.out)]
    assert items == [
        ("2022-09-28", "decision", "#1 project P1 start_late_red: start=red",
         "pass daily 2022-09-28 #1"),
        ("2022-09-29", "decision", "#2 project P1 start_late_red: start=red",
         "pass daily 2022-09-29 #2"),
        ("2022-09-30", "decision", "#3 project P1 start_red_route: route county 杞县人民政府 by "
         "2022-10-10, action supervision_notice", "pass weekly 2022-09-30 #3"),
        ("2022-09-30", "assignment", "2022-W39-0001 - → new [county] 杞县人民政府, deadline "
         "2022-10-10", "pass weekly 2022-09-30 #3"),
        ("2022-10-17", "decision", "#4 assignment 2022-W39-0001 assignment_overdue: route city "
         "市发改委 by 2022-10-24, escalate", "pass weekly 2022-10-17 #4"),
    ]
    reasons = [i["reason"] for i in json.loads(result.out)]
    assert reasons[2] == "开工红灯连续 2 次，交杞县人民政府，2022-10-10 前办结"
    table = run_cli(capsys, "-w", str(story.root), "--db", story.db_url, "ledger", "history",
                    "P1")
    assert table.exit_code == 0
    assert "2022-09-30  assignment  2022-W39-0001 - → new [county] 杞县人民政府" in table.out
