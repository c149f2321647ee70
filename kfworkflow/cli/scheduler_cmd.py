"""``kfw scheduler``: run the passes on their schedules, show the plan and the status."""

from __future__ import annotations

import logging
import sys
from datetime import date, datetime, timedelta
from typing import Any

import click

from kfworkflow.cli.context import pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import NotFoundError
from kfworkflow.scheduling import (
    RetryPolicy,
    SessionReport,
    next_runs,
    run_forever,
    run_once,
    status_overview,
)
from kfworkflow.storage.db import read_session
from kfworkflow.storage.rule_store import in_force

_HANDLER_NAME = "kfw-scheduler"


@click.group("scheduler")
def scheduler_group() -> None:
    """Run the daily, weekly and monthly passes on the schedules in policies.yaml."""


@scheduler_group.command("run")
@click.option("--once", is_flag=True, help="Catch up every pass that is due, then exit.")
@click.option("--tries", type=click.IntRange(min=1), default=3, show_default=True,
              help="Tries per pass before it is reported as failed.")
@click.option("--backoff", type=click.FloatRange(min=0), default=60.0, show_default=True,
              help="Seconds before the second try; doubled before each further try.")
@click.option("--recheck-minutes", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Also catch up this often, so a period skipped because it was running "
                   "elsewhere is taken up soon; 0: only when a schedule fires.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              default="info", show_default=True, help="Log detail on stderr.")
@json_option
@pass_workspace
def scheduler_run(workspace: Workspace, once: bool, tries: int, backoff: float,
                  recheck_minutes: float, log_level: str, as_json: bool) -> None:
    """Run the passes on their schedules until SIGTERM or Ctrl-C.

    At start, and whenever a schedule fires, every period whose pass has not run and whose
    scheduled time has come runs once, in order; one run more than catch_up_grace_hours late is
    logged as late. A stop signal lets the running pass finish (or roll back) and exits 0.
    With --once: catch up, then exit (1 if a pass failed after its tries).
    """
    _log_to_stderr(log_level)
    retry = RetryPolicy(tries=tries, backoff_seconds=backoff)
    if once:
        report = run_once(workspace, retry=retry)
    else:
        report = run_forever(workspace, retry=retry, recheck=timedelta(minutes=recheck_minutes))
    if as_json:
        echo_json(report.to_dict())
    else:
        _echo_report(report, once, workspace.policies.schedules.catch_up_grace_hours)
    if once and not report.ok:
        # a ClickException keeps stdout to the report (one JSON document with --json)
        raise click.ClickException("the catch-up stopped at a failure; it is retried at the "
                                   "next round (`kfw scheduler status` lists it)")


def _log_to_stderr(level: str) -> None:
    logger = logging.getLogger("kfworkflow")
    for old in [h for h in logger.handlers if h.get_name() == _HANDLER_NAME]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(level.upper())


def _local(value: str | datetime | None, workspace: Workspace) -> str:
    if value is None:
        return "-"
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    return instant.astimezone(workspace.policies.tz).strftime("%Y-%m-%d %H:%M")


def _echo_report(report: SessionReport, once: bool, grace_hours: float) -> None:
    data = report.to_dict()
    if report.stop_reason:
        click.echo(f"stopped on {report.stop_reason}; no pass was left half-done")
    elif once:
        click.echo("caught up" if report.ok else "stopped at a failure")
    sections = [("ran", data["ran"]), ("already done elsewhere", data["already_done"]),
                ("skipped, already running elsewhere", data["skipped_busy"])]
    for title, items in sections:
        if items:
            click.echo(f"{title}: " + _some([f"{r['kind']} {r['period_key']}" for r in items]))
    if data["late"]:
        click.echo(f"late (more than {grace_hours:g} h after due): " + _some(
            [f"{r['kind']} {r['period_key']} ({r['late_by_hours']:g} h)" for r in data["late"]]))
    for item in data["failed"]:
        click.echo(f"failed after {item['tries']} tries: {item['kind']} {item['period_key']}: "
                   f"{item['error']}")
    for error in data["errors"]:
        click.echo(f"error: {error}")
    if not report.records and not report.errors:
        click.echo("no pass was due")


def _some(items: list[str], most: int = 12) -> str:
    """All the items, or the first and last few of a long list (``--json`` has them all)."""
    if len(items) <= most:
        return ", ".join(items)
    return ", ".join([*items[:most - 3], f"... {len(items) - most + 1} more ...", *items[-2:]])


@scheduler_group.command("plan")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True,
              help="How many days ahead.")
