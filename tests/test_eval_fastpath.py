"""The fast evaluation path (one compiled function per group) against the reference path."""

from __future__ import annotations

import random
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError
from test_audit_fixtures import compile_text

from kfworkflow.config.defaults import default_policies_path
from kfworkflow.config.policies import Policies, load_policies
from kfworkflow.evaluate.decision import DECISION_FIELDS, DECISION_SETTERS, Decision, Route
from kfworkflow.evaluate.env import PassEnv
from kfworkflow.evaluate.fastpath import group_function, group_source, is_simple
from kfworkflow.evaluate.run import evaluate, firing
from kfworkflow.rules.facts import field_types
from kfworkflow.rules.ruleset import RuleSet, load_ruleset
from kfworkflow.workcalendar import WorkCalendar

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2022, 11, 24)


@pytest.fixture(scope="module")
def policies() -> Policies:
    return load_policies(default_policies_path())


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.load()


class CountingEnv:
    """A pass environment whose working-day count is (end - start) calendar days, counted."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.calls = 0

    def workdays_between(self, start: date, end: date) -> int:
        self.calls += 1
        return (end - start).days

    def add_workdays(self, day: date, count: int) -> date:
        return day + timedelta(days=count)


LATE_RULES = """
dimensions:
  - {id: start, title: 开工}
groups:
  - {id: start_light, title: 开工灯, hit: first}
rules:
  - id: late_red
    title: 红
    applies_to: project
    pass: daily
    group: start_light
    priority: 10
    let:
      late: working_days_since(planned.started)
    when: not exempt and late > 5
    then: {light: {dimension: start, color: red}}
    reason: 已过 {{ late }} 天（{{ late }}）
    effective_from: 2022-01-01
  - id: late_yellow
    title: 黄
    applies_to: project
    pass: daily
    group: start_light
    priority: 20
    let:
      late: working_days_since(planned.started)
      doubled: late + late
    when: not exempt and late > 0 and doubled < 100
    then: {light: {dimension: start, color: yellow}}
    reason: 已过 {{ late }} 天，两倍 {{ doubled }}
    effective_from: 2022-01-01
  - id: on_time
    title: 绿
    applies_to: project
    pass: daily
    group: start_light
    priority: 30
    when: 'true'
    then: {light: {dimension: start, color: green}}
    reason: 按期
    effective_from: 2022-01-01
"""


def test_let_in_conditions_and_reason_is_computed_once(policies: Policies) -> None:
    ruleset = compile_text(LATE_RULES, policies)
    facts = {"exempt": False, "planned.started": date(2022, 11, 21)}  # 3 days late: yellow
    fast_env, reference_env = CountingEnv(AS_OF), CountingEnv(AS_OF)

    fast = list(evaluate(ruleset, "daily", "project", [("P1", facts)], fast_env))  # type: ignore[arg-type]
    reference = list(evaluate(ruleset, "daily", "project", [("P1", facts)],
                              reference_env, fast=False))  # type: ignore[arg-type]

    assert [(d.rule_id, d.light, d.reason) for d in fast] == [
        ("late_yellow", ("start", "yellow"), "已过 3 天，两倍 6")]
    assert fast == reference
    # late: once, though the red condition, the yellow condition (twice, via doubled), the
    # let doubled and the reason all use it
    assert fast_env.calls == 1
    # the reference inlines lets: red condition (1), yellow condition (late, then doubled's
    # two: 3), then decide computes late (1) and doubled (2)
    assert reference_env.calls == 7


def test_let_of_the_firing_rule_is_reused_in_its_reason(policies: Policies) -> None:
    ruleset = compile_text(LATE_RULES, policies)
    env = CountingEnv(AS_OF)
    facts = {"exempt": False, "planned.started": date(2022, 11, 14)}  # 10 days late: red

    (decision,) = evaluate(ruleset, "daily", "project", [("P2", facts)], env)  # type: ignore[arg-type]

    assert (decision.rule_id, decision.reason) == ("late_red", "已过 10 天（10）")
    assert decision.inputs == {"exempt": False, "planned.started": date(2022, 11, 14)}
    assert env.calls == 1


def test_a_let_is_not_computed_where_the_condition_stops_before_it(policies: Policies) -> None:
    ruleset = compile_text(LATE_RULES, policies)
    env = CountingEnv(AS_OF)
    facts = {"exempt": True, "planned.started": date(2022, 11, 14)}

    (decision,) = evaluate(ruleset, "daily", "project", [("P3", facts)], env)  # type: ignore[arg-type]

    assert (decision.rule_id, decision.reason) == ("on_time", "按期")
    assert env.calls == 0


def test_generated_group_code_caches_the_let_in_a_local(policies: Policies) -> None:
    ruleset = compile_text(LATE_RULES, policies)
    (group,) = ruleset.plan("daily", "project", AS_OF)

    source = group_source(ruleset, group, "project")

    assert source.startswith("def _fn(key, f, env):\n    _l1 = _l2 = _unset\n")
    assert "(_l1 if _l1 is not _unset else (_l1 := " in source
    assert "eval(" not in source and "exec(" not in source
    assert group_function(ruleset, group, "project") is group_function(ruleset, group, "project")


def test_decision_built_through_slot_setters_equals_the_constructor() -> None:
    route = Route("county", "兰考县人民政府", date(2022, 11, 29), 3, "working_days")
    fields: dict[str, Any] = {
        "subject_kind": "project", "subject_key": "P1", "rule_id": "r", "group": "g",
        "reason": "原因", "inputs": {"a": 1}, "light": ("start", "red"), "route": route,
        "escalate": True, "top_level_overdue": False, "action": "reminder"}
    built = object.__new__(Decision)
    for name in DECISION_FIELDS:
        DECISION_SETTERS[name](built, fields[name])  # type: ignore[operator]

    assert built == Decision(**fields)
    assert repr(built) == repr(Decision(**fields))
    with pytest.raises(AttributeError):
        built.reason = "changed"  # type: ignore[misc]


# -- the same decisions as the reference path, on a varied scenario set ------------------------

VARIED_RULES = """
dimensions:
  - {id: start, title: 开工}
  - {id: progress, title: 进度}
