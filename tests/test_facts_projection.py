"""What a pass loads about projects: only the sources its rules read, and the latest report.

A weekly pass whose project rules read only ``exempt`` and the light history must not scan the
milestones, the daily reports or the problems of every project — and must decide exactly as a
pass that loaded everything.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pass_scenario import at, build_ledger, publish_rules, run_all, set_day
from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlmodel import col

from kfworkflow.engine import passes
from kfworkflow.engine.facts_loader import FactsLoader
from kfworkflow.engine.history import History
from kfworkflow.engine.passes import run_pass
from kfworkflow.engine.workspace import Workspace
from kfworkflow.storage.db import write_session
from kfworkflow.storage.driver_select import DriverSelect
from kfworkflow.storage.engine_models import Decision, RuleStreak
from kfworkflow.storage.models import DailyReport, Project

W41 = date(2022, 10, 10)


@pytest.fixture
def ledger(workspace: Workspace) -> Workspace:
    publish_rules(workspace)
    build_ledger(workspace)
    return workspace


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement run on ``engine``: through SQLAlchemy, and the chunk query that a
    DriverSelect runs on the driver's cursor."""
    seen: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(statement)

    original = DriverSelect.raw_rows

    def raw_rows(self: DriverSelect, *args: Any) -> Any:
        seen.append(self.sql)
        return original(self, *args)

    event.listen(engine, "before_cursor_execute", record)
    DriverSelect.raw_rows = raw_rows  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        DriverSelect.raw_rows = original  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", record)


