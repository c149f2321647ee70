"""The assignment lifecycle: the shared machine, coordinators' changes and the CLI."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from helpers import run_cli
from pass_scenario import at, build_ledger, publish_rules, run_all, set_day
from sqlalchemy import select
from sqlmodel import col

from kfworkflow.engine import assignments as items
from kfworkflow.engine.passes import run_pass
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import InputError, NotFoundError, TransitionError
from kfworkflow.lifecycle.assignments import LIFECYCLE, AssignmentLifecycle
from kfworkflow.storage.engine_models import AssignmentEvent

CITY = "市发展改革委、市重点办"


# --- the machine -----------------------------------------------------------------------------


def test_the_usual_path_and_the_side_moves() -> None:
    status = "new"
    for event, expected in (("start", "in_progress"), ("escalate", "escalated"),
                            ("start", "in_progress"), ("resolve", "resolved"),
                            ("close_out", "closed_out"), ("reopen", "closed_out")):
        status = LIFECYCLE.apply(status, event)
        assert status == expected
    assert LIFECYCLE.apply("escalated", "mark_overdue") == "overdue"
    assert LIFECYCLE.apply("overdue", "resolve") == "resolved"
    assert LIFECYCLE.allowed("overdue") == ["start", "resolve"]
    assert LIFECYCLE.allowed("closed_out") == ["reopen"]


@pytest.mark.parametrize(("status", "event", "message"), [
    ("new", "close_out", "cannot close out an assignment that is new (新交办); allowed from "
                         "new: start, resolve, escalate, mark_overdue"),
    ("resolved", "escalate", "cannot escalate an assignment that is resolved (已办结); allowed "
                             "from resolved: close_out"),
    ("overdue", "escalate", "cannot escalate an assignment that is overdue (逾期); allowed from "
                            "overdue: start, resolve"),
    ("in_progress", "reopen", "cannot reopen an assignment that is in_progress (办理中); "
                              "allowed from in_progress: resolve, escalate, mark_overdue"),
    ("closed_out", "resolve", "cannot resolve an assignment that is closed_out (已销号); "
                              "allowed from closed_out: reopen"),
    ("new", "approve", "cannot approve an assignment that is new (新交办); allowed from new: "
                       "start, resolve, escalate, mark_overdue"),
])
def test_illegal_moves_name_the_state_and_the_allowed_ones(status: str, event: str,
                                                           message: str) -> None:
    with pytest.raises(TransitionError) as caught:
        LIFECYCLE.apply(status, event)
    assert str(caught.value) == message


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(TransitionError, match=r"^unknown assignment status 'done'; known: new, "
                                              r"in_progress, resolved, closed_out, escalated, "
                                              r"overdue$"):
        LIFECYCLE.apply("done", "start")


def test_one_machine_serves_every_item() -> None:
    # items are status strings; the machine has no model attached
    assert isinstance(LIFECYCLE, AssignmentLifecycle)
    assert LIFECYCLE._machine.models == []


# --- coordinators' changes ------------------------------------------------------------------


@pytest.fixture
def assigned(workspace: Workspace) -> Workspace:
    """W39 (2022-09-26) assigns the city-level land problem of T03: 2022-W39-0001."""
    publish_rules(workspace)
    build_ledger(workspace, codes=("T03", "Q03"))
    run_all(workspace, date(2022, 9, 26))
    return workspace


def events(workspace: Workspace, number: str) -> list[tuple[Any, ...]]:
    return [(e["from"], e["to"], e["level"], e["actor"], e["at"], e["reason"])
            for e in items.show_assignment(workspace, number)["events"]]


def test_resolve_then_close_out_records_who_when_and_why(assigned: Workspace) -> None:
    set_day(assigned, date(2022, 9, 28))
    assigned.actor = "市重点办 李明"
    started = items.start(assigned, "2022-W39-0001", note="已约请自然资源局会商")
    assert started["status"] == "in_progress"
    set_day(assigned, date(2022, 9, 29))
    resolved = items.resolve(assigned, "2022-W39-0001", note="调剂用地指标 30 亩", by=CITY)
    assert (resolved["status"], resolved["resolution_note"]) == ("resolved", "调剂用地指标 30 亩")
    set_day(assigned, date(2022, 9, 30))
    assigned.actor = "市攻坚办 王芳"
    closed = items.close_out(assigned, "2022-W39-0001", evidence="用地批复文件")
    assert (closed["status"], closed["evidence"]) == ("closed_out", "用地批复文件")
    assert events(assigned, "2022-W39-0001") == [
        (None, "new", "city", "tester", at(date(2022, 9, 26)),
         "要素资源问题“用地指标不足”需市级协调，交市发展改革委、市重点办，2022-10-08 前办结"),
        ("new", "in_progress", "city", "市重点办 李明", at(date(2022, 9, 28)),
         "已约请自然资源局会商"),
        ("in_progress", "resolved", "city", "市重点办 李明", at(date(2022, 9, 29)),
         "调剂用地指标 30 亩"),
        ("resolved", "closed_out", "city", "市攻坚办 王芳", at(date(2022, 9, 30)),
         "销号：用地批复文件"),
    ]


def test_a_batch_resolves_and_closes_out_all_or_nothing(assigned: Workspace) -> None:
    set_day(assigned, date(2022, 9, 30))
    before = events(assigned, "2022-W39-0001")
    with pytest.raises(NotFoundError, match=r"^no assignment numbered '2022-W39-0099' "):
        items.resolve_and_close_out(assigned, [("2022-W39-0001", "调剂指标", "批复"),
                                               ("2022-W39-0099", "已解决", "照片")])
    assert events(assigned, "2022-W39-0001") == before  # the first one was rolled back too
    with pytest.raises(InputError, match=r"^evidence for the close-out of 2022-W39-0001 is "
                                         r"required: evidence$"):
        items.resolve_and_close_out(assigned, [("2022-W39-0001", "调剂指标", " ")])
    assert items.resolve_and_close_out(assigned, [("2022-W39-0001", " 调剂指标 ", "批复")]) == 1
    assert events(assigned, "2022-W39-0001")[1:] == [
        ("new", "resolved", "city", "tester", at(date(2022, 9, 30)), "调剂指标"),
        ("resolved", "closed_out", "city", "tester", at(date(2022, 9, 30)), "销号：批复")]
    shown = items.show_assignment(assigned, "2022-W39-0001")
    assert (shown["status"], shown["resolution_note"], shown["evidence"]) == (
        "closed_out", "调剂指标", "批复")


def test_changes_need_their_text_and_the_right_unit(assigned: Workspace) -> None:
    with pytest.raises(InputError, match=r"^a note saying how it was resolved is required: "
                                         r"--note$"):
        items.resolve(assigned, "2022-W39-0001", note="  ")
    with pytest.raises(InputError, match=r"^assignment 2022-W39-0001 is assigned to 市发展改革委、"
                                         r"市重点办, not 通许县人民政府; only the recipient "
                                         r"resolves it$"):
        items.resolve(assigned, "2022-W39-0001", note="已解决", by="通许县人民政府")
    with pytest.raises(TransitionError, match=r"^cannot close out an assignment that is new"):
        items.close_out(assigned, "2022-W39-0001", evidence="照片")
    items.resolve(assigned, "2022-W39-0001", note="已解决")
    with pytest.raises(InputError, match=r"^evidence for the close-out is required: "
                                         r"--evidence$"):
        items.close_out(assigned, "2022-W39-0001", evidence=None)
    with pytest.raises(InputError, match=r"^a reason for reopening is required: --reason$"):
        items.reopen(assigned, "2022-W39-0001", reason="")
    with pytest.raises(TransitionError, match=r"^cannot reopen an assignment that is resolved"):
        items.reopen(assigned, "2022-W39-0001", reason="复发")
    with pytest.raises(NotFoundError, match=r"^no assignment numbered '2022-W39-0099' "):
        items.start(assigned, "2022-W39-0099")
    assert [e[1] for e in events(assigned, "2022-W39-0001")] == ["new", "resolved"]


def test_reopen_creates_a_linked_item_with_a_fresh_deadline(assigned: Workspace) -> None:
    items.resolve(assigned, "2022-W39-0001", note="已解决")
    items.close_out(assigned, "2022-W39-0001", evidence="批复")
    set_day(assigned, date(2022, 10, 9))  # a make-up Sunday, in ISO week 40
    reopened = items.reopen(assigned, "2022-W39-0001", reason="指标被收回", on=date(2022, 10, 9))
    # city level: 5 workdays after 10-09 = 10-10, 10-11, 10-12, 10-13, 10-14
    assert {k: reopened[k] for k in ("number", "subject", "level", "recipient", "assigned_on",
                                     "deadline", "status", "reopened_from",
                                     "first_of_chain", "reason")} == {
        "number": "2022-W40-0001", "subject": "problem:1", "level": "city",
        "recipient": CITY, "assigned_on": date(2022, 10, 9), "deadline": date(2022, 10, 14),
        "status": "new", "reopened_from": "2022-W39-0001", "first_of_chain": "2022-W39-0001",
        "reason": "重新交办（原 2022-W39-0001）：指标被收回"}
    old = items.show_assignment(assigned, "2022-W39-0001")
    assert old["status"] == "closed_out"
    assert old["reopened_as"] == ["2022-W40-0001"]
    assert old["events"][-1]["reason"] == "重新交办为 2022-W40-0001：指标被收回"
    assert events(assigned, "2022-W40-0001") == [
        (None, "new", "city", "tester", at(date(2022, 10, 9)), "指标被收回")]
    # the problem is still open in the ledger, and the reopened item is open: the next weekly
    # pass keeps it and assigns nothing new
    set_day(assigned, date(2022, 10, 10))
    result = run_pass(assigned, "weekly", date(2022, 10, 10))
    assert result.counts.get("assignments_created", 0) == 0
    assert result.counts.get("assignments_reopened", 0) == 0


def test_a_pass_reopens_a_closed_out_item_whose_condition_recurs(assigned: Workspace) -> None:
    items.resolve(assigned, "2022-W39-0001", note="已解决")
    items.close_out(assigned, "2022-W39-0001", evidence="批复")
    set_day(assigned, date(2022, 10, 3))
    result = run_pass(assigned, "weekly", date(2022, 10, 3))
    assert result.counts["assignments_reopened"] == 1
    new = items.show_assignment(assigned, "2022-W40-0001")
    # city, 5 workdays after the holiday Monday 10-03: 10-08, 10-09, 10-10, 10-11, 10-12
    assert (new["reopened_from"], new["level"], new["deadline"], new["status"]) == (
        "2022-W39-0001", "city", date(2022, 10, 12), "new")
    with assigned.engine.connect() as conn:
        linked = conn.execute(select(col(AssignmentEvent.reason)).where(
            col(AssignmentEvent.to_status) == "closed_out",
            col(AssignmentEvent.from_status) == "closed_out")).scalar_one()
    assert linked == "条件再次出现，重新交办为 2022-W40-0001"


def test_list_filters_are_checked(assigned: Workspace) -> None:
    with pytest.raises(InputError, match=r"^week '2022-39' is not an ISO week like 2022-W47$"):
        items.list_assignments(assigned, week="2022-39")
    with pytest.raises(InputError, match=r"^unknown level 'town'; expected one of county, "
                                         r"city, province$"):
        items.list_assignments(assigned, level="town")
    with pytest.raises(InputError, match=r"^unknown status 'done'; expected open, all or one "
                                         r"of new, in_progress"):
        items.list_assignments(assigned, status="done")
    assert [i["number"] for i in items.list_assignments(assigned, week="2022-w39")] == [
        "2022-W39-0001"]
    assert items.list_assignments(assigned, county="qixian") == []


# --- CLI ---------------------------------------------------------------------------------------


def cli(workspace: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    return run_cli(capsys, "-w", str(workspace.root), "--db", workspace.db_url, *args)


def test_cli_list_show_resolve_close_out_reopen(assigned: Workspace,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    listed = cli(assigned, capsys, "assignments", "list", "--json")
    assert listed.exit_code == 0, listed.err
    item = json.loads(listed.out)[0]
    assert {k: item[k] for k in ("number", "subject", "level", "recipient", "deadline",
                                 "status", "reason")} == {
        "number": "2022-W39-0001", "subject": "problem:1", "level": "city", "recipient": CITY,
        "deadline": "2022-10-08", "status": "new",
        "reason": "要素资源问题“用地指标不足”需市级协调，交市发展改革委、市重点办，"
                  "2022-10-08 前办结"}
    table = cli(assigned, capsys, "assignments", "list", "--level", "city")
    assert table.out.splitlines()[0].split() == ["number", "subject", "level", "recipient",
                                                 "deadline", "status", "overdue", "reason"]
    assert table.out.splitlines()[2].startswith("2022-W39-0001  problem:1")
    none = cli(assigned, capsys, "assignments", "list", "--level", "province")
    assert none.out.strip() == "no assignments match"

    early = cli(assigned, capsys, "assignments", "close-out", "2022-W39-0001", "--evidence", "x")
    assert early.exit_code == 1
    assert early.err.startswith("Error: cannot close out an assignment that is new (新交办)")
    missing = cli(assigned, capsys, "assignments", "resolve", "2022-W39-0001")
    assert (missing.exit_code, missing.err.strip()) == (
        1, "Error: a note saying how it was resolved is required: --note")

    started = cli(assigned, capsys, "assignments", "start", "2022-W39-0001")
    assert started.out.strip() == "2022-W39-0001: in progress (status in_progress)"
    resolved = cli(assigned, capsys, "assignments", "resolve", "2022-W39-0001", "--note",
                   "已调剂", "--by", CITY, "--json")
    assert json.loads(resolved.out)["status"] == "resolved"
    closed = cli(assigned, capsys, "assignments", "close-out", "2022-W39-0001", "--evidence",
                 "批复文件")
    assert closed.out.strip() == "2022-W39-0001: closed out (status closed_out)"
    reopened = cli(assigned, capsys, "assignments", "reopen", "2022-W39-0001", "--reason",
                   "复发", "--json")
    data = json.loads(reopened.out)
    assert (data["reopened_from"], data["level"], data["status"]) == (
        "2022-W39-0001", "city", "new")

    shown = cli(assigned, capsys, "assignments", "show", "2022-W39-0001", "--json")
    detail = json.loads(shown.out)
    assert [(e["from"], e["to"]) for e in detail["events"]] == [
        (None, "new"), ("new", "in_progress"), ("in_progress", "resolved"),
        ("resolved", "closed_out"), ("closed_out", "closed_out")]
    assert detail["reopened_as"] == [data["number"]]
    human = cli(assigned, capsys, "assignments", "show", "2022-W39-0001")
    assert "evidence             批复文件" in human.out
    assert f"reopened_as          {data['number']}" in human.out
    unknown = cli(assigned, capsys, "assignments", "show", "2022-W01-0001")
    assert unknown.exit_code == 1
    assert unknown.err.startswith("Error: no assignment numbered '2022-W01-0001'")


def test_status_counts_items_past_their_deadline_as_of_a_date(
        assigned: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    """2022-W39-0001 is due 2022-10-08: not past it that day, past it the next."""
    base = ("-w", str(assigned.root), "--db", assigned.db_url, "status")
    on_time = run_cli(capsys, *base, "--as-of", "2022-10-08", "--json")
    assert on_time.exit_code == 0, on_time.err
    assert json.loads(on_time.out)["assignments"]["past_deadline"] == 0
    late = run_cli(capsys, *base, "--as-of", "2022-10-09")
    assert "open items past their deadline: 1" in late.out.splitlines()
    bad = run_cli(capsys, *base, "--as-of", "2022-10-32")
    assert bad.exit_code == 2 and "2022-10-32" in bad.err