groups:
  - {id: start_light, title: 开工灯, hit: first}
  - {id: checks, title: 检查, hit: collect}
  - {id: escalation, title: 升级, hit: first}
rules:
  - id: s_exempt
    title: 豁免
    applies_to: project
    pass: daily
    group: start_light
    priority: 10
    when: exempt
    then: {light: {dimension: start, color: green}}
    reason: "{% if exempt_reason %}豁免：{{ exempt_reason }}{% else %}豁免{% endif %}"
    effective_from: 2022-01-01
  - id: s_late_routed
    title: 迟开工交县
    applies_to: project
    pass: daily
    group: start_light
    priority: 20
    let:
      late: working_days_since(planned.started)
      weeks: round(late / 5, 1)
    when: actual.started is none and late > 10
    then:
      light: {dimension: start, color: red}
      route: {level: county}
    reason: 迟 {{ late }} 个工作日（{{ weeks }} 周），交{{ recipient }}，{{ deadline_on }} 前
    effective_from: 2022-01-01
  - id: s_late
    title: 迟开工
    applies_to: project
    pass: daily
    group: start_light
    priority: 30
    let:
      late: working_days_since(planned.started)
      since: days_since(coalesce(actual.started, planned.started))
    when: actual.started is none and (late > 0 or since > 3)
    then: {light: {dimension: start, color: yellow}}
    reason: 迟 {{ late }}，{{ since }} 天，{{ rule_title }}，{{ as_of }}，收件 {{ recipient }}
    effective_from: 2022-01-01
  - id: s_rest
    title: 其余
    applies_to: project
    pass: daily
    group: start_light
    priority: 40
    when: 'true'
    then: {light: {dimension: start, color: green}}
    reason: 计划 {{ planned.started }}，上次 {{ previous_light.start }}
    effective_from: 2022-01-01
  - id: c_rate
    title: 完成率
    applies_to: project
    pass: daily
    group: checks
    let:
      share: ratio(completed_investment, annual_investment)
      gap: round(pp_gap(share, pro_rata_months()), 1)
    when: share is not none and gap < 0
    then: {action: reminder}
    reason: 完成 {{ share|pct(2) }}，差 {{ gap|pp }}，计划 {{ annual_investment|num }}，{{ share }}
    effective_from: 2022-01-01
  - id: c_category
    title: 类别
    applies_to: project
    pass: daily
    group: checks
    when: category in ['special_bond', 'central_budget'] and not finished
    then: {action: circular}
    reason: 类别 {{ category }}，连续 {{ streak.c_rate }} 次
    effective_from: 2022-01-01
  - id: ungrouped_streak
    title: 连续提醒
    applies_to: project
    pass: daily
    let:
      times: coalesce(streak('c_rate'), 0) + 1
    when: times >= 2 and light_streak('start') >= 1
    then: {action: reminder}
    reason: 第 {{ times }} 次
    effective_from: 2022-01-01
  - id: a_escalate
    title: 升级
    applies_to: assignment
    pass: daily
    group: escalation
    priority: 10
    let:
      late: working_days_since(deadline_on)
    when: status not in ['resolved', 'closed_out'] and late > 0
    then:
      escalate: true
    reason: "{{ number }} 逾期 {{ late }} 天，升级至{{ level_name }}：{{ recipient }}"
    effective_from: 2022-01-01
  - id: a_fine
    title: 正常
    applies_to: assignment
    pass: daily
    group: escalation
    priority: 20
    when: 'true'
    then: {action: reminder}
    reason: "{{ number }} 正常，{{ level }}，{{ deadline_on }}"
    effective_from: 2022-01-01
