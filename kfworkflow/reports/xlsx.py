"""Documents as workbooks: one sheet per part, real numbers with number formats, rates as
fractions shown as percentages. Writing goes through :func:`kfworkflow.ledger.tabular.write_xlsx`,
which freezes the header row, sizes the columns and neutralises formula-looking text.

A forwarded workbook says what it is: each sheet opens with the document's title line (title,
date, week or period, recipient) and its meta line (as-of date, organisation, rule revision,
pass run), then the part's summary lines, above the frozen header row; printed pages carry the
title at the top left and "page x of y" at the bottom right; the workbook's properties hold the
title, a subject naming the date or week, the recipient and the run, and the organisation as
its author."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kfworkflow.ledger.tabular import XlsxSheet, write_xlsx
from kfworkflow.ledger.tabular_write import XlsxProperties
from kfworkflow.reports.context import (
    LAGS,
    AssignmentRow,
    DailyBulletin,
    DailyRow,
    Document,
    DocumentInfo,
    LaggingProject,
    MonthlyRanking,
    WeeklyList,
)
from kfworkflow.reports.filters import (
    build_filters,
    dimension_names,
    format_period,
    pct,
    review_counts,
    review_outcome,
    unit_names,
)
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


def _sheet(title: str, columns: Sequence[Column], rows: list[Sequence[object]],
           lines: Sequence[str] = ()) -> XlsxSheet:
    """A sheet of a document; ``lines`` are its part's summary lines (the document's title and
    meta lines are added by :func:`document_sheets`)."""
    return XlsxSheet(title=title, headers=[c.header for c in columns], rows=rows,
                     number_formats={i: c.number_format for i, c in enumerate(columns)
                                     if c.number_format},
                     title_rows=tuple(lines))


def _joiner(lang: str) -> Callable[..., str]:
    separator = "" if lang == "zh" else " "
    return lambda *parts: separator.join(parts)


@dataclass(frozen=True)
class Heading:
    """What identifies a document: ``title`` (the document title, its date, week or period
    and its recipient: the first row of each sheet and the printed page header), ``meta``
    (as-of date, organisation, rule revision, pass run) and ``subject`` (the workbook
    property: date or week, recipient, run)."""

    title: str
    meta: str
    subject: str


def document_heading(doc: Document, lang: str = "zh") -> Heading:
    """The title, meta line and subject of a document's workbook, worded as its md/html
    heading is."""
    t = messages(lang)
    f = build_filters(lang)
    info = doc.info
    recipient: str | None = None
    if isinstance(doc, DailyBulletin):
        name, when = t["daily_title"], f["long_date"](info.as_of)
    elif isinstance(doc, WeeklyList):
        recipient = doc.recipient
        name = (t["weekly_title_for"].format(recipient=recipient) if recipient
                else t["weekly_title"])
        when = f["week_label"](doc.week, doc.week_start, doc.week_end)
        if not recipient:
            when = f"{when}{_SEP}{t['overall_list']}"
    else:
        name = (f"{format_period(t, doc.period_kind, doc.period)} "
                f"{t['ranking_title_' + doc.period_kind]}")
        when = f"{t['period']} {doc.period_start.isoformat()} — {doc.period_end.isoformat()}"
    title = _SEP.join(p for p in (f"{info.title} {name}".strip(), when) if p)
    run = f"{t['pass_run']} #{info.pass_run_id}" if info.pass_run_id is not None else None
    subject = _SEP.join(p for p in (
        when, f"{t['recipient']}{_colon(lang)}{recipient}" if recipient else None,
        None if isinstance(doc, DailyBulletin) else f"{t['as_of']} {info.as_of.isoformat()}",
        run) if p)
    return Heading(title=title, meta=_meta(info, t, f["long_date"]), subject=subject)


_SEP = " · "


def _colon(lang: str) -> str:
    return "：" if lang == "zh" else ": "


def _meta(info: DocumentInfo, t: Mapping[str, str], long_date: Callable[..., str]) -> str:
    """The meta line of the md/html documents: as-of date, organisation, rule revision, run."""
    parts = [f"{t['as_of']} {long_date(info.as_of)}", info.organisation or None,
             f"{t['rule_revision']} {info.rule_revision}" if info.rule_revision else None,
             f"{t['pass_run']} #{info.pass_run_id}" if info.pass_run_id is not None else None]
    return _SEP.join(p for p in parts if p)


def document_sheets(doc: Document, lang: str = "zh") -> list[XlsxSheet]:
    """The sheets of a daily, weekly or monthly document, each headed by the document's title
    and meta lines and printed with them."""
    t = messages(lang)
    if isinstance(doc, DailyBulletin):
        sheets = _daily(doc, t, lang)
    elif isinstance(doc, WeeklyList):
        sheets = _weekly(doc, t)
    else:
        sheets = _monthly(doc, t, lang)
    heading = document_heading(doc, lang)
    for sheet in sheets:
        sheet.title_rows = (heading.title, heading.meta, *sheet.title_rows)
        sheet.page_header = heading.title
        sheet.page_footer = t["page_of"]
    return sheets


def document_properties(doc: Document, lang: str = "zh") -> XlsxProperties:
    """The workbook's properties: title, subject (date or week, recipient, run), the
    organisation as its author, the meta line as its description."""
    heading = document_heading(doc, lang)
    return XlsxProperties(title=heading.title, subject=heading.subject,
                          creator=doc.info.organisation or None, description=heading.meta)


def write_document_xlsx(doc: Document, path: Path, lang: str = "zh") -> None:
    write_xlsx(path, document_sheets(doc, lang), document_properties(doc, lang))


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


def _daily_note(doc: DailyBulletin, t: Mapping[str, str]) -> str:
    """The bulletin's note line: the pro-rata target, the day compared with, the units."""
    previous = doc.previous_on.isoformat() if doc.previous_on else t["no_previous"]
    return _SEP.join((f"{t['pro_rata_target']} {pct(doc.pro_rata_target)}",
                      f"{t['previous_on']} {previous}", t["money_unit"]))


