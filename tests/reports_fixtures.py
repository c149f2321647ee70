"""Fixture contexts for the report tests: three counties, two categories, worked by hand.

Daily (as of 2022-11-21, pro-rata 87.5 %), per county × category (started/due, completed/planned
investment, arrived/planned funds, on time/due to complete, red/yellow/green):

    兰考县  省市重点项目  3/3  9,000/12,000  6,000/8,000  1/1  0/1/3   (4 projects)
    兰考县  专项债券项目  1/2  2,000/5,000   4,000/4,000  0/0  1/0/1   (2 projects)
    杞县    省市重点项目  2/3  7,200/9,000   3,000/6,000  0/1  1/1/1   (3 projects)
    杞县    专项债券项目  1/1  2,000/2,000   1,000/2,000  0/0  0/0/1   (1 project)
    龙亭区  省市重点项目  0/1  1,000/4,000   0/3,000      0/0  2/0/0   (2 projects)
    龙亭区  专项债券项目  0/0  0/1,500       0/0          0/0  0/0/1   (1 project)

The previous day differs only in 兰考县 省市重点项目 (2/3 started, 8,400 invested): so 兰考县's
start rate rose from 3/5 to 4/5 (+20.0 pp) and the total's from 6/10 to 7/10 (+10.0 pp).
"""

from __future__ import annotations

from datetime import date

from kfworkflow.engine.ranking import composite, rate_of
from kfworkflow.reports.context import (
    AssignmentRow,
    CountyScore,
    CountyTrend,
    DailyBulletin,
    DailyCounts,
    DailyRow,
    DailySection,
    DocumentInfo,
    LaggingProject,
    MetricScore,
    MetricWeight,
    MissedReport,
    MonthlyRanking,
    RatePoint,
    ReviewedAssignment,
    ScorePoint,
    WeeklyList,
    daily_row,
    level_status_counts,
    top_and_bottom,
    weekly_review,
)
from kfworkflow.reports.site_context import (
    DashboardSite,
    MilestoneStep,
    ProjectTimeline,
    TaskForceInfo,
    TimelineEvent,
)

AS_OF = date(2022, 11, 21)
PRO_RATA = 0.875
TITLE = "开封市稳经济重要项目集中攻坚行动"
ORGANISATION = "开封市稳经济重要项目集中攻坚行动领导小组办公室"
COUNTIES = (("lankao", "兰考县"), ("qixian", "杞县"), ("longting", "龙亭区"))
CATEGORIES = (("key_project", "省市重点项目"), ("special_bond", "地方政府专项债券项目"))
PROVINCE = "省稳经济重要项目集中攻坚行动协调机制"


def info(as_of: date = AS_OF) -> DocumentInfo:
    return DocumentInfo(TITLE, ORGANISATION, as_of, rule_revision="r3", pass_run_id=42)


def _c(projects: int, started: int, due: int, completed: float, planned: float, arrived: float,
       funds: float, on_time: int, due_complete: int, red: int, yellow: int, green: int
       ) -> DailyCounts:
    return DailyCounts(projects=projects, due_to_start=due, started=started,
                       planned_investment=planned, completed_investment=completed,
                       planned_funds=funds, funds_arrived=arrived, due_to_complete=due_complete,
                       completed_on_time=on_time, red=red, yellow=yellow, green=green)


TODAY = {
    ("lankao", "key_project"): _c(4, 3, 3, 9000, 12000, 6000, 8000, 1, 1, 0, 1, 3),
    ("lankao", "special_bond"): _c(2, 1, 2, 2000, 5000, 4000, 4000, 0, 0, 1, 0, 1),
    ("qixian", "key_project"): _c(3, 2, 3, 7200, 9000, 3000, 6000, 0, 1, 1, 1, 1),
    ("qixian", "special_bond"): _c(1, 1, 1, 2000, 2000, 1000, 2000, 0, 0, 0, 0, 1),
    ("longting", "key_project"): _c(2, 0, 1, 1000, 4000, 0, 3000, 0, 0, 2, 0, 0),
    ("longting", "special_bond"): _c(1, 0, 0, 0, 1500, 0, 0, 0, 0, 0, 0, 1),
}
YESTERDAY = {**TODAY,
             ("lankao", "key_project"): _c(4, 2, 3, 8400, 12000, 6000, 8000, 1, 1, 0, 1, 3)}


