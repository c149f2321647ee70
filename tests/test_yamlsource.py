"""Located YAML: positions of every node, and each kind of mistake as an exact finding."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from kfworkflow.yamlsource import Located, _parse, load_yaml, validate

REPO = Path(__file__).resolve().parent.parent

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "due"],
    "properties": {
        "name": {"type": "string"},
        "due": {"type": "string", "format": "date"},
        "count": {"type": "integer"},
        "level": {"enum": ["county", "city", "province"]},
        "version": {"const": 1},
        "items": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "deadline": {"type": "object", "additionalProperties": False, "minProperties": 1,
                     "maxProperties": 1,
                     "properties": {"working_days": {"type": "integer"},
                                    "days": {"type": "integer"}}},
    },
}


def _load(text: str) -> Located:
    doc, findings = load_yaml(text, file="f.yaml")
    assert findings == []
    assert doc is not None
    return doc


def _check(text: str) -> list[str]:
    return [str(f) for f in validate(_load(text), SCHEMA)]


def test_plain_data_with_value_and_key_positions() -> None:
    doc = _load("name: 杞县\ndue: 2022-11-30\nitems:\n  - a\n  - {b: 2}\n")
    assert doc.data == {"name": "杞县", "due": date(2022, 11, 30), "items": ["a", {"b": 2}]}
    assert doc.file == "f.yaml"
    assert doc.positions[()] == (1, 1)
    assert doc.positions[("name",)] == (1, 7)
    assert doc.positions[("items", 0)] == (4, 5)
    assert doc.positions[("items", 1, "b")] == (5, 9)
    assert doc.key_positions[("items", 1, "b")] == (5, 6)
    assert doc.where(("items", 1, "missing")) == (5, 5)
    assert doc.where(("due",), key=True) == (2, 1)


def test_empty_text_and_files() -> None:
    assert load_yaml("", file="f.yaml") == (Located(None, "f.yaml"), [])


def test_reads_a_file_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    doc, findings = load_yaml(path)
    assert findings == [] and doc is not None
    assert (doc.data, doc.file) == ({"a": 1}, str(path))
    doc, findings = load_yaml(tmp_path / "missing.yaml", file="missing.yaml")
    assert doc is None
    assert [(f.code, f.file) for f in findings] == [("KFW-Y001", "missing.yaml")]
    assert findings[0].message.startswith("cannot read the file: ")


def test_malformed_yaml_is_located_at_the_yaml_mark() -> None:
    doc, findings = load_yaml("a: 1\nb: [1, 2\nc: 3\n", file="f.yaml")
    assert doc is None
    assert [str(f) for f in findings] == [
        "f.yaml:3:2: KFW-Y001 malformed YAML: expected ',' or ']', but got ':' "
        "(check indentation, colons and quotes near this place)"]
    _, findings = load_yaml("a:\n\tb: 1\n", file="f.yaml")
    assert [str(f) for f in findings] == [
        "f.yaml:2:1: KFW-Y001 malformed YAML: found character '\\t' that cannot start any "
        "token (check indentation, colons and quotes near this place)"]


def test_duplicate_keys_name_the_first_line_and_keep_the_first_value() -> None:
    doc, findings = load_yaml("a: 1\nb:\n  x: 1\n  x: 2\na: 3\n", file="f.yaml")
    assert doc is not None and doc.data == {"a": 1, "b": {"x": 1}}
    assert [str(f) for f in findings] == [
        "f.yaml:4:3: KFW-Y002 duplicate key 'x' (first at line 3) "
        "(each key may appear once in a mapping)",
        "f.yaml:5:1: KFW-Y002 duplicate key 'a' (first at line 1) "
        "(each key may appear once in a mapping)"]


def test_bad_values_are_findings_not_tracebacks() -> None:
    doc, findings = load_yaml(
        "due: 2022-13-45\nn: !!int abc\nx: !!python/object:os.system ls\nok: 1\n", file="f.yaml")
    assert doc is not None and doc.data == {"due": None, "n": None, "x": None, "ok": 1}
    assert [str(f) for f in findings] == [
        "f.yaml:1:6: KFW-Y001 bad value '2022-13-45': month must be in 1..12",
        "f.yaml:2:4: KFW-Y001 bad value 'abc': invalid literal for int() with base 10: 'abc'",
        "f.yaml:3:4: KFW-Y001 bad value 'ls': could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object:os.system'"]
    # the schema stays quiet about values already reported as unreadable
    assert validate(doc, {"properties": {"due": {"type": "string", "format": "date"}}}) == []


def test_keys_must_be_scalars_and_aliases_must_not_loop() -> None:
    doc, findings = load_yaml("? [1, 2]\n: 3\nb: 4\n", file="f.yaml")
    assert doc is not None and doc.data == {"b": 4}
    assert [str(f) for f in findings] == [
        "f.yaml:1:3: KFW-Y004 a key must be plain text, not a list or mapping"]
    doc, findings = load_yaml("a: &x [1, *x]\n", file="f.yaml")
    assert doc is not None and doc.data == {"a": [1, None]}
    assert [str(f) for f in findings] == [
        "f.yaml:1:4: KFW-Y001 malformed YAML: an alias refers to the node that contains it"]
    doc, findings = load_yaml("[" * 5000, file="f.yaml")
    assert doc is None
    assert [str(f) for f in findings] == ["f.yaml: KFW-Y001 malformed YAML: nested too deeply"]


def test_merge_keys_follow_yaml_rules() -> None:
    doc = _load("base: &b {x: 1, y: 0}\nc: {y: 2, <<: *b}\nd: {<<: [*b, {z: 1}], x: 3}\n")
    assert doc.data["c"] == {"x": 1, "y": 2}
    assert doc.data["d"] == {"z": 1, "y": 0, "x": 3}
    assert doc.positions[("c", "y")] == (2, 8)
    assert doc.positions[("c", "x")] == (1, 14)


def test_a_valid_document_has_no_findings() -> None:
    assert _check("name: a\ndue: 2022-11-30\ncount: 3\nlevel: city\nversion: 1\n"
                  "deadline: {days: 2}\n") == []


def test_unknown_key_with_did_you_mean_at_the_key() -> None:
    assert _check("name: a\ndue: 2022-11-30\n  # note\ncuont: 3\nzzz: 1\n") == [
        "f.yaml:4:1: KFW-Y003 unknown key 'cuont' (did you mean 'count'?)",
        "f.yaml:5:1: KFW-Y003 unknown key 'zzz' (allowed keys: name, due, count, level, "
        "version, items, deadline)"]


def test_wrong_types_including_dates() -> None:
    assert _check("name: [a]\ndue: abc\ncount: 2.5\n") == [
        "f.yaml:1:7: KFW-Y004 expected text, got ['a']",
        "f.yaml:2:6: KFW-Y004 expected a date like 2022-11-30, got 'abc'",
        "f.yaml:3:8: KFW-Y004 expected a whole number, got 2.5"]
    assert _check("name: a\ndue: 20221130\n") == [
        "f.yaml:2:6: KFW-Y004 expected a date like 2022-11-30, got 20221130"]


def test_missing_required_keys_at_their_mapping() -> None:
    assert _check("\ncount: 1\n") == [
        "f.yaml:2:1: KFW-Y005 missing required key 'name' in the top level",
        "f.yaml:2:1: KFW-Y005 missing required key 'due' in the top level"]


def test_values_not_allowed_list_the_choices() -> None:
    assert _check("name: a\ndue: 2022-11-30\nlevel: cty\nversion: 2\n") == [
        "f.yaml:3:8: KFW-Y006 'cty' is not allowed here; expected one of county, city, "
        "province (did you mean 'city'?)",
        "f.yaml:4:10: KFW-Y006 2 is not allowed here; expected 1"]


def test_other_violations() -> None:
    assert _check("name: a\ndue: 2022-11-30\nitems: []\ndeadline: {days: 1, working_days: 2}\n"
                  ) == [
        "f.yaml:3:8: KFW-Y007 [] should be non-empty",
        "f.yaml:4:11: KFW-Y007 too many keys: give at most 1 of working_days, days"]


def test_all_findings_in_one_pass_sorted_by_line() -> None:
    found = validate(_load("levle: city\ncount: x\nname: a\n"), SCHEMA)
    assert [(f.line, f.code) for f in found] == [
        (1, "KFW-Y003"), (1, "KFW-Y005"), (2, "KFW-Y004")]
    assert found[0].hint == "did you mean 'level'?"
    assert found[1].message == "missing required key 'due' in the top level"


def test_bad_key_names_point_at_the_key() -> None:
    schema = {"type": "object", "propertyNames": {"enum": ["start_rate", "funds_rate"]}}
    doc = _load("weights:\n  start_rat: 1\n")
    assert [str(f) for f in validate(doc, {"properties": {"weights": schema}})] == [
        "f.yaml:2:3: KFW-Y003 unknown key 'start_rat' (did you mean 'start_rate'?)"]
    schema = {"type": "object", "propertyNames": {"pattern": "^[a-z]+$"}}
    assert [str(f) for f in validate(_load("ok: 1\nBad: 2\n"), schema)] == [
        "f.yaml:2:1: KFW-Y007 'Bad' is not a valid key "
        "(use lowercase letters, digits and _, starting with a letter)"]


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML built without libyaml")
@pytest.mark.parametrize("path", sorted([REPO / "policies.yaml", *(REPO / "rules").rglob("*.yaml"),
                                         *(REPO / "docs/examples").rglob("*.yaml")]),
                         ids=lambda p: str(p.relative_to(REPO)))
def test_libyaml_and_pyyaml_read_the_shipped_files_identically(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    fast = _parse(yaml.CSafeLoader, text, path.name)
    slow = _parse(yaml.SafeLoader, text, path.name)
    assert isinstance(fast, tuple) and isinstance(slow, tuple)
    (fast_doc, fast_findings), (slow_doc, slow_findings) = fast, slow
    assert fast_doc is not None and slow_doc is not None
    assert fast_doc.data == slow_doc.data
    assert fast_doc.positions == slow_doc.positions
    assert fast_doc.key_positions == slow_doc.key_positions
    assert fast_findings == slow_findings
