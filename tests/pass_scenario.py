"""The six-week scenario's ledger, rules and calendar (2022-09-26 to 2022-11-06, spanning
国庆), shared by the pass tests: ``test_scenario.py`` asserts the story, ``test_passes.py`` and
others the engine's guarantees; and what a re-run must leave unchanged (``state_of``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import col

from kfworkflow.engine.passes import (
    run_pass,
    scheduled_periods,
)
from kfworkflow.engine.workspace import Workspace
from kfworkflow.rules.ruleset import canonical_json, compile_source
from kfworkflow.rules.spec import read_rules
from kfworkflow.storage import rule_store
from kfworkflow.storage.db import write_session
from kfworkflow.storage.engine_models import (
    Assignment,
    AssignmentEvent,
    MetricSnapshot,
    PassRun,
    Ranking,
    SubjectLight,
)
from kfworkflow.storage.models import (
    DailyReport,
    Exemption,
    Problem,
    Project,
    ProjectMilestone,
)
from kfworkflow.timefmt import FixedClock
from kfworkflow.workcalendar import WorkCalendar

SCENARIO_RULES = Path(__file__).parent / "data" / "scenario_rules"
START = date(2022, 9, 26)  # a Monday; 国庆 2022-10-01..07, make-up workdays 10-08 and 10-09
END = date(2022, 11, 6)
ENGINE_TABLES = ("pass_run", "decision", "subject_light", "rule_streak", "assignment",
                 "assignment_event", "metric_snapshot", "ranking")
COUNTIES = {"Q": ("qixian", "杞县"), "T": ("tongxu", "通许县"), "L": ("lankao", "兰考县")}
CATEGORIES = {1: "key_project", 2: "key_project", 3: "key_project", 4: "key_project",
              5: "housing_delivery", 6: "housing_delivery", 7: "housing_delivery",
              8: "central_budget", 9: "central_budget", 10: "central_budget"}
TASK_FORCES = {"key_project": "key_projects", "housing_delivery": "housing_delivery",
               "central_budget": "central_budget"}
QUIET_START = date(2022, 6, 1)
PLANNED_END = date(2023, 6, 30)
# code -> (planned start, actual start) for the projects that start late
LATE = {"Q01": (date(2022, 9, 21), None), "Q02": (date(2022, 9, 21), None),
        "L01": (date(2022, 9, 22), date(2022, 10, 10))}
MISSING_REPORTS = {("tongxu", date(2022, 10, 20)), ("tongxu", date(2022, 10, 21))}


def at(day: date) -> datetime:
    """18:00 in Beijing on ``day``."""
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)


def set_day(workspace: Workspace, day: date) -> None:
    workspace.clock = FixedClock(at(day))


def publish_rules(workspace: Workspace, folder: Path = SCENARIO_RULES,
                  effective_from: date = START) -> str:
    policies = workspace.policies
    ruleset, findings = compile_source(read_rules(folder), policies)
    assert ruleset is not None and not findings, findings
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}
    with write_session(workspace.ready_engine()) as session:
        rule_store.publish(session, revision=ruleset.revision, effective_from=effective_from,
                           content=canonical_json(dict(ruleset.content)), files=files,
                           policies_text=workspace.policies_path.read_text(encoding="utf-8"),
                           actor="policy", now=at(effective_from))
    return ruleset.revision


def investment(county: str, day: date) -> float:
    """Cumulative investment each project of ``county`` reports on ``day`` (annual plan 1200)."""
    if county == "tongxu":
        return 720.0
    before = {"qixian": 600.0, "lankao": 900.0}[county]
    return before if day < date(2022, 10, 10) else 960.0


FUNDS_ARRIVED = {"qixian": 600.0, "tongxu": 800.0, "lankao": 600.0}  # of 1000 planned


def build_ledger(workspace: Workspace, *, codes: Iterable[str] | None = None,
                 last_report: date = END) -> None:
    """30 projects (3 counties × 10; key_project, housing_delivery, central_budget), their
    daily reports from START, three problems and one valid reason."""
    wanted = set(codes) if codes is not None else None
    calendar = workspace.calendar
    created = at(date(2022, 9, 1))
    with write_session(workspace.ready_engine()) as session:
        ids: dict[str, int] = {}
        for prefix, (county, county_name) in COUNTIES.items():
            for n in range(1, 11):
                code = f"{prefix}{n:02d}"
                if wanted is not None and code not in wanted:
                    continue
                category = CATEGORIES[n]
                planned_start, started = LATE.get(code, (QUIET_START, QUIET_START))
                project = Project(
                    code=code, name=f"{county_name}项目{n}", category=category, county=county,
                    task_force=TASK_FORCES[category], responsible_unit=f"{county_name}发展改革委",
                    responsible_person=f"{county_name}负责人{n}", total_investment=5000.0,
                    annual_investment=1200.0,
                    planned_funds=1000.0 if category == "central_budget" else None,
                    state="started" if started else ("allocated" if category == "central_budget"
                                                     else "planned"),
                    state_on=started, created_at=created, updated_at=created)
                session.add(project)
                session.flush()
                assert project.id is not None
                ids[code] = project.id
                session.add(ProjectMilestone(project_id=project.id, milestone="started",
                                             planned_on=planned_start, actual_on=started))
                session.add(ProjectMilestone(project_id=project.id, milestone="completed",
                                             planned_on=PLANNED_END))
                if category == "central_budget":
                    session.add(ProjectMilestone(project_id=project.id, milestone="allocated",
                                                 actual_on=date(2022, 3, 1)))
                    session.add(ProjectMilestone(project_id=project.id, milestone="disbursed",
                                                 actual_on=date(2022, 4, 1)))
                day = START
                while day <= last_report:
                    if calendar.is_workday(day) and (county, day) not in MISSING_REPORTS:
                        session.add(DailyReport(
                            project_id=project.id, county=county, report_on=day,
                            recorded_at=at(day), completed_investment=investment(county, day),
                            funds_arrived=FUNDS_ARRIVED[county]
                            if category == "central_budget" else None,
                            actor="county"))
                    day += timedelta(days=1)
        problems = [("T03", "resources", "city", "用地指标不足", date(2022, 9, 23), None),
                    ("L05", "procedures", "county", "施工许可未办", date(2022, 10, 9),
                     date(2022, 10, 14)),
                    ("T06", "construction_env", "county", "施工噪声投诉停工", date(2022, 10, 12),
                     None)]
        for code, type_, level, title, opened_on, resolved_on in problems:
            if code in ids:
                session.add(Problem(project_id=ids[code], type=type_, level=level, title=title,
                                    opened_on=opened_on, opened_at=at(opened_on),
                                    status="resolved" if resolved_on else "open",
                                    resolved_on=resolved_on,
                                    resolved_at=at(resolved_on) if resolved_on else None,
                                    actor="county"))
        if "Q02" in ids:
            session.add(Exemption(project_id=ids["Q02"], reason="用地规划调整，经批准延期开工",
                                  from_on=date(2022, 9, 29), recorded_at=at(date(2022, 9, 29)),
                                  actor="city"))


def periods(until: date, start: date = START) -> list[tuple[str, date]]:
    return scheduled_periods(WorkCalendar.load(), start, until)


def run_all(workspace: Workspace, until: date, start: date = START) -> None:
    for kind, day in periods(until, start):
        set_day(workspace, day)
        run_pass(workspace, kind, day)


# --- reading the state back -------------------------------------------------------------------


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one())
                for t in ENGINE_TABLES}


@dataclass(frozen=True)
class State:
    assignments: tuple[tuple[Any, ...], ...]
    events: tuple[tuple[Any, ...], ...]
    lights: tuple[tuple[Any, ...], ...]
    rankings: tuple[tuple[Any, ...], ...]
    snapshots: tuple[tuple[Any, ...], ...]
    runs: tuple[tuple[Any, ...], ...]


def state_of(engine: Engine) -> State:
    """Everything a re-run must not change: assignments and their events, the lights of the
    latest daily run, the rankings and snapshots of effective runs, which periods are done."""
    with engine.connect() as conn:
        numbers = dict(conn.execute(select(col(Assignment.id), col(Assignment.number))).all())
        assignments = tuple(
            (r.number, r.subject_kind, r.subject_key, r.rule_id, r.level, r.recipient,
             r.assigned_on, r.deadline_on, r.status, r.escalations,
             numbers.get(r.reopened_from_id))
            for r in conn.execute(select(Assignment).order_by(col(Assignment.number))))
        events = tuple(sorted(
            (numbers[r.assignment_id], r.from_status or "", r.to_status, r.level,
             r.deadline_on, r.reason or "")
            for r in conn.execute(select(AssignmentEvent))))
        effective = {r.id: (r.kind, r.period_key, r.as_of) for r in conn.execute(
            select(PassRun).where(col(PassRun.status) == "succeeded"))}
        last_daily = max((i for i, (k, _, a) in effective.items() if k == "daily"),
                         key=lambda i: effective[i][2], default=None)
        lights = tuple(sorted(
            (r.kind, r.key, r.dimension, r.color, r.since_on, r.streak)
            for r in conn.execute(select(SubjectLight)
                                  .where(col(SubjectLight.pass_run_id) == last_daily))))
        rankings = tuple(sorted(
            (r.period, r.county, r.score, r.rank, r.rank_change, r.breakdown)
            for r in conn.execute(select(Ranking)) if r.pass_run_id in effective))
        snapshots = tuple(sorted(
            (effective[r.pass_run_id][1], r.scope_kind, r.scope_key, r.metrics)
            for r in conn.execute(select(MetricSnapshot)) if r.pass_run_id in effective))
        runs = tuple(sorted(effective.values()))
    return State(assignments, events, lights, rankings, snapshots, runs)
