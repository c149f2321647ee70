"""Every bad-input case of the rule language, with its message and location; and rules tooling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import run_cli

from kfworkflow.config.defaults import default_policies_path
from kfworkflow.config.policies import load_policies
from kfworkflow.engine.workspace import Workspace
from kfworkflow.rules.ruleset import compile_source
from kfworkflow.rules.spec import RuleSource, read_rules_text

POLICIES = load_policies(default_policies_path())

HEADER = """\
dimensions:
  - {id: start, title: 开工}
groups:
  - {id: start_light, hit: first}
rules:
"""

GOOD_RULE = """\
  - id: late_red
    title: 超过计划开工日期仍未开工
    applies_to: project
    pass: daily
    group: start_light
    priority: 10
    let:
      late: working_days_since(planned.started)
    when: actual.started is none and late > 5
    then:
      light: {dimension: start, color: red}
      route: {level: county, deadline: {working_days: 5}}
    reason: 计划开工日期 {{ planned.started }} 已过 {{ late }} 个工作日仍未开工
    effective_from: 2022-11-14
"""


def findings_of(text: str) -> list[str]:
    source = RuleSource()
    read_rules_text(text, "r.yaml", source)
    _, findings = compile_source(source, POLICIES)
    return [str(f) for f in findings]


def test_a_good_rule_compiles() -> None:
    assert findings_of(HEADER + GOOD_RULE) == []


def _with(old: str, new: str) -> str:
    text = HEADER + GOOD_RULE
    assert old in text, old
    return text.replace(old, new, 1)


CASES = [
    ("malformed YAML", _with("    pass: daily\n", "    pass: [daily\n"),
     "r.yaml:10:10: KFW-Y001 malformed YAML"),
    ("duplicate key", _with("    pass: daily\n", "    pass: daily\n    pass: weekly\n"),
     "r.yaml:10:5: KFW-Y002 duplicate key 'pass' (first at line 9)"),
    ("duplicate rule id", HEADER + GOOD_RULE + GOOD_RULE.replace("priority: 10", "priority: 20"),
     "r.yaml:20:9: KFW-R002 rule late_red: duplicate rule id 'late_red'"),
    ("unknown key", _with("    priority: 10\n", "    priorty: 10\n"),
     "r.yaml:11:5: KFW-Y003 unknown key 'priorty' (did you mean 'priority'?)"),
    ("wrong type", _with("    priority: 10\n", "    priority: high\n"),
     "r.yaml:11:15: KFW-Y004 expected a whole number, got 'high'"),
    ("unknown field in the condition",
     _with("when: actual.started is none", "when: actual.startd is none"),
     "r.yaml:14:11: KFW-E002 rule late_red: unknown name 'actual.startd' (did you mean "
     "'actual.started'?)"),
    ("route to a level not on the ladder", _with("route: {level: county", "route: {level: town"),
     "r.yaml:17:22: KFW-Y006 'town' is not allowed here; expected one of county, city, "
     "province, subject"),
    ("unknown deadline unit", _with("deadline: {working_days: 5}", "deadline: {weeks: 1}"),
     "r.yaml:17:41: KFW-Y003 unknown key 'weeks' (allowed keys: working_days, days)"),
    ("undefined variable in the reason", _with("{{ late }} 个工作日", "{{ lateness }} 个工作日"),
     "r.yaml:18: KFW-R012 rule late_red: reason template uses undefined variable 'lateness'"),
    ("empty effective period",
     _with("    effective_from: 2022-11-14\n",
           "    effective_from: 2022-11-14\n    effective_to: 2022-11-01\n"),
     "r.yaml:20:19: KFW-R010 rule late_red: empty effective period: effective_to 2022-11-01 "
     "is before effective_from 2022-11-14"),
    ("same priority in a first-match group",
     HEADER + GOOD_RULE + GOOD_RULE.replace("id: late_red", "id: late_red_again"),
     "r.yaml:25:15: KFW-R005 rule late_red_again: same priority 10 as rule late_red in "
     "first-match group start_light"),
]


@pytest.mark.parametrize(("label", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_rules_are_reported_with_their_location(label: str, text: str, expected: str) -> None:
    found = findings_of(text)
    assert any(f.startswith(expected) for f in found), found


def test_a_route_level_missing_from_the_ladder_is_refused() -> None:
    import dataclasses

    two_levels = dataclasses.replace(POLICIES, ladder=POLICIES.ladder[:2])
    source = RuleSource()
    read_rules_text(_with("route: {level: county", "route: {level: province"), "r.yaml", source)
    _, findings = compile_source(source, two_levels)
    assert [str(f) for f in findings] == [
        "r.yaml:17:22: KFW-R008 rule late_red: route to level 'province', which is not on the "
        "ladder (the ladder in policies.yaml has county, city)"]


def test_all_findings_are_collected_in_one_pass() -> None:
    text = _with("when: actual.started is none", "when: actual.startd is none")
    text = text.replace("{{ late }} 个工作日", "{{ lateness }} 个工作日")
    text = text.replace("    priority: 10\n", "    priority: 10\n    colour: red\n")
    codes = sorted(f.split(" ")[1] for f in findings_of(text))
    assert codes == ["KFW-Y003"]  # shape errors stop the meaning checks of that file
    text = _with("when: actual.started is none", "when: actual.startd is none")
    text = text.replace("{{ late }} 个工作日", "{{ lateness }} 个工作日")
    assert sorted(f.split(" ")[1] for f in findings_of(text)) == ["KFW-E002", "KFW-R012"]


def _cli(workspace: Workspace, capsys: pytest.CaptureFixture[str], *args: str):
    return run_cli(capsys, "-w", str(workspace.root), "--db", workspace.db or "", "--actor",
                   workspace.actor, *args)


def test_rules_check_is_quiet_on_success_and_exits_3_on_findings(
        workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ok = _cli(workspace, capsys, "rules", "check")
    assert (ok.exit_code, ok.out, ok.err) == (0, "", "")
    bad = workspace.root / "rules" / "zz_bad.yaml"
    bad.write_text(_with("when: actual.started is none", "when: actual.startd is none")
                   .replace("late_red", "zz_late"), encoding="utf-8")
    result = _cli(workspace, capsys, "rules", "check")
    assert result.exit_code == 3
    assert f"{bad}:14:11: KFW-E002 rule zz_late: unknown name 'actual.startd'" in result.out
    as_json = _cli(workspace, capsys, "rules", "check", "--json")
    data = json.loads(as_json.out)
    assert (as_json.exit_code, data["ok"]) == (3, False)
    assert "KFW-E002" in {f["code"] for f in data["findings"]}


def test_rules_test_passes_on_the_shipped_rules_with_every_rule_covered(
        workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    result = _cli(workspace, capsys, "rules", "test", "--json")
    assert result.exit_code == 0, result.out + result.err
    report = json.loads(result.out)
    assert report["failed"] == [] and report["uncovered_rules"] == []
    assert report["cases"] == report["passed"] > 0


def test_publish_stores_a_version_and_refuses_an_invalid_set(
        workspace: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    published = _cli(workspace, capsys, "rules", "publish", "--effective-from", "2022-11-14",
                     "--json")
    assert published.exit_code == 0, published.err
    version = json.loads(published.out)
    assert version["effective_from"] == "2022-11-14" and version["actor"] == "tester"
    (workspace.root / "rules" / "zz_bad.yaml").write_text("rules: [", encoding="utf-8")
    refused = _cli(workspace, capsys, "rules", "publish", "--effective-from", "2022-12-01")
    assert refused.exit_code == 3
    assert "KFW-Y001 malformed YAML" in refused.err
    listed = json.loads(_cli(workspace, capsys, "rules", "versions", "--json").out)
    assert [v["revision"] for v in listed] == [version["revision"]]


def test_schema_is_json_for_each_kind(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for kind in ("rules", "tests", "policies"):
        result = run_cli(capsys, "-w", str(tmp_path), "rules", "schema", "--kind", kind)
        assert result.exit_code == 0
        assert json.loads(result.out)["$schema"].endswith("2020-12/schema")
