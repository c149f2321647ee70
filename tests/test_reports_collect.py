"""Documents from the database: the passes issue's six-week scenario (test_scenario.py), read
back as a daily bulletin, weekly lists, a monthly ranking and a dashboard, checked by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from helpers import run_cli
from test_reports_render import check_golden
from test_scenario import run_scenario

from kfworkflow.engine.workspace import Workspace, init_workspace
from kfworkflow.errors import NotFoundError
from kfworkflow.reports.collect import (
    collect_daily,
    collect_ranking,
    collect_site,
    collect_weekly,
)
from kfworkflow.reports.context import LevelStatusCount
from kfworkflow.reports.dashboard import write_dashboard
from kfworkflow.reports.render import Renderer
from kfworkflow.storage.db import read_session
from kfworkflow.timefmt import FixedClock

PROVINCE = "省稳经济重要项目集中攻坚行动协调机制"
DAILY_ON, WEEKLY_ON, MONTHLY_ON = date(2022, 10, 21), date(2022, 10, 31), date(2022, 11, 6)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    from conftest import NOW

    root = tmp_path_factory.mktemp("scenario") / "ws"
    url = f"sqlite:///{root.parent / 'kfw.db'}"
    init_workspace(root, db=url)
    workspace = Workspace(root, db=url, actor="tester", clock=FixedClock(NOW))
    run_scenario(workspace)
    yield workspace
    workspace.engine.dispose()


def test_daily_bulletin_of_2022_10_21(scenario: Workspace) -> None:
    with read_session(scenario.ready_engine()) as session:
        doc = collect_daily(session, DAILY_ON)
    assert (doc.info.as_of, doc.previous_on) == (DAILY_ON, date(2022, 10, 20))
    assert doc.pro_rata_target == 10 / 12
    # 30 projects; Q01 and Q02 never start; each project plans 1,200 and reports 960 (杞县,
    # 兰考县 from 10-10) or 720 (通许县); funds only for central_budget: 3 × 1,000 per county,
    # arrived 600 / 800 / 600 each.
    total = doc.total
    assert (total.projects, total.due_to_start, total.started) == (30, 30, 28)
    assert (total.planned_investment, total.completed_investment) == (36000, 26400)
    assert (total.planned_funds, total.funds_arrived) == (9000, 6000)
    assert (total.red, total.yellow, total.green) == (1, 0, 29)
    assert round(total.pro_rata_gap_pp or 0, 6) == round((26400 / 36000 - 10 / 12) * 100, 6)
    assert total.start_rate_change_pp == 0 and total.on_time_completion_rate is None
    assert [(r.name, r.started, r.due_to_start, r.completed_investment, r.red)
            for r in doc.counties] == [("杞县", 8, 10, 9600, 1), ("通许县", 10, 10, 7200, 0),
                                       ("兰考县", 10, 10, 9600, 0)]
    assert [s.category_name for s in doc.sections] == ["省市重点项目", "中央预算内投资项目",
                                                       "“保交楼”项目"]
    key_projects = doc.sections[0]
    assert [(r.name, r.projects, r.started, r.due_to_start) for r in key_projects.rows] == [
        ("杞县", 4, 2, 4), ("通许县", 4, 4, 4), ("兰考县", 4, 4, 4)]
    assert (key_projects.total.projects, key_projects.total.started) == (12, 10)
    assert sum(s.total.projects for s in doc.sections) == total.projects
    for county in doc.counties:  # the split adds up to the pass's own county snapshot
        parts = [r for s in doc.sections for r in s.rows if r.key == county.key]
        assert sum(r.started for r in parts) == county.started
        assert sum(r.completed_investment for r in parts) == county.completed_investment
        assert sum(r.red + r.yellow + r.green for r in parts) == (
            county.red + county.yellow + county.green)
    [missing] = doc.not_reported
    assert (missing.county_name, missing.missed_days, missing.last_report_on) == (
        "通许县", 2, date(2022, 10, 19))
    assert [p.on for p in doc.trend][:2] == [date(2022, 9, 26), date(2022, 9, 27)]
    assert doc.trend[-1].on == DAILY_ON and doc.trend[-1].start_rate == 28 / 30


def test_weekly_list_of_2022_10_31(scenario: Workspace) -> None:
    with read_session(scenario.ready_engine()) as session:
        doc = collect_weekly(session, WEEKLY_ON, scenario.calendar)
    assert (doc.week, doc.week_start, doc.week_end) == ("2022-W44", WEEKLY_ON, date(2022, 11, 6))
    review = doc.review
    assert review.week == "2022-W43"
    # part one: the items of the W43 list (10-24) as they stood then, with their outcome now
    assert [(r.item.number, r.outcome, r.outcome_on, r.item.status, r.item.level)
            for r in review.items] == [
        ("2022-W39-0001", "overdue", WEEKLY_ON, "overdue", "province"),
        ("2022-W40-0001", "escalated", WEEKLY_ON, "escalated", "city"),
        ("2022-W43-0001", "still_open", None, "new", "county")]
    # problem 1 at the top level is overdue, not escalated: counted apart
    assert (review.resolved, review.closed_out, review.still_open, review.escalated,
            review.overdue) == (0, 0, 1, 1, 1)
    overdue = review.items[0].item
    # deadline 10-24 at the province; workdays in (10-24, 10-31]: 25, 26, 27, 28, 31
    assert (overdue.deadline_on, overdue.days_overdue, overdue.problem) == (
        date(2022, 10, 24), 5, "用地指标不足")
    assert (overdue.recipient, overdue.lead_units, overdue.cooperating_units) == (
        PROVINCE, (PROVINCE,), ("市发展改革委", "市重点办"))
    # Q01 as the city held it on 10-24: assigned there 10-17, due 10-24, 5 workdays late when
    # W44 escalated it; its progress now; the item now at the province, as in part two
    escalated = review.items[1]
    city = escalated.item
    assert (city.recipient, city.lead_units, city.cooperating_units, city.assigned_on,
            city.deadline_on, city.days_overdue, city.progress) == (
        "市发展改革委、市重点办", ("市发展改革委", "市重点办"), ("杞县人民政府",),
        date(2022, 10, 17), date(2022, 10, 24), 5, "市重点办已召开协调会")
    assert city.reason.startswith("交办事项 2022-W40-0001 超过办结时限 2022-10-12 已 3 个工作日")
    [new] = doc.items
    assert escalated.current == new
    assert (new.number, new.level, new.recipient, new.assigned_on, new.deadline_on,
            new.progress, new.escalated_from) == (
        "2022-W40-0001", "province", PROVINCE, WEEKLY_ON, date(2022, 11, 14),
        "市重点办已召开协调会", "city")
    assert new.problem is None and new.light == "red"
    # Q01 planned to start 09-21: 25 workdays late by 10-31 (国庆 holidays not counted, the
    # make-up Saturday and Sunday counted); Q02 has a valid reason and is left out
    [q01] = doc.lagging
    assert (q01.code, q01.milestone, q01.planned_on, q01.lag_days) == (
        "Q01", "started", date(2022, 9, 21), 25)
    # in part three's first sub-table (节点滞后); red for its start
    assert (q01.lag, q01.light, q01.light_dimensions) == ("milestone", "red", ("start",))
    assert doc.open_by_level_status == (LevelStatusCount("county", "new", 1),
                                        LevelStatusCount("province", "escalated", 1),
                                        LevelStatusCount("province", "overdue", 1))
    tongxu = doc.for_recipient("通许县人民政府")
    assert [r.item.number for r in tongxu.review.items] == ["2022-W43-0001"]
    assert tongxu.items == () and tongxu.lagging == ()
    # the province's part one: what it held on 10-24 (problem 1, overdue now), not Q01, which
    # was the city's then; Q01 is new in its part two
    province = doc.for_recipient(PROVINCE)
    assert [(r.item.number, r.outcome) for r in province.review.items] == [
        ("2022-W39-0001", "overdue")]
    assert [i.number for i in province.items] == ["2022-W40-0001"]
    # the city's part one: Q01, which it held on 10-24 and which went up to the province
    city = doc.for_recipient("市重点办")
    assert [(r.item.number, r.outcome, r.item.level, r.current.level)
            for r in city.review.items] == [("2022-W40-0001", "escalated", "city", "province")]
    assert (city.review.escalated, city.items, city.open_by_level_status) == (1, (), ())


def test_an_earlier_list_shows_that_week_not_today(scenario: Workspace) -> None:
    with read_session(scenario.ready_engine()) as session:
        doc = collect_weekly(session, date(2022, 10, 17), scenario.calendar)
    assert doc.week == "2022-W42"
    # the W41 list (10-10) as it stood then: Q01 (2022-W40-0001) was 杞县人民政府's, due 10-12,
    # escalated on 10-17 3 workdays late (10-13, 10-14, 10-17); L01 and problem 2 were closed
    # out on time (resolved 10-11 and 10-13, before their deadlines)
    assert [(r.item.number, r.outcome, r.outcome_on, r.item.status, r.item.level,
             r.item.recipient, r.item.deadline_on, r.item.days_overdue)
            for r in doc.review.items] == [
        ("2022-W39-0001", "still_open", None, "escalated", "province", PROVINCE,
         date(2022, 10, 24), 0),
        ("2022-W40-0001", "escalated", date(2022, 10, 17), "escalated", "county", "杞县人民政府",
         date(2022, 10, 12), 3),
        ("2022-W40-0002", "closed_out", date(2022, 10, 12), "closed_out", "county",
         "兰考县人民政府", date(2022, 10, 12), 0),
        ("2022-W41-0001", "closed_out", date(2022, 10, 14), "closed_out", "county",
         "兰考县人民政府", date(2022, 10, 17), 0)]
    escalated = doc.review.items[1]
    assert (escalated.current.level, escalated.current.recipient,
            escalated.current.deadline_on) == ("city", "市发展改革委、市重点办", date(2022, 10, 24))
    assert [(i.number, i.level, i.escalated_from) for i in doc.items] == [
        ("2022-W40-0001", "city", "county"), ("2022-W42-0001", "county", None)]


def test_an_overdue_province_item_is_not_shown_as_green(scenario: Workspace) -> None:
    """2022-W39-0001 is overdue at the province while its project T03 has a green light: the
    column says the light is the project's, and the status and working days say overdue, in
    every format."""
    from openpyxl import load_workbook

    from kfworkflow.reports.output import write_document

    with read_session(scenario.ready_engine()) as session:
        doc = collect_weekly(session, WEEKLY_ON, scenario.calendar)
    md = Renderer("zh").document(doc, "md")
    assert "| 办结时限 | 超期（工作日） | 状态 | 项目颜色 | 交办事由 |" in md
    assert "| 2022-10-24 | 5 | 已超期 | 绿灯 |" in md
    html = Renderer("en").document(doc, "html")
    assert ">Workdays overdue</th><th>Status</th><th>Project light</th><th>Reason</th>" in html
    assert ('<td class="n">5</td><td class="c nw">Overdue</td><td class="c"><span class="light '
            'light-green">Green</span></td>') in html
    path = write_document(doc, "xlsx", scenario.root / "w44.xlsx")
    sheet = load_workbook(path).worksheets[0]
    header_row = int(sheet.freeze_panes[1:]) - 1  # the title rows are above the header
    header, overdue = [list(r) for r in sheet.iter_rows(min_row=header_row,
                                                         values_only=True)][:2]
    assert dict(zip(header, overdue, strict=True))["编号"] == "2022-W39-0001"
    assert {k: v for k, v in zip(header, overdue, strict=True) if k in (
        "协调层级", "牵头单位", "超期（工作日）", "状态", "项目颜色")} == {
        "协调层级": "省级（由市级升级）", "牵头单位": PROVINCE, "超期（工作日）": 5,
        "状态": "已超期", "项目颜色": "绿灯"}


UNITS = ("杞县人民政府", "通许县人民政府", "兰考县人民政府", "市发展改革委", "市重点办",
         "市住房城乡建设局", "市金融局", "杞县发展改革委", "通许县发展改革委", "兰考县发展改革委")


def test_every_unit_gets_its_own_list_of_2022_10_17(scenario: Workspace) -> None:
    with read_session(scenario.ready_engine()) as session:
        doc = collect_weekly(session, date(2022, 10, 17), scenario.calendar)
    # the county governments and the task forces' lead units of the ledger's projects, then
    # the projects' responsible units, then the province mechanism holding an item; the joint
    # recipient 市发展改革委、市重点办 of 2022-W40-0001 is no list of its own
    assert doc.units == UNITS
    assert doc.recipients() == (*UNITS, PROVINCE)
    lists = {unit: doc.for_recipient(unit) for unit in doc.recipients()}
    assert {unit: ([r.item.number for r in d.review.items], [i.number for i in d.items],
                   [p.code for p in d.lagging]) for unit, d in lists.items()} == {
        # the county item it held last week, escalated to the city on 10-17; its county's
        # slow project
        "杞县人民政府": (["2022-W40-0001"], [], ["Q01"]),
        "通许县人民政府": ([], ["2022-W42-0001"], []),
        "兰考县人民政府": (["2022-W40-0002", "2022-W41-0001"], [], []),
        # each of the two lead units of the item new at the city (recipient
        # 市发展改革委、市重点办), not in their part one: it was the county's last week; and Q01
        # of 省市重点项目, whose task force they lead
        "市发展改革委": ([], ["2022-W40-0001"], ["Q01"]),
        "市重点办": ([], ["2022-W40-0001"], ["Q01"]),
        "市住房城乡建设局": ([], [], []),  # co-operating on 2022-W42-0001: not sent it
        "市金融局": ([], [], []),
        "杞县发展改革委": ([], [], ["Q01"]),  # Q01's responsible unit
        "通许县发展改革委": ([], [], []),
        "兰考县发展改革委": ([], [], []),
        PROVINCE: (["2022-W39-0001"], [], []),
    }
    city = lists["市重点办"]
    assert (city.review.escalated, city.open_by_level_status) == (
        0, (LevelStatusCount("city", "escalated", 1),))
    qixian = lists["杞县人民政府"]
    assert (qixian.review.escalated, qixian.open_by_level_status) == (1, ())


def test_the_cli_writes_one_list_per_unit_and_refuses_unknown_units(
        scenario: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["-w", str(scenario.root), "--db", str(scenario.db), "report", "weekly", "--as-of",
            "2022-10-17"]
    out = tmp_path / "交办单.md"
    result = run_cli(capsys, *base, "--out", str(out), "--each-recipient")
    assert result.exit_code == 0, result.err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["交办单.md", *(f"交办单-{unit}.md" for unit in (*UNITS, PROVINCE))])
    text = (tmp_path / "交办单-市重点办.md").read_text(encoding="utf-8")
    assert text.startswith("# 开封市稳经济重要项目集中攻坚行动 周交办单（市重点办）\n")
    assert "| 2022-W40-0001 |" in text and "| 2022-W42-0001 |" not in text
    assert ("| 杞县项目1 | Q01 | 省市重点项目 | 杞县 | 杞县人民政府 | 杞县发展改革委 "
            "| 开工 |") in text
    result = run_cli(capsys, *base, "--out", str(tmp_path / "one.md"), "--recipient",
                     "市发展改革委")
    assert result.exit_code == 0, result.err
    result = run_cli(capsys, *base, "--out", str(tmp_path / "x.md"), "--recipient", "市重点")
    assert result.exit_code == 1
    message = ("KFW-D005 no 2022-W42 list goes to '市重点': it holds no item and is responsible "
               "for no project (did you mean '市重点办'?)")
    assert result.err == f"Error: {message}\n"
    assert not (tmp_path / "x.md").exists()
    result = run_cli(capsys, *base, "--out", str(tmp_path / "x.md"), "--recipient",
                     "市发展改革委、市重点办", "--json")
    assert result.exit_code == 1
    assert '"hint": "give one unit at a time: \'市发展改革委\' or \'市重点办\'"' in result.out


def test_monthly_ranking_of_october(scenario: Workspace) -> None:
    with read_session(scenario.ready_engine()) as session:
        doc = collect_ranking(session, MONTHLY_ON)
        quarter = collect_ranking(session, MONTHLY_ON, "quarter")
    assert (doc.info.as_of, doc.period, doc.period_start, doc.period_end) == (
        date(2022, 11, 1), "2022-10", date(2022, 10, 1), date(2022, 10, 31))
    assert [(r.rank, r.county_name, r.score, r.previous_rank, r.rank_change) for r in doc.rows] == [
        (1, "兰考县", 80.0, 2, 1), (2, "通许县", 78.75, 1, -1), (3, "杞县", 73.75, 3, 0)]
    lankao = doc.rows[0]
    # nothing is due to complete: that weight drops out, the others scale up to 31.25 / 31.25 /
    # 37.5: 0.6 × 31.25 + 1.0 × 31.25 + 0.8 × 37.5 = 80
    assert [(m.metric, m.rate, m.points) for m in lankao.metrics] == [
        ("funds_in_place_rate", 0.6, 18.75), ("start_rate", 1.0, 31.25),
        ("investment_completion_rate", 0.8, 30.0), ("on_time_completion_rate", None, None)]
    assert doc.last_place is not None and doc.last_place.county_name == "杞县"
    assert [r.county_name for r in doc.reminder_talks] == ["杞县"]
    # October's items: W40-0001 (杞县), W40-0002 and W41-0001 (兰考县, closed out), W42-0001
    # (通许县, closed out) and W43-0001 (通许县)
    assert [(r.county_name, r.assigned, r.closed_out) for r in doc.rows] == [
        ("兰考县", 2, 2), ("通许县", 2, 1), ("杞县", 1, 0)]
    assert (doc.assigned, doc.closed_out, doc.closure_rate) == (5, 3, 0.6)
    assert [(p.period, p.score, p.rank) for p in doc.trend[2].points] == [
        ("2022-09", 62.5, 3), ("2022-10", 73.75, 3)]
    assert [r.light for r in doc.rows] == ["green", "green", "red"]  # rank_ok / rank_last
    assert (quarter.period, quarter.period_start, quarter.period_end) == (
        "2022-Q4", date(2022, 10, 1), date(2022, 10, 31))
    assert [len(t.points) for t in quarter.trend] == [1, 1, 1]
    # 上期名次 of Q4 is the rank at the end of Q3: September's ranking (the run of 10-01)
    assert [(r.county_name, r.previous_rank, r.rank_change) for r in quarter.rows] == [
        ("兰考县", 2, 1), ("通许县", 1, -1), ("杞县", 3, 0)]


def test_each_ranking_is_the_month_it_ranks_and_compares_with_the_period_before(
        workspace: Workspace) -> None:
    """The scenario plus the monthly pass of 12-01, which ranks November (the ledger stands
    still after 11-06: the same scores as October's). Its month compares with October, its
    quarter (Q4) with the end of Q3 (September's ranking, the run of 10-01), its half-year and
    year with nothing (no ranking before H2)."""
    from pass_scenario import set_day

    from kfworkflow.engine.passes import run_pass

    run_scenario(workspace)
    set_day(workspace, date(2022, 12, 1))
    result = run_pass(workspace, "monthly", date(2022, 12, 1))
    assert (result.period_key, result.message) == (
        "2022-11", "ran monthly pass 2022-11 as of 2022-12-01: 4 decisions")
    with read_session(workspace.ready_engine()) as session:
        month = collect_ranking(session, date(2022, 12, 1))
        quarter = collect_ranking(session, date(2022, 12, 1), "quarter")
        half = collect_ranking(session, date(2022, 12, 15), "half_year")
        october = collect_ranking(session, date(2022, 11, 30))  # the latest run is 11-01's
    assert (month.period, month.period_start, month.period_end, month.info.as_of) == (
        "2022-11", date(2022, 11, 1), date(2022, 11, 30), date(2022, 12, 1))
    assert [(r.rank, r.county_name, r.score, r.previous_rank, r.rank_change)
            for r in month.rows] == [(1, "兰考县", 80.0, 1, 0), (2, "通许县", 78.75, 2, 0),
                                     (3, "杞县", 73.75, 3, 0)]
    assert [(p.period, p.rank) for p in month.trend[0].points] == [
        ("2022-09", 2), ("2022-10", 1), ("2022-11", 1)]
    assert (quarter.period, quarter.period_start, quarter.period_end) == (
        "2022-Q4", date(2022, 10, 1), date(2022, 11, 30))
    assert [(r.rank, r.county_name, r.previous_rank, r.rank_change) for r in quarter.rows] == [
        (1, "兰考县", 2, 1), (2, "通许县", 1, -1), (3, "杞县", 3, 0)]
    assert [p.period for p in quarter.trend[0].points] == ["2022-10", "2022-11"]
    assert half.period == "2022-H2"
    assert [(r.previous_rank, r.rank_change) for r in half.rows] == [(None, None)] * 3
    assert (october.period, october.info.as_of) == ("2022-10", date(2022, 11, 1))
    assert Renderer("zh").document(month, "md").splitlines()[0] == (
        "# 开封市稳经济重要项目集中攻坚行动 2022年11月 月度排名通报")


def test_dashboard_from_the_database(scenario: Workspace, tmp_path: Path) -> None:
    with read_session(scenario.ready_engine()) as session:
        site = collect_site(session, MONTHLY_ON, scenario.calendar)
    assert site.info.as_of == date(2022, 11, 4)  # the last working day before the 6th
    assert len(site.projects) == 30 and site.monthly is not None
    q01 = next(p for p in site.projects if p.code == "Q01")
    # 25 workdays late by 10-31 (see the weekly list), then 11-01 .. 11-04
    assert (q01.state, q01.light, q01.steps[1].milestone, q01.steps[1].late_days) == (
        "planned", "red", "started", 29)
    assert [(e.on, e.kind) for e in q01.events][:3] == [
        (date(2022, 9, 26), "light"), (date(2022, 9, 27), "light"),
        (date(2022, 10, 3), "assignment")]
    pages = write_dashboard(site, tmp_path / "site")
    assert len(pages) == 1 + 3 + 9 + 30 + 3


def test_the_dashboard_lists_items_a_daily_pass_created_after_the_weekly_list(
        workspace: Workspace, tmp_path: Path) -> None:
    """The scenario's rules with problems routed by the daily pass: problem 3 (T06, 通许县),
    opened on Wednesday 10-12, is assigned by that day's daily pass, after the weekly list of
    Monday 10-10. The dashboard of 10-12 lists it; the W41 list cannot."""
    import re
    import shutil

    from pass_scenario import SCENARIO_RULES, build_ledger, publish_rules, run_all

    rules = tmp_path / "rules"
    shutil.copytree(SCENARIO_RULES, rules)
    routing = rules / "routing.yaml"
    text = routing.read_text(encoding="utf-8")
    routed = text.replace("applies_to: problem\n    pass: weekly",
                          "applies_to: problem\n    pass: daily")
    assert routed != text
    routing.write_text(routed, encoding="utf-8")
    publish_rules(workspace, rules)
    build_ledger(workspace)
    on = date(2022, 10, 12)
    run_all(workspace, on)
    with read_session(workspace.ready_engine()) as session:
        weekly = collect_weekly(session, on, workspace.calendar)
        site = collect_site(session, on, workspace.calendar)
    assert weekly.info.as_of == date(2022, 10, 10)
    listed = {r.item.number for r in weekly.review.items} | {i.number for i in weekly.items}
    assert "2022-W41-0002" not in listed
    # open on 10-12: problem 1 (T03, routed by the daily of 09-26 to the city, escalated by W41
    # to the province), Q01 and L01 (W40), problem 2 (L05, routed by the daily of Sunday 10-09,
    # a make-up workday) and problem 3
    assert [(a.number, a.county, a.level, a.status, a.assigned_on) for a in site.assignments] == [
        ("2022-W39-0001", "tongxu", "province", "escalated", date(2022, 10, 10)),
        ("2022-W40-0001", "qixian", "county", "new", date(2022, 10, 3)),
        ("2022-W40-0002", "lankao", "county", "new", date(2022, 10, 3)),
        ("2022-W40-0003", "lankao", "county", "new", date(2022, 10, 9)),
        ("2022-W41-0001", "tongxu", "county", "new", on)]
    out = tmp_path / "site"
    write_dashboard(site, out)
    tongxu = (out / "counties" / "tongxu.html").read_text(encoding="utf-8")
    table = re.search(r'<table id="assignments">.*?</table>', tongxu, re.S)
    assert table is not None and re.findall(r'<tr>\n?<td class="c nw">([^<]+)</td>',
                                            table.group(0)) == ["2022-W39-0001", "2022-W41-0001"]
    index = (out / "index.html").read_text(encoding="utf-8")
    forces = re.search(r'<table id="task-forces">.*?</table>', index, re.S)
    assert forces is not None
    open_by_force = {name: int(count) for name, count in re.findall(
        r'<tr><td><a href="task-forces/[^"]+">([^<]+)</a></td>.*?<td class="n">(\d+)</td></tr>',
        forces.group(0))}
    assert {name: n for name, n in open_by_force.items() if n} == {
        "省市重点项目和“三个一批”项目专班": 3, "“保交楼”项目专班": 2}


def test_documents_from_the_scenario_match_their_golden_files(scenario: Workspace) -> None:
    renderer = Renderer("zh")
    with read_session(scenario.ready_engine()) as session:
        daily = collect_daily(session, DAILY_ON)
        weekly = collect_weekly(session, WEEKLY_ON, scenario.calendar)
        monthly = collect_ranking(session, MONTHLY_ON)
    check_golden("scenario-daily-2022-10-21.zh.md", renderer.document(daily, "md"))
    check_golden("scenario-weekly-2022-W44.zh.md", renderer.document(weekly, "md"))
    check_golden("scenario-weekly-2022-W44.zh.html", renderer.document(weekly, "html"))
    check_golden("scenario-monthly-2022-10.zh.md", renderer.document(monthly, "md"))


def test_no_pass_yet_is_a_clear_error(scenario: Workspace) -> None:
    with read_session(scenario.ready_engine()) as session, pytest.raises(NotFoundError) as caught:
        collect_ranking(session, date(2022, 9, 30))
    assert str(caught.value) == ("no monthly pass has run on or before 2022-09-30; run `kfw pass "
                                 "run monthly --as-of 2022-09-30` or `kfw pass catch-up` first")


def test_the_cli_writes_every_document(scenario: Workspace, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    base = ["-w", str(scenario.root), "--db", str(scenario.db)]
    result = run_cli(capsys, *base, "report", "daily", "--as-of", "2022-10-21", "--out",
                     str(tmp_path / "daily.md"))
    assert result.exit_code == 0, result.err
    assert result.out == f"wrote {tmp_path / 'daily.md'} (daily, as of 2022-10-21, pass run #22)\n"
    result = run_cli(capsys, *base, "report", "weekly", "--as-of", "2022-11-01", "--format",
                     "xlsx", "--out", str(tmp_path / "w.xlsx"), "--recipient", "通许县人民政府")
    assert result.exit_code == 0, result.err
    assert (tmp_path / "w.xlsx").read_bytes().startswith(b"PK")
    result = run_cli(capsys, *base, "report", "weekly", "--as-of", "2022-11-01", "--out",
                     str(tmp_path / "w.md"), "--recipient", "杞县政府")
    assert result.exit_code == 1
    assert result.err == ("Error: KFW-D005 no 2022-W44 list goes to '杞县政府': it holds "
                          "no item and is responsible for no project (did you mean "
                          "'杞县人民政府'?)\n")  # once: not repeated as its own finding
    result = run_cli(capsys, *base, "report", "monthly", "--as-of", "2022-11-06", "--period",
                     "quarter", "--lang", "en", "--out", str(tmp_path / "q.html"))
    assert result.exit_code == 0, result.err
    assert "Q4 2022 Quarterly ranking" in (tmp_path / "q.html").read_text(encoding="utf-8")
    result = run_cli(capsys, *base, "report", "daily", "--out", str(tmp_path / "daily.pdf"))
    assert result.exit_code == 2
    assert "give --format md|html|xlsx" in result.err
    result = run_cli(capsys, *base, "report", "dashboard", "--as-of", "2022-11-06", "--out",
                     str(tmp_path / "site"), "--json")
    assert result.exit_code == 0, result.err
    assert '"pages": 46' in result.out


def test_the_same_documents_on_every_database(workspace: Workspace) -> None:
    """SQLite always; PostgreSQL too when KFW_TEST_DATABASE_URL is set."""
    run_scenario(workspace)
    renderer = Renderer("zh")
    with read_session(workspace.ready_engine()) as session:
        daily = collect_daily(session, DAILY_ON)
        weekly = collect_weekly(session, WEEKLY_ON, workspace.calendar)
        monthly = collect_ranking(session, MONTHLY_ON)
    check_golden("scenario-daily-2022-10-21.zh.md", renderer.document(daily, "md"))
    check_golden("scenario-weekly-2022-W44.zh.md", renderer.document(weekly, "md"))
    check_golden("scenario-monthly-2022-10.zh.md", renderer.document(monthly, "md"))


def test_a_daily_pass_over_an_empty_ledger_has_no_bulletin(workspace: Workspace) -> None:
    from pass_scenario import publish_rules, set_day

    from kfworkflow.engine.passes import run_pass

    publish_rules(workspace)
    set_day(workspace, date(2022, 9, 26))
    run_pass(workspace, "daily", date(2022, 9, 26))
    with read_session(workspace.ready_engine()) as session, pytest.raises(NotFoundError) as caught:
        collect_daily(session, date(2022, 9, 30))
    assert str(caught.value) == (
        "the daily pass of 2022-09-26 (run #1) recorded no figures: the ledger had no projects "
        "then; import one with `kfw ledger import` and run the pass again with --rerun")