def _rows(counts: dict[tuple[str, str], DailyCounts], previous: DailyBulletin | None
          ) -> tuple[tuple[DailySection, ...], tuple[DailyRow, ...], DailyRow]:
    def before(rows: tuple[DailyRow, ...] | None, key: str) -> DailyRow | None:
        return next((r for r in rows or () if r.key == key), None)

    sections = []
    for index, (category, category_name) in enumerate(CATEGORIES):
        old = previous.sections[index] if previous else None
        rows = tuple(daily_row(county, name, counts[(county, category)], PRO_RATA,
                               before(old.rows if old else None, county))
                     for county, name in COUNTIES)
        total = sum((counts[(county, category)] for county, _ in COUNTIES), DailyCounts())
        sections.append(DailySection(category, category_name, rows, daily_row(
            "total", "合计", total, PRO_RATA, old.total if old else None)))
    by_county = tuple(
        daily_row(county, name, sum((counts[(county, c)] for c, _ in CATEGORIES), DailyCounts()),
                  PRO_RATA, before(previous.counties if previous else None, county))
        for county, name in COUNTIES)
    total = sum(counts.values(), DailyCounts())
    return tuple(sections), by_county, daily_row("total", "合计", total, PRO_RATA,
                                                 previous.total if previous else None)


TREND = (
    RatePoint(date(2022, 11, 17), 0.5, 0.45, 0.55, 0.5),
    RatePoint(date(2022, 11, 18), 0.5, 0.5, 0.6, 0.5),
    RatePoint(date(2022, 11, 19), None, None, None, None),
    RatePoint(date(2022, 11, 20), 0.6, 0.56, 0.6571, 0.5),
    RatePoint(date(2022, 11, 21), 0.7, 0.56, 0.6829, 0.5),
)


def daily_bulletin() -> DailyBulletin:
    old_sections, old_counties, old_total = _rows(YESTERDAY, None)
    yesterday = DailyBulletin(info(date(2022, 11, 20)), None, PRO_RATA, old_sections,
                              old_counties, old_total, (), ())
    sections, counties, total = _rows(TODAY, yesterday)
    return DailyBulletin(
        info=info(), previous_on=date(2022, 11, 20), pro_rata_target=PRO_RATA,
        sections=sections, counties=counties, total=total,
        not_reported=(MissedReport("longting", "龙亭区", 2, date(2022, 11, 17)),),
        trend=TREND)


def _item(number: str, assigned_on: date, code: str, name: str, county: str, *,
          problem: str | None, problem_type: str | None, level: str, recipient: str,
          leads: tuple[str, ...], cooperating: tuple[str, ...] = (), person: str | None,
          deadline: date, overdue: int = 0, status: str, light: str | None, reason: str,
          progress: str | None = None, category: str = "key_project",
          escalated_from: str | None = None) -> AssignmentRow:
    county_name = dict(COUNTIES)[county]
    type_names = {"procedures": "前期手续", "resources": "要素资源",
                  "construction_env": "施工环境"}
    return AssignmentRow(
        number=number, assigned_on=assigned_on, project_code=code, project_name=name,
        category=category, category_name=dict(CATEGORIES)[category], county=county,
        county_name=county_name, problem=problem, problem_type=problem_type,
        problem_type_name=type_names.get(problem_type or ""), level=level,
        recipient=recipient, lead_units=leads, cooperating_units=cooperating,
        responsible_person=person, deadline_on=deadline, days_overdue=overdue, status=status,
        light=light, reason=reason, progress=progress, escalated_from=escalated_from)


# Part one: the items of the W46 list (as of 11-14) as they stood then, each with its status
# and progress now, its working days overdue against its W46 deadline, the item now and the
# date of its outcome. 2022-W46-002 was 杞县人民政府's county item, due 11-18; the W47 pass
# escalated it on 11-21 (1 working day overdue: 11-21) to the city, where it is also new in
# part two. 2022-W45-001 was at the province, due 11-14; the W47 pass marked it overdue (已是最高
# 层级): still open, 5 working days overdue (11-15 … 11-21).
_CLOSED = _item(
    "2022-W46-001", date(2022, 11, 14), "2201-410225-04-01-000101", "兰考县绿色建材产业园项目",
    "lankao", problem="用地指标未落实", problem_type="resources", level="county",
    recipient="兰考县人民政府", leads=("兰考县人民政府",), cooperating=("兰考县自然资源局",),
    person="张伟", deadline=date(2022, 11, 21), status="closed_out", light="green",
    reason="要素资源问题需县级协调解决", progress="用地指标已落实，11月18日销号")
