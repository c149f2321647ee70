"""``kfw daily``, ``kfw event``, ``kfw problem``, ``kfw exempt``: recording progress."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from kfworkflow.cli.context import DATE, pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.engine.imports import add_daily, import_daily
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import InputError
from kfworkflow.ledger.records import LEVEL_NAMES, DailyRecord
from kfworkflow.storage.db import read_session, write_session
from kfworkflow.storage.projects import (
    add_exemption,
    end_exemption,
    get_project,
    open_problem,
    record_milestone,
    resolve_problem,
)
from kfworkflow.storage.queries import codes_by_id, problem_dict, problems


@click.group("daily")
def daily_group() -> None:
    """Daily reports (日调度): cumulative investment, funds, milestones, problems."""


def _daily_summary(result: Any, source: str) -> dict[str, Any]:
    return {"source": source, "reports": result.reports, "unchanged": result.unchanged,
            "milestones": result.milestones, "problems": result.problems,
            "counties": result.counties}


@daily_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--skip-bad", "rejects", type=click.Path(dir_okay=False, path_type=Path),
              help="Import the good rows; write each rejected row with its reason to this CSV.")
@json_option
@pass_workspace
def daily_import(workspace: Workspace, file: Path, rejects: Path | None, as_json: bool) -> None:
    """Import daily reports from .xlsx or .csv; late reports for past dates are kept."""
    outcome = import_daily(workspace, file, skip_bad=rejects)
    data = {**_daily_summary(outcome.result, str(file)), "rejected": outcome.rejected_rows}
    if as_json:
        echo_json(data)
        return
    click.echo(f"{file}: {data['reports']} reports, {data['unchanged']} unchanged, "
               f"{data['milestones']} milestones, {data['problems']} new problems, "
               f"{data['rejected']} rejected")


@daily_group.command("add")
@click.argument("code")
@click.option("--on", "report_on", type=DATE, help="Date reported for; default today.")
@click.option("--investment", type=float, help="Cumulative completed investment (万元).")
@click.option("--funds-arrived", type=float, help="Cumulative funds arrived (万元).")
@click.option("--funds-disbursed", type=float, help="Cumulative funds disbursed (万元).")
@click.option("--milestone", help="Milestone reached, e.g. started.")
@click.option("--milestone-on", type=DATE, help="Date of the milestone; default the report date.")
@click.option("--problem", "problem_title", help="A new problem's description.")
@click.option("--problem-type", help="前期手续 / 前期工作 / 要素资源 / 施工环境 / 资金, or its id.")
@click.option("--problem-level", type=click.Choice(["county", "city", "province"]),
              default="county", show_default=True)
@click.option("--note")
@json_option
@pass_workspace
def daily_add(workspace: Workspace, code: str, report_on: date | None,
              investment: float | None, funds_arrived: float | None,
              funds_disbursed: float | None, milestone: str | None, milestone_on: date | None,
              problem_title: str | None, problem_type: str | None, problem_level: str,
              note: str | None, as_json: bool) -> None:
    """Record one project's report for one date."""
    policies = workspace.policies
    if problem_title and not problem_type:
        raise click.UsageError("--problem needs --problem-type")
    type_id = _problem_type(workspace, problem_type) if problem_type else None
    record = DailyRecord(row=1, code=code, report_on=report_on or workspace.today(),
                         completed_investment=investment, funds_arrived=funds_arrived,
                         funds_disbursed=funds_disbursed,
                         milestone=_milestone(workspace, milestone) if milestone else None,
                         milestone_on=milestone_on, problem_type=type_id,
                         problem_level=problem_level, problem_title=problem_title, note=note)
    del policies
    result = add_daily(workspace, record)
    data = _daily_summary(result, "kfw daily add")
    if as_json:
        echo_json(data)
    else:
        click.echo(f"{code}: report for {record.report_on} recorded"
                   if result.reports else f"{code}: same report already recorded")


def _milestone(workspace: Workspace, value: str) -> str:
    for milestone, label in workspace.policies.milestones.items():
        if value in (milestone, label):
            return milestone
    known = ", ".join(workspace.policies.milestones)
    raise InputError(f"unknown milestone {value!r}; expected one of {known}")


def _problem_type(workspace: Workspace, value: str) -> str:
    for problem_type in workspace.policies.problem_types:
        if value in (problem_type.id, problem_type.name):
            return problem_type.id
    known = ", ".join(f"{p.id} ({p.name})" for p in workspace.policies.problem_types)
    raise InputError(f"unknown problem type {value!r}; expected one of {known}")


@click.command("event")
@click.argument("code")
@click.argument("milestone")
@click.option("--on", "occurred_on", type=DATE, help="Date of the fact; default today.")
@click.option("--reason", help="Why; required for adjusted (调出).")
@json_option
@pass_workspace
def event_command(workspace: Workspace, code: str, milestone: str, occurred_on: date | None,
                  reason: str | None, as_json: bool) -> None:
    """Record that project CODE reached MILESTONE (started, adjusted with --reason, ...)."""
    milestone_id = "adjusted" if milestone in ("adjusted", "调出") else _milestone(workspace,
                                                                                  milestone)
    today = workspace.today()
    with write_session(workspace.ready_engine()) as session:
        project = get_project(session, code, lock=True)
        move = record_milestone(session, workspace.lifecycle, project, milestone_id,
                                occurred_on or today, today=today, now=workspace.clock.now(),
                                actor=workspace.actor, source="kfw event", reason=reason)
    data = {"code": move.code, "from": move.from_state, "to": move.to_state,
            "on": move.occurred_on}
    if as_json:
        echo_json(data)
    else:
        click.echo(f"{move.code}: {move.from_state} → {move.to_state} on {move.occurred_on}")


