"""The synthetic Kaifeng 2022 data: seed-plan counts, consistency, determinism, file formats."""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest

from kfworkflow.demo.campaign import (
    CampaignPlan,
    ReportRow,
    Scenario,
    campaign_rows,
    plan_campaign,
    simulate_campaign,
    working_days,
)
from kfworkflow.demo.files import (
    write_daily_csv,
    write_daily_xlsx,
    write_examples,
    write_ledger_csv,
    write_ledger_xlsx,
)
from kfworkflow.demo.ledger_gen import (
    LEDGER_AS_OF,
    LedgerRow,
    generate_ledger,
    iter_ledger,
    sample_ledger,
)
from kfworkflow.demo.names import COUNTY_BY_ID, RESERVED_NAMES
from kfworkflow.errors import CalendarError, InputError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

LEDGER_HEADER_ROW = [
    "项目代码", "项目名称", "项目类别", "批次", "所属县区", "责任单位", "责任人", "项目单位",
    "总投资(万元)", "年度计划投资(万元)", "计划资金(万元)",
    "计划签约日期", "计划下达日期", "计划审核通过日期", "计划资金到位日期", "计划资金拨付日期",
    "计划招投标日期", "计划开工日期", "计划竣工日期", "计划投产日期",
    "当前状态",
    "实际签约日期", "实际下达日期", "实际审核通过日期", "实际资金到位日期", "实际资金拨付日期",
    "实际招投标日期", "实际开工日期", "实际竣工日期", "实际投产日期",
]
TASK_HEADER_ROW = ["项目代码", "任务", "责任人", "完成时限", "完成日期"]
DAILY_HEADER_ROW = [
    "项目代码", "填报日期", "累计完成投资(万元)", "累计到位资金(万元)", "累计拨付资金(万元)",
    "里程碑", "里程碑日期", "问题类型", "协调层级", "问题描述", "备注",
]
# 尉氏县's missed report days in the default scenario.
MISSED_DAYS = {date(2022, 11, 18), date(2022, 11, 29), date(2022, 12, 9), date(2022, 12, 22)}
URBAN_DISTRICTS = ("longting", "shunhe", "gulou", "yuwangtai")
RURAL_COUNTIES = ("qixian", "tongxu", "weishi", "lankao")


@pytest.fixture(scope="module")
def ledger() -> list[LedgerRow]:
    return generate_ledger(2022)


@pytest.fixture(scope="module")
def batches(ledger: list[LedgerRow]) -> list[tuple[date, list[ReportRow]]]:
    return list(simulate_campaign(ledger, 2022))


@pytest.fixture(scope="module")
def plan(ledger: list[LedgerRow]) -> CampaignPlan:
    return plan_campaign(ledger, 2022)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- ledger: the seed plan's numbers -------------------------------------------------------


def test_scale_one_has_the_seed_plans_exact_counts(ledger: list[LedgerRow]) -> None:
    categories = Counter(row.category for row in ledger)
    assert categories == {"policy_finance": 62, "three_batches": 174, "key_project": 1011,
                          "central_budget": 45, "special_bond": 60, "long_term_loan": 25,
                          "equipment_loan_subsidy": 15, "housing_delivery": 12}
    key = [row for row in ledger if row.category == "key_project"]
    new_starts = [row for row in key if row.planned_started_on is not None
                  and date(2022, 1, 1) <= row.planned_started_on <= date(2022, 11, 30)]
    assert len(new_starts) == 714
    assert {row.code for row in new_starts} == {r.code for r in key if "new_start" in r.tags}
    assert sum(1 for row in key if row.planned_completed_on is not None
               and row.planned_completed_on <= date(2022, 11, 30)) == 201
    batches = Counter((row.batch, row.state) for row in ledger if row.category == "three_batches")
    assert batches == {("签约一批", "planned"): 29, ("开工一批", "signed"): 72,
                       ("投产一批", "started"): 73}


