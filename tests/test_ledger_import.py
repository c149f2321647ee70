"""Ledger import: the happy path, idempotent re-import, change log, and every bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import HEADERS, LEDGER_TABLES, ledger_row, run_cli, snapshot, write_csv
from sqlalchemy import select

from kfworkflow.engine.imports import import_ledger
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import ImportRejectedError
from kfworkflow.storage.db import read_session
from kfworkflow.storage.models import MilestoneEvent, Project, ProjectChange


def _cli(workspace: Workspace, capsys: pytest.CaptureFixture[str], *args: str):
    return run_cli(capsys, "-w", str(workspace.root), "--db", workspace.db or "", *args)


def test_import_creates_projects_and_reimport_is_a_no_op(workspace: Workspace,
                                                          tmp_path: Path) -> None:
    path = write_csv(tmp_path / "ledger.csv", HEADERS, [
        ledger_row("2211-410225-04-01-000001"),
        ledger_row("2211-410225-04-01-000002", county="杞县", total="８,０００",
                   planned_start="2022年11月30日"),
        ledger_row("2211-410225-04-01-000003", state="开工", started="2022/11/02"),
    ])
    first = import_ledger(workspace, path)
    assert (first.result.created, first.result.updated, first.result.unchanged) == (3, 0, 0)
    before = snapshot(workspace.engine, LEDGER_TABLES)
    second = import_ledger(workspace, path)
    assert (second.result.created, second.result.updated, second.result.unchanged) == (0, 0, 3)
    assert snapshot(workspace.engine, LEDGER_TABLES) == before
    with read_session(workspace.engine) as session:
        projects = {p.code: p for p in session.execute(select(Project)).scalars()}
    p2 = projects["2211-410225-04-01-000002"]
    assert (p2.county, p2.category, p2.task_force) == ("qixian", "key_project", "key_projects")
    assert p2.total_investment == 8000.0
    p3 = projects["2211-410225-04-01-000003"]
    assert (p3.state, p3.state_on.isoformat()) == ("started", "2022-11-02")


def test_changed_row_updates_and_records_each_field(workspace: Workspace, tmp_path: Path) -> None:
    code = "2211-410225-04-01-000001"
    import_ledger(workspace, write_csv(tmp_path / "v1.csv", HEADERS, [ledger_row(code)]))
    changed = write_csv(tmp_path / "v2.csv", HEADERS,
                        [ledger_row(code, annual="3500", planned_start="2022-11-20")])
    outcome = import_ledger(workspace, changed)
    assert outcome.result.updated == 1
    assert outcome.result.changes == [
        {"code": code, "field": "annual_investment", "old": "3000.0", "new": "3500.0"},
        {"code": code, "field": "planned_started_on", "old": "2022-11-15", "new": "2022-11-20"},
    ]
    with read_session(workspace.engine) as session:
        rows = list(session.execute(select(ProjectChange).order_by(ProjectChange.id)).scalars())
    assert [(r.field, r.old_value, r.new_value, r.source, r.actor) for r in rows] == [
        ("annual_investment", "3000.0", "3500.0", "v2.csv", "tester"),
        ("planned_started_on", "2022-11-15", "2022-11-20", "v2.csv", "tester"),
    ]


def test_reimport_with_a_later_milestone_walks_the_path(workspace: Workspace,
                                                        tmp_path: Path) -> None:
    code = "2211-410225-04-01-000001"
    import_ledger(workspace, write_csv(tmp_path / "v1.csv", HEADERS, [ledger_row(code)]))
    import_ledger(workspace, write_csv(tmp_path / "v2.csv", HEADERS,
                                       [ledger_row(code, state="开工", started="2022-11-18")]))
    with read_session(workspace.engine) as session:
        events = list(session.execute(select(MilestoneEvent).order_by(MilestoneEvent.id)
                                      ).scalars())
    assert [(e.from_state, e.to_state, str(e.occurred_on)) for e in events] == [
        (None, "planned", "None"), ("planned", "started", "2022-11-18")]


BAD_CASES = [
    ("unknown county",
     [ledger_row("C1", county="开封县")],
     "row 2 [column D 所属县区]: KFW-L005 unknown county '开封县'"),
    ("unknown category",
     [ledger_row("C1", category="重点工程")],
     "row 2 [column C 项目类别]: KFW-L004 unknown category '重点工程'"),
    ("duplicate code",
     [ledger_row("C1"), ledger_row("C1")],
     "row 3 [column A 项目代码]: KFW-L008 duplicate project code C1 (first on row 2)"),
    ("bad date",
     [ledger_row("C1", planned_start="2022-13-01")],
     "row 2 [column J 计划开工日期]: KFW-L006 '2022-13-01' is not valid; expected"),
    ("bad number",
     [ledger_row("C1", total="一万")],
     "row 2 [column H 总投资(万元)]: KFW-L006 '一万' is not valid; expected"),
    ("milestone date in the future",
     [ledger_row("C1", state="开工", started="2030-01-01")],
     "row 2 [column M 实际开工日期]: KFW-L010 actual date 2030-01-01 is in the future"),
    ("state not on the category path",
     [ledger_row("C1", state="投产")],
     "row 2 [column L 当前状态]: KFW-L009 state 'in_production' is not on the path of "
     "category key_project"),
    ("empty required cell",
     [ledger_row("C1", name="")],
     "row 2 [column B 项目名称]: KFW-L003 项目名称 is empty"),
]


@pytest.mark.parametrize(("label", "rows", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_rows_refuse_the_whole_file(workspace: Workspace, tmp_path: Path, label: str,
                                        rows: list[list[object]], expected: str) -> None:
    path = write_csv(tmp_path / "bad.csv", HEADERS, [*rows, ledger_row("GOOD-1")])
    before = snapshot(workspace.engine, LEDGER_TABLES)
    with pytest.raises(ImportRejectedError) as info:
        import_ledger(workspace, path)
    messages = [str(f) for f in info.value.findings]
    assert any(m.startswith(f"{path}:{expected.replace('row ', '', 1)}") for m in messages), \
        messages
    assert snapshot(workspace.engine, LEDGER_TABLES) == before


def test_missing_required_column_names_it(workspace: Workspace, tmp_path: Path) -> None:
    headers = [h for h in HEADERS if h != "责任人"]
    row = ledger_row("C1")
    del row[HEADERS.index("责任人")]
    path = write_csv(tmp_path / "cols.csv", headers, [row])
    with pytest.raises(ImportRejectedError) as info:
        import_ledger(workspace, path)
    assert [str(f) for f in info.value.findings] == [
        f"{path}:1: KFW-L002 missing required column 责任人 (responsible_person) (the header "
        "row must name every required column; see docs/reference/ledger-format.md)"]
    assert snapshot(workspace.engine, LEDGER_TABLES)["project"] == 0


def test_empty_file_and_not_a_spreadsheet(workspace: Workspace, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = _cli(workspace, capsys, "ledger", "import", str(empty))
    assert result.exit_code == 1
    assert "empty" in result.err and str(empty) in result.err
    png = tmp_path / "ledger.xlsx"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    result = _cli(workspace, capsys, "ledger", "import", str(png))
    assert result.exit_code == 1
    assert f"{png}: not an .xlsx workbook or a CSV text file" in result.err
    assert snapshot(workspace.engine, LEDGER_TABLES)["project"] == 0


def test_skip_bad_imports_good_rows_and_writes_rejects(workspace: Workspace,
                                                       tmp_path: Path) -> None:
    path = write_csv(tmp_path / "mixed.csv", HEADERS, [
        ledger_row("OK-1"), ledger_row("BAD-1", county="开封县"), ledger_row("OK-2")])
    rejects = tmp_path / "rejects.csv"
    outcome = import_ledger(workspace, path, skip_bad=rejects)
    assert (outcome.result.created, outcome.rejected_rows) == (2, 1)
    text = rejects.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("row,reason,")
    assert "3,KFW-L005 column D 所属县区 unknown county '开封县'" in text


def test_cli_import_reports_counts_and_json(workspace: Workspace, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = write_csv(tmp_path / "ledger.csv", HEADERS, [ledger_row("C1"), ledger_row("C2")])
    result = _cli(workspace, capsys, "ledger", "import", str(path))
    assert result.exit_code == 0, result.err
    assert result.out.strip() == f"{path}: 2 created, 0 updated, 0 unchanged, 0 rejected"
    result = _cli(workspace, capsys, "ledger", "list", "--json")
    assert [p["code"] for p in __import__("json").loads(result.out)] == ["C1", "C2"]


def test_the_kaifeng_ledger_xlsx_imports_and_reimports_as_a_no_op(workspace: Workspace) -> None:
    path = Path(__file__).resolve().parents[1] / "examples" / "kaifeng-2022-ledger.xlsx"
    first = import_ledger(workspace, path)
    assert (first.result.created, first.rejected_rows, first.tasks) == (1404, 0, 4246)
    before = snapshot(workspace.engine, LEDGER_TABLES)
    second = import_ledger(workspace, path)
    assert (second.result.created, second.result.updated, second.result.unchanged) == (0, 0, 1404)
    assert second.tasks == 0
    assert snapshot(workspace.engine, LEDGER_TABLES) == before
    with read_session(workspace.engine) as session:
        by_category: dict[str, int] = {}
        for project in session.execute(select(Project)).scalars():
            by_category[project.category] = by_category.get(project.category, 0) + 1
    assert by_category["key_project"] == 1011
    assert by_category["policy_finance"] == 62
    assert by_category["three_batches"] == 29 + 72 + 73


def test_export_writes_the_import_format_and_neutralises_formulas(workspace: Workspace,
                                                                  tmp_path: Path) -> None:
    import openpyxl

    from kfworkflow.engine.exports import export_ledger

    import_ledger(workspace, write_csv(tmp_path / "l.csv", HEADERS, [
        ledger_row("C1", name="=HYPERLINK(\"http://x\")"), ledger_row("C2")]))
    out = tmp_path / "out.xlsx"
    assert export_ledger(workspace, out) == 2
    sheet = openpyxl.load_workbook(out)["台账"]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["项目代码", "项目名称", "项目类别", "批次"]
    name = sheet.cell(row=2, column=2)
    assert (name.value, name.data_type) == ("'=HYPERLINK(\"http://x\")", "s")
    assert sheet.cell(row=2, column=5).value == "兰考县"
    before = snapshot(workspace.engine, LEDGER_TABLES)
    again = import_ledger(workspace, out)
    assert again.result.created == 0
    assert (again.result.unchanged, again.result.updated) == (2, 0)
    assert snapshot(workspace.engine, LEDGER_TABLES) == before
