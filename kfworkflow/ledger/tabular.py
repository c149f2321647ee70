"""Reading .xlsx/.csv files into located rows, and writing formula-safe .csv/.xlsx exports.

Reading keeps every row's true number in the file (empty rows are skipped, not renumbered) and
every header's column letter (for .csv too: coordinators open CSV files in Excel, which shows
letters) so that error messages point at the exact cell. Values stay raw;
:mod:`kfworkflow.ledger.cells` types them.

Writing neutralizes text that a spreadsheet would run as a formula and replaces the target
atomically, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import os
import re
import secrets
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:  # openpyxl is imported on first use: it costs ~0.3 s at every CLI start
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

from kfworkflow.errors import Finding, InputError
from kfworkflow.ledger.cells import normalize_header

XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
CSV_DELIMITERS = (",", ";", "\t")

NOT_A_TABLE = "not an .xlsx workbook or a CSV text file"
EMPTY_FILE = "the file is empty; expected a header row"

FORMULA_TRIGGERS = ("=", "+", "-", "@")
FORMULA_CONTROL_TRIGGERS = ("\t", "\r")

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # old .xls and password-protected workbooks
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_TITLE_MAX = 31
_EXCEL_CELL_TEXT_MAX = 32767
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_WIDTH_MIN, _WIDTH_MAX, _WIDTH_PADDING = 8.0, 60.0, 2.0


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


@dataclass
class XlsxSheet:
    title: str
    headers: list[str]
    rows: list[Sequence[object]]
    column_widths: dict[int, float] | None = None
    number_formats: dict[int, str] | None = None


# ---------------------------------------------------------------------------------- reading


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


# ---------------------------------------------------------------------------------- writing


def neutralize(value: object) -> object:
    """Text that a spreadsheet would run as a formula (= + - @, also after leading spaces, or a
    leading tab/CR) gets a leading apostrophe; every other value, negative numbers included,
    is returned unchanged."""
    if not isinstance(value, str) or not value:
        return value
    if value.startswith(FORMULA_CONTROL_TRIGGERS) or value.lstrip().startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _neutralized(text: str) -> str:
    return "'" + text if neutralize(text) is not text else text


def write_csv(path: Path, headers: list[str], rows: Iterable[Sequence[object]]) -> None:
    """UTF-8 with BOM (so Excel detects the encoding), CRLF lines, formula-safe text."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([_csv_text(neutralize(header)) for header in headers])
    for number, row in enumerate(rows, start=1):
        _check_width(path, None, number, row, headers)
        writer.writerow([_csv_text(_checked(path, None, number, neutralize(v))) for v in row])
    payload = buffer.getvalue().encode("utf-8-sig")
    _atomic_write(path, lambda handle: handle.write(payload))


def write_xlsx(path: Path, sheets: list[XlsxSheet]) -> None:
    """One worksheet per XlsxSheet: bold frozen header row, real date cells, formula-safe
    text, column widths from the content unless given."""
    if not sheets:
        raise InputError(f"{path}: no sheets to write")
    _check_titles(path, [sheet.title for sheet in sheets])
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        _fill_worksheet(path, workbook.create_sheet(sheet.title), sheet)
    _atomic_write(path, workbook.save)


