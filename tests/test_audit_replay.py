"""replay: recorded decisions re-evaluated under the revision and calendar they record."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_audit_fixtures import (
    decision_row,
    drop_guards,
    execute,
    project_facts,
    publish,
    rehash,
    run_pass,
)

from kfworkflow.audit.replay import replay_log, replay_scope
from kfworkflow.audit.verify import verify_log
from kfworkflow.engine.imports import import_ledger
from kfworkflow.engine.passes import run_pass as real_pass
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import InputError, NotFoundError
from kfworkflow.rules.ruleset import canonical_json, compile_source
from kfworkflow.rules.spec import read_rules
from kfworkflow.storage import rule_store
from kfworkflow.storage.db import read_session, write_session

REPO = Path(__file__).resolve().parents[1]


def cli(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "-w", str(ws.root), "--db", ws.db_url, "audit", *args)


@pytest.fixture
def two_revisions(workspace: Workspace) -> Workspace:
    """Red after 5 working days until 2022-09-15, after 2 from then on: the same facts get
    different lights under each, and each decision must replay under its own."""
    old = publish(workspace, red=5)
    new = publish(workspace, red=2, effective_from=date(2022, 9, 15))
    assert old.revision != new.revision
    late = [project_facts("P1"), project_facts("P2", planned=date(2022, 9, 9))]
    run_pass(workspace, old, "daily", date(2022, 9, 14), late)  # records 1-2
    run_pass(workspace, new, "daily", date(2022, 9, 15), late)  # records 3-4
    return workspace


def replay(ws: Workspace, **scope: object):  # type: ignore[no-untyped-def]
    with read_session(ws.ready_engine()) as session:
        return replay_log(session, ws.calendar, replay_scope(session, **scope))  # type: ignore[arg-type]


def test_each_decision_replays_under_its_own_revision(
        two_revisions: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    # P2 planned 2022-09-09: 3 working days late on 09-14 (yellow under red>5), 4 on 09-15
    # (red under red>2). Replaying 09-14 with the newer rules would say red: it must not.
    assert json.loads(decision_row(two_revisions.engine, 2)["outcome"])["light"]["color"] \
        == "yellow"
    assert json.loads(decision_row(two_revisions.engine, 4)["outcome"])["light"]["color"] \
        == "red"
    report = replay(two_revisions)
    assert (report.checked, report.identical, report.diverged) == (4, 4, 0)
    assert len(report.revisions) == 2
    result = cli(two_revisions, capsys, "replay")
    assert result.exit_code == 0
    assert result.out.startswith("replayed 4 decision(s) (the whole log): 4 identical, "
                                 "0 diverged; revisions ")
    data = json.loads(cli(two_revisions, capsys, "replay", "--pass", "2", "--json").out)
    assert (data["scope"], data["checked"], data["diverged"]) == ("pass run 2", 2, 0)
    data = json.loads(cli(two_revisions, capsys, "replay", "--from", "2022-09-15", "--to",
                          "2022-09-15", "--json").out)
    assert data["checked"] == 2


def test_a_forged_record_diverges_field_by_field(
        two_revisions: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """Someone turns a yellow light red and re-hashes the whole chain after it: verify
    cannot see it, replay can."""
    drop_guards(two_revisions.engine)
    prev = None
    for record_id in range(1, 5):
        row = decision_row(two_revisions.engine, record_id)
        if record_id == 2:
            row["outcome"] = '{"group":"start_light","light":{"color":"red","dimension":"start"}}'
        if prev is not None:
            row["prev_hash"] = prev
        row["hash"] = rehash(row)
        prev = row["hash"]
        execute(two_revisions.engine, "UPDATE decision SET outcome = :o, prev_hash = :p, "
                "hash = :h WHERE id = :id", o=row["outcome"], p=row["prev_hash"], h=row["hash"],
                id=record_id)
    with read_session(two_revisions.ready_engine()) as session:
        assert verify_log(session.connection()).ok
    report = replay(two_revisions)
    assert (report.identical, report.diverged) == (3, 1)
    (divergence,) = report.divergences
    assert divergence.decision_id == 2
    assert [(d.field, d.recorded, d.replayed) for d in divergence.diffs] == [
        ("outcome.light.color", "red", "yellow")]
    result = cli(two_revisions, capsys, "replay")
    assert result.exit_code == 3
    assert "  decision 2 (project P2, 2022-09-14, rule start_late_yellow, revision " in result.out
    assert "    outcome.light.color: recorded 'red', replayed 'yellow'" in result.out
    assert "Error: 1 of 4 replayed decision(s) diverged" in result.err
    assert "decision:2: KFW-A005 outcome.light.color: recorded 'red', replayed 'yellow'" \
        in result.err


def test_edited_inputs_diverge(two_revisions: Workspace) -> None:
    drop_guards(two_revisions.engine)
    row = decision_row(two_revisions.engine, 4)
    inputs = json.loads(row["inputs"])
    inputs["planned.started"] = "2022-09-14"  # 1 working day late: yellow, not red
    execute(two_revisions.engine, "UPDATE decision SET inputs = :i WHERE id = 4",
            i=json.dumps(inputs))
    (divergence,) = replay(two_revisions).divergences
    assert [(d.field, d.recorded, d.replayed) for d in divergence.diffs] == [
        ("rule_id", "start_late_red", "start_late_yellow")]


def test_a_revision_missing_from_the_store_is_a_clear_error(
        two_revisions: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    revision = decision_row(two_revisions.engine, 1)["revision"]
    drop_guards(two_revisions.engine, "rule_version")
    execute(two_revisions.engine, "DELETE FROM rule_version WHERE revision = :r", r=revision)
    with pytest.raises(NotFoundError) as caught:
        replay(two_revisions)
    assert str(caught.value) == (
        f"decision 1 records rule revision {revision}, which is not in the version store "
        "(`kfw rules versions` lists what is); it cannot be replayed without it")
    result = cli(two_revisions, capsys, "replay")
    assert result.exit_code == 1
    assert result.err.startswith(f"Error: decision 1 records rule revision {revision}")
    assert "Traceback" not in result.err


@pytest.mark.parametrize(("args", "code", "message"), [
    (("--from", "2022-09-20", "--to", "2022-09-10"), 1,
     "Error: empty date range: --from 2022-09-20 is after --to 2022-09-10"),
    (("--from", "2023-01-01"), 1,
     "Error: no decisions recorded for as of 2023-01-01 to the end"),
    (("--pass", "99"), 1, "Error: no pass run 99 (`kfw pass list` shows the runs)"),
    (("--pass", "1", "--from", "2022-09-01"), 1,
     "Error: give either --pass or --from/--to, not both"),
    (("--from", "2022-13-01"), 2, "'2022-13-01' is not a date like 2022-11-30"),
])
def test_bad_replay_input_is_a_clear_error(
        two_revisions: Workspace, capsys: pytest.CaptureFixture[str], args: tuple[str, ...],
        code: int, message: str) -> None:
    result = cli(two_revisions, capsys, "replay", *args)
    assert result.exit_code == code
    assert message in result.err
    assert "Traceback" not in result.err


def test_replay_scope_errors_are_typed(two_revisions: Workspace) -> None:
    with read_session(two_revisions.ready_engine()) as session:
        with pytest.raises(InputError):
            replay_scope(session, from_on=date(2022, 9, 20), to_on=date(2022, 9, 10))
        with pytest.raises(NotFoundError):
            replay_scope(session, pass_run_id=42)


# --- the property: any history of passes, publications and re-runs replays identically ------

DAYS = [date(2022, 11, 14) + timedelta(days=i) for i in range(0, 22)]
OPERATIONS = st.lists(st.one_of(
    st.tuples(st.just("pass"), st.sampled_from(["daily", "weekly", "monthly"]),
              st.sampled_from(DAYS), st.booleans()),
    st.tuples(st.just("publish"), st.sampled_from([5, 3, 8]), st.sampled_from(DAYS),
              st.just(False)),
), min_size=1, max_size=8)


def _publish_variant(ws: Workspace, folder: Path, red: int, effective_from: date) -> None:
    """The default rules with the start-light red threshold changed, published."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(ws.rules_dir, folder, ignore=shutil.ignore_patterns("tests", ".keep"))
    lights = folder / "lights.yaml"
    lights.write_text(lights.read_text(encoding="utf-8").replace("late > 5", f"late > {red}"),
                      encoding="utf-8")
    ruleset, findings = compile_source(read_rules(folder), ws.policies)
    assert ruleset is not None and not findings, findings
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.yaml"))}
    with write_session(ws.ready_engine()) as session:
        rule_store.publish(session, revision=ruleset.revision, effective_from=effective_from,
                           content=canonical_json(dict(ruleset.content)), files=files,
                           policies_text=ws.policies_path.read_text(encoding="utf-8"),
                           actor="tester", now=ws.clock.now())


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_replay_of_any_untouched_history_never_diverges(
        workspace: Workspace, tmp_path: Path, operations: list[tuple[str, object, date, bool]]
) -> None:
    ws = workspace
    with read_session(ws.ready_engine()) as session:
        fresh = not rule_store.versions(session)
    if fresh:
        import_ledger(ws, REPO / "examples" / "sample-ledger.csv")
        _publish_variant(ws, tmp_path / "v", 5, date(2022, 11, 14))
    for operation, what, day, rerun in operations:
        if operation == "publish":
            assert isinstance(what, int)
            _publish_variant(ws, tmp_path / "v", what, day)
        else:
            assert isinstance(what, str)
            real_pass(ws, what, day, rerun=rerun)
    with read_session(ws.ready_engine()) as session:
        assert verify_log(session.connection()).ok
        try:
            scope = replay_scope(session)
        except NotFoundError:
            return  # no pass decided anything yet
        report = replay_log(session, ws.calendar, scope)
    assert report.diverged == 0, report.divergences[:3]
    assert report.identical == report.checked == scope.count