def test_new_starts_some_started_before_the_campaign_most_not_yet(ledger: list[LedgerRow]
                                                                   ) -> None:
    states = Counter(row.state for row in ledger if "new_start" in row.tags)
    assert set(states) == {"planned", "started"}
    assert 300 < states["started"] < 600


def test_policy_finance_projects_are_signed_mostly_funded_and_due_by_november(
        ledger: list[LedgerRow]) -> None:
    rows = [row for row in ledger if row.category == "policy_finance"]
    assert all(row.signed_on is not None for row in rows)
    assert sum(1 for row in rows if row.funded_on is not None) > len(rows) * 0.7
    assert all(row.planned_started_on is not None
               and row.planned_started_on <= date(2022, 11, 30) for row in rows)


def test_special_bond_funds_share_out_the_issued_quota_of_1597_million(
        ledger: list[LedgerRow]) -> None:
    bonds = [row for row in ledger if row.category == "special_bond"]
    assert sum(row.planned_funds or 0 for row in bonds) == 159_700
    assert all(row.planned_funds and row.planned_funds <= row.total_investment for row in bonds)


def test_funding_categories_have_planned_funds_the_others_do_not(ledger: list[LedgerRow]
                                                                 ) -> None:
    with_funds = {row.category for row in ledger if row.planned_funds is not None}
    assert with_funds == {"policy_finance", "central_budget", "special_bond", "long_term_loan",
                          "equipment_loan_subsidy", "housing_delivery"}
    assert all(row.planned_funds is not None for row in ledger if row.category in with_funds)


def test_counties_carry_more_projects_than_urban_districts(ledger: list[LedgerRow]) -> None:
    per_county = Counter(row.county for row in ledger)
    assert set(per_county) == set(COUNTY_BY_ID)
    assert min(per_county[c] for c in RURAL_COUNTIES) > max(per_county[c] for c in URBAN_DISTRICTS)


def test_codes_are_unique_national_codes_of_kaifeng_counties(ledger: list[LedgerRow]) -> None:
    assert len({row.code for row in ledger}) == len(ledger)
    pattern = re.compile(r"^(\d{2})(\d{2})-(4102\d{2})-04-01-\d{6}$")
    for row in ledger:
        match = pattern.match(row.code)
        assert match, row.code
        assert 17 <= int(match.group(1)) <= 22 and 1 <= int(match.group(2)) <= 12
        assert match.group(3) == COUNTY_BY_ID[row.county].admin_code


def test_names_units_and_people_are_plausible(ledger: list[LedgerRow]) -> None:
    assert len({row.name for row in ledger}) == len(ledger)
    for row in ledger:
        county = COUNTY_BY_ID[row.county]
        assert row.name.startswith(county.name) and row.name.endswith(("项目", "工程", "期）"))
        assert row.owner_unit
        assert row.responsible_unit == county.government or row.responsible_unit.startswith(
            ("市", "人民银行"))
        assert 2 <= len(row.responsible_person) <= 3
        assert row.responsible_person not in RESERVED_NAMES


def test_investments_are_in_range_and_the_annual_plan_is_a_share(ledger: list[LedgerRow]
                                                                 ) -> None:
    for row in ledger:
        assert 500 <= row.total_investment <= 500_000
        assert 1 <= row.annual_investment <= row.total_investment


def test_dates_follow_the_category_path_and_the_state(ledger: list[LedgerRow]) -> None:
    for row in ledger:
        path = row.path
        planned = [on for m in path if (on := row.planned_on(m)) is not None]
        assert planned == sorted(planned), row.code
        reached = path[: path.index(row.state) + 1]
        for milestone in path:
            dated = row.actual_on(milestone) is not None
            assert dated == (milestone in reached and milestone != "planned"), (row.code,
                                                                                milestone)
        actual = [on for m in reached if (on := row.actual_on(m)) is not None]
        assert actual == sorted(actual), row.code
        assert all(on < LEDGER_AS_OF for on in actual), row.code


