"""verify: an attacker with SQL access alters, deletes and inserts log rows; verify names the
first broken record each time (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from helpers import run_cli
from sqlalchemy.exc import DBAPIError
from test_audit_fixtures import (
    decision_row,
    drop_guards,
    execute,
    ids,
    project_facts,
    publish,
    rehash,
    run_pass,
)

from kfworkflow.audit.verify import ChainReport, verify_log
from kfworkflow.engine.workspace import Workspace
from kfworkflow.storage.db import read_session

DAYS = (date(2022, 9, 13), date(2022, 9, 14), date(2022, 9, 15), date(2022, 9, 16))


@pytest.fixture
def log(workspace: Workspace) -> Workspace:
    """Four daily passes over three projects: records 1–12, three per pass run."""
    ruleset = publish(workspace)
    for day in DAYS:
        run_pass(workspace, ruleset, "daily", day, [
            project_facts("P1"), project_facts("P2", planned=date(2022, 9, 12)),
            project_facts("P3", started=date(2022, 9, 2))])
    return workspace


def verify(ws: Workspace) -> ChainReport:
    with read_session(ws.ready_engine()) as session:
        return verify_log(session.connection())


def cli(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "-w", str(ws.root), "--db", ws.db_url, "audit", *args)


def test_an_untouched_log_verifies(log: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    report = verify(log)
    assert report.ok and report.checked == 12
    assert (report.first_id, report.last_id) == (1, 12)
    assert report.last_hash == decision_row(log.engine, 12)["hash"]
    result = cli(log, capsys, "verify")
    assert result.exit_code == 0
    assert result.out.startswith("ok: 12 record(s) chained; last record 12, hash ")
    data = json.loads(cli(log, capsys, "verify", "--json").out)
    assert data["ok"] is True and data["checked"] == 12 and data["break"] is None


def test_the_database_refuses_update_and_delete(log: Workspace) -> None:
    with pytest.raises(DBAPIError, match="append-only"):
        execute(log.engine, "UPDATE decision SET reason = 'x' WHERE id = 5")
    with pytest.raises(DBAPIError, match="append-only"):
        execute(log.engine, "DELETE FROM decision WHERE id = 5")


def test_an_altered_record_is_named(log: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    drop_guards(log.engine)
    stored = decision_row(log.engine, 5)
    execute(log.engine, "UPDATE decision SET reason = :r WHERE id = 5", r="已开工（改）")
    found = verify(log).first_break
    assert found is not None
    assert (found.kind, found.record_id, found.found) == ("altered", 5, stored["hash"])
    assert found.expected == rehash({**stored, "reason": "已开工（改）"})
    assert verify(log).checked == 4
    result = cli(log, capsys, "verify")
    assert result.exit_code == 3
    assert result.out.splitlines()[0] == "BROKEN at record 5 (altered)"
    assert f"found:    {stored['hash']}" in result.out
    assert "Error: the decision log is broken at record 5 (altered); 4 record(s) before it " \
           "verified" in result.err
    assert "decision:5: KFW-A001 record 5 was altered" in result.err


def test_the_hash_is_over_the_canonical_encoding_not_the_stored_text(log: Workspace) -> None:
    """Inputs re-written as equivalent but non-canonical JSON (spaces, other key order) still
    verify — the documented hash is over the canonical encoding of the values; a changed value
    does not."""
    drop_guards(log.engine)
    stored = decision_row(log.engine, 6)
    values = json.loads(stored["inputs"])
    spaced = json.dumps(dict(reversed(list(values.items()))), ensure_ascii=True, indent=1)
    assert spaced != stored["inputs"]
    execute(log.engine, "UPDATE decision SET inputs = :i WHERE id = 6", i=spaced)
    assert verify(log).ok
    changed = json.dumps({**values, "exempt": not values.get("exempt")})
    execute(log.engine, "UPDATE decision SET inputs = :i WHERE id = 6", i=changed)
    found = verify(log).first_break
    assert found is not None and (found.kind, found.record_id) == ("altered", 6)


@pytest.mark.parametrize(("column", "value"), [("inputs", "{not json"),
                                              ("outcome", "[1, 2"),
                                              ("as_of", "2022-13-45")])
def test_content_that_is_not_a_record_is_named_as_altered(
        log: Workspace, capsys: pytest.CaptureFixture[str], column: str, value: str) -> None:
    """Editing a field into something unreadable (not JSON, not a date) must not stop the
    walk: the record is named like any other alteration."""
    if column == "as_of" and log.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's date column refuses a date that does not exist")
    drop_guards(log.engine)
    stored = decision_row(log.engine, 5)
    execute(log.engine, f"UPDATE decision SET {column} = :v WHERE id = 5", v=value)
    found = verify(log).first_break
    assert found is not None
    assert (found.kind, found.record_id, found.found) == ("altered", 5, stored["hash"])
    result = cli(log, capsys, "verify", "--json")
    assert result.exit_code == 3
    data = json.loads(result.out)
    assert (data["ok"], data["checked"]) == (False, 4)
    assert (data["break"]["kind"], data["break"]["record"], data["break"]["found"]) == (
        "altered", 5, stored["hash"])
    assert data["findings"][0]["code"] == "KFW-A001"


def test_an_altered_and_rehashed_record_is_named(log: Workspace) -> None:
    drop_guards(log.engine)
    stored = decision_row(log.engine, 7)
    forged = {**stored, "outcome": json.dumps({"light": {"color": "green",
                                                         "dimension": "start"}})}
    execute(log.engine, "UPDATE decision SET outcome = :o, hash = :h WHERE id = 7",
            o=forged["outcome"], h=rehash(forged))
    report = verify(log)
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.record_id) == ("rehashed", 7)
    assert report.first_break.expected == stored["hash"]  # what record 8 still points to
    assert report.checked == 6


def test_a_deleted_record_is_named(log: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    drop_guards(log.engine)
    execute(log.engine, "DELETE FROM decision WHERE id = 6")
    found = verify(log).first_break
    assert found is not None
    assert (found.kind, found.record_id, found.missing) == ("deleted", 7, (6, 6))
    assert found.message.startswith("record 6 deleted: record 7 is chained to ")
    assert found.expected == decision_row(log.engine, 5)["hash"]
    result = cli(log, capsys, "verify", "--json")
    assert result.exit_code == 3
    error = json.loads(result.out)
    assert error["code"] == "AuditBreakError"
    assert error["findings"][0]["code"] == "KFW-A002"
    assert error["findings"][0]["line"] == 7


def test_deleting_several_records_and_the_first_one(log: Workspace) -> None:
    drop_guards(log.engine)
    execute(log.engine, "DELETE FROM decision WHERE id BETWEEN 4 AND 6")
    found = verify(log).first_break
    assert found is not None and (found.kind, found.record_id, found.missing) == (
        "deleted", 7, (4, 6))
    execute(log.engine, "DELETE FROM decision WHERE id = 1")
    found = verify(log).first_break
    assert found is not None and (found.kind, found.record_id) == ("deleted", 2)


def test_a_record_inserted_in_the_middle_is_named(log: Workspace) -> None:
    """The forger makes room at id 5 (every later id + 1) and chains a fake record to 4."""
    drop_guards(log.engine)
    before = decision_row(log.engine, 4)
    for record_id in range(12, 4, -1):
        execute(log.engine, "UPDATE decision SET id = :new WHERE id = :old", new=record_id + 1,
                old=record_id)
    fake = {**decision_row(log.engine, 6), "id": 5, "prev_hash": before["hash"],
            "subject_key": "P9", "pass_run_id": 2}
    fake["hash"] = rehash(fake)
    execute(log.engine, "INSERT INTO decision (id, format, pass_run_id, subject_kind, "
            "subject_key, as_of, rule_id, revision, calendar_version, inputs, outcome, reason, "
            "prev_hash, hash) VALUES (:id, :format, :pass_run_id, :subject_kind, :subject_key, "
            ":as_of, :rule_id, :revision, :calendar_version, :inputs, :outcome, :reason, "
            ":prev_hash, :hash)", **fake)
    report = verify(log)
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.record_id) == ("inserted", 5)
    assert report.first_break.message == (
        "record 5 was inserted: record 6 is chained to record 4, skipping it")
    assert report.checked == 4


def test_a_record_appended_for_an_old_pass_is_named(log: Workspace) -> None:
    """Chained correctly at the end, but it claims pass run 1, whose block ended at 3."""
    drop_guards(log.engine)
    last = decision_row(log.engine, 12)
    fake = {**decision_row(log.engine, 1), "id": 13, "prev_hash": last["hash"],
            "subject_key": "P9"}
    fake["hash"] = rehash(fake)
    execute(log.engine, "INSERT INTO decision (id, format, pass_run_id, subject_kind, "
            "subject_key, as_of, rule_id, revision, calendar_version, inputs, outcome, reason, "
            "prev_hash, hash) VALUES (:id, :format, :pass_run_id, :subject_kind, :subject_key, "
            ":as_of, :rule_id, :revision, :calendar_version, :inputs, :outcome, :reason, "
            ":prev_hash, :hash)", **fake)
    found = verify(log).first_break
    assert found is not None and (found.kind, found.record_id) == ("inserted", 13)
    assert "claims pass run 1" in found.message


def test_an_anchor_catches_records_cut_off_at_the_end(
        log: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "log.csv"
    assert cli(log, capsys, "export", "--format", "csv", "--out", str(out)).exit_code == 0
    anchor = str(tmp_path / "log.csv.manifest.json")
    assert cli(log, capsys, "verify", "--anchor", anchor).exit_code == 0
    drop_guards(log.engine)
    execute(log.engine, "DELETE FROM decision WHERE id >= 11")
    assert cli(log, capsys, "verify").exit_code == 0  # the chain alone cannot tell
    result = cli(log, capsys, "verify", "--anchor", anchor)
    assert result.exit_code == 3
    assert "the log ends at record 10 but the anchor records record 12" in result.out


def test_progress_is_reported(log: Workspace) -> None:
    totals: list[int] = []
    steps: list[int] = []
    with read_session(log.ready_engine()) as session:
        verify_log(session.connection(), total=totals.append, progress=steps.append)
    assert totals == [12] and sum(steps) == 12


def test_an_empty_log_verifies(workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    assert ids(workspace.engine) == []
    result = cli(workspace, capsys, "verify")
    assert (result.exit_code, result.out.strip()) == (0, "ok: the log is empty")
