"""``kfw status``: one screen on the state of the campaign."""

from __future__ import annotations

import click

from kfworkflow.cli.context import pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.engine.workspace import Workspace
from kfworkflow.storage.db import read_session
from kfworkflow.storage.queries import last_report_on, ledger_counts


@click.command("status")
@json_option
@pass_workspace
def status_command(workspace: Workspace, as_json: bool) -> None:
    """Counts by category, county and state; latest report date."""
    policies = workspace.policies
    with read_session(workspace.ready_engine()) as session:
        counts = ledger_counts(session)
        counts["last_report_on"] = last_report_on(session)
    if as_json:
        echo_json(counts)
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
    echo_table(["county", "projects"], [[county_name.get(k, k), v]
                                        for k, v in counts["by_county"].items()])


def register(cli: click.Group) -> None:
    cli.add_command(status_command)