def test_every_project_has_two_to_four_tasks(ledger: list[LedgerRow]) -> None:
    for row in ledger:
        assert 2 <= len(row.tasks) <= 4
        assert [t.due_on for t in row.tasks] == sorted(t.due_on for t in row.tasks)
        for task in row.tasks:
            assert task.title and task.owner
            assert task.done_on is None or task.done_on < LEDGER_AS_OF


# --- ledger: scale, determinism, errors ----------------------------------------------------


def test_iter_ledger_at_the_base_count_equals_generate_ledger(ledger: list[LedgerRow]) -> None:
    assert list(iter_ledger(2022, 1404)) == ledger


def test_iter_ledger_yields_exactly_n_rows() -> None:
    assert list(iter_ledger(2022, 0)) == []
    assert len(list(iter_ledger(7, 57))) == 57
    assert [row.category for row in iter_ledger(7, 1)] == ["key_project"]


def test_scale_multiplies_every_count() -> None:
    rows = generate_ledger(2022, scale=10)
    assert len(rows) == 14_040
    assert Counter(row.category for row in rows)["policy_finance"] == 620
    assert Counter((r.batch, r.state) for r in rows if r.category == "three_batches") == {
        ("签约一批", "planned"): 290, ("开工一批", "signed"): 720, ("投产一批", "started"): 730}
    assert sum(1 for row in rows if "new_start" in row.tags) == 7140
    assert sum(1 for row in rows if "planned_completion" in row.tags) == 2010
    assert len({row.code for row in rows}) == len(rows)


@pytest.mark.slow
def test_scale_one_hundred_gives_a_hundred_times_the_counts() -> None:
    rows = generate_ledger(2022, scale=100)
    assert len(rows) == 140_400
    assert Counter(row.category for row in rows)["key_project"] == 101_100
    assert len({row.code for row in rows}) == len(rows)


@pytest.mark.parametrize("scale", [0, -1.0, float("nan"), float("inf")])
def test_a_scale_that_is_not_a_positive_number_is_refused(scale: float) -> None:
    with pytest.raises(InputError) as error:
        generate_ledger(2022, scale=scale)
    assert str(error.value) == f"scale must be a positive number, got {scale!r}"


def test_a_negative_project_count_is_refused_at_the_call() -> None:
    with pytest.raises(InputError) as error:
        iter_ledger(2022, -1)
    assert str(error.value) == "the number of projects must be 0 or more, got -1"


def test_same_seed_same_csv_other_seed_other_csv(tmp_path: Path, ledger: list[LedgerRow]
                                                 ) -> None:
    first = write_ledger_csv(ledger, tmp_path / "a.csv")
    second = write_ledger_csv(generate_ledger(2022), tmp_path / "b.csv")
    other = write_ledger_csv(generate_ledger(2023), tmp_path / "c.csv")
    assert _sha256(first) == _sha256(second)
    assert _sha256(first) != _sha256(other)


# --- campaign ------------------------------------------------------------------------------


def test_one_batch_per_working_day_of_the_campaign(batches: list[tuple[date, list[ReportRow]]]
                                                   ) -> None:
    days = [day for day, _ in batches]
    # 2022-11-14 (Mon) .. 2022-12-30 (Fri): seven full weeks, no statutory holiday.
    assert len(days) == 35
    assert days[0] == date(2022, 11, 14) and days[-1] == date(2022, 12, 30)
    assert all(day.weekday() < 5 for day in days)
    assert working_days(date(2022, 9, 30), date(2022, 10, 10)) == [
        date(2022, 9, 30), date(2022, 10, 8), date(2022, 10, 9), date(2022, 10, 10)]


