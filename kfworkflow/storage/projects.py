"""Project repository: look-ups, milestone moves, problems and valid reasons.

Every change appends an event row in the caller's transaction; the caller commits or rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.errors import InputError, NotFoundError, TransitionError
from kfworkflow.lifecycle.milestones import ADJUSTED, MilestoneLifecycle
from kfworkflow.storage.models import (
    Exemption,
    MilestoneEvent,
    Problem,
    Project,
    ProjectMilestone,
)

CHUNK = 500
LEVELS = ("county", "city", "province")


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def projects_by_code(session: Session, codes: Sequence[str], *, lock: bool = False
                     ) -> dict[str, Project]:
    found: dict[str, Project] = {}
    for part in chunks(list(dict.fromkeys(codes))):
        query = select(Project).where(col(Project.code).in_(part))
        if lock:
            query = query.with_for_update()
        for project in session.execute(query).scalars():
            found[project.code] = project
    return found


class ProjectRef(NamedTuple):
    """What most readers of a project need, without loading the ORM object."""

    id: int
    code: str
    county: str
    state: str
    state_on: date | None


def project_refs(session: Session, codes: Sequence[str], *, lock: bool = False
                 ) -> dict[str, ProjectRef]:
    found: dict[str, ProjectRef] = {}
    for part in chunks(list(dict.fromkeys(codes))):
        query = select(col(Project.id), col(Project.code), col(Project.county),
                       col(Project.state), col(Project.state_on)).where(
            col(Project.code).in_(part))
        if lock:
            query = query.with_for_update()
        for row in session.execute(query):
            found[row[1]] = ProjectRef(*row)
    return found


def get_project(session: Session, code: str, *, lock: bool = False) -> Project:
    project = projects_by_code(session, [code], lock=lock).get(code)
    if project is None:
        raise NotFoundError(f"no project with code {code!r}")
    return project


def milestones_of(session: Session, project_id: int) -> dict[str, ProjectMilestone]:
    rows = session.execute(
        select(ProjectMilestone).where(col(ProjectMilestone.project_id) == project_id)
    ).scalars()
    return {row.milestone: row for row in rows}


@dataclass(frozen=True)
class MilestoneMove:
    code: str
    from_state: str
    to_state: str
    occurred_on: date


def record_milestone(
    session: Session,
    lifecycle: MilestoneLifecycle,
    project: Project,
    milestone: str,
    occurred_on: date,
    *,
    today: date,
    now: datetime,
    actor: str,
    source: str | None = None,
    reason: str | None = None,
) -> MilestoneMove:
    """Move ``project`` to ``milestone`` on ``occurred_on``, or raise TransitionError."""
    new_state = lifecycle.apply(project.category, project.state, milestone, reason=reason)
    lifecycle.check_dates(
        milestone,
        occurred_on,
        today=today,
        previous_on=project.state_on,
        previous_state=project.state,
    )
    move = MilestoneMove(project.code, project.state, new_state, occurred_on)
    assert project.id is not None
    session.add(
        MilestoneEvent(
            project_id=project.id,
            from_state=project.state,
            to_state=new_state,
            occurred_on=occurred_on,
            recorded_at=now,
            actor=actor,
            source=source,
            reason=reason,
        )
    )
    if new_state != ADJUSTED:
        planned = milestones_of(session, project.id)
        row = planned.get(new_state)
        if row is None:
            session.add(ProjectMilestone(project_id=project.id, milestone=new_state,
                                         actual_on=occurred_on))
        else:
            row.actual_on = occurred_on
            session.add(row)
    project.state = new_state
    project.state_on = occurred_on
    project.updated_at = now
    session.add(project)
    return move


def open_problem(
    session: Session,
    project: Project,
    *,
    type_: str,
    level: str,
    title: str,
    opened_on: date,
    now: datetime,
    actor: str,
    source: str | None = None,
) -> tuple[Problem, bool]:
    """Open a problem; an identical open problem is returned instead (re-imports are no-ops)."""
    if level not in LEVELS:
        raise InputError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    assert project.id is not None
    existing = session.execute(
        select(Problem).where(
            col(Problem.project_id) == project.id,
            col(Problem.type) == type_,
            col(Problem.title) == title,
            col(Problem.status) == "open",
        )
    ).scalars().first()
    if existing is not None:
        return existing, False
    problem = Problem(
        project_id=project.id,
        type=type_,
        level=level,
        title=title,
        opened_on=opened_on,
        opened_at=now,
        actor=actor,
        source=source,
    )
    session.add(problem)
    session.flush()
    return problem, True


def resolve_problem(session: Session, problem_id: int, *, resolved_on: date, note: str,
                    now: datetime) -> Problem:
    problem = session.get(Problem, problem_id)
    if problem is None:
        raise NotFoundError(f"no problem with id {problem_id}")
    if problem.status != "open":
        raise TransitionError(f"problem {problem_id} is already {problem.status}")
    if resolved_on < problem.opened_on:
        raise InputError(f"resolved on {resolved_on} is before the problem was opened "
                         f"({problem.opened_on})")
    problem.status = "resolved"
    problem.resolved_on = resolved_on
    problem.resolved_at = now
    problem.resolution = note
    session.add(problem)
    return problem


def add_exemption(session: Session, project: Project, *, reason: str, from_on: date,
                  until_on: date | None, now: datetime, actor: str) -> Exemption:
    if not reason.strip():
        raise InputError("a valid reason (正当理由) needs its text: --reason")
    if until_on is not None and until_on < from_on:
        raise InputError(f"--until {until_on} is before the start {from_on}")
    assert project.id is not None
    exemption = Exemption(project_id=project.id, reason=reason.strip(), from_on=from_on,
                          until_on=until_on, recorded_at=now, actor=actor)
    session.add(exemption)
    session.flush()
    return exemption


def end_exemption(session: Session, project: Project, *, ended_on: date) -> list[Exemption]:
    assert project.id is not None
    active = [e for e in active_exemptions(session, [project.id], on=ended_on)]
    if not active:
        raise NotFoundError(f"project {project.code} has no valid reason in force on {ended_on}")
    for exemption in active:
        exemption.ended_on = ended_on
        session.add(exemption)
    return active


def active_exemptions(session: Session, project_ids: Sequence[int], *, on: date
                      ) -> list[Exemption]:
    rows = session.execute(
        select(Exemption).where(
            col(Exemption.project_id).in_(project_ids),
            col(Exemption.from_on) <= on,
        )
    ).scalars()
    return [
        e for e in rows
        if (e.until_on is None or e.until_on >= on) and (e.ended_on is None or e.ended_on > on)
    ]
