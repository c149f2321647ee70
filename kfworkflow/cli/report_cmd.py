"""``kfw report``: the documents people circulate, and ``kfw serve`` for the dashboard."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import click

from kfworkflow.cli.context import DATE, pass_workspace
from kfworkflow.cli.output import echo_json, json_option
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import InputError
from kfworkflow.reports.context import Document
from kfworkflow.reports.messages import LANGUAGES
from kfworkflow.reports.output import FORMATS, write_document
from kfworkflow.storage.db import read_session

TEMPLATES_DIR = "templates"
PERIODS = {"month": "month", "quarter": "quarter", "half-year": "half_year", "year": "year"}
_UNSAFE_FILE_CHARACTERS = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


def _as_of(workspace: Workspace, as_of: date | None) -> date:
    return as_of or workspace.today()


def _format(fmt: str | None, out: Path) -> str:
    chosen = fmt or out.suffix.lower().lstrip(".")
    if chosen not in FORMATS:
        raise click.UsageError(f"give --format {'|'.join(FORMATS)} (or an --out file ending "
                               f"in .md, .html or .xlsx)")
    return chosen


def _lang(workspace: Workspace, lang: str | None) -> str:
    return lang or workspace.policies.reports.language or "zh"


def _write(workspace: Workspace, doc: Document, fmt: str, out: Path, lang: str) -> Path:
    return write_document(doc, fmt, out, lang=lang, template_dir=workspace.root / TEMPLATES_DIR)


def _done(as_json: bool, doc: Document, kind: str, files: list[Path]) -> None:
    info = doc.info
    if as_json:
        echo_json({"document": kind, "as_of": info.as_of, "pass_run": info.pass_run_id,
                   "rule_revision": info.rule_revision, "files": [str(f) for f in files]})
        return
    for file in files:
        click.echo(f"wrote {file} ({kind}, as of {info.as_of}, pass run #{info.pass_run_id})")


def document_options(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed([
        click.option("--as-of", type=DATE, default=None,
                     help="Use the latest pass on or before this date; default today."),
        click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
                     help="md, html or xlsx; default from the --out suffix."),
        click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
                     help="File to write (replaced)."),
        click.option("--lang", type=click.Choice(LANGUAGES), default=None,
                     help="Language of the document; default reports.language in policies."),
        json_option,
    ]):
        func = option(func)
    return func


@click.group("report")
def report_group() -> None:
    """Documents: daily bulletin, weekly assignment lists, monthly ranking, dashboard.

    A workspace templates/ folder overrides any shipped template of the same name.
    """


@report_group.command("daily")
@document_options
@pass_workspace
def report_daily(workspace: Workspace, as_of: date | None, fmt: str | None, out: Path,
                 lang: str | None, as_json: bool) -> None:
    """Daily bulletin (日通报): rates per county and category, lights, who did not report."""
    from kfworkflow.reports.collect import collect_daily

    kind = _format(fmt, out)
    with read_session(workspace.ready_engine()) as session:
        doc = collect_daily(session, _as_of(workspace, as_of))
    _done(as_json, doc, "daily", [_write(workspace, doc, kind, out, _lang(workspace, lang))])


@report_group.command("weekly")
@document_options
@click.option("--recipient", metavar="UNIT", default=None,
              help="Only the list this unit receives (a county government, a city department, "
                   "the province mechanism): its items and the slow projects it is "
                   "responsible for.")
@click.option("--each-recipient", is_flag=True,
              help="Also write one list per unit beside --out, named after the unit: every "
                   "unit with a list (county governments, city departments, projects' "
                   "responsible units, the province mechanism), one each.")
@pass_workspace
def report_weekly(workspace: Workspace, as_of: date | None, fmt: str | None, out: Path,
                  lang: str | None, as_json: bool, recipient: str | None,
                  each_recipient: bool) -> None:
    """Weekly assignment list (周交办单): last week's items, new items, slow projects."""
    from kfworkflow.reports.collect import collect_weekly
    from kfworkflow.reports.collect.weekly import recipient_list

    kind = _format(fmt, out)
    language = _lang(workspace, lang)
    with read_session(workspace.ready_engine()) as session:
        overall = collect_weekly(session, _as_of(workspace, as_of), workspace.calendar)
    doc = recipient_list(overall, recipient) if recipient else overall
    files = [_write(workspace, doc, kind, out, language)]
    if each_recipient:
        for unit in overall.recipients():
            name = _UNSAFE_FILE_CHARACTERS.sub("_", unit)
            target = out.with_name(f"{out.stem}-{name}{out.suffix}")
            files.append(_write(workspace, overall.for_recipient(unit), kind, target, language))
    _done(as_json, doc, "weekly", files)


@report_group.command("monthly")
@document_options
@click.option("--period", type=click.Choice(list(PERIODS)), default="month", show_default=True,
              help="Rank over the month, or the quarter / half-year / year containing it.")
@pass_workspace
def report_monthly(workspace: Workspace, as_of: date | None, fmt: str | None, out: Path,
                   lang: str | None, as_json: bool, period: str) -> None:
    """Monthly ranking (月排名) of the counties; also quarterly, half-year and annual."""
    from kfworkflow.reports.collect import collect_ranking

    kind = _format(fmt, out)
    with read_session(workspace.ready_engine()) as session:
        doc = collect_ranking(session, _as_of(workspace, as_of), PERIODS[period])
    _done(as_json, doc, "monthly", [_write(workspace, doc, kind, out, _lang(workspace, lang))])


@report_group.command("dashboard")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder to write the site into (replaced if it holds a dashboard).")
@click.option("--as-of", type=DATE, default=None,
              help="Use the latest passes on or before this date; default today.")
@click.option("--lang", type=click.Choice(LANGUAGES), default=None,
              help="Language; default reports.language in policies.")
@json_option
@pass_workspace
def report_dashboard(workspace: Workspace, out: Path, as_of: date | None, lang: str | None,
                     as_json: bool) -> None:
    """Static dashboard (挂图作战): opens from a file share, no server needed."""
    from kfworkflow.reports.collect import collect_site
    from kfworkflow.reports.dashboard import write_dashboard

    with read_session(workspace.ready_engine()) as session:
        site = collect_site(session, _as_of(workspace, as_of), workspace.calendar)
    pages = write_dashboard(site, out, lang=_lang(workspace, lang),
                            template_dir=workspace.root / TEMPLATES_DIR)
    if as_json:
        echo_json({"document": "dashboard", "as_of": site.info.as_of, "folder": str(out),
                   "pages": len(pages), "index": str(out / "index.html")})
        return
    click.echo(f"wrote {len(pages)} pages to {out} (as of {site.info.as_of}); open "
               f"{out / 'index.html'}")


@click.command("serve")
@click.option("--dir", "directory", type=click.Path(file_okay=False, exists=True,
                                                     path_type=Path),
              default=Path("dashboard"), show_default=True, help="The dashboard folder.")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--bind", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 for the whole network.")
def serve_command(directory: Path, port: int, bind: str) -> None:
    """Serve a dashboard folder over HTTP (optional: it opens from a file share too)."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    handler = partial(SimpleHTTPRequestHandler, directory=str(directory))
    try:
        server = ThreadingHTTPServer((bind, port), handler)
    except OSError as exc:
        raise InputError(f"cannot listen on {bind}:{port}: {exc.strerror or exc}") from exc
    click.echo(f"serving {directory} at http://{bind}:{port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(cli: click.Group) -> None:
    cli.add_command(report_group)
    cli.add_command(serve_command)