def test_weishi_misses_exactly_the_scenarios_days_others_report_daily(
        ledger: list[LedgerRow], batches: list[tuple[date, list[ReportRow]]]) -> None:
    county_of = {row.code: row.county for row in ledger}
    projects_of = Counter(row.county for row in ledger)
    all_days = {day for day, _ in batches}
    for day, rows in batches:
        per_county = Counter(county_of[r.code] for r in rows)
        for county, count in projects_of.items():
            expected = 0 if (county == "weishi" and day in MISSED_DAYS) else count
            assert per_county[county] == expected, (day, county)
        assert all(r.report_on == day for r in rows)
    reported = defaultdict(set)
    for day, rows in batches:
        for r in rows:
            reported[county_of[r.code]].add(day)
    assert all_days - reported["weishi"] == MISSED_DAYS
    assert all(reported[c] == all_days for c in COUNTY_BY_ID if c != "weishi")


def test_cumulative_values_never_decrease_and_disbursed_stays_within_arrived(
        ledger: list[LedgerRow], batches: list[tuple[date, list[ReportRow]]]) -> None:
    funds_of = {row.code: row.planned_funds for row in ledger}
    last: dict[str, tuple[float, float, float]] = {}
    for _, rows in batches:
        for r in rows:
            assert r.completed_investment is not None
            arrived, disbursed = r.funds_arrived or 0.0, r.funds_disbursed or 0.0
            if funds_of[r.code] is None:
                assert r.funds_arrived is None and r.funds_disbursed is None
            else:
                assert disbursed <= arrived <= (funds_of[r.code] or 0.0)
            now = (r.completed_investment, arrived, disbursed)
            before = last.get(r.code, (0.0, 0.0, 0.0))
            assert all(a >= b for a, b in zip(now, before, strict=True)), r
            last[r.code] = now


def test_milestones_follow_the_path_in_order_and_never_after_their_report(
        ledger: list[LedgerRow], batches: list[tuple[date, list[ReportRow]]]) -> None:
    by_code = {row.code: row for row in ledger}
    state = {row.code: row.state for row in ledger}
    latest = {row.code: max((on for m in row.path if (on := row.actual_on(m)) is not None),
                            default=date(2000, 1, 1)) for row in ledger}
    count = 0
    for _, rows in batches:
        for r in rows:
            if r.milestone is None:
                continue
            count += 1
            path = by_code[r.code].path
            assert r.milestone == path[path.index(state[r.code]) + 1], r
            assert r.milestone_on is not None
            assert date(2022, 11, 14) <= r.milestone_on <= r.report_on
            assert r.milestone_on >= latest[r.code], r
            state[r.code], latest[r.code] = r.milestone, r.milestone_on
    assert count > 500


def test_most_planned_new_starts_start_during_the_campaign(
        ledger: list[LedgerRow], batches: list[tuple[date, list[ReportRow]]]) -> None:
    waiting = {row.code for row in ledger if "new_start" in row.tags and row.state == "planned"}
    started = {r.code for _, rows in batches for r in rows if r.milestone == "started"}
    assert len(waiting & started) > 0.8 * len(waiting)
    assert waiting - started  # a few stay late


def test_about_fifteen_projects_stall_on_land_or_funds_and_five_are_resolved(
        plan: CampaignPlan, batches: list[tuple[date, list[ReportRow]]]) -> None:
    stalls = {code: s.stall for code, s in plan.scripts.items() if s.stall is not None}
    assert len(stalls) == 15
    assert {(p.type, p.level) for p in stalls.values()} == {("resources", "city"),
                                                           ("funds", "province")}
    resolved = {code for code, p in stalls.items() if p.resolved_on is not None}
    assert len(resolved) == 5
    rows_of: dict[str, list[ReportRow]] = defaultdict(list)
    for _, rows in batches:
        for r in rows:
            if r.code in stalls:
                rows_of[r.code].append(r)
    for code, problem in stalls.items():
        rows = rows_of[code]
        raised = next(i for i, r in enumerate(rows) if r.problem_title)
        assert (rows[raised].problem_type, rows[raised].problem_level,
                rows[raised].problem_title) == (problem.type, problem.level, problem.title)
        notes = [i for i, r in enumerate(rows) if r.note]
        if code in resolved:
            assert len(notes) == 1 and rows[notes[0]].note == f"已协调解决：{problem.title}"
            stopped = rows[raised:notes[0]]
        else:
            assert notes == []
            stopped = rows[raised:]
        assert all(r.milestone is None for r in stopped[1:])
        assert len({r.completed_investment for r in stopped}) == 1


