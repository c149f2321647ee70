"""what-if: recorded passes under stricter rules; hypothetical, and the log is left untouched.

Recorded under "red after 5 working days late"; the other rules say "red after 2". Working
days late (2022-09-12 is 中秋, a holiday):
- P1 (杞县, planned 09-01): 8 on 09-14, 9 on 09-15 — red under both;
- P2 (杞县, planned 09-09): 2 on 09-14 (yellow under both), 3 on 09-15 (red under the other);
- P3 (通许县, planned 09-08): 3 on 09-14, 4 on 09-15 — red under the other both days.
So 3 differences: 杞县 1, 通许县 2; start_late_yellow fires 4 → 1 times, start_late_red 2 → 5.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from helpers import run_cli
from test_audit_fixtures import (
    add_project,
    compile_text,
    dump,
    project_facts,
    publish,
    rules_text,
    run_pass,
)

from kfworkflow.audit.whatif import what_if
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import InputError, NotFoundError
from kfworkflow.storage.db import read_session


@pytest.fixture
def recorded(workspace: Workspace) -> Workspace:
    ruleset = publish(workspace, red=5)
    for code, county in (("P1", "qixian"), ("P2", "qixian"), ("P3", "tongxu")):
        add_project(workspace, code, county)  # the rules do not read county: the ledger tells
    subjects = [project_facts("P1"), project_facts("P2", planned=date(2022, 9, 9)),
                project_facts("P3", planned=date(2022, 9, 8), county="tongxu",
                              county_name="通许县")]
    run_pass(workspace, ruleset, "daily", date(2022, 9, 14), subjects)
    run_pass(workspace, ruleset, "daily", date(2022, 9, 15), subjects)
    return workspace


@pytest.fixture
def stricter(tmp_path: Path) -> Path:
    folder = tmp_path / "stricter"
    folder.mkdir()
    (folder / "audit.yaml").write_text(rules_text(2), encoding="utf-8")
    return folder


def cli(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "-w", str(ws.root), "--db", ws.db_url, "audit", *args)


def test_stricter_rules_show_the_differences_per_rule_and_county(recorded: Workspace) -> None:
    ruleset = compile_text(rules_text(2), recorded.policies)
    with read_session(recorded.ready_engine()) as session:
        report = what_if(session, ruleset, recorded.calendar, date(2022, 9, 1),
                         date(2022, 9, 30))
    assert (report.passes, report.subjects, report.differing_subjects, report.differences) == (
        2, 6, 3, 3)
    assert [(d.as_of, d.subject_key, d.county, d.effect, d.recorded, d.recorded_rule,
             d.hypothetical, d.hypothetical_rule) for d in report.shown] == [
        (date(2022, 9, 14), "P3", "tongxu", "light.start", "yellow", "start_late_yellow", "red",
         "start_late_red"),
        (date(2022, 9, 15), "P2", "qixian", "light.start", "yellow", "start_late_yellow", "red",
         "start_late_red"),
        (date(2022, 9, 15), "P3", "tongxu", "light.start", "yellow", "start_late_yellow", "red",
         "start_late_red"),
    ]
    assert report.by_rule() == [
        {"rule": "start_late_red", "recorded": 2, "hypothetical": 5, "change": 3,
         "differences": 3},
        {"rule": "start_late_yellow", "recorded": 4, "hypothetical": 1, "change": -3,
         "differences": 3},
    ]
    assert report.by_county() == [
        {"county": "qixian", "differences": 1, "effects": {"light.start": 1}},
        {"county": "tongxu", "differences": 2, "effects": {"light.start": 2}},
    ]
    assert dict(report.missing_facts) == {}


def test_what_if_writes_nothing(recorded: Workspace, stricter: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    before = dump(recorded.engine)
    result = cli(recorded, capsys, "what-if", "--rules", str(stricter), "--from", "2022-09-01",
                 "--to", "2022-09-30")
    assert result.exit_code == 0
    assert dump(recorded.engine) == before
    lines = result.out.splitlines()
    assert lines[0].startswith(f"HYPOTHETICAL — rules {stricter} (revision ")
    assert lines[0].endswith("applied to the recorded passes from 2022-09-01 to 2022-09-30; "
                             "nothing was written")
    assert lines[1] == "2 pass(es), 6 subject evaluation(s), 3 would differ (3 effect(s))"
    assert "tongxu  2            light.start 2" in result.out
    assert lines[-1].startswith("limits: only subjects that a recorded rule decided about")
    data = json.loads(cli(recorded, capsys, "what-if", "--rules", str(stricter), "--from",
                          "2022-09-01", "--to", "2022-09-30", "--json").out)
    assert data["hypothetical"] is True and data["differences"] == 3
    assert dump(recorded.engine) == before


def test_the_same_rules_change_nothing(recorded: Workspace) -> None:
    ruleset = compile_text(rules_text(5), recorded.policies)
    with read_session(recorded.ready_engine()) as session:
        report = what_if(session, ruleset, recorded.calendar, date(2022, 9, 14),
                         date(2022, 9, 14))
    assert (report.passes, report.subjects, report.differences) == (1, 3, 0)


def test_facts_the_log_does_not_hold_are_counted_and_mark_differences_uncertain(
        recorded: Workspace) -> None:
    """owner_unit was never read, so it is none: P1's red rule cannot hold (2 passes)."""
    other = rules_text(5).replace("when: late > 5", "when: late > 5 and owner_unit is not none")
    ruleset = compile_text(other, recorded.policies)
    with read_session(recorded.ready_engine()) as session:
        report = what_if(session, ruleset, recorded.calendar, date(2022, 9, 14),
                         date(2022, 9, 15))
    assert report.missing_facts["owner_unit"] == 6
    assert [(d.subject_key, d.recorded, d.hypothetical, d.uncertain) for d in report.shown] == [
        ("P1", "red", "yellow", True), ("P1", "red", "yellow", True)]
    assert report.uncertain == report.differences == 2


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--from", "2022-09-30", "--to", "2022-09-01"), 1,
     "Error: empty date range: --from 2022-09-30 is after --to 2022-09-01"),
    (("--from", "2023-01-01", "--to", "2023-01-31"), 1,
     "Error: no successful pass runs recorded from 2023-01-01 to 2023-01-31"),
])
def test_bad_what_if_input_is_a_clear_error(
        recorded: Workspace, stricter: Path, capsys: pytest.CaptureFixture[str],
        args: tuple[str, ...], code: int, message: str) -> None:
    result = cli(recorded, capsys, "what-if", "--rules", str(stricter), *args)
    assert (result.exit_code, message in result.err) == (code, True)
    assert "Traceback" not in result.err


def test_invalid_other_rules_are_reported(recorded: Workspace, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "audit.yaml").write_text(rules_text(2).replace("late > 2", "late >"),
                                       encoding="utf-8")
    result = cli(recorded, capsys, "what-if", "--rules", str(folder), "--from", "2022-09-01",
                 "--to", "2022-09-30")
    assert result.exit_code == 3
    assert "KFW-E001" in result.err


def test_errors_are_typed(recorded: Workspace) -> None:
    ruleset = compile_text(rules_text(2), recorded.policies)
    with read_session(recorded.ready_engine()) as session:
        with pytest.raises(InputError):
            what_if(session, ruleset, recorded.calendar, date(2022, 9, 2), date(2022, 9, 1))
        with pytest.raises(NotFoundError):
            what_if(session, ruleset, recorded.calendar, date(2021, 1, 1), date(2021, 1, 2))
