"""Rendering the documents: golden files, errors located in templates, user overrides, escaping."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from reports_fixtures import NEW_ITEMS, daily_bulletin, monthly_ranking, weekly_list

from kfworkflow.errors import ConfigError, InputError
from kfworkflow.reports.context import Document
from kfworkflow.reports.output import write_document
from kfworkflow.reports.render import TEMPLATES, Renderer, ReportTemplateError

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("KFW_UPDATE_GOLDEN") == "1"
DOCUMENTS: dict[str, Callable[[], Document]] = {
    "daily": daily_bulletin, "weekly": weekly_list, "monthly": monthly_ranking}


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with KFW_UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from its golden file; if the change is intended, run with "
        "KFW_UPDATE_GOLDEN=1 and review the diff")


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("fmt", ["md", "html"])
@pytest.mark.parametrize("kind", list(DOCUMENTS))
def test_documents_match_their_golden_files(kind: str, fmt: str, lang: str) -> None:
    check_golden(f"{kind}.{lang}.{fmt}", Renderer(lang).document(DOCUMENTS[kind](), fmt))


def test_the_daily_markdown_shows_the_hand_worked_figures() -> None:
    text = Renderer("zh").document(daily_bulletin(), "md")
    assert ("| 兰考县 | 6 | 4/5 | 80.0% | +20.0 | 11,000/17,000 | 64.7% | -22.8 | +3.5 | "
            "10,000/12,000 | 83.3% | 0.0 | 1/1 | 100.0% | 0.0 | 1/1/4 |") in text
    assert ("| **合计** | 13 | 7/10 | 70.0% | +10.0 | 21,200/33,500 | 63.3% | -24.2 | +1.8 | "
            "14,000/23,000 | 60.9% | 0.0 | 1/2 | 50.0% | 0.0 | 4/2/7 |") in text
    assert "| 龙亭区 | 1 | 0/0 | — | — | 0/1,500 | 0.0% | -87.5 | 0.0 | 0/0 | — | — |" in text
    assert "| 龙亭区 | 2 | 2022-11-17 |" in text


def test_the_ranking_shows_scores_as_the_engine_computes_them() -> None:
    text = Renderer("en").document(monthly_ranking(), "md")
    assert "| 1 | 兰考县 | 76.75 | 75.0% | 18.75 | 80.0% | 20.00 |" in text
    assert "| 3 | 龙亭区 | 7.50 | 0.0% | 0.00 | 0.0% | 0.00 | 20.0% | 7.50 | — | — | 3 | – |" in (
        text)
    assert "龙亭区 ranks last this period" in text
    assert "7 items assigned in the period, 2 closed out: a closure rate of 28.6%." in text


def test_a_recipient_list_is_titled_for_its_recipient() -> None:
    text = Renderer("zh").document(weekly_list().for_recipient("杞县人民政府"), "md")
    assert text.startswith("# 开封市稳经济重要项目集中攻坚行动 周交办单（杞县人民政府）\n")
    assert "上周交办事项 1 项" in text and "2022-W47-001" in text and "2022-W47-002" not in text


def test_part_one_shows_last_weeks_item_and_what_became_of_it() -> None:
    """The county item escalated this week is listed as the county held it (县级, 杞县人民政府,
    due 11-18, 1 working day overdue at the escalation), its outcome naming the new level,
    holder and deadline; part two lists it new at the city, escalated from the county. The
    province item marked overdue is still open and overdue, counted apart."""
    md = Renderer("zh").document(weekly_list(), "md")
    part_one, part_two = md.split("## 二、本周新交办事项")
    assert ("上周交办事项 5 项：已办结 1 项，已销号 1 项，仍在办理 1 项，已升级 1 项，已超期 1 项。"
            ) in part_one
    assert ("| 已升级 → 市级（市发展改革委、市重点办，2022-11-28 前办结） "
            "| 2022-W46-002 | 2022-11-14 | 杞县大蒜深加工项目 | 省市重点项目 | 杞县 "
            "| 环评批复未取得 | 前期手续 | 县级 | 杞县人民政府 | 市发展改革委、市重点办 | 李娜 "
            "| 2022-11-18 | 1 | 已升级 | 红灯 | 前期手续问题需县级协调解决 | — |") in part_one
    assert ("| 仍在办理（已超期） | 2022-W45-001 | 2022-11-07 | 龙亭区宋都古城保护项目 "
            "| 省市重点项目 | 龙亭区 | 文物勘探未完成 | 前期手续 | 省级（由市级升级） |"
            ) in part_one
    assert "| 2022-11-14 | 5 | 已超期 | 红灯 |" in part_one
    assert ("| 2022-W46-002 | 2022-11-21 | 杞县大蒜深加工项目 | 省市重点项目 | 杞县 "
            "| 环评批复未取得 | 前期手续 | 市级（由县级升级） | 市发展改革委、市重点办 "
            "| 市生态环境局 | 李娜 | 2022-11-28 | 0 | 已升级 |") in part_two
    en = Renderer("en").document(weekly_list(), "md")
    assert ("5 items from last week: 1 resolved, 1 closed out, 1 still open, 1 escalated, "
            "1 overdue.") in en
    assert "| Escalated → City (市发展改革委、市重点办, due 2022-11-28) | 2022-W46-002 |" in en
    assert "| Still open, overdue | 2022-W45-001 |" in en
    assert "| City (escalated from county) |" in en
    html = Renderer("zh").document(weekly_list(), "html")
    assert ('<tr><td class="c">已升级 → 市级<br><span class="note">市发展改革委、市重点办，'
            '2022-11-28 前办结</span></td><td class="c nw">2022-W46-002</td>') in html
    assert '<td class="c">市级<br><span class="note">由县级升级</span></td>' in html
    assert '<tr><td class="c">仍在办理（已超期）</td><td class="c nw">2022-W45-001</td>' in html


def test_part_three_shows_each_kind_of_lag_with_its_own_columns() -> None:
    md = Renderer("zh").document(weekly_list(), "md")
    part_three = md[md.index("## 三、进度缓慢及滞后项目"):]
    milestone, investment, other = part_three.split("### ")[1:]
    assert milestone.startswith("（一）节点滞后") and "| 开工 | 2022-11-01 | 20 |" in milestone
    assert investment.startswith("（二）投资进度滞后")
    assert ("| 项目名称 | 项目代码 | 项目类别 | 县区 | 承办单位 | 责任单位 | 投资完成率 "
            "| 较序时（百分点） | 颜色 |") in investment
    assert ("| 兰考县现代物流园项目 | 2201-410225-04-01-000108 | 省市重点项目 | 兰考县 "
            "| 兰考县人民政府 | 兰考县人民政府 | 78.0% | -9.5 | 黄灯 |") in investment
    assert other.startswith("（三）其他红黄灯项目")
    assert ("| 亮灯方面 | 投资完成率 | 较序时（百分点） | 资金拨付率 | 颜色 |") in other
    assert "| 杞县人民政府 | 资金拨付 | 90.0% | +2.5 | 40.0% | 红灯 |" in other
    assert "滞后节点" not in investment + other and "| — | — | 0 |" not in part_three
    html = Renderer("en").document(weekly_list(), "html")
    assert html.count("<h3>") == 3 and "<h3>(b) Investment behind the pro-rata target</h3>" in html
    assert '<table class="lagging-other">' in html and "<td class=\"c\">Disbursement</td>" in html
    # a list with one kind only says 无 under the others
    bureau = Renderer("zh").document(weekly_list().for_recipient("龙亭区文化旅游局"), "md")
    assert bureau.count("\n无\n") == 3  # part two, (二) and (三)


def test_weekly_headers_say_working_days_and_whose_light_it_is() -> None:
    md = Renderer("zh").document(weekly_list(), "md")
    assert ("| 编号 | 交办日期 | 项目名称 | 项目类别 | 县区 | 存在问题 | 问题类型 | 协调层级 "
            "| 牵头单位 | 配合单位 | 责任人 | 办结时限 | 超期（工作日） | 状态 | 项目颜色 "
            "| 交办事由 | 本周进展 |") in md
    # part three names who must act (承办单位) beside the project's responsible unit
    assert ("| 项目名称 | 项目代码 | 项目类别 | 县区 | 承办单位 | 责任单位 | 滞后节点 | 计划日期 "
            "| 滞后（工作日） | 投资完成率 | 较序时（百分点） | 颜色 |") in md
    assert ("| 龙亭区文旅综合体项目 | 2201-410202-04-01-000303 | 省市重点项目 | 龙亭区 "
            "| 龙亭区人民政府 | 龙亭区文化旅游局 | 开工 | 2022-11-01 | 20 | 25.0% | -62.5 "
            "| 红灯 |") in md
    assert "超期天数" not in md and "滞后天数" not in md
    en = Renderer("en").document(weekly_list(), "md")
    assert ("| Deadline | Workdays overdue | Status | Project light | Reason |") in en
    assert ("| County | Recipient | Responsible unit | Late milestone | Planned | Workdays late |"
            ) in en




def test_weekly_html_part_three_has_the_recipient_column() -> None:
    html = Renderer("zh").document(weekly_list(), "html")
    part_three = html[html.index("三、进度缓慢及滞后项目"):]
    assert ("<th>项目名称</th><th>项目类别</th><th>县区</th><th>承办单位</th><th>责任单位</th>"
            "<th>滞后节点</th><th>计划日期</th><th>滞后（工作日）</th>") in part_three
    assert ("<td>省市重点项目</td><td>杞县</td><td>杞县人民政府</td><td>杞县商务局</td>"
            ) in part_three
    head = html[html.index('<table id="new-items">'):]
    assert "<th>超期（工作日）</th><th>状态</th><th>项目颜色</th>" in head
    en = Renderer("en").document(weekly_list(), "html")
    assert "<th>Workdays overdue</th><th>Status</th><th>Project light</th>" in en
    assert "<th>County</th><th>Recipient</th><th>Responsible unit</th>" in en


# ------------------------------------------------------------------ escaping


def hostile_weekly() -> Document:
    item = dataclasses.replace(NEW_ITEMS[0], project_name="<script>alert(1)</script>",
                               problem="a | b *c* [x](javascript:alert(1))",
                               reason="=HYPERLINK(\"http://x\")")
    return dataclasses.replace(weekly_list(), items=(item,))


def test_user_text_is_text_in_html() -> None:
    html = Renderer("zh").document(hostile_weekly(), "html")
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()


def test_user_text_is_text_in_markdown() -> None:
    text = Renderer("zh").document(hostile_weekly(), "md")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert r"a \| b \*c\* \[x\](javascript:alert(1))" in text


def test_chart_labels_are_escaped() -> None:
    doc = daily_bulletin()
    counties = (dataclasses.replace(doc.counties[0], name="<b>兰考</b>"), *doc.counties[1:])
    html = Renderer("zh").document(dataclasses.replace(doc, counties=counties), "html")
    assert "<b>兰考</b>" not in html and "&lt;b&gt;兰考&lt;/b&gt;" in html


# ------------------------------------------------------------------ template errors


def user_templates(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        path = folder / name.replace("__", "/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def render_error(folder: Path, fmt: str = "md") -> ReportTemplateError:
    with pytest.raises(ReportTemplateError) as caught:
        Renderer("zh", folder).document(daily_bulletin(), fmt)
    return caught.value


def test_an_undefined_variable_is_an_error_at_its_line(tmp_path: Path) -> None:
    folder = user_templates(tmp_path, **{"daily.md.j2": "# {{ doc.info.title }}\n\n"
                                                        "{{ doc.info.titel }}\n"})
    error = render_error(folder)
    [finding] = error.findings
    assert (finding.code, finding.file, finding.line) == (
        "KFW-D001", str(folder / "daily.md.j2"), 3)
    assert finding.message == ("undefined variable: 'kfworkflow.reports.context.DocumentInfo "
                               "object' has no attribute 'titel'")
    assert finding.hint == ("the fields of each context are listed in "
                            "docs/reference/report-contexts.md")
    assert str(error) == str(finding)
    assert isinstance(error, ConfigError)


def test_an_unknown_name_and_an_unknown_message_are_errors(tmp_path: Path) -> None:
    error = render_error(user_templates(tmp_path, **{"daily.md.j2": "{{ bulletin }}\n"}))
    assert (error.findings[0].message, error.findings[0].line) == (
        "undefined variable: 'bulletin' is undefined", 1)
    error = render_error(user_templates(tmp_path, **{"daily.md.j2": "x\n{{ t.daily_titel }}"}))
    assert error.findings[0].message.startswith("undefined variable: ")
    assert "daily_titel" in error.findings[0].message and error.findings[0].line == 2


def test_an_error_inside_an_imported_macro_points_at_the_macro(tmp_path: Path) -> None:
    folder = user_templates(tmp_path, **{
        "daily.md.j2": '{% import "mine.md.j2" as mine %}\n{{ mine.row(doc.total) }}\n',
        "mine.md.j2": "{% macro row(r) %}\n{{ r.name }} {{ r.nope }}\n{% endmacro %}\n"})
    finding = render_error(folder).findings[0]
    assert (finding.code, finding.file, finding.line) == (
        "KFW-D001", str(folder / "mine.md.j2"), 2)


def test_a_syntax_error_is_located(tmp_path: Path) -> None:
    folder = user_templates(tmp_path, **{"daily.html.j2": "<p>\n{% if doc %}\n</p>\n"})
    finding = render_error(folder, "html").findings[0]
    assert (finding.code, finding.file, finding.line) == (
        "KFW-D002", str(folder / "daily.html.j2"), 3)
    assert finding.message.startswith("template syntax error: Unexpected end of template.")


def test_a_missing_template_names_the_folders_searched(tmp_path: Path) -> None:
    folder = user_templates(tmp_path, **{"daily.md.j2": '{% include "nope.md.j2" %}'})
    finding = render_error(folder).findings[0]
    assert (finding.code, finding.message) == ("KFW-D003", "no template named 'nope.md.j2'")
    assert finding.hint == f"looked in {folder}, {TEMPLATES}"


def test_the_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    folder = user_templates(tmp_path, **{"daily.md.j2": "\n{{ doc.__class__ }}\n"})
    finding = render_error(folder).findings[0]
    assert (finding.code, finding.line, finding.message) == (
        "KFW-D004", 2, "the template sandbox refused: access to attribute '__class__' of "
        "'DailyBulletin' object is unsafe.")
    folder = user_templates(tmp_path, **{"daily.md.j2": "{{ doc.total.name.format.__self__ }}"})
    finding = render_error(folder).findings[0]
    assert (finding.code, finding.line) == ("KFW-D001", 1)
    assert finding.message == "undefined variable: 'function object' has no attribute '__self__'"


def test_a_failing_expression_is_located(tmp_path: Path) -> None:
    folder = user_templates(tmp_path, **{"daily.md.j2": "\n\n{{ 1 / doc.total.due_to_complete "
                                                        "* 0 / 0 }}"})
    finding = render_error(folder).findings[0]
    assert (finding.code, finding.line) == ("KFW-D004", 3)
    assert finding.message == "the template failed: ZeroDivisionError: float division by zero"


# ------------------------------------------------------------------ overrides and options


def test_a_workspace_template_overrides_the_shipped_one(tmp_path: Path) -> None:
    folder = user_templates(tmp_path, **{
        "daily.md.j2": "本市 {{ doc.total.projects }} 个项目，"
                       "开工率 {{ doc.total.start_rate | pct }}\n",
        "layout.html.j2": "<html><body>{% block body %}{% endblock %}<footer>自定义页脚</footer>"
                          "</body></html>"})
    renderer = Renderer("zh", folder)
    assert renderer.document(daily_bulletin(), "md") == "本市 13 个项目，开工率 70.0%\n"
    html = renderer.document(daily_bulletin(), "html")
    assert html.endswith("<footer>自定义页脚</footer></body></html>")
    assert "<h2>分县区汇总</h2>" in html  # the shipped daily.html.j2 inside the user's layout
    assert Renderer("zh", tmp_path / "absent").document(daily_bulletin(), "md").startswith(
        "# 开封市稳经济重要项目集中攻坚行动 日调度通报")


def test_the_layout_uses_the_window_on_screen_and_prints_dense() -> None:
    """On screen nothing caps the page at 277 mm (wide tables use the window; paragraphs keep
    a readable measure); headers break only between words; printed, tables are set small and
    tight so that the weekly list's hundreds of rows take as few pages as can be read."""
    html = Renderer("zh").document(weekly_list(), "html")
    css = html[html.index("<style>"):html.index("</style>")]
    screen, printed = css.split("@media print {")
    assert "277mm" not in css and "body { margin: 0; padding: 6mm 4mm; }" in screen
    assert "p { margin: 1mm 0 2mm; max-width: 60em; }" in screen
    # every header, whichever table it heads: a CJK header breaks only at its bracket
    assert ("th { background: #eaf0f7; font-weight: bold; text-align: center; "
            "vertical-align: middle; word-break: keep-all; overflow-wrap: normal; "
            "min-width: 2.5em; }") in screen
    assert "table { font-size: 7.5pt; line-height: 1.25; margin-bottom: 3mm; }" in printed
    assert "table.wide { font-size: 7pt; }" in printed
    assert "th, td, table.wide th, table.wide td { padding: 0.3mm 0.6mm; }" in printed
    assert "@page { size: A4 landscape;" in css


