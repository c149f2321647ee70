"""``kfw calendar``: see what the engine counts as a working day."""

from __future__ import annotations

from datetime import date

import click

from kfworkflow.cli.context import DATE, pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.engine.workspace import Workspace


@click.group("calendar")
def calendar_group() -> None:
    """The working-day calendar (statutory holidays, make-up workdays, local data file)."""


@calendar_group.command("show")
@click.argument("year", type=int)
@json_option
@pass_workspace
def calendar_show(workspace: Workspace, year: int, as_json: bool) -> None:
    """List every holiday and make-up workday of YEAR."""
    calendar = workspace.calendar
    calendar.check_years([year])
    rows = calendar.show(year)
    if as_json:
        echo_json({"year": year, "version": calendar.version, "days": rows})
        return
    click.echo(f"calendar {calendar.version}")
    echo_table(["date", "weekday", "kind", "name"],
               [[r["date"], r["weekday"], r["kind"], r["name"]] for r in rows])


@calendar_group.command("add-workdays")
@click.argument("start", type=DATE)
@click.argument("days", type=int)
@json_option
@pass_workspace
def calendar_add(workspace: Workspace, start: date, days: int, as_json: bool) -> None:
    """The date DAYS working days after START (START itself not counted), and what was skipped."""
    calendar = workspace.calendar
    result = calendar.add_workdays(start, days)
    skipped = calendar.skipped_days(start, days)
    if as_json:
        echo_json({"start": start, "workdays": days, "result": result,
                   "skipped": [{"date": d, "why": why} for d, why in skipped],
                   "version": calendar.version})
        return
    click.echo(f"{start} + {days} working days = {result}")
    for day, why in skipped:
        click.echo(f"  skipped {day} ({why})")


def register(cli: click.Group) -> None:
    cli.add_command(calendar_group)
