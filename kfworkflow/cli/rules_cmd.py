"""``kfw rules``: check, test, schema, publish, versions (policy staff's tools)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from kfworkflow.cli.context import DATE, pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.config.policies import parse_policies
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import Finding, InputError, RuleCheckError, RuleTestFailedError
from kfworkflow.rules.ruleset import RuleSet, canonical_json, compile_source
from kfworkflow.rules.schema import RULES_FILE, TEST_FILE
from kfworkflow.rules.spec import read_rules
from kfworkflow.rules.testing import run_tests, test_files
from kfworkflow.storage import rule_store
from kfworkflow.storage.db import read_session, write_session


def _policies_path(workspace: Workspace, path: Path | None) -> Path:
    if path is not None:
        candidate = (path if path.is_dir() else path.parent) / "policies.yaml"
        if candidate.exists():
            return candidate
        candidate = (path if path.is_dir() else path.parent).parent / "policies.yaml"
        if candidate.exists() and path.name == "rules":
            return candidate
    return workspace.policies_path


def check_rules(workspace: Workspace, path: Path | None) -> tuple[RuleSet | None, list[Finding],
                                                                   Path, Path]:
    rules_dir = path or workspace.rules_dir
    policies_file = _policies_path(workspace, path)
    policies, findings = parse_policies(policies_file.read_text(encoding="utf-8"),
                                        str(policies_file))
    if policies is None:
        return None, findings, rules_dir, policies_file
    ruleset, rule_findings = compile_source(read_rules(rules_dir), policies)
    return ruleset, findings + rule_findings, rules_dir, policies_file


def _require(workspace: Workspace, path: Path | None) -> tuple[RuleSet, Path, Path]:
    ruleset, findings, rules_dir, policies_file = check_rules(workspace, path)
    if ruleset is None or findings:
        raise RuleCheckError(f"{len(findings)} problem(s) in {rules_dir} / {policies_file}",
                             findings)
    return ruleset, rules_dir, policies_file


@click.group("rules")
def rules_group() -> None:
    """Rules (rules/*.yaml) and policies: check, test, preview, publish."""


@rules_group.command("check")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@json_option
@pass_workspace
def rules_check(workspace: Workspace, path: Path | None, as_json: bool) -> None:
    """Validate rules and policies; quiet on success, exit 3 with every finding otherwise."""
    ruleset, findings, _, _ = check_rules(workspace, path)
    if as_json:
        echo_json({"ok": not findings, "revision": ruleset.revision if ruleset else None,
                   "findings": [f.to_dict() for f in findings]})
    elif findings:
        for finding in findings:
            click.echo(str(finding))
    if findings:
        raise click.exceptions.Exit(3)


@rules_group.command("test")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@json_option
@pass_workspace
def rules_test(workspace: Workspace, path: Path | None, as_json: bool) -> None:
    """Run the rule test cases in rules/tests/; report failures with a diff and coverage."""
    ruleset, rules_dir, _ = _require(workspace, path)
    files = test_files(rules_dir)
    report = run_tests(ruleset, files, workspace.calendar)
    if as_json:
        echo_json(report.to_dict())
    else:
        for finding in report.findings:
            click.echo(str(finding))
        for result in report.failed:
            click.echo(f"FAIL {result.file}:{result.line}: {result.note}")
            for line in result.diff:
                click.echo(f"    {line}")
        passed = len(report.results) - len(report.failed)
        covered = len(ruleset.rules) - len(report.uncovered)
        click.echo(f"{passed}/{len(report.results)} cases passed; "
                   f"rules covered: {covered}/{len(ruleset.rules)}")
        if report.uncovered:
            click.echo(f"not exercised by any case: {', '.join(report.uncovered)}")
    if report.failed or report.findings or not report.results:
        raise RuleTestFailedError(
            "no rule test cases found" if not report.results else
            f"{len(report.failed)} case(s) failed", report.findings)


@rules_group.command("schema")
@click.option("--kind", type=click.Choice(["rules", "tests", "policies"]), default="rules",
              show_default=True)
def rules_schema(kind: str) -> None:
    """Print the JSON Schema of rule files, test files or policies.yaml (editor completion)."""
    if kind == "policies":
        from kfworkflow.config.schema import POLICIES_SCHEMA

        echo_json(POLICIES_SCHEMA)
    else:
        echo_json(RULES_FILE if kind == "rules" else TEST_FILE)


@rules_group.command("publish")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--effective-from", type=DATE, help="First day in force; default today.")
@click.option("--note", help="Why this version (recorded).")
@json_option
@pass_workspace
def rules_publish(workspace: Workspace, path: Path | None, effective_from: date | None,
                  note: str | None, as_json: bool) -> None:
    """Store the current rules as an immutable version; refused (nothing stored) if invalid."""
    ruleset, rules_dir, policies_file = _require(workspace, path)
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(rules_dir.glob("*.yaml"))}
    effective = effective_from or workspace.today()
    with write_session(workspace.ready_engine()) as session:
        _refuse_retroactive(session, effective)
        version = rule_store.publish(
            session, revision=ruleset.revision, effective_from=effective,
            content=canonical_json(dict(ruleset.content)), files=files,
            policies_text=policies_file.read_text(encoding="utf-8"), actor=workspace.actor,
            now=workspace.clock.now(), note=note)
        data = _version_dict(version)
    if as_json:
        echo_json(data)
    else:
        click.echo(f"published revision {data['revision']} (version {data['id']}), in force "
                   f"from {data['effective_from']}")


def _refuse_retroactive(session: Any, effective: date) -> None:
    """容错机制: a new version never applies to dates a pass has already decided."""
    from sqlalchemy import func, select
    from sqlmodel import col

    from kfworkflow.storage.engine_models import PassRun

    last = session.execute(select(func.max(col(PassRun.as_of))).where(
        col(PassRun.status) == "succeeded")).scalar()
    if last is not None and effective <= last:
        raise InputError(
            f"--effective-from {effective} is on or before {last}, the date of a pass already "
            f"run; a new rule version cannot apply retroactively (不以新政策溯及既往). Publish "
            f"with --effective-from {last + timedelta(days=1)} or later")


def _version_dict(version: Any) -> dict[str, Any]:
    content = json.loads(version.content)
    return {"id": version.id, "revision": version.revision,
            "effective_from": version.effective_from, "published_at": version.published_at,
            "actor": version.actor, "note": version.note, "rules": len(content["rules"])}


@rules_group.command("versions")
@json_option
@pass_workspace
def rules_versions(workspace: Workspace, as_json: bool) -> None:
    """List published rule versions."""
    with read_session(workspace.ready_engine()) as session:
        rows = [_version_dict(v) for v in rule_store.versions(session)]
    if as_json:
        echo_json(rows)
        return
    echo_table(["id", "revision", "effective_from", "published_at", "actor", "rules", "note"],
               [[r["id"], r["revision"], r["effective_from"], r["published_at"], r["actor"],
                 r["rules"], r["note"]] for r in rows])


@rules_group.command("diff")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--as-of", "as_of", type=DATE, required=True,
              help="Business date to evaluate on, with the database as it is now.")
@click.option("--pass", "kinds", type=click.Choice(["daily", "weekly", "monthly"]),
              multiple=True, help="Pass kinds to compare (default: all three).")
@click.option("--limit", type=int, default=30, show_default=True,
              help="Changed decisions to list (all with --json).")
@json_option
@pass_workspace
def rules_diff(workspace: Workspace, path: Path | None, as_of: date, kinds: tuple[str, ...],
               limit: int, as_json: bool) -> None:
    """Which decisions would change on AS-OF if the rules in PATH were in force.

    Runs each pass twice in transactions that are rolled back (the version in force, then the
    candidate): nothing is written.
    """
    from kfworkflow.engine.rules_diff import candidate_version, diff_rules

    ruleset, rules_dir, policies_file = _require(workspace, path)
    candidate = candidate_version(ruleset, rules_dir, policies_file, workspace.clock.now())
    report = diff_rules(workspace, candidate, as_of, kinds or ("daily", "weekly", "monthly"))
    if as_json:
        echo_json(report.to_dict())
        return
    data = report.to_dict()
    click.echo(f"as of {as_of}: revision {report.current_revision} (in force) → "
               f"{report.candidate_revision} (candidate); {data['added']} added, "
               f"{data['removed']} removed, {data['changed']} changed of {report.compared}")
    if not report.changes:
        return
    click.echo("")
    echo_table(["rule", "added", "removed", "changed"],
               [[rule, c["added"], c["removed"], c["changed"]]
                for rule, c in report.by_rule().items()])
    click.echo("")
    echo_table(["county", "added", "removed", "changed"],
               [[county, c["added"], c["removed"], c["changed"]]
                for county, c in report.by_county().items()])
    click.echo("")
    for change in report.changes[:limit]:
        before = f"{change.before.rule_id}: {change.before.reason}" if change.before else "-"
        after = f"{change.after.rule_id}: {change.after.reason}" if change.after else "-"
        click.echo(f"{change.kind} {change.change} {change.subject_kind} {change.subject_key}: "
                   f"{before}  →  {after}")


def register(cli: click.Group) -> None:
    cli.add_command(rules_group)
