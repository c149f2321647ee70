"""Read from the database what explaining a decision needs beyond its record.

The decision row itself, the published rule version behind a revision, the decisions about a
project, the subject's name, the history that led to the decision (earlier decisions, runs of
one light merged, and the assignments about the subject with their events) and the
assignments the decision created or moved.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlmodel import Session, col

from kfworkflow.audit.replay import RecordedDecision, record_from_row
from kfworkflow.audit.verify import decision_table, log_bounds
from kfworkflow.errors import NotFoundError
from kfworkflow.rules.ruleset import RuleSet
from kfworkflow.storage import rule_store
from kfworkflow.storage.engine_models import Assignment, AssignmentEvent, PassRun
from kfworkflow.storage.models import Problem, Project
from kfworkflow.timefmt import business_date


def load_decision(session: Session, decision_id: int) -> RecordedDecision:
    row = session.connection().execute(
        select(decision_table()).where(decision_table().c.id == decision_id)).first()
    if row is None:
        _count, upper = log_bounds(session.connection())
        known = f"ids go up to {upper}" if upper is not None else "the log is empty"
        raise NotFoundError(f"no decision {decision_id} in the log ({known})")
    return record_from_row(row)


def version_info(session: Session, revision: str) -> dict[str, Any] | None:
    try:
        version = rule_store.by_revision(session, revision)
    except NotFoundError:
        return None
    return {"id": version.id, "effective_from": version.effective_from.isoformat(),
            "published_at": version.published_at.isoformat(), "actor": version.actor,
            "note": version.note}



def about_project(session: Session, project: Project) -> ColumnElement[bool]:
    table = decision_table()
    problem_ids = [str(pid) for pid in session.execute(
        select(col(Problem.id)).where(col(Problem.project_id) == project.id)).scalars()]
    numbers = list(session.execute(select(col(Assignment.number)).where(
        col(Assignment.project_code) == project.code)).scalars())
    return or_(
        and_(table.c.subject_kind == "project", table.c.subject_key == project.code),
        and_(table.c.subject_kind == "problem", table.c.subject_key.in_(problem_ids)),
        and_(table.c.subject_kind == "assignment", table.c.subject_key.in_(numbers)),
    )


def lookup_subject_name(session: Session, record: RecordedDecision) -> str | None:
    name = record.inputs.get("name")
    if isinstance(name, str):
        return name
    code = record.inputs.get("code")
    if record.subject_kind == "project":
        code = record.subject_key
    elif record.subject_kind == "assignment":
        found = _assignment(session, record.subject_key)
        code = found.project_code if found is not None else code
    if not isinstance(code, str):
        return None
    return session.execute(select(col(Project.name)).where(col(Project.code) == code)
                           ).scalars().first()


def _assignment(session: Session, key: str) -> Assignment | None:
    found = session.execute(select(Assignment).where(col(Assignment.number) == key)
                            ).scalars().first()
    if found is None and key.isdigit():
        found = session.get(Assignment, int(key))
    return found


HISTORY_LIMIT = 40


def gather_history(session: Session, record: RecordedDecision, ruleset: RuleSet
                   ) -> list[dict[str, Any]]:
    """Earlier decisions on the same subject (runs of one light merged), and the assignments
    about it with their events, up to the decision's date; the latest ``HISTORY_LIMIT``."""
    table = decision_table()
    rows = session.connection().execute(
        select(table).where(table.c.subject_kind == record.subject_kind,
                            table.c.subject_key == record.subject_key, table.c.id < record.id)
        .order_by(table.c.id.desc()).limit(500)).all()
    items = _merge_light_runs([record_from_row(row) for row in reversed(rows)])
    run_dates: dict[int, date] = {}
    for assignment in _related_assignments(session, record):
        origin = assignment.decision_id
        if origin is not None and origin < record.id and not any(
                item.get("id") == origin for item in items):
            created = load_decision(session, origin)
            items.append({"kind": "decision", "on": created.as_of.isoformat(), "id": created.id,
                          "subject": f"{created.subject_kind} {created.subject_key}",
                          "rule_id": created.rule_id, "outcome": dict(created.outcome),
                          "reason": created.reason, "seq": 0})
        events = session.execute(select(AssignmentEvent).where(
            col(AssignmentEvent.assignment_id) == assignment.id).order_by(
            col(AssignmentEvent.id))).scalars()
        for event in events:
            if event.decision_id is not None and event.decision_id >= record.id:
                continue  # what followed from this decision, or came later
            on = _event_on(session, event, ruleset, run_dates)
            if on > record.as_of:
                continue
            level = ruleset.policies.level(event.level)
            items.append({"kind": "assignment" if event.from_status is None
                          else "assignment_event", "on": on.isoformat(),
                          "number": assignment.number, "from_status": event.from_status,
                          "status": event.to_status, "level": event.level,
                          "level_name": level.name if level else None,
                          "deadline_on": event.deadline_on.isoformat()
                          if event.deadline_on else None,
                          "reason": event.reason, "actor": event.actor,
                          "decision": event.decision_id, "seq": 1})
    items.sort(key=lambda item: (item["on"], item.get("seq", 2)))
    for item in items:
        item.pop("seq", None)
    return items[-HISTORY_LIMIT:]


