"""The shipped rules and the rule-language docs.

The default rules (``rules/``) and the examples (``docs/examples/rules/``) load against the
shipped ``policies.yaml`` without findings, every test case passes and every rule is exercised;
``docs/rules.md`` lists every fact, function and rule/expression error code, and points at every
language case.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from kfworkflow.config.policies import Policies, load_policies
from kfworkflow.rules.expr_check import HISTORY_FUNCTIONS, SIGNATURES
from kfworkflow.rules.facts import SUBJECT_KINDS, field_docs
from kfworkflow.rules.ruleset import RuleSet, compile_source
from kfworkflow.rules.spec import read_rules
from kfworkflow.rules.testing import run_tests
from kfworkflow.rules.testing import test_files as rule_test_files
from kfworkflow.workcalendar import WorkCalendar

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "rules"
EXAMPLES = REPO / "docs" / "examples" / "rules"
RULES_DOC = REPO / "docs" / "rules.md"
FOLDERS = pytest.mark.parametrize("folder", [RULES, EXAMPLES],
                                  ids=["rules", "docs/examples/rules"])
PLAN_DATE = date(2022, 11, 14)  # 汴政办〔2022〕48号


@pytest.fixture(scope="module")
def policies() -> Policies:
    return load_policies(REPO / "policies.yaml")


@pytest.fixture(scope="module")
def calendar() -> WorkCalendar:
    return WorkCalendar.load()


@pytest.fixture(scope="module")
def doc() -> str:
    return RULES_DOC.read_text(encoding="utf-8")


def compiled(folder: Path, policies: Policies) -> RuleSet:
    ruleset, findings = compile_source(read_rules(folder), policies)
    assert [str(f) for f in findings] == []
    assert ruleset is not None
    return ruleset


# -- the rule sets ---------------------------------------------------------------------------


@FOLDERS
def test_rules_load_without_findings(folder: Path, policies: Policies) -> None:
    assert compiled(folder, policies).rules


@FOLDERS
def test_every_case_passes_and_every_rule_is_covered(folder: Path, policies: Policies,
                                                     calendar: WorkCalendar) -> None:
    ruleset = compiled(folder, policies)
    files = rule_test_files(folder)
    assert files, f"no test files beside {folder}"
    report = run_tests(ruleset, files, calendar)
    assert [str(f) for f in report.findings] == []
    assert [(r.file, r.line, r.note, r.diff) for r in report.failed] == []
    assert report.uncovered == []
    assert len(report.results) >= len(files)


def test_default_rules_take_effect_on_the_plan_date(policies: Policies) -> None:
    ruleset = compiled(RULES, policies)
    assert {r.spec.effective_from for r in ruleset.rules} == {PLAN_DATE}
    assert [r.id for r in ruleset.rules if r.spec.effective_to is not None] == []
    for pass_kind in ("daily", "weekly", "monthly"):
        for kind in ruleset.subject_kinds(pass_kind):
            assert ruleset.plan(pass_kind, kind, date(2022, 11, 13)) == ()


def test_default_dimensions_and_the_engine_owned_overall(policies: Policies) -> None:
    ruleset = compiled(RULES, policies)
    assert sorted(ruleset.dimensions) == sorted(
        ["start", "progress", "funds", "report", "target", "rank", "overall"])
    lit = {r.spec.then.light[0] for r in ruleset.rules if r.spec.then.light}
    assert lit == {"start", "progress", "funds", "report", "target", "rank"}


def test_each_light_dimension_has_one_first_match_group_per_subject_kind(
        policies: Policies) -> None:
    ruleset = compiled(RULES, policies)
    groups: dict[tuple[str, str, str], set[str]] = {}
    for rule in ruleset.rules:
        spec = rule.spec
        if spec.then.light is None or (spec.then.light[1] == "red" and spec.group is None):
            continue  # an ungrouped red (a target) may add to a dimension; it never clears it
        key = (spec.then.light[0], spec.applies_to, spec.pass_kind)
        groups.setdefault(key, set()).add(spec.group or "")
    for key, names in groups.items():
        assert len(names) == 1 and "" not in names, key
        (name,) = names
        assert ruleset.groups[name].hit == "first", key


def test_every_encodable_seed_target_has_a_rule_titled_like_it(policies: Policies) -> None:
    titles = {r.spec.title for r in compiled(RULES, policies).rules
              if r.spec.applies_to == "category"}
    missing = [t.id for t in policies.targets if t.title not in titles]
    # cb_sb_investment sums two categories; sb_issued has no fact and is due before the plan
    assert sorted(missing) == ["cb_sb_investment", "sb_issued"]


# -- docs/rules.md ---------------------------------------------------------------------------


def facts_table(doc: str, kind: str) -> set[str]:
    """Fact names in the first column of the facts table whose heading names ``kind``."""
    for match in re.finditer(r"^### Facts of (.+)$", doc, re.M):
        if f"`{kind}`" in match.group(1):
            body = doc[match.end():].split("\n#", 1)[0]
            return set(re.findall(r"^\| `([^`]+)` \|", body, re.M))
    raise AssertionError(f"no facts table for {kind} in docs/rules.md")


@pytest.mark.parametrize("kind", SUBJECT_KINDS)
def test_the_facts_table_lists_every_fact_and_nothing_else(kind: str, doc: str,
                                                           policies: Policies) -> None:
    expected = {d.name for d in field_docs(kind, policies.milestones)}
    listed = facts_table(doc, kind)
    assert sorted(expected - listed) == []
    assert sorted(listed - expected) == []


def test_every_function_is_documented(doc: str) -> None:
    names = sorted({*SIGNATURES, *HISTORY_FUNCTIONS})
    assert [n for n in names if f"`{n}(" not in doc] == []


def test_every_rule_and_expression_error_code_is_explained(doc: str) -> None:
    sources = [*(REPO / "kfworkflow" / "rules").glob("*.py"), REPO / "kfworkflow" / "yamlsource.py"]
    used: set[str] = set()
    for path in sources:
        used |= set(re.findall(r"KFW-[RYE]\d{3}", path.read_text(encoding="utf-8")))
    explained = set(re.findall(r"^\| (KFW-[RYE]\d{3}) \|", doc, re.M))
    assert sorted(used - explained) == []


def test_every_language_case_is_referenced_from_the_doc(doc: str) -> None:
    cases = yaml.safe_load((RULES / "tests" / "language.yaml").read_text(encoding="utf-8"))
    tags = [re.match(r"\[[^\]]+\]", case["note"]) for case in cases["cases"]]
    assert None not in tags
    assert [t.group() for t in tags if t and f"`{t.group()}`" not in doc] == []


def test_every_example_rule_is_indexed_in_the_doc(doc: str, policies: Policies) -> None:
    ids = [r.id for r in compiled(EXAMPLES, policies).rules]
    assert [i for i in ids if f"`{i}`" not in doc] == []