_ESCALATED_THEN = _item(
    "2022-W46-002", date(2022, 11, 14), "2201-410221-04-01-000202", "杞县大蒜深加工项目",
    "qixian", problem="环评批复未取得", problem_type="procedures", level="county",
    recipient="杞县人民政府", leads=("杞县人民政府",), cooperating=("市发展改革委", "市重点办"),
    person="李娜", deadline=date(2022, 11, 18), overdue=1, status="escalated", light="red",
    reason="前期手续问题需县级协调解决")
_ESCALATED_NOW = _item(
    "2022-W46-002", date(2022, 11, 21), "2201-410221-04-01-000202", "杞县大蒜深加工项目",
    "qixian", problem="环评批复未取得", problem_type="procedures", level="city",
    recipient="市发展改革委、市重点办", leads=("市发展改革委", "市重点办"),
    cooperating=("市生态环境局",), person="李娜", deadline=date(2022, 11, 28),
    overdue=0, status="escalated", light="red",
    reason="县级办结时限2022-11-18已过未解决，升级至市级协调", escalated_from="county")
_STILL_OPEN = _item(
    "2022-W46-003", date(2022, 11, 14), "2201-410202-04-01-000303", "龙亭区文旅综合体项目",
    "longting", problem=None, problem_type=None, level="county",
    recipient="龙亭区人民政府", leads=("龙亭区人民政府",), person="王强",
    deadline=date(2022, 11, 21), status="in_progress", light="yellow",
    reason="计划开工日期2022-11-01已过7天未开工", progress="施工许可证办理中")
_RESOLVED = _item(
    "2022-W46-004", date(2022, 11, 14), "2201-410225-04-01-000104", "兰考县家居产业园道路项目",
    "lankao", problem="施工用电未接入", problem_type="construction_env", level="county",
    recipient="兰考县人民政府", leads=("兰考县人民政府",), person="赵磊",
    deadline=date(2022, 11, 21), status="resolved", light="yellow",
    reason="施工环境问题需县级协调解决", progress="已接入临时用电，待销号",
    category="special_bond")
_OVERDUE = _item(
    "2022-W45-001", date(2022, 11, 7), "2201-410202-04-01-000309", "龙亭区宋都古城保护项目",
    "longting", problem="文物勘探未完成", problem_type="procedures", level="province",
    recipient=PROVINCE, leads=(PROVINCE,), cooperating=("市发展改革委", "市重点办"),
    person="孙敏", deadline=date(2022, 11, 14), overdue=5, status="overdue", light="red",
    reason="市级办结时限2022-10-31已过未解决，升级至省级协调", escalated_from="city")

REVIEW = (
    ReviewedAssignment("overdue", _OVERDUE, _OVERDUE, date(2022, 11, 21)),
    ReviewedAssignment("closed_out", _CLOSED, _CLOSED, date(2022, 11, 18)),
    ReviewedAssignment("escalated", _ESCALATED_THEN, _ESCALATED_NOW, date(2022, 11, 21)),
    ReviewedAssignment("still_open", _STILL_OPEN, _STILL_OPEN, None),
    ReviewedAssignment("resolved", _RESOLVED, _RESOLVED, date(2022, 11, 17)),
)

NEW_ITEMS = (
    _item("2022-W47-001", AS_OF, "2201-410221-04-01-000205", "杞县冷链物流园项目", "qixian",
          problem="专项债券资金未拨付", problem_type="resources", level="county",
          recipient="杞县人民政府", leads=("杞县人民政府",), cooperating=("杞县财政局",),
          person="陈静", deadline=date(2022, 11, 28), status="new", light="yellow",
          reason="资金到位率50.0%，低于序时进度", category="special_bond"),
    _item("2022-W47-002", AS_OF, "2201-410202-04-01-000306", "龙亭区城市更新项目", "longting",
          problem="土地报批需省级审批", problem_type="resources", level="province",
          recipient=PROVINCE, leads=(PROVINCE,), cooperating=("市自然资源和规划局",),
          person="刘洋", deadline=date(2022, 12, 5), status="new", light="red",
          reason="超出市级权限，报省级协调机制"),
    _ESCALATED_NOW,
)

# The dashboard's open items on AS_OF: the weekly list's, less the one closed out, in the
# latest state of each number.
OPEN_ITEMS = tuple(sorted(
    {i.number: i for i in [*(r.current for r in REVIEW), *NEW_ITEMS]
     if i.status != "closed_out"}.values(), key=lambda i: i.number))

