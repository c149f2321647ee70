"""Small helpers shared by tests: run the CLI in-process, write CSV fixtures, count rows."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from kfworkflow.cli.main import main


@dataclass
class Result:
    exit_code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(headers)
        writer.writerows(rows)
    return path


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(text(table))).scalar_one())


def snapshot(engine: Engine, tables: Sequence[str]) -> dict[str, int]:
    return {t: count(engine, t) for t in tables}


LEDGER_TABLES = ("project", "project_milestone", "project_change", "milestone_event",
                 "daily_report", "problem", "project_task")

HEADERS = ["项目代码", "项目名称", "项目类别", "所属县区", "责任单位", "责任人", "项目单位",
           "总投资(万元)", "年度计划投资(万元)", "计划开工日期", "计划竣工日期", "当前状态",
           "实际开工日期"]


def ledger_row(code: str, *, name: str = "兰考县绿色建材项目", category: str = "省市重点项目",
               county: str = "兰考县", total: object = "12,000", annual: object = "3000",
               planned_start: object = "2022-11-15", planned_end: object = "2023-12-31",
               state: object = "", started: object = "") -> list[object]:
    return [code, name, category, county, "兰考县人民政府", "张伟", "开封市建材有限公司",
            total, annual, planned_start, planned_end, state, started]
