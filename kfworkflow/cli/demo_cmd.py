"""``kfw demo``: the Kaifeng 2022 campaign on a fresh workspace, end to end.

The demo owns its clock: each campaign day's reports are imported at 18:00 Beijing time and the
scheduler's catch-up (the code path of ``kfw scheduler run``) then runs every pass that is due,
so its output is the same on every machine.
"""

from __future__ import annotations

import contextlib
import io
import logging
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kfworkflow.cli.context import pass_workspace
from kfworkflow.engine.imports import import_daily, import_ledger
from kfworkflow.engine.workspace import Workspace, init_workspace
from kfworkflow.storage.db import read_session
from kfworkflow.timefmt import FixedClock

if TYPE_CHECKING:
    from kfworkflow.scheduling import SessionReport

PLAN_DATE = date(2022, 11, 14)
CAMPAIGN_END = date(2022, 12, 31)
FIRST_MORNING_2023 = date(2023, 1, 3)  # 2023-01-02 is the New Year holiday (调休)
LEVEL_NAMES = {"county": "县级", "city": "市级", "province": "省级"}


def _beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@contextlib.contextmanager
def _silenced(quiet: bool) -> Iterator[None]:
    if not quiet:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def _kfw(ws: Workspace, *args: str) -> int:
    """Run a ``kfw`` command on the demo's workspace and database, as a user would."""
    from kfworkflow.cli.main import main

    return main([*_target(ws), "--actor", "demo", *args])


def _target(ws: Workspace) -> list[str]:
    return ["-w", str(ws.root), *(["--db", ws.db] if ws.db else [])]


def _has_command(name: str) -> bool:
    from kfworkflow.cli.main import cli

    return name in cli.commands


@click.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("kfw-demo"), show_default=True,
              help="Workspace to create (replaced if it exists).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default="2022-12-31",
              show_default=True, help="Last campaign day to simulate.")
@click.option("--quiet", is_flag=True, help="Print only the summary.")
@pass_workspace
def demo_command(workspace: Workspace, directory: Path, until: datetime, quiet: bool) -> None:
    """Replay the Kaifeng 2022 campaign: ledger, daily reports, passes, reports, audit."""
    # catching up a campaign that "happened" in 2022 makes every pass late by design
    with _log_level("kfworkflow.scheduler", logging.ERROR):
        _demo(workspace, directory, until, quiet)


