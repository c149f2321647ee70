"""The report contexts and their reference page agree, and the context helpers add up."""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

from reports_fixtures import NEW_ITEMS, REVIEW, weekly_list

from kfworkflow.reports.context import (
    DOCUMENTED,
    CountyScore,
    DailyCounts,
    LevelStatusCount,
    daily_row,
    top_and_bottom,
    weekly_review,
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
    assert (review.resolved, review.closed_out, review.still_open, review.escalated) == (
        1, 1, 1, 1)


def test_a_recipient_list_keeps_only_its_items_in_every_part() -> None:
    overall = weekly_list()
    assert overall.recipients() == (
        "兰考县人民政府", "兰考县自然资源局", "龙亭区人民政府", "杞县人民政府", "杞县财政局",
        "市发展改革委、市重点办", "市发展改革委", "市重点办", "市生态环境局",
        "省稳经济重要项目集中攻坚行动协调机制", "市自然资源和规划局")
    qixian = overall.for_recipient("杞县人民政府")
    assert qixian.recipient == "杞县人民政府"
    assert [r.item.number for r in qixian.review.items] == []
    assert [i.number for i in qixian.items] == ["2022-W47-001"]
    assert [p.code for p in qixian.lagging] == ["2201-410221-04-01-000203"]
    assert qixian.open_by_level_status == (LevelStatusCount("county", "new", 1),)
    city = overall.for_recipient("市重点办")
    assert [r.item.number for r in city.review.items] == ["2022-W46-002"]
    assert (city.review.escalated, city.review.still_open) == (1, 0)
    assert [i.number for i in city.items] == ["2022-W46-002"]
    assert city.lagging == ()
    assert city.open_by_level_status == (LevelStatusCount("city", "escalated", 1),)
    assert len(NEW_ITEMS) == 3


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
