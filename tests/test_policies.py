"""policies.yaml: the shipped defaults, and every kind of mistake with its exact location."""

from __future__ import annotations

from pathlib import Path

import pytest

from kfworkflow.config.defaults import default_policies_path
from kfworkflow.config.policies import load_policies, parse_policies
from kfworkflow.errors import RuleCheckError

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
    found = _findings(text)
    assert len(found) == 3
    assert found[0].startswith(f"p.yaml:{_line_of(text, 'timezone:')}:11: KFW-P002 unknown time "
                               "zone 'Asia/Kaifeng'")
    assert f"p.yaml:{_line_of(text, 'task_force: housing,')}" in found[1]
    assert "KFW-P004 category housing_delivery names unknown task force 'housing'" in found[1]
    assert "KFW-P009 ranking weights sum to 1.1, not 1" in found[2]


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
