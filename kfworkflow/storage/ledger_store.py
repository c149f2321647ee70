"""Applying parsed ledger, task and daily-report records to the database.

Each ``apply_*`` runs inside the caller's transaction and raises ``ImportRejectedError`` with
every located finding when a row cannot be applied, so the caller's rollback leaves the
database as it was. Re-applying the same records changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.errors import Finding, ImportRejectedError, TransitionError
from kfworkflow.ledger.records import DailyRecord, ProjectRecord, TaskRecord
from kfworkflow.lifecycle.milestones import MilestoneLifecycle
from kfworkflow.storage.bulk import bulk_insert
from kfworkflow.storage.models import (
    DailyReport,
    MilestoneEvent,
    Project,
    ProjectChange,
    ProjectMilestone,
    ProjectTask,
)
from kfworkflow.storage.projects import (
    ProjectRef,
    chunks,
    open_problem,
    project_refs,
    projects_by_code,
    record_milestone,
)

PROJECT_FIELDS = (
    "name", "category", "batch", "county", "task_force", "responsible_unit",
    "responsible_person", "owner_unit", "total_investment", "annual_investment", "planned_funds",
)


@dataclass
class LedgerImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    changes: list[dict[str, object]] = field(default_factory=list)


@dataclass
class DailyImportResult:
    reports: int = 0
    unchanged: int = 0
    milestones: int = 0
    problems: int = 0
    rejected: int = 0
    counties: list[str] = field(default_factory=list)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def apply_ledger(
    session: Session,
    records: Sequence[ProjectRecord],
    *,
    lifecycle: MilestoneLifecycle,
    source: str,
    actor: str,
    now: datetime,
    today: date,
    file: str | None = None,
) -> LedgerImportResult:
    result = LedgerImportResult()
    existing = projects_by_code(session, [r.code for r in records], lock=True)
    milestone_rows = _milestone_rows(session, [p.id for p in existing.values() if p.id])
    findings: list[Finding] = []
    new = [r for r in records if r.code not in existing]
    _create(session, new, source=source, now=now, actor=actor)
    result.created += len(new)
    for record in records:
        project = existing.get(record.code)
        if project is None:
            continue
        changes = _update(session, project, record, milestone_rows.get(project.id or 0, {}),
                          source=source, now=now, actor=actor)
        try:
            changes += _advance_state(session, lifecycle, project, record, today=today, now=now,
                                      actor=actor, source=source)
        except TransitionError as exc:
            findings.append(Finding("KFW-L010", str(exc), file=file or source, line=record.row,
                                    column_name="当前状态"))
            continue
        if changes:
            result.updated += 1
            result.changes.extend({"code": record.code, **c} for c in changes)
        else:
            result.unchanged += 1
    if findings:
        raise ImportRejectedError(f"{source}: {len(findings)} row(s) cannot be applied", findings)
    return result


def _milestone_rows(session: Session, project_ids: Sequence[int]
                    ) -> dict[int, dict[str, ProjectMilestone]]:
    rows: dict[int, dict[str, ProjectMilestone]] = {}
    for part in chunks(list(project_ids)):
        query = select(ProjectMilestone).where(
            col(ProjectMilestone.project_id).in_(part)
        )
        for row in session.execute(query).scalars():
            rows.setdefault(row.project_id, {})[row.milestone] = row
    return rows


def _create(session: Session, records: Sequence[ProjectRecord], *, source: str,
            now: datetime, actor: str) -> None:
    """New projects with their milestones and the event that puts each in its first state:
    the projects in one flush (for their ids), the rest with one executemany each."""
    projects = []
    for record in records:
        assert record.state is not None
        projects.append(Project(
            code=record.code,
            **{name: getattr(record, name) for name in PROJECT_FIELDS},
            state=record.state,
            state_on=record.actual.get(record.state),
            source=source,
            created_at=now,
            updated_at=now,
        ))
    session.add_all(projects)
    session.flush()
    milestones: list[dict[str, object]] = []
    events: list[dict[str, object]] = []
    for project, record in zip(projects, records, strict=True):
        assert project.id is not None
        for milestone in dict.fromkeys([*record.planned, *record.actual]):
            milestones.append({"project_id": project.id, "milestone": milestone,
                               "planned_on": record.planned.get(milestone),
                               "actual_on": record.actual.get(milestone)})
        events.append({"project_id": project.id, "from_state": None, "to_state": project.state,
                       "occurred_on": project.state_on, "recorded_at": now, "actor": actor,
                       "source": source, "reason": "imported from the ledger"})
    bulk_insert(session, ProjectMilestone.__table__, milestones)  # type: ignore[attr-defined]
    bulk_insert(session, MilestoneEvent.__table__, events)  # type: ignore[attr-defined]


def _update(session: Session, project: Project, record: ProjectRecord,
            milestones: dict[str, ProjectMilestone], *, source: str, now: datetime,
            actor: str) -> list[dict[str, object]]:
    assert project.id is not None
    changes: list[dict[str, object]] = []
    for name in PROJECT_FIELDS:
        old, new = getattr(project, name), getattr(record, name)
        if old != new:
            changes.append({"field": name, "old": _text(old), "new": _text(new)})
            setattr(project, name, new)
    for milestone, planned_on in record.planned.items():
        row = milestones.get(milestone)
        old_on = row.planned_on if row else None
        if old_on != planned_on:
            changes.append({"field": f"planned_{milestone}_on", "old": _text(old_on),
                            "new": _text(planned_on)})
            if row is None:
                row = ProjectMilestone(project_id=project.id, milestone=milestone)
                milestones[milestone] = row
            row.planned_on = planned_on
            session.add(row)
    for change in changes:
        session.add(ProjectChange(project_id=project.id, field=str(change["field"]),
                                  old_value=_text(change["old"]), new_value=_text(change["new"]),
                                  changed_at=now, source=source, actor=actor))
    if changes:
        project.updated_at = now
        project.source = source
        session.add(project)
    return changes


def _advance_state(session: Session, lifecycle: MilestoneLifecycle, project: Project,
                   record: ProjectRecord, *, today: date, now: datetime, actor: str,
                   source: str) -> list[dict[str, object]]:
    """A re-imported ledger may show later milestones: walk the path to them, in order."""
    target = record.state
    if target is None or target == project.state or lifecycle.reached(
            project.category, project.state, target):
        return []
    path = lifecycle.path(project.category)
    if target == "adjusted" or target not in path or project.state not in path:
        lifecycle.apply(project.category, project.state, target, reason="ledger import")
    moves: list[dict[str, object]] = []
    for milestone in path[path.index(project.state) + 1 : path.index(target) + 1]:
        on = record.actual.get(milestone) or project.state_on or today
        old = project.state
        record_milestone(session, lifecycle, project, milestone, on, today=today, now=now,
                         actor=actor, source=source)
        moves.append({"field": "state", "old": old, "new": milestone})
    return moves


def apply_tasks(session: Session, records: Sequence[TaskRecord], *, source: str,
                file: str | None = None) -> int:
    projects = projects_by_code(session, [r.code for r in records])
    findings = [
        Finding("KFW-L014", f"unknown project code {r.code}", file=file or source, line=r.row,
                column_name="项目代码")
        for r in records if r.code not in projects
    ]
    if findings:
        raise ImportRejectedError(f"{source}: tasks name unknown projects", findings)
    written = 0
    existing = {
        (t.project_id, t.title): t
        for t in session.execute(select(ProjectTask).where(
            col(ProjectTask.project_id).in_([p.id for p in projects.values()])
        )).scalars()
    }
    for record in records:
        project_id = projects[record.code].id
        assert project_id is not None
        task = existing.get((project_id, record.title))
        values = (record.owner, record.due_on, record.done_on)
        if task is not None and (task.owner, task.due_on, task.done_on) == values:
            continue
        if task is None:
            task = ProjectTask(project_id=project_id, title=record.title)
            existing[(project_id, record.title)] = task
        task.owner, task.due_on, task.done_on = values
        session.add(task)
        written += 1
    return written


def apply_daily(
    session: Session,
    records: Sequence[DailyRecord],
    *,
    lifecycle: MilestoneLifecycle,
    source: str,
    actor: str,
    now: datetime,
    today: date,
    file: str | None = None,
    columns: dict[str, str] | None = None,
) -> DailyImportResult:
    """Apply daily reports. ``source`` is recorded on rows; ``file`` and ``columns`` (field →
    "column A 项目代码") locate findings."""
    result = DailyImportResult()
    file = file or source
    label = {"code": "项目代码", "report_on": "填报日期", "milestone": "里程碑", **(columns or {})}
    # the ORM object only for the projects whose state or problems change (most rows are
    # figures only: loading 1,000s of ORM objects per report costs more than the import)
    refs = project_refs(session, [r.code for r in records], lock=True)
    changing = projects_by_code(session, [r.code for r in records if r.milestone or (
        r.problem_type and r.problem_title)], lock=True)
    projects: dict[str, Project | ProjectRef] = {**refs, **changing}
    findings: list[Finding] = []
    latest = _latest_reports(session, [p.id for p in projects.values() if p.id is not None],
                             sorted({r.report_on for r in records}))
    counties: set[str] = set()
    new_reports: list[dict[str, object]] = []
    for record in sorted(records, key=lambda r: (r.report_on, r.row)):
        project = projects.get(record.code)
        if project is None:
            findings.append(Finding("KFW-L014", f"unknown project code {record.code}",
                                    file=file, line=record.row, column_name=label["code"],
                                    hint="import the project in the ledger first"))
            continue
        if record.report_on > today:
            findings.append(Finding("KFW-L010", f"report date {record.report_on} is in the future "
                                    f"(today is {today})", file=file, line=record.row,
                                    column_name=label["report_on"]))
            continue
        assert project.id is not None
        counties.add(project.county)
        values = (record.completed_investment, record.funds_arrived, record.funds_disbursed,
                  record.note)
        key = (project.id, record.report_on)
        if latest.get(key) == values:
            result.unchanged += 1
        else:
            new_reports.append({
                "project_id": project.id, "county": project.county,
                "report_on": record.report_on, "recorded_at": now,
                "completed_investment": record.completed_investment,
                "funds_arrived": record.funds_arrived, "funds_disbursed": record.funds_disbursed,
                "note": record.note, "source": source, "actor": actor})
            latest[key] = values
            result.reports += 1
        if record.milestone:
            on = record.milestone_on or record.report_on
            if not (project.state == record.milestone and project.state_on == on):
                try:
                    record_milestone(session, lifecycle, changing[record.code],
                                     record.milestone, on, today=today, now=now, actor=actor,
                                     source=source)
                    result.milestones += 1
                except TransitionError as exc:
                    findings.append(Finding("KFW-L010", str(exc), file=file, line=record.row,
                                            column_name=label["milestone"]))
        if record.problem_type and record.problem_title:
            _, created = open_problem(session, changing[record.code],
                                      type_=record.problem_type,
                                      level=record.problem_level or "county",
                                      title=record.problem_title, opened_on=record.report_on,
                                      now=now, actor=actor, source=source)
            result.problems += int(created)
    if findings:
        raise ImportRejectedError(f"{file}: {len(findings)} row(s) cannot be applied", findings)
    if new_reports:
        # one executemany: building thousands of ORM objects costs more than the write itself
        bulk_insert(session, DailyReport.__table__, new_reports)  # type: ignore[attr-defined]
    result.counties = sorted(counties)
    return result


def _latest_reports(session: Session, project_ids: Sequence[int], dates: Sequence[date]
                    ) -> dict[tuple[int, date], tuple[object, ...]]:
    latest: dict[tuple[int, date], tuple[object, ...]] = {}
    if not dates:
        return latest
    for part in chunks(list(project_ids)):
        query = (
            select(DailyReport)
            .where(col(DailyReport.project_id).in_(part),
                   col(DailyReport.report_on).in_(dates))
            .order_by(col(DailyReport.id))
        )
        for r in session.execute(query).scalars():
            latest[(r.project_id, r.report_on)] = (r.completed_investment, r.funds_arrived,
                                                   r.funds_disbursed, r.note)
    return latest
