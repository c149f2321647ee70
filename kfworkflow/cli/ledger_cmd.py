"""``kfw ledger``: import, export, list and show projects (一项目一清单一台账)."""

from __future__ import annotations

from pathlib import Path

import click

from kfworkflow.cli.context import pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.engine.exports import export_ledger
from kfworkflow.engine.imports import import_ledger
from kfworkflow.engine.workspace import Workspace
from kfworkflow.storage.db import read_session
from kfworkflow.storage.projects import get_project
from kfworkflow.storage.queries import list_projects, project_detail, project_dict, project_history


@click.group("ledger")
def ledger_group() -> None:
    """The project ledger (台账): import, export, list, show."""


@ledger_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-bad", "rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Import the good rows; write each rejected row with its reason to this CSV.")
@json_option
@pass_workspace
def ledger_import(workspace: Workspace, file: Path, rejects: Path | None, as_json: bool) -> None:
    """Import a ledger from .xlsx or .csv (Chinese or English headers).

    All-or-nothing by default: any bad row refuses the file and nothing is written.
    Re-importing the same file changes nothing; changed rows are recorded field by field.
    """
    outcome = import_ledger(workspace, file, skip_bad=rejects)
    result = outcome.result
    data = {"file": str(file), "created": result.created, "updated": result.updated,
            "unchanged": result.unchanged, "rejected": outcome.rejected_rows,
            "rejects_file": str(outcome.rejects_file) if outcome.rejects_file else None,
            "tasks": outcome.tasks, "changes": result.changes}
    if as_json:
        echo_json(data)
        return
    click.echo(f"{file}: {result.created} created, {result.updated} updated, "
               f"{result.unchanged} unchanged, {outcome.rejected_rows} rejected"
               + (f", {outcome.tasks} tasks" if outcome.tasks else ""))
    for change in result.changes[:50]:
        click.echo(f"  {change['code']} {change['field']}: {change['old']} → {change['new']}")
    if outcome.rejects_file:
        click.echo(f"rejected rows written to {outcome.rejects_file}")


@ledger_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@pass_workspace
def ledger_export(workspace: Workspace, file: Path) -> None:
    """Write the ledger to .xlsx or .csv in the import format."""
    count = export_ledger(workspace, file)
    click.echo(f"wrote {count} projects to {file}")


@ledger_group.command("list")
@click.option("--county", help="County id, e.g. qixian.")
@click.option("--category", help="Category id, e.g. key_project.")
@click.option("--state", help="Milestone state, e.g. started.")
@click.option("--limit", type=int, default=None)
@json_option
@pass_workspace
def ledger_list(workspace: Workspace, county: str | None, category: str | None,
                state: str | None, limit: int | None, as_json: bool) -> None:
    """List projects."""
    with read_session(workspace.ready_engine()) as session:
        projects = list_projects(session, county=county, category=category, state=state,
                                 limit=limit)
        rows = [project_dict(p) for p in projects]
    if as_json:
        echo_json(rows)
        return
    echo_table(["code", "name", "category", "county", "state", "state_on"],
               [[r["code"], r["name"], r["category"], r["county"], r["state"], r["state_on"]]
                for r in rows])


@ledger_group.command("show")
@click.argument("code")
@json_option
@pass_workspace
def ledger_show(workspace: Workspace, code: str, as_json: bool) -> None:
    """Show one project: plan, milestones, tasks, latest report, problems."""
    with read_session(workspace.ready_engine()) as session:
        detail = project_detail(session, get_project(session, code))
    if as_json:
        echo_json(detail)
        return
    for key in ("code", "name", "category", "county", "task_force", "responsible_unit",
                "responsible_person", "owner_unit", "total_investment", "annual_investment",
                "planned_funds", "state", "state_on"):
        click.echo(f"{key:20} {detail[key] if detail[key] is not None else ''}")
    if detail["milestones"]:
        click.echo("")
        echo_table(["milestone", "planned_on", "actual_on"],
                   [[m["milestone"], m["planned_on"], m["actual_on"]]
                    for m in detail["milestones"]])
    if detail["tasks"]:
        click.echo("")
        echo_table(["task", "owner", "due_on", "done_on"],
                   [[t["title"], t["owner"], t["due_on"], t["done_on"]] for t in detail["tasks"]])
    if detail["problems"]:
        click.echo("")
        echo_table(["problem", "type", "level", "status", "title"],
                   [[p["id"], p["type"], p["level"], p["status"], p["title"]]
                    for p in detail["problems"]])


@ledger_group.command("history")
@click.argument("code")
@json_option
@pass_workspace
def ledger_history(workspace: Workspace, code: str, as_json: bool) -> None:
    """Every event, change, report and problem of a project in time order."""
    with read_session(workspace.ready_engine()) as session:
        items = project_history(session, get_project(session, code))
    if as_json:
        echo_json(items)
        return
    echo_table(["on", "kind", "what", "actor", "source"],
               [[i["on"] or i["at"].date(), i["kind"], i["what"], i["actor"], i["source"]]
                for i in items])


def register(cli: click.Group) -> None:
    cli.add_command(ledger_group)
