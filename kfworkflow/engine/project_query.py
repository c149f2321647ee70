"""One SELECT per chunk of projects: the ledger row and, joined to it, what a pass reads of each
project's latest report, prior lights, valid reason in force and open problems.

Each source is one index seek per project inside the database, so loading a chunk costs about
what a plain SELECT of the same rows costs; a source nobody reads is not joined at all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.sql import Select
from sqlmodel import col

from kfworkflow.storage.engine_models import SubjectLight
from kfworkflow.storage.models import DailyReport, Exemption, Problem, Project
from kfworkflow.storage.queries import keys_param

PROJECT_COLUMNS = ("id", "code", "name", "category", "batch", "county", "task_force",
                   "responsible_unit", "responsible_person", "owner_unit", "total_investment",
                   "annual_investment", "planned_funds", "state", "state_on")
# what every pass reads of a project: its id (the chunk cursor), code and units
KEY_COLUMNS = ("id", "code", "category", "county", "task_force")
REPORT_COLUMNS = ("report_on", "completed_investment", "funds_arrived", "funds_disbursed")
LIGHT_COLUMNS = ("color", "streak", "since_on")
AFTER = "after_id"
IDS = "project_ids"


@dataclass(frozen=True)
class ProjectQuery:
    """The statement (bound parameter ``after_id``: the last id of the previous chunk) and
    where each joined source starts in a result row (None: not joined)."""

    statement: Select[Any]
    column_at: Mapping[str, int]  # project column → position (the id is always first)
    report_at: int | None
    light_at: Mapping[str, int]
    exemption_at: int | None
    problems_at: int | None


def exemption_in_force(on: date) -> Any:
    return and_(col(Exemption.from_on) <= on,
                or_(col(Exemption.until_on).is_(None), col(Exemption.until_on) >= on),
                or_(col(Exemption.ended_on).is_(None), col(Exemption.ended_on) > on))


def problem_open(on: date) -> Any:
    return and_(col(Problem.opened_on) <= on,
                or_(col(Problem.status) == "open", col(Problem.resolved_on).is_(None),
                    col(Problem.resolved_on) > on))


def project_query(as_of: date, chunk: int, *, reports: bool, lights: Mapping[str, int],
                  exemptions: bool, problems: bool,
                  project_columns: Collection[str] = PROJECT_COLUMNS) -> ProjectQuery:
    """``lights``: dimension → the pass run whose light of that dimension precedes this pass;
    ``project_columns``: the ledger columns read (always with ``KEY_COLUMNS``)."""
    project = Project.__table__  # type: ignore[attr-defined]
    names = [*KEY_COLUMNS, *(c for c in PROJECT_COLUMNS
                             if c in project_columns and c not in KEY_COLUMNS)]
    columns: list[Any] = [project.c[name] for name in names]
    statement = select(*columns).select_from(project)
    report_at = exemption_at = problems_at = None
    if reports:
        report_at = len(columns)
        statement, added = _join_latest_report(statement, project, as_of)
        columns += added
    light_at: dict[str, int] = {}
    for n, (dimension, run_id) in enumerate(sorted(lights.items())):
        light_at[dimension] = len(columns)
        light = SubjectLight.__table__.alias(f"light_{n}")  # type: ignore[attr-defined]
        statement = statement.outerjoin(light, and_(
            light.c.pass_run_id == run_id, light.c.kind == "project",
            light.c.key == project.c.code, light.c.dimension == dimension))
        added = [light.c[name] for name in LIGHT_COLUMNS]
        statement = statement.add_columns(*added)
        columns += added
    if exemptions:
        exemption_at = len(columns)
        reason = (select(col(Exemption.reason))
                  .where(col(Exemption.project_id) == project.c.id, exemption_in_force(as_of))
                  .order_by(col(Exemption.id)).limit(1).correlate(project).scalar_subquery())
        statement = statement.add_columns(reason)
        columns.append(reason)
    if problems:
        problems_at = len(columns)
        open_count = (select(func.count()).select_from(Problem)
                      .where(col(Problem.project_id) == project.c.id, problem_open(as_of))
                      .correlate(project).scalar_subquery())
        statement = statement.add_columns(open_count)
        columns.append(open_count)
    statement = (statement.where(project.c.id > bindparam(AFTER))
                 .order_by(project.c.id).limit(chunk))
    return ProjectQuery(statement, {name: i for i, name in enumerate(names)}, report_at,
                        light_at, exemption_at, problems_at)


def latest_reports_query(as_of: date, dialect: str) -> Select[Any]:
    """Of the projects whose ids are bound to ``IDS`` (see ``keys_value``): the id, then
    ``REPORT_COLUMNS`` of the latest report as the chunk query joins it — for a pass that reads
    reports only for the projects its rules fire for."""
    project = Project.__table__  # type: ignore[attr-defined]
    statement = select(project.c.id)
    statement, _ = _join_latest_report(statement.select_from(project), project, as_of)
    return statement.where(keys_param(project.c.id, IDS, dialect))


def _join_latest_report(statement: Select[Any], project: Any, as_of: date
                        ) -> tuple[Select[Any], list[Any]]:
    """The latest report dated on or before as-of; of several for that date, the last
    recorded (one seek on (project_id, report_on) per project)."""
    report = DailyReport.__table__  # type: ignore[attr-defined]
    other = report.alias("other_report")
    latest_id = (select(other.c.id)
                 .where(other.c.project_id == project.c.id, other.c.report_on <= as_of)
                 .order_by(other.c.report_on.desc(), other.c.id.desc())
                 .limit(1).correlate(project).scalar_subquery())
    added = [report.c[name] for name in REPORT_COLUMNS]
    return statement.outerjoin(report, report.c.id == latest_id).add_columns(*added), added
