"""Writing the demo ledger and daily reports as .csv / .xlsx with the Chinese headers.

CSV files are UTF-8 with a BOM (so Excel opens them correctly) and ISO dates; .xlsx files have
a bold, frozen header row and real date cells. Both are byte-for-byte reproducible: the same
rows always give the same file (the .xlsx timestamps are pinned to the campaign's first day).
Values are written with their Chinese names (县区, 类别, 状态, 里程碑, 问题类型, 协调层级)
unless ``labels=False`` asks for the ids.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.xml.functions import tostring

from kfworkflow.demo.campaign import (
    CAMPAIGN_START,
    ReportRow,
    Scenario,
    campaign_rows,
    simulate_campaign,
)
from kfworkflow.demo.ledger_gen import LedgerRow, generate_ledger, sample_ledger
from kfworkflow.demo.names import (
    CATEGORY_BY_ID,
    COUNTY_BY_ID,
    LEVEL_NAMES,
    MILESTONE_LABELS,
    PROBLEM_TYPES,
)

Cell = str | float | date | None

LEDGER_HEADERS: tuple[tuple[str, str], ...] = (
    ("code", "项目代码"),
    ("name", "项目名称"),
    ("category", "项目类别"),
    ("batch", "批次"),
    ("county", "所属县区"),
    ("responsible_unit", "责任单位"),
    ("responsible_person", "责任人"),
    ("owner_unit", "项目单位"),
    ("total_investment", "总投资(万元)"),
    ("annual_investment", "年度计划投资(万元)"),
    ("planned_funds", "计划资金(万元)"),
    *((f"planned_{m}_on", f"计划{label}日期") for m, label in MILESTONE_LABELS.items()
      if m != "planned"),
    ("state", "当前状态"),
    *((f"{m}_on", f"实际{label}日期") for m, label in MILESTONE_LABELS.items() if m != "planned"),
)
TASK_HEADERS: tuple[tuple[str, str], ...] = (
    ("code", "项目代码"), ("title", "任务"), ("owner", "责任人"), ("due_on", "完成时限"),
    ("done_on", "完成日期"),
)
DAILY_HEADERS: tuple[tuple[str, str], ...] = (
    ("code", "项目代码"),
    ("report_on", "填报日期"),
    ("completed_investment", "累计完成投资(万元)"),
    ("funds_arrived", "累计到位资金(万元)"),
    ("funds_disbursed", "累计拨付资金(万元)"),
    ("milestone", "里程碑"),
    ("milestone_on", "里程碑日期"),
    ("problem_type", "问题类型"),
    ("problem_level", "协调层级"),
    ("problem_title", "问题描述"),
    ("note", "备注"),
)
LEDGER_SHEET, TASK_SHEET, DAILY_SHEET = "台账", "任务清单", "日调度"

# Ids shown by their Chinese names when ``labels`` is on.
_LEDGER_LABELS: dict[str, Callable[[str], str]] = {
    "category": lambda v: CATEGORY_BY_ID[v].name,
    "county": lambda v: COUNTY_BY_ID[v].name,
    "state": lambda v: MILESTONE_LABELS.get(v, v),
}
_DAILY_LABELS: dict[str, Callable[[str], str]] = {
    "milestone": lambda v: MILESTONE_LABELS.get(v, v),
    "problem_type": lambda v: PROBLEM_TYPES.get(v, v),
    "problem_level": lambda v: LEVEL_NAMES.get(v, v),
}
_PINNED_TIME = datetime(2022, 11, 14, 0, 0, 0)
_WIDE_COLUMNS = {"name": 44, "owner_unit": 30, "responsible_unit": 22, "problem_title": 36,
                 "note": 40, "title": 26}

Headers = Sequence[tuple[str, str]]


def _values(record: object, headers: Headers, labels: dict[str, Callable[[str], str]] | None
            ) -> list[Cell]:
    values: list[Cell] = []
    for field_name, _ in headers:
        value = getattr(record, field_name)
        if labels and value is not None and field_name in labels:
            value = labels[field_name](value)
        values.append(value)
    return values


def _ledger_lines(rows: Iterable[LedgerRow], labels: bool) -> Iterator[list[Cell]]:
    for row in rows:
        yield _values(row, LEDGER_HEADERS, _LEDGER_LABELS if labels else None)


def _task_lines(rows: Iterable[LedgerRow]) -> Iterator[list[Cell]]:
    for row in rows:
        for task in row.tasks:
            yield [row.code, task.title, task.owner, task.due_on, task.done_on]


def _daily_lines(reports: Iterable[ReportRow], labels: bool) -> Iterator[list[Cell]]:
    for report in reports:
        yield _values(report, DAILY_HEADERS, _DAILY_LABELS if labels else None)


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _write_csv(path: Path | str, headers: Headers, lines: Iterable[Sequence[Cell]]) -> Path:
    target = Path(path)
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([zh for _, zh in headers])
        for line in lines:
            writer.writerow([_csv_text(value) for value in line])
    return target


def _xlsx_cell(value: Cell) -> Cell:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _add_sheet(workbook: Workbook, title: str, headers: Headers,
               lines: Iterable[Sequence[Cell]]) -> None:
    sheet = workbook.create_sheet(title)
    assert isinstance(sheet, WriteOnlyWorksheet)
    sheet.freeze_panes = "A2"
    for index, (field_name, zh) in enumerate(headers):
        letter = get_column_letter(index + 1)
        wide = _WIDE_COLUMNS.get(field_name)
        sheet.column_dimensions[letter].width = wide or max(12, 2 * len(zh) + 2)
    header_cells = []
    for _, zh in headers:
        cell = WriteOnlyCell(sheet, value=zh)
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for line in lines:
        sheet.append([_xlsx_cell(value) for value in line])


def _save(workbook: Workbook, path: Path | str) -> Path:
    """Save with pinned timestamps so the same content always gives the same bytes."""
    target = Path(path)
    workbook.properties.creator = "kfworkflow demo"
    workbook.properties.created = _PINNED_TIME
    buffer = io.BytesIO()
    workbook.save(buffer)
    workbook.properties.modified = _PINNED_TIME
    core = tostring(workbook.properties.to_tree())
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as source, \
            zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            data = core if info.filename == "docProps/core.xml" else source.read(info.filename)
            pinned = zipfile.ZipInfo(info.filename, date_time=_PINNED_TIME.timetuple()[:6])
            pinned.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(pinned, data)
    return target


def write_ledger_csv(rows: Iterable[LedgerRow], path: Path | str, *, labels: bool = True
                     ) -> Path:
    return _write_csv(path, LEDGER_HEADERS, _ledger_lines(rows, labels))


def write_ledger_xlsx(rows: Iterable[LedgerRow], path: Path | str, *, labels: bool = True,
                      with_tasks: bool = True) -> Path:
    """Sheet 台账, and (``with_tasks``) sheet 任务清单 with every project's 清单."""
    rows = list(rows)
    workbook = Workbook(write_only=True)
    _add_sheet(workbook, LEDGER_SHEET, LEDGER_HEADERS, _ledger_lines(rows, labels))
    if with_tasks:
        _add_sheet(workbook, TASK_SHEET, TASK_HEADERS, _task_lines(rows))
    return _save(workbook, path)


