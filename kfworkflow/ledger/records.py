"""Turning spreadsheet rows into validated ledger and daily-report records.

Every problem is collected as a located ``Finding`` (file, row, column and field); nothing here
touches the database, so a file with any finding can be refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from kfworkflow.errors import Finding, did_you_mean
from kfworkflow.ledger.cells import CellError, parse_date, parse_number, parse_text
from kfworkflow.ledger.columns import Column, HeaderMap
from kfworkflow.ledger.tabular import Row, Sheet

LEVEL_NAMES = {"县级": "county", "市级": "city", "省级": "province"}


class Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


class CategoryLike(Named, Protocol):
    @property
    def task_force(self) -> str: ...
    @property
    def path(self) -> tuple[str, ...]: ...


class Vocabulary(Protocol):
    """What the records need from ``policies.yaml`` (``Policies`` satisfies it)."""

    @property
    def counties(self) -> Sequence[Any]: ...
    @property
    def categories(self) -> Sequence[Any]: ...
    @property
    def milestones(self) -> Mapping[str, str]: ...
    @property
    def problem_types(self) -> Sequence[Any]: ...


@dataclass
class ProjectRecord:
    row: int
    code: str
    name: str
    category: str
    county: str
    task_force: str
    responsible_unit: str
    responsible_person: str
    total_investment: float
    annual_investment: float
    batch: str | None = None
    owner_unit: str | None = None
    planned_funds: float | None = None
    state: str | None = None
    planned: dict[str, date] = field(default_factory=dict)
    actual: dict[str, date] = field(default_factory=dict)


@dataclass
class TaskRecord:
    row: int
    code: str
    title: str
    owner: str | None = None
    due_on: date | None = None
    done_on: date | None = None


@dataclass
class DailyRecord:
    row: int
    code: str
    report_on: date
    completed_investment: float | None = None
    funds_arrived: float | None = None
    funds_disbursed: float | None = None
    milestone: str | None = None
    milestone_on: date | None = None
    problem_type: str | None = None
    problem_level: str | None = None
    problem_title: str | None = None
    note: str | None = None


@dataclass
class Parsed:
    records: list[Any]
    findings: list[Finding]
    bad_rows: dict[int, list[Finding]]
    columns: dict[str, str] = field(default_factory=dict)  # field -> "column D 所属县区"


def _lookup(items: Iterable[Any], value: str) -> Any | None:
    for item in items:
        if value in (item.id, item.name):
            return item
    return None


class RowReader:
    """Reads typed values from one row and records located findings for the bad ones."""

    def __init__(self, sheet: Sheet, header_map: HeaderMap, vocabulary: Vocabulary) -> None:
        self.sheet = sheet
        self.file = str(sheet.path)
        self.vocabulary = vocabulary
        self.header_of: dict[str, str] = {}
        for header in sheet.headers:
            field_name = header_map.field_of(header)
            if field_name and field_name not in self.header_of:
                self.header_of[field_name] = header
        self.header_map = header_map

    def column_labels(self) -> dict[str, str]:
        return {f: self.where(self.header_map.column(f)) for f in self.header_of}

    def missing_columns(self) -> list[Finding]:
        findings = []
        for column in self.header_map.required():
            if column.field not in self.header_of:
                findings.append(
                    Finding(
                        "KFW-L002",
                        f"missing required column {column.zh} ({column.field})",
                        file=self.file,
                        line=1,
                        hint="the header row must name every required column; see "
                        "docs/reference/ledger-format.md",
                    )
                )
        return findings

    def where(self, column: Column) -> str:
        header = self.header_of.get(column.field, column.zh)
        letter = str(self.sheet.header_columns.get(header, ""))
        if letter.isdigit():
            letter = _column_letter(int(letter))
        return f"column {letter} {header}".replace("  ", " ").strip()

    def value(self, row: Row, field_name: str, findings: list[Finding]) -> Any:
        column = self.header_map.column(field_name)
        header = self.header_of.get(field_name)
        raw = row.values.get(header) if header is not None else None
        try:
            value = _PARSERS[column.kind](raw)
        except CellError as exc:
            findings.append(self._finding(row, column, "KFW-L006", f"{raw!r} is not valid; "
                                          f"expected {exc.expected}"))
            return None
        if value is None and column.required:
            findings.append(self._finding(row, column, "KFW-L003", f"{column.zh} is empty"))
            return None
        if value is not None and column.kind in _VOCAB_CHECKS:
            return _VOCAB_CHECKS[column.kind](self, row, column, value, findings)
        return value

    def _finding(self, row: Row, column: Column, code: str, message: str,
                 hint: str | None = None) -> Finding:
        return Finding(code, message, file=self.file, line=row.number,
                       column_name=self.where(column), hint=hint)

    def check_category(self, row: Row, column: Column, value: str, findings: list[Finding]) -> Any:
        found = _lookup(self.vocabulary.categories, value)
        if found is None:
            names = [c.id for c in self.vocabulary.categories] + [
                c.name for c in self.vocabulary.categories
            ]
            findings.append(self._finding(row, column, "KFW-L004", f"unknown category {value!r}",
                                          did_you_mean(value, names, cutoff=0.5) or
                                          "categories are listed in policies.yaml"))
            return None
        return found

    def check_county(self, row: Row, column: Column, value: str, findings: list[Finding]) -> Any:
        found = _lookup(self.vocabulary.counties, value)
        if found is None:
            names = [c.name for c in self.vocabulary.counties]
            findings.append(self._finding(row, column, "KFW-L005", f"unknown county {value!r}",
                                          did_you_mean(value, names, cutoff=0.5) or
                                          "counties are listed in policies.yaml"))
            return None
        return found.id

    def check_milestone(self, row: Row, column: Column, value: str, findings: list[Finding]) -> Any:
        for milestone, label in self.vocabulary.milestones.items():
            if value in (milestone, label):
                return milestone
        labels = list(self.vocabulary.milestones.values())
        findings.append(self._finding(row, column, "KFW-L009", f"unknown milestone {value!r}",
                                      did_you_mean(value, labels, cutoff=0.5)
                                      or "milestones are listed in policies.yaml"))
        return None

    def check_problem_type(self, row: Row, column: Column, value: str,
                           findings: list[Finding]) -> Any:
        found = _lookup(self.vocabulary.problem_types, value)
        if found is None:
            names = [p.name for p in self.vocabulary.problem_types]
            findings.append(self._finding(row, column, "KFW-L012",
                                          f"unknown problem type {value!r}",
                                          f"expected one of {', '.join(names)}"))
            return None
        return found.id

    def check_level(self, row: Row, column: Column, value: str, findings: list[Finding]) -> Any:
        level = LEVEL_NAMES.get(value, value)
        if level not in ("county", "city", "province"):
            findings.append(self._finding(row, column, "KFW-L013", f"unknown level {value!r}",
                                          "expected 县级, 市级 or 省级 (county, city, province)"))
            return None
        return level


def _column_letter(index: int) -> str:
    """1 → A, 27 → AA: CSV columns named as a spreadsheet shows them."""
    letters = ""
    while index > 0:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


def _text(raw: object) -> str | None:
    text = parse_text(raw)
    # Our exports protect text such as "=..." with a leading apostrophe; read it back as it was.
    if text and len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text


_PARSERS: dict[str, Callable[[object], Any]] = {
    "text": _text,
    "number": parse_number,
    "date": parse_date,
    "milestone": _text,
    "category": _text,
    "county": _text,
    "level": _text,
    "problem_type": _text,
}

_VOCAB_CHECKS: dict[str, Callable[..., Any]] = {
    "category": RowReader.check_category,
    "county": RowReader.check_county,
    "milestone": RowReader.check_milestone,
    "problem_type": RowReader.check_problem_type,
    "level": RowReader.check_level,
}


def parse_ledger(sheet: Sheet, header_map: HeaderMap, vocabulary: Vocabulary,
                 *, today: date) -> Parsed:
    reader = RowReader(sheet, header_map, vocabulary)
    missing = reader.missing_columns()
    if missing:
        return Parsed([], missing, {})
    records: list[ProjectRecord] = []
    findings: list[Finding] = []
    bad_rows: dict[int, list[Finding]] = {}
    first_row_of: dict[str, int] = {}
    milestones = [m for m in vocabulary.milestones if m not in ("planned", "adjusted")]
    for row in sheet.rows:
        row_findings: list[Finding] = []
        values = {c.field: reader.value(row, c.field, row_findings) for c in header_map.columns
                  if c.field in reader.header_of}
        code = values.get("code")
        if code is not None:
            if code in first_row_of:
                row_findings.append(reader._finding(
                    row, header_map.column("code"), "KFW-L008",
                    f"duplicate project code {code} (first on row {first_row_of[code]})"))
            else:
                first_row_of[code] = row.number
        category = values.get("category")
        record = None
        if not row_findings and code is not None and category is not None:
            record = ProjectRecord(
                row=row.number,
                code=code,
                name=values["name"],
                category=category.id,
                county=values["county"],
                task_force=category.task_force,
                responsible_unit=values["responsible_unit"],
                responsible_person=values["responsible_person"],
                total_investment=values["total_investment"],
                annual_investment=values["annual_investment"],
                batch=values.get("batch"),
                owner_unit=values.get("owner_unit"),
                planned_funds=values.get("planned_funds"),
                state=values.get("state"),
                planned={m: values[f"planned_{m}_on"] for m in milestones
                         if values.get(f"planned_{m}_on")},
                actual={m: values[f"{m}_on"] for m in milestones if values.get(f"{m}_on")},
            )
            row_findings.extend(_check_path(reader, row, record, category, today))
        if row_findings:
            findings.extend(row_findings)
            bad_rows[row.number] = row_findings
        elif record is not None:
            records.append(record)
    return Parsed(records, findings, bad_rows, reader.column_labels())


def _check_path(reader: RowReader, row: Row, record: ProjectRecord, category: CategoryLike,
                today: date) -> list[Finding]:
    """The state and actual dates must sit on the category's path, in order, not in future."""
    findings: list[Finding] = []
    path = category.path
    state_column = reader.header_map.column("state")
    if record.state is not None and record.state not in path and record.state != "adjusted":
        findings.append(reader._finding(
            row, state_column, "KFW-L009",
            f"state {record.state!r} is not on the path of category {category.id}",
            f"allowed: {' → '.join(path)}"))
        return findings
    reached = [m for m in path if m in record.actual]
    if record.state is None:
        record.state = reached[-1] if reached else path[0]
    elif record.state != "adjusted":
        beyond = [m for m in reached if path.index(m) > path.index(record.state)]
        if beyond:
            findings.append(reader._finding(
                row, state_column, "KFW-L011",
                f"state is {record.state} but an actual date is given for the later milestone "
                f"{beyond[0]}"))
    previous: tuple[str, date] | None = None
    for milestone in path:
        on = record.actual.get(milestone)
        if on is None:
            continue
        column = reader.header_map.column(f"{milestone}_on")
        if on > today:
            findings.append(reader._finding(
                row, column, "KFW-L010", f"actual date {on} is in the future (today is {today})"))
        if previous is not None and on < previous[1]:
            findings.append(reader._finding(
                row, column, "KFW-L010",
                f"{milestone} on {on} is before the previous milestone {previous[0]} on "
                f"{previous[1]}"))
        previous = (milestone, on)
    return findings


