"""The inline SVG charts: room for the longest label, thinned x labels, titles that say what a
chart shows, no chart of a single bar; and, in headless Chromium, no chart text cut off."""

from __future__ import annotations

import json
import re
from datetime import date
from itertools import pairwise
from pathlib import Path

import pytest
from reports_fixtures import daily_bulletin, dashboard_site
from test_reports_dashboard import console_lines, require_chromium, run_browser

from kfworkflow.reports import charts
from kfworkflow.reports.charts import Bar, Series, label_gutter, text_width, tick_indices
from kfworkflow.reports.dashboard import write_dashboard
from kfworkflow.reports.messages import messages
from kfworkflow.reports.render import Renderer
from kfworkflow.reports.site_context import (
    MilestoneStep,
)

ZH = messages("zh")
SVG = re.compile(r"<svg .*?</svg>", re.S)
TEXT = re.compile(r'<text x="([\d.]+)" y="([\d.]+)" text-anchor="(\w+)"[^>]*>([^<]*)</text>')


def view_box(svg: str) -> tuple[float, float]:
    found = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)" width="([\d.]+)" height="([\d.]+)"',
                      svg)
    assert found is not None, svg[:200]
    assert found.group(1, 2) == found.group(3, 4)
    return float(found.group(1)), float(found.group(2))


def texts(svg: str) -> list[tuple[float, float, str, str]]:
    return [(float(x), float(y), anchor, text) for x, y, anchor, text in TEXT.findall(svg)]


def extent(x: float, anchor: str, text: str) -> tuple[float, float]:
    width = text_width(text)
    start = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return start, start + width


def titles(html: str) -> list[str]:
    return re.findall(r'<svg [^>]*class="chart"[^>]*><title>([^<]*)</title>', html)


# ------------------------------------------------------------------ label room


def test_text_width_counts_wide_characters_as_one_em() -> None:
    assert text_width("龙亭区") == 36
    assert text_width("Lankao") == pytest.approx(43.2)
    assert text_width("10. 城乡一体化示范区") == pytest.approx(124.8)
    assert text_width("“三个一批”项目") == 96  # the quotes are full width in a CJK font
    assert text_width("（按层级和状态）", 14) == 112


def test_the_label_gutter_is_sized_from_the_longest_label() -> None:
    # edge 4 + the longest label + gap 8, rounded up
    assert label_gutter(["1. 龙亭区", "10. 城乡一体化示范区"]) == 137
    assert label_gutter(["省市重点项目", "政策性开发性金融工具项目", "“三个一批”项目"]) == 156
    assert label_gutter(["Lankao"]) == 56
    assert label_gutter([]) == 12


def test_a_bar_chart_leaves_its_longest_label_room() -> None:
    bars = [Bar("政策性开发性金融工具项目", 6, "6"), Bar("省市重点项目", 92, "92")]
    svg = charts.bar_chart("t", bars, empty_text="-")
    assert view_box(svg) == (480, 82)
    # the plot starts at the gutter, 480 - 156 - value room 25 = 299 wide
    assert '<rect x="156" y="30" width="19.5"' in svg
    assert '<rect x="156" y="54" width="299.0"' in svg
    label = texts(svg)[0]
    assert label[2:] == ("end", "政策性开发性金融工具项目")
    assert extent(label[0], "end", label[3]) == (4, 148)


def test_a_chart_with_a_very_long_label_grows_rather_than_squeeze_its_bars() -> None:
    name = "县" * 30
    svg = charts.bar_chart("t", [Bar(name, 1, "1")], empty_text="-")
    # gutter 4 + 360 + 8, plot at least 240, value room 6 + 7.2 + 4
    assert view_box(svg) == (372 + 240 + 18, 58)
    assert extent(*next((x, a, s) for x, _, a, s in texts(svg) if s == name)) == (4, 364)


def test_every_label_of_the_documents_charts_is_inside_its_chart() -> None:
    for kind, doc in (("daily", daily_bulletin()),):
        html = Renderer("zh").document(doc, "html")
        for svg in SVG.findall(html):
            width, _ = view_box(svg)
            for x, _, anchor, text in texts(svg):
                start, end = extent(x, anchor, text)
                assert start >= 0 and end <= width, (kind, text, start, end, width)


# ------------------------------------------------------------------ x labels of a line chart