# Part three as of 11-21 (pro-rata 87.5 %): two late milestones, one project behind on
# investment only, one lit for its disbursement only.
LAGGING = (
    LaggingProject("2201-410202-04-01-000303", "龙亭区文旅综合体项目", "key_project",
                   "省市重点项目", "longting", "龙亭区", "龙亭区人民政府", "龙亭区文化旅游局",
                   ("市发展改革委", "市重点办"), "started", "开工",
                   date(2022, 11, 1), 20, 0.25, -62.5, "red", "milestone", None,
                   ("start", "progress")),
    LaggingProject("2201-410221-04-01-000203", "杞县农产品批发市场项目", "key_project",
                   "省市重点项目", "qixian", "杞县", "杞县人民政府", "杞县商务局",
                   ("市发展改革委", "市重点办"), "completed", "竣工",
                   date(2022, 11, 15), 6, 0.8, -7.5, "yellow", "milestone", None,
                   ("progress",)),
    LaggingProject("2201-410225-04-01-000108", "兰考县现代物流园项目", "key_project",
                   "省市重点项目", "lankao", "兰考县", "兰考县人民政府", "兰考县人民政府",
                   ("市发展改革委", "市重点办"), None, None, None, 0, 0.78, -9.5, "yellow",
                   "investment", None, ("progress",)),
    LaggingProject("2201-410221-04-01-000209", "杞县产业集聚区标准化厂房项目", "key_project",
                   "省市重点项目", "qixian", "杞县", "杞县人民政府", "杞县人民政府",
                   ("市发展改革委", "市重点办"), None, None, None, 0, 0.9, 2.5, "red", "other",
                   0.4, ("funds",)),
)


def weekly_list() -> WeeklyList:
    review = weekly_review("2022-W46", REVIEW)
    return WeeklyList(
        info=info(), week="2022-W47", week_start=date(2022, 11, 21),
        week_end=date(2022, 11, 27), recipient=None, review=review,
        items=NEW_ITEMS, lagging=LAGGING,
        open_by_level_status=level_status_counts(
            {i.number: i for i in [*(r.current for r in REVIEW), *NEW_ITEMS]}.values()))


WEIGHTS = {"funds_in_place_rate": 0.25, "start_rate": 0.25, "investment_completion_rate": 0.3,
           "on_time_completion_rate": 0.2}
# county -> rates in WEIGHTS order, previous rank, assigned, closed out, light. Scores as the
# engine computes them (kfworkflow.engine.ranking.composite): 100 × Σ w·rate / Σ w over the
# rates a county has.
MONTH = {
    "lankao": ((0.75, 0.8, 0.6, 1.0), 2, 2, 1, "green"),  # 18.75+20+18+20 = 76.75
    "qixian": ((0.5, 0.75, 0.8, 0.0), 1, 3, 1, "yellow"),  # 12.5+18.75+24+0 = 55.25
    "longting": ((0.0, 0.0, 0.2, None), 3, 2, 0, "red"),  # (0+0+6)/0.8 = 7.5
}


def monthly_ranking() -> MonthlyRanking:
    scored = []
    for county, name in COUNTIES:
        rates, previous, assigned, closed, light = MONTH[county]
        by_metric = dict(zip(WEIGHTS, rates, strict=True))
        score, breakdown = composite({rate_of(m): r for m, r in by_metric.items()}, WEIGHTS)
        metrics = tuple(MetricScore(m, breakdown[m]["rate"], w, breakdown[m]["points"])
                        for m, w in WEIGHTS.items())
        scored.append((score or 0.0, county, name, metrics, previous, assigned, closed, light))
    scored.sort(reverse=True)
    rows = tuple(
        CountyScore(rank=i, county=county, county_name=name, score=score, metrics=metrics,
                    previous_rank=previous, rank_change=previous - i, assigned=assigned,
                    closed_out=closed, closure_rate=closed / assigned, light=light)
        for i, (score, county, name, metrics, previous, assigned, closed, light)
        in enumerate(scored, start=1))
    top, bottom = top_and_bottom(rows)
    trend = (
        CountyTrend("lankao", "兰考县", (ScorePoint("2022-09", 61.2, 2),
                                         ScorePoint("2022-10", 70.5, 2),
                                         ScorePoint("2022-11", 76.75, 1))),
        CountyTrend("qixian", "杞县", (ScorePoint("2022-09", 66.0, 1),
                                      ScorePoint("2022-10", 71.0, 1),
                                      ScorePoint("2022-11", 55.25, 2))),
        CountyTrend("longting", "龙亭区", (ScorePoint("2022-09", None, None),
                                          ScorePoint("2022-10", 12.0, 3),
                                          ScorePoint("2022-11", 7.5, 3))),
    )
    return MonthlyRanking(
        info=info(date(2022, 11, 30)), period_kind="month", period="2022-11",
        period_start=date(2022, 11, 1), period_end=date(2022, 11, 30),
        weights=tuple(MetricWeight(m, w) for m, w in WEIGHTS.items()), rows=rows, top=top,
        bottom=bottom, last_place=rows[-1], reminder_talks=(rows[-1],), assigned=7,
        closed_out=2, closure_rate=2 / 7, trend=trend, rate_trend=TREND)


