"""Documents as workbooks: one sheet per part, real numbers with number formats, rates as
fractions shown as percentages. Writing goes through :func:`kfworkflow.ledger.tabular.write_xlsx`,
which freezes the header row, sizes the columns and neutralises formula-looking text."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfworkflow.ledger.tabular import XlsxSheet, write_xlsx
from kfworkflow.reports.context import (
    AssignmentRow,
    DailyBulletin,
    DailyRow,
    Document,
    MonthlyRanking,
    WeeklyList,
)
from kfworkflow.reports.filters import format_period, pct
from kfworkflow.reports.messages import messages

PERCENT = "0.0%"
POINTS = "+0.0;-0.0;0.0"
MONEY = "#,##0"
SCORE = "0.00"
COUNT = "0"


@dataclass(frozen=True)
class Column:
    header: str
    number_format: str | None = None


def _sheet(title: str, columns: Sequence[Column], rows: list[Sequence[object]]) -> XlsxSheet:
    return XlsxSheet(title=title, headers=[c.header for c in columns], rows=rows,
                     number_formats={i: c.number_format for i, c in enumerate(columns)
                                     if c.number_format})


def _joiner(lang: str) -> Callable[..., str]:
    separator = "" if lang == "zh" else " "
    return lambda *parts: separator.join(parts)


def document_sheets(doc: Document, lang: str = "zh") -> list[XlsxSheet]:
    """The sheets of a daily, weekly or monthly document."""
    t = messages(lang)
    if isinstance(doc, DailyBulletin):
        return _daily(doc, t, lang)
    if isinstance(doc, WeeklyList):
        return _weekly(doc, t)
    return _monthly(doc, t)


def write_document_xlsx(doc: Document, path: Path, lang: str = "zh") -> None:
    write_xlsx(path, document_sheets(doc, lang))


# ---------------------------------------------------------------------------- daily


def _daily_columns(t: Mapping[str, str], lang: str) -> list[Column]:
    j = _joiner(lang)
    money = t["unit_wan"]
    return [
        Column(t["projects"], COUNT),
        Column(t["col_due_to_start"], COUNT),
        Column(t["col_started"], COUNT),
        Column(t["start_rate"], PERCENT),
        Column(j(t["start_rate"], t["change"]), POINTS),
        Column(j(t["planned_investment"], money), MONEY),
        Column(j(t["completed_investment"], money), MONEY),
        Column(t["investment_completion_rate"], PERCENT),
        Column(t["pro_rata_gap"], POINTS),
        Column(j(t["investment_completion_rate"], t["change"]), POINTS),
        Column(j(t["planned_funds"], money), MONEY),
        Column(j(t["funds_arrived"], money), MONEY),
        Column(t["funds_in_place_rate"], PERCENT),
        Column(j(t["funds_in_place_rate"], t["change"]), POINTS),
        Column(t["col_due_to_complete"], COUNT),
        Column(t["col_completed_on_time"], COUNT),
        Column(t["on_time_completion_rate"], PERCENT),
        Column(j(t["on_time_completion_rate"], t["change"]), POINTS),
        Column(t["light_red"], COUNT),
        Column(t["light_yellow"], COUNT),
        Column(t["light_green"], COUNT),
    ]


def _daily_values(row: DailyRow) -> list[object]:
    return [row.projects, row.due_to_start, row.started, row.start_rate,
            row.start_rate_change_pp, row.planned_investment, row.completed_investment,
            row.investment_completion_rate, row.pro_rata_gap_pp,
            row.investment_completion_rate_change_pp, row.planned_funds, row.funds_arrived,
            row.funds_in_place_rate, row.funds_in_place_rate_change_pp, row.due_to_complete,
            row.completed_on_time, row.on_time_completion_rate,
            row.on_time_completion_rate_change_pp, row.red, row.yellow, row.green]


def _daily(doc: DailyBulletin, t: Mapping[str, str], lang: str) -> list[XlsxSheet]:
    values = _daily_columns(t, lang)
    by_county = _sheet(t["by_county"], [Column(t["county"]), *values],
                       [[r.name, *_daily_values(r)] for r in (*doc.counties, doc.total)])
    by_category = _sheet(
        t["by_category"], [Column(t["category"]), Column(t["county"]), *values],
        [[s.category_name, r.name, *_daily_values(r)]
         for s in doc.sections for r in (*s.rows, s.total)])
    missing = _sheet(
        t["not_reported"],
        [Column(t["county"]), Column(t["missed_days"], COUNT), Column(t["last_report_on"])],
        [[m.county_name, m.missed_days, m.last_report_on] for m in doc.not_reported])
    return [by_county, by_category, missing]


# ---------------------------------------------------------------------------- weekly


def _assignment_columns(t: Mapping[str, str]) -> list[Column]:
    return [Column(t[key], COUNT if key == "days_overdue" else None) for key in (
        "number", "assigned_on", "project_code", "project", "category", "county", "problem",
        "problem_type", "level", "lead_units", "cooperating_units", "responsible_person",
        "deadline_on", "days_overdue", "status", "project_light", "reason", "progress")]


def _assignment_values(item: AssignmentRow, t: Mapping[str, str], separator: str
                       ) -> list[object]:
    return [item.number, item.assigned_on, item.project_code, item.project_name,
            item.category_name, item.county_name,
            item.problem if item.problem is not None else t["project_as_subject"],
            item.problem_type_name, t.get(f"level_{item.level}", item.level),
            separator.join(item.lead_units), separator.join(item.cooperating_units),
            item.responsible_person, item.deadline_on, item.days_overdue,
            t.get(f"status_{item.status}", item.status), _light(item.light, t), item.reason,
            item.progress]


def _light(value: str | None, t: Mapping[str, str]) -> str | None:
    return None if value is None else t.get(f"light_{value}", value)


def _weekly(doc: WeeklyList, t: Mapping[str, str]) -> list[XlsxSheet]:
    separator = t["list_sep"]
    columns = _assignment_columns(t)
    review = _sheet(
        t["sheet_review"], [Column(t["outcome"]), *columns],
        [[t.get(f"outcome_{r.outcome}", r.outcome), *_assignment_values(r.item, t, separator)]
         for r in doc.review.items])
    new = _sheet(t["sheet_new"], columns,
                 [_assignment_values(i, t, separator) for i in doc.items])
    lagging = _sheet(
        t["sheet_lagging"],
        [Column(t["project_code"]), Column(t["project"]), Column(t["category"]),
         Column(t["county"]), Column(t["recipient"]), Column(t["responsible_unit"]),
         Column(t["milestone"]), Column(t["planned_on"]), Column(t["lag_days"], COUNT),
         Column(t["investment_completion_rate"], PERCENT), Column(t["pro_rata_gap"], POINTS),
         Column(t["light"])],
        [[p.code, p.name, p.category_name, p.county_name, p.recipient, p.responsible_unit,
          p.milestone_name, p.planned_on, p.lag_days, p.investment_completion_rate,
          p.pro_rata_gap_pp, _light(p.light, t)] for p in doc.lagging])
    return [review, new, lagging]


# ---------------------------------------------------------------------------- monthly


def _monthly(doc: MonthlyRanking, t: Mapping[str, str]) -> list[XlsxSheet]:
    metric_columns = [column for w in doc.weights for column in (
        Column(t.get(w.metric, w.metric), PERCENT),
        Column(f"{t.get(w.metric, w.metric)} {t['points']}", SCORE))]
    ranking = _sheet(
        t["ranking"],
        [Column(t["rank"], COUNT), Column(t["county"]), Column(t["score"], SCORE),
         *metric_columns, Column(t["previous_rank"], COUNT), Column(t["rank_change"], COUNT),
         Column(t["assigned"], COUNT), Column(t["closed_out"], COUNT),
         Column(t["closure_rate"], PERCENT), Column(t["light"])],
        [[r.rank, r.county_name, r.score,
          *[v for m in r.metrics for v in (m.rate, m.points)],
          r.previous_rank, r.rank_change, r.assigned, r.closed_out, r.closure_rate,
          _light(r.light, t)] for r in doc.rows])
    periods = [p.period for p in doc.trend[0].points] if doc.trend else []
    trend = _sheet(
        t["score_trend"], [Column(t["county"]), *[Column(p, SCORE) for p in periods]],
        [[s.county_name, *[p.score for p in s.points]] for s in doc.trend])
    summary_rows: list[Sequence[object]] = [
        [t["period"], format_period(t, doc.period_kind, doc.period)],
        [t["assigned"], doc.assigned],
        [t["closed_out"], doc.closed_out],
        [t["closure_rate"], pct(doc.closure_rate)],
        [t["last_place"], doc.last_place.county_name if doc.last_place else None],
        [t["reminder_talks"], t["list_sep"].join(r.county_name for r in doc.reminder_talks)
         or None],
        [t["top_units"], t["list_sep"].join(r.county_name for r in doc.top) or None],
        [t["bottom_units"], t["list_sep"].join(r.county_name for r in doc.bottom) or None],
    ]
    summary = XlsxSheet(title=t["summary"], headers=[t["item_label"], t["value_label"]],
                        rows=summary_rows)
    return [ranking, trend, summary]
