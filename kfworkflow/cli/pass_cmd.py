"""``kfw pass``: run the daily, weekly and monthly passes, catch up, list runs."""

from __future__ import annotations

from datetime import date

import click

from kfworkflow.cli.context import DATE, pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.engine.passes import PASS_KINDS, PassResult, catch_up, list_runs, run_pass
from kfworkflow.engine.workspace import Workspace


@click.group("pass")
def pass_group() -> None:
    """Daily dispatch, weekly assignment (周交办) and monthly ranking passes."""


def _echo_result(result: PassResult) -> None:
    click.echo(result.message)


@pass_group.command("run")
@click.argument("kind", type=click.Choice(PASS_KINDS))
@click.option("--as-of", "as_of", type=DATE, help="Business date of the pass; default today.")
@click.option("--rerun", is_flag=True,
              help="Run a period that is done again; records a superseding run, never "
                   "duplicates assignments or escalates twice.")
@json_option
@pass_workspace
def pass_run(workspace: Workspace, kind: str, as_of: date | None, rerun: bool,
             as_json: bool) -> None:
    """Run one pass in one transaction. A period already done changes nothing (exit 0).

    Exit 4 when the same period is already running elsewhere.
    """
    result = run_pass(workspace, kind, as_of or workspace.today(), rerun=rerun)
    if as_json:
        echo_json(result.to_dict())
    else:
        _echo_result(result)


@pass_group.command("catch-up")
@click.option("--until", type=DATE, help="Last date to catch up to; default today.")
@json_option
@pass_workspace
def pass_catch_up(workspace: Workspace, until: date | None, as_json: bool) -> None:
    """Run every missed period in date order (daily on working days, weekly on Mondays,
    monthly on the 1st), from the first published rule version's effective date."""
    results = catch_up(workspace, until or workspace.today())
    if as_json:
        echo_json([r.to_dict() for r in results])
        return
    if not results:
        click.echo("nothing to catch up: every period is done")
    for result in results:
        _echo_result(result)


@pass_group.command("list")
@click.option("--kind", type=click.Choice(PASS_KINDS), help="Only this kind.")
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@pass_workspace
def pass_list(workspace: Workspace, kind: str | None, limit: int, as_json: bool) -> None:
    """Pass runs, newest first."""
    runs = list_runs(workspace, kind=kind, limit=limit)
    if as_json:
        echo_json(runs)
        return
    echo_table(["id", "kind", "period", "as_of", "status", "revision", "decisions", "ms",
                "supersedes", "error"],
               [[r["id"], r["kind"], r["period"], r["as_of"], r["status"], r["revision"],
                 r["counts"].get("decisions", ""), r["duration_ms"], r["supersedes"],
                 (r["error"] or "")[:60]] for r in runs])


def register(cli: click.Group) -> None:
    cli.add_command(pass_group)
