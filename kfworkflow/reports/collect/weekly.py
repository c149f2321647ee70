"""The weekly assignment list (周交办单) from the database, as of the weekly pass's date."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.engine.facts_loader import FactsLoader
from kfworkflow.engine.history import History
from kfworkflow.engine.metrics import pro_rata
from kfworkflow.engine.units import OVERALL
from kfworkflow.errors import Finding, InputError
from kfworkflow.lifecycle.assignments import CLOSED_OUT, OVERDUE, RESOLVED
from kfworkflow.lifecycle.milestones import ADJUSTED
from kfworkflow.reports.collect.common import (
    Setting,
    document_info,
    latest_run,
    project_lights_on,
    require_run,
    setting_on,
)
from kfworkflow.reports.collect.items import ItemHistory, ItemState, RowBuilder, by_number
from kfworkflow.reports.context import (
    UNIT_SEPARATOR,
    AssignmentRow,
    LaggingProject,
    ReviewedAssignment,
    WeeklyList,
    level_status_counts,
    weekly_review,
)
from kfworkflow.storage.engine_models import PassRun, SubjectLight
from kfworkflow.workcalendar import WorkCalendar

LAGGING_LIGHTS = ("red", "yellow")


def review_outcome(then: ItemState, now: ItemState, since: date) -> tuple[str, date | None]:
    """What became of an item on the list of ``since``, and when: closed out (the date it was
    closed out), resolved (the date it was resolved), overdue at the top level (the date it was
    marked so; still open), escalated after ``since`` (the date of the escalation), or still
    open (None)."""
    if now.status == CLOSED_OUT:
        return "closed_out", now.closed_on
    if now.status == RESOLVED:
        return "resolved", now.settled_on
    if now.status == OVERDUE:
        return "overdue", now.overdue_on
    if now.escalated_on is not None and now.escalated_on > since and now.level != then.level:
        return "escalated", now.escalated_on
    return "still_open", None


def reviewed_row(rows: RowBuilder, calendar: WorkCalendar, then: ItemState, now: ItemState,
                 now_row: AssignmentRow, since: date, as_of: date) -> ReviewedAssignment:
    """Part one's row of an item on last week's list: the item as it stood then (level, holder,
    deadline, reason) with its status and progress now; its working days overdue against last
    week's deadline, counted to when that deadline stopped applying (an escalation after
    ``since``), to when it was resolved (or closed out without being resolved first), else to
    ``as_of``. ``now_row``: the row of ``now``."""
    outcome, outcome_on = review_outcome(then, now, since)
    if now.escalated_on is not None and now.escalated_on > since:
        until = now.escalated_on
    elif now.settled_on is not None:
        until = now.settled_on
    else:
        until = as_of
    late = calendar.workdays_between(then.deadline_on, until) if until > then.deadline_on else 0
    item = replace(rows.row(then, as_of), status=now.status, progress=now.progress,
                   days_overdue=max(late, 0))
    return ReviewedAssignment(outcome, item, now_row, outcome_on)


def late_milestone(setting: Setting, facts: Mapping[str, Any], on: date
                   ) -> tuple[str, date] | None:
    """The first milestone of the project's path, after its current state, planned on or
    before ``on`` and not reached by then."""
    category, state = facts["category"], facts["state"]
    try:
        path = setting.lifecycle.path(category)
    except KeyError:
        return None
    for milestone in path[1:]:
        planned = facts.get(f"planned.{milestone}")
        if planned is None or planned > on or facts.get(f"actual.{milestone}") is not None:
            continue
        if not setting.lifecycle.reached(category, state, milestone):
            return milestone, planned
    return None


def lit_dimensions(session: Session, on: date) -> dict[str, tuple[str, ...]]:
    """Each project's light dimensions (as the rules name them: start, progress, funds, ...)
    that the latest daily run on or before ``on`` set red or yellow, red ones first."""
    run = latest_run(session, "daily", on)
    if run is None or run.id is None:
        return {}
    rows = session.execute(
        select(col(SubjectLight.key), col(SubjectLight.dimension), col(SubjectLight.color))
        .where(col(SubjectLight.pass_run_id) == run.id, col(SubjectLight.kind) == "project",
               col(SubjectLight.dimension) != OVERALL,
               col(SubjectLight.color).in_(LAGGING_LIGHTS)))
    lit: dict[str, list[tuple[int, str]]] = {}
    for key, dimension, color in rows:
        lit.setdefault(str(key), []).append((LAGGING_LIGHTS.index(color), str(dimension)))
    return {key: tuple(d for _, d in sorted(found)) for key, found in lit.items()}


def lagging_projects(session: Session, setting: Setting, calendar: WorkCalendar, on: date,
                     light_of: Mapping[str, str]
                     ) -> tuple[tuple[LaggingProject, ...], tuple[str, ...]]:
    """Projects with a milestone at least one working day late or a red or yellow light on
    ``on`` (projects with a valid reason, 正当理由, in force are left out), most late first,
    then red before yellow, then most behind the pro-rata target, each with the sub-table of
    part three it goes in (``LaggingProject.lag``); and the units responsible for a project of
    the programme (not adjusted out), each of whom gets a list: the county governments, then
    the lead units of the projects' task forces, in the order of ``policies.yaml``, then the
    projects' other responsible units."""
    policies = setting.policies
    governments = {c.id: c.government for c in policies.counties}
    categories = {c.id: c.name for c in policies.categories}
    leads = {t.id: tuple(t.leads) for t in policies.task_forces}
    target = pro_rata(on)
    dimensions = lit_dimensions(session, on)
    loader = FactsLoader(session, policies, setting.lifecycle, on,
                         History([], "weekly", on, {}, {}), {})
    out = []
    counties: set[str] = set()
    task_forces: set[str] = set()
    responsible: dict[str, None] = {}
    for chunk in loader.project_chunks():
        for code, facts in chunk:
            if facts["state"] == ADJUSTED:
                continue
            counties.add(facts["county"])
            task_forces.add(facts["task_force"])
            if facts.get("responsible_unit"):
                responsible.setdefault(facts["responsible_unit"])
            if facts.get("finished") or facts.get("exempt"):
                continue
            late = late_milestone(setting, facts, on)
            if late is not None and calendar.workdays_between(late[1], on) < 1:
                late = None  # due today: not late yet
            light = light_of.get(code)
            if late is None and light not in LAGGING_LIGHTS:
                continue
            milestone, planned = late if late else (None, None)
            rate = facts.get("investment_rate")
            gap = (rate - target) * 100 if rate is not None else None
            out.append(LaggingProject(
                code=code, name=facts["name"], category=facts["category"],
                category_name=str(categories.get(facts["category"], facts["category"])),
                county=facts["county"], county_name=facts["county_name"],
                recipient=str(governments.get(facts["county"], facts["county_name"])),
                responsible_unit=facts.get("responsible_unit") or "",
                lead_units=leads.get(facts["task_force"], ()),
                milestone=milestone,
                milestone_name=policies.milestones.get(milestone, milestone)
                if milestone else None,
                planned_on=planned,
                lag_days=calendar.workdays_between(planned, on) if planned else 0,
                investment_completion_rate=rate, pro_rata_gap_pp=gap, light=light,
                lag="milestone" if late else (
                    "investment" if gap is not None and gap < 0 else "other"),
                disbursement_rate=facts.get("disbursement_rate"),
                light_dimensions=dimensions.get(code, ())))
    out.sort(key=lambda p: (-p.lag_days, p.light != "red", p.pro_rata_gap_pp or 0.0, p.code))
    units = dict.fromkeys(c.government for c in policies.counties if c.id in counties)
    for force in policies.task_forces:
        if force.id in task_forces:
            units.update(dict.fromkeys(force.leads))
    units.update(responsible)
    return tuple(out), tuple(units)


