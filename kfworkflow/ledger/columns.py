"""The columns of the ledger (台账) and daily-report files, with their Chinese and English headers.

The built-in headers below are what real sheets use; ``policies.yaml``'s ``ledger.headers`` adds
aliases (e.g. ``建设单位: owner_unit``). Headers are compared after
:func:`kfworkflow.ledger.cells.normalize_header`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kfworkflow.ledger.cells import normalize_header


@dataclass(frozen=True)
class Column:
    field: str
    zh: str
    kind: str  # text | number | date | milestone | category | county | level | problem_type
    required: bool = False
    aliases: tuple[str, ...] = ()


MILESTONE_LABELS: Mapping[str, str] = {
    "planned": "计划",
    "signed": "签约",
    "allocated": "下达",
    "approved": "审核通过",
    "funded": "资金到位",
    "disbursed": "资金拨付",
    "tendering": "招投标",
    "started": "开工",
    "completed": "竣工",
    "in_production": "投产",
}


def _milestone_columns(labels: Mapping[str, str]) -> list[Column]:
    columns: list[Column] = []
    for milestone, label in labels.items():
        if milestone in ("planned", "adjusted"):
            continue
        columns.append(Column(f"planned_{milestone}_on", f"计划{label}日期", "date"))
    for milestone, label in labels.items():
        if milestone in ("planned", "adjusted"):
            continue
        columns.append(Column(f"{milestone}_on", f"实际{label}日期", "date"))
    return columns


def ledger_columns(labels: Mapping[str, str] = MILESTONE_LABELS) -> list[Column]:
    return [
        Column("code", "项目代码", "text", True, ("国家项目代码", "项目编码")),
        Column("name", "项目名称", "text", True),
        Column("category", "项目类别", "category", True, ("项目类型",)),
        Column("batch", "批次", "text"),
        Column("county", "所属县区", "county", True, ("县区", "所在县区")),
        Column("responsible_unit", "责任单位", "text", True),
        Column("responsible_person", "责任人", "text", True),
        Column("owner_unit", "项目单位", "text", False, ("建设单位",)),
        Column("total_investment", "总投资(万元)", "number", True, ("总投资",)),
        Column(
            "annual_investment",
            "年度计划投资(万元)",
            "number",
            True,
            ("年度计划投资", "年度投资计划(万元)"),
        ),
        Column("planned_funds", "计划资金(万元)", "number", False, ("计划资金",)),
        Column("state", "当前状态", "milestone"),
        *_milestone_columns(labels),
    ]


TASK_COLUMNS: tuple[Column, ...] = (
    Column("code", "项目代码", "text", True),
    Column("title", "任务", "text", True, ("任务名称",)),
    Column("owner", "责任人", "text"),
    Column("due_on", "完成时限", "date"),
    Column("done_on", "完成日期", "date"),
)

DAILY_COLUMNS: tuple[Column, ...] = (
    Column("code", "项目代码", "text", True),
    Column("report_on", "填报日期", "date", True, ("日期",)),
    Column("completed_investment", "累计完成投资(万元)", "number", False, ("累计完成投资",)),
    Column("funds_arrived", "累计到位资金(万元)", "number", False, ("累计到位资金",)),
    Column("funds_disbursed", "累计拨付资金(万元)", "number", False, ("累计拨付资金",)),
    Column("milestone", "里程碑", "milestone"),
    Column("milestone_on", "里程碑日期", "date"),
    Column("problem_type", "问题类型", "problem_type"),
    Column("problem_level", "协调层级", "level"),
    Column("problem_title", "问题描述", "text"),
    Column("note", "备注", "text"),
)


@dataclass(frozen=True)
class HeaderMap:
    """Maps the headers found in a file to canonical fields."""

    columns: tuple[Column, ...]
    by_header: Mapping[str, str]

    @classmethod
    def build(cls, columns: Sequence[Column], extra: Mapping[str, str] | None = None) -> HeaderMap:
        by_header: dict[str, str] = {}
        for column in columns:
            for header in (column.field, column.zh, *column.aliases):
                by_header[normalize_header(header)] = column.field
        for header, field in (extra or {}).items():
            by_header[normalize_header(header)] = field
        return cls(tuple(columns), by_header)

    def field_of(self, header: str) -> str | None:
        return self.by_header.get(normalize_header(header))

    def column(self, field: str) -> Column:
        return next(c for c in self.columns if c.field == field)

    def required(self) -> list[Column]:
        return [c for c in self.columns if c.required]

    def headers_zh(self) -> list[str]:
        return [c.zh for c in self.columns]