def _daily(doc: DailyBulletin, t: Mapping[str, str], lang: str) -> list[XlsxSheet]:
    values = _daily_columns(t, lang)
    note = [_daily_note(doc, t)]
    by_county = _sheet(t["by_county"], [Column(t["county"]), *values],
                       [[r.name, *_daily_values(r)] for r in (*doc.counties, doc.total)], note)
    by_category = _sheet(
        t["by_category"], [Column(t["category"]), Column(t["county"]), *values],
        [[s.category_name, r.name, *_daily_values(r)]
         for s in doc.sections for r in (*s.rows, s.total)], note)
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


def _assignment_values(item: AssignmentRow, t: Mapping[str, str]) -> list[object]:
    level = t.get(f"level_{item.level}", item.level)
    if item.escalated_from:
        earlier = t.get(f"level_{item.escalated_from}", item.escalated_from).lower()
        level += t["aside"].format(text=t["escalated_from"].format(level=earlier))
    return [item.number, item.assigned_on, item.project_code, item.project_name,
            item.category_name, item.county_name,
            item.problem if item.problem is not None else t["project_as_subject"],
            item.problem_type_name, level,
            unit_names(item.lead_units, t), unit_names(item.cooperating_units, t),
            item.responsible_person, item.deadline_on, item.days_overdue,
            t.get(f"status_{item.status}", item.status), _light(item.light, t), item.reason,
            item.progress]


def _light(value: str | None, t: Mapping[str, str]) -> str | None:
    return None if value is None else t.get(f"light_{value}", value)


def _lagging_values(p: LaggingProject, t: Mapping[str, str]) -> list[object]:
    """A slow project's row: the milestone columns only for a late milestone, what is lit only
    for the projects lit for something else than milestones or investment."""
    late = p.lag == "milestone"
    other = p.lag == "other"
    return [t[f"lag_{p.lag}"], p.code, p.name, p.category_name, p.county_name, p.recipient,
            p.responsible_unit, p.milestone_name if late else None,
            p.planned_on if late else None, p.lag_days if late else None,
            p.investment_completion_rate, p.pro_rata_gap_pp,
            dimension_names(p.light_dimensions, t) if other else None,
            p.disbursement_rate if other else None, _light(p.light, t)]


