"""``kfw assignments``: the assignment list (交办单) and its lifecycle."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from kfworkflow.cli.context import DATE, pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.engine import assignments as items
from kfworkflow.engine.workspace import Workspace
from kfworkflow.lifecycle.assignments import STATUSES


@click.group("assignments")
def assignments_group() -> None:
    """Assigned items: list, show, start, resolve, close out (销号), reopen."""


def _short(text: str | None, width: int = 40) -> str:
    text = (text or "").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


@assignments_group.command("list")
@click.option("--level", type=click.Choice(items.LEVELS), help="Current level.")
@click.option("--county", help="County id, e.g. qixian.")
@click.option("--recipient", help="Recipient unit (part of its name).")
@click.option("--status", type=click.Choice(["open", "all", *STATUSES]), default="open",
              show_default=True, help="open = every item not closed out (overdue included).")
@click.option("--week", help="ISO week, e.g. 2022-W47: items numbered or assigned in it.")
@click.option("--as-of", "as_of", type=DATE, help="Count days overdue as of this date; "
                                                  "default today.")
@json_option
@pass_workspace
def assignments_list(workspace: Workspace, level: str | None, county: str | None,
                     recipient: str | None, status: str, week: str | None,
                     as_of: date | None, as_json: bool) -> None:
    """List assignments by number (overdue items stay listed until resolved)."""
    rows = items.list_assignments(workspace, level=level, county=county, recipient=recipient,
                                  status=status, week=week, on=as_of or workspace.today())
    if as_json:
        echo_json(rows)
        return
    if not rows:
        click.echo("no assignments match")
        return
    echo_table(["number", "subject", "level", "recipient", "deadline", "status", "overdue",
                "reason"],
               [[r["number"], r["subject"], r["level"], _short(r["recipient"], 24),
                 r["deadline"], r["status"], r["days_overdue"] or "", _short(r["reason"])]
                for r in rows])


def _echo_item(data: dict[str, Any]) -> None:
    for key in ("number", "subject", "project", "county", "category", "rule", "level",
                "recipient", "responsible_person", "assigned_on", "deadline", "status",
                "escalations", "days_overdue", "reopened_from", "first_of_chain", "reason",
                "resolution_note", "evidence"):
        value = data.get(key)
        if value is not None and value != "":
            click.echo(f"{key:20} {value}")


@assignments_group.command("show")
@click.argument("number")
@click.option("--as-of", "as_of", type=DATE, help="Count days overdue as of this date; "
                                                  "default today.")
@json_option
@pass_workspace
def assignments_show(workspace: Workspace, number: str, as_of: date | None,
                     as_json: bool) -> None:
    """One assignment with its history of changes."""
    data = items.show_assignment(workspace, number, on=as_of or workspace.today())
    if as_json:
        echo_json(data)
        return
    _echo_item(data)
    if data["reopened_as"]:
        click.echo(f"{'reopened_as':20} {', '.join(data['reopened_as'])}")
    click.echo("")
    echo_table(["at", "from", "to", "level", "deadline", "actor", "reason"],
               [[e["at"].strftime("%Y-%m-%d %H:%M"), e["from"] or "", e["to"], e["level"],
                 e["deadline"], e["actor"], _short(e["reason"], 50)] for e in data["events"]])


def _done(data: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        echo_json(data)
    else:
        click.echo(f"{data['number']}: {what} (status {data['status']})")


@assignments_group.command("start")
@click.argument("number")
@click.option("--note", help="What is being done.")
@json_option
@pass_workspace
def assignments_start(workspace: Workspace, number: str, note: str | None,
                      as_json: bool) -> None:
    """Mark an item in progress (办理中)."""
    _done(items.start(workspace, number, note=note), as_json, "in progress")


@assignments_group.command("resolve")
@click.argument("number")
@click.option("--note", help="How it was resolved (required).")
@click.option("--by", "by", help="The recipient unit resolving it (checked against the item).")
@json_option
@pass_workspace
def assignments_resolve(workspace: Workspace, number: str, note: str | None, by: str | None,
                        as_json: bool) -> None:
    """The recipient reports the item resolved (已办结)."""
    _done(items.resolve(workspace, number, note=note, by=by), as_json, "resolved")


@assignments_group.command("close-out")
@click.argument("number")
@click.option("--evidence", help="What confirms the resolution (required).")
@json_option
@pass_workspace
def assignments_close_out(workspace: Workspace, number: str, evidence: str | None,
                          as_json: bool) -> None:
    """The assigning level confirms a resolved item and closes it out (销号)."""
    _done(items.close_out(workspace, number, evidence=evidence), as_json, "closed out")


@assignments_group.command("reopen")
@click.argument("number")
@click.option("--reason", help="Why the closed-out item is reopened (required).")
@json_option
@pass_workspace
def assignments_reopen(workspace: Workspace, number: str, reason: str | None,
                       as_json: bool) -> None:
    """Reopen a closed-out item as a new item linked to it."""
    data = items.reopen(workspace, number, reason=reason)
    if as_json:
        echo_json(data)
    else:
        click.echo(f"{number} reopened as {data['number']}: {data['level']} "
                   f"{data['recipient']}, deadline {data['deadline']}")


def register(cli: click.Group) -> None:
    cli.add_command(assignments_group)
