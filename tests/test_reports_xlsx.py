"""Documents as XLSX, read back with openpyxl cell by cell."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from reports_fixtures import NEW_ITEMS, daily_bulletin, monthly_ranking, weekly_list

from kfworkflow.reports.output import write_document
from kfworkflow.reports.render import Renderer

TITLE = "开封市稳经济重要项目集中攻坚行动"
ORGANISATION = "开封市稳经济重要项目集中攻坚行动领导小组办公室"
META = f"截至 2022年11月21日 · {ORGANISATION} · 规则版本 r3 · 调度批次 #42"
WEEKLY_TITLE = f"{TITLE} 周交办单 · 2022年第47周（11月21日—11月27日） · 总表"


def rows(path: Path, sheet: int, heading: int = 0) -> list[list[object]]:
    """The rows of a sheet, ``heading`` title rows above its header left out."""
    workbook = load_workbook(path)
    worksheet = workbook.worksheets[sheet]
    return [list(r) for r in worksheet.iter_rows(min_row=heading + 1, values_only=True)]


def title_rows(path: Path, sheet: int, count: int) -> list[object]:
    """The first cell of each of the first ``count`` rows (the other cells are empty)."""
    worksheet = load_workbook(path).worksheets[sheet]
    lines = [list(r) for r in worksheet.iter_rows(max_row=count, values_only=True)]
    assert all(v is None for line in lines for v in line[1:]), lines
    return [line[0] for line in lines]


def approx(values: list[object]) -> list[object]:
    return [pytest.approx(v) if isinstance(v, float) else v for v in values]


def test_daily_workbook_cell_by_cell(tmp_path: Path) -> None:
    path = write_document(daily_bulletin(), "xlsx", tmp_path / "daily.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["分县区汇总", "分类别分县区情况", "未填报县区"]
    sheet = workbook["分县区汇总"]
    # what the workbook is, above the header: title and date, meta line, the bulletin's note
    assert title_rows(path, 0, 3) == [
        f"{TITLE} 日调度通报 · 2022年11月21日", META,
        "序时进度 87.5% · 对比日期 2022-11-20 · 金额单位：万元；比率变化单位：百分点"]
    assert sheet["A1"].font.b and sheet["A1"].font.sz == 14
    assert sheet["A4"].value == "县区" and sheet["A4"].font.b
    # the header row (4) stays in view and is repeated on each printed page
    assert sheet.freeze_panes == "A5"
    # printed A4 landscape, one page wide, the header row on every page
    assert (sheet.page_setup.paperSize, sheet.page_setup.orientation) == (9, "landscape")
    assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
    assert sheet.sheet_properties.pageSetUpPr.fitToPage is True
    assert sheet.print_title_rows == "$4:$4"
    # the title at the top left of each printed page, "page x of y" at the bottom right
    assert sheet.oddHeader.left.text == f"{TITLE} 日调度通报 · 2022年11月21日"
    assert sheet.oddFooter.right.text == "第 &P 页，共 &N 页"
    properties = workbook.properties
    assert (properties.title, properties.subject, properties.creator, properties.description
            ) == (f"{TITLE} 日调度通报 · 2022年11月21日", "2022年11月21日 · 调度批次 #42",
                  ORGANISATION, META)
    header, lankao, qixian, longting, total = rows(path, 0, 3)
    assert header == [
        "县区", "项目数", "应开工项目数", "已开工项目数", "项目开工率", "项目开工率较上日",
        "计划投资（万元）", "完成投资（万元）", "投资完成率", "较序时（百分点）",
        "投资完成率较上日", "计划资金（万元）", "到位资金（万元）", "资金到位率",
        "资金到位率较上日", "应竣工项目数", "按期竣工项目数", "按期竣工率", "按期竣工率较上日",
        "红灯", "黄灯", "绿灯"]
    # 兰考县: started 4 of 5 (3 of 5 the day before), 11,000 of 17,000 invested against a
    # pro-rata target of 87.5 %, 10,000 of 12,000 funds, 1 of 1 completed on time.
    assert lankao == approx(["兰考县", 6, 5, 4, 0.8, 20.0, 17000, 11000, 11000 / 17000,
                             (11000 / 17000 - 0.875) * 100, (11000 / 17000 - 10400 / 17000) * 100,
                             12000, 10000, 10000 / 12000, 0, 1, 1, 1, 0, 1, 1, 4])
    assert qixian[:5] == ["杞县", 4, 4, 3, 0.75]
    # 龙亭区 has nothing due to complete: the rate and its change are empty cells
    assert longting[15:19] == [0, 0, None, None]
    assert total == approx(["合计", 13, 10, 7, 0.7, 10.0, 33500, 21200, 21200 / 33500,
                            (21200 / 33500 - 0.875) * 100, (21200 / 33500 - 20600 / 33500) * 100,
                            23000, 14000, 14000 / 23000, 0, 2, 1, 0.5, 0, 4, 2, 7])
    formats = [sheet.cell(row=5, column=c).number_format for c in range(2, 11)]
    assert formats == ["0", "0", "0", "0.0%", "+0.0;-0.0;0.0", "#,##0", "#,##0", "0.0%",
                       "+0.0;-0.0;0.0"]
    assert sheet.column_dimensions["A"].width >= 8
    assert title_rows(path, 1, 3) == title_rows(path, 0, 3)
    assert workbook["分类别分县区情况"].freeze_panes == "A5"
    by_category = rows(path, 1, 3)
    assert [r[:3] for r in by_category] == [
        ["项目类别", "县区", "项目数"],
        ["省市重点项目", "兰考县", 4], ["省市重点项目", "杞县", 3], ["省市重点项目", "龙亭区", 2],
        ["省市重点项目", "合计", 9],
        ["地方政府专项债券项目", "兰考县", 2], ["地方政府专项债券项目", "杞县", 1],
        ["地方政府专项债券项目", "龙亭区", 1], ["地方政府专项债券项目", "合计", 4]]
    assert rows(path, 2) == [[f"{TITLE} 日调度通报 · 2022年11月21日", None, None],
                             [META, None, None],
                             ["县区", "连续未报（工作日）", "最近填报日期"],
                             ["龙亭区", 2, datetime(2022, 11, 17)]]
    missing = workbook["未填报县区"]
    assert (missing.freeze_panes, missing.print_title_rows) == ("A4", "$3:$3")


def test_weekly_workbook_has_one_sheet_per_part(tmp_path: Path) -> None:
    path = write_document(weekly_list(), "xlsx", tmp_path / "weekly.xlsx", lang="en")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["Last week's items", "New items", "Slow projects"]
    title = f"{TITLE} Weekly assignment list · Week 47 of 2022 (21 Nov – 27 Nov) · Overall list"
    assert title_rows(path, 0, 4)[:3] == [
        title,
        f"As of 21 November 2022 · {ORGANISATION} · Rule revision r3 · Pass run #42",
        "1. Last week's items"]  # then the count line: test_the_workbook_counts_overdue_items
    assert workbook.worksheets[0].oddFooter.right.text == "Page &P of &N"
    assert workbook.properties.subject == (
        "Week 47 of 2022 (21 Nov – 27 Nov) · Overall list · As of 2022-11-21 · Pass run #42")
    review = rows(path, 0, 4)
    # the columns, each once: level, lead units, co-operating units, responsible
    # person (no 承办单位 column repeating the lead units); days in working days; the light
    # is the project's
    assert review[0] == [
        "Outcome", "No.", "Assigned", "Project code", "Project", "Category", "County", "Problem",
        "Type", "Level", "Lead units", "Co-operating units", "Responsible person", "Deadline",
        "Workdays overdue", "Status", "Project light", "Reason", "This week's progress"]
    # part one: an item as it stood last week, with its outcome: the county item escalated
    # on 11-21, 1 working day past its county deadline; the province item marked overdue
    assert review[3] == [
        "Escalated → City (市发展改革委、市重点办, due 2022-11-28)", "2022-W46-002",
        datetime(2022, 11, 14), "2201-410221-04-01-000202",
        "杞县大蒜深加工项目", "省市重点项目", "杞县", "环评批复未取得", "前期手续", "County",
        "杞县人民政府", "市发展改革委, 市重点办", "李娜", datetime(2022, 11, 18), 1, "Escalated",
        "Red", "前期手续问题需县级协调解决", None]
    assert [review[1][i] for i in (0, 1, 9, 14, 15)] == [
        "Still open, overdue", "2022-W45-001", "Province (escalated from city)", 5, "Overdue"]
    new = rows(path, 1, 3)
    assert new[0] == review[0][1:]
    assert [r[0] for r in new] == ["No.", "2022-W47-001", "2022-W47-002", "2022-W46-002"]
    # part three: the three kinds of lag in one table, each row with the columns that mean
    # something for its kind (below the part's heading and a note per kind)
    lagging = rows(path, 2, 6)
    assert lagging[0] == [
        "Lagging on", "Project code", "Project", "Category", "County", "Recipient",
        "Responsible unit", "Late milestone", "Planned", "Workdays late",
        "Investment completion rate", "vs pro-rata (pp)", "Lit for", "Disbursement rate",
        "Colour"]
    assert lagging[1] == approx([
        "(a) Late milestones", "2201-410202-04-01-000303", "龙亭区文旅综合体项目", "省市重点项目",
        "龙亭区", "龙亭区人民政府", "龙亭区文化旅游局", "开工", datetime(2022, 11, 1), 20, 0.25,
        -62.5, None, None, "Red"])
    assert [r[0] for r in lagging[1:]] == [
        "(a) Late milestones", "(a) Late milestones",
        "(b) Investment behind the pro-rata target", "(c) Other red and yellow lights"]
    # no milestone columns where no milestone is late; what is lit, where it is not one
    assert lagging[3][7:10] == [None, None, None] and lagging[3][12:14] == [None, None]
    assert lagging[4][7:10] == [None, None, None] and lagging[4][12] == "Disbursement"


def test_weekly_workbook_headers_in_chinese(tmp_path: Path) -> None:
    path = write_document(weekly_list(), "xlsx", tmp_path / "weekly.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["上周交办事项", "本周新交办事项", "进度滞后项目"]
    # part one's heading, as in the md/html list, above its table (its count line:
    # test_the_workbook_counts_overdue_items)
    assert title_rows(path, 0, 4)[:3] == [WEEKLY_TITLE, META, "一、上周交办事项办理情况"]
    markdown = Renderer("zh").document(weekly_list(), "md")
    assert title_rows(path, 0, 4)[2] in markdown
    assert title_rows(path, 1, 3) == [WEEKLY_TITLE, META, "二、本周新交办事项"]
    assert title_rows(path, 2, 3) == [WEEKLY_TITLE, META, "三、进度缓慢及滞后项目"]
    for sheet, header in zip(workbook.worksheets, (5, 4, 7), strict=True):
        assert (sheet.freeze_panes, sheet.print_title_rows) == (
            f"A{header + 1}", f"${header}:${header}")
        assert sheet.oddHeader.left.text == WEEKLY_TITLE
    properties = workbook.properties
    assert (properties.title, properties.subject, properties.creator) == (
        WEEKLY_TITLE,
        "2022年第47周（11月21日—11月27日） · 总表 · 截至 2022-11-21 · 调度批次 #42",
        ORGANISATION)
    assert rows(path, 0, 4)[0] == [
        "办理结果", "编号", "交办日期", "项目代码", "项目名称", "项目类别", "县区", "存在问题",
        "问题类型", "协调层级", "牵头单位", "配合单位", "责任人", "办结时限", "超期（工作日）",
        "状态", "项目颜色", "交办事由", "本周进展"]
    # the province-level item: its lead unit is the province mechanism, its light the
    # project's (red here), its status says whether it is overdue
    province = rows(path, 1, 3)[2]
    assert province[8:11] + province[13:16] == [
        "省级", "省稳经济重要项目集中攻坚行动协调机制", "市自然资源和规划局", 0, "新交办", "红灯"]
    assert rows(path, 2, 6)[0] == [
        "滞后类型", "项目代码", "项目名称", "项目类别", "县区", "承办单位", "责任单位", "滞后节点",
        "计划日期", "滞后（工作日）", "投资完成率", "较序时（百分点）", "亮灯方面", "资金拨付率",
        "颜色"]
    assert rows(path, 2, 6)[2][5:7] == ["杞县人民政府", "杞县商务局"]


def test_the_workbook_counts_overdue_items(tmp_path: Path) -> None:
    path = write_document(weekly_list(), "xlsx", tmp_path / "weekly.xlsx")
    line = "上周交办事项 5 项：已办结 1 项，已销号 1 项，仍在办理 1 项，已升级 1 项，已超期 1 项。"
    assert title_rows(path, 0, 4)[3] == line
    assert line in Renderer("zh").document(weekly_list(), "md")


def test_a_recipient_workbook_names_its_recipient(tmp_path: Path) -> None:
    doc = weekly_list().for_recipient("杞县人民政府")
    path = write_document(doc, "xlsx", tmp_path / "weekly.xlsx")
    title = f"{TITLE} 周交办单（杞县人民政府） · 2022年第47周（11月21日—11月27日）"
    assert title_rows(path, 0, 1) == [title]
    workbook = load_workbook(path)
    assert workbook.worksheets[2].oddHeader.left.text == title
    assert workbook.properties.subject == (
        "2022年第47周（11月21日—11月27日） · 承办单位：杞县人民政府 · 截至 2022-11-21 · "
        "调度批次 #42")


def test_an_empty_part_says_so_and_an_ampersand_prints(tmp_path: Path) -> None:
    doc = dataclasses.replace(weekly_list(), items=(), lagging=(),
                              info=dataclasses.replace(weekly_list().info, title="R&D"))
    path = write_document(doc, "xlsx", tmp_path / "weekly.xlsx")
    assert title_rows(path, 1, 4)[2:] == ["二、本周新交办事项", "无"]
    assert rows(path, 1, 4) == [rows(path, 0, 4)[0][1:]]
    # in a printed header & starts a code: a literal one is doubled
    assert load_workbook(path).worksheets[0].oddHeader.left.text.startswith("R&&D 周交办单")


def test_no_units_print_as_the_list_prints_them(tmp_path: Path) -> None:
    """An item with no co-operating unit: an em dash in the workbook, as in the printed list
    (one formatting function serves both)."""
    item = dataclasses.replace(NEW_ITEMS[0], cooperating_units=())
    doc = dataclasses.replace(weekly_list(), items=(item,))
    path = write_document(doc, "xlsx", tmp_path / "weekly.xlsx")
    [_, row] = rows(path, 1, 3)
    assert (row[9], row[10]) == ("杞县人民政府", "—")
    markdown = Renderer("zh").document(doc, "md")
    assert f"| 杞县人民政府 | — | {item.responsible_person} |" in markdown


def test_formula_looking_user_text_is_neutralised(tmp_path: Path) -> None:
    item = dataclasses.replace(NEW_ITEMS[0], project_name="=HYPERLINK(\"http://x\",\"y\")",
                               problem="+86 13800000000", reason="-1+1", progress="@SUM(A1)")
    doc = dataclasses.replace(weekly_list(), items=(item,))
    path = write_document(doc, "xlsx", tmp_path / "weekly.xlsx")
    [_, row] = rows(path, 1, 3)
    assert row[3] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert row[6] == "'+86 13800000000"
    assert (row[16], row[17]) == ("'-1+1", "'@SUM(A1)")
    sheet = load_workbook(path).worksheets[1]
    assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)


def test_monthly_workbook_cell_by_cell(tmp_path: Path) -> None:
    path = write_document(monthly_ranking(), "xlsx", tmp_path / "monthly.xlsx")
    workbook = load_workbook(path)
    assert workbook.sheetnames == ["综合排名", "综合得分走势", "总体情况"]
    title = f"{TITLE} 2022年11月 月度排名通报 · 期间 2022-11-01 — 2022-11-30"
    meta = f"截至 2022年11月30日 · {ORGANISATION} · 规则版本 r3 · 调度批次 #42"
    assert title_rows(path, 0, 3) == [
        title, meta, "得分权重：资金到位率 25%、项目开工率 25%、投资完成率 30%、按期竣工率 20%"]
    assert (workbook.properties.title, workbook.properties.subject) == (
        title, "期间 2022-11-01 — 2022-11-30 · 截至 2022-11-30 · 调度批次 #42")
    header, first, second, third = rows(path, 0, 3)
    assert header == ["名次", "县区", "综合得分", "资金到位率", "资金到位率 得分", "项目开工率",
                      "项目开工率 得分", "投资完成率", "投资完成率 得分", "按期竣工率",
                      "按期竣工率 得分", "上期名次", "名次变化", "交办事项", "已销号", "销号率",
                      "颜色"]
    assert first == approx([1, "兰考县", 76.75, 0.75, 18.75, 0.8, 20, 0.6, 18, 1, 20, 2, 1, 2, 1,
                            0.5, "绿灯"])
    assert second[:3] == [2, "杞县", 55.25] and second[12] == -1
    assert third == approx([3, "龙亭区", 7.5, 0, 0, 0, 0, 0.2, 7.5, None, None, 3, 0, 2, 0, 0,
                            "红灯"])
    assert rows(path, 1, 2) == [["县区", "2022-09", "2022-10", "2022-11"],
                             ["兰考县", 61.2, 70.5, 76.75], ["杞县", 66, 71, 55.25],
                             ["龙亭区", None, 12, 7.5]]
    assert title_rows(path, 2, 4) == [
        title, meta, "本期交办事项 7 项，已销号 2 项，销号率 28.6%。",
        "龙亭区本期排名末位，请在下次调度会上作表态发言。"]
    assert rows(path, 2, 4) == approx([
        ["指标", "内容"], ["期间", "2022年11月"], ["交办事项", 7], ["已销号", 2],
        ["销号率", 2 / 7], ["末位表态", "龙亭区"], ["提醒约谈", "龙亭区"], ["排名靠前", "兰考县"],
        ["排名靠后", "龙亭区"]])
    summary = workbook["总体情况"]
    # the closure rate is a number shown as a percentage, the counts whole numbers
    assert [summary[f"B{r}"].number_format for r in range(6, 10)] == [
        "General", "0", "0", "0.0%"]
    assert summary["B9"].data_type == "n"
    assert (summary.freeze_panes, summary.print_title_rows) == ("A6", "$5:$5")
