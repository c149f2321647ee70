"""The dashboard's contents from the database: the three documents and every project's
timeline, as of the latest daily pass on or before a date."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date, timedelta

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.engine.facts_loader import FactsLoader
from kfworkflow.engine.history import History
from kfworkflow.engine.units import OVERALL
from kfworkflow.lifecycle.assignments import CLOSED_OUT
from kfworkflow.lifecycle.assignments import LABELS as STATUS_LABELS
from kfworkflow.reports.collect.common import (
    EFFECTIVE,
    Setting,
    document_info,
    latest_run,
    project_lights_on,
    setting_on,
)
from kfworkflow.reports.collect.daily import collect_daily
from kfworkflow.reports.collect.items import ItemHistory, RowBuilder, by_number
from kfworkflow.reports.collect.ranking import collect_ranking
from kfworkflow.reports.collect.weekly import weekly_from_run
from kfworkflow.reports.context import (
    AssignmentRow,
    DocumentInfo,
    WeeklyList,
    weekly_review,
)
from kfworkflow.reports.site_context import (
    DashboardSite,
    MilestoneStep,
    ProjectTimeline,
    TaskForceInfo,
    TimelineEvent,
)
from kfworkflow.storage.engine_models import PassRun, SubjectLight
from kfworkflow.storage.models import MilestoneEvent, Problem, Project
from kfworkflow.workcalendar import WorkCalendar

LIGHT_NAMES = {"red": "红灯", "yellow": "黄灯", "green": "绿灯"}
LEVEL_NAMES = {"county": "县级", "city": "市级", "province": "省级"}


def _empty_weekly(daily_as_of: date, info: DocumentInfo) -> WeeklyList:
    """The weekly part of a dashboard before any weekly pass has run."""
    monday = daily_as_of - timedelta(days=daily_as_of.weekday())
    year, week, _ = daily_as_of.isocalendar()
    return WeeklyList(info=info, week=f"{year}-W{week:02d}", week_start=monday,
                      week_end=monday + timedelta(days=6), recipient=None,
                      review=weekly_review("", ()), items=(), lagging=(),
                      open_by_level_status=())


def _late(calendar: WorkCalendar, planned: date | None, actual: date | None, on: date
          ) -> int | None:
    if planned is None:
        return None
    end = actual if actual is not None else on
    late = calendar.workdays_between(planned, end) if end > planned else 0
    return late or None


class _Events:
    """Every dated event of every project up to a date, loaded in a few queries."""

    def __init__(self, session: Session, setting: Setting, history: ItemHistory, on: date
                 ) -> None:
        self.by_project: dict[str, list[TimelineEvent]] = defaultdict(list)
        codes = {int(i): str(c) for i, c in session.execute(
            select(col(Project.id), col(Project.code)))}
        labels = setting.policies.milestones
        for project_id, before, after, occurred in session.execute(
                select(col(MilestoneEvent.project_id), col(MilestoneEvent.from_state),
                       col(MilestoneEvent.to_state), col(MilestoneEvent.occurred_on))
                .where(col(MilestoneEvent.occurred_on) <= on)):
            text = (f"{labels.get(before, before)} → {labels.get(after, after)}" if before
                    else str(labels.get(after, after)))
            self._add(codes.get(project_id), occurred, "milestone", text)
        for project_id, title, opened, resolved in session.execute(
                select(col(Problem.project_id), col(Problem.title), col(Problem.opened_on),
                       col(Problem.resolved_on)).where(col(Problem.opened_on) <= on)):
            self._add(codes.get(project_id), opened, "problem", f"提出：{title}")
            if resolved is not None and resolved <= on:
                self._add(codes.get(project_id), resolved, "problem", f"解决：{title}")
        for item in history.items:
            assert item.id is not None
            for event in history.events.get(item.id, []):
                if event.on <= on:
                    text = (f"{item.number} {STATUS_LABELS.get(event.to_status, event.to_status)}"
                            f"（{LEVEL_NAMES.get(event.level, event.level)}）"
                            + (f"：{event.reason}" if event.reason else ""))
                    self._add(item.project_code, event.on, "assignment", text)
        for key, color, since in session.execute(
                select(col(SubjectLight.key), col(SubjectLight.color), col(SubjectLight.since_on))
                .join(PassRun, col(PassRun.id) == col(SubjectLight.pass_run_id))
                .where(col(SubjectLight.kind) == "project", col(SubjectLight.dimension) == OVERALL,
                       col(PassRun.status) == EFFECTIVE, col(PassRun.as_of) <= on,
                       col(SubjectLight.since_on) == col(PassRun.as_of))):
            self._add(str(key), since, "light", LIGHT_NAMES.get(color, color))
        for events in self.by_project.values():
            events.sort(key=lambda e: (e.on, e.kind))

    def _add(self, code: str | None, on: date | None, kind: str, text: str) -> None:
        if code is not None and on is not None:
            self.by_project[code].append(TimelineEvent(on, kind, text))


def project_timelines(session: Session, setting: Setting, calendar: WorkCalendar, on: date,
                      light_of: Mapping[str, str], history: ItemHistory
                      ) -> tuple[ProjectTimeline, ...]:
    policies = setting.policies
    categories = {c.id: c for c in policies.categories}
    forces = {t.id: t.name for t in policies.task_forces}
    labels = policies.milestones
    events = _Events(session, setting, history, on)
    loader = FactsLoader(session, policies, setting.lifecycle, on,
                         History([], "daily", on, {}, {}), {})
    out = []
    for chunk in loader.project_chunks():
        for code, facts in chunk:
            category = categories.get(facts["category"])
            path = category.path if category else ()
            steps = tuple(
                MilestoneStep(m, str(labels.get(m, m)), facts.get(f"planned.{m}"),
                              facts.get(f"actual.{m}"),
                              _late(calendar, facts.get(f"planned.{m}"),
                                    facts.get(f"actual.{m}"), on))
                for m in path)
            out.append(ProjectTimeline(
                code=code, name=facts["name"], category=facts["category"],
                category_name=category.name if category else facts["category"],
                county=facts["county"], county_name=facts["county_name"],
                task_force=facts["task_force"],
                task_force_name=str(forces.get(facts["task_force"], facts["task_force"])),
                state=facts["state"], state_name=str(labels.get(facts["state"], facts["state"])),
                light=light_of.get(code), responsible_unit=facts.get("responsible_unit") or "",
                responsible_person=facts.get("responsible_person") or "",
                annual_investment=float(facts.get("annual_investment") or 0.0),
                completed_investment=float(facts.get("completed_investment") or 0.0),
                investment_completion_rate=facts.get("investment_rate"),
                steps=steps, events=tuple(events.by_project.get(code, ()))))
    return tuple(out)


def open_assignments(session: Session, setting: Setting, calendar: WorkCalendar, on: date,
                     light_of: Mapping[str, str], history: ItemHistory
                     ) -> tuple[AssignmentRow, ...]:
    """Every item not closed out on ``on``, as it stood that day, by number: read from the
    assignments and their events, so an item a daily pass created after the last weekly list
    is there too."""
    rows = RowBuilder(session, setting.policies, calendar, light_of)
    return by_number([rows.row(state, on) for state in history.states(on)
                      if state.status != CLOSED_OUT])


def collect_site(session: Session, on: date, calendar: WorkCalendar) -> DashboardSite:
    """The dashboard as of the latest daily pass on or before ``on``."""
    daily = collect_daily(session, on)
    as_of = daily.info.as_of
    setting = setting_on(session, as_of)
    policies = setting.policies
    weekly_run = latest_run(session, "weekly", as_of)
    weekly = (weekly_from_run(session, weekly_run, calendar) if weekly_run is not None
              else _empty_weekly(as_of, daily.info))
    monthly = (collect_ranking(session, as_of) if latest_run(session, "monthly", as_of)
               else None)
    daily_run = latest_run(session, "daily", as_of)
    assert daily_run is not None
    history = ItemHistory(session, policies)
    light_of = project_lights_on(session, as_of)
    forces = tuple(
        TaskForceInfo(t.id, t.name, t.leads,
                      tuple(c.id for c in policies.categories if c.task_force == t.id))
        for t in policies.task_forces)
    return DashboardSite(
        info=document_info(policies, daily_run), daily=daily, weekly=weekly, monthly=monthly,
        task_forces=forces,
        projects=project_timelines(session, setting, calendar, as_of, light_of, history),
        assignments=open_assignments(session, setting, calendar, as_of, light_of, history))