def _event_on(session: Session, event: AssignmentEvent, ruleset: RuleSet,
              run_dates: dict[int, date]) -> date:
    """A pass's event happened on the pass's as-of date (passes may run later, catching up);
    a person's on the business date it was recorded."""
    if event.pass_run_id is None:
        return business_date(event.at, ruleset.policies.tz)
    if event.pass_run_id not in run_dates:
        run = session.get(PassRun, event.pass_run_id)
        run_dates[event.pass_run_id] = run.as_of if run else business_date(
            event.at, ruleset.policies.tz)
    return run_dates[event.pass_run_id]


def _merge_light_runs(records: Sequence[RecordedDecision]) -> list[dict[str, Any]]:
    """Consecutive decisions giving one dimension the same colour become one line."""
    items: list[dict[str, Any]] = []
    open_runs: dict[str, dict[str, Any]] = {}
    for rec in records:
        light = rec.outcome.get("light")
        only_light = isinstance(light, Mapping) and set(rec.outcome) - {"group"} == {"light"}
        if only_light and isinstance(light, Mapping):
            dim, color = str(light.get("dimension")), str(light.get("color"))
            run = open_runs.get(dim)
            if run is not None and run["color"] == color:
                run["until"] = rec.as_of.isoformat()
                run["count"] += 1
                run["last_id"] = rec.id
                continue
            run = {"kind": "light_run", "on": rec.as_of.isoformat(),
                   "until": rec.as_of.isoformat(), "dimension": dim, "color": color,
                   "rule_id": rec.rule_id, "count": 1, "first_id": rec.id, "last_id": rec.id}
            open_runs[dim] = run
            items.append(run)
            continue
        items.append({"kind": "decision", "on": rec.as_of.isoformat(), "id": rec.id,
                      "rule_id": rec.rule_id, "outcome": dict(rec.outcome),
                      "reason": rec.reason})
    return items


def _related_assignments(session: Session, record: RecordedDecision) -> list[Assignment]:
    if record.subject_kind == "assignment":
        found = _assignment(session, record.subject_key)
        if found is None:
            return []
        root = found.parent_id or found.id
        chain = session.execute(select(Assignment).where(or_(
            col(Assignment.id) == root, col(Assignment.parent_id) == root,
            col(Assignment.id) == found.reopened_from_id)).order_by(col(Assignment.id)))
        return list(chain.scalars())
    query = select(Assignment).where(col(Assignment.subject_kind) == record.subject_kind,
                                     col(Assignment.subject_key) == record.subject_key)
    return list(session.execute(query.order_by(col(Assignment.id))).scalars())


def resulting_assignments(session: Session, record: RecordedDecision) -> list[dict[str, Any]]:
    """Assignments this decision created or moved, as it left them (and as they are now)."""
    rows = session.execute(select(AssignmentEvent, Assignment).join(
        Assignment, col(Assignment.id) == col(AssignmentEvent.assignment_id)).where(
        col(AssignmentEvent.decision_id) == record.id).order_by(col(AssignmentEvent.id))).all()
    return [{"number": item.number, "level": event.level, "status": event.to_status,
             "deadline_on": event.deadline_on.isoformat() if event.deadline_on else None,
             "now": {"level": item.level, "status": item.status,
                     "deadline_on": item.deadline_on.isoformat()}}
            for event, item in rows]
