"""``kfw``: the entry point, global options and the translation of errors to exit codes.

Exit codes: 0 ok; 1 error; 2 usage error; 3 findings (invalid rules, failed rule tests, a
broken decision log, a diverging replay); 4 the same pass period is already running.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from kfworkflow import __version__
from kfworkflow.cli import (
    assignments_cmd,
    audit_cmd,
    calendar_cmd,
    db_cmd,
    demo_cmd,
    ledger_cmd,
    pass_cmd,
    project_cmds,
    report_cmd,
    rules_cmd,
    scheduler_cmd,
    status_cmd,
)
from kfworkflow.cli.context import workspace_from
from kfworkflow.cli.output import dumps
from kfworkflow.errors import FindingsError, InputError, KfwError


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-w", "--workspace", "root", type=click.Path(file_okay=False, path_type=Path),
              default=lambda: os.environ.get("KFW_WORKSPACE", "."), show_default="current folder",
              help="Workspace folder (policies.yaml, rules/, kfw.db). Env: KFW_WORKSPACE.")
@click.option("--db", metavar="URL", default=None,
              help="Database URL; default $KFW_DATABASE_URL, else sqlite kfw.db in the workspace.")
@click.option("--actor", metavar="NAME", default=None,
              help="Who is acting, recorded on every change. Env: KFW_ACTOR; default OS user.")
@click.version_option(__version__, prog_name="kfw")
@click.pass_context
def cli(ctx: click.Context, root: Path, db: str | None, actor: str | None) -> None:
    """kfworkflow: keep key investment projects moving.

    Ledger and milestones, daily dispatch, weekly assignment with county → city → province
    escalation, monthly ranking, and an auditable decision log.
    """
    workspace_from(ctx, root, db, actor)


for module in (db_cmd, ledger_cmd, project_cmds, rules_cmd, calendar_cmd, status_cmd,
               demo_cmd, scheduler_cmd, audit_cmd, pass_cmd, assignments_cmd, report_cmd):
    module.register(cli)


def _report(error: KfwError, as_json: bool) -> None:
    findings = getattr(error, "findings", [])
    if as_json:
        details = getattr(error, "details", None) or {}
        click.echo(dumps({"error": str(error), "code": type(error).__name__,
                          "findings": [f.to_dict() for f in findings], **details}))
    click.echo(f"Error: {error}", err=True)
    if [str(f) for f in findings] == [str(error)]:
        return  # the one finding is the message itself
    for finding in findings[:200]:
        click.echo(f"  {finding}", err=True)
    if len(findings) > 200:
        click.echo(f"  ... and {len(findings) - 200} more", err=True)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        returned = cli.main(args=args, prog_name="kfw", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except FindingsError as exc:
        _report(exc, "--json" in args)
        return exc.exit_code
    except (KfwError, InputError) as exc:
        _report(exc, "--json" in args)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    # with standalone_mode=False click returns the code of a command that raised Exit
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":
    sys.exit(main())
