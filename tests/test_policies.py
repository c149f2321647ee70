"""policies.yaml: the shipped defaults, and every kind of mistake with its exact location."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from kfworkflow.config.defaults import default_policies_path, default_rules_dir
from kfworkflow.config.policies import load_policies, parse_policies
from kfworkflow.engine.units import Units
from kfworkflow.errors import RuleCheckError
from kfworkflow.rules.reason import ReasonTemplate

SHIPPED = default_policies_path().read_text(encoding="utf-8")


def test_the_shipped_policies_load() -> None:
    policies = load_policies(default_policies_path())
    assert len(policies.counties) == 10
    assert len(policies.task_forces) == 9
    assert len(policies.categories) == 8
    assert policies.county("杞县").id == "qixian"  # type: ignore[union-attr]
    assert policies.category("省市重点项目").path == ("planned", "started", "completed")  # type: ignore[union-attr]
    assert policies.task_force_of("three_batches").leads == ("市发展改革委", "市重点办")
    assert [lv.level for lv in policies.ladder] == ["county", "city", "province"]
    assert policies.next_level("city").level == "province"  # type: ignore[union-attr]
    assert policies.next_level("province") is None
    assert policies.ladder[2].deadline.amount == 10
    assert policies.county("城乡一体化示范区").government == "城乡一体化示范区管委会"  # type: ignore[union-attr]
    assert sum(policies.ranking.weights.values()) == pytest.approx(1.0)
    assert str(policies.tz) == "Asia/Shanghai"
    assert policies.county("demo_zone").kind == "zone"  # type: ignore[union-attr]
    assert policies.county("开封") is None
    assert policies.milestones["in_production"] == "投产"
    assert policies.milestones["adjusted"] == "调出"
    assert policies.ladder[0].recipient == "{{ county_government }}"
    assert (policies.ladder[0].deadline.amount, policies.ladder[0].deadline.unit) == (
        5, "working_days")
    assert len(policies.targets) == 12
    bonds = policies.targets[-1]
    assert (bonds.id, bonds.metric, bonds.op, bonds.threshold, bonds.due, bonds.unit) == (
        "sb_issued", "bond_issued", ">=", 159700.0, date(2022, 10, 31), "万元")
    assert policies.targets[8].categories == ("central_budget", "special_bond")
    assert policies.schedules.weekly == "0 9 * * mon"
    assert policies.schedules.catch_up_grace_hours == 6.0
    assert policies.ranking.weights["investment_completion_rate"] == 0.3
    assert policies.reports.organisation == "开封市稳经济重要项目集中攻坚行动领导小组办公室"
    assert dict(policies.ledger.headers) == {}
    assert (policies.calendar.data_file, policies.calendar.fallback) == (None, "error")
    assert policies.source_file == str(default_policies_path())


def test_policies_are_immutable_and_hash_their_canonical_form() -> None:
    policies = load_policies(default_policies_path())
    with pytest.raises(TypeError):
        policies.milestones["x"] = "y"  # type: ignore[index]
    canonical = policies.canonical()
    assert canonical["targets"][0]["due"] == "2022-11-30"
    assert canonical["ledger"] == {"headers": {}}
    text = json.dumps(canonical, ensure_ascii=False, sort_keys=True)
    assert policies.content_hash == hashlib.sha256(text.encode()).hexdigest()
    again, _ = parse_policies(SHIPPED + "\n# 注释不改变内容\n", "other.yaml")
    assert again is not None and again.content_hash == policies.content_hash
    changed, _ = parse_policies(_edit("deadline: {working_days: 10}", "deadline: {days: 14}"),
                                "p.yaml")
    assert changed is not None and changed.content_hash != policies.content_hash


def test_default_locations() -> None:
    assert default_policies_path().name == "policies.yaml"
    assert default_rules_dir().is_dir()


def _findings(text: str) -> list[str]:
    policies, findings = parse_policies(text, "p.yaml")
    assert policies is None
    return [str(f) for f in findings]


def _edit(old: str, new: str) -> str:
    assert old in SHIPPED, old
    return SHIPPED.replace(old, new, 1)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_unknown_key_with_did_you_mean() -> None:
    text = _edit("timezone: Asia/Shanghai", "timezon: Asia/Shanghai")
    line = _line_of(text, "timezon:")
    assert _findings(text) == [
        "p.yaml:3:1: KFW-Y005 missing required key 'timezone' in the top level",
        f"p.yaml:{line}:1: KFW-Y003 unknown key 'timezon' (did you mean 'timezone'?)",
    ]


def test_malformed_yaml_and_duplicate_keys_are_located() -> None:
    assert _findings("version: 1\ncounties: [a, b\n") == [
        "p.yaml:3:1: KFW-Y001 malformed YAML: expected ',' or ']', but got '<stream end>' "
        "(check indentation, colons and quotes near this place)"]
    text = _edit("timezone: Asia/Shanghai", "timezone: Asia/Shanghai\ntimezone: UTC")
    line = _line_of(text, "timezone: UTC")
    first = _line_of(text, "timezone: Asia/Shanghai")
    assert _findings(text)[0] == (f"p.yaml:{line}:1: KFW-Y002 duplicate key 'timezone' (first "
                                  f"at line {first}) (each key may appear once in a mapping)")


def test_wrong_types_and_values() -> None:
    text = _edit("deadline: {working_days: 10}", "deadline: {working_days: ten}")
    line = _line_of(text, "working_days: ten")
    assert _findings(text) == [
        f"p.yaml:{line}:30: KFW-Y004 expected a whole number, got 'ten'"]
    text = _edit("fallback: error ", "fallback: errors ")
    line = _line_of(text, "fallback: errors")
    assert _findings(text) == [
        f"p.yaml:{line}:13: KFW-Y006 'errors' is not allowed here; expected one of error, "
        "weekends-only (did you mean 'error'?)"]


def test_cross_references_are_checked_and_all_reported_at_once() -> None:
    text = _edit("task_force: housing_delivery, path", "task_force: housing, path")
    text = text.replace("timezone: Asia/Shanghai", "timezone: Asia/Kaifeng", 1)
    text = text.replace("on_time_completion_rate: 0.2", "on_time_completion_rate: 0.3", 1)
    tz_line = _line_of(text, "timezone:")
    tf_line = _line_of(text, "task_force: housing,")
    weights_line = _line_of(text, "funds_in_place_rate: 0.25")
    assert _findings(text) == [
        f"p.yaml:{tz_line}:11: KFW-P002 unknown time zone 'Asia/Kaifeng' "
        "(use an IANA name such as Asia/Shanghai)",
        f"p.yaml:{tf_line}:55: KFW-P004 category housing_delivery names unknown task force "
        "'housing' (did you mean 'housing_delivery'?)",
        f"p.yaml:{weights_line}:5: KFW-P009 ranking weights sum to 1.1, not 1",
    ]


def test_shape_and_meaning_mistakes_come_back_together() -> None:
    text = _edit("catch_up_grace_hours: 6", "catch_up_grace_hour: 6")
    text = text.replace('daily: "0 18 * * *"', 'daily: "0 18 * *"', 1)
    text = text.replace("category: special_bond, metric: bond_issued",
                        "category: special_bonds, metric: bond_issued", 1)
    assert _findings(text) == [
        f"p.yaml:{_line_of(text, 'sb_issued')}:64: KFW-P007 target sb_issued names unknown "
        "category 'special_bonds' (did you mean 'special_bond'?)",
        f"p.yaml:{_line_of(text, 'daily:')}:10: KFW-P008 schedule daily '0 18 * *' is not a "
        "5-field cron expression (minute hour day month weekday, e.g. '0 18 * * *')",
        f"p.yaml:{_line_of(text, 'catch_up_grace_hour:')}:3: KFW-Y003 unknown key "
        "'catch_up_grace_hour' (did you mean 'catch_up_grace_hours'?)",
    ]


def test_duplicate_ids_adjusted_in_a_path_and_deadlines() -> None:
    text = _edit("{id: tongxu, name: 通许县", "{id: qixian, name: 通许县")
    text = text.replace("path: [planned, started, completed]}",
                        "path: [planned, started, adjusted]}", 1)
    text = text.replace("deadline: {working_days: 10}", "deadline: {working_days: 10, days: 3}")
    path_line = _line_of(text, "adjusted]}")
    assert _findings(text) == [
        f"p.yaml:{_line_of(text, '{id: qixian, name: 通许县')}:10: KFW-P003 duplicate id "
        "'qixian' in counties",
        f"p.yaml:{path_line}:88: KFW-P005 'adjusted' is implicit: every unfinished state can be "
        "adjusted out; remove it from the path",
        f"p.yaml:{_line_of(text, 'days: 3}')}:15: KFW-Y007 too many keys: give at most 1 of "
        "working_days, days",
    ]


def test_a_document_that_is_not_a_mapping() -> None:
    assert _findings("- a\n- b\n") == [
        "p.yaml:1: KFW-P001 policies.yaml must be a mapping of keys"]


def test_ladder_order_and_paths() -> None:
    text = _edit("  - level: county\n", "  - level: province\n")
    assert any("KFW-P006 ladder levels ['province', 'city', 'province'] must be unique" in f
               for f in _findings(text))
    text = _edit("path: [planned, started, completed]}", "path: [planned, begun, completed]}")
    assert any("KFW-P005 category key_project uses unknown milestone 'begun'" in f
               for f in _findings(text))


def test_load_raises_with_every_finding(tmp_path: Path) -> None:
    path = tmp_path / "policies.yaml"
    path.write_text(_edit("timezone: Asia/Shanghai", "timezone: Mars/Base"), encoding="utf-8")
    with pytest.raises(RuleCheckError) as info:
        load_policies(path)
    assert [f.code for f in info.value.findings] == ["KFW-P002"]


def test_the_county_rung_names_each_county_government_and_the_zone_committee() -> None:
    policies = load_policies(default_policies_path())
    rung = ReasonTemplate(policies.ladder[0].recipient)
    units = Units(policies)
    assert [rung.render({}, {}, units.unit_facts(county, "key_project", "key_project"))
            for county in ("qixian", "shunhe", "demo_zone")] == [
        "杞县人民政府", "顺河回族区人民政府", "城乡一体化示范区管委会"]
