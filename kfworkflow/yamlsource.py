"""Located YAML: plain data plus the line and column of every node, and schema findings.

Policy staff edit YAML by hand, so every mistake must come back as
``file:line:col: CODE message (hint)``, all of them at once, never as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from kfworkflow.errors import Finding, did_you_mean

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Located:
    """YAML content as plain Python data, with 1-based positions of every value and key."""

    data: Any
    file: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    # paths whose value could not be read (already reported); validation stays quiet about them
    unreadable: frozenset[Path_] = frozenset()

    def where(self, path: Iterable[Any], *, key: bool = False) -> tuple[int | None, int | None]:
        full = tuple(path)
        table = self.key_positions if key else self.positions
        while True:
            if full in table:
                return table[full]
            if key and full in self.positions:
                return self.positions[full]
            if not full:
                return None, None
            full = full[:-1]


_MERGE_TAG = "tag:yaml.org,2002:merge"
# libyaml's parser when PyYAML was built with it: the same nodes and marks, several times
# faster; its error messages differ, so malformed text is parsed again by PyYAML's own
_FastLoader: Any = getattr(yaml, "CSafeLoader", None)
_KEY_TYPES = (str, int, float, bool, date)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _reason(exc: Exception) -> str:
    if isinstance(exc, yaml.MarkedYAMLError):
        return exc.problem or exc.context or "cannot read this value"
    return str(exc)


class _Builder:
    """Turns a composed YAML node tree into plain data, recording where each node was written."""

    def __init__(self, loader: Any, file: str) -> None:
        self.loader = loader
        self.file = file
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.key_positions: dict[Path_, tuple[int, int]] = {}
        self.findings: list[Finding] = []
        self.unreadable: set[Path_] = set()

    def _add(self, code: str, message: str, node: yaml.Node, hint: str | None = None) -> None:
        line, col = _mark(node)
        self.findings.append(Finding(code, message, file=self.file, line=line, col=col,
                                     hint=hint))

    def build(self, node: yaml.Node, path: Path_, active: frozenset[int] = frozenset()) -> Any:
        if id(node) in active:
            self._add("KFW-Y001", "malformed YAML: an alias refers to the node that contains it",
                      node)
            self.unreadable.add(path)
            return None
        self.positions[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, active | {id(node)})
        if isinstance(node, yaml.SequenceNode):
            inner = active | {id(node)}
            return [self.build(child, (*path, i), inner) for i, child in enumerate(node.value)]
        value, ok = self._scalar(node)
        if not ok:
            self.unreadable.add(path)
        return value

    def _scalar(self, node: yaml.Node) -> tuple[Any, bool]:
        try:
            return self.loader.construct_object(node, deep=True), True
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            self._add("KFW-Y001", f"bad value {node.value!r}: {_reason(exc)}", node)
            return None, False

    def _mapping(self, node: yaml.MappingNode, path: Path_, active: frozenset[int]
                 ) -> dict[Any, Any]:
        # YAML merge keys (``<<: *base``): explicit keys win over merged ones, and an earlier
        # merge source wins over a later one; only explicit keys can be duplicates.
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [
                value_node]
            for source in reversed(sources):
                if isinstance(source, yaml.MappingNode) and id(source) not in active:
                    merged.update(self._mapping(source, path, active | {id(source)}))
                else:
                    self._add("KFW-Y001", "malformed YAML: '<<' can only merge mappings", source)
        explicit: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._add("KFW-Y004", "a key must be plain text, not a list or mapping",
                          key_node)
                continue
            key, ok = self._scalar(key_node)
            if not ok:
                continue
            if key is not None and not isinstance(key, _KEY_TYPES):
                self._add("KFW-Y004", "a key must be plain text", key_node)
                continue
            if key in first_line:
                self._add("KFW-Y002", f"duplicate key {key!r} (first at line {first_line[key]})",
                          key_node, "each key may appear once in a mapping")
                continue
            first_line[key] = _mark(key_node)[0]
            self.key_positions[(*path, key)] = _mark(key_node)
            explicit[key] = self.build(value_node, (*path, key), active)
        return {**{k: v for k, v in merged.items() if k not in explicit}, **explicit}


def load_yaml(source: str | Path, *, file: str | None = None) -> tuple[Located | None,
                                                                        list[Finding]]:
    """Parse YAML text (or a file) into a ``Located``; never raises for bad content.

    ``SafeLoader`` semantics: ``2022-11-30`` becomes a ``datetime.date``.
    """
    if isinstance(source, Path):
        name = file or str(source)
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return None, [Finding("KFW-Y001", f"cannot read the file: {exc}", file=name)]
    else:
        name, text = file or "<text>", source
    fast = _parse(_FastLoader, text, name) if _FastLoader is not None else None
    if fast is not None and not isinstance(fast, Finding):
        return fast
    # malformed (or no libyaml): PyYAML's own parser words and locates the mistake
    slow = _parse(yaml.SafeLoader, text, name)
    if isinstance(slow, Finding):
        return None, [slow]
    return slow


def _parse(loader_class: Any, text: str, name: str
           ) -> tuple[Located | None, list[Finding]] | Finding:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located(None, name), []
        builder = _Builder(loader, name)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        return Finding("KFW-Y001", f"malformed YAML: {problem}", file=name,
                       line=mark.line + 1 if mark else None,
                       col=mark.column + 1 if mark else None,
                       hint="check indentation, colons and quotes near this place")
    except yaml.YAMLError as exc:
        return Finding("KFW-Y001", f"malformed YAML: {exc}", file=name)
    except RecursionError:
        return Finding("KFW-Y001", "malformed YAML: nested too deeply", file=name)
    finally:
        loader.dispose()
    return (Located(data, name, builder.positions, builder.key_positions,
                    frozenset(builder.unreadable)), builder.findings)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k if isinstance(k, str) else str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping (key: value)",
    "array": "a list",
    "null": "nothing",
}


def _describe(schema: Mapping[str, Any]) -> str:
    if schema.get("format") == "date":
        return "a date like 2022-11-30"
    if "anyOf" in schema:
        return " or ".join(_describe(option) for option in schema["anyOf"])
    kind = schema.get("type")
    kinds = [str(k) for k in kind] if isinstance(kind, list) else [str(kind)]
    return " or ".join(_TYPE_WORDS.get(k, k) for k in kinds)


def validate(doc: Located, schema: Mapping[str, Any]) -> list[Finding]:
    """Check ``doc`` against a JSON Schema; every violation becomes a located finding."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    findings: list[Finding] = []
    for error in validator.iter_errors(_plain(doc.data)):
        path = tuple(error.absolute_path)
        if any(path[:len(bad)] == bad for bad in doc.unreadable):
            continue
        findings.extend(f for f in _to_findings(doc, error) if f not in findings)
    findings.sort(key=lambda f: (f.line or 0, f.col or 0, f.code))
    return findings