def test_english_and_unknown_languages() -> None:
    assert Renderer("en").document(daily_bulletin(), "md").startswith(
        "# 开封市稳经济重要项目集中攻坚行动 Daily bulletin\n\nAs of 21 November 2022")
    with pytest.raises(InputError) as caught:
        Renderer("fr")
    assert str(caught.value) == "unknown report language 'fr'; expected one of zh, en"


def test_write_document_refuses_unknown_formats_and_missing_folders(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        write_document(daily_bulletin(), "pdf", tmp_path / "x.pdf")
    assert str(caught.value) == "unknown report format 'pdf'; expected one of md, html, xlsx"
    with pytest.raises(InputError) as caught:
        write_document(daily_bulletin(), "md", tmp_path / "no" / "x.md")
    assert str(caught.value) == (f"{tmp_path / 'no' / 'x.md'}: cannot write: folder "
                                 f"{tmp_path / 'no'} does not exist")
    out = write_document(daily_bulletin(), "html", tmp_path / "daily.html", lang="en")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>\n<html lang=\"en\">")
    assert [p.name for p in tmp_path.iterdir()] == ["daily.html"]


def test_a_broken_template_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "daily.md"
    target.write_text("old", encoding="utf-8")
    folder = user_templates(tmp_path, **{"daily.md.j2": "{{ nope }}"})
    with pytest.raises(ReportTemplateError):
        write_document(daily_bulletin(), "md", target, template_dir=folder)
    assert target.read_text(encoding="utf-8") == "old"
