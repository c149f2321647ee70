from __future__ import annotations

import codecs
import zipfile
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from kfworkflow.errors import Finding, InputError
from kfworkflow.ledger.tabular import Row, list_sheets, read_table
from kfworkflow.ledger.tabular_write import (
    XlsxProperties,
    XlsxSheet,
    neutralize,
    write_csv,
    write_xlsx,
)

NOT_A_TABLE = "not an .xlsx workbook or a CSV text file"
EMPTY = "the file is empty; expected a header row"


def only_finding(error: InputError) -> Finding:
    assert len(error.findings) == 1
    return error.findings[0]


def read_error(path: Path, sheet: str | None = None) -> InputError:
    with pytest.raises(InputError) as caught:
        read_table(path, sheet)
    return caught.value


# ----------------------------------------------------------------------------- xlsx round trip


def ledger_sheet() -> XlsxSheet:
    return XlsxSheet(
        title="台账",
        headers=["项目代码", "总投资（万元）", "计划开工日期", "备注"],
        rows=[
            ["410200", 1234.5, date(2022, 11, 30), "=1+1"],
            [None, None, None, None],
            ["410201", -5, None, "中文备注"],
        ],
    )


def test_xlsx_round_trip_values_dates_row_numbers_and_letters(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    write_xlsx(path, [ledger_sheet(), XlsxSheet("任务清单", ["任务"], [["跑手续"]])])

    sheet = read_table(path)

    assert sheet.path == path
    assert sheet.sheet_name == "台账"
    assert sheet.headers == ["项目代码", "总投资(万元)", "计划开工日期", "备注"]
    assert sheet.header_columns == {
        "项目代码": "A",
        "总投资(万元)": "B",
        "计划开工日期": "C",
        "备注": "D",
    }
    assert sheet.rows == [
        Row(2, {"项目代码": "410200", "总投资(万元)": 1234.5,
                "计划开工日期": datetime(2022, 11, 30), "备注": "'=1+1"}),
        Row(4, {"项目代码": "410201", "总投资(万元)": -5, "计划开工日期": None,
                "备注": "中文备注"}),
    ]


def test_xlsx_read_named_sheet_and_list_sheets(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    write_xlsx(path, [ledger_sheet(), XlsxSheet("任务清单", ["任务"], [["跑手续"]])])

    assert list_sheets(path) == ["台账", "任务清单"]
    tasks = read_table(path, "任务清单")
    assert tasks.sheet_name == "任务清单"
    assert tasks.rows == [Row(2, {"任务": "跑手续"})]


def test_xlsx_unknown_sheet(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    write_xlsx(path, [ledger_sheet()])
    error = read_error(path, "汇总")
    assert str(error) == f"{path}: no worksheet named '汇总'; the sheets are '台账'"
    finding = only_finding(error)
    assert (finding.code, finding.file) == ("KFW-T006", str(path))


def test_xlsx_header_below_title_gap_and_offset_column(tmp_path: Path) -> None:
    path = tmp_path / "offset.xlsx"
    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet["B3"] = "项目代码"
    worksheet["C3"] = "  总投资\n（万元）"
    worksheet["E3"] = "备注"
    worksheet["B4"] = 410200
    worksheet["C4"] = "1,234"
    worksheet["B5"] = "   "  # whitespace only: an empty row
    worksheet["C7"] = 5
    worksheet["F7"] = "a note in a column without a header"
    workbook.save(path)

    sheet = read_table(path)

    assert sheet.sheet_name == "Sheet"
    assert sheet.headers == ["项目代码", "总投资 (万元)", "备注"]
    assert sheet.header_columns == {"项目代码": "B", "总投资 (万元)": "C", "备注": "E"}
    assert sheet.rows == [
        Row(4, {"项目代码": 410200, "总投资 (万元)": "1,234", "备注": None}),
        Row(7, {"项目代码": None, "总投资 (万元)": 5, "备注": None}),
    ]


def test_xlsx_with_stale_dimension_tag_is_read_in_full(tmp_path: Path) -> None:
    written = tmp_path / "written.xlsx"
    write_xlsx(written, [XlsxSheet("S", ["a", "b"], [[1, 2], [3, 4]])])
    path = tmp_path / "stale.xlsx"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b'<dimension ref="A1:B3" />' in data
                data = data.replace(b'<dimension ref="A1:B3" />', b'<dimension ref="A1" />')
            target.writestr(item, data)
    assert read_table(path).rows == [Row(2, {"a": 1, "b": 2}), Row(3, {"a": 3, "b": 4})]


def test_xlsx_header_only(tmp_path: Path) -> None:
    path = tmp_path / "header.xlsx"
    write_xlsx(path, [XlsxSheet("台账", ["项目代码", "项目名称"], [])])
    sheet = read_table(path)
    assert sheet.headers == ["项目代码", "项目名称"]
    assert sheet.rows == []


def test_xlsx_empty_worksheet(tmp_path: Path) -> None:
    path = tmp_path / "blank.xlsx"
    openpyxl.Workbook().save(path)
    error = read_error(path)
    assert str(error) == f"{path}: worksheet 'Sheet' is empty; expected a header row"
    assert only_finding(error).code == "KFW-T004"


def test_xlsx_zero_bytes_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "zero.xlsx"
    path.write_bytes(b"")
    error = read_error(path)
    assert str(error) == f"{path}: {EMPTY}"
    finding = only_finding(error)
    assert (finding.code, finding.message, finding.file) == ("KFW-T004", EMPTY, str(path))


def test_xlsx_duplicate_headers(tmp_path: Path) -> None:
    path = tmp_path / "dup.xlsx"
    write_xlsx(path, [XlsxSheet("台账", ["项目名称", "总投资(万元)", "项目名称", "总投资（万元）"],
                                [["a", 1, "b", 2]])])
    error = read_error(path)
    assert str(error) == f"{path}: duplicate column headers '项目名称', '总投资(万元)'"
    assert error.findings == [
        Finding("KFW-T005", "duplicate column header '项目名称' in columns A and C",
                file=str(path), line=1, col=3, hint="each column needs a distinct name",
                column_name="项目名称"),
        Finding("KFW-T005", "duplicate column header '总投资(万元)' in columns B and D",
                file=str(path), line=1, col=4, hint="each column needs a distinct name",
                column_name="总投资(万元)"),
    ]


def test_png_renamed_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    error = read_error(path)
    assert str(error) == f"{path}: {NOT_A_TABLE}"
    finding = only_finding(error)
    assert (finding.code, finding.message, finding.file, finding.hint) == (
        "KFW-T003", NOT_A_TABLE, str(path), None)


def test_docx_renamed_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
    error = read_error(path)
    assert str(error) == f"{path}: {NOT_A_TABLE}"
    assert only_finding(error).hint == (
        "this is a zip package without a workbook (e.g. a .docx); save it as .xlsx")
    with pytest.raises(InputError) as caught:
        list_sheets(path)
    assert str(caught.value) == f"{path}: {NOT_A_TABLE}"


def test_old_xls_content_renamed_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "old.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    error = read_error(path)
    assert only_finding(error).hint == (
        "this looks like an old .xls or a password-protected workbook; save it as .xlsx")


def test_csv_text_renamed_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "table.xlsx"
    path.write_text("项目代码,项目名称\n410200,路\n", encoding="utf-8")
    error = read_error(path)
    assert str(error) == f"{path}: {NOT_A_TABLE}"
    assert only_finding(error).hint == "the content is text; give a CSV file the .csv extension"


# --------------------------------------------------------------------------------------- CSV


def test_csv_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_bytes(codecs.BOM_UTF8 + "项目代码,总投资（万元）\r\n410200,\"1,234.5\"\r\n".encode())
    sheet = read_table(path)
    assert sheet.sheet_name is None
    assert sheet.headers == ["项目代码", "总投资(万元)"]
    assert sheet.header_columns == {"项目代码": "A", "总投资(万元)": "B"}
    assert sheet.rows == [Row(2, {"项目代码": "410200", "总投资(万元)": "1,234.5"})]


def test_csv_gb18030(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_bytes("项目代码,所属县区\n410200,兰考县\n".encode("gb18030"))
    sheet = read_table(path)
    assert sheet.headers == ["项目代码", "所属县区"]
    assert sheet.rows == [Row(2, {"项目代码": "410200", "所属县区": "兰考县"})]


def test_csv_semicolons(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text("项目代码;金额;备注\n410200;1,5;x\n", encoding="utf-8")
    sheet = read_table(path)
    assert sheet.header_columns == {"项目代码": "A", "金额": "B", "备注": "C"}
    assert sheet.rows == [Row(2, {"项目代码": "410200", "金额": "1,5", "备注": "x"})]


def test_csv_tabs_in_utf16_unicode_text(tmp_path: Path) -> None:
    path = tmp_path / "daily.txt"
    path.write_bytes("项目代码\t金额\r\n410200\t12\r\n".encode("utf-16"))
    sheet = read_table(path)
    assert sheet.rows == [Row(2, {"项目代码": "410200", "金额": "12"})]


def test_csv_single_column(tmp_path: Path) -> None:
    path = tmp_path / "codes.csv"
    path.write_text("项目代码\n410200\n", encoding="utf-8")
    sheet = read_table(path)
    assert sheet.header_columns == {"项目代码": "A"}
    assert sheet.rows == [Row(2, {"项目代码": "410200"})]


def test_csv_line_numbers_blank_lines_multiline_and_short_rows(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text(
        "\n"
        "项目代码,问题描述,备注\n"
        "410200,\"第一行\n第二行\",x\n"
        "\n"
        ",,\n"
        "410201,,\n"
        "410202\n",
        encoding="utf-8",
    )
    sheet = read_table(path)
    assert [row.number for row in sheet.rows] == [3, 7, 8]
    assert sheet.rows[0].values == {"项目代码": "410200", "问题描述": "第一行\n第二行", "备注": "x"}
    assert sheet.rows[1].values == {"项目代码": "410201", "问题描述": None, "备注": None}
    assert sheet.rows[2].values == {"项目代码": "410202", "问题描述": None, "备注": None}


def test_csv_header_only(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("项目代码,项目名称\r\n", encoding="utf-8")
    sheet = read_table(path)
    assert sheet.headers == ["项目代码", "项目名称"]
    assert sheet.rows == []


@pytest.mark.parametrize("content", [b"", codecs.BOM_UTF8, b"\r\n  \r\n", b",,\r\n,\r\n"])
def test_csv_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    error = read_error(path)
    assert str(error) == f"{path}: {EMPTY}"
    finding = only_finding(error)
    assert (finding.code, finding.message, finding.file) == ("KFW-T004", EMPTY, str(path))


def test_csv_random_binary(tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(bytes((i * 37 + 11) % 256 for i in range(2048)))
    error = read_error(path)
    assert str(error) == f"{path}: {NOT_A_TABLE}"
    finding = only_finding(error)
    assert (finding.code, finding.file, finding.hint) == ("KFW-T003", str(path), None)


def test_xlsx_renamed_csv(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    write_xlsx(tmp_path / "ledger.xlsx", [ledger_sheet()])
    path.write_bytes((tmp_path / "ledger.xlsx").read_bytes())
    error = read_error(path)
    assert only_finding(error).hint == (
        "this is a zip package without a workbook (e.g. a .docx); save it as .xlsx")


def test_csv_duplicate_headers(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("项目代码,金额,项目代码\n1,2,3\n", encoding="utf-8")
    error = read_error(path)
    assert str(error) == f"{path}: duplicate column headers '项目代码'"
    assert error.findings == [
        Finding("KFW-T005", "duplicate column header '项目代码' in columns A and C",
                file=str(path), line=1, col=3, hint="each column needs a distinct name",
                column_name="项目代码"),
    ]


def test_csv_row_with_extra_fields(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text("项目代码,金额\n410200,1,234.5\n410201,5,\n410202,1,2,3\n", encoding="utf-8")
    error = read_error(path)
    assert str(error) == f"{path}: 2 line(s) have more fields than the header row"
    assert [(f.code, f.line, f.col) for f in error.findings] == [
        ("KFW-T007", 2, 3),
        ("KFW-T007", 4, 3),
    ]
    assert error.findings[0].message == (
        "line 2 has 3 fields but the header has 2; a value probably contains an unquoted comma")
    assert error.findings[0].hint == 'put such values in double quotes, e.g. "1,234.5"'


def test_csv_has_no_sheets(tmp_path: Path) -> None:
    path = tmp_path / "daily.csv"
    path.write_text("a\n1\n", encoding="utf-8")
    assert list_sheets(path) == []
    error = read_error(path, "Sheet1")
    assert str(error) == (
        f"{path}: a CSV file has no sheets, so sheet 'Sheet1' cannot be chosen")
    assert only_finding(error).code == "KFW-T009"


# ------------------------------------------------------------------------- file-level errors


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.xlsx"
    error = read_error(path)
    assert str(error) == f"{path}: no such file"
    finding = only_finding(error)
    assert (finding.code, finding.file) == ("KFW-T001", str(path))
    with pytest.raises(InputError, match="no such file"):
        list_sheets(path)


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    path = tmp_path / "folder.csv"
    path.mkdir()
    assert str(read_error(path)) == f"{path}: not a file"


@pytest.mark.parametrize(
    ("name", "message", "hint"),
    [
        ("old.xls", "unsupported file type .xls; expected .xlsx or .csv",
         "save old .xls workbooks as .xlsx"),
        ("photo.png", "unsupported file type .png; expected .xlsx or .csv", None),
        ("ledger", "unsupported file type (no extension); expected .xlsx or .csv", None),
    ],
)
def test_unsupported_extension(tmp_path: Path, name: str, message: str, hint: str | None) -> None:
    path = tmp_path / name
    path.write_bytes(b"a,b\n")
    error = read_error(path)
    assert str(error) == f"{path}: {message}"
    finding = only_finding(error)
    assert (finding.code, finding.message, finding.hint) == ("KFW-T002", message, hint)


# -------------------------------------------------------------------------------- neutralize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+86", "'+86"),
        ("-x", "'-x"),
        ("@SUM", "'@SUM"),
        (" =x", "' =x"),
        ("\u3000=x", "'\u3000=x"),
        ("\t1", "'\t1"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("开封", "开封"),
        ("", ""),
        (-5, -5),
        (-2.5, -2.5),
        (Decimal("-1"), Decimal("-1")),
        (None, None),
        (date(2022, 11, 30), date(2022, 11, 30)),
    ],
)
def test_neutralize(raw: object, expected: object) -> None:
    assert neutralize(raw) == expected


# ----------------------------------------------------------------------------- writing xlsx


def test_written_xlsx_as_openpyxl_sees_it(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    sheet = XlsxSheet(
        title="台账",
        headers=["项目代码", "金额", "日期", "备注", "说明", "时间"],
        rows=[
            ["410200", 1234.5, date(2022, 11, 30), "=HYPERLINK(\"x\")", "A" * 100,
             datetime(2022, 11, 21, 9, 30)],
            ["410201", -5, None, "@SUM(A1)", "中文说明", datetime(2022, 11, 21, 1, 0, tzinfo=UTC)],
        ],
        number_formats={1: "#,##0.00"},
        column_widths={5: 25.0},
    )
    write_xlsx(path, [sheet])

    worksheet = openpyxl.load_workbook(path)["台账"]
    assert worksheet.freeze_panes == "A2"
    assert all(cell.font.b for cell in worksheet[1])
    assert [cell.value for cell in worksheet[1]] == sheet.headers
    date_cell = worksheet["C2"]
    assert date_cell.is_date
    assert date_cell.value == datetime(2022, 11, 30)
    assert date_cell.number_format == "yyyy-mm-dd"
    assert worksheet["F2"].value == datetime(2022, 11, 21, 9, 30)
    assert worksheet["F2"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert (worksheet["F3"].data_type, worksheet["F3"].value) == ("s", "2022-11-21T01:00:00+00:00")
    assert (worksheet["D2"].data_type, worksheet["D2"].value) == ("s", "'=HYPERLINK(\"x\")")
    assert (worksheet["D3"].data_type, worksheet["D3"].value) == ("s", "'@SUM(A1)")
    assert (worksheet["B3"].data_type, worksheet["B3"].value) == ("n", -5)
    assert worksheet["B2"].number_format == "#,##0.00"
    assert worksheet["B3"].number_format == "#,##0.00"
    assert worksheet["C3"].value is None
    widths = {letter: worksheet.column_dimensions[letter].width for letter in "ABCDEF"}
    # A: 项目代码 = 8 wide + 2; B: "1234.5" = 6 + 2 = 8; C: "2022-11-30" = 10 + 2;
    # D: '=HYPERLINK("x") = 16 + 2; E: capped at 60; F: given.
    assert widths == {"A": 10.0, "B": 8.0, "C": 12.0, "D": 18.0, "E": 60.0, "F": 25.0}


def test_title_rows_page_header_footer_cell_formats_and_properties(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    sheet = XlsxSheet(
        "S", ["指标", "内容"], [["数量", 7], ["比率", 0.25]],
        cell_number_formats={(1, 1): "0.0%"}, number_formats={1: "0"},
        title_rows=("=Title & more", "second line"), page_header="A & B",
        page_footer="p {page}/{pages}")
    write_xlsx(path, [sheet], XlsxProperties(title="T", subject="S1", creator="Org"))
    workbook = openpyxl.load_workbook(path)
    worksheet = workbook["S"]
    assert [[c.value for c in row] for row in worksheet.iter_rows()] == [
        ["'=Title & more", None], ["second line", None], ["指标", "内容"], ["数量", 7],
        ["比率", 0.25]]
    assert worksheet["A1"].font.b and not worksheet["A2"].font.b and worksheet["A3"].font.b
    assert (worksheet.freeze_panes, worksheet.print_title_rows) == ("A4", "$3:$3")
    assert (worksheet["B4"].number_format, worksheet["B5"].number_format) == ("0", "0.0%")
    # the title rows do not widen the first column
    assert worksheet.column_dimensions["A"].width == 8.0
    assert worksheet.oddHeader.left.text == "A && B"
    assert worksheet.oddFooter.right.text == "p &P/&N"
    assert (workbook.properties.title, workbook.properties.subject,
            workbook.properties.creator) == ("T", "S1", "Org")


def test_write_xlsx_replaces_existing_file_without_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    path.write_bytes(b"old")
    write_xlsx(path, [XlsxSheet("S", ["a"], [[1]])])
    assert [p.name for p in tmp_path.iterdir()] == ["export.xlsx"]
    assert read_table(path).rows == [Row(2, {"a": 1})]


def test_write_xlsx_drops_control_characters(tmp_path: Path) -> None:
    path = tmp_path / "export.xlsx"
    write_xlsx(path, [XlsxSheet("S", ["a"], [["x\x01y\x0b"]])])
    assert read_table(path).rows == [Row(2, {"a": "xy"})]


@pytest.mark.parametrize(
    ("sheets", "message"),
    [
        ([], "no sheets to write"),
        ([XlsxSheet("", ["a"], [])], "sheet name '' is empty"),
        ([XlsxSheet("a" * 32, ["a"], [])], f"sheet name '{'a' * 32}' is longer than 31 characters"),
        ([XlsxSheet("a/b", ["a"], [])], "sheet name 'a/b' contains one of [ ] : * ? / \\"),
        ([XlsxSheet("'a", ["a"], [])], "sheet name \"'a\" starts or ends with an apostrophe"),
        ([XlsxSheet("Data", ["a"], []), XlsxSheet("DATA", ["a"], [])],
         "sheet name 'DATA' is used twice (sheet names ignore case)"),
        ([XlsxSheet("S", ["a", "b"], [[1]])], "sheet 'S' data row 1 has 1 values for 2 headers"),
        ([XlsxSheet("S", ["a"], [[float("nan")]])],
         "sheet 'S' data row 1: nan cannot be stored in a spreadsheet"),
        ([XlsxSheet("S", ["a"], [[object]])],
         "sheet 'S' data row 1: cannot write a type value (<class 'object'>)"),
        ([XlsxSheet("S", ["a"], [["x" * 32768]])],
         "sheet 'S' row 1 column 1: text of 32768 characters exceeds Excel's 32767 limit"),
        ([XlsxSheet("S", ["a"], [], number_formats={1: "0.0"})],
         "sheet 'S': number_formats names column(s) [1] but there are 1 headers "
         "(columns are 0-based)"),
        ([XlsxSheet("S", ["a"], [], column_widths={-1: 9.0})],
         "sheet 'S': column_widths names column(s) [-1] but there are 1 headers "
         "(columns are 0-based)"),
        ([XlsxSheet("S", ["a", "b"], [[1, 2]], cell_number_formats={(2, 0): "0.0%"})],
         "sheet 'S': cell_number_formats names cell(s) [(2, 0)] but there are 1 data rows "
         "and 2 headers (rows and columns are 0-based)"),
    ],
)
def test_write_xlsx_refuses(tmp_path: Path, sheets: list[XlsxSheet], message: str) -> None:
    path = tmp_path / "export.xlsx"
    with pytest.raises(InputError) as caught:
        write_xlsx(path, sheets)
    assert str(caught.value) == f"{path}: {message}"
    assert list(tmp_path.iterdir()) == []


def test_write_into_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "export.csv"
    with pytest.raises(InputError) as caught:
        write_csv(path, ["a"], [[1]])
    assert str(caught.value) == (
        f"{path}: cannot write: folder {tmp_path / 'missing'} does not exist")


# ------------------------------------------------------------------------------ writing CSV


def test_write_csv_bytes(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    write_csv(
        path,
        ["项目代码", "金额", "日期", "备注"],
        [
            ["410200", -5, date(2022, 11, 30), "=1+1"],
            ["410201", 1234.5, None, "含,逗号"],
            [410202, Decimal("1.50"), datetime(2022, 11, 21, 9, 30), "+86 138"],
        ],
    )
    expected = (
        "项目代码,金额,日期,备注\r\n"
        "410200,-5,2022-11-30,'=1+1\r\n"
        "410201,1234.5,,\"含,逗号\"\r\n"
        "410202,1.50,2022-11-21 09:30:00,'+86 138\r\n"
    )
    assert path.read_bytes() == codecs.BOM_UTF8 + expected.encode("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["export.csv"]


def test_write_csv_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    write_csv(path, ["项目代码", "备注"], iter([("410200", "第一行\n第二行"), ("410201", None)]))
    sheet = read_table(path)
    assert sheet.rows == [
        Row(2, {"项目代码": "410200", "备注": "第一行\n第二行"}),
        Row(4, {"项目代码": "410201", "备注": None}),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([[1, 2]], "data row 1 has 2 values for 1 headers"),
        ([[1], [float("inf")]], "data row 2: inf cannot be stored in a spreadsheet"),
    ],
)
def test_write_csv_refuses(tmp_path: Path, rows: list[list[object]], message: str) -> None:
    path = tmp_path / "export.csv"
    with pytest.raises(InputError) as caught:
        write_csv(path, ["a"], rows)
    assert str(caught.value) == f"{path}: {message}"
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_names_the_file_and_leaves_the_old_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rename that replaces the file fails (a full disk, a read-only share): the error
    names the file and the reason, the existing file is as it was, no temporary is left."""
    import kfworkflow.files as writing

    path = tmp_path / "export.csv"
    write_csv(path, ["code"], [["P1"]])
    before = path.read_bytes()

    def full_disk(source: object, target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writing.os, "replace", full_disk)
    with pytest.raises(InputError) as caught:
        write_csv(path, ["code"], [["P2"]])
    assert str(caught.value) == f"{path}: cannot write: No space left on device"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export.csv"]


def test_a_writer_that_raises_leaves_no_temporary_file(tmp_path: Path) -> None:
    from kfworkflow.files import atomic_write

    def broken(handle: object) -> None:
        raise RuntimeError("the workbook could not be built")

    with pytest.raises(RuntimeError, match="could not be built"):
        atomic_write(tmp_path / "report.xlsx", broken)
    assert list(tmp_path.iterdir()) == []