@click.group("problem")
def problem_group() -> None:
    """Problems (问题事项) that need county, city or province coordination."""


@problem_group.command("open")
@click.argument("code")
@click.option("--type", "type_", required=True, help="Problem type id or name, e.g. 要素资源.")
@click.option("--level", type=click.Choice(["county", "city", "province", "县级", "市级", "省级"]),
              required=True, help="Level whose coordination it needs.")
@click.option("--title", required=True, help="What the problem is.")
@click.option("--on", "opened_on", type=DATE, help="Date opened; default today.")
@json_option
@pass_workspace
def problem_open(workspace: Workspace, code: str, type_: str, level: str, title: str,
                 opened_on: date | None, as_json: bool) -> None:
    """Open a problem on project CODE."""
    type_id = _problem_type(workspace, type_)
    with write_session(workspace.ready_engine()) as session:
        project = get_project(session, code)
        problem, created = open_problem(session, project, type_=type_id,
                                        level=LEVEL_NAMES.get(level, level), title=title,
                                        opened_on=opened_on or workspace.today(),
                                        now=workspace.clock.now(), actor=workspace.actor,
                                        source="kfw problem open")
        data = problem_dict(problem, code)
    if as_json:
        echo_json(data)
    else:
        click.echo(f"problem {data['id']} {'opened' if created else 'already open'} on {code}")


@problem_group.command("list")
@click.option("--status", type=click.Choice(["open", "resolved"]))
@click.option("--level", type=click.Choice(["county", "city", "province"]))
@click.option("--county")
@json_option
@pass_workspace
def problem_list(workspace: Workspace, status: str | None, level: str | None,
                 county: str | None, as_json: bool) -> None:
    """List problems."""
    with read_session(workspace.ready_engine()) as session:
        found = problems(session, status=status, level=level, county=county)
        codes = codes_by_id(session, [p.project_id for p in found])
        rows = [problem_dict(p, codes[p.project_id]) for p in found]
    if as_json:
        echo_json(rows)
        return
    echo_table(["id", "project", "type", "level", "status", "opened_on", "title"],
               [[r["id"], r["project"], r["type"], r["level"], r["status"], r["opened_on"],
                 r["title"]] for r in rows])


@problem_group.command("show")
@click.argument("problem_id", type=int)
@json_option
@pass_workspace
def problem_show(workspace: Workspace, problem_id: int, as_json: bool) -> None:
    """Show one problem."""
    with read_session(workspace.ready_engine()) as session:
        found = [p for p in problems(session) if p.id == problem_id]
        if not found:
            from kfworkflow.errors import NotFoundError

            raise NotFoundError(f"no problem with id {problem_id}")
        data = problem_dict(found[0], codes_by_id(session, [found[0].project_id])[
            found[0].project_id])
    if as_json:
        echo_json(data)
    else:
        for key, value in data.items():
            click.echo(f"{key:12} {'' if value is None else value}")


@problem_group.command("resolve")
@click.argument("problem_id", type=int)
@click.option("--note", required=True, help="How it was resolved.")
@click.option("--on", "resolved_on", type=DATE, help="Date resolved; default today.")
@pass_workspace
def problem_resolve(workspace: Workspace, problem_id: int, note: str,
                    resolved_on: date | None) -> None:
    """Mark a problem resolved."""
    with write_session(workspace.ready_engine()) as session:
        resolve_problem(session, problem_id, resolved_on=resolved_on or workspace.today(),
                        note=note, now=workspace.clock.now())
    click.echo(f"problem {problem_id} resolved")


class _DefaultToAdd(click.Group):
    """``kfw exempt CODE ...`` means ``kfw exempt add CODE ...``."""

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["add", *args]
        return super().resolve_command(ctx, args)


@click.group("exempt", cls=_DefaultToAdd)
def exempt_group() -> None:
    """Valid reasons (正当理由): `kfw exempt CODE --reason ...`, `kfw exempt end CODE`."""


@exempt_group.command("add")
@click.argument("code")
@click.option("--reason", required=True, help="The justification.")
@click.option("--from", "from_on", type=DATE, help="In force from; default today.")
@click.option("--until", "until_on", type=DATE, help="Last day in force; default open-ended.")
@pass_workspace
def exempt_add(workspace: Workspace, code: str, reason: str, from_on: date | None,
               until_on: date | None) -> None:
    """Record a valid reason for project CODE."""
    with write_session(workspace.ready_engine()) as session:
        project = get_project(session, code)
        exemption = add_exemption(session, project, reason=reason,
                                  from_on=from_on or workspace.today(), until_on=until_on,
                                  now=workspace.clock.now(), actor=workspace.actor)
    click.echo(f"valid reason {exemption.id} recorded for {code}"
               + (f" until {until_on}" if until_on else ""))


@exempt_group.command("end")
@click.argument("code")
@click.option("--on", "ended_on", type=DATE, help="Day it ends; default today.")
@pass_workspace
def exempt_end(workspace: Workspace, code: str, ended_on: date | None) -> None:
    """End the valid reasons in force for project CODE."""
    with write_session(workspace.ready_engine()) as session:
        ended = end_exemption(session, get_project(session, code),
                              ended_on=ended_on or workspace.today())
    click.echo(f"ended {len(ended)} valid reason(s) for {code}")


def register(cli: click.Group) -> None:
    for command in (daily_group, event_command, problem_group, exempt_group):
        cli.add_command(command)
