"""The static dashboard: self-contained pages with relative links, opened in headless Chromium."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from reports_fixtures import PROJECTS, dashboard_site

from kfworkflow.errors import InputError
from kfworkflow.reports.dashboard import MARKER, slug, write_dashboard

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
PAGES = [
    "index.html", "counties/lankao.html", "counties/qixian.html", "counties/longting.html",
    "task-forces/key_projects.html", "task-forces/special_bond.html",
    "projects/2201-410225-04-01-000101.html", "projects/2201-410202-04-01-000303.html",
    "projects/2201-410221-04-01-000205.html", "daily.html", "weekly.html", "monthly.html"]
LINK = re.compile(r"""\b(?:href|src)="([^"]*)\"""")
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def test_the_site_has_every_page_and_only_relative_links(tmp_path: Path) -> None:
    out = tmp_path / "site"
    written = write_dashboard(dashboard_site(), out)
    assert [str(p) for p in written] == PAGES
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == sorted(
        [*PAGES, MARKER])
    for page in PAGES:
        html = (out / page).read_text(encoding="utf-8")
        assert "<script" not in html.lower(), page
        assert "default-src 'none'" in html, page
        assert " src=" not in html, page  # nothing is loaded: styles and charts are inline
        assert not re.search(r"(https?:)?//", html.replace(SVG_NAMESPACE, "")), page
        for link in LINK.findall(html):
            assert not link.startswith(("/", "#")) and ":" not in link, (page, link)
            assert (out / page).parent.joinpath(link).resolve().is_file(), (page, link)


def test_pages_show_their_unit(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)
    county = (out / "counties/longting.html").read_text(encoding="utf-8")
    assert "<h1>龙亭区<small>" in county
    assert "2022-W47-002" in county and "2022-W47-001" not in county
    assert 'href="../projects/2201-410202-04-01-000303.html"' in county
    force = (out / "task-forces/special_bond.html").read_text(encoding="utf-8")
    assert "<h3>地方政府专项债券项目</h3>" in force and "<h3>省市重点项目</h3>" not in force
    project = (out / "projects/2201-410202-04-01-000303.html").read_text(encoding="utf-8")
    assert "<td>开工</td><td class=\"c nw\">2022-11-01</td><td class=\"c nw\">—</td>" \
           "<td class=\"n\">20</td>" in project
    assert "2022-W46-003" in project and '<svg xmlns="http://www.w3.org/2000/svg"' in project


def test_the_event_table_names_its_columns_and_the_summary_has_no_county_column(
        tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)
    project = (out / "projects/2201-410202-04-01-000303.html").read_text(encoding="utf-8")
    assert ('<table id="events" class="narrow">\n<thead><tr><th>日期</th><th>类型</th>'
            '<th>内容</th></tr></thead>') in project
    assert ('<tr><td class="c nw">2022-11-08</td><td class="c nw">亮灯</td>'
            '<td>红灯：计划开工日期已过7天未开工</td></tr>') in project
    index = (out / "index.html").read_text(encoding="utf-8")
    summary = re.search(r'<table class="wide" id="summary">.*?</table>', index, re.S)
    assert summary is not None
    # the total alone: no 县区 column holding only 合计
    assert "县区" not in summary.group(0) and "合计" not in summary.group(0)
    assert '<thead>\n<tr><th rowspan="2">项目数</th>' in summary.group(0)
    assert '<tr class="total"><td class="n">13</td>' in summary.group(0)
    # the counties table keeps its column
    assert '<table class="wide" id="counties">\n<thead>\n<tr><th rowspan="2">县区</th>' in index
    english = tmp_path / "en"
    write_dashboard(dashboard_site(), english, lang="en")
    assert "<th>Date</th><th>Type</th><th>What happened</th>" in (
        english / "projects/2201-410202-04-01-000303.html").read_text(encoding="utf-8")


def test_an_existing_dashboard_is_replaced_and_other_folders_are_refused(tmp_path: Path
                                                                          ) -> None:
    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)
    fewer = dataclasses.replace(dashboard_site(), projects=PROJECTS[:1])
    write_dashboard(fewer, out, lang="en")
    assert sorted(p.name for p in (out / "projects").iterdir()) == [
        "2201-410225-04-01-000101.html"]
    assert 'lang="en"' in (out / "index.html").read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging folders left
    other = tmp_path / "docs"
    other.mkdir()
    (other / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError) as caught:
        write_dashboard(dashboard_site(), other)
    assert str(caught.value) == (
        f"{other}: the folder has other files in it; give an empty or new folder (a dashboard "
        f"folder is recognised by its {MARKER} file)")
    assert [p.name for p in other.iterdir()] == ["notes.txt"]
    with pytest.raises(InputError) as caught:
        write_dashboard(dashboard_site(), other / "notes.txt")
    assert str(caught.value) == f"{other / 'notes.txt'}: not a folder"


def test_odd_codes_become_safe_file_names(tmp_path: Path) -> None:
    assert slug("lankao") == "lankao" and slug("2201-410225-04-01-000101") == (
        "2201-410225-04-01-000101")
    odd = slug("../../etc/passwd")
    assert re.fullmatch(r"x[0-9a-f]{16}", odd) and odd == slug("../../etc/passwd")
    assert re.fullmatch(r"Q01-[0-9a-f]{8}", slug("Q01")) and slug("Q01") != slug("q01")
    assert slug("a b") != "a b" and slug("con.") != "con."
    project = dataclasses.replace(PROJECTS[0], code="../x/<y>")
    write_dashboard(dataclasses.replace(dashboard_site(), projects=(project,)), tmp_path / "s")
    assert (tmp_path / "s" / "projects" / f"{slug('../x/<y>')}.html").is_file()


# ------------------------------------------------------------------ in a browser


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """Chromium's path; the test is skipped, with the reason, where there is none."""
    browser = chromium()
    if browser is None:
        pytest.skip("no Chromium found (install the Debian packages chromium and "
                    "chromium-driver to run the browser test)")
    return browser


