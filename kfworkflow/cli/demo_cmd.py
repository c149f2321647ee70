"""``kfw demo``: the Kaifeng 2022 campaign on a fresh workspace, end to end.

The demo owns its clock: every step runs at the business date it simulates (18:00 Beijing time
on each working day of the campaign), so its output is the same on every machine.
"""

from __future__ import annotations

import shutil
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import click

from kfworkflow.cli.context import pass_workspace
from kfworkflow.engine.imports import import_daily, import_ledger
from kfworkflow.engine.workspace import Workspace, init_workspace
from kfworkflow.storage.db import read_session
from kfworkflow.storage.queries import ledger_counts
from kfworkflow.timefmt import FixedClock

PLAN_DATE = date(2022, 11, 14)
CAMPAIGN_END = date(2022, 12, 31)


def _evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)  # 18:00 in Beijing


@click.command("demo")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=Path("kfw-demo"), show_default=True, help="Workspace to create.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default="2022-12-31",
              show_default=True, help="Last campaign day to simulate.")
@click.option("--quiet", is_flag=True, help="Only the summary.")
@pass_workspace
def demo_command(workspace: Workspace, directory: Path, until: datetime, quiet: bool) -> None:
    """Create a workspace, import the synthetic Kaifeng 2022 ledger and replay the campaign."""
    from kfworkflow.demo.campaign import simulate_campaign
    from kfworkflow.demo.files import write_daily_csv, write_ledger_xlsx
    from kfworkflow.demo.ledger_gen import generate_ledger

    started = time.perf_counter()
    say = (lambda *_a, **_k: None) if quiet else click.echo
    last_day = min(until.date(), CAMPAIGN_END)
    if directory.exists():
        shutil.rmtree(directory)
    init_workspace(directory, db=workspace.db)
    ws = Workspace(directory, db=workspace.db, actor="demo", clock=FixedClock(_evening(PLAN_DATE)))
    data = directory / "data"
    data.mkdir(exist_ok=True)
    ledger = generate_ledger()
    ledger_file = data / "kaifeng-2022-ledger.xlsx"
    write_ledger_xlsx(ledger, ledger_file)
    outcome = import_ledger(ws, ledger_file)
    say(f"ledger: {outcome.result.created} projects imported from {ledger_file}")
    days = [(d, rows) for d, rows in simulate_campaign(ledger) if d <= last_day]
    with click.progressbar(days, label="campaign days", show_pos=True,
                           file=None if not quiet else open("/dev/null", "w")) as bar:
        for day, rows in bar:
            ws.clock = FixedClock(_evening(day))
            daily_file = data / f"daily-{day.isoformat()}.csv"
            write_daily_csv(rows, daily_file)
            if rows:
                import_daily(ws, daily_file)
    ws.clock = FixedClock(_evening(last_day) + timedelta(hours=1))
    with read_session(ws.ready_engine()) as session:
        counts = ledger_counts(session)
    click.echo(f"kfw demo: workspace {directory}, {counts['projects']} projects, "
               f"{len(days)} campaign days to {last_day}, "
               f"{time.perf_counter() - started:.1f} s")
    for state, count in counts["by_state"].items():
        click.echo(f"  {state:15} {count}")
    click.echo("Try next:")
    click.echo(f"  kfw -w {directory} status")
    click.echo(f"  kfw -w {directory} ledger list --county lankao")
    click.echo(f"  kfw -w {directory} problem list --status open")


def register(cli: click.Group) -> None:
    cli.add_command(demo_command)