def decisions_of(engine: Engine, run_id: int | None) -> list[tuple[str, str, str, dict, dict, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(Decision).where(col(Decision.pass_run_id) == run_id)
                            .order_by(col(Decision.id))).all()
    return [(r.subject_kind, r.subject_key, r.rule_id, json.loads(r.inputs),
             json.loads(r.outcome), r.reason) for r in rows]


def test_weekly_pass_reads_only_the_sources_its_rules_need(ledger: Workspace) -> None:
    run_all(ledger, date(2022, 10, 9))
    set_day(ledger, W41)
    with statements(ledger.engine) as seen:
        result = run_pass(ledger, "weekly", W41)
    assert result.status == "succeeded"
    sql = "\n".join(seen).lower()
    assert "project_milestone" not in sql
    assert "daily_report" not in sql
    assert "exemption" in sql  # the routing rule reads `exempt`
    # and of the ledger only the columns it reads (its facts, and what assignments copy)
    (chunk,) = {s for s in seen if "light_0" in s}
    selected = chunk.lower().split(" from ")[0]
    assert "project.responsible_person" in selected and "project.owner_unit" not in selected
    assert "project.name" not in selected and "project.total_investment" not in selected


def test_projected_facts_decide_exactly_as_full_facts(ledger: Workspace,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    run_all(ledger, W41)
    projected = run_pass(ledger, "weekly", W41, rerun=True)
    monkeypatch.setattr(passes._PassRun, "_project_facts", lambda self: None)
    with statements(ledger.engine) as seen:
        full = run_pass(ledger, "weekly", W41, rerun=True)
    assert "project_milestone" in "\n".join(seen).lower()  # the full load really ran
    got = decisions_of(ledger.engine, projected.run_id)
    assert got == decisions_of(ledger.engine, full.run_id)
    # the W41 story: Q01, red on start for 7 daily passes, goes to its county government
    assert [(kind, key, rule, outcome["route"]["recipient"], outcome["route"]["deadline_on"])
            for kind, key, rule, _, outcome, _ in got] == [
        ("project", "Q01", "start_red_3", "杞县人民政府", "2022-10-17")]
    assert "planned.started" not in got[0][3] and got[0][3]["exempt"] is False


def load_projects(workspace: Workspace, as_of: date,
                  project_facts: frozenset[str] | None = None) -> dict[str, dict]:
    history = History([], "daily", as_of, {}, {})
    with write_session(workspace.ready_engine()) as session:
        loader = FactsLoader(session, workspace.policies, workspace.lifecycle, as_of, history,
                             {}, chunk=4, project_facts=project_facts)
        return {code: facts for chunk in loader.project_chunks() for code, facts in chunk}


def test_latest_report_on_or_before_as_of_and_last_recorded_wins(ledger: Workspace) -> None:
    """Two reports for one date: the one recorded last counts; a report dated after as-of is
    not visible."""
    day = date(2022, 9, 27)
    with write_session(ledger.ready_engine()) as session:
        pid = session.execute(select(col(Project.id)).where(col(Project.code) == "Q03")
                              ).scalar_one()
        session.add(DailyReport(project_id=pid, county="qixian", report_on=day,
                                recorded_at=at(day), completed_investment=1080.0,
                                actor="county"))  # a correction: 90% of the 1200 planned
        session.add(DailyReport(project_id=pid, county="qixian", report_on=date(2022, 9, 28),
                                recorded_at=at(day), completed_investment=12.0,
                                actor="county"))  # dated tomorrow
    facts = load_projects(ledger, day)
    assert len(facts) == 30
    assert facts["Q03"]["completed_investment"] == 1080.0
    assert facts["Q03"]["investment_rate"] == pytest.approx(0.9)
    assert facts["Q03"]["last_report_on"] == day
    assert facts["Q04"]["completed_investment"] == 600.0  # its neighbour: 600 of 1200
    assert facts["Q04"]["investment_rate"] == pytest.approx(0.5)
    assert facts["T08"]["funds_arrived"] == 800.0  # tongxu, central budget: 800 of 1000
    assert facts["T08"]["funds_rate"] == pytest.approx(0.8)
    # before any report: the report facts are there, and none
    before = load_projects(ledger, date(2022, 9, 25))
    assert before["Q03"]["last_report_on"] is None
    assert before["Q03"]["investment_rate"] is None


def test_a_projection_leaves_out_the_sources_nobody_reads(ledger: Workspace) -> None:
    day = date(2022, 10, 10)
    full = load_projects(ledger, day)
    only = load_projects(ledger, day, frozenset({"code", "exempt"}))
    assert full["Q02"]["exempt"] is True and only["Q02"]["exempt"] is True
    assert only["Q02"]["exempt_reason"] == "用地规划调整，经批准延期开工"
    assert "actual.started" not in only["Q02"] and "investment_rate" not in only["Q02"]
    assert "open_problems" not in only["T03"] and full["T03"]["open_problems"] == 1
    assert full["L01"]["actual.started"] == date(2022, 10, 10)
    # what a projection keeps is exactly what the full load says
    assert all(only[code][k] == full[code][k] for code in full for k in only[code])
    milestones = load_projects(ledger, day, frozenset({"planned.started"}))
    assert milestones["Q01"]["planned.started"] == date(2022, 9, 21)
    assert milestones["Q01"]["state"] == "planned" and "exempt" not in milestones["Q01"]


STREAK_RULES = """
rules:
  - id: weekly_nudge
    title: 每周提醒
    applies_to: project
    pass: weekly
    when: not exempt
    then: {action: reminder}
    reason: 提醒
    effective_from: 2022-09-26
  - id: daily_follow_up
    title: 连续两周提醒后日调度跟进
    applies_to: project
    pass: daily
    when: streak.weekly_nudge >= 2
    then: {action: reminder}
    reason: 已连续 {{ streak.weekly_nudge }} 周提醒
    effective_from: 2022-09-26
"""


def test_a_projected_weekly_pass_extends_the_streak_another_pass_reads(
        workspace: Workspace, tmp_path: Path) -> None:
    """The weekly rule's own conditions do not read its streak (only the daily rule does),
    yet each weekly pass must extend it: 1 on W40, 2 on W41."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "streaks.yaml").write_text(STREAK_RULES, encoding="utf-8")
    publish_rules(workspace, folder)
    build_ledger(workspace, codes=["Q01"])
    for monday in (date(2022, 10, 3), W41):
        set_day(workspace, monday)
        assert run_pass(workspace, "weekly", monday).status == "succeeded"
    with workspace.engine.connect() as conn:
        streaks = conn.execute(select(col(RuleStreak.last_period), col(RuleStreak.streak))
                               .where(col(RuleStreak.key) == "Q01")
                               .order_by(col(RuleStreak.id))).all()
    assert [tuple(s) for s in streaks] == [("2022-W40", 1), ("2022-W41", 2)]


RATE_IN_REASON = """
rules:
  - id: qixian_rate
    title: 杞县项目每周通报投资完成率
    applies_to: project
    pass: weekly
    when: county == 'qixian' and not exempt
    then: {route: {level: county}}
    reason: 投资完成率 {{ investment_rate|pct }}（{{ last_report_on }} 上报），交{{ recipient }}
    effective_from: 2022-09-26
"""

RATE_IN_CONDITION = RATE_IN_REASON.replace(
    "when: county == 'qixian' and not exempt", "when: county == 'qixian' and investment_rate < 0.9")


def rules_folder(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "weekly.yaml").write_text(text, encoding="utf-8")
    return folder


def test_reports_read_only_by_reasons_are_loaded_only_for_the_projects_that_fire(
        workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No condition reads a report fact, so the chunk query does not join the latest report;
    one query loads it for the nine qixian projects the rule fires for (Q02 has a valid
    reason), and the decisions are exactly those of a pass that loaded everything."""
    publish_rules(workspace, rules_folder(tmp_path, RATE_IN_REASON))
    build_ledger(workspace)
    set_day(workspace, W41)
    with statements(workspace.engine) as seen:
        deferred = run_pass(workspace, "weekly", W41)
    (chunk_query,) = {s for s in seen if "exemption" in s.lower()}  # run until a chunk is empty
    assert "daily_report" not in chunk_query.lower()
    assert len([s for s in seen if "daily_report" in s.lower()]) == 1
    assert deferred.counts["subjects_project"] == 30
    got = decisions_of(workspace.engine, deferred.run_id)
    assert [key for _, key, *_ in got] == [
        "Q01", "Q03", "Q04", "Q05", "Q06", "Q07", "Q08", "Q09", "Q10"]
    # 960 of the 1,200 planned this year, reported on the pass's own Monday
    assert {reason for *_, reason in got} == {"投资完成率 80.0%（2022-10-10 上报），交杞县人民政府"}
    assert got[0][3]["investment_rate"] == pytest.approx(0.8)
    assert got[0][3]["last_report_on"] == "2022-10-10"
    monkeypatch.setattr(passes._PassRun, "_project_facts", lambda self: None)
    full = run_pass(workspace, "weekly", W41, rerun=True)
    assert decisions_of(workspace.engine, full.run_id) == got


def test_reports_a_condition_reads_are_joined_to_the_chunk_query(
        workspace: Workspace, tmp_path: Path) -> None:
    publish_rules(workspace, rules_folder(tmp_path, RATE_IN_CONDITION))
    build_ledger(workspace)
    set_day(workspace, W41)
    with statements(workspace.engine) as seen:
        result = run_pass(workspace, "weekly", W41)
    (chunk,) = {s for s in seen if "daily_report" in s.lower()}
    assert "project.id >" in chunk  # the chunk query itself, and no other
    # 960 of 1,200 is 80%: every qixian project, Q02 too (this rule does not ask for exempt)
    assert result.counts["decisions"] == 10
