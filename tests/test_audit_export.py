"""export and import-check: every format round-trips; truncation and edits are caught offline."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import pytest
from helpers import run_cli
from test_audit_fixtures import decision_row, project_facts, publish, run_pass

from kfworkflow.audit.export import check_export, write_export
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import AuditBreakError, InputError
from kfworkflow.storage.decision_log import GENESIS, record_hash


@pytest.fixture
def log(workspace: Workspace) -> Workspace:
    """Records 1–6: two daily passes over P1, P2 and P3."""
    ruleset = publish(workspace)
    for day in (date(2022, 9, 14), date(2022, 9, 15)):
        run_pass(workspace, ruleset, "daily", day, [
            project_facts("P1"), project_facts("P2", started=date(2022, 9, 2)),
            project_facts("P3", exempt=True)])
    return workspace


def cli(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "-w", str(ws.root), "--db", ws.db_url, "audit", *args)


def export(ws: Workspace, capsys: pytest.CaptureFixture[str], fmt: str, out: Path
           ) -> dict[str, object]:
    result = cli(ws, capsys, "export", "--format", fmt, "--out", str(out), "--json")
    assert result.exit_code == 0, result.err
    return json.loads(result.out)["manifest"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "xlsx"])
def test_every_format_round_trips(log: Workspace, tmp_path: Path, fmt: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / f"log.{fmt}"
    manifest = export(log, capsys, fmt, out)
    last = decision_row(log.engine, 6)
    assert manifest["count"] == 6
    assert (manifest["first_id"], manifest["last_id"]) == (1, 6)
    assert manifest["start_prev_hash"] == GENESIS
    assert manifest["first_hash"] == decision_row(log.engine, 1)["hash"]
    assert manifest["last_hash"] == last["hash"]
    assert manifest["revisions"] == [last["revision"]]
    assert manifest["calendar_versions"] == [log.calendar.version]
    assert (manifest["as_of_from"], manifest["as_of_to"]) == ("2022-09-14", "2022-09-15")
    assert (manifest["export_format"], manifest["log_formats"]) == (1, [1])
    result = cli(log, capsys, "import-check", str(out))
    assert result.exit_code == 0, result.err
    assert result.out.startswith(f"ok: {out} holds 6 record(s), ids 1–6, chained from "
                                 f"{GENESIS} to {last['hash']}")
    check = check_export(out, record_hash)
    assert check.chain.ok and check.chain.checked == 6


def test_jsonl_lines_are_the_records(log: Workspace, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "log.jsonl"
    export(log, capsys, "jsonl", out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 7
    first = json.loads(lines[0])
    assert first["id"] == 1 and first["as_of"] == "2022-09-14"
    assert first["inputs"]["planned.started"] == "2022-09-01"
    assert record_hash(first) == first["hash"]
    assert list(json.loads(lines[-1])) == ["manifest"]


def _rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(change(lines)), encoding="utf-8")


def _fails(path: Path, code: str, line: int | None, message: str) -> None:
    with pytest.raises(AuditBreakError) as caught:
        check_export(path, record_hash)
    (finding,) = caught.value.findings
    assert (finding.code, finding.line) == (code, line)
    assert message in finding.message, finding.message


def test_jsonl_truncation_is_caught(log: Workspace, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "log.jsonl"
    export(log, capsys, "jsonl", out)
    text = out.read_text(encoding="utf-8")
    out.write_text(text[: text.rindex('{"manifest"')], encoding="utf-8")
    _fails(out, "KFW-A007", None, 'no manifest (no last line with "manifest")')
    out.write_text(text[: text.index("\n", 10) - 5], encoding="utf-8")
    _fails(out, "KFW-A007", 1, "the last line is cut short")
    lines = text.splitlines(keepends=True)
    out.write_text("".join(lines[:4] + lines[-1:]), encoding="utf-8")
    _fails(out, "KFW-A009", None, "the manifest counts 6 record(s) but the file has 4: the "
           "file was truncated")
    result = cli(log, capsys, "import-check", str(out))
    assert result.exit_code == 3
    assert "KFW-A009" in result.err and "Traceback" not in result.err


def test_jsonl_edits_are_caught(log: Workspace, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "log.jsonl"
    export(log, capsys, "jsonl", out)
    original = out.read_text(encoding="utf-8")

    def edit(lines: list[str]) -> list[str]:
        record = json.loads(lines[2])
        record["reason"] = "改过的理由"
        return [*lines[:2], json.dumps(record, ensure_ascii=False) + "\n", *lines[3:]]

    _rewrite(out, edit)
    _fails(out, "KFW-A001", 3, "record 3 was altered")
    result = cli(log, capsys, "import-check", str(out))
    assert result.exit_code == 3
    assert f"Error: {out}:3: record 3 was altered" in result.err

    out.write_text(original, encoding="utf-8")
    _rewrite(out, lambda lines: [*lines[:2], *lines[3:]])  # a record line removed
    _fails(out, "KFW-A002", 3, "record 3 deleted")

    out.write_text(original, encoding="utf-8")
    _rewrite(out, lambda lines: [*lines[:3], "not json\n", *lines[3:]])
    _fails(out, "KFW-A008", 4, "not a JSON line")


def test_csv_needs_its_manifest_and_catches_edits(log: Workspace, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "log.csv"
    export(log, capsys, "csv", out)
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[5][11] = rows[5][11] + "。"  # record 5's reason
    with out.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    _fails(out, "KFW-A001", 6, "record 5 was altered")
    (tmp_path / "log.csv.manifest.json").unlink()
    rows[5][11] = rows[5][11][:-1]
    with out.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    _fails(out, "KFW-A007", None, "no manifest (log.csv.manifest.json is missing)")


def test_xlsx_edits_and_damage_are_caught(log: Workspace, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from openpyxl import load_workbook

    out = tmp_path / "log.xlsx"
    export(log, capsys, "xlsx", out)
    workbook = load_workbook(out)
    sheet = workbook["decisions"]
    assert sheet.cell(row=1, column=1).value == "id"
    sheet.cell(row=4, column=12).value = "改过的理由"  # record 3's reason
    workbook.save(out)
    _fails(out, "KFW-A001", 4, "record 3 was altered")
    out.write_bytes(out.read_bytes()[:500])
    _fails(out, "KFW-A007", None, "not a readable xlsx workbook")


def test_text_that_looks_like_a_formula_stays_text(tmp_path: Path) -> None:
    record = {"id": 1, "format": 1, "pass_run_id": 1, "subject_kind": "project",
              "subject_key": "=HYPERLINK(1)", "as_of": "2022-09-14", "rule_id": "r",
              "revision": "abc", "calendar_version": "cc", "inputs": {"x": "=1+1"},
              "outcome": {}, "reason": "=SUM(A1:A2)", "prev_hash": GENESIS}
    record["hash"] = record_hash(record)
    out = tmp_path / "log.xlsx"
    write_export([record], "xlsx", out)
    assert check_export(out, record_hash).chain.checked == 1


@pytest.mark.parametrize(("name", "content", "error", "message"), [
    ("missing.jsonl", None, InputError, "no such file"),
    ("log.txt", "x", InputError, "unknown export type '.txt'"),
    ("empty.csv", "", AuditBreakError, "the header must be id,format,"),
])
def test_bad_files(tmp_path: Path, name: str, content: str | None, error: type[Exception],
                   message: str) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(error, match=message):
        check_export(path, record_hash)


def test_export_to_a_missing_folder_is_a_clear_error(
        log: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(log, capsys, "export", "--format", "jsonl", "--out",
                 str(tmp_path / "nope" / "log.jsonl"))
    assert result.exit_code == 1
    assert f"Error: folder {tmp_path / 'nope'} does not exist" in result.err
    result = cli(log, capsys, "import-check", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1 and "no such file" in result.err


def test_the_documented_15_line_verifier_checks_an_export(
        log: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import re
    import subprocess
    import sys

    doc = (Path(__file__).resolve().parents[1] / "docs" / "reference" / "decision-log.md"
           ).read_text(encoding="utf-8")
    section = doc[doc.index("### Verify a jsonl export"):]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match is not None
    script = tmp_path / "verify_log.py"
    script.write_text(match.group(1), encoding="utf-8")
    assert len(match.group(1).splitlines()) == 15
    out = tmp_path / "log.jsonl"
    export(log, capsys, "jsonl", out)
    ok = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True)
    assert (ok.returncode, ok.stdout, ok.stderr) == (0, "", "")
    _rewrite(out, lambda lines: [*lines[:1], *lines[2:]])
    broken = subprocess.run([sys.executable, str(script), str(out)], capture_output=True,
                            text=True)
    assert (broken.returncode, broken.stderr.strip()) == (1, "line 2: record 3 is broken")
