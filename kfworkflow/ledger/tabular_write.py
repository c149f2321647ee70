"""Writing formula-safe .csv/.xlsx exports.

Writing neutralizes text that a spreadsheet would run as a formula and replaces the target
atomically, so a crash never leaves half a file behind.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # openpyxl is imported on first use: it costs ~0.3 s at every CLI start
    from openpyxl.worksheet.worksheet import Worksheet

from kfworkflow.errors import InputError
from kfworkflow.files import atomic_write

FORMULA_TRIGGERS = ("=", "+", "-", "@")
FORMULA_CONTROL_TRIGGERS = ("\t", "\r")

_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_SHEET_TITLE_MAX = 31
_EXCEL_CELL_TEXT_MAX = 32767
_DATE_FORMAT = "yyyy-mm-dd"
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_WIDTH_MIN, _WIDTH_MAX, _WIDTH_PADDING = 8.0, 60.0, 2.0
_HEADER_TEXT_MAX = 120


@dataclass
class XlsxSheet:
    """One worksheet. ``number_formats`` is by column (0-based), ``cell_number_formats`` by
    (data row, column), both 0-based, the latter winning. ``title_rows`` are lines of text
    above the header row (the first in bold, larger), not counted in the column widths;
    ``page_header`` is printed at the left of each page's header, ``page_footer`` at the right
    of its footer, with ``{page}`` and ``{pages}`` standing for the page number and count."""

    title: str
    headers: list[str]
    rows: list[Sequence[object]]
    column_widths: dict[int, float] | None = None
    number_formats: dict[int, str] | None = None
    cell_number_formats: dict[tuple[int, int], str] | None = None
    title_rows: Sequence[str] = ()
    page_header: str | None = None
    page_footer: str | None = None


@dataclass(frozen=True)
class XlsxProperties:
    """A workbook's document properties, as File → Info shows them."""

    title: str | None = None
    subject: str | None = None
    creator: str | None = None
    description: str | None = None
    keywords: str | None = None


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
    atomic_write(path, lambda handle: handle.write(payload))


def write_xlsx(path: Path, sheets: list[XlsxSheet],
               properties: XlsxProperties | None = None) -> None:
    """One worksheet per XlsxSheet: bold frozen header row (below any title rows), real date
    cells, formula-safe text, column widths from the content unless given."""
    if not sheets:
        raise InputError(f"{path}: no sheets to write")
    _check_titles(path, [sheet.title for sheet in sheets])
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        _fill_worksheet(path, workbook.create_sheet(sheet.title), sheet)
    if properties is not None:
        for name in ("title", "subject", "creator", "description", "keywords"):
            value = getattr(properties, name)
            if value is not None:
                setattr(workbook.properties, name, _xlsx_text(value))
    atomic_write(path, workbook.save)


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
    cell_formats = sheet.cell_number_formats or {}
    outside_cells = sorted((r, c) for r, c in cell_formats if not (
        0 <= r < len(sheet.rows) and 0 <= c < len(sheet.headers)))
    if outside_cells:
        raise InputError(
            f"{path}: sheet {sheet.title!r}: cell_number_formats names cell(s) {outside_cells} "
            f"but there are {len(sheet.rows)} data rows and {len(sheet.headers)} headers (rows "
            "and columns are 0-based)")
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    bold = Font(bold=True)
    for number, text in enumerate(sheet.title_rows, start=1):
        cell = worksheet.cell(row=number, column=1, value=_xlsx_text(_neutralized(text)))
        if number == 1:
            cell.font = Font(bold=True, size=14)
    header_row = len(sheet.title_rows) + 1
    display_widths = [_display_width(header) for header in sheet.headers]
    for index, header in enumerate(sheet.headers):
        cell = worksheet.cell(row=header_row, column=index + 1,
                              value=_xlsx_text(_neutralized(header)))
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
            cell = worksheet.cell(row=header_row + offset, column=index + 1, value=value)
            if (offset - 1, index) in cell_formats:
                cell.number_format = cell_formats[offset - 1, index]
            elif index in formats:
                cell.number_format = formats[index]
            elif isinstance(value, datetime):
                cell.number_format = _DATETIME_FORMAT
            elif isinstance(value, date):
                cell.number_format = _DATE_FORMAT
            display_widths[index] = max(display_widths[index], _display_width(value))
    for index, display_width in enumerate(display_widths):
        auto = min(max(display_width + _WIDTH_PADDING, _WIDTH_MIN), _WIDTH_MAX)
        worksheet.column_dimensions[get_column_letter(index + 1)].width = widths.get(index, auto)
    worksheet.freeze_panes = f"A{header_row + 1}"
    _print_setup(worksheet, header_row, sheet)


def _print_setup(worksheet: Worksheet, header_row: int, sheet: XlsxSheet) -> None:
    """Printed as it is read: A4 landscape, every column on one page width (as many pages
    long as it takes), the header row repeated on each page, the page header and footer."""
    worksheet.page_setup.paperSize = worksheet.PAPERSIZE_A4
    worksheet.page_setup.orientation = worksheet.ORIENTATION_LANDSCAPE
    worksheet.page_setup.fitToWidth = 1
    worksheet.page_setup.fitToHeight = 0
    worksheet.sheet_properties.pageSetUpPr.fitToPage = True
    worksheet.print_title_rows = f"{header_row}:{header_row}"
    if sheet.page_header is not None:  # Excel keeps at most 255 characters of a header
        worksheet.oddHeader.left.text = _header_text(sheet.page_header[:_HEADER_TEXT_MAX])
    if sheet.page_footer is not None:
        worksheet.oddFooter.right.text = _header_text(sheet.page_footer).replace(
            "{page}", "&P").replace("{pages}", "&N")


def _header_text(text: str) -> str:
    """Text for a printed header or footer: ``&`` starts a control code there, so it is
    doubled; control characters are dropped."""
    return _xlsx_text(text).replace("&", "&&")


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
