"""Milestone paths of every category, and every kind of illegal transition."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from helpers import HEADERS, LEDGER_TABLES, ledger_row, run_cli, snapshot, write_csv

from kfworkflow.config.defaults import default_policies_path
from kfworkflow.config.policies import load_policies
from kfworkflow.engine.imports import import_ledger
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import TransitionError
from kfworkflow.lifecycle.milestones import MilestoneLifecycle

POLICIES = load_policies(default_policies_path())
LIFECYCLE = MilestoneLifecycle({c.id: c.path for c in POLICIES.categories},
                               dict(POLICIES.milestones))

PATHS = {
    "policy_finance": ("signed", "funded", "started", "completed"),
    "three_batches": ("planned", "signed", "started", "in_production"),
    "key_project": ("planned", "started", "completed"),
    "central_budget": ("allocated", "disbursed", "started", "completed"),
    "special_bond": ("allocated", "disbursed", "started", "completed"),
    "long_term_loan": ("approved", "funded", "tendering", "started", "completed"),
    "equipment_loan_subsidy": ("approved", "funded", "started", "completed"),
    "housing_delivery": ("planned", "started", "completed"),
}


def test_the_default_paths_are_the_seed_paths() -> None:
    assert {c: LIFECYCLE.path(c) for c in PATHS} == PATHS


@pytest.mark.parametrize("category", sorted(PATHS))
def test_each_path_walks_to_its_end_and_then_stops(category: str) -> None:
    path = PATHS[category]
    state = LIFECYCLE.initial_state(category)
    assert state == path[0]
    for milestone in path[1:]:
        assert LIFECYCLE.allowed_next(category, state) == [milestone, "adjusted"]
        state = LIFECYCLE.apply(category, state, milestone)
        assert state == milestone
    assert LIFECYCLE.allowed_next(category, state) == []
    assert LIFECYCLE.is_finished(category, state)


@pytest.mark.parametrize("category", sorted(PATHS))
def test_skipping_a_milestone_is_refused_with_the_allowed_moves(category: str) -> None:
    path = PATHS[category]
    with pytest.raises(TransitionError) as info:
        LIFECYCLE.apply(category, path[0], path[2])
    label = POLICIES.milestones[path[1]]
    assert str(info.value).endswith(
        f"the project is in state {path[0]} ({POLICIES.milestones[path[0]]}); "
        f"allowed next: {path[1]} ({label}), adjusted (调出)")


def test_going_backwards_repeating_and_unknown_milestones_are_refused() -> None:
    with pytest.raises(TransitionError, match=r"planned .计划. cannot follow started"):
        LIFECYCLE.apply("key_project", "started", "planned")
    with pytest.raises(TransitionError, match=r"started .开工. cannot follow started"):
        LIFECYCLE.apply("key_project", "started", "started")
    with pytest.raises(TransitionError, match=r"'signed' is not a milestone of category "
                                              r"key_project"):
        LIFECYCLE.apply("key_project", "planned", "signed")
    with pytest.raises(TransitionError, match=r"allowed next: none .finished."):
        LIFECYCLE.apply("key_project", "completed", "adjusted", reason="x")


def test_adjusted_needs_a_reason_and_is_terminal() -> None:
    with pytest.raises(TransitionError, match="needs a reason"):
        LIFECYCLE.apply("key_project", "planned", "adjusted")
    state = LIFECYCLE.apply("key_project", "planned", "adjusted", reason="无法如期开工，国家调整")
    assert state == "adjusted"
    assert LIFECYCLE.allowed_next("key_project", state) == []


def test_dates_in_the_future_or_before_the_previous_milestone_are_refused() -> None:
    with pytest.raises(TransitionError, match=r"开工 \(started\) dated 2022-11-22 is in the future "
                                              r"\(today is 2022-11-21\)"):
        LIFECYCLE.check_dates("started", date(2022, 11, 22), today=date(2022, 11, 21),
                              previous_on=None, previous_state="planned")
    with pytest.raises(TransitionError, match=r"dated 2022-11-01 is before the previous milestone "
                                              r"签约 \(signed\) on 2022-11-02"):
        LIFECYCLE.check_dates("started", date(2022, 11, 1), today=date(2022, 11, 21),
                              previous_on=date(2022, 11, 2), previous_state="signed")


def _cli(workspace: Workspace, capsys: pytest.CaptureFixture[str], *args: str):
    return run_cli(capsys, "-w", str(workspace.root), "--db", workspace.db or "", *args)


def test_kfw_event_records_and_refuses_without_writing(workspace: Workspace, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    import_ledger(workspace, write_csv(tmp_path / "l.csv", HEADERS, [ledger_row("C1")]))
    ok = _cli(workspace, capsys, "event", "C1", "开工", "--on", "2022-11-18", "--json")
    assert ok.exit_code == 0, ok.err
    assert '"to": "started"' in ok.out
    before = snapshot(workspace.engine, LEDGER_TABLES)
    cases = [
        (("event", "C1", "completed", "--on", "2022-11-10"),
         "Error: 竣工 (completed) dated 2022-11-10 is before the previous milestone 开工 "
         "(started) on 2022-11-18"),
        (("event", "C1", "signed", "--on", "2022-11-19"),
         "Error: 'signed' is not a milestone of category key_project; the project is in state "
         "started (开工); allowed next: completed (竣工), adjusted (调出)"),
        (("event", "C1", "completed", "--on", "2099-01-01"),
         "Error: 竣工 (completed) dated 2099-01-01 is in the future"),
        (("event", "NOPE", "started"), "Error: no project with code 'NOPE'"),
        (("event", "C1", "adjusted"), "Error: adjusting a project out (调出) needs a reason"),
    ]
    for args, message in cases:
        result = _cli(workspace, capsys, *args)
        assert result.exit_code == 1, args
        assert result.err.startswith(message), (args, result.err)
    assert snapshot(workspace.engine, LEDGER_TABLES) == before
