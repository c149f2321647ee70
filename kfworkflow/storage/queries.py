"""Read-only queries for the CLI and reports."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Integer, String, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Session, col

from kfworkflow.storage.models import (
    DailyReport,
    Exemption,
    MilestoneEvent,
    Problem,
    Project,
    ProjectChange,
    ProjectMilestone,
    ProjectTask,
)


def project_dict(project: Project) -> dict[str, Any]:
    return {
        "code": project.code,
        "name": project.name,
        "category": project.category,
        "batch": project.batch,
        "county": project.county,
        "task_force": project.task_force,
        "responsible_unit": project.responsible_unit,
        "responsible_person": project.responsible_person,
        "owner_unit": project.owner_unit,
        "total_investment": project.total_investment,
        "annual_investment": project.annual_investment,
        "planned_funds": project.planned_funds,
        "state": project.state,
        "state_on": project.state_on,
    }


def list_projects(session: Session, *, county: str | None = None, category: str | None = None,
                  state: str | None = None, limit: int | None = None) -> list[Project]:
    query = select(Project).order_by(col(Project.code))
    if county:
        query = query.where(col(Project.county) == county)
    if category:
        query = query.where(col(Project.category) == category)
    if state:
        query = query.where(col(Project.state) == state)
    if limit:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def project_detail(session: Session, project: Project) -> dict[str, Any]:
    pid = project.id
    milestones = session.execute(
        select(ProjectMilestone).where(col(ProjectMilestone.project_id) == pid)
    ).scalars()
    tasks = session.execute(
        select(ProjectTask).where(col(ProjectTask.project_id) == pid).order_by(col(ProjectTask.id))
    ).scalars()
    latest = session.execute(
        select(DailyReport).where(col(DailyReport.project_id) == pid)
        .order_by(col(DailyReport.report_on).desc(), col(DailyReport.id).desc()).limit(1)
    ).scalars().first()
    return {
        **project_dict(project),
        "milestones": [
            {"milestone": m.milestone, "planned_on": m.planned_on, "actual_on": m.actual_on}
            for m in milestones
        ],
        "tasks": [
            {"title": t.title, "owner": t.owner, "due_on": t.due_on, "done_on": t.done_on}
            for t in tasks
        ],
        "latest_report": None if latest is None else {
            "report_on": latest.report_on,
            "completed_investment": latest.completed_investment,
            "funds_arrived": latest.funds_arrived,
            "funds_disbursed": latest.funds_disbursed,
        },
        "problems": [problem_dict(p, project.code) for p in problems(session, project_id=pid)],
        "exemptions": [
            {"id": e.id, "reason": e.reason, "from_on": e.from_on, "until_on": e.until_on,
             "ended_on": e.ended_on}
            for e in session.execute(
                select(Exemption).where(col(Exemption.project_id) == pid)).scalars()
        ],
    }


def problem_dict(problem: Problem, code: str) -> dict[str, Any]:
    return {
        "id": problem.id, "project": code, "type": problem.type, "level": problem.level,
        "title": problem.title, "status": problem.status, "opened_on": problem.opened_on,
        "resolved_on": problem.resolved_on, "resolution": problem.resolution,
    }


def problems(session: Session, *, project_id: int | None = None, status: str | None = None,
             level: str | None = None, county: str | None = None) -> list[Problem]:
    query = select(Problem).order_by(col(Problem.id))
    if project_id is not None:
        query = query.where(col(Problem.project_id) == project_id)
    if status:
        query = query.where(col(Problem.status) == status)
    if level:
        query = query.where(col(Problem.level) == level)
    if county:
        query = query.join(Project, col(Project.id) == col(Problem.project_id)).where(
            col(Project.county) == county)
    return list(session.execute(query).scalars())


def codes_by_id(session: Session, ids: Sequence[int]) -> dict[int, str]:
    rows = session.execute(select(col(Project.id), col(Project.code)).where(
        col(Project.id).in_(list(set(ids)))))
    return {pid: code for pid, code in rows}


def ledger_counts(session: Session) -> dict[str, Any]:
    rows = session.execute(select(col(Project.county), col(Project.category), col(Project.state),
                                  func.count()).group_by(col(Project.county), col(Project.category),
                                                         Project.state)).all()
    by_county: Counter[str] = Counter()
    by_category: Counter[str] = Counter()
    by_state: Counter[str] = Counter()
    by_category_state: dict[str, Counter[str]] = {}
    for county, category, state, count in rows:
        by_county[county] += count
        by_category[category] += count
        by_state[state] += count
        by_category_state.setdefault(category, Counter())[state] += count
    return {
        "projects": sum(by_county.values()),
        "by_county": dict(sorted(by_county.items())),
        "by_category": dict(sorted(by_category.items())),
        "by_state": dict(sorted(by_state.items())),
        "by_category_state": {k: dict(v) for k, v in sorted(by_category_state.items())},
    }


def last_report_on(session: Session) -> date | None:
    return session.execute(select(func.max(DailyReport.report_on))).scalar()


def project_history(session: Session, project: Project) -> list[dict[str, Any]]:
    """Events, changes, reports, problems, decisions and assignments of one project in time
    order."""
    pid = project.id
    items: list[dict[str, Any]] = []
    for e in session.execute(select(MilestoneEvent).where(col(MilestoneEvent.project_id) == pid)
                             ).scalars():
        items.append({"at": e.recorded_at, "on": e.occurred_on, "kind": "milestone",
                      "what": f"{e.from_state or '-'} → {e.to_state}", "actor": e.actor,
                      "source": e.source, "reason": e.reason})
    for c in session.execute(select(ProjectChange).where(col(ProjectChange.project_id) == pid)
                             ).scalars():
        items.append({"at": c.changed_at, "on": None, "kind": "change",
                      "what": f"{c.field}: {c.old_value} → {c.new_value}", "actor": c.actor,
                      "source": c.source, "reason": None})
    reports = select(DailyReport).where(col(DailyReport.project_id) == pid)
    for r in session.execute(reports).scalars():
        items.append({"at": r.recorded_at, "on": r.report_on, "kind": "report",
                      "what": f"investment {r.completed_investment}, funds {r.funds_arrived}, "
                              f"disbursed {r.funds_disbursed}",
                      "actor": r.actor, "source": r.source, "reason": r.note})
    for p in problems(session, project_id=pid):
        items.append({"at": p.opened_at, "on": p.opened_on, "kind": "problem",
                      "what": f"[{p.type}/{p.level}] {p.title} ({p.status})", "actor": p.actor,
                      "source": p.source, "reason": p.resolution})
    from kfworkflow.audit.history import decision_history  # decisions and assignments

    items.extend(decision_history(session, project))
    items.sort(key=lambda i: (i["on"] or i["at"].date(), i["at"]))
    return items


def keys_in(session: Session, column: Any, keys: Sequence[Any]) -> Any:
    """``column IN keys`` with ONE bound parameter (a JSON array on SQLite, an array on
    PostgreSQL): thousands of keys per chunk compile and bind in microseconds."""
    dialect = session.get_bind().dialect.name
    return _in_param(column, bindparam(None, keys_value(dialect, keys),
                                       type_=_param_type(dialect, column)), dialect)


def keys_param(column: Any, name: str, dialect: str) -> Any:
    """``column IN`` the keys bound later to parameter ``name`` (as ``keys_value``), for a
    statement compiled once and run many times."""
    return _in_param(column, bindparam(name, type_=_param_type(dialect, column)), dialect)


def keys_value(dialect: str, keys: Sequence[Any]) -> Any:
    """The value of a ``keys_param`` parameter."""
    return list(keys) if dialect == "postgresql" else json.dumps(list(keys), ensure_ascii=False)


def _param_type(dialect: str, column: Any) -> Any:
    """An array of the column's kind of key on PostgreSQL (also when there are no keys);
    the JSON text on SQLite."""
    if dialect == "postgresql":
        return ARRAY(Integer() if isinstance(column.type, Integer) else String())
    return String()


def _in_param(column: Any, param: Any, dialect: str) -> Any:
    # ``IN (SELECT unnest(:keys))``, not ``= ANY(:keys)``: psycopg prepares a statement run
    # five times, and PostgreSQL's generic plan for ``= ANY`` of a parameter compares every
    # row with every key (20x slower at 240 keys); the subquery plans as a semi-join
    if dialect == "postgresql":
        return column.in_(select(func.unnest(param)))
    values = func.json_each(param).table_valued("value")
    return column.in_(select(values.c.value))