"""

_STRINGS = ["red", "green", "yellow", "county", "city", "province", "resolved", "open",
            "special_bond", "central_budget", "key_project", "policy_finance", "adjusted",
            "started", "兰考县", "杞县", ""]


def _random_value(rng: random.Random, type_: str) -> Any:
    if rng.random() < 0.2:
        return None
    if type_ == "date":
        return AS_OF + timedelta(days=rng.randint(-40, 20))
    if type_ == "int":
        return rng.randint(-2, 6)
    if type_ == "number":
        return rng.choice([0, 0.0, rng.uniform(0, 2), rng.uniform(100, 50000), -1.5, 0.125])
    if type_ == "bool":
        return rng.random() < 0.4
    return rng.choice(_STRINGS)


def random_subjects(kind: str, policies: Policies, dimensions: list[str], rule_ids: list[str],
                    n: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    rng = random.Random(seed)
    types = field_types(kind, policies.milestones)
    for dim in dimensions:
        types[f"previous_light.{dim}"] = "light"
        types[f"light_streak.{dim}"] = "int"
    for rule_id in rule_ids:
        types[f"streak.{rule_id}"] = "int"
    subjects = []
    for i in range(n):
        facts = {}
        for name, type_ in types.items():
            if type_ == "light":
                facts[name] = rng.choice(["red", "yellow", "green", None])
            elif rng.random() < 0.95:  # now and then a fact is missing altogether
                facts[name] = _random_value(rng, type_)
        subjects.append((f"{kind[0].upper()}{i:04d}", facts))
    return subjects


def _outcomes(ruleset: RuleSet, pass_kind: str, kind: str, subjects: list[tuple[str, Any]],
              env: PassEnv, fast: bool) -> list[str]:
    """Each subject's decisions (repr, so 1 and 1.0 and True differ), or the error it raised
    (a fact missing altogether is an error in a Jinja2 reason, on both paths)."""
    out = []
    for subject in subjects:
        try:
            out.extend(repr(d) for d in evaluate(ruleset, pass_kind, kind, [subject], env,
                                                 fast=fast))
        except Exception as exc:  # the point is comparing any error
            out.append(f"{subject[0]}: {type(exc).__name__}: {exc}")
    return out


def _both(ruleset: RuleSet, pass_kind: str, kind: str, subjects: list[tuple[str, Any]],
          env: PassEnv) -> tuple[list[str], list[str]]:
    return (_outcomes(ruleset, pass_kind, kind, subjects, env, True),
            _outcomes(ruleset, pass_kind, kind, subjects, env, False))


def test_varied_rules_give_identical_decisions(policies: Policies,
                                               calendar: WorkCalendar) -> None:
    ruleset = compile_text(VARIED_RULES, policies)
    env = PassEnv(AS_OF, calendar)
    rule_ids = [rule.id for rule in ruleset.rules]
    fired: dict[str, int] = {}
    for kind in ("project", "assignment"):
        subjects = random_subjects(kind, policies, ["start", "progress"], rule_ids, 400, seed=3)
        fast, reference = _both(ruleset, "daily", kind, subjects, env)
        assert fast == reference
        for rule_id in re.findall(r"rule_id='([^']+)'", "\n".join(fast)):
            fired[rule_id] = fired.get(rule_id, 0) + 1
    # every rule fired somewhere, so every kind of generated code was compared
    assert set(fired) == set(rule_ids)
    assert {rule.id for rule in ruleset.rules if not is_simple(rule)} == {
        "s_exempt", "s_late_routed", "a_escalate"}


def test_varied_rules_spot_checks(policies: Policies, calendar: WorkCalendar) -> None:
    ruleset = compile_text(VARIED_RULES, policies)
    env = PassEnv(AS_OF, calendar)
    late = {"exempt": False, "actual.started": None, "planned.started": date(2022, 11, 21),
            "completed_investment": 10.0, "annual_investment": 0, "category": "special_bond",
            "finished": False, "streak.c_rate": 3, "light_streak.start": 1,
            "county_government": "兰考县人民政府"}
    decisions = list(evaluate(ruleset, "daily", "project", [("P9", late)], env))

    assert [(d.rule_id, d.group, d.reason, d.action) for d in decisions] == [
        ("s_late", "start_light",
         "迟 3，3 天，迟开工，2022-11-24，收件 —", None),
        ("c_category", "checks", "类别 special_bond，连续 3 次", "circular"),
        ("ungrouped_streak", "@ungrouped_streak", "第 4 次", "reminder"),
    ]
    assert decisions[0].inputs == {
        "actual.started": None, "county_government": "兰考县人民政府", "exempt": False,
        "exempt_reason": None, "planned.started": date(2022, 11, 21),
        "previous_light.start": None, "task_force_leads": None}
    assert decisions == list(evaluate(ruleset, "daily", "project", [("P9", late)], env,
                                      fast=False))


def test_routed_and_escalated_rules_through_the_fast_path(policies: Policies,
                                                         calendar: WorkCalendar) -> None:
    ruleset = compile_text(VARIED_RULES, policies)
    env = PassEnv(AS_OF, calendar)
    project = {"exempt": False, "actual.started": None, "planned.started": date(2022, 11, 1),
               "county_government": "兰考县人民政府"}
    assignment = {"number": "JB-7", "status": "open", "level": "county",
                  "deadline_on": date(2022, 11, 21), "county_government": "兰考县人民政府"}

    (routed, *_) = evaluate(ruleset, "daily", "project", [("P1", project)], env)
    (escalated,) = evaluate(ruleset, "daily", "assignment", [("A1", assignment)], env)

    assert routed.rule_id == "s_late_routed"
    assert routed.route is not None and routed.route.recipient == "兰考县人民政府"
    assert routed.reason == (f"迟 17 个工作日（3.4 周），交兰考县人民政府，"
                             f"{routed.route.deadline_on} 前")
    assert escalated.rule_id == "a_escalate" and escalated.escalate
    assert escalated.route is not None and escalated.route.level == "city"
    assert escalated.reason.startswith("JB-7 逾期 3 天，升级至")


def test_shipped_rules_give_identical_decisions_on_every_kind(policies: Policies,
                                                              calendar: WorkCalendar) -> None:
    ruleset = load_ruleset(REPO / "rules", policies)
    env = PassEnv(AS_OF, calendar)
    dimensions = sorted(ruleset.dimensions)
    rule_ids = [rule.id for rule in ruleset.rules]
    compared = 0
    for pass_kind in ("daily", "weekly", "monthly"):
        for kind in ruleset.subject_kinds(pass_kind):
            subjects = random_subjects(kind, policies, dimensions, rule_ids, 300, seed=11)
            fast, reference = _both(ruleset, pass_kind, kind, subjects, env)
            assert fast == reference, (pass_kind, kind)
            compared += len(fast)
    assert compared > 1000


def test_errors_are_the_same_on_both_paths(policies: Policies, calendar: WorkCalendar) -> None:
    ruleset = compile_text(LATE_RULES, policies)
    env = PassEnv(AS_OF, calendar)
    wrong = [("P1", {"exempt": False, "planned.started": "2022-11-01"})]  # a str, not a date

    with pytest.raises(TypeError) as fast_error:
        list(evaluate(ruleset, "daily", "project", wrong, env))
    with pytest.raises(TypeError) as reference_error:
        list(evaluate(ruleset, "daily", "project", wrong, env, fast=False))

    assert str(fast_error.value) == str(reference_error.value)


def test_firing_needs_only_what_the_conditions_read(policies: Policies,
                                                    calendar: WorkCalendar) -> None:
    """``firing`` keeps exactly the subjects ``evaluate`` decides for, even when every fact no
    condition reads is taken away: ``condition_reads`` misses nothing a condition reads."""
    env = PassEnv(AS_OF, calendar)
    compared = fired = 0
    for ruleset in (compile_text(VARIED_RULES, policies), load_ruleset(REPO / "rules", policies)):
        rule_ids = [rule.id for rule in ruleset.rules]
        for pass_kind in ("daily", "weekly", "monthly"):
            for kind in ruleset.subject_kinds(pass_kind):
                plan = ruleset.plan(pass_kind, kind, AS_OF)
                read = {name for group in plan for name in group.condition_reads}
                assert read < {name for group in plan for name in group.reads}, (pass_kind, kind)
                for key, facts in random_subjects(kind, policies, sorted(ruleset.dimensions),
                                                  rule_ids, 300, seed=5):
                    try:
                        decides = bool(list(evaluate(ruleset, pass_kind, kind, [(key, facts)],
                                                     env)))
                    except UndefinedError:  # a Jinja2 reason without its fact, once it fires
                        assert firing(ruleset, pass_kind, kind, [(key, facts)], env)
                        continue
                    stripped = {name: value for name, value in facts.items() if name in read}
                    kept = firing(ruleset, pass_kind, kind, [(key, stripped)], env)
                    assert bool(kept) == decides, (pass_kind, kind, key)
                    compared += 1
                    fired += decides
    assert compared > 2000 and fired > 500
