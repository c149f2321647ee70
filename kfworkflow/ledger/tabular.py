"""Reading .xlsx/.csv files into located rows.

Reading keeps every row's true number in the file (empty rows are skipped, not renumbered) and
every header's column letter (for .csv too: coordinators open CSV files in Excel, which shows
letters) so that error messages point at the exact cell. Values stay raw;
:mod:`kfworkflow.ledger.cells` types them. Writing exports is
:mod:`kfworkflow.ledger.tabular_write` (its writers are importable from here too).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # openpyxl is imported on first use: it costs ~0.3 s at every CLI start
    from openpyxl import Workbook

from kfworkflow.errors import Finding, InputError
from kfworkflow.ledger.cells import normalize_header

# re-exported: the engine and the reports import their export writers from here
from kfworkflow.ledger.tabular_write import XlsxSheet as XlsxSheet
from kfworkflow.ledger.tabular_write import write_csv as write_csv
from kfworkflow.ledger.tabular_write import write_xlsx as write_xlsx

XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
CSV_DELIMITERS = (",", ";", "\t")

NOT_A_TABLE = "not an .xlsx workbook or a CSV text file"
EMPTY_FILE = "the file is empty; expected a header row"

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls and password-protected workbooks
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class Row:
    """One data row: its 1-based row number in the sheet (or the CSV line it starts on) and
    the raw cell under each normalized header (None for an empty cell)."""

    number: int
    values: dict[str, object]


@dataclass(frozen=True)
class Sheet:
    path: Path
    sheet_name: str | None
    headers: list[str]
    header_columns: dict[str, str]
    rows: list[Row]



def read_table(path: Path, sheet: str | None = None) -> Sheet:
    """The header and data rows of an .xlsx worksheet (the first one unless ``sheet`` names
    another) or of a CSV file. Raises InputError with a Finding naming the file."""
    kind = _table_kind(path)
    if kind == "xlsx":
        return _read_xlsx(path, sheet)
    if sheet is not None:
        raise _input_error(
            path, "KFW-T009", f"a CSV file has no sheets, so sheet {sheet!r} cannot be chosen"
        )
    return _read_csv(path)


def list_sheets(path: Path) -> list[str]:
    """The worksheet titles of an .xlsx workbook, in order; ``[]`` for a CSV file."""
    if _table_kind(path) == "csv":
        return []
    workbook = _open_workbook(path)
    try:
        return [worksheet.title for worksheet in workbook.worksheets]
    finally:
        workbook.close()


def _table_kind(path: Path) -> str:
    suffix = path.suffix.lower()
    if not path.exists():
        raise _input_error(path, "KFW-T001", "no such file")
    if not path.is_file():
        raise _input_error(path, "KFW-T001", "not a file")
    if suffix in XLSX_SUFFIXES:
        return "xlsx"
    if suffix in CSV_SUFFIXES:
        return "csv"
    hint = "save old .xls workbooks as .xlsx" if suffix == ".xls" else None
    raise _input_error(
        path,
        "KFW-T002",
        f"unsupported file type {suffix or '(no extension)'}; expected .xlsx or .csv",
        hint,
    )


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _input_error(path, "KFW-T008", f"cannot read the file: {exc.strerror}") from exc


def _open_workbook(path: Path) -> Workbook:
    data = _read_bytes(path)
    if not data:
        raise _input_error(path, "KFW-T004", EMPTY_FILE)
    if not data.startswith(_ZIP_MAGIC):
        raise _input_error(path, "KFW-T003", NOT_A_TABLE, _content_hint(data))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl warns about styles/extensions it skips
            from openpyxl import load_workbook

            return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl signals a malformed package in many ways
        raise _input_error(path, "KFW-T003", NOT_A_TABLE, _content_hint(data)) from exc


def _read_xlsx(path: Path, sheet: str | None) -> Sheet:
    workbook = _open_workbook(path)
    try:
        worksheets = workbook.worksheets
        if sheet is None and worksheets:
            worksheet = worksheets[0]
        else:
            worksheet = next((w for w in worksheets if w.title == sheet), None)
            if worksheet is None:
                names = ", ".join(repr(w.title) for w in worksheets) or "none"
                raise _input_error(
                    path, "KFW-T006", f"no worksheet named {sheet!r}; the sheets are {names}"
                )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                worksheet.reset_dimensions()  # a stale <dimension> tag would cut rows off
                raw_rows = list(worksheet.iter_rows(min_row=1, values_only=True))
        except Exception as exc:  # a corrupt sheet part fails inside openpyxl's parser
            raise _input_error(path, "KFW-T003", NOT_A_TABLE) from exc
        title = worksheet.title
    finally:
        workbook.close()
    numbered = [(number, list(cells)) for number, cells in enumerate(raw_rows, start=1)]
    empty_message = f"worksheet {title!r} is empty; expected a header row"
    header_number, header_cells, data = _split_header(path, numbered, empty_message)
    columns = _header_positions(path, header_number, header_cells)
    rows = [
        Row(number, {header: _cell(cells, index) for header, index in columns.items()})
        for number, cells in data
    ]
    return Sheet(
        path=path,
        sheet_name=title,
        headers=list(columns),
        header_columns={header: _column_letter(index) for header, index in columns.items()},
        rows=rows,
    )


def _read_csv(path: Path) -> Sheet:
    data = _read_bytes(path)
    text = _decode_text(data)
    if text is None:
        raise _input_error(path, "KFW-T003", NOT_A_TABLE, _content_hint(data))
    if not text.strip():
        raise _input_error(path, "KFW-T004", EMPTY_FILE)
    delimiter = _sniff_delimiter(text)
    numbered = _csv_records(path, text, delimiter)
    header_number, header_cells, data_rows = _split_header(path, numbered, EMPTY_FILE)
    columns = _header_positions(path, header_number, header_cells)
    findings = [
        Finding(
            "KFW-T007",
            f"line {number} has {len(cells)} fields but the header has {len(header_cells)}; "
            f"a value probably contains an unquoted {_delimiter_name(delimiter)}",
            file=str(path),
            line=number,
            col=len(header_cells) + 1,
            hint='put such values in double quotes, e.g. "1,234.5"',
        )
        for number, cells in data_rows
        if any(not _is_blank(cell) for cell in cells[len(header_cells) :])
    ]
    if findings:
        raise InputError(
            f"{path}: {len(findings)} line(s) have more fields than the header row", findings
        )
    rows = [
        Row(number, {header: _cell(cells, index) for header, index in columns.items()})
        for number, cells in data_rows
    ]
    return Sheet(
        path=path,
        sheet_name=None,
        headers=list(columns),
        header_columns={header: _column_letter(index) for header, index in columns.items()},
        rows=rows,
    )


def _decode_text(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), UTF-16 with BOM (Excel "Unicode text"), else GB18030;
    None when the bytes are not text in any of them."""
    if data.startswith(codecs.BOM_UTF8):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if _CONTROL_CHARACTERS.search(text) else text
    return None


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first non-empty record into the most fields."""
    best, best_count = CSV_DELIMITERS[0], 1
    for delimiter in CSV_DELIMITERS:
        try:
            for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
                if any(not _is_blank(cell) for cell in record):
                    if len(record) > best_count:
                        best, best_count = delimiter, len(record)
                    break
        except csv.Error:
            continue
    return best


def _csv_records(path: Path, text: str, delimiter: str) -> list[tuple[int, list[object]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, list[object]]] = []
    start_line = 1
    try:
        for record in reader:
            records.append((start_line, [cell if cell != "" else None for cell in record]))
            start_line = reader.line_num + 1
    except csv.Error as exc:
        raise _input_error(path, "KFW-T003", f"{NOT_A_TABLE} ({exc})", line=start_line) from exc
    return records


def _split_header(
    path: Path, numbered: list[tuple[int, list[object]]], empty_message: str
) -> tuple[int, list[object], list[tuple[int, list[object]]]]:
    non_empty = [(number, cells) for number, cells in numbered if not _is_blank_row(cells)]
    if not non_empty:
        raise _input_error(path, "KFW-T004", empty_message)
    (header_number, header_cells), *data = non_empty
    return header_number, header_cells, data


def _header_positions(
    path: Path, header_number: int, header_cells: list[object]
) -> dict[str, int]:
    """Normalized header -> 0-based column index; columns without a header are left out."""
    positions: dict[str, int] = {}
    findings: list[Finding] = []
    for index, cell in enumerate(header_cells):
        header = normalize_header(_header_text(cell))
        if not header:
            continue
        if header in positions:
            first = _column_letter(positions[header])
            findings.append(
                Finding(
                    "KFW-T005",
                    f"duplicate column header {header!r} in columns {first} and "
                    f"{_column_letter(index)}",
                    file=str(path),
                    line=header_number,
                    col=index + 1,
                    hint="each column needs a distinct name",
                    column_name=header,
                )
            )
            continue
        positions[header] = index
    if findings:
        names = ", ".join(dict.fromkeys(repr(f.column_name) for f in findings))
        raise InputError(f"{path}: duplicate column headers {names}", findings)
    return positions


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _header_text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime) and cell.time() == datetime.min.time():
        return cell.date().isoformat()
    return str(cell)


def _cell(cells: list[object], index: int) -> object:
    return cells[index] if index < len(cells) else None


def _is_blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _is_blank_row(cells: list[object]) -> bool:
    return all(_is_blank(cell) for cell in cells)


def _delimiter_name(delimiter: str) -> str:
    return {"\t": "tab", ",": "comma", ";": "semicolon"}[delimiter]


def _content_hint(data: bytes) -> str | None:
    if data.startswith(_OLE_MAGIC):
        return "this looks like an old .xls or a password-protected workbook; save it as .xlsx"
    if data.startswith(_ZIP_MAGIC):
        return "this is a zip package without a workbook (e.g. a .docx); save it as .xlsx"
    if _decode_text(data) is not None:
        return "the content is text; give a CSV file the .csv extension"
    return None


def _input_error(
    path: Path, code: str, message: str, hint: str | None = None, line: int | None = None
) -> InputError:
    finding = Finding(code, message, file=str(path), line=line, hint=hint)
    return InputError(f"{path}: {message}", [finding])