def test_a_handful_of_projects_cannot_meet_their_plan(
        plan: CampaignPlan, batches: list[tuple[date, list[ReportRow]]]) -> None:
    infeasible = {code for code, s in plan.scripts.items() if s.infeasible_note}
    assert len(infeasible) == 5
    notes = [r for _, rows in batches for r in rows if r.note and "无法按计划开工" in r.note]
    assert sorted(r.code for r in notes) == sorted(infeasible)
    assert not any(r.milestone for _, rows in batches for r in rows if r.code in infeasible)


def test_minor_problems_name_a_known_type_and_level(
        batches: list[tuple[date, list[ReportRow]]]) -> None:
    problems = [r for _, rows in batches for r in rows if r.problem_title]
    assert 40 < len(problems) < 150
    for r in problems:
        assert r.problem_type in ("procedures", "preliminary_work", "resources",
                                  "construction_env", "funds")
        assert r.problem_level in ("county", "city", "province")


def test_the_two_lagging_counties_trail_the_pro_rata_target(
        ledger: list[LedgerRow], batches: list[tuple[date, list[ReportRow]]]) -> None:
    row_of = {row.code: row for row in ledger if row.category == "key_project"}
    for day, rows in batches:
        done: dict[str, float] = defaultdict(float)
        planned: dict[str, float] = defaultdict(float)
        for r in rows:
            if r.code in row_of:
                done[row_of[r.code].county] += r.completed_investment or 0.0
                planned[row_of[r.code].county] += row_of[r.code].annual_investment
        rate = {county: done[county] / planned[county] for county in planned}
        ranked = sorted(rate, key=rate.__getitem__)
        lagging = {"weishi", "tongxu"} & set(rate)
        assert set(ranked[: len(lagging)]) == lagging, day
        pro_rata = ((day - date(2022, 1, 1)).days + 1) / 365
        if day >= date(2022, 12, 13):
            assert all(0.10 <= pro_rata - rate[c] <= 0.20 for c in lagging), day
            assert all(pro_rata - rate[c] < 0.05 for c in rate if c not in lagging), day


def test_same_seed_same_daily_csv(tmp_path: Path, ledger: list[LedgerRow],
                                  batches: list[tuple[date, list[ReportRow]]]) -> None:
    first = write_daily_csv(campaign_rows(iter(batches)), tmp_path / "a.csv")
    second = write_daily_csv(campaign_rows(simulate_campaign(ledger, 2022)), tmp_path / "b.csv")
    other = write_daily_csv(campaign_rows(simulate_campaign(ledger, 7)), tmp_path / "c.csv")
    assert _sha256(first) == _sha256(second)
    assert _sha256(first) != _sha256(other)


def test_scenario_for_the_full_ledger_is_the_default_story() -> None:
    assert Scenario.for_ledger(1404) == Scenario()
    small = Scenario.for_ledger(30)
    assert (small.stalled_projects, small.resolved_stalls, small.infeasible_projects) == (1, 0, 1)


def test_scenario_with_an_unknown_county_is_refused(ledger: list[LedgerRow]) -> None:
    scenario = Scenario(lagging_counties=("kaifeng",), missed_reports=(("zhengzhou",
                                                                        date(2022, 11, 18)),))
    with pytest.raises(InputError) as error:
        simulate_campaign(ledger[:5], scenario=scenario)
    assert str(error.value) == (
        "scenario names unknown counties kaifeng, zhengzhou; expected one of qixian, tongxu, "
        "weishi, lankao, xiangfu, longting, shunhe, gulou, yuwangtai, demo_zone")