def test_thirty_points_show_every_fourth_label_and_the_last() -> None:
    step = 419 / 29  # the plot width of the rates chart over 29 gaps
    shown = tick_indices(30, step, label_width=36)
    assert shown == [0, 4, 8, 12, 16, 20, 24, 29]
    gaps = [(b - a) * step for a, b in pairwise(shown)]
    assert min(gaps) >= 36 + 8


def test_tick_thinning_keeps_the_first_and_last_and_never_overlaps() -> None:
    assert tick_indices(0, 10, 36) == [] and tick_indices(1, 420, 36) == [0]
    assert tick_indices(6, 84, 36) == [0, 1, 2, 3, 4, 5]
    assert tick_indices(22, 419 / 21, 36) == [0, 3, 6, 9, 12, 15, 18, 21]
    # the k-th label before the last gives way when the two would overlap
    assert tick_indices(23, 419 / 22, 36) == [0, 3, 6, 9, 12, 15, 18, 22]
    assert tick_indices(2, 30, 36) == [1]  # the two alone would overlap: the last only
    for count in range(2, 300):
        step = 419 / (count - 1)
        shown = tick_indices(count, step, 36)
        assert shown[0] == 0 and shown[-1] == count - 1, count
        assert all((b - a) * step >= 44 for a, b in pairwise(shown)), count


def test_the_rates_chart_over_thirty_days_has_no_overlapping_label() -> None:
    labels = [f"12-{day:02d}" for day in range(1, 31)]
    series = [Series("x", tuple(0.5 for _ in labels), "#000")]
    svg = charts.line_chart("t", labels, series, empty_text="-", y_format=lambda v: f"{v:.0%}")
    width, height = view_box(svg)
    ticks = [(x, anchor, text) for x, y, anchor, text in texts(svg) if y == height - 28 + 18]
    assert [text for _, _, text in ticks] == [
        "12-01", "12-05", "12-09", "12-13", "12-17", "12-21", "12-25", "12-30"]
    spans = [extent(*tick) for tick in ticks]
    assert spans[0][0] >= 0 and spans[-1][1] <= width - 4  # the last label is inside
    assert all(b[0] - a[1] >= 8 for a, b in pairwise(spans))


# ------------------------------------------------------------------ a project's timeline


def test_the_timeline_labels_both_ends_of_its_axis_and_the_as_of_date_above() -> None:
    """The as-of date close to the axis's start used to hide the start's label (only the
    as-of label was left, reading as the start): the start and end dates are now always under
    the axis's ends, the as-of date on its own row above the milestones."""
    steps = (MilestoneStep("planned", "计划", None, None, None),
             MilestoneStep("started", "开工", date(2022, 11, 20), date(2022, 11, 25), 3),
             MilestoneStep("completed", "竣工", date(2024, 6, 30), None, None))
    svg = charts.timeline_chart(steps, date(2022, 11, 21), ZH)
    width, height = view_box(svg)
    shown = texts(svg)
    axis = [(x, anchor, text) for x, y, anchor, text in shown if y == height - 10]
    left = label_gutter(["开工", "竣工"]) + 6
    assert axis == [(left, "start", "2022-11-20"), (width - 24, "end", "2024-06-30")]
    [(x, y, anchor)] = [(x, y, a) for x, y, a, text in shown if text == "截至 2022-11-21"]
    assert (y, anchor) == (38, "middle")
    # the line 1 day into the 588 of a 414 px plot; its label kept inside the chart
    assert '<line x1="42.7" y1="44" x2="42.7"' in svg and left == 42
    assert extent(x, anchor, "截至 2022-11-21")[0] == pytest.approx(4)
    # 计划 has no date at all: no empty row for it; the two others have theirs
    assert [text for _, _, anchor, text in shown if anchor == "end" and text in (
        "计划", "开工", "竣工")] == ["开工", "竣工"]
    assert height == 48 + 2 * 24 + 30
    for x, _, anchor, text in shown:
        start, end = extent(x, anchor, text)
        assert start >= 0 and end <= width, text


def test_a_timeline_without_any_date_says_so() -> None:
    svg = charts.timeline_chart((MilestoneStep("planned", "计划", None, None, None),),
                                date(2022, 11, 21), ZH)
    assert [text for *_, text in texts(svg)] == [] and ">暂无数据</text>" in svg


# ------------------------------------------------------------------ the dashboard's pages


