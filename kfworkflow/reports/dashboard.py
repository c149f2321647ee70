"""The dashboard (挂图作战): a static site that opens from a file share with no server.

``index.html``, one page per county (``counties/``), per task force (``task-forces/``) and per
project (``projects/``, its timeline), plus the three documents. Links are relative, pages
load nothing (styles and charts are inline, a Content-Security-Policy forbids fetches), so the
folder can be copied anywhere. The site is built in a temporary folder beside the target and
swapped in, so readers never see half a site; an existing folder is replaced only if it holds
a dashboard (marker file), never a folder of other files.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kfworkflow.errors import InputError
from kfworkflow.reports import charts
from kfworkflow.reports.context import (
    AssignmentRow,
    Document,
    level_status_counts,
)
from kfworkflow.reports.render import Renderer, document_charts
from kfworkflow.reports.site_context import (
    CountyPage,
    DashboardSite,
    TaskForcePage,
)

MARKER = ".kfw-dashboard"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,80}")
DOCUMENTS = ("daily", "weekly", "monthly")


def slug(key: str) -> str:
    """A file name for a unit or project key: the key itself when it is plainly safe on every
    file system, else a stable hash (codes may hold any character). A key with capitals gets
    a short hash appended, so that keys differing only in case stay apart on file systems
    that ignore case (Windows shares)."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    if not _SAFE_NAME.fullmatch(key) or key.endswith("."):
        return "x" + digest[:16]
    return key if key == key.lower() else f"{key}-{digest[:8]}"


@dataclass(frozen=True)
class Links:
    """Relative links from one page of the site (``root`` is ``""`` or ``"../"``)."""

    root: str
    projects: frozenset[str] = frozenset()

    def has_project(self, code: str) -> bool:
        """Whether the project has a page (a link to it would not be broken)."""
        return code in self.projects

    def index(self) -> str:
        return f"{self.root}index.html"

    def document(self, kind: str) -> str:
        return f"{self.root}{kind}.html"

    def county(self, county: str) -> str:
        return f"{self.root}counties/{slug(county)}.html"

    def task_force(self, task_force: str) -> str:
        return f"{self.root}task-forces/{slug(task_force)}.html"

    def project(self, code: str) -> str:
        return f"{self.root}projects/{slug(code)}.html"


def county_pages(site: DashboardSite) -> tuple[CountyPage, ...]:
    scores = {r.county: r for r in site.monthly.rows} if site.monthly else {}
    pages = []
    for summary in site.daily.counties:
        county = summary.key
        categories = tuple(replace(row, key=section.category, name=section.category_name)
                           for section in site.daily.sections for row in section.rows
                           if row.key == county)
        pages.append(CountyPage(
            county=county, county_name=summary.name, summary=summary, categories=categories,
            score=scores.get(county),
            projects=tuple(p for p in site.projects if p.county == county),
            assignments=tuple(a for a in site.assignments if a.county == county),
            lagging=tuple(p for p in site.weekly.lagging if p.county == county)))
    return tuple(pages)


def task_force_pages(site: DashboardSite) -> tuple[TaskForcePage, ...]:
    return tuple(
        TaskForcePage(
            task_force=force,
            sections=tuple(s for s in site.daily.sections if s.category in force.categories),
            projects=tuple(p for p in site.projects if p.task_force == force.id),
            assignments=tuple(a for a in site.assignments if a.category in force.categories))
        for force in site.task_forces)


def write_dashboard(site: DashboardSite, out: Path, *, lang: str = "zh",
                    template_dir: Path | None = None) -> list[Path]:
    """Write the site into ``out`` (replaced as a whole); returns the pages written, relative
    to ``out``."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise InputError(f"{out}: the folder has other files in it; give an empty or new "
                         f"folder (a dashboard folder is recognised by its {MARKER} file)")
    parent = out.resolve().parent
    if not parent.is_dir():
        raise InputError(f"{out}: cannot write: folder {parent} does not exist")
    staging = parent / f".{out.name}.{secrets.token_hex(4)}.tmp"
    try:
        written = _build(site, staging, Renderer(lang, template_dir))
        _swap(staging, out)
    except OSError as exc:
        raise InputError(f"{out}: cannot write the dashboard: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return written


def _build(site: DashboardSite, root: Path, renderer: Renderer) -> list[Path]:
    pages: list[tuple[str, str, dict[str, Any]]] = []
    t = renderer.t
    codes = frozenset(p.code for p in site.projects)
    top, below = Links("", codes), Links("../", codes)
    index_charts = {"lights": charts.lights_chart(site.daily.counties, t),
                    "rates": charts.rates_chart(site.daily.trend, t),
                    "assignments": charts.assignments_chart(
                        level_status_counts(site.assignments), t)}
    if site.monthly:
        index_charts["ranking"] = charts.ranking_chart(site.monthly.rows, t)
    pages.append(("index.html", "dashboard/index.html.j2",
                  {"site": site, "links": top, "charts": index_charts,
                   "counties": county_pages(site), "task_forces": task_force_pages(site)}))
    for page in county_pages(site):
        pages.append((f"counties/{slug(page.county)}.html", "dashboard/county.html.j2",
                      {"site": site, "links": below, "page": page,
                       "charts": charts.county_charts(page.categories, t)}))
    for force in task_force_pages(site):
        pages.append((f"task-forces/{slug(force.task_force.id)}.html",
                      "dashboard/task_force.html.j2",
                      {"site": site, "links": below, "page": force,
                       "charts": charts.task_force_charts(
                           force.sections, [c.key for c in site.daily.counties], t)}))
    by_project: dict[str, list[AssignmentRow]] = defaultdict(list)
    for item in site.assignments:
        by_project[item.project_code].append(item)
    for project in site.projects:
        pages.append((f"projects/{slug(project.code)}.html", "dashboard/project.html.j2",
                      {"site": site, "links": below, "page": project,
                       "assignments": tuple(by_project.get(project.code, ())),
                       "charts": {"timeline": charts.timeline_chart(
                           project.steps, site.info.as_of, t)}}))
    documents: dict[str, Document | None] = {"daily": site.daily, "weekly": site.weekly,
                                             "monthly": site.monthly}
    for kind in DOCUMENTS:
        doc = documents[kind]
        if doc is not None:
            pages.append((f"{kind}.html", f"{kind}.html.j2",
                          {"doc": doc, "charts": document_charts(doc, t)}))
    rendered = [(name, renderer.render(template, context)) for name, template, context in pages]
    for folder in ("counties", "task-forces", "projects"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for name, text in rendered:
        (root / name).write_text(text, encoding="utf-8")
    (root / MARKER).write_text("kfworkflow dashboard\n", encoding="utf-8")
    return [Path(name) for name, _ in rendered]


def _swap(staging: Path, out: Path) -> None:
    """Put ``staging`` where ``out`` is; the old site goes only after the new one is in."""
    if not out.exists():
        os.replace(staging, out)
        return
    retired = out.parent / f".{out.name}.{secrets.token_hex(4)}.old"
    os.replace(out, retired)
    try:
        os.replace(staging, out)
    except OSError:
        os.replace(retired, out)
        raise
    shutil.rmtree(retired, ignore_errors=True)