@contextlib.contextmanager
def _log_level(name: str, level: int) -> Iterator[None]:
    """``name``'s level for the block, restored after (the demo may run inside a process)."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def _passes(ws: Workspace, report: SessionReport) -> int:
    """How many passes a catch-up ran; a failed one stops the demo (the scheduler would retry
    it with minutes of backoff, and every later day would wait on it)."""
    failed = report.with_status("failed")
    if failed:
        record = failed[0]
        raise click.ClickException(
            f"the demo's {record.kind} pass for {record.period_key} failed: {record.error} "
            f"(run `kfw {' '.join(_target(ws))} pass run {record.kind} --as-of "
            f"{record.as_of.isoformat()}` to see it again)")
    return len(report.records)


def _demo(workspace: Workspace, directory: Path, until: datetime, quiet: bool) -> None:
    from kfworkflow.demo.campaign import plan_campaign, simulate_campaign
    from kfworkflow.demo.files import write_daily_csv, write_ledger_xlsx
    from kfworkflow.demo.ledger_gen import generate_ledger
    from kfworkflow.demo.recipients import work_assignments
    from kfworkflow.scheduling import RetryPolicy, run_once

    one_try = RetryPolicy(tries=1)
    started = time.perf_counter()
    say = (lambda *_a, **_k: None) if quiet else click.echo
    last_day = min(until.date(), CAMPAIGN_END)
    if directory.exists():
        shutil.rmtree(directory)
    init_workspace(directory, db=workspace.db)
    ws = Workspace(directory, db=workspace.db, actor="demo",
                   clock=FixedClock(_beijing(PLAN_DATE, 9)))
    data = directory / "data"
    data.mkdir(exist_ok=True)
    ledger = generate_ledger()
    ledger_file = data / "kaifeng-2022-ledger.xlsx"
    write_ledger_xlsx(ledger, ledger_file)
    outcome = import_ledger(ws, ledger_file)
    say(f"台账 ledger: {outcome.result.created} 个项目 projects, {outcome.tasks} 项任务 tasks "
        f"← {ledger_file}")
    with _silenced(True):
        published = _kfw(ws, "rules", "publish", "--effective-from", PLAN_DATE.isoformat(),
                         "--note", "汴政办〔2022〕48号 攻坚方案默认规则")
    if published != 0:
        raise click.ClickException("the demo could not publish its rules (run "
                                   f"`kfw {' '.join(_target(ws))} rules publish` to see why)")
    days = [(d, rows) for d, rows in simulate_campaign(ledger) if d <= last_day]
    stalled = {code for code, script in plan_campaign(ledger).scripts.items() if script.stall}
    runs = cleared = 0
    with click.progressbar(days, label="攻坚日 campaign days", show_pos=True,
                           file=io.StringIO() if quiet else None) as bar:
        for day, rows in bar:
            ws.clock = FixedClock(_beijing(day, 17, 30))
            daily_file = data / f"daily-{day.isoformat()}.csv"
            write_daily_csv(rows, daily_file)
            if rows:
                import_daily(ws, daily_file)
            ws.clock = FixedClock(_beijing(day, 18, 5))
            runs += _passes(ws, run_once(ws, retry=one_try))
            ws.clock = FixedClock(_beijing(day, 18, 30))
            cleared += work_assignments(ws, day, stalled)
    final_day = last_day
    if last_day == CAMPAIGN_END:
        # the first working morning of 2023: December's monthly ranking and the last weekly list
        final_day = FIRST_MORNING_2023
        ws.clock = FixedClock(_beijing(final_day, 9, 30))
        runs += _passes(ws, run_once(ws, retry=one_try))
    say(f"调度 passes: {runs} 次，经调度器补跑路径运行 (run through the scheduler's catch-up); "
        f"{cleared} 项交办事项由承办单位办结并销号 (closed out by their recipients)")
    reports = _render_reports(ws, last_day, final_day, quiet)
    audit_ok = _audit(ws, quiet)
    _summary(ws, directory, last_day, runs, reports, audit_ok, time.perf_counter() - started)
    if not all(audit_ok.values()):
        raise click.ClickException("the audit of the demo's decision log failed (see above)")


def _render_reports(ws: Workspace, last_day: date, final_day: date, quiet: bool
                    ) -> list[Path]:
    """The documents as of the last passes: the daily bulletin of the last campaign day, the
    weekly list and the monthly ranking of the first working morning after it."""
    if not _has_command("report"):
        return []
    out = ws.root / "reports"
    out.mkdir(exist_ok=True)
    written = []
    jobs = [("daily", "html", last_day), ("weekly", "html", final_day),
            ("weekly", "xlsx", final_day), ("monthly", "html", final_day)]
    with _silenced(True):
        for kind, fmt, on in jobs:
            target = out / f"{kind}-{on.isoformat()}.{fmt}"
            if _kfw(ws, "report", kind, "--as-of", on.isoformat(), "--format", fmt,
                    "--out", str(target)) == 0:
                written.append(target)
        dashboard = out / "dashboard"
        if _kfw(ws, "report", "dashboard", "--out", str(dashboard)) == 0:
            written.append(dashboard / "index.html")
    return written


def _audit(ws: Workspace, quiet: bool) -> dict[str, bool]:
    if not _has_command("audit"):
        return {}
    with _silenced(True):
        return {"verify": _kfw(ws, "audit", "verify") == 0,
                "replay": _kfw(ws, "audit", "replay") == 0}


def _summary(ws: Workspace, directory: Path, last_day: date, runs: int, reports: list[Path],
             audit_ok: dict[str, bool], seconds: float) -> None:
    from kfworkflow.demo.summary import (
        assignment_counts,
        example_project,
        last_places,
        target_progress,
    )
    from kfworkflow.reports.messages import messages

    words = messages("zh")
    policies = ws.policies
    echo = click.echo
    echo("")
    echo(f"kfw demo — {policies.campaign.title}, {PLAN_DATE} → {last_day} "
         f"({seconds:.0f} s, workspace {directory})")
    with read_session(ws.ready_engine()) as session:
        for on in (date(2022, 11, 30), CAMPAIGN_END):
            if on > last_day:
                continue
            echo(f"\n攻坚目标 targets on {on}:")
            for item in target_progress(session, policies, on):
                echo(f"  {item.target.title}: {item.shown()}  [{item.mark()}]")
        counts = assignment_counts(session)
        places = last_places(session, policies)
        example = example_project(session)
    by_level = "，".join(f"{LEVEL_NAMES.get(k, k)} {v}" for k, v in
                         sorted(counts["by_level"].items(),
                                key=lambda kv: list(LEVEL_NAMES).index(kv[0])
                                if kv[0] in LEVEL_NAMES else 9))
    by_status = "，".join(f"{words.get('status_' + k, k)} {v}"
                          for k, v in sorted(counts["by_status"].items()))
    echo(f"\n交办事项 assignments: {counts['total']} 项（当前层级 by current level: {by_level}）")
    echo(f"  曾升级 escalated at least once: {counts['escalated']}；"
         f"当前状态 by status: {by_status}")
    for period, ranked_on, county in places:
        echo(f"末位表态 last place of {period} (ranked {ranked_on}): {county}")
    echo(f"\n调度 passes run: {runs}")
    if audit_ok:
        echo("审计 audit: " + ", ".join(f"{k} {'ok' if v else 'FAILED'}"
                                      for k, v in audit_ok.items()))
    for path in reports:
        echo(f"报告 report: {path}")
    echo("\n接下来可以试试 Try next:")
    kfw = "kfw " + " ".join(_target(ws))
    echo(f"  {kfw} status --as-of {last_day}")
    echo(f"  {kfw} assignments list --level city --as-of {last_day}")
    if example:
        echo(f"  {kfw} audit explain --project {example}")


def register(cli: click.Group) -> None:
    cli.add_command(demo_command)