def collect_weekly(session: Session, on: date, calendar: WorkCalendar) -> WeeklyList:
    """The overall list of the latest weekly pass on or before ``on``."""
    run = require_run(session, "weekly", on)
    return weekly_from_run(session, run, calendar)


def weekly_from_run(session: Session, run: PassRun, calendar: WorkCalendar) -> WeeklyList:
    setting = setting_on(session, run.as_of)
    as_of = run.as_of
    previous = latest_run(session, "weekly", as_of, before=True)
    history = ItemHistory(session, setting.policies)
    light_of = project_lights_on(session, as_of)
    rows = RowBuilder(session, setting.policies, calendar, light_of)
    now = {s.item.number: s for s in history.states(as_of)}
    open_states = [s for s in now.values() if s.status != CLOSED_OUT]
    open_rows = {s.item.number: rows.row(s, as_of) for s in open_states}
    reviewed: list[ReviewedAssignment] = []
    since = previous.as_of if previous else None
    if since is not None:
        for state in history.states(since):
            number = state.item.number
            if state.status != CLOSED_OUT and number in now:
                now_row = open_rows.get(number) or rows.row(now[number], as_of)
                reviewed.append(reviewed_row(rows, calendar, state, now[number], now_row,
                                             since, as_of))
    new = [open_rows[s.item.number] for s in open_states
           if since is None or s.assigned_on > since]
    monday = as_of - timedelta(days=as_of.weekday())
    lagging, units = lagging_projects(session, setting, calendar, as_of, light_of)
    return WeeklyList(
        info=document_info(setting.policies, run), week=run.period_key, week_start=monday,
        week_end=monday + timedelta(days=6), recipient=None,
        review=weekly_review(previous.period_key if previous else "",
                             sorted(reviewed, key=lambda r: r.item.number)),
        items=by_number(new),
        lagging=lagging, open_by_level_status=level_status_counts(open_rows.values()),
        units=units)


def recipient_list(doc: WeeklyList, unit: str) -> WeeklyList:
    """The list ``unit`` receives; InputError (KFW-D005) naming the closest units if no list
    goes to it."""
    known = doc.recipients()
    if unit in known:
        return doc.for_recipient(unit)
    parts = [u for u in unit.split(UNIT_SEPARATOR) if u in known]
    if len(parts) > 1:
        hint = f"give one unit at a time: {_either(parts)}"
    elif close := _close_units(unit, known):
        hint = f"did you mean {_either(close)}?"
    else:
        hint = f"the units with a list are: {', '.join(known) or 'none'}"
    finding = Finding("KFW-D005", f"no {doc.week} list goes to {unit!r}: it holds no item and "
                      "is responsible for no project", hint=hint)
    raise InputError(str(finding), [finding])


def _close_units(unit: str, known: Sequence[str], n: int = 3) -> list[str]:
    """The ``n`` units most like ``unit``: similar names, and names that contain its
    characters in order (an abbreviation: 市工信局 → 市工业和信息化局)."""
    def in_order(short: str, long: str) -> bool:
        rest = iter(long)
        return all(c in rest for c in short)

    scored = [(difflib.SequenceMatcher(None, unit, k).ratio(), k) for k in known]
    scored.sort(key=lambda s: -s[0])
    return [k for ratio, k in scored if ratio >= 0.6 or in_order(unit, k)][:n]


def _either(units: list[str]) -> str:
    quoted = [repr(u) for u in units]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