def run_browser(browser: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={profile}", "--enable-logging=stderr",
             "--v=0", "--hide-scrollbars", *args, url],
            capture_output=True, text=True, timeout=120, check=False)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.browser
def test_the_dashboard_opens_in_headless_chromium(tmp_path: Path) -> None:
    browser = require_chromium()
    canary = tmp_path / "canary.html"
    canary.write_text("<!DOCTYPE html><script>console.error('kfw-canary')</script>",
                      encoding="utf-8")
    seen = console_lines(run_browser(browser, canary.as_uri(), "--dump-dom").stderr)
    assert any("kfw-canary" in line for line in seen), "console messages are not captured"

    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)
    ARTIFACTS.mkdir(exist_ok=True)
    for page in ("index.html", "counties/longting.html", "projects/"
                 "2201-410202-04-01-000303.html", "daily.html", "weekly.html", "monthly.html"):
        result = run_browser(browser, (out / page).as_uri(), "--dump-dom")
        assert result.returncode == 0, result.stderr[-2000:]
        assert console_lines(result.stderr) == [], page
        dom = result.stdout
        assert dom.count("<svg") >= 1, page
        if page == "index.html":
            ranking = re.search(r'<table id="ranking">.*?</table>', dom, re.S)
            assert ranking is not None
            assert [re.sub(r"<[^>]+>", "", c) for c in re.findall(
                r"<tr><td class=\"c\">\d</td><td>(.*?)</td>", ranking.group(0))] == [
                "兰考县", "杞县", "龙亭区"]
            assert dom.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 4
    shot = ARTIFACTS / "dashboard-index.png"
    shot.unlink(missing_ok=True)
    result = run_browser(browser, (out / "index.html").as_uri(), "--window-size=1280,1800",
                         f"--screenshot={shot}")
    assert result.returncode == 0 and shot.stat().st_size > 10_000
    pdf = ARTIFACTS / "weekly.pdf"
    result = run_browser(browser, (out / "weekly.html").as_uri(), "--no-pdf-header-footer",
                         f"--print-to-pdf={pdf}")
    assert result.returncode == 0 and pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.browser
