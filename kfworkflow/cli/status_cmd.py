"""``kfw status``: one screen on the state of the campaign."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from typing import Any

import click
from sqlalchemy import func, select
from sqlmodel import Session, col

from kfworkflow.cli.context import DATE, pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.engine.workspace import Workspace
from kfworkflow.lifecycle.assignments import ESCALATED, IN_PROGRESS, NEW, OVERDUE
from kfworkflow.storage.db import read_session
from kfworkflow.storage.engine_models import Assignment, MetricSnapshot
from kfworkflow.storage.queries import last_report_on, ledger_counts

UNRESOLVED = (NEW, IN_PROGRESS, ESCALATED, OVERDUE)



def _lights_by_county(session: Session) -> tuple[Any, dict[str, dict[str, int]]]:
    """Red / yellow / green overall lights per county, from the latest daily snapshot."""
    latest = session.execute(select(func.max(col(MetricSnapshot.as_of))).where(
        col(MetricSnapshot.scope_kind) == "county")).scalar()
    if latest is None:
        return None, {}
    rows = session.execute(select(MetricSnapshot).where(
        col(MetricSnapshot.scope_kind) == "county", col(MetricSnapshot.as_of) == latest)
        .order_by(col(MetricSnapshot.id))).scalars()
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        out[row.scope_key] = dict(json.loads(row.metrics).get("counts") or {})
    return latest, out


def _assignments(session: Session, today: Any) -> dict[str, Any]:
    rows = session.execute(select(col(Assignment.level), col(Assignment.status), func.count())
                           .group_by(col(Assignment.level), col(Assignment.status))).all()
    table: dict[str, Counter[str]] = {}
    for level, status, count in rows:
        table.setdefault(level, Counter())[status] += count
    overdue = session.execute(select(func.count()).select_from(Assignment).where(
        col(Assignment.status).in_(UNRESOLVED),
        col(Assignment.deadline_on) < today)).scalar_one()
    return {"by_level_status": {k: dict(v) for k, v in table.items()}, "past_deadline": overdue}


def _failures(workspace: Workspace) -> list[dict[str, Any]]:
    """Passes the scheduler gave up on after its last try, not yet run since."""
    from kfworkflow.scheduling import read_state

    return [{k: f.get(k) for k in ("kind", "period_key", "error", "tries", "started_at")}
            for f in read_state(workspace).get("failures", [])]


def _passes(workspace: Workspace) -> dict[str, Any]:
    from kfworkflow.engine.passes import last_runs
    from kfworkflow.scheduling import next_runs

    last = last_runs(workspace)
    upcoming: dict[str, Any] = {}
    for run in next_runs(workspace.policies, workspace.clock.now(), 40):
        upcoming.setdefault(run.kind, run.fire_at)
    return {kind: {"last_period": (last.get(kind) or {}).get("period"),
                   "last_as_of": (last.get(kind) or {}).get("as_of"),
                   "next_at": upcoming.get(kind)}
            for kind in ("daily", "weekly", "monthly")}


@click.command("status")
@click.option("--as-of", "as_of", type=DATE,
              help="Count items past their deadline as of this date; default today.")
@json_option
@pass_workspace
def status_command(workspace: Workspace, as_of: date | None, as_json: bool) -> None:
    """Projects by category and state, lights by county, open assignments, the passes
    (last and next run of each kind, and any the scheduler gave up on)."""
    policies = workspace.policies
    with read_session(workspace.ready_engine()) as session:
        counts = ledger_counts(session)
        counts["last_report_on"] = last_report_on(session)
        lights_on, lights = _lights_by_county(session)
        assignments = _assignments(session, as_of or workspace.today())
    data = {**counts, "lights_on": lights_on, "lights_by_county": lights,
            "assignments": assignments, "passes": _passes(workspace),
            "failed_passes": _failures(workspace)}
    if as_json:
        echo_json(data)
        return
    county_name = {c.id: c.name for c in policies.counties}
    category_name = {c.id: c.name for c in policies.categories}
    click.echo(f"projects: {counts['projects']}    last report: {counts['last_report_on'] or '-'}")
    click.echo("")
    order = list(policies.milestones)
    states = sorted(counts["by_state"], key=lambda m: order.index(m) if m in order else 99)
    labels = [policies.milestones.get(s, s) for s in states]
    echo_table(["category", *labels, "total"], [
        [category_name.get(cat, cat), *[row.get(s, 0) for s in states], sum(row.values())]
        for cat, row in counts["by_category_state"].items()
    ])
    click.echo("")
    header = f"lights on {lights_on}" if lights_on else "lights"
    echo_table(["county", "projects", f"red ({header})", "yellow", "green"], [
        [county_name.get(k, k), v, lights.get(k, {}).get("red", "-"),
         lights.get(k, {}).get("yellow", "-"), lights.get(k, {}).get("green", "-")]
        for k, v in counts["by_county"].items()])
    by_level = assignments["by_level_status"]
    if by_level:
        click.echo("")
        statuses = sorted({s for row in by_level.values() for s in row})
        echo_table(["assignments", *statuses], [
            [level, *[by_level[level].get(s, 0) for s in statuses]]
            for level in ("county", "city", "province") if level in by_level])
        click.echo(f"open items past their deadline: {assignments['past_deadline']}")
    click.echo("")
    echo_table(["pass", "last period", "as of", "next run (UTC)"], [
        [kind, p["last_period"] or "-", p["last_as_of"] or "-", p["next_at"] or "-"]
        for kind, p in data["passes"].items()])
    if data["failed_passes"]:
        click.echo("")
        click.echo("FAILED passes (the scheduler gave up after its last try; "
                   "`kfw scheduler status` has the details):")
        for item in data["failed_passes"]:
            click.echo(f"  {item['kind']} {item['period_key']}: {item['error']} "
                       f"({item['tries']} tries)")


def register(cli: click.Group) -> None:
    cli.add_command(status_command)