def test_scenario_resolving_more_stalls_than_it_has_is_refused(ledger: list[LedgerRow]) -> None:
    with pytest.raises(InputError) as error:
        plan_campaign(ledger[:5], scenario=Scenario(stalled_projects=1, resolved_stalls=2))
    assert str(error.value) == "scenario resolves 2 stalls but only 1 projects stall"


def test_a_campaign_ending_before_it_starts_is_refused(ledger: list[LedgerRow]) -> None:
    with pytest.raises(InputError) as error:
        simulate_campaign(ledger[:5], end=date(2022, 11, 1))
    assert str(error.value) == "the campaign ends (2022-11-01) before it starts (2022-11-14)"


def test_a_year_the_calendar_does_not_know_is_a_calendar_error(ledger: list[LedgerRow]) -> None:
    with pytest.raises(CalendarError) as error:
        simulate_campaign(ledger[:5], start=date(2027, 1, 4), end=date(2027, 1, 8))
    assert str(error.value) == (
        "the working-day calendar does not know 2027 (chinese-calendar knows 2004-2026); "
        "simulate a campaign within those years")


# --- files ---------------------------------------------------------------------------------


def test_ledger_csv_has_the_exact_chinese_headers_and_chinese_values(
        tmp_path: Path, ledger: list[LedgerRow]) -> None:
    path = write_ledger_csv(ledger[:3], tmp_path / "ledger.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == LEDGER_HEADER_ROW
    first = dict(zip(LEDGER_HEADER_ROW, lines[1], strict=True))
    row = ledger[0]
    assert first["项目代码"] == row.code
    assert first["项目类别"] == "政策性开发性金融工具项目"
    assert first["所属县区"] == COUNTY_BY_ID[row.county].name
    labels = {"signed": "签约", "funded": "资金到位", "started": "开工"}
    assert first["当前状态"] == labels[row.state]
    assert first["总投资(万元)"] == str(int(row.total_investment))
    assert row.signed_on is not None and first["实际签约日期"] == row.signed_on.isoformat()
    assert first["批次"] == "" and first["计划下达日期"] == ""


def test_ledger_csv_can_write_ids_instead_of_names(tmp_path: Path, ledger: list[LedgerRow]
                                                   ) -> None:
    path = write_ledger_csv(ledger[:1], tmp_path / "ledger.csv", labels=False)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    first = dict(zip(lines[0], lines[1], strict=True))
    assert (first["项目类别"], first["所属县区"], first["当前状态"]) == (
        "policy_finance", ledger[0].county, ledger[0].state)


def test_ledger_xlsx_reads_back_with_exact_headers_and_date_cells(
        tmp_path: Path, ledger: list[LedgerRow]) -> None:
    path = write_ledger_xlsx(ledger, tmp_path / "ledger.xlsx")
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["台账", "任务清单"]
    sheet = workbook["台账"]
    assert [c.value for c in sheet[1]] == LEDGER_HEADER_ROW
    assert sheet.freeze_panes == "A2"
    assert sheet[1][0].font.b
    assert sheet.max_row == 1 + len(ledger)
    first = ledger[0]
    values = {h: c.value for h, c in zip(LEDGER_HEADER_ROW, sheet[2], strict=True)}
    assert values["项目代码"] == first.code
    assert values["总投资(万元)"] == first.total_investment
    assert isinstance(values["计划开工日期"], datetime)
    assert values["计划开工日期"].date() == first.planned_started_on
    assert values["批次"] is None
    tasks = workbook["任务清单"]
    assert [c.value for c in tasks[1]] == TASK_HEADER_ROW
    assert tasks.max_row == 1 + sum(len(row.tasks) for row in ledger)
    assert tasks["A2"].value == first.code and tasks["B2"].value == first.tasks[0].title


def test_xlsx_files_are_byte_for_byte_reproducible(tmp_path: Path, ledger: list[LedgerRow]
                                                   ) -> None:
    first = write_ledger_xlsx(ledger[:50], tmp_path / "a.xlsx")
    second = write_ledger_xlsx(ledger[:50], tmp_path / "b.xlsx")
    assert _sha256(first) == _sha256(second)


def test_daily_files_have_the_exact_headers_and_labels(
        tmp_path: Path, batches: list[tuple[date, list[ReportRow]]]) -> None:
    rows = [r for _, day_rows in batches[:3] for r in day_rows]
    csv_path = write_daily_csv(rows, tmp_path / "daily.csv")
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == DAILY_HEADER_ROW
    assert len(lines) == 1 + len(rows)
    milestones = {line[5] for line in lines[1:]} - {""}
    assert milestones and milestones <= {"签约", "下达", "审核通过", "资金到位", "资金拨付",
                                         "招投标", "开工", "竣工", "投产"}
    assert {line[8] for line in lines[1:]} - {""} <= {"县级", "市级", "省级"}
    xlsx_path = write_daily_xlsx(rows[:20], tmp_path / "daily.xlsx")
    sheet = openpyxl.load_workbook(xlsx_path)["日调度"]
    assert [c.value for c in sheet[1]] == DAILY_HEADER_ROW
    assert sheet.max_row == 21
    assert sheet["B2"].value == datetime(2022, 11, 14)


# --- the committed examples ----------------------------------------------------------------


def test_sample_ledger_has_thirty_rows_of_three_counties_and_categories(
        ledger: list[LedgerRow]) -> None:
    sample = sample_ledger(ledger, seed=2022)
    assert len(sample) == 30
    assert Counter(row.category for row in sample) == {"key_project": 10, "policy_finance": 10,
                                                       "special_bond": 10}
    assert {row.county for row in sample} == {"lankao", "weishi", "longting"}
    assert len({row.state for row in sample if row.category == "key_project"}) == 3


def test_committed_examples_are_what_the_generator_writes(tmp_path: Path) -> None:
    written = write_examples(tmp_path, seed=2022)
    assert [p.name for p in written] == ["kaifeng-2022-ledger.xlsx", "sample-ledger.csv",
                                         "sample-daily.csv"]
    for path in written:
        assert _sha256(path) == _sha256(EXAMPLES / path.name), path.name


def test_sample_daily_covers_a_week_with_weishi_missing_friday() -> None:
    with (EXAMPLES / "sample-daily.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    with (EXAMPLES / "sample-ledger.csv").open(encoding="utf-8-sig", newline="") as handle:
        county_of = {r["项目代码"]: r["所属县区"] for r in csv.DictReader(handle)}
    per_day = Counter(r["填报日期"] for r in rows)
    weishi = sum(1 for c in county_of.values() if c == "尉氏县")
    assert per_day == {"2022-11-14": 30, "2022-11-15": 30, "2022-11-16": 30, "2022-11-17": 30,
                       "2022-11-18": 30 - weishi}
    assert not any(county_of[r["项目代码"]] == "尉氏县" for r in rows
                   if r["填报日期"] == "2022-11-18")


def test_a_target_is_in_progress_until_its_due_date_and_untracked_ones_say_so() -> None:
    from kfworkflow.config.policies import Target
    from kfworkflow.demo.summary import TargetProgress

    rate = Target("t", "开工率", ("key_project",), "start_rate", ">=", 0.95, date(2022, 12, 31))
    bonds = Target("b", "发行", ("special_bond",), "bond_issued", ">=", 159700,
                   date(2022, 10, 31), "万元")
    assert TargetProgress(rate, date(2022, 11, 30), 0.9, False).mark() == (
        "进行中 in progress, due 2022-12-31")
    assert TargetProgress(rate, date(2022, 12, 31), 0.9, False).mark() == "未达 missed"
    assert TargetProgress(rate, date(2022, 11, 30), 0.96, True).mark() == "达成 met"
    assert TargetProgress(rate, date(2022, 11, 30), 0.96, True).shown() == "96.0%"
    assert TargetProgress(bonds, date(2022, 11, 30), None, None).mark() == (
        "未统计 not tracked: the ledger holds no such figure")
