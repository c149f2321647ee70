"""The hand-worked six-week scenario of the passes issue, over 国庆 2022.

2022-09-26 (Mon) to 2022-11-06 (Sun): 30 projects in 杞县 (qixian), 通许县 (tongxu) and 兰考县
(lankao), key_project / housing_delivery / central_budget (ledger in ``pass_scenario.build_ledger``,
rules in ``tests/data/scenario_rules``). Every daily (working days), weekly (Mondays) and monthly
(1st) pass runs in order; coordinators act on the dates below. Calendar facts used:
10-01..10-07 are holidays, 10-08 (Sat) and 10-09 (Sun) are make-up workdays; a deadline is the
n-th workday after the day of assignment (that day not counted); a late count is the number of
workdays in (deadline, as-of].

The story, worked by hand:
- Q01 (杞县, planned start 09-21, never starts): start light yellow on 09-26 (3 workdays late:
  09-22, 09-23, 09-26), red from 09-27. W40 (10-03, a holiday Monday) sees the daily of 09-30:
  red 4 times → assigned to 杞县人民政府, deadline 10-03 + 5 workdays = 10-12 (10-08, 10-09, 10-10,
  10-11, 10-12). W42 (10-17): 3 workdays late (10-13, 10-14, 10-17) → city, 市发展改革委、市重点办,
  deadline 10-24. Taken up on 10-18. W44 (10-31): 5 workdays late → province, deadline 10-31 +
  10 workdays = 11-14.
- Problem 1 (T03, land quota, needs the city), opened 09-23: W39 (09-26) assigns it to the city,
  deadline 09-26 + 5 = 10-08 (a make-up Saturday). W41 (10-10): 2 workdays late (10-09, 10-10)
  → province, deadline 10-10 + 10 = 10-24. W44: 5 workdays late at the top → overdue.
- L01 (兰考县, planned start 09-22, starts 10-10): red from 09-28, 3 times by 09-30 → W40
  assigns it to 兰考县人民政府 (deadline 10-12); resolved 10-11, closed out 10-12.
- Q02 (杞县, planned start 09-21) gets a valid reason from 09-29: green from then, never assigned.
- Problem 2 (L05, construction permit), opened 10-09: W41 → 兰考县人民政府, deadline 10-17;
  resolved 10-13, closed out 10-14; the ledger marks the problem resolved on 10-14.
- Problem 3 (T06, noise complaint stoppage), opened 10-12: W42 → 通许县人民政府, deadline 10-24;
  resolved 10-20, closed out 10-21 — but the problem stays open in the ledger, so W43 (10-24)
  reopens it as a new item linked to the old one, deadline 10-31.
- 通许县 does not report on 10-20 and 10-21.
- Monthly ranking (weights 0.25 funds in place, 0.25 start, 0.3 investment completion; nothing is
  due to complete, so that weight drops out and the score is 31.25·fip + 31.25·start + 37.5·inv):
  10-01: 通许 0.8/1.0/0.6 → 78.75 (1st); 兰考 0.6/0.9/0.75 → 75.00 (2nd); 杞县 0.6/0.8/0.5 →
  62.50 (last). 11-01: 兰考 0.6/1.0/0.8 → 80.00 (1st, +1); 通许 78.75 (2nd, −1); 杞县
  0.6/0.8/0.8 → 73.75 (last again, 0) → last-place circular and, the second month running, summons.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from helpers import run_cli
from pass_scenario import (
    END,
    at,
    build_ledger,
    periods,
    publish_rules,
    set_day,
    state_of,
)
from sqlalchemy import select, text
from sqlmodel import col

from kfworkflow.engine import assignments as items
from kfworkflow.engine.passes import run_pass
from kfworkflow.engine.workspace import Workspace
from kfworkflow.storage.engine_models import Assignment, AssignmentEvent, Ranking

PROVINCE = "省稳经济重要项目集中攻坚行动协调机制"
CITY_KEY_PROJECTS = "市发展改革委、市重点办"

Action = Callable[[Workspace], Any]
ACTIONS: dict[date, list[Action]] = {
    date(2022, 10, 11): [lambda ws: items.resolve(ws, "2022-W40-0002", note="已于 10 月 10 日开工",
                                                  by="兰考县人民政府")],
    date(2022, 10, 12): [lambda ws: items.close_out(ws, "2022-W40-0002",
                                                    evidence="开工现场照片、施工许可证")],
    date(2022, 10, 13): [lambda ws: items.resolve(ws, "2022-W41-0001", note="施工许可证已核发")],
    date(2022, 10, 14): [lambda ws: items.close_out(ws, "2022-W41-0001",
                                                    evidence="施工许可证复印件")],
    date(2022, 10, 18): [lambda ws: items.start(ws, "2022-W40-0001", note="市重点办已召开协调会")],
    date(2022, 10, 20): [lambda ws: items.resolve(ws, "2022-W42-0001", note="已协调复工")],
    date(2022, 10, 21): [lambda ws: items.close_out(ws, "2022-W42-0001", evidence="复工照片")],
}


def run_scenario(workspace: Workspace) -> None:
    publish_rules(workspace)
    build_ledger(workspace)
    done: set[date] = set()
    for kind, day in periods(END):
        set_day(workspace, day)
        for action_day in sorted(ACTIONS):
            if action_day <= day and action_day not in done:
                set_day(workspace, action_day)
                for action in ACTIONS[action_day]:
                    action(workspace)
                done.add(action_day)
                set_day(workspace, day)
        run_pass(workspace, kind, day)
    set_day(workspace, END)


def test_six_weeks_over_the_national_day_holiday(
        workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    run_scenario(workspace)
    state = state_of(workspace.engine)

    # --- every assignment: level, recipient, dates, status ------------------------------------
    assert state.assignments == (
        ("2022-W39-0001", "problem", "1", "problem_route", "province", PROVINCE,
         date(2022, 10, 10), date(2022, 10, 24), "overdue", 1, None),
        ("2022-W40-0001", "project", "Q01", "start_red_3", "province", PROVINCE,
         date(2022, 10, 31), date(2022, 11, 14), "escalated", 2, None),
        ("2022-W40-0002", "project", "L01", "start_red_3", "county", "兰考县人民政府",
         date(2022, 10, 3), date(2022, 10, 12), "closed_out", 0, None),
        ("2022-W41-0001", "problem", "2", "problem_route", "county", "兰考县人民政府",
         date(2022, 10, 10), date(2022, 10, 17), "closed_out", 0, None),
        ("2022-W42-0001", "problem", "3", "problem_route", "county", "通许县人民政府",
         date(2022, 10, 17), date(2022, 10, 24), "closed_out", 0, None),
        ("2022-W43-0001", "problem", "3", "problem_route", "county", "通许县人民政府",
         date(2022, 10, 24), date(2022, 10, 31), "new", 0, "2022-W42-0001"),
    )

    # --- every change, with its reason: creations, escalations, close-outs, the reopening -----
    events = {(e[0], e[1], e[2]): e[3:] for e in state.events}
    assert len(events) == len(state.events)
    assert events == {
        ("2022-W39-0001", "", "new"): (
            "city", date(2022, 10, 8),
            "要素资源问题“用地指标不足”需市级协调，交市发展改革委、市重点办，2022-10-08 前办结"),
        ("2022-W39-0001", "new", "escalated"): (
            "province", date(2022, 10, 24),
            "交办事项 2022-W39-0001 超过办结时限 2022-10-08 已 2 个工作日，升级至省级："
            f"{PROVINCE}，2022-10-24 前办结"),
        ("2022-W39-0001", "escalated", "overdue"): (
            "province", date(2022, 10, 24),
            "省级交办事项 2022-W39-0001 超过办结时限 2022-10-24 已 5 个工作日，列为逾期"),
        ("2022-W40-0001", "", "new"): (
            "county", date(2022, 10, 12),
            "开工红灯已连续 4 次日调度，交杞县人民政府督办，2022-10-12 前办结"),
        ("2022-W40-0001", "new", "escalated"): (
            "city", date(2022, 10, 24),
            f"交办事项 2022-W40-0001 超过办结时限 2022-10-12 已 3 个工作日，升级至市级："
            f"{CITY_KEY_PROJECTS}，2022-10-24 前办结"),
        ("2022-W40-0001", "escalated", "in_progress"): (
            "city", date(2022, 10, 24), "市重点办已召开协调会"),
        ("2022-W40-0001", "in_progress", "escalated"): (
            "province", date(2022, 11, 14),
            "交办事项 2022-W40-0001 超过办结时限 2022-10-24 已 5 个工作日，升级至省级："
            f"{PROVINCE}，2022-11-14 前办结"),
        ("2022-W40-0002", "", "new"): (
            "county", date(2022, 10, 12),
            "开工红灯已连续 3 次日调度，交兰考县人民政府督办，2022-10-12 前办结"),
        ("2022-W40-0002", "new", "resolved"): (
            "county", date(2022, 10, 12), "已于 10 月 10 日开工"),
        ("2022-W40-0002", "resolved", "closed_out"): (
            "county", date(2022, 10, 12), "销号：开工现场照片、施工许可证"),
        ("2022-W41-0001", "", "new"): (
            "county", date(2022, 10, 17),
            "前期手续问题“施工许可未办”需县级协调，交兰考县人民政府，2022-10-17 前办结"),
        ("2022-W41-0001", "new", "resolved"): ("county", date(2022, 10, 17), "施工许可证已核发"),
        ("2022-W41-0001", "resolved", "closed_out"): (
            "county", date(2022, 10, 17), "销号：施工许可证复印件"),
        ("2022-W42-0001", "", "new"): (
            "county", date(2022, 10, 24),
            "施工环境问题“施工噪声投诉停工”需县级协调，交通许县人民政府，2022-10-24 前办结"),
        ("2022-W42-0001", "new", "resolved"): ("county", date(2022, 10, 24), "已协调复工"),
        ("2022-W42-0001", "resolved", "closed_out"): (
            "county", date(2022, 10, 24), "销号：复工照片"),
        ("2022-W42-0001", "closed_out", "closed_out"): (
            "county", None, "条件再次出现，重新交办为 2022-W43-0001"),
        ("2022-W43-0001", "", "new"): (
            "county", date(2022, 10, 31),
            "施工环境问题“施工噪声投诉停工”需县级协调，交通许县人民政府，2022-10-31 前办结"),
    }

    # --- when each change happened, and who made it ------------------------------------------
    with workspace.engine.connect() as conn:
        when = [(e.to_status, e.at, e.actor) for e in conn.execute(
            select(AssignmentEvent).join(Assignment, col(Assignment.id) == col(
                AssignmentEvent.assignment_id)).where(col(Assignment.number) == "2022-W40-0001")
            .order_by(col(AssignmentEvent.id)))]
    assert when == [("new", at(date(2022, 10, 3)), "tester"),
                    ("escalated", at(date(2022, 10, 17)), "tester"),
                    ("in_progress", at(date(2022, 10, 18)), "tester"),
                    ("escalated", at(date(2022, 10, 31)), "tester")]

    # --- lights after the last daily pass (11-04) ----------------------------------------------
    lights = {(kind, key, dim): rest for kind, key, dim, *rest in state.lights}
    assert lights[("project", "Q01", "start")] == ["red", date(2022, 9, 27), 26]
    assert lights[("project", "Q01", "overall")] == ["red", date(2022, 9, 27), 26]
    assert lights[("project", "L01", "start")] == ["green", date(2022, 10, 10), 20]
    assert lights[("project", "Q02", "start")] == ["green", date(2022, 9, 29), 24]
    assert lights[("county", "tongxu", "report")] == ["green", date(2022, 10, 24), 10]
    assert sum(1 for (kind, _, dim), (color, *_) in lights.items()
               if kind == "project" and dim == "overall" and color == "red") == 1

    # --- the monthly ranking -----------------------------------------------------------------
    with workspace.engine.connect() as conn:
        ranking = [(r.period, r.county, r.score, r.rank, r.rank_change) for r in conn.execute(
            select(Ranking).order_by(col(Ranking.period), col(Ranking.rank)))]
        breakdown = json.loads(conn.execute(select(col(Ranking.breakdown)).where(
            col(Ranking.period) == "2022-09", col(Ranking.county) == "lankao")).scalar_one())
        monthly = [(row[0], row[1], row[2]) for row in conn.execute(text(
            "SELECT d.subject_key, d.rule_id, d.reason FROM decision d JOIN pass_run r "
            "ON r.id = d.pass_run_id WHERE r.kind = 'monthly' ORDER BY d.id"))]
    # the pass of 10-01 ranks September, that of 11-01 October: each is stored as that month
    assert ranking == [
        ("2022-09", "tongxu", 78.75, 1, None), ("2022-09", "lankao", 75.0, 2, None),
        ("2022-09", "qixian", 62.5, 3, None),
        ("2022-10", "lankao", 80.0, 1, 1), ("2022-10", "tongxu", 78.75, 2, -1),
        ("2022-10", "qixian", 73.75, 3, 0),
    ]
    assert [(key, as_of) for kind, key, as_of in state.runs if kind == "monthly"] == [
        ("2022-09", date(2022, 10, 1)), ("2022-10", date(2022, 11, 1))]
    assert breakdown["peers"] == 3 and breakdown["rank_from_bottom"] == 2
    assert breakdown["weights"]["start_rate"] == {"rate": 0.9, "weight": 0.25, "counted": True,
                                                  "points": 28.125}
    assert breakdown["weights"]["on_time_completion_rate"] == {
        "rate": None, "weight": 0.2, "counted": False, "points": None}
    assert monthly == [
        ("lankao", "rank_ok", "兰考县综合得分 75.00，排名第 2 名"),
        ("qixian", "rank_last", "杞县综合得分 62.50，在 3 个县区中排名末位，予以通报"),
        ("tongxu", "rank_ok", "通许县综合得分 78.75，排名第 1 名"),
        ("lankao", "rank_ok", "兰考县综合得分 80.00，排名第 1 名"),
        ("qixian", "rank_last", "杞县综合得分 73.75，在 3 个县区中排名末位，予以通报"),
        ("qixian", "rank_last_twice", "杞县连续 2 个月排名末位，提醒约谈"),
        ("tongxu", "rank_ok", "通许县综合得分 78.75，排名第 2 名"),
    ]

    # --- the coordinator's list on 11-06: the overdue item stays on it -------------------------
    def listed(*args: str) -> list[dict[str, Any]]:
        result = run_cli(capsys, "-w", str(workspace.root), "--db", workspace.db_url,
                         "assignments", "list", "--json", *args)
        assert result.exit_code == 0, result.err
        return list(json.loads(result.out))

    open_items = listed()
    assert [(i["number"], i["subject"], i["level"], i["recipient"], i["deadline"],
             i["status"]) for i in open_items] == [
        ("2022-W39-0001", "problem:1", "province", PROVINCE, "2022-10-24", "overdue"),
        ("2022-W40-0001", "project:Q01", "province", PROVINCE, "2022-11-14", "escalated"),
        ("2022-W43-0001", "problem:3", "county", "通许县人民政府", "2022-10-31", "new")]
    assert open_items[2]["reopened_from"] == "2022-W42-0001"
    assert [i["number"] for i in listed("--level", "province")] == ["2022-W39-0001",
                                                                     "2022-W40-0001"]
    assert [i["number"] for i in listed("--county", "lankao", "--status", "all")] == [
        "2022-W40-0002", "2022-W41-0001"]
    assert [i["number"] for i in listed("--status", "closed_out")] == [
        "2022-W40-0002", "2022-W41-0001", "2022-W42-0001"]
    assert [i["number"] for i in listed("--week", "2022-W43")] == ["2022-W43-0001"]
    assert [i["number"] for i in listed("--week", "2022-W44")] == ["2022-W40-0001"]
    assert [i["number"] for i in listed("--recipient", "通许县")] == ["2022-W43-0001"]

    # workdays past the deadline on 11-06: (10-24, 11-06] = 10-25..28, 10-31, 11-01..04 = 9;
    # (10-31, 11-06] = 11-01..04 = 4
    in_days = items.list_assignments(workspace, on=END)
    assert [(i["number"], i["days_overdue"]) for i in in_days] == [
        ("2022-W39-0001", 9), ("2022-W40-0001", None), ("2022-W43-0001", 4)]