def test_each_chart_title_says_what_the_chart_shows(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)

    def page(name: str) -> str:
        return (out / name).read_text(encoding="utf-8")

    assert titles(page("index.html")) == [
        "县区综合得分排名", "分县区红黄绿灯", "四项比率走势", "在办交办事项（按层级和状态）"]
    county = page("counties/lankao.html")
    assert titles(county) == ["分类别红黄绿灯"]
    [svg] = SVG.findall(county)
    labels = [s for x, _, anchor, s in texts(svg) if anchor == "end"]
    assert labels == ["省市重点项目", "地方政府专项债券项目"]


def test_a_task_force_page_shows_its_lights_by_county_never_a_single_total_bar(
        tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)
    html = (out / "task-forces/special_bond.html").read_text(encoding="utf-8")
    assert titles(html) == ["分县区红黄绿灯"]  # one category: no chart by category
    [svg] = SVG.findall(html)
    labels = [s for x, _, anchor, s in texts(svg) if anchor == "end"]
    assert labels == ["兰考县", "杞县", "龙亭区"] and "合计" not in svg
    # lankao 1 red 1 green, qixian 1 green, longting 1 green
    assert re.findall(r"<title>([^<]*: \d+)</title>", svg) == [
        "兰考县 红灯: 1", "兰考县 绿灯: 1", "杞县 绿灯: 1", "龙亭区 绿灯: 1"]


def test_unit_page_charts_with_one_bar_are_left_out() -> None:
    site = dashboard_site()
    one = [site.daily.sections[0].rows[0]]
    assert charts.county_charts(one, ZH) == {"lights": ""}
    force = charts.task_force_charts(site.daily.sections, ["qixian", "lankao", "longting"], ZH)
    assert titles(force["lights"]) == ["分县区红黄绿灯"]
    assert titles(force["categories"]) == ["分类别红黄绿灯"]
    # summed over the categories, in the order given
    assert re.findall(r"<title>([^<]*: \d+)</title>", force["lights"]) == [
        "杞县 红灯: 1", "杞县 黄灯: 1", "杞县 绿灯: 2", "兰考县 红灯: 1", "兰考县 黄灯: 1",
        "兰考县 绿灯: 4", "龙亭区 红灯: 2", "龙亭区 绿灯: 1"]
    alone = [s for s in site.daily.sections[:1]]
    assert charts.task_force_charts(alone, [], ZH)["categories"] == ""


def test_the_english_titles() -> None:
    en = messages("en")
    assert (en["lights_by_county"], en["lights_by_category"], en["assignments_chart"]) == (
        "Lights by county", "Lights by category", "Open assignments by level and status")


# ------------------------------------------------------------------ in a browser


@pytest.mark.browser
def test_no_chart_text_is_cut_off_in_chromium(tmp_path: Path) -> None:
    """Every text of every chart, laid out by Chromium with the fonts it has, lies inside its
    chart's viewBox, on the pages with the longest labels."""
    browser = require_chromium()
    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)
    probe = ("<script>const out = [];for (const svg of document.querySelectorAll('svg.chart')) "
             "{const box = svg.viewBox.baseVal;for (const t of svg.querySelectorAll('text')) "
             "{const b = t.getBBox();if (b.x < -0.5 || b.x + b.width > box.width + 0.5) "
             "out.push(t.textContent);}}"
             "console.log('KFW-CLIPPED ' + JSON.stringify(out));</script>")
    for page in ("index.html", "counties/lankao.html", "task-forces/key_projects.html",
                 "projects/2201-410202-04-01-000303.html", "daily.html", "weekly.html",
                 "monthly.html"):
        html = (out / page).read_text(encoding="utf-8")
        html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
        measured = (out / page).with_name("probe-" + Path(page).name)
        measured.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
        result = run_browser(browser, measured.as_uri(), "--window-size=1280,900",
                             "--dump-dom")
        [line] = [line for line in console_lines(result.stderr) if "KFW-CLIPPED" in line]
        found = re.search(r"KFW-CLIPPED (\[.*?\])", line)
        assert found is not None, line
        assert json.loads(found.group(1)) == [], page


def test_a_trend_across_new_year_dates_its_ends() -> None:
    days = [date(2022, 12, 29), date(2022, 12, 30), date(2023, 1, 3), date(2023, 1, 4)]
    assert charts.date_labels(days) == ["2022-12-29", "12-30", "01-03", "2023-01-04"]
    # within one year the labels stay short, so as many fit as before
    assert charts.date_labels(days[:2]) == ["12-29", "12-30"]
    assert charts.date_labels(days[:1]) == ["12-29"]
    assert charts.date_labels([]) == []