@json_option
@pass_workspace
def scheduler_plan(workspace: Workspace, days: int, as_json: bool) -> None:
    """The next scheduled runs, their business dates and the rule revision that will apply."""
    policies = workspace.policies
    now = workspace.clock.now()
    runs = next_runs(policies, now, days)
    revisions: dict[date, str | None] = {}
    with read_session(workspace.ready_engine()) as session:
        for day in sorted({run.business_date for run in runs}):
            try:
                revisions[day] = in_force(session, day).revision
            except NotFoundError:
                revisions[day] = None
    rows: list[dict[str, Any]] = [{"kind": run.kind, "fire_at": run.fire_at,
             "fire_at_local": run.fire_at.astimezone(policies.tz).isoformat(),
             "business_date": run.business_date, "rule_revision": revisions[run.business_date]}
            for run in runs]
    missing = sorted({row["business_date"] for row in rows if row["rule_revision"] is None})
    if as_json:
        echo_json({"timezone": policies.timezone, "after": now, "days": days, "runs": rows,
                   "no_rules_on": missing})
        return
    click.echo(f"next {days} day(s), times in {policies.timezone}")
    echo_table(["kind", "fires at", "business date", "rule revision"],
               [[row["kind"], _local(row["fire_at"], workspace), row["business_date"],
                 row["rule_revision"] or "none published"] for row in rows])
    if missing:
        click.echo(f"no rule version is in force on {missing[0]}"
                   + (f" (and {len(missing) - 1} later day(s))" if len(missing) > 1 else "")
                   + ": those passes will fail; publish one with `kfw rules publish "
                   f"--effective-from {missing[0]}` (or earlier)")


@scheduler_group.command("status")
@json_option
@pass_workspace
def scheduler_status(workspace: Workspace, as_json: bool) -> None:
    """Last and next run of each pass kind; overdue, late and failed passes."""
    workspace.ready_engine()
    data = status_overview(workspace)
    if as_json:
        echo_json(data)
        return
    click.echo(f"now {_local(data['now'], workspace)} {data['timezone']}")
    echo_table(["kind", "schedule", "last run", "next run"],
               [[k["kind"], k["schedule"], _last_run(k["last_run"]),
                 _local(k["next_run_at"], workspace)] for k in data["kinds"]])
    if data["overdue"]:
        click.echo("")
        click.echo("due and not run yet (is a scheduler running?):")
        for item in data["overdue"][:10]:
            click.echo(f"  {item['kind']} {item['period_key']}: due "
                       f"{_local(item['due_at'], workspace)}" + (" (late)" if item["late"] else ""))
        if len(data["overdue"]) > 10:
            click.echo(f"  ... and {len(data['overdue']) - 10} more (--json lists them all)")
    if data["failures"]:
        click.echo("")
        click.echo("failed after all tries (retried at the next round):")
        for item in data["failures"]:
            click.echo(f"  {item['kind']} {item['period_key']}: {item['error']} "
                       f"({item['tries']} tries, {_local(item['started_at'], workspace)}, "
                       f"{item['host']} pid {item['pid']})")
    if data["late"]:
        click.echo("")
        click.echo("recent late runs:")
        for item in data["late"][-10:]:
            click.echo(f"  {item['kind']} {item['period_key']}: due "
                       f"{_local(item['due_at'], workspace)}, ran "
                       f"{_local(item['started_at'], workspace)} ({item['late_by_hours']:g} h)")
    if data["last_error"]:
        click.echo("")
        click.echo(f"last error: {data['last_error']['error']} "
                   f"({_local(data['last_error']['at'], workspace)})")
    for note in data["notes"]:
        click.echo(f"note: {note}")


def _last_run(run: dict[str, Any] | None) -> str:
    if not run:
        return "-"
    period = run.get("period_key") or run.get("as_of") or "?"
    run_id = run.get("run_id") or run.get("id")
    return f"{period} {run.get('status', '')}" + (f" (run {run_id})" if run_id else "")


def register(cli: click.Group) -> None:
    cli.add_command(scheduler_group)