def _project(code: str, name: str, county: str, light: str | None, state: str,
             steps: tuple[MilestoneStep, ...], events: tuple[TimelineEvent, ...],
             category: str = "key_project", rate: float | None = 0.5) -> ProjectTimeline:
    task_force, task_force_name = ("key_projects", "省市重点项目和“三个一批”项目专班") if (
        category == "key_project") else ("special_bond", "地方政府专项债券项目专班")
    return ProjectTimeline(
        code=code, name=name, category=category, category_name=dict(CATEGORIES)[category],
        county=county, county_name=dict(COUNTIES)[county], task_force=task_force,
        task_force_name=task_force_name, state=state,
        state_name={"planned": "计划", "started": "开工", "allocated": "下达"}[state],
        light=light, responsible_unit=f"{dict(COUNTIES)[county]}人民政府",
        responsible_person="张伟", annual_investment=3000.0,
        completed_investment=3000.0 * (rate or 0), investment_completion_rate=rate,
        steps=steps, events=events)


PROJECTS = (
    _project("2201-410225-04-01-000101", "兰考县绿色建材产业园项目", "lankao", "green", "started",
             (MilestoneStep("planned", "计划", None, date(2022, 3, 1), None),
              MilestoneStep("started", "开工", date(2022, 6, 1), date(2022, 5, 28), 0),
              MilestoneStep("completed", "竣工", date(2023, 12, 31), None, None)),
             (TimelineEvent(date(2022, 5, 28), "milestone", "开工"),
              TimelineEvent(date(2022, 11, 14), "assignment",
                            "2022-W46-001 用地指标未落实（县级）"),
              TimelineEvent(date(2022, 11, 18), "assignment", "2022-W46-001 已销号"))),
    _project("2201-410202-04-01-000303", "龙亭区文旅综合体项目", "longting", "red", "planned",
             (MilestoneStep("planned", "计划", None, date(2022, 2, 1), None),
              MilestoneStep("started", "开工", date(2022, 11, 1), None, 20),
              MilestoneStep("completed", "竣工", date(2023, 10, 31), None, None)),
             (TimelineEvent(date(2022, 11, 8), "light", "红灯：计划开工日期已过7天未开工"),
              TimelineEvent(date(2022, 11, 14), "assignment", "2022-W46-003 交办龙亭区人民政府")),
             rate=0.25),
    _project("2201-410221-04-01-000205", "杞县冷链物流园项目", "qixian", "yellow", "allocated",
             (MilestoneStep("allocated", "下达", None, date(2022, 6, 30), None),
              MilestoneStep("disbursed", "资金拨付", date(2022, 10, 31), None, 21),
              MilestoneStep("started", "开工", date(2022, 12, 15), None, None),
              MilestoneStep("completed", "竣工", date(2023, 6, 30), None, None)),
             (TimelineEvent(date(2022, 11, 21), "assignment", "2022-W47-001 交办杞县人民政府"),),
             category="special_bond", rate=None),
)


def dashboard_site() -> DashboardSite:
    return DashboardSite(
        info=info(), daily=daily_bulletin(), weekly=weekly_list(), monthly=monthly_ranking(),
        task_forces=(
            TaskForceInfo("key_projects", "省市重点项目和“三个一批”项目专班",
                          ("市发展改革委", "市重点办"), ("key_project",)),
            TaskForceInfo("special_bond", "地方政府专项债券项目专班", ("市发展改革委", "市财政局"),
                          ("special_bond",))),
        projects=PROJECTS,
        assignments=OPEN_ITEMS)
