"""``kfw audit``: verify, replay, explain, what-if, export and import-check the decision log.

Exit codes: 0 ok; 3 a broken chain, a diverging replay or a damaged export; 1 a bad input
(unknown decision id or project code, a revision missing from the store, an empty range).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, cast

import click

from kfworkflow.cli.context import DATE, pass_workspace
from kfworkflow.cli.output import echo_json, echo_table, json_option
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import (
    AuditBreakError,
    Finding,
    InputError,
    ReplayDivergedError,
    RuleCheckError,
)
from kfworkflow.storage.db import read_session

BREAK_CODES = {"altered": "KFW-A001", "deleted": "KFW-A002", "inserted": "KFW-A003",
               "rehashed": "KFW-A004"}


@click.group("audit")
def audit_group() -> None:
    """The decision log: verify the chain, replay, explain, what-if, export."""


@contextmanager
def _progress(label: str, show: bool) -> Iterator[tuple[Callable[[int], None],
                                                        Callable[[int], None]]]:
    """(set_total, advance) callbacks drawing a click progress bar on stderr."""
    state: dict[str, Any] = {}

    def set_total(total: int) -> None:
        if show and total and sys.stderr.isatty():
            bar = click.progressbar(length=total, label=label, file=sys.stderr)
            state["bar"] = bar.__enter__()

    def advance(count: int) -> None:
        if "bar" in state:
            state["bar"].update(count)

    try:
        yield set_total, advance
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


@audit_group.command("verify")
@click.option("--anchor", type=click.Path(dir_okay=False, path_type=Path),
              help="An earlier export's manifest (FILE.manifest.json or the jsonl's last line "
                   "saved alone): its last record must still be there with the same hash.")
@json_option
@pass_workspace
def audit_verify(workspace: Workspace, anchor: Path | None, as_json: bool) -> None:
    """Walk the hash chain and name the first altered, deleted or inserted record (exit 3)."""
    from kfworkflow.audit.verify import anchor_from_manifest, chain_report_text, verify_log

    expected = None
    if anchor is not None:
        expected = anchor_from_manifest(_read_manifest(anchor))
    with read_session(workspace.ready_engine()) as session, _progress(
            "verifying", not as_json) as (set_total, advance):
        report = verify_log(session.connection(), anchor=expected, progress=advance,
                            total=set_total)
    if report.first_break is None:
        if as_json:
            echo_json(report.to_dict())
        else:
            click.echo("\n".join(chain_report_text(report)))
        return
    found = report.first_break
    if not as_json:
        click.echo("\n".join(chain_report_text(report)))
    error = AuditBreakError(
        f"the decision log is broken at record {found.record_id} ({found.kind}); "
        f"{report.checked} record(s) before it verified",
        [Finding(BREAK_CODES[found.kind], found.message, file="decision",
                 line=found.record_id)])
    error.details = report.to_dict()  # --json: ok, checked, and the break field by field
    raise error


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8").strip().splitlines()[-1]
                          if path.suffix == ".jsonl" else path.read_text(encoding="utf-8"))
    except (OSError, ValueError, IndexError) as exc:
        raise InputError(f"cannot read the anchor manifest {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("manifest"), dict):
        data = data["manifest"]
    if not isinstance(data, dict):
        raise InputError(f"{path} is not an export manifest")
    return data


@audit_group.command("replay")
@click.option("--from", "from_on", type=DATE, help="First as-of date to replay.")
@click.option("--to", "to_on", type=DATE, help="Last as-of date to replay.")
@click.option("--pass", "pass_run", type=int, help="Replay one pass run (id from `kfw pass list`).")
@click.option("--show", type=int, default=50, show_default=True,
              help="Divergences to list in full.")
@json_option
@pass_workspace
def audit_replay(workspace: Workspace, from_on: date | None, to_on: date | None,
                 pass_run: int | None, show: int, as_json: bool) -> None:
    """Re-evaluate recorded decisions from their recorded inputs under the revision and
    calendar each records (never the current rules); exit 3 on any divergence."""
    from kfworkflow.audit.replay import replay_log, replay_scope

    with read_session(workspace.ready_engine()) as session:
        scope = replay_scope(session, from_on=from_on, to_on=to_on, pass_run_id=pass_run)
        with _progress("replaying", not as_json) as (set_total, advance):
            set_total(scope.count)
            report = replay_log(session, workspace.calendar, scope, keep=max(show, 0),
                                progress=advance)
    if as_json and not report.diverged:
        echo_json({"scope": scope.description, **report.to_dict()})
        return
    if not as_json:
        click.echo(f"replayed {report.checked} decision(s) ({scope.description}): "
                   f"{report.identical} identical, {report.diverged} diverged; revisions "
                   f"{', '.join(sorted(report.revisions))}")
        for divergence in report.divergences:
            click.echo(f"  decision {divergence.decision_id} ({divergence.subject_kind} "
                       f"{divergence.subject_key}, {divergence.as_of}, rule "
                       f"{divergence.rule_id}, revision {divergence.revision}):")
            for diff in divergence.diffs:
                click.echo(f"    {diff.field}: recorded {diff.recorded!r}, replayed "
                           f"{diff.replayed!r}")
    if report.diverged:
        raise ReplayDivergedError(
            f"{report.diverged} of {report.checked} replayed decision(s) diverged",
            [Finding("KFW-A005", "; ".join(f"{d.field}: recorded {d.recorded!r}, replayed "
                                           f"{d.replayed!r}" for d in div.diffs),
                     file="decision", line=div.decision_id,
                     hint=f"{div.subject_kind} {div.subject_key}, rule {div.rule_id}")
             for div in report.divergences])


@audit_group.command("explain")
@click.argument("decision_id", type=int, required=False)
@click.option("--project", "code", help="Explain the decisions about this project code.")
@click.option("--on", "on", type=DATE, help="With --project: the date (default: the latest).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@json_option
@pass_workspace
def audit_explain(workspace: Workspace, decision_id: int | None, code: str | None,
                  on: date | None, lang: str, as_json: bool) -> None:
    """Why a decision was made: rule and version, each condition with its value and
    threshold, outcome, recipient, how the deadline was counted, what led here."""
    from kfworkflow.audit.explain import explain_by_id, explain_project

    if (decision_id is None) == (code is None):
        raise click.UsageError("give a DECISION_ID or --project CODE (one of them)")
    if on is not None and code is None:
        raise click.UsageError("--on goes with --project")
    with read_session(workspace.ready_engine()) as session:
        if decision_id is not None:
            explanations = [explain_by_id(session, workspace.calendar, decision_id, lang=lang)]
        else:
            assert code is not None
            explanations = explain_project(session, workspace.calendar, code, on=on, lang=lang)
    if as_json:
        data = [e.to_dict() for e in explanations]
        echo_json(data[0] if decision_id is not None else data)
        return
    click.echo("\n\n".join(e.text() for e in explanations))


@audit_group.command("what-if")
@click.option("--rules", "rules", required=True,
              type=click.Path(exists=True, path_type=Path),
              help="The other rules folder (its policies.yaml beside it, else the workspace's).")
@click.option("--from", "from_on", type=DATE, required=True, help="First as-of date.")
@click.option("--to", "to_on", type=DATE, required=True, help="Last as-of date.")
@click.option("--show", type=int, default=30, show_default=True,
              help="Differences to list one by one.")
@json_option
@pass_workspace
def audit_what_if(workspace: Workspace, rules: Path, from_on: date, to_on: date, show: int,
                  as_json: bool) -> None:
    """HYPOTHETICAL: the recorded passes of a date range under other rules, what would differ
    per rule and per county. Writes nothing; changes no past decision."""
    from kfworkflow.audit.whatif import LIMITS, what_if
    from kfworkflow.cli.rules_cmd import check_rules

    ruleset, findings, rules_dir, policies_file = check_rules(workspace, rules)
    if ruleset is None or findings:
        raise RuleCheckError(f"{len(findings)} problem(s) in {rules_dir} / {policies_file}",
                             findings)
    with read_session(workspace.ready_engine()) as session:
        report = what_if(session, ruleset, workspace.calendar, from_on, to_on,
                         keep=max(show, 0))
    if as_json:
        echo_json(report.to_dict())
        return
    click.echo(f"HYPOTHETICAL — rules {rules} (revision {report.revision}) applied to the "
               f"recorded passes from {from_on} to {to_on}; nothing was written")
    click.echo(f"{report.passes} pass(es), {report.subjects} subject evaluation(s), "
               f"{report.differing_subjects} would differ ({report.differences} effect(s)"
               + (f", {report.uncertain} uncertain" if report.uncertain else "") + ")")
    if report.differences:
        click.echo("")
        echo_table(["rule", "recorded", "hypothetical", "change", "differences"],
                   [[r["rule"], r["recorded"], r["hypothetical"], f"{r['change']:+d}",
                     r["differences"]] for r in report.by_rule()
                    if r["change"] or r["differences"]])
        click.echo("")
        echo_table(["county", "differences", "effects"],
                   [[c["county"], c["differences"],
                     ", ".join(f"{k} {v}" for k, v in c["effects"].items())]
                    for c in report.by_county()])
        click.echo("")
        echo_table(["as_of", "pass", "subject", "county", "effect", "recorded", "hypothetical"],
                   [[d.as_of, d.pass_kind, f"{d.subject_kind} {d.subject_key}", d.county,
                     d.effect + (" ?" if d.uncertain else ""),
                     f"{d.recorded} ({d.recorded_rule})" if d.recorded_rule else "—",
                     f"{d.hypothetical} ({d.hypothetical_rule})" if d.hypothetical_rule
                     else "—"] for d in report.shown])
    if report.missing_facts:
        click.echo("\nfacts the other rules read that the log does not hold (taken as none): "
                   + ", ".join(f"{name} ×{count}"
                               for name, count in report.missing_facts.most_common()))
    click.echo("\nlimits: " + "; ".join(LIMITS))


@audit_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "xlsx"]), required=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (csv: the manifest goes to OUT.manifest.json).")
@json_option
@pass_workspace
def audit_export(workspace: Workspace, fmt: str, out: Path, as_json: bool) -> None:
    """Export the whole log with a manifest (count, first and last hash, revisions)."""
    from kfworkflow.audit.export import write_export
    from kfworkflow.audit.verify import log_bounds, stream_decisions
    from kfworkflow.storage.decision_log import row_fields
    from kfworkflow.storage.engine_models import Decision

    with read_session(workspace.ready_engine()) as session, _progress(
            "exporting", not as_json) as (set_total, advance):
        conn = session.connection()
        count, upper = log_bounds(conn)
        set_total(count)
        # row_fields reads a Decision's attributes; a Core row has the same ones
        records = ({**row_fields(cast(Decision, row)), "hash": row.hash}
                   for row in stream_decisions(conn, upper_id=upper))
        manifest = write_export(records, fmt, out, progress=advance)
    if as_json:
        echo_json({"file": str(out), "manifest": manifest.to_dict()})
        return
    click.echo(f"wrote {manifest.count} record(s) to {out}; last record {manifest.last_id}, "
               f"hash {manifest.last_hash}")


@audit_group.command("import-check")
@click.argument("file", type=click.Path(path_type=Path))
@json_option
def audit_import_check(file: Path, as_json: bool) -> None:
    """Verify an exported log offline: every hash, the chain, the manifest (truncation,
    edits); exit 3 naming the first problem and its line."""
    from kfworkflow.audit.export import check_export
    from kfworkflow.storage.decision_log import record_hash

    result = check_export(file, record_hash)
    if as_json:
        echo_json(result.to_dict())
        return
    manifest = result.manifest
    click.echo(f"ok: {file} holds {manifest.count} record(s), ids {manifest.first_id}–"
               f"{manifest.last_id}, chained from {manifest.start_prev_hash} to "
               f"{manifest.last_hash}; revisions {', '.join(manifest.revisions) or '—'}")


def register(cli: click.Group) -> None:
    cli.add_command(audit_group)
