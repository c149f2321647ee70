"""Shared set-up for the audit tests (no tests here): a small rule set of our own, published
versions, passes appended straight to the decision log, and an attacker's SQL helpers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from kfworkflow.config.policies import Policies
from kfworkflow.engine.workspace import Workspace
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.evaluate.run import evaluate
from kfworkflow.rules.ruleset import RuleSet, canonical_json, compile_source
from kfworkflow.rules.spec import RuleSource, read_rules_text
from kfworkflow.storage import rule_store
from kfworkflow.storage.db import write_session
from kfworkflow.storage.decision_log import DecisionAppender, record_hash
from kfworkflow.storage.engine_models import Assignment, AssignmentEvent, PassRun
from kfworkflow.storage.models import Project

AT = datetime(2022, 11, 21, 2, 0, tzinfo=UTC)

RULES = """
dimensions:
  - {id: start, title: 开工, title_en: start}
groups:
  - {id: start_light, title: 开工灯, hit: first}
rules:
  - id: start_exempt
    title: 有正当理由的项目开工灯为绿
    applies_to: project
    pass: daily
    group: start_light
    priority: 10
    when: exempt
    then: {light: {dimension: start, color: green}}
    reason: 有正当理由：{{ exempt_reason }}
    effective_from: 2022-09-01
  - id: start_done
    title: 已开工
    applies_to: project
    pass: daily
    group: start_light
    priority: 20
    when: actual.started is not none
    then: {light: {dimension: start, color: green}}
    reason: 已于 {{ actual.started }} 开工
    effective_from: 2022-09-01
  - id: start_late_red
    title: 超过计划开工日期 {red} 个工作日仍未开工
    applies_to: project
    pass: daily
    group: start_light
    priority: 30
    let:
      late: working_days_since(planned.started)
    when: late > {red}
    then: {light: {dimension: start, color: red}}
    reason: 计划开工日期 {{ planned.started }} 已过 {{ late }} 个工作日仍未开工
    effective_from: 2022-09-01
  - id: start_late_yellow
    title: 已过计划开工日期
    applies_to: project
    pass: daily
    group: start_light
    priority: 40
    let:
      late: working_days_since(planned.started)
    when: late > 0
    then: {light: {dimension: start, color: yellow}}
    reason: 计划开工日期 {{ planned.started }} 已过 {{ late }} 个工作日
    effective_from: 2022-09-01
  - id: start_on_schedule
    title: 未到计划开工日期
    applies_to: project
    pass: daily
    group: start_light
    priority: 50
    when: true
    then: {light: {dimension: start, color: green}}
    reason: 未到计划开工日期
    effective_from: 2022-09-01
  - id: start_red_route
    title: 开工红灯连续 2 次以上，交县级督办
    applies_to: project
    pass: weekly
    when: not exempt and previous_light('start') == 'red' and light_streak('start') >= 2
    then:
      route: {level: county, deadline: {working_days: 3}}
      action: supervision_notice
    reason: 开工红灯连续 {{ light_streak.start }} 次，交{{ recipient }}，{{ deadline_on }} 前办结
    effective_from: 2022-09-01
  - id: assignment_overdue
    title: 超过办结时限未办结，升级一级
    applies_to: assignment
    pass: weekly
    let:
      late: working_days_since(deadline_on)
    when: status not in ['resolved', 'closed_out'] and level in ['county', 'city'] and late > 0
    then:
      escalate: true
    reason: "{{ number }} 逾期 {{ late }} 个工作日，升级至{{ level_name }}：{{ recipient }}"
    effective_from: 2022-09-01
