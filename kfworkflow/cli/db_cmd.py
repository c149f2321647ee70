"""``kfw init`` and ``kfw db``: workspaces and schema migrations."""

from __future__ import annotations

from pathlib import Path

import click

from kfworkflow.cli.context import pass_workspace
from kfworkflow.cli.output import echo_json, json_option
from kfworkflow.engine.workspace import Workspace, init_workspace
from kfworkflow.storage import migrate


@click.command("init")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite policies.yaml and rules/ with the defaults.")
@pass_workspace
def init_command(workspace: Workspace, directory: Path | None, force: bool) -> None:
    """Create a workspace: default policies.yaml and rules/, and the database."""
    root = directory or workspace.root
    written = init_workspace(root, db=workspace.db, force=force)
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"database ready: {Workspace(root, db=workspace.db).db_url}")


@click.group("db")
def db_group() -> None:
    """Database schema migrations (Alembic)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_workspace
def db_upgrade(workspace: Workspace, revision: str) -> None:
    """Apply migrations up to REVISION."""
    migrate.upgrade(workspace.engine, revision)
    click.echo(f"database at migration {migrate.current_revision(workspace.engine)}")


@db_group.command("current")
@json_option
@pass_workspace
def db_current(workspace: Workspace, as_json: bool) -> None:
    """Show the database's migration and the latest one."""
    data = {"url": workspace.engine.url.render_as_string(hide_password=True),
            "current": migrate.current_revision(workspace.engine),
            "head": migrate.head_revision(workspace.engine)}
    if as_json:
        echo_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key}: {value}")


def register(cli: click.Group) -> None:
    cli.add_command(init_command)
    cli.add_command(db_group)