def _fill_worksheet(path: Path, worksheet: Worksheet, sheet: XlsxSheet) -> None:
    formats = sheet.number_formats or {}
    widths = sheet.column_widths or {}
    for option, columns in (("number_formats", formats), ("column_widths", widths)):
        outside = [c for c in columns if not 0 <= c < len(sheet.headers)]
        if outside:
            raise InputError(
                f"{path}: sheet {sheet.title!r}: {option} names column(s) {outside} but there "
                f"are {len(sheet.headers)} headers (columns are 0-based)"
            )
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    display_widths = [_display_width(header) for header in sheet.headers]
    for index, header in enumerate(sheet.headers):
        cell = worksheet.cell(row=1, column=index + 1, value=_xlsx_text(_neutralized(header)))
        cell.font = bold
    for offset, row in enumerate(sheet.rows, start=1):
        _check_width(path, sheet.title, offset, row, sheet.headers)
        for index, raw in enumerate(row):
            value = _checked(path, sheet.title, offset, neutralize(raw))
            if value is None:
                continue
            if isinstance(value, str):
                value = _xlsx_text(value)
                if len(value) > _EXCEL_CELL_TEXT_MAX:
                    raise InputError(
                        f"{path}: sheet {sheet.title!r} row {offset} column {index + 1}: text of "
                        f"{len(value)} characters exceeds Excel's {_EXCEL_CELL_TEXT_MAX} limit"
                    )
            elif isinstance(value, datetime) and value.tzinfo is not None:
                value = value.isoformat()  # Excel has no time zones; keep the instant exact
            cell = worksheet.cell(row=offset + 1, column=index + 1, value=value)
            if index in formats:
                cell.number_format = formats[index]
            elif isinstance(value, datetime):
                cell.number_format = _DATETIME_FORMAT
            elif isinstance(value, date):
                cell.number_format = _DATE_FORMAT
            display_widths[index] = max(display_widths[index], _display_width(value))
    for index, display_width in enumerate(display_widths):
        auto = min(max(display_width + _WIDTH_PADDING, _WIDTH_MIN), _WIDTH_MAX)
        worksheet.column_dimensions[get_column_letter(index + 1)].width = widths.get(index, auto)
    worksheet.freeze_panes = "A2"
    _print_setup(worksheet)


def _print_setup(worksheet: Worksheet) -> None:
    """Printed as it is read: A4 landscape, every column on one page width (as many pages
    long as it takes), the header row repeated on each page."""
    worksheet.page_setup.paperSize = worksheet.PAPERSIZE_A4
    worksheet.page_setup.orientation = worksheet.ORIENTATION_LANDSCAPE
    worksheet.page_setup.fitToWidth = 1
    worksheet.page_setup.fitToHeight = 0
    worksheet.sheet_properties.pageSetUpPr.fitToPage = True
    worksheet.print_title_rows = "1:1"


def _check_titles(path: Path, titles: list[str]) -> None:
    seen: set[str] = set()
    for title in titles:
        problem = None
        if not title.strip():
            problem = "is empty"
        elif len(title) > _SHEET_TITLE_MAX:
            problem = f"is longer than {_SHEET_TITLE_MAX} characters"
        elif _SHEET_TITLE_FORBIDDEN.search(title):
            problem = "contains one of [ ] : * ? / \\"
        elif title.startswith("'") or title.endswith("'"):
            problem = "starts or ends with an apostrophe"
        elif title.casefold() in seen:
            problem = "is used twice (sheet names ignore case)"
        if problem:
            raise InputError(f"{path}: sheet name {title!r} {problem}")
        seen.add(title.casefold())


def _check_width(
    path: Path, title: str | None, number: int, row: Sequence[object], headers: list[str]
) -> None:
    if len(row) != len(headers):
        where = f"sheet {title!r} " if title is not None else ""
        raise InputError(
            f"{path}: {where}data row {number} has {len(row)} values for {len(headers)} headers"
        )


def _checked(path: Path, title: str | None, number: int, value: object) -> object:
    """The value if a spreadsheet can store it; NaN/inf and unknown types are refused."""
    where = f"{path}: {f'sheet {title!r} ' if title is not None else ''}data row {number}"
    if value is None or isinstance(value, str | bool | int | Decimal | date):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(f"{where}: {value!r} cannot be stored in a spreadsheet")
        return value
    raise InputError(f"{where}: cannot write a {type(value).__name__} value ({value!r})")


def _csv_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _xlsx_text(text: str) -> str:
    """Control characters make an .xlsx unreadable, so they are dropped."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _display_width(value: object) -> float:
    if isinstance(value, datetime):
        text = value.isoformat(sep=" ")
    elif isinstance(value, date):
        text = value.isoformat()
    else:
        text = str(value)
    lines = text.splitlines() or [""]
    return float(max(sum(_char_width(ch) for ch in line) for line in lines))


def _char_width(ch: str) -> int:
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write a temp file beside ``path`` and rename it over ``path`` (atomic on one volume)."""
    directory = path.parent
    if not directory.is_dir():
        raise InputError(f"{path}: cannot write: folder {directory} does not exist")
    temporary = directory / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
