"""explain: a decision in plain Chinese and English, worked out by hand.

The story: project P1 (杞县) was due to start on 2022-09-01. The daily passes of 09-28 and
09-29 gave its start light red; the weekly pass of Friday 2022-09-30 assigned it to the county
(杞县人民政府) with 3 working days: 10-01…10-07 are the National Day holiday, 10-08 and 10-09
make-up workdays, so the deadline is 2022-10-10. Unresolved, the weekly pass of 2022-10-17
(5 working days late: 10-11, 12, 13, 14, 17) escalated it to the city (市发改委) with 5 working
days: 10-22/23 are a weekend, so 2022-10-24.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from helpers import run_cli
from test_audit_fixtures import (
    Subject,
    add_assignment,
    add_project,
    project_facts,
    publish,
    run_pass,
)

from kfworkflow.audit.explain import explain_by_id
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import InputError, NotFoundError
from kfworkflow.storage.db import read_session

OVERDUE = {"number": "2022-W39-0001", "code": "P1", "name": "项目P1", "county": "qixian",
           "county_name": "杞县", "county_government": "杞县人民政府",
           "task_force_leads": "市发改委", "status": "new",
           "level": "county", "deadline_on": date(2022, 10, 10), "exempt": False}


@pytest.fixture
def story(workspace: Workspace) -> Workspace:
    ruleset = publish(workspace)
    add_project(workspace, "P1")
    run_pass(workspace, ruleset, "daily", date(2022, 9, 28), [project_facts("P1")])  # 1
    run_pass(workspace, ruleset, "daily", date(2022, 9, 29), [project_facts("P1")])  # 2
    weekly = run_pass(workspace, ruleset, "weekly", date(2022, 9, 30),
                      [project_facts("P1", previous="red", streak=2)])  # 3
    add_assignment(workspace, number="2022-W39-0001", code="P1", decision_id=3,
                   pass_run_id=weekly, assigned_on=date(2022, 9, 30),
                   deadline_on=date(2022, 10, 10))
    run_pass(workspace, ruleset, "weekly", date(2022, 10, 17),
             [Subject("assignment", "2022-W39-0001", OVERDUE)])  # 4
    return workspace


def cli(ws: Workspace, capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    return run_cli(capsys, "-w", str(ws.root), "--db", ws.db_url, "audit", *args)


def _body(text: str) -> list[str]:
    """The explanation without the provenance line (it names the revision, a hash)."""
    return [line for line in text.splitlines() if "规则集修订" not in line
            and "rule-set revision" not in line]


def test_the_county_assignment_over_the_national_day_holiday(
        story: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(story, capsys, "explain", "3")
    assert result.exit_code == 0
    assert _body(result.out) == [
        "决策 #3  日期 2022-09-30  调度批次 #3",
        "对象：项目 P1（项目P1）",
        "规则：start_red_route 「开工红灯连续 2 次以上，交县级督办」",
        "条件：not exempt and previous_light('start') == 'red' and light_streak('start') >= 2",
        "  not exempt (exempt = false) → true",
        "  previous_light('start') = 'red'",
        "  previous_light('start') = 'red' == 'red' → true",
        "  light_streak('start') = 2",
        "  light_streak('start') = 2 >= 2 → true",
        "  ⇒ 条件成立",
        "结果：处置措施 督办通知",
        "交办层级：县级",
        "承办单位：杞县人民政府",
        "办结时限：2022-10-10",
        "时限计算：自 2022-09-30 起算（当日不计）3 个工作日，至 2022-10-10；"
        "跳过 2022-10-01–2022-10-07（国庆节）；调休上班日计入：2022-10-08、2022-10-09",
        "交办事项：2022-W39-0001 (county, 新交办, 2022-10-10)",
        "理由：开工红灯连续 2 次，交杞县人民政府，2022-10-10 前办结",
        "此前经过：",
        "  2022-09-28–2022-09-29 start 红灯×2 (start_late_red, #1–#2)",
        "复核（按记录的输入与当时规则重算）：一致",
    ]
    provenance = result.out.splitlines()[3]
    assert provenance.startswith("  规则集修订 ")
    assert provenance.endswith("；发布版本 1（2022-09-01 起施行）；本规则施行期 2022-09-01 至 今；"
                               f"工作日历 {story.calendar.version}")


def test_the_escalation_names_the_unresolved_county_assignment(
        story: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    result = cli(story, capsys, "explain", "4", "--lang", "en")
    assert result.exit_code == 0
    assert _body(result.out) == [
        "Decision #4  as of 2022-10-17  pass run #4",
        "Subject: assignment 2022-W39-0001 (项目P1)",
        "Rule: assignment_overdue “超过办结时限未办结，升级一级”",
        "Intermediate values:",
        "  late ← working_days_since(deadline_on) = 5",
        "Conditions: status not in ['resolved', 'closed_out'] and level in ['county', 'city'] "
        "and late > 0",
        "  status = 'new' not in ['resolved', 'closed_out'] → true",
        "  level = 'county' in ['county', 'city'] → true",
        "  late = 5 > 0 → true",
        "  ⇒ condition holds",
        "Outcome: escalated",
        "Assigned to level: city",
        "Recipient: 市发改委",
        "Deadline: 2022-10-24",
        "How the deadline was counted: 5 working days counted from 2022-10-17 (that day not "
        "counted) → 2022-10-24; skipped: 2022-10-22–2022-10-23 (weekend)",
        "Reason: 2022-W39-0001 逾期 5 个工作日，升级至市级：市发改委",
        "What led here:",
        "  2022-09-30 #3 project P1 start_red_route: → county 杞县人民政府 (2022-10-10), "
        "supervision_notice — 开工红灯连续 2 次，交杞县人民政府，2022-10-10 前办结",
        "  2022-09-30 2022-W39-0001 assigned new (county, deadline 2022-10-10) — 交办",
        "Replay (recorded inputs, rules then in force): identical",
    ]


def test_a_first_match_light_names_the_rules_that_did_not_apply(story: Workspace) -> None:
    with read_session(story.ready_engine()) as session:
        explanation = explain_by_id(session, story.calendar, 2)
    data = explanation.to_dict()
    assert data["rule"]["id"] == "start_late_red"
    # working days in (09-01, 09-29]: 09-02, 09-05…09 (09-12 is 中秋), 09-13…16, 09-19…23,
    # 09-26…29: 1 + 5 + 4 + 5 + 4 = 19
    assert data["lets"] == [{"name": "late", "expression": "working_days_since(planned.started)",
                             "value": 19, "steps": ["working_days_since(planned.started) = 19"]}]
    assert data["conditions"] == ["late = 19 > 5 → true"]
    assert data["not_applied"] == [
        {"id": "start_exempt", "title": "有正当理由的项目开工灯为绿",
         "conditions": ["exempt = false"], "holds": False},
        {"id": "start_done", "title": "已开工",
         "conditions": ["actual.started = none is not none → false"], "holds": False}]
    assert data["light"] == {"dimension": "start", "color": "red", "title": "开工",
                             "title_en": "start"}
    assert data["deadline"] is None
    assert data["replay"] == {"identical": True, "diffs": []}
    text = explanation.text()
    assert "结果：开工灯 红灯" in text
    assert "  start_exempt 「有正当理由的项目开工灯为绿」：exempt = false" in text


def test_explain_a_project_on_a_date(story: Workspace, capsys: pytest.CaptureFixture[str]
                                     ) -> None:
    data = json.loads(cli(story, capsys, "explain", "--project", "P1", "--on", "2022-09-28",
                          "--json").out)
    assert [(d["decision"], d["rule"]["id"]) for d in data] == [(1, "start_late_red")]
    latest = json.loads(cli(story, capsys, "explain", "--project", "P1", "--json").out)
    assert [(d["decision"], d["subject"]["kind"]) for d in latest] == [(4, "assignment")]


@pytest.mark.parametrize(("args", "code", "message"), [
    (("999",), 1, "Error: no decision 999 in the log (ids go up to 4)"),
    (("--project", "NOPE"), 1,
     "Error: no project with code 'NOPE' in the ledger (`kfw ledger list` shows the codes)"),
    (("--project", "P1", "--on", "2022-12-01"), 1,
     "Error: no decisions recorded about project P1 on 2022-12-01"),
    ((), 2, "give a DECISION_ID or --project CODE (one of them)"),
    (("1", "--project", "P1"), 2, "give a DECISION_ID or --project CODE (one of them)"),
    (("1", "--on", "2022-09-28"), 2, "--on goes with --project"),
    (("1", "--lang", "fr"), 2, "'fr' is not one of 'zh', 'en'"),
])
def test_bad_explain_input_is_a_clear_error(
        story: Workspace, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], code: int,
        message: str) -> None:
    result = cli(story, capsys, "explain", *args)
    assert result.exit_code == code
    assert message in result.err
    assert "Traceback" not in result.err


def test_errors_are_typed(story: Workspace) -> None:
    with read_session(story.ready_engine()) as session:
        with pytest.raises(NotFoundError, match="no decision 0 in the log"):
            explain_by_id(session, story.calendar, 0)
        with pytest.raises(InputError, match="unknown language 'fr'"):
            explain_by_id(session, story.calendar, 1, lang="fr")