def _weekly(doc: WeeklyList, t: Mapping[str, str]) -> list[XlsxSheet]:
    columns = _assignment_columns(t)
    review = _sheet(
        t["sheet_review"], [Column(t["outcome"]), *columns],
        [[review_outcome(r, t), *_assignment_values(r.item, t)]
         for r in doc.review.items],
        [t["part_review"], review_counts(doc.review, t)])
    new = _sheet(t["sheet_new"], columns,
                 [_assignment_values(i, t) for i in doc.items],
                 [t["part_new"], *([] if doc.items else [t["none_listed"]])])
    ordered = [p for lag in LAGS for p in doc.lagging if p.lag == lag]
    lagging = _sheet(
        t["sheet_lagging"],
        [Column(t["lag_type"]), Column(t["project_code"]), Column(t["project"]),
         Column(t["category"]), Column(t["county"]), Column(t["recipient"]),
         Column(t["responsible_unit"]), Column(t["milestone"]), Column(t["planned_on"]),
         Column(t["lag_days"], COUNT), Column(t["investment_completion_rate"], PERCENT),
         Column(t["pro_rata_gap"], POINTS), Column(t["light_dimensions"]),
         Column(t["disbursement_rate"], PERCENT), Column(t["light"])],
        [_lagging_values(p, t) for p in ordered],
        [t["part_lagging"], *(t[f"lag_{lag}_note"] for lag in LAGS),
         *([] if doc.lagging else [t["none_listed"]])])
    return [review, new, lagging]


# ---------------------------------------------------------------------------- monthly


def _monthly(doc: MonthlyRanking, t: Mapping[str, str], lang: str) -> list[XlsxSheet]:
    metric_columns = [column for w in doc.weights for column in (
        Column(t.get(w.metric, w.metric), PERCENT),
        Column(f"{t.get(w.metric, w.metric)} {t['points']}", SCORE))]
    weights = t["list_sep"].join(f"{t.get(w.metric, w.metric)} {pct(w.weight, 0)}"
                                 for w in doc.weights)
    ranking = _sheet(
        t["ranking"],
        [Column(t["rank"], COUNT), Column(t["county"]), Column(t["score"], SCORE),
         *metric_columns, Column(t["previous_rank"], COUNT), Column(t["rank_change"], COUNT),
         Column(t["assigned"], COUNT), Column(t["closed_out"], COUNT),
         Column(t["closure_rate"], PERCENT), Column(t["light"])],
        [[r.rank, r.county_name, r.score,
          *[v for m in r.metrics for v in (m.rate, m.points)],
          r.previous_rank, r.rank_change, r.assigned, r.closed_out, r.closure_rate,
          _light(r.light, t)] for r in doc.rows],
        [f"{t['weights']}{_colon(lang)}{weights}"])
    periods = [p.period for p in doc.trend[0].points] if doc.trend else []
    trend = _sheet(
        t["score_trend"], [Column(t["county"]), *[Column(p, SCORE) for p in periods]],
        [[s.county_name, *[p.score for p in s.points]] for s in doc.trend])
    summary_rows: list[Sequence[object]] = [
        [t["period"], format_period(t, doc.period_kind, doc.period)],
        [t["assigned"], doc.assigned],
        [t["closed_out"], doc.closed_out],
        [t["closure_rate"], doc.closure_rate],
        [t["last_place"], doc.last_place.county_name if doc.last_place else None],
        [t["reminder_talks"], t["list_sep"].join(r.county_name for r in doc.reminder_talks)
         or None],
        [t["top_units"], t["list_sep"].join(r.county_name for r in doc.top) or None],
        [t["bottom_units"], t["list_sep"].join(r.county_name for r in doc.bottom) or None],
    ]
    lines = [t["closure_summary"].format(assigned=doc.assigned, closed_out=doc.closed_out,
                                         rate=pct(doc.closure_rate))]
    if doc.last_place:
        lines.append(t["last_place_text"].format(county=doc.last_place.county_name))
    summary = XlsxSheet(title=t["summary"], headers=[t["item_label"], t["value_label"]],
                        rows=summary_rows, cell_number_formats={(1, 1): COUNT, (2, 1): COUNT,
                                                                (3, 1): PERCENT},
                        title_rows=tuple(lines))
    return [ranking, trend, summary]