def _to_findings(doc: Located, error: ValidationError) -> list[Finding]:
    path = tuple(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    schema_path = list(error.relative_schema_path)
    if len(schema_path) >= 2 and schema_path[-2] == "propertyNames":
        # jsonschema reports a bad key at its mapping; point at the key itself instead
        return _bad_key(doc, (*path, error.instance), error)

    def at(p: Path_, code: str, message: str, hint: str | None = None, key: bool = False
           ) -> Finding:
        line, col = doc.where(p, key=key)
        return Finding(code, message, file=doc.file, line=line, col=col, hint=hint)

    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = list((schema.get("properties") or {}).keys())
        unknown = [k for k in error.instance if k not in allowed]
        return [at((*path, k), "KFW-Y003", f"unknown key {k!r}",
                   did_you_mean(k, allowed) or (f"allowed keys: {', '.join(allowed)}"
                                            if allowed else None), key=True)
                for k in unknown]
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        # jsonschema reports each missing key as its own error
        missing = [k for k in missing if error.message.startswith(f"{k!r} ")] or missing
        where = ".".join(str(p) for p in path) or "the top level"
        return [at(path, "KFW-Y005", f"missing required key {k!r} in {where}", key=True)
                for k in missing]
    if kind in ("type", "format", "anyOf"):
        return [at(path, "KFW-Y004", f"expected {_describe(schema)}, got {error.instance!r}")]
    if kind == "enum":
        choices = list(error.validator_value)
        return [at(path, "KFW-Y006", f"{error.instance!r} is not allowed here; expected one of "
                   f"{', '.join(str(c) for c in choices)}", did_you_mean(error.instance, choices))]
    if kind == "const":
        return [at(path, "KFW-Y006", f"{error.instance!r} is not allowed here; expected "
                   f"{error.validator_value!r}")]
    if kind in ("minProperties", "maxProperties"):
        names = list((schema.get("properties") or {}).keys())
        count = error.validator_value
        amount = "too few keys: give at least" if kind == "minProperties" else (
            "too many keys: give at most")
        among = f" of {', '.join(names)}" if names else " key(s)"
        return [at(path, "KFW-Y007", f"{amount} {count}{among}")]
    if kind == "pattern":
        return [at(path, "KFW-Y007", f"{error.instance!r} is not a valid name",
                   "use lowercase letters, digits and _, starting with a letter")]
    return [at(path, "KFW-Y007", error.message)]


def _bad_key(doc: Located, path: Path_, error: ValidationError) -> list[Finding]:
    line, col = doc.where(path, key=True)
    key = error.instance
    if error.validator == "enum":
        choices = [str(c) for c in error.validator_value]
        hint = did_you_mean(key, choices) or f"allowed keys: {', '.join(choices)}"
        return [Finding("KFW-Y003", f"unknown key {key!r}", file=doc.file, line=line, col=col,
                        hint=hint)]
    return [Finding("KFW-Y007", f"{key!r} is not a valid key", file=doc.file, line=line, col=col,
                    hint="use lowercase letters, digits and _, starting with a letter")]
