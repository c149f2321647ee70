"""Importing ledgers, task lists and daily reports: all-or-nothing, or ``--skip-bad``.

Reading and checking happen before the transaction opens; any finding refuses the whole file
(nothing is written) unless the caller asked to skip bad rows, in which case each rejected row is
written to a rejects CSV with its reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import Finding, ImportRejectedError, InputError
from kfworkflow.ledger.columns import DAILY_COLUMNS, TASK_COLUMNS, HeaderMap, ledger_columns
from kfworkflow.ledger.records import Parsed, parse_daily, parse_ledger, parse_tasks
from kfworkflow.ledger.tabular import list_sheets, read_table, write_csv
from kfworkflow.storage.db import write_session
from kfworkflow.storage.ledger_store import (
    DailyImportResult,
    LedgerImportResult,
    apply_daily,
    apply_ledger,
    apply_tasks,
)

TASK_SHEET_NAMES = ("任务清单", "清单", "tasks")


@dataclass
class ImportOutcome:
    result: Any
    rejected_rows: int
    rejects_file: Path | None
    tasks: int = 0


def _header_map(workspace: Workspace, columns: Sequence[Any]) -> HeaderMap:
    return HeaderMap.build(columns, dict(workspace.policies.ledger.headers))


def _check(parsed: Parsed, path: Path, skip_bad: Path | None, sheet_rows: dict[int, dict[str, Any]]
           ) -> int:
    if not parsed.findings:
        return 0
    if skip_bad is None or not parsed.bad_rows:
        raise ImportRejectedError(
            f"{path}: {len(parsed.findings)} problem(s); nothing was imported", parsed.findings)
    _write_rejects(skip_bad, parsed.bad_rows, sheet_rows)
    return len(parsed.bad_rows)


def _write_rejects(target: Path, bad_rows: dict[int, list[Finding]],
                   sheet_rows: dict[int, dict[str, Any]]) -> None:
    headers = sorted({h for n in bad_rows for h in sheet_rows.get(n, {})}, key=str)
    rows = []
    for number, findings in sorted(bad_rows.items()):
        values = sheet_rows.get(number, {})
        reasons = "; ".join(f"{f.code} {f.column_name or ''} {f.message}".strip()
                            for f in findings)
        rows.append([number, reasons, *[values.get(h) for h in headers]])
    write_csv(target, ["row", "reason", *headers], rows)


def _read(path: Path, sheet: str | None = None) -> tuple[Any, dict[int, dict[str, Any]]]:
    table = read_table(path, sheet)
    rows = list(table.rows)
    return replace(table, rows=rows), {r.number: dict(r.values) for r in rows}


def import_ledger(workspace: Workspace, path: Path, *, skip_bad: Path | None = None
                  ) -> ImportOutcome:
    policies = workspace.policies
    today = workspace.today()
    table, raw_rows = _read(path)
    parsed = parse_ledger(table, _header_map(workspace, ledger_columns(policies.milestones)),
                          policies, today=today)
    rejected = _check(parsed, path, skip_bad, raw_rows)
    tasks = _task_records(workspace, path)
    engine = workspace.ready_engine()
    now = workspace.clock.now()
    with write_session(engine) as session:
        result: LedgerImportResult = apply_ledger(
            session, parsed.records, lifecycle=workspace.lifecycle, source=path.name,
            actor=workspace.actor, now=now, today=today, file=str(path))
        session.flush()
        task_count = apply_tasks(session, tasks.records, source=path.name,
                                                file=f"{path} sheet 任务清单") if tasks else 0
    result.rejected = rejected
    return ImportOutcome(result, rejected, skip_bad if rejected else None, task_count)


def _task_records(workspace: Workspace, path: Path) -> Parsed | None:
    if path.suffix.lower() != ".xlsx":
        return None
    names = [n for n in list_sheets(path) if n in TASK_SHEET_NAMES]
    if not names:
        return None
    table, _ = _read(path, names[0])
    parsed = parse_tasks(table, _header_map(workspace, TASK_COLUMNS), workspace.policies)
    if parsed.findings:
        raise ImportRejectedError(f"{path} sheet {names[0]}: {len(parsed.findings)} problem(s); "
                                  "nothing was imported", parsed.findings)
    return parsed


def import_daily(workspace: Workspace, path: Path, *, skip_bad: Path | None = None
                 ) -> ImportOutcome:
    table, raw_rows = _read(path)
    parsed = parse_daily(table, _header_map(workspace, DAILY_COLUMNS), workspace.policies)
    rejected = _check(parsed, path, skip_bad, raw_rows)
    result = _apply_daily(workspace, parsed.records, path.name, file=str(path),
                          columns=parsed.columns)
    return ImportOutcome(result, rejected, skip_bad if rejected else None)


def _apply_daily(workspace: Workspace, records: Sequence[Any], source: str, *,
                 file: str | None = None, columns: dict[str, str] | None = None
                 ) -> DailyImportResult:
    if not records:
        raise InputError(f"{file or source}: no report rows to import")
    engine = workspace.ready_engine()
    with write_session(engine) as session:
        return apply_daily(session, records, lifecycle=workspace.lifecycle, source=source,
                           actor=workspace.actor, now=workspace.clock.now(),
                           today=workspace.today(), file=file, columns=columns)


def add_daily(workspace: Workspace, record: Any) -> DailyImportResult:
    return _apply_daily(workspace, [record], "kfw daily add")

