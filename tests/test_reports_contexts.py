"""The report contexts and their reference page agree, and the context helpers add up."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import pytest
from reports_fixtures import LAGGING, NEW_ITEMS, PROVINCE, REVIEW, weekly_list

from kfworkflow.errors import InputError
from kfworkflow.reports.collect.weekly import recipient_list
from kfworkflow.reports.context import (
    CountyScore,
    DailyCounts,
    LevelStatusCount,
    daily_row,
    top_and_bottom,
    weekly_review,
)
from kfworkflow.reports.site_context import (
    DOCUMENTED,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "reference" / "report-contexts.md"
ROW = re.compile(r"^\| `(?P<field>[a-z_]+)` \| `(?P<type>.+?)` \| (?P<meaning>.+) \|$")


def documented_fields() -> dict[str, list[tuple[str, str]]]:
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
            continue
        match = ROW.match(line)
        if match and current is not None:
            current.append((match["field"], match["type"].replace("\\|", "|")))
    return sections


def test_every_context_class_is_documented_field_by_field_with_its_type() -> None:
    sections = documented_fields()
    for cls in DOCUMENTED:
        code = [(f.name, str(f.type)) for f in dataclasses.fields(cls)]
        assert sections.get(cls.__name__) == code, cls.__name__


def test_the_page_documents_no_class_the_code_does_not_have() -> None:
    names = {cls.__name__ for cls in DOCUMENTED}
    with_fields = {name for name, fields in documented_fields().items() if fields}
    assert with_fields - names == set()


def test_daily_row_derives_rates_gap_and_changes() -> None:
    before = daily_row("lankao", "兰考县", DailyCounts(
        projects=4, due_to_start=4, started=2, planned_investment=1000,
        completed_investment=500), 0.75)
    row = daily_row("lankao", "兰考县", DailyCounts(
        projects=4, due_to_start=4, started=3, planned_investment=1000,
        completed_investment=600, due_to_complete=0), 0.75, before)
    assert row.start_rate == 0.75 and row.start_rate_change_pp == 25.0
    assert row.investment_completion_rate == 0.6
    assert row.pro_rata_gap_pp is not None and round(row.pro_rata_gap_pp, 9) == -15.0
    assert row.investment_completion_rate_change_pp is not None
    assert round(row.investment_completion_rate_change_pp, 9) == 10.0
    assert row.funds_in_place_rate is None and row.funds_in_place_rate_change_pp is None
    assert row.on_time_completion_rate is None


def test_weekly_review_counts_come_from_its_items() -> None:
    review = weekly_review("2022-W46", REVIEW)
    # the province item marked overdue is counted as overdue, not as escalated
    assert (review.resolved, review.closed_out, review.still_open, review.escalated,
            review.overdue) == (1, 1, 1, 1, 1)
    assert [r.outcome for r in REVIEW if r.item.number == "2022-W45-001"] == ["overdue"]
    assert sum((review.resolved, review.closed_out, review.still_open, review.escalated,
                review.overdue)) == len(review.items) == 5


def test_an_escalated_item_is_reviewed_as_it_stood_last_week() -> None:
    [escalated] = [r for r in REVIEW if r.outcome == "escalated"]
    then, now = escalated.item, escalated.current
    assert (then.level, then.recipient, then.lead_units, then.deadline_on, then.days_overdue,
            then.assigned_on) == ("county", "杞县人民政府", ("杞县人民政府",), date(2022, 11, 18),
                                  1, date(2022, 11, 14))
    assert (now.level, now.recipient, now.deadline_on, now.escalated_from) == (
        "city", "市发展改革委、市重点办", date(2022, 11, 28), "county")
    assert escalated.outcome_on == date(2022, 11, 21)
    assert now in NEW_ITEMS  # new at its level in part two


def test_a_recipient_list_keeps_only_its_items_in_every_part() -> None:
    overall = weekly_list()
    # one unit each, county level first (last week's holders, then this week's); the joint
    # recipient 市发展改革委、市重点办 is split; then the units responsible for a slow project
    # (its task force's leads, its 责任单位)
    assert overall.recipients() == (
        "兰考县人民政府", "杞县人民政府", "龙亭区人民政府", "市发展改革委", "市重点办", PROVINCE,
        "龙亭区文化旅游局", "杞县商务局")
    qixian = overall.for_recipient("杞县人民政府")
    assert qixian.recipient == "杞县人民政府"
    # part one: the county item it held last week, escalated to the city this week
    assert [(r.item.number, r.outcome, r.item.level) for r in qixian.review.items] == [
        ("2022-W46-002", "escalated", "county")]
    assert (qixian.review.escalated, qixian.review.still_open) == (1, 0)
    assert [i.number for i in qixian.items] == ["2022-W47-001"]
    assert [p.code for p in qixian.lagging] == ["2201-410221-04-01-000203",
                                                "2201-410221-04-01-000209"]
    # what it holds now: not the escalated item
    assert qixian.open_by_level_status == (LevelStatusCount("county", "new", 1),)
    # 市重点办 is one of the two lead units of the city-level item (recipient
    # 市发展改革委、市重点办) and leads the task force of every slow project; the item was the
    # county's last week, so it is new in part two, not in part one
    city = overall.for_recipient("市重点办")
    assert [r.item.number for r in city.review.items] == []
    assert [i.number for i in city.items] == ["2022-W46-002"]
    assert [p.code for p in city.lagging] == [p.code for p in LAGGING]
    assert city.open_by_level_status == (LevelStatusCount("city", "escalated", 1),)
    province = overall.for_recipient(PROVINCE)
    assert ([(r.item.number, r.outcome) for r in province.review.items],
            [i.number for i in province.items], province.lagging) == (
        [("2022-W45-001", "overdue")], ["2022-W47-002"], ())
    assert (province.review.overdue, province.review.escalated) == (1, 0)
    assert province.open_by_level_status == (LevelStatusCount("province", "new", 1),
                                             LevelStatusCount("province", "overdue", 1))
    bureau = overall.for_recipient("龙亭区文化旅游局")  # a 责任单位: its slow project only
    assert (bureau.review.items, bureau.items) == ((), ())
    assert [p.code for p in bureau.lagging] == ["2201-410202-04-01-000303"]
    assert len(NEW_ITEMS) == 3


def test_items_go_to_their_recipient_its_joint_units_and_lead_units_not_co_operating_units(
        ) -> None:
    joint = NEW_ITEMS[2]  # city level: 市发展改革委、市重点办, co-operating 市生态环境局
    assert joint.recipient_units() == ("市发展改革委", "市重点办")
    units = ("市发展改革委、市重点办", "市发展改革委", "市重点办", "市生态环境局", "杞县人民政府",
             "市")
    assert [joint.addressed_to(unit) for unit in units] == [
        True, True, True, False, False, False]
    # a unit named only in a joint recipient still gets the item
    named_only = dataclasses.replace(joint, lead_units=("市发展改革委",))
    assert named_only.addressed_to("市重点办") is True
    # a county item: its county government; not the task-force leads co-operating on it
    county = dataclasses.replace(NEW_ITEMS[0], cooperating_units=("市发展改革委", "市财政局"))
    assert [u for u in ("杞县人民政府", "杞县财政局", "市发展改革委", "市财政局")
            if county.addressed_to(u)] == ["杞县人民政府"]


SPECIAL_BOND = dataclasses.replace(
    LAGGING[1], code="2201-410225-04-01-000107", name="兰考县污水处理厂项目",
    category="special_bond", category_name="地方政府专项债券项目", county="lankao",
    county_name="兰考县", recipient="兰考县人民政府", responsible_unit="市工业和信息化局",
    lead_units=("市发展改革委", "市财政局"), lag_days=3)


def test_a_city_department_gets_the_slow_projects_of_the_task_forces_it_leads() -> None:
    doc = dataclasses.replace(
        weekly_list(), lagging=(*LAGGING[:2], SPECIAL_BOND),
        units=("兰考县人民政府", "杞县人民政府", "龙亭区人民政府", "市发展改革委", "市财政局",
               "市重点办", "市工业和信息化局", "市住房城乡建设局"))
    assert [SPECIAL_BOND.concerns(u) for u in (
        "兰考县人民政府", "市发展改革委", "市财政局", "市工业和信息化局", "市重点办",
        "杞县人民政府")] == [True, True, True, True, False, False]

    def slow(unit: str) -> list[str]:
        return [p.code for p in doc.for_recipient(unit).lagging]

    both = ["2201-410202-04-01-000303", "2201-410221-04-01-000203"]
    assert slow("市发展改革委") == [*both, "2201-410225-04-01-000107"]  # leads both task forces
    assert slow("市重点办") == both  # one of the two leads of 省市重点项目…专班 only
    assert slow("市财政局") == ["2201-410225-04-01-000107"]  # one of the two leads of 专项债券
    assert slow("市工业和信息化局") == ["2201-410225-04-01-000107"]  # its 责任单位
    assert slow("兰考县人民政府") == ["2201-410225-04-01-000107"]  # its county's
    assert slow("市住房城乡建设局") == []
    # every unit on its own, `units` first (a unit with nothing this week still gets a list)
    assert doc.recipients() == (
        "兰考县人民政府", "杞县人民政府", "龙亭区人民政府", "市发展改革委", "市财政局", "市重点办",
        "市工业和信息化局", "市住房城乡建设局", PROVINCE, "龙亭区文化旅游局", "杞县商务局")
    assert not any("、" in unit for unit in doc.recipients())
    empty = doc.for_recipient("市住房城乡建设局")
    assert (empty.review.items, empty.items, empty.lagging, empty.open_by_level_status) == (
        (), (), (), ())


def test_an_unknown_recipient_is_refused_with_the_closest_units() -> None:
    doc = weekly_list()

    def refused(unit: str) -> InputError:
        with pytest.raises(InputError) as caught:
            recipient_list(doc, unit)
        return caught.value

    error = refused("杞县政府")
    assert str(error) == ("KFW-D005 no 2022-W47 list goes to '杞县政府': it holds no item and is "
                          "responsible for no project (did you mean '杞县人民政府'?)")
    assert [(f.code, f.hint) for f in error.findings] == [
        ("KFW-D005", "did you mean '杞县人民政府'?")]
    assert refused("市发改委").findings[0].hint == "did you mean '市发展改革委'?"
    assert refused("市发展改革委、市重点办").findings[0].hint == (
        "give one unit at a time: '市发展改革委' or '市重点办'")
    # most alike first: 县人民政府 is closest to the shortest name that contains it
    assert refused("县人民政府").findings[0].hint == (
        "did you mean '杞县人民政府', '兰考县人民政府' or '龙亭区人民政府'?")
    assert refused("市教育局").findings[0].hint == (
        "the units with a list are: 兰考县人民政府, 杞县人民政府, 龙亭区人民政府, 市发展改革委, "
        f"市重点办, {PROVINCE}, 龙亭区文化旅游局, 杞县商务局")
    assert recipient_list(doc, "市重点办") == doc.for_recipient("市重点办")


def test_top_and_bottom_never_overlap_and_skip_unranked() -> None:
    def score(rank: int | None, county: str) -> CountyScore:
        return CountyScore(rank, county, county, None if rank is None else 100.0 - rank, (),
                           None, None, 0, 0, None, None)

    rows = [score(2, "b"), score(None, "x"), score(1, "a"), score(3, "c"), score(4, "d")]
    top, bottom = top_and_bottom(rows)
    assert [r.county for r in top] == ["a", "b"] and [r.county for r in bottom] == ["c", "d"]
    top, bottom = top_and_bottom(rows[:1])
    assert top == () and bottom == ()
    assert date(2022, 11, 21).isoweekday() == 1