def test_no_table_is_wider_than_an_a4_landscape_page(tmp_path: Path) -> None:
    """Each page, opened 277 mm wide (A4 landscape less margins), has no table or chart that
    sticks out: printed, nothing is cut off."""
    browser = require_chromium()
    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)
    probe = ("<script>const w = document.body.getBoundingClientRect().right;"
             "const wide = [...document.querySelectorAll('table, svg, h1, p')]"
             ".filter(e => e.getBoundingClientRect().right > w + 0.5).map(e => e.id || "
             "e.tagName);console.log('KFW-LAYOUT ' + JSON.stringify(wide));</script>")

    def too_wide(page: str, width: int) -> list[str]:
        html = (out / page).read_text(encoding="utf-8")
        html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
        measured = (out / page).with_name("probe-" + Path(page).name)
        measured.write_text(html.replace("</body>", probe + "</body>"), encoding="utf-8")
        result = run_browser(browser, measured.as_uri(), f"--window-size={width},900",
                             "--dump-dom")
        [line] = [line for line in console_lines(result.stderr) if "KFW-LAYOUT" in line]
        found = re.search(r"KFW-LAYOUT (\[.*?\])", line)
        assert found is not None, line
        return list(json.loads(found.group(1)))

    assert too_wide("daily.html", 480) != []  # the probe does see a table that sticks out
    for page in ("index.html", "daily.html", "weekly.html", "monthly.html",
                 "counties/lankao.html"):
        assert too_wide(page, 1047) == [], page


def probe_page(browser: str, page: Path, width: int, expression: str) -> object:
    """The value of a JavaScript ``expression`` on ``page`` opened ``width`` pixels wide."""
    html = page.read_text(encoding="utf-8")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    measured = page.with_name("probe-" + page.name)
    measured.write_text(html.replace(
        "</body>", f"<script>console.log('KFW-PROBE ' + JSON.stringify({expression}));"
        "</script></body>"), encoding="utf-8")
    result = run_browser(browser, measured.as_uri(), f"--window-size={width},900",
                         "--dump-dom")
    [line] = [line for line in console_lines(result.stderr) if "KFW-PROBE" in line]
    found = re.search(r"KFW-PROBE (.*)\", source:", line)
    assert found is not None, line
    return json.loads(found.group(1))


@pytest.mark.browser
def test_wide_tables_use_the_window_and_no_header_stacks_its_characters(tmp_path: Path
                                                                         ) -> None:
    """In a 1600 px window the weekly list's table spans the window (not a 277 mm column);
    at 1600 px and at A4 landscape width (1047 px) each header's words stay whole: 本周进展
    is one line, not one character a line; prose keeps a readable measure."""
    browser = require_chromium()
    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)
    lines = ("Object.fromEntries([...document.querySelectorAll('#review th')].map(e => {"
             "const r = document.createRange(); r.selectNodeContents(e); return [e.textContent, "
             "new Set([...r.getClientRects()].map(x => Math.round(x.top))).size];}))")
    widths = ("[document.querySelector('#review').getBoundingClientRect().width, "
              "document.querySelector('h2 + p').getBoundingClientRect().width]")
    table, prose = probe_page(browser, out / "weekly.html", 1600, widths)  # type: ignore[misc]
    assert table > 1500 and prose < 1000
    for width in (1600, 1047):
        header_lines = probe_page(browser, out / "weekly.html", width, lines)
        assert isinstance(header_lines, dict)
        assert header_lines["本周进展"] == 1 and header_lines["项目颜色"] == 1, width
        # a header breaks only between its words
        assert max(header_lines.values()) <= 2, (width, header_lines)


def test_kfw_serve_serves_the_folder(tmp_path: Path) -> None:
    import socket
    import sys
    import time
    import urllib.request

    out = tmp_path / "site"
    write_dashboard(dashboard_site(), out)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "kfworkflow.cli.main", "serve", "--dir", str(out), "--port",
         str(port)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        body = b""
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/counties/lankao.html",
                                            timeout=2) as response:
                    body = response.read()
                break
            except OSError:
                time.sleep(0.1)
        assert "<h1>兰考县<small>" in body.decode("utf-8")
    finally:
        server.terminate()
        out_text, _ = server.communicate(timeout=10)
    assert out_text.startswith(f"serving {out} at http://127.0.0.1:{port}/ (Ctrl-C to stop)")