def write_daily_csv(reports: Iterable[ReportRow], path: Path | str, *, labels: bool = True
                    ) -> Path:
    return _write_csv(path, DAILY_HEADERS, _daily_lines(reports, labels))


def write_daily_xlsx(reports: Iterable[ReportRow], path: Path | str, *, labels: bool = True
                     ) -> Path:
    workbook = Workbook(write_only=True)
    _add_sheet(workbook, DAILY_SHEET, DAILY_HEADERS, _daily_lines(reports, labels))
    return _save(workbook, path)


# The sample's story in five working days: one stalled project, one that cannot start, a few
# minor problems, and 尉氏县 missing its report on 2022-11-18.
SAMPLE_SCENARIO = Scenario(stalled_projects=1, resolved_stalls=0, infeasible_projects=1,
                           problem_rate=0.02)
SAMPLE_END = date(2022, 11, 18)


def write_examples(directory: Path | str, seed: int = 2022) -> list[Path]:
    """The committed example files: the full ledger and a small ledger with a week of reports."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    ledger = generate_ledger(seed)
    sample = sample_ledger(ledger, seed=seed)
    week = simulate_campaign(sample, seed, CAMPAIGN_START, SAMPLE_END, SAMPLE_SCENARIO)
    return [
        write_ledger_xlsx(ledger, folder / "kaifeng-2022-ledger.xlsx"),
        write_ledger_csv(sample, folder / "sample-ledger.csv"),
        write_daily_csv(campaign_rows(week), folder / "sample-daily.csv"),
    ]
