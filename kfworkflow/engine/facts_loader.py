"""The facts of every subject kind as of a date, read in chunks so memory does not grow with N.

As of a date: a report dated after it is invisible and the latest recorded report for the
latest date wins; a milestone reached after it has not happened; a problem opened after it
does not exist yet. History facts (``previous_light.<dim>``, ``light_streak.<dim>``,
``streak.<rule_id>``) come from the light and streak rows of the runs that precede this pass
(see ``History``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session, col

from kfworkflow.config.policies import Policies
from kfworkflow.engine.history import History, PriorLight
from kfworkflow.engine.project_query import (
    AFTER,
    IDS,
    ProjectQuery,
    exemption_in_force,
    latest_reports_query,
    problem_open,
    project_query,
)
from kfworkflow.engine.project_rows import (
    EXEMPTION_FACTS,
    LEDGER_FACTS,
    PROBLEM_FACTS,
    REPORT_COMPUTED,
    REPORT_FACTS,
    REPORT_NONE,
    RowLights,
    reads_milestones,
    values_at,
)
from kfworkflow.engine.units import Facts, Units
from kfworkflow.lifecycle.assignments import CLOSED_OUT
from kfworkflow.lifecycle.milestones import ADJUSTED, MilestoneLifecycle
from kfworkflow.storage.driver_select import DriverSelect
from kfworkflow.storage.engine_models import Assignment
from kfworkflow.storage.models import DailyReport, Exemption, Problem, Project, ProjectMilestone
from kfworkflow.storage.queries import keys_in, keys_value
from kfworkflow.workcalendar import WorkCalendar

CHUNK = 2000
MISSED_REPORTS_LOOKBACK = 120  # calendar days searched back for a county's last report

Subject = tuple[str, Facts]


class FactsLoader:
    def __init__(self, session: Session, policies: Policies, lifecycle: MilestoneLifecycle,
                 as_of: date, history: History, dimensions: Mapping[str, Sequence[str]], *,
                 chunk: int = CHUNK, project_facts: frozenset[str] | None = None,
                 when_fired: frozenset[str] = frozenset()) -> None:
        """``project_facts``: the project facts anyone will read (None: all of them); the
        sources that provide none of them are skipped, and their facts left out.
        ``when_fired``: those of them read only for a project some rule fires for (by its
        reason, route or recorded inputs, not by a condition). When that is every report fact
        read, the chunk query does not join the latest report: ``complete`` adds the report
        facts to the projects that need them."""
        self.session = session
        self.policies = policies
        self.lifecycle = lifecycle
        self.as_of = as_of
        self.history = history
        # subject kind → the light dimensions whose history the pass needs for it
        self.dimensions = {kind: tuple(dims) for kind, dims in dimensions.items()}
        self.chunk = chunk
        self.units = Units(policies)
        self.milestones = [(m, f"planned.{m}", f"actual.{m}") for m in policies.milestones
                           if m not in ("planned", ADJUSTED)]
        wanted = project_facts
        self.with_milestones = wanted is None or reads_milestones(wanted)
        self.with_reports = wanted is None or bool(wanted & REPORT_FACTS)
        self.with_exemptions = wanted is None or bool(wanted & EXEMPTION_FACTS)
        self.with_problems = wanted is None or bool(wanted & PROBLEM_FACTS)
        # the report facts are read only for the projects the pass's rules fire for
        self.reports_when_fired = (wanted is not None and self.with_reports
                                   and wanted & REPORT_FACTS <= when_fired)
        self._join_reports = self.with_reports and not self.reports_when_fired
        self.wanted = wanted
        self._unit_facts: dict[tuple[str, str, str], Facts] = {}
        # the ledger facts read, and the project columns to select
        self._ledger_facts = tuple(n for n in LEDGER_FACTS if wanted is None or n in wanted)
        self._columns = frozenset(
            (*self._ledger_facts,
             *(("annual_investment", "planned_funds") if self.with_reports else ()),
             *(("state", "state_on") if self.with_milestones else ())))
        # the report facts read: their values when there is no report, and how each is computed
        # when there is one
        self._report: tuple[Facts, list[tuple[str, Callable[..., Any]]]] = (
            self._wanted_only(REPORT_NONE),
            [(n, f) for n, f in REPORT_COMPUTED.items() if wanted is None or n in wanted])
        # key → dimension → light before this pass, for the chunk last loaded
        self.prior_lights: Mapping[str, Mapping[str, PriorLight]] = {}
        # code → (id, annual investment, planned funds), of the chunk last loaded
        self._chunk_ledger: dict[str, tuple[int, Any, Any]] = {}
        self._reports_select: DriverSelect | None = None

    # projects ------------------------------------------------------------------------------

    def project_chunks(self) -> Iterator[list[Subject]]:
        """(code, facts) of every project, ``chunk`` at a time, in id order."""
        dimensions = self.dimensions.get("project", ())
        query = project_query(
            self.as_of, self.chunk, reports=self._join_reports, exemptions=self.with_exemptions,
            problems=self.with_problems,
            lights={d: run for d, run in self.history.light_sources.items() if d in dimensions},
            project_columns=self._columns)
        connection = self.session.connection()
        select_ = DriverSelect(connection, query.statement)
        last_id = 0
        while True:
            rows = select_.raw_rows(connection, {AFTER: last_id})
            if not rows:
                return
            span = (last_id, rows[-1][0])
            last_id = rows[-1][0]
            yield self._project_facts(rows, span, query, select_, dimensions)

    def _project_facts(self, rows: Sequence[Sequence[Any]], span: tuple[int, int],
                       query: ProjectQuery, select_: DriverSelect, dimensions: Sequence[str]
                       ) -> list[Subject]:
        """``span``: the chunk is every project with low < id ≤ high (a range scan each).
        The rows are the driver's: each value read is converted here (``select_.converter``)."""
        column = query.column_at
        code_at, category_at, county_at, task_force_at = (
            column["code"], column["category"], column["county"], column["task_force"])
        # selected only when their facts are read (see ``self._columns``)
        state_at, state_on_at = ((column["state"], column["state_on"]) if self.with_milestones
                                 else (0, 0))
        annual_at, funds_at = ((column["annual_investment"], column["planned_funds"])
                               if self.with_reports else (0, 0))
        to_state_on = select_.converter(state_on_at)
        to_report_on = select_.converter(query.report_at) if query.report_at else None
        milestones = self._milestones(*span) if self.with_milestones else {}
        streaks = self.history.streaks(self.session, "project", [r[code_at] for r in rows])
        report_at, exemption_at, problems_at = (query.report_at, query.exemption_at,
                                                query.problems_at)
        # (dimension, its two fact names, where its light starts in a row); a dimension with no
        # preceding run that sets it is the same for every project
        light_slots = [(f"previous_light.{d}", f"light_streak.{d}", at)
                       for d, at in query.light_at.items()]
        no_source: Facts = {}
        for dimension in dimensions:
            if dimension not in query.light_at:
                no_source[f"previous_light.{dimension}"] = None
                no_source[f"light_streak.{dimension}"] = 0
        rule_streaks = [(rule_id, f"streak.{rule_id}") for rule_id in self.history.tracked_rules
                        if self.wanted is None or f"streak.{rule_id}" in self.wanted]
        no_milestones: dict[str, tuple[Any, Any]] = {}
        no_streaks: dict[str, int] = {}
        ledger_names = self._ledger_facts
        ledger_values = values_at([column[n] for n in ledger_names])
        add_report = self._add_report
        with_milestones = self.with_milestones
        unit_facts, units_of = self._unit_facts, self._units_of
        out: list[Subject] = []
        for row in rows:
            code, category, county, task_force = (row[code_at], row[category_at],
                                                   row[county_at], row[task_force_at])
            facts: Facts = dict(zip(ledger_names, ledger_values(row), strict=True))
            units = unit_facts.get((county, category, task_force))
            facts.update(units if units is not None else units_of(county, category, task_force))
            if no_source:
                facts.update(no_source)
            if with_milestones:
                state_on = row[state_on_at]
                self._add_milestones(facts, category, row[state_at],
                                     None if state_on is None else to_state_on(state_on),
                                     milestones.get(row[0], no_milestones))
            if to_report_on is not None and report_at is not None:
                add_report(facts, row[annual_at], row[funds_at], row[report_at:report_at + 4],
                           to_report_on)
            if exemption_at is not None:
                reason = row[exemption_at]
                facts["exempt"] = reason is not None
                facts["exempt_reason"] = reason
            if problems_at is not None:
                facts["open_problems"] = row[problems_at]
            for previous_key, streak_key, at in light_slots:
                color = row[at]
                if color is None:
                    facts[previous_key] = None
                    facts[streak_key] = 0
                    continue
                facts[previous_key] = color
                facts[streak_key] = row[at + 1]
            if rule_streaks:
                fired = streaks.get(code, no_streaks)
                for rule_id, streak_key in rule_streaks:
                    facts[streak_key] = fired.get(rule_id, 0)
            out.append((code, facts))
        by_code = {row[code_at]: row for row in rows}
        self.prior_lights = RowLights(by_code, query.light_at, select_)
        if self.reports_when_fired:  # the report is read later, the ledger row now
            self._chunk_ledger = {code: (row[0], row[annual_at], row[funds_at])
                                  for code, row in by_code.items()}
        return out

    def complete(self, subjects: Sequence[Subject]) -> None:
        """Add the report facts to ``subjects`` (projects of the chunk last loaded) when the
        chunk query left them out (``reports_when_fired``): one query for all of them."""
        if not self.reports_when_fired or not subjects:
            return
        connection = self.session.connection()
        if self._reports_select is None:
            self._reports_select = DriverSelect(
                connection, latest_reports_query(self.as_of, connection.dialect.name))
        select_ = self._reports_select
        by_id: dict[int, tuple[Facts, Any, Any]] = {}
        for code, facts in subjects:
            project_id, annual, funds = self._chunk_ledger[code]
            by_id[project_id] = (facts, annual, funds)
        to_report_on = select_.converter(1)
        for row in select_.raw_rows(connection, {IDS: keys_value(connection.dialect.name,
                                                                 sorted(by_id))}):
            facts, annual, funds = by_id[row[0]]
            self._add_report(facts, annual, funds, row[1:5], to_report_on)

    def _add_report(self, facts: Facts, annual: Any, funds: Any, report: Sequence[Any],
                    to_report_on: Callable[[Any], Any]) -> None:
        """The report facts read, from the report's ``REPORT_COLUMNS`` (all None: none)."""
        report_none, report_computed = self._report
        if report[0] is None:
            facts.update(report_none)
            return
        for fact, compute in report_computed:
            facts[fact] = compute(annual, funds, report, to_report_on)

    def _units_of(self, county: str, category: str, task_force: str) -> Facts:
        found = self._unit_facts.get((county, category, task_force))
        if found is None:
            found = self._unit_facts[(county, category, task_force)] = self._wanted_only(
                self.units.unit_facts(county, category, task_force))
        return found

    def _wanted_only(self, facts: Facts) -> Facts:
        wanted = self.wanted
        return dict(facts) if wanted is None else {k: v for k, v in facts.items()
                                                   if k in wanted}

    def _add_milestones(self, facts: Facts, category: str, state: str, state_on: date | None,
                        milestones: Mapping[str, tuple[Any, Any]]) -> None:
        as_of = self.as_of
        for milestone, planned_key, actual_key in self.milestones:
            planned_on, actual_on = milestones.get(milestone, (None, None))
            facts[planned_key] = planned_on
            facts[actual_key] = actual_on if actual_on and actual_on <= as_of else None
        state, state_on = self._state_as_of(category, state, state_on, facts)
        facts["state"] = state
        facts["state_on"] = state_on
        try:
            facts["finished"] = self.lifecycle.is_finished(category, state)
        except KeyError:
            facts["finished"] = state == ADJUSTED

    def _state_as_of(self, category_id: str, state: str, state_on: date | None, facts: Facts
                     ) -> tuple[str, date | None]:
        if state_on is None or state_on <= self.as_of:
            return state, state_on
        category = self.units.categories.get(category_id)
        if category is None:
            return state, state_on
        reached = [(m, facts.get(f"actual.{m}")) for m in category.path]
        for milestone, actual_on in reversed(reached):
            if actual_on is not None:
                return milestone, actual_on
        return category.path[0], None

    @staticmethod
    def _id_span(column: Any, low: int, high: int) -> Any:
        return and_(column > low, column <= high)

    def _milestones(self, low: int, high: int) -> dict[int, dict[str, tuple[Any, Any]]]:
        out: dict[int, dict[str, tuple[Any, Any]]] = defaultdict(dict)
        rows = self.session.connection().execute(
            select(col(ProjectMilestone.project_id), col(ProjectMilestone.milestone),
                   col(ProjectMilestone.planned_on), col(ProjectMilestone.actual_on))
            .where(self._id_span(col(ProjectMilestone.project_id), low, high)))
        for pid, milestone, planned_on, actual_on in rows.all():
            out[pid][milestone] = (planned_on, actual_on)
        return out

    def _exemptions(self, which: Any) -> dict[int, str]:
        """project id → the reason in force on as-of, for the projects ``which`` selects."""
        on = self.as_of
        rows = self.session.connection().execute(
            select(col(Exemption.project_id), col(Exemption.reason))
            .where(which, exemption_in_force(on))
            .order_by(col(Exemption.id)))
        out: dict[int, str] = {}
        for pid, reason in rows.all():
            out.setdefault(pid, reason)
        return out

    # problems ------------------------------------------------------------------------------

    def problem_chunks(self) -> Iterator[list[Subject]]:
        last_id = 0
        while True:
            rows = self.session.connection().execute(
                select(col(Problem.id), col(Problem.project_id), col(Problem.type),
                       col(Problem.level), col(Problem.title), col(Problem.opened_on),
                       col(Project.code), col(Project.name), col(Project.county),
                       col(Project.category), col(Project.task_force),
                       col(Project.responsible_person))
                .join(Project, col(Project.id) == col(Problem.project_id))
                .where(col(Problem.id) > last_id, problem_open(self.as_of))
                .order_by(col(Problem.id)).limit(self.chunk)).all()
            if not rows:
                return
            last_id = int(rows[-1][0] or 0)
            keys = [str(r[0]) for r in rows]
            assigned = self._open_assignment_keys("problem", keys)
            exempt = self._exemptions(keys_in(self.session, col(Exemption.project_id),
                                              sorted({r[1] for r in rows})))
            dimensions = self.dimensions.get("problem", ())
            lights = self.prior_lights = self.history.lights(self.session, "problem", keys,
                                                             dimensions)
            streaks = self.history.streaks(self.session, "problem", keys)
            chunk: list[Subject] = []
            for (pid, project_id, type_, level, title, opened_on, code, name, county, category,
                 task_force, person) in rows:
                key = str(pid)
                facts: Facts = {
                    "id": pid, "code": code, "name": name,
                    **self.units.unit_facts(county, category, task_force),
                    "type": type_, "type_name": self.units.problem_types.get(type_, type_),
                    "level": level, "title": title, "opened_on": opened_on,
                    "assigned": key in assigned, "exempt": project_id in exempt,
                    "responsible_person": person,  # not a rule fact; copied onto assignments
                }
                self.history.add_facts(facts, lights.get(key, {}), streaks.get(key, {}),
                                       dimensions)
                chunk.append((key, facts))
            yield chunk

    def _open_assignment_keys(self, subject_kind: str, keys: Sequence[str]) -> set[str]:
        rows = self.session.connection().execute(
            select(col(Assignment.subject_key)).where(
                col(Assignment.subject_kind) == subject_kind,
                keys_in(self.session, col(Assignment.subject_key), keys),
                col(Assignment.status) != CLOSED_OUT))
        return {str(k) for (k,) in rows}

    # assignments ---------------------------------------------------------------------------

    def assignment_chunks(self) -> Iterator[list[Subject]]:
        """Items not closed out that were assigned (at their current level) by as-of."""
        last_id = 0
        while True:
            rows = self.session.execute(
                select(Assignment, col(Project.id), col(Project.name))
                .join(Project, col(Project.code) == col(Assignment.project_code))
                .where(col(Assignment.id) > last_id, col(Assignment.status) != CLOSED_OUT,
                       col(Assignment.assigned_on) <= self.as_of)
                .order_by(col(Assignment.id)).limit(self.chunk)).all()
            if not rows:
                return
            last_id = rows[-1][0].id
            keys = [r[0].number for r in rows]
            exempt = self._exemptions(keys_in(self.session, col(Exemption.project_id),
                                              sorted({r[1] for r in rows})))
            dimensions = self.dimensions.get("assignment", ())
            lights = self.prior_lights = self.history.lights(self.session, "assignment", keys,
                                                             dimensions)
            streaks = self.history.streaks(self.session, "assignment", keys)
            chunk: list[Subject] = []
            for item, project_id, name in rows:
                facts: Facts = {
                    "number": item.number, "subject_kind": item.subject_kind,
                    "subject_key": item.subject_key, "code": item.project_code, "name": name,
                    **self.units.unit_facts(item.county, item.category, item.task_force),
                    "rule_id": item.rule_id, "level": item.level, "recipient": item.recipient,
                    "status": item.status, "assigned_on": item.assigned_on,
                    "deadline_on": item.deadline_on, "escalations": item.escalations,
                    "exempt": project_id in exempt,
                }
                self.history.add_facts(facts, lights.get(item.number, {}),
                                       streaks.get(item.number, {}), dimensions)
                chunk.append((item.number, facts))
            yield chunk

    # aggregates ----------------------------------------------------------------------------

    def aggregate_subjects(self, kind: str, base: Mapping[str, Facts]) -> list[Subject]:
        """Aggregate facts (from metrics and ranking) completed with history facts."""
        keys = sorted(base)
        dimensions = self.dimensions.get(kind, ())
        lights = self.prior_lights = self.history.lights(self.session, kind, keys, dimensions)
        streaks = self.history.streaks(self.session, kind, keys)
        out: list[Subject] = []
        for key in keys:
            facts = dict(base[key])
            self.history.add_facts(facts, lights.get(key, {}), streaks.get(key, {}),
                                   dimensions)
            out.append((key, facts))
        return out

    def county_reports(self, calendar: WorkCalendar) -> dict[str, tuple[bool, int]]:
        """county → (reported on as-of, consecutive workdays without a report up to as-of)."""
        since = self.as_of - timedelta(days=MISSED_REPORTS_LOOKBACK)
        if since < self.policies.campaign.start <= self.as_of:
            since = self.policies.campaign.start
        rows = self.session.execute(
            select(col(DailyReport.county), col(DailyReport.report_on)).distinct()
            .where(col(DailyReport.report_on) <= self.as_of,
                   col(DailyReport.report_on) >= since))
        days: dict[str, set[date]] = defaultdict(set)
        for county, report_on in rows.all():
            days[county].add(report_on)
        counties = [str(c) for (c,) in self.session.execute(
            select(col(Project.county)).distinct().order_by(col(Project.county)))]
        out: dict[str, tuple[bool, int]] = {}
        for county in counties:
            seen = days.get(county, set())
            out[county] = (self.as_of in seen, self._missed(seen, since, calendar))
        return out

    def _missed(self, seen: set[date], since: date, calendar: WorkCalendar) -> int:
        missed = 0
        day = self.as_of
        while day >= since and day not in seen:
            if calendar.is_workday(day):
                missed += 1
            day -= timedelta(days=1)
        return missed

