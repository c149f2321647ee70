"""Working the assignment list (交办单): list, show, start, resolve, close out, reopen.

Every change goes through the shared lifecycle machine and appends an ``assignment_event`` with
actor, time and reason, in one transaction that also holds the decision-log lock (PostgreSQL),
so a pass and a coordinator never change the same item at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlmodel import Session, col

from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import InputError, NotFoundError
from kfworkflow.lifecycle.assignments import (
    CLOSED_OUT,
    LIFECYCLE,
    NEW,
    STATUSES,
    UNRESOLVED,
)
from kfworkflow.storage.db import read_session, write_session
from kfworkflow.storage.decision_log import lock_log
from kfworkflow.storage.engine_models import Assignment, AssignmentEvent
from kfworkflow.workcalendar import WorkCalendar

LEVELS = ("county", "city", "province")


# --- numbers ---------------------------------------------------------------------------------


def week_prefix(on: date) -> str:
    year, week, _ = on.isocalendar()
    return f"{year}-W{week:02d}-"


def last_sequence(session: Session, prefix: str) -> int:
    """The highest sequence number used under ``prefix`` (0 if none)."""
    last = session.execute(
        select(col(Assignment.number)).where(col(Assignment.number).like(prefix + "%"))
        .order_by(col(Assignment.number).desc()).limit(1)).scalar()
    return int(last.rsplit("-", 1)[1]) if last else 0


def parse_week(week: str) -> tuple[date, date]:
    """``2022-W47`` → (Monday, Sunday) of that ISO week."""
    try:
        year_text, week_text = week.upper().split("-W")
        monday = date.fromisocalendar(int(year_text), int(week_text), 1)
    except ValueError:
        raise InputError(f"week {week!r} is not an ISO week like 2022-W47") from None
    return monday, monday + timedelta(days=6)


# --- views -----------------------------------------------------------------------------------


def subject_label(item: Assignment) -> str:
    return f"{item.subject_kind}:{item.subject_key}"


def days_overdue(item: Assignment, on: date | None, calendar: WorkCalendar) -> int | None:
    """Working days past the deadline for an unresolved item, as of ``on``."""
    if on is None or item.status not in UNRESOLVED or on <= item.deadline_on:
        return None
    return calendar.workdays_between(item.deadline_on, on) or None


def assignment_dict(item: Assignment, numbers: dict[int, str], *, on: date | None = None,
                    calendar: WorkCalendar | None = None) -> dict[str, Any]:
    return {
        "number": item.number,
        "subject": subject_label(item),
        "subject_kind": item.subject_kind,
        "subject_key": item.subject_key,
        "project": item.project_code,
        "county": item.county,
        "category": item.category,
        "task_force": item.task_force,
        "rule": item.rule_id,
        "level": item.level,
        "recipient": item.recipient,
        "responsible_person": item.responsible_person,
        "assigned_on": item.assigned_on,
        "deadline": item.deadline_on,
        "status": item.status,
        "escalations": item.escalations,
        "days_overdue": days_overdue(item, on, calendar) if calendar else None,
        "reason": item.reason,
        "reopened_from": numbers.get(item.reopened_from_id) if item.reopened_from_id else None,
        "first_of_chain": numbers.get(item.parent_id) if item.parent_id else None,
        "resolution_note": item.resolution_note,
        "evidence": item.evidence,
        "decision_id": item.decision_id,
    }


def _numbers(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(col(Assignment.id), col(Assignment.number))
                           .where(col(Assignment.id).in_(sorted(ids))))
    return {int(i): str(n) for i, n in rows}


def list_assignments(workspace: Workspace, *, level: str | None = None,
                     county: str | None = None, recipient: str | None = None,
                     status: str | None = None, week: str | None = None,
                     on: date | None = None) -> list[dict[str, Any]]:
    """Items by number. ``status``: one status, ``open`` (default: not closed out) or ``all``;
    ``week``: items numbered in that ISO week or assigned at their current level in it."""
    if level is not None and level not in LEVELS:
        raise InputError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    wanted = status or "open"
    if wanted not in (*STATUSES, "open", "all"):
        raise InputError(f"unknown status {wanted!r}; expected open, all or one of "
                         f"{', '.join(STATUSES)}")
    query = select(Assignment).order_by(col(Assignment.number))
    if level:
        query = query.where(col(Assignment.level) == level)
    if county:
        query = query.where(col(Assignment.county) == county)
    if recipient:
        query = query.where(col(Assignment.recipient).contains(recipient))
    if wanted == "open":
        query = query.where(col(Assignment.status) != CLOSED_OUT)
    elif wanted != "all":
        query = query.where(col(Assignment.status) == wanted)
    if week:
        monday, sunday = parse_week(week)
        query = query.where(or_(col(Assignment.number).like(week_prefix(monday) + "%"),
                                col(Assignment.assigned_on).between(monday, sunday)))
    with read_session(workspace.ready_engine()) as session:
        items = list(session.execute(query).scalars())
        numbers = _numbers(session, {i for item in items
                                     for i in (item.parent_id, item.reopened_from_id) if i})
        calendar = workspace.calendar
        return [assignment_dict(item, numbers, on=on, calendar=calendar) for item in items]


def _get(session: Session, number: str) -> Assignment:
    item = session.execute(select(Assignment).where(col(Assignment.number) == number)
                           ).scalars().first()
    if item is None:
        raise NotFoundError(f"no assignment numbered {number!r} (numbers look like "
                            "2022-W47-0003; `kfw assignments list` shows them)")
    return item


def event_dict(event: AssignmentEvent) -> dict[str, Any]:
    return {"at": event.at, "from": event.from_status, "to": event.to_status,
            "level": event.level, "deadline": event.deadline_on, "actor": event.actor,
            "reason": event.reason, "pass_run": event.pass_run_id,
            "decision_id": event.decision_id}


def show_assignment(workspace: Workspace, number: str, *, on: date | None = None
                    ) -> dict[str, Any]:
    with read_session(workspace.ready_engine()) as session:
        item = _get(session, number)
        numbers = _numbers(session, {i for i in (item.parent_id, item.reopened_from_id) if i})
        data = assignment_dict(item, numbers, on=on, calendar=workspace.calendar)
        events = session.execute(select(AssignmentEvent)
                                 .where(col(AssignmentEvent.assignment_id) == item.id)
                                 .order_by(col(AssignmentEvent.id))).scalars()
        data["events"] = [event_dict(e) for e in events]
        data["reopened_as"] = [n for (n,) in session.execute(
            select(col(Assignment.number)).where(col(Assignment.reopened_from_id) == item.id)
            .order_by(col(Assignment.id)))]
        return data


# --- changes ---------------------------------------------------------------------------------


def _required(value: str | None, what: str, option: str) -> str:
    if value is None or not value.strip():
        raise InputError(f"{what} is required: {option}")
    return value.strip()


def _change(workspace: Workspace, number: str, event: str, reason: str,
            **fields: Any) -> dict[str, Any]:
    with write_session(workspace.ready_engine()) as session:
        lock_log(session)
        item = _apply(session, workspace, number, event, reason, **fields)
        return assignment_dict(item, _numbers(session, {i for i in (
            item.parent_id, item.reopened_from_id) if i}))


def _apply(session: Session, workspace: Workspace, number: str, event: str, reason: str,
           **fields: Any) -> Assignment:
    item = _get(session, number)
    before = item.status
    item.status = LIFECYCLE.apply(before, event)
    for name, value in fields.items():
        setattr(item, name, value)
    session.add(item)
    session.flush()
    assert item.id is not None
    session.add(AssignmentEvent(assignment_id=item.id, from_status=before,
                                to_status=item.status, level=item.level,
                                at=workspace.clock.now(), actor=workspace.actor,
                                reason=reason, deadline_on=item.deadline_on))
    session.flush()
    return item


def resolve_and_close_out(workspace: Workspace,
                          cleared: Sequence[tuple[str, str, str]]) -> int:
    """Each (number, note, evidence): resolved by its recipient with the note, then closed out
    by the assigning level with the evidence — every change an event, as one by one — in ONE
    transaction for the whole batch: all of them or, on any error, none."""
    for number, note, evidence in cleared:
        _required(note, f"a note saying how {number} was resolved", "note")
        _required(evidence, f"evidence for the close-out of {number}", "evidence")
    with write_session(workspace.ready_engine()) as session:
        lock_log(session)
        for number, note, evidence in cleared:
            note, evidence = note.strip(), evidence.strip()
            _apply(session, workspace, number, "resolve", note, resolution_note=note)
            _apply(session, workspace, number, "close_out", f"销号：{evidence}",
                   evidence=evidence)
    return len(cleared)


def start(workspace: Workspace, number: str, *, note: str | None = None) -> dict[str, Any]:
    """The recipient has taken the item up (办理中)."""
    return _change(workspace, number, "start", (note or "").strip() or "开始办理")


def resolve(workspace: Workspace, number: str, *, note: str | None,
            by: str | None = None) -> dict[str, Any]:
    """The recipient reports the item resolved (已办结), with a note; ``by`` names the unit
    resolving it, which must be the recipient."""
    text = _required(note, "a note saying how it was resolved", "--note")
    if by is not None:
        with read_session(workspace.ready_engine()) as session:
            recipient = _get(session, number).recipient
        if by.strip() != recipient:
            raise InputError(f"assignment {number} is assigned to {recipient}, not {by}; only "
                             "the recipient resolves it")
    return _change(workspace, number, "resolve", text, resolution_note=text)


def close_out(workspace: Workspace, number: str, *, evidence: str | None) -> dict[str, Any]:
    """The assigning level confirms the resolution (销号), with evidence."""
    text = _required(evidence, "evidence for the close-out", "--evidence")
    return _change(workspace, number, "close_out", f"销号：{text}", evidence=text)


def reopen(workspace: Workspace, number: str, *, reason: str | None,
           on: date | None = None) -> dict[str, Any]:
    """A closed-out item whose problem came back: a new item linked to it, at the same level
    and recipient, with a fresh deadline from the ladder. The old item stays closed out."""
    why = _required(reason, "a reason for reopening", "--reason")
    today = on or workspace.today()
    policies = workspace.policies
    with write_session(workspace.ready_engine()) as session:
        lock_log(session)
        old = _get(session, number)
        LIFECYCLE.apply(old.status, "reopen")
        rung = policies.level(old.level)
        if rung is None:
            raise InputError(f"level {old.level!r} of {number} is no longer on the ladder in "
                             "policies.yaml")
        amount, unit = rung.deadline.amount, rung.deadline.unit
        deadline = (workspace.calendar.add_workdays(today, amount) if unit == "working_days"
                    else today + timedelta(days=amount))
        prefix = week_prefix(today)
        assert old.id is not None
        item = Assignment(
            number=f"{prefix}{last_sequence(session, prefix) + 1:04d}",
            subject_kind=old.subject_kind, subject_key=old.subject_key,
            project_code=old.project_code, county=old.county, category=old.category,
            task_force=old.task_force, rule_id=old.rule_id, level=old.level,
            recipient=old.recipient, responsible_person=old.responsible_person,
            assigned_on=today, deadline_on=deadline, status=NEW,
            reason=f"重新交办（原 {old.number}）：{why}", escalations=0,
            parent_id=old.parent_id or old.id, reopened_from_id=old.id)
        session.add(item)
        session.flush()
        assert item.id is not None
        now = workspace.clock.now()
        session.add(AssignmentEvent(assignment_id=old.id, from_status=old.status,
                                    to_status=old.status, level=old.level, at=now,
                                    actor=workspace.actor,
                                    reason=f"重新交办为 {item.number}：{why}"))
        session.add(AssignmentEvent(assignment_id=item.id, from_status=None, to_status=NEW,
                                    level=item.level, at=now, actor=workspace.actor,
                                    reason=why, deadline_on=deadline))
        session.flush()
        return assignment_dict(item, {old.id: old.number, **_numbers(
            session, {item.parent_id} if item.parent_id else set())})
