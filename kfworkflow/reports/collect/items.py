"""Assigned items as they stood on a date, rebuilt from their append-only event history.

An event counts from its business date: the as-of date of the pass that made it, or, for a
coordinator's change, the date it was recorded (in the configured time zone). So a list for an
earlier week shows that week's state, whatever happened to the items since.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.config.policies import Policies
from kfworkflow.engine.units import Units
from kfworkflow.lifecycle.assignments import CLOSED_OUT, ESCALATED, NEW, OVERDUE, UNRESOLVED
from kfworkflow.reports.context import AssignmentRow
from kfworkflow.rules.reason import ReasonTemplate
from kfworkflow.storage.engine_models import Assignment, AssignmentEvent, PassRun
from kfworkflow.storage.models import Problem, Project
from kfworkflow.timefmt import business_date
from kfworkflow.workcalendar import WorkCalendar

ASSIGNING = (NEW, ESCALATED, OVERDUE)  # events a pass writes when it puts an item on a list


@dataclass(frozen=True)
class Event:
    on: date
    id: int
    to_status: str
    level: str
    deadline_on: date | None
    reason: str | None
    by_pass: bool


@dataclass(frozen=True)
class ItemState:
    """One item on one date."""

    item: Assignment
    status: str
    level: str
    assigned_on: date
    created_on: date
    deadline_on: date
    reason: str
    progress: str | None
    closed_on: date | None
    escalated_on: date | None = None  # the date of its latest escalation
    escalated_from: str | None = None  # the level it held before that escalation
    overdue_on: date | None = None  # the date it was last marked overdue
    settled_on: date | None = None  # resolved or closed out: since when (else None)


class ItemHistory:
    """Every item with its events, loaded once; ``state(on)`` answers for any date."""

    def __init__(self, session: Session, policies: Policies) -> None:
        self.policies = policies
        self.items = list(session.execute(
            select(Assignment).order_by(col(Assignment.number))).scalars())
        run_dates = {int(i): d for i, d in session.execute(
            select(col(PassRun.id), col(PassRun.as_of)))}
        self.events: dict[int, list[Event]] = defaultdict(list)
        for event in session.execute(select(AssignmentEvent).order_by(col(AssignmentEvent.id))
                                     ).scalars():
            by_pass = event.pass_run_id is not None
            on = (run_dates[event.pass_run_id] if event.pass_run_id is not None
                  else business_date(event.at, policies.tz))
            assert event.id is not None
            self.events[event.assignment_id].append(Event(
                on, event.id, event.to_status, event.level, event.deadline_on, event.reason,
                by_pass))
        for events in self.events.values():
            events.sort(key=lambda e: (e.on, e.id))

    def state(self, item: Assignment, on: date) -> ItemState | None:
        """The item on ``on``; None if it did not exist yet."""
        assert item.id is not None
        events = [e for e in self.events.get(item.id, []) if e.on <= on]
        if not events:
            return None
        last = events[-1]
        assigning = [e for e in events if e.to_status in (NEW, ESCALATED)]
        placed = [e for e in events if e.by_pass and e.to_status in ASSIGNING]
        deadlines = [e for e in events if e.deadline_on is not None]
        notes = [e for e in events if not e.by_pass and e.reason]
        closed = [e for e in events if e.to_status == CLOSED_OUT]
        escalations = [i for i, e in enumerate(events) if e.by_pass and e.to_status == ESCALATED]
        overdue = [e for e in events if e.by_pass and e.to_status == OVERDUE]
        settled: date | None = None
        for event in reversed(events):  # the start of the latest run of settled statuses
            if event.to_status in UNRESOLVED:
                break
            settled = event.on
        last_escalation = escalations[-1] if escalations else None
        return ItemState(
            item=item, status=last.to_status, level=last.level,
            assigned_on=assigning[-1].on if assigning else events[0].on,
            created_on=events[0].on,
            deadline_on=deadlines[-1].deadline_on if deadlines and deadlines[-1].deadline_on
            else item.deadline_on,
            reason=placed[-1].reason or item.reason if placed else item.reason,
            progress=notes[-1].reason if notes else None,
            closed_on=closed[0].on if closed else None,
            escalated_on=events[last_escalation].on if last_escalation is not None else None,
            escalated_from=events[last_escalation - 1].level
            if last_escalation else None,
            overdue_on=overdue[-1].on if overdue else None,
            settled_on=settled)

    def states(self, on: date) -> list[ItemState]:
        return [s for item in self.items if (s := self.state(item, on)) is not None]


class RowBuilder:
    """Turns item states into the rows of the weekly list."""

    def __init__(self, session: Session, policies: Policies, calendar: WorkCalendar,
                 light_of: Mapping[str, str]) -> None:
        self.policies = policies
        self.calendar = calendar
        self.light_of = light_of
        self.projects: dict[str, dict[str, Any]] = {
            str(row["code"]): dict(row) for row in session.execute(
                select(col(Project.code), col(Project.name), col(Project.county),
                       col(Project.category), col(Project.task_force),
                       col(Project.responsible_person))).mappings()}
        self.problems: dict[str, tuple[str, str]] = {
            str(i): (str(title), str(kind)) for i, title, kind in session.execute(
                select(col(Problem.id), col(Problem.title), col(Problem.type)))}
        self.county_names = {c.id: c.name for c in policies.counties}
        self.governments = {c.id: c.government for c in policies.counties}
        self.category_names = {c.id: c.name for c in policies.categories}
        self.type_names = {p.id: p.name for p in policies.problem_types}
        self.leads = {t.id: t.leads for t in policies.task_forces}
        # what a pass renders each rung's recipient from: the same unit facts, compiled once
        self.unit_names = Units(policies)
        self.rungs = {rung.level: ReasonTemplate(rung.recipient) for rung in policies.ladder}

    def recipient(self, state: ItemState) -> str:
        """Who held the item at that level: the item's recipient if it is still at that
        level, else the ladder's recipient for the level, rendered as a pass renders it."""
        item = state.item
        if state.level == item.level:
            return item.recipient
        rung = self.rungs.get(state.level)
        if rung is None:
            return item.recipient
        return rung.render({}, {}, self.unit_names.unit_facts(item.county, item.category,
                                                              item.task_force))

    def units(self, state: ItemState, recipient: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(lead units, co-operating units) by level, see docs/reference/report-contexts.md."""
        item = state.item
        leads = tuple(self.leads.get(item.task_force, ()))
        government = self.governments.get(item.county)
        if state.level == "city" and leads:
            return leads, (government,) if government else ()
        return (recipient,), tuple(u for u in leads if u != recipient)

    def row(self, state: ItemState, on: date) -> AssignmentRow:
        item = state.item
        project = self.projects.get(item.project_code, {})
        problem, problem_type = (self.problems.get(item.subject_key, (None, None))
                                 if item.subject_kind == "problem" else (None, None))
        recipient = self.recipient(state)
        leads, cooperating = self.units(state, recipient)
        late = (self.calendar.workdays_between(state.deadline_on, on)
                if state.status in UNRESOLVED and on > state.deadline_on else 0)
        return AssignmentRow(
            number=item.number, assigned_on=state.assigned_on, project_code=item.project_code,
            project_name=str(project.get("name") or item.project_code),
            category=item.category,
            category_name=self.category_names.get(item.category, item.category),
            county=item.county, county_name=self.county_names.get(item.county, item.county),
            problem=problem, problem_type=problem_type,
            problem_type_name=self.type_names.get(problem_type, problem_type)
            if problem_type else None,
            level=state.level, recipient=recipient, lead_units=leads,
            cooperating_units=cooperating,
            responsible_person=item.responsible_person or project.get("responsible_person"),
            deadline_on=state.deadline_on, days_overdue=max(late, 0), status=state.status,
            light=self.light_of.get(item.project_code), reason=state.reason,
            progress=state.progress, escalated_from=state.escalated_from)


def by_number(rows: Sequence[AssignmentRow]) -> tuple[AssignmentRow, ...]:
    return tuple(sorted(rows, key=lambda r: r.number))