def parse_daily(sheet: Sheet, header_map: HeaderMap, vocabulary: Vocabulary) -> Parsed:
    reader = RowReader(sheet, header_map, vocabulary)
    missing = reader.missing_columns()
    if missing:
        return Parsed([], missing, {})
    records: list[DailyRecord] = []
    findings: list[Finding] = []
    bad_rows: dict[int, list[Finding]] = {}
    for row in sheet.rows:
        row_findings: list[Finding] = []
        values = {c.field: reader.value(row, c.field, row_findings) for c in header_map.columns
                  if c.field in reader.header_of}
        if values.get("problem_title") and not values.get("problem_type") and not row_findings:
            row_findings.append(reader._finding(row, header_map.column("problem_type"), "KFW-L012",
                                                "a problem needs its type",
                                                "fill 问题类型 on the same row"))
        if row_findings:
            findings.extend(row_findings)
            bad_rows[row.number] = row_findings
            continue
        records.append(DailyRecord(row=row.number, **values))
    return Parsed(records, findings, bad_rows, reader.column_labels())


def parse_tasks(sheet: Sheet, header_map: HeaderMap, vocabulary: Vocabulary) -> Parsed:
    reader = RowReader(sheet, header_map, vocabulary)
    missing = reader.missing_columns()
    if missing:
        return Parsed([], missing, {})
    records: list[TaskRecord] = []
    findings: list[Finding] = []
    bad_rows: dict[int, list[Finding]] = {}
    for row in sheet.rows:
        row_findings: list[Finding] = []
        values = {c.field: reader.value(row, c.field, row_findings) for c in header_map.columns
                  if c.field in reader.header_of}
        if row_findings:
            findings.extend(row_findings)
            bad_rows[row.number] = row_findings
            continue
        records.append(TaskRecord(row=row.number, **values))
    return Parsed(records, findings, bad_rows, reader.column_labels())


def source_name(path: Path) -> str:
    return path.name