"""


def rules_text(red: int = 5) -> str:
    return RULES.replace("{red}", str(red))


def compile_text(text_: str, policies: Policies) -> RuleSet:
    source = RuleSource()
    read_rules_text(text_, "audit.yaml", source)
    ruleset, findings = compile_source(source, policies)
    assert ruleset is not None and not findings, findings
    return ruleset


def publish(ws: Workspace, *, red: int = 5, effective_from: date = date(2022, 9, 1)) -> RuleSet:
    """Publish our rules (red threshold ``red``) as a version, as `kfw rules publish` does."""
    body = rules_text(red)
    ruleset = compile_text(body, ws.policies)
    with write_session(ws.ready_engine()) as session:
        rule_store.publish(session, revision=ruleset.revision, effective_from=effective_from,
                           content=canonical_json(dict(ruleset.content)),
                           files={"audit.yaml": body},
                           policies_text=ws.policies_path.read_text(encoding="utf-8"),
                           actor="tester", now=AT)
    return ruleset


@dataclass(frozen=True)
class Subject:
    kind: str
    key: str
    facts: Mapping[str, Any]


def project_facts(code: str, *, county: str = "qixian", county_name: str = "杞县",
                  planned: date | None = date(2022, 9, 1), started: date | None = None,
                  exempt: bool = False, previous: str | None = None, streak: int = 0
                  ) -> Subject:
    return Subject("project", code, {
        "code": code, "name": f"项目{code}", "county": county, "county_name": county_name,
        "county_government": f"{county_name}人民政府",
        "category": "key_project", "task_force_leads": "市发改委",
        "planned.started": planned, "actual.started": started, "exempt": exempt,
        "exempt_reason": "用地手续调整" if exempt else None,
        "previous_light.start": previous, "light_streak.start": streak})


def run_pass(ws: Workspace, ruleset: RuleSet, kind: str, as_of: date,
             subjects: Iterable[Subject], *, status: str = "succeeded") -> int:
    """Evaluate ``subjects`` and append every decision, as a pass does; the run's id."""
    calendar = ws.calendar
    env = PassEnv(as_of, calendar)
    with write_session(ws.ready_engine()) as session:
        run = PassRun(kind=kind, period_key=as_of.isoformat(), as_of=as_of,
                      revision=ruleset.revision, calendar_version=calendar.version,
                      status=status, counts="{}", started_at=AT, finished_at=AT,
                      actor="tester")
        session.add(run)
        session.flush()
        assert run.id is not None
        appender = DecisionAppender(session)
        by_kind: dict[str, list[Subject]] = {}
        for subject in subjects:
            by_kind.setdefault(subject.kind, []).append(subject)
        for subject_kind, items in by_kind.items():
            for decision in evaluate(ruleset, kind, subject_kind,
                                     [(s.key, s.facts) for s in items], env):
                appender.append(pass_run_id=run.id, subject_kind=subject_kind,
                                subject_key=decision.subject_key, as_of=as_of,
                                rule_id=decision.rule_id, revision=ruleset.revision,
                                calendar_version=calendar.version, inputs=decision.inputs,
                                outcome=decision.outcome(), reason=decision.reason)
        appender.flush()
        return run.id


def add_project(ws: Workspace, code: str, county: str = "qixian") -> None:
    with write_session(ws.ready_engine()) as session:
        session.add(Project(code=code, name=f"项目{code}", category="key_project",
                            county=county, task_force="key_projects",
                            responsible_unit="杞县发改委", responsible_person="张三",
                            total_investment=1000.0, annual_investment=500.0,
                            state="planned", created_at=AT, updated_at=AT))


def add_assignment(ws: Workspace, *, number: str, code: str, decision_id: int, pass_run_id: int,
                   assigned_on: date, deadline_on: date, status: str = "new",
                   level: str = "county", recipient: str = "杞县人民政府") -> int:
    with write_session(ws.ready_engine()) as session:
        item = Assignment(number=number, subject_kind="project", subject_key=code,
                          project_code=code, county="qixian", category="key_project",
                          task_force="key_projects", rule_id="start_red_route", level=level,
                          recipient=recipient, assigned_on=assigned_on,
                          deadline_on=deadline_on, status=status, reason="开工红灯",
                          pass_run_id=pass_run_id, decision_id=decision_id)
        session.add(item)
        session.flush()
        assert item.id is not None
        session.add(AssignmentEvent(assignment_id=item.id, from_status=None, to_status="new",
                                    level=level, at=AT, actor="tester", reason="交办",
                                    pass_run_id=pass_run_id, decision_id=decision_id,
                                    deadline_on=deadline_on))
        return item.id


# --- an attacker with database access ------------------------------------------------------


def drop_guards(engine: Engine, table: str = "decision") -> None:
    """Drop the append-only triggers of ``table``, as someone with DB access could."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for verb in ("update", "delete"):
                conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
        else:
            conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))


def execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def decision_row(engine: Engine, decision_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(text("SELECT * FROM decision WHERE id = :id"),
                           {"id": decision_id}).mappings().one()
    return dict(row)


def rehash(row: Mapping[str, Any]) -> str:
    """The hash a forger would compute for an edited row."""
    fields = dict(row)
    fields["as_of"] = str(fields["as_of"])[:10]
    fields["inputs"] = json.loads(fields["inputs"])
    fields["outcome"] = json.loads(fields["outcome"])
    return record_hash(fields)


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: a byte-for-byte picture of the database."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            rows = conn.execute(text(f'SELECT * FROM "{table}"')).all()
            out[table] = sorted(tuple(repr(v) for v in row) for row in rows)
    return out


def ids(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return [int(v) for v in conn.execute(text("SELECT id FROM decision ORDER BY id"))
                .scalars()]
