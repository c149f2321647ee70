"""Located YAML: plain data plus the line and column of every node, and schema findings.

Policy staff edit YAML by hand, so every mistake must come back as
``file:line:col: CODE message (hint)``, all of them at once, never as a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from kfworkflow.errors import Finding

Path_ = tuple[Any, ...]


@dataclass(frozen=True)
class Located:
    """YAML content as plain Python data, with 1-based positions of every value and key."""

    data: Any
    file: str
    positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path_, tuple[int, int]] = field(default_factory=dict)

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


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.positions: dict[Path_, tuple[int, int]] = {}
        self.key_positions: dict[Path_, tuple[int, int]] = {}
        self.findings: list[Finding] = []

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.positions[path] = _mark(node)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            first_seen: dict[Any, int] = {}
            for key_node, value_node in node.value:
                key = self.loader.construct_object(key_node, deep=True)
                if not isinstance(key, str | int | float | bool | date) and key is not None:
                    line, col = _mark(key_node)
                    self.findings.append(Finding("KFW-Y004", "a key must be plain text",
                                                 file=self.file, line=line, col=col))
                    continue
                if key in first_seen:
                    line, col = _mark(key_node)
                    self.findings.append(Finding(
                        "KFW-Y002", f"duplicate key {key!r} (first at line {first_seen[key]})",
                        file=self.file, line=line, col=col,
                        hint="each key may appear once in a mapping"))
                    continue
                first_seen[key] = _mark(key_node)[0]
                self.key_positions[(*path, key)] = _mark(key_node)
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            line, col = _mark(node)
            self.findings.append(Finding("KFW-Y001", f"bad value: {exc}", file=self.file,
                                         line=line, col=col))
            return None


def load_yaml(source: str | Path, *, file: str | None = None) -> tuple[Located | None,
                                                                        list[Finding]]:
    """Parse YAML text (or a file) into a ``Located``; never raises for bad content."""
    if isinstance(source, Path):
        name = file or str(source)
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return None, [Finding("KFW-Y001", f"cannot read the file: {exc}", file=name)]
    else:
        name, text = file or "<text>", source
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "malformed YAML"
        return None, [Finding("KFW-Y001", f"malformed YAML: {problem}", file=name,
                              line=mark.line + 1 if mark else None,
                              col=mark.column + 1 if mark else None,
                              hint="check indentation, colons and quotes near this place")]
    except yaml.YAMLError as exc:
        return None, [Finding("KFW-Y001", f"malformed YAML: {exc}", file=name)]
    finally:
        loader.dispose()
    if node is None:
        return Located(None, name), []
    builder = _Builder(loader, name)
    data = builder.build(node, ())
    return Located(data, name, builder.positions, builder.key_positions), builder.findings


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
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(_TYPE_WORDS.get(k, k) for k in kind)
    if "anyOf" in schema:
        return " or ".join(_describe(s) for s in schema["anyOf"])
    return _TYPE_WORDS.get(str(kind), str(kind))


def _suggest(value: Any, options: Iterable[Any]) -> str | None:
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def validate(doc: Located, schema: Mapping[str, Any]) -> list[Finding]:
    """Check ``doc`` against a JSON Schema; every violation becomes a located finding."""
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    findings: list[Finding] = []
    for error in validator.iter_errors(_plain(doc.data)):
        findings.extend(_to_findings(doc, error))
    findings.sort(key=lambda f: (f.line or 0, f.col or 0, f.code))
    return findings


def _to_findings(doc: Located, error: ValidationError) -> list[Finding]:
    path = tuple(error.absolute_path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, Mapping) else {}

    def at(p: Path_, code: str, message: str, hint: str | None = None, key: bool = False
           ) -> Finding:
        line, col = doc.where(p, key=key)
        return Finding(code, message, file=doc.file, line=line, col=col, hint=hint)

    if kind == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = list((schema.get("properties") or {}).keys())
        unknown = [k for k in error.instance if k not in allowed]
        return [at((*path, k), "KFW-Y003", f"unknown key {k!r}",
                   _suggest(k, allowed) or (f"allowed keys: {', '.join(allowed)}"
                                            if allowed else None), key=True)
                for k in unknown]
    if kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        where = ".".join(str(p) for p in path) or "the top level"
        return [at(path, "KFW-Y005", f"missing required key {k!r} in {where}", key=True)
                for k in missing]
    if kind in ("type", "format") or (kind == "anyOf" and "type" in str(error.message)):
        return [at(path, "KFW-Y004", f"expected {_describe(schema)}, got {error.instance!r}",
                   key=False)]
    if kind == "anyOf":
        return [at(path, "KFW-Y004", f"expected {_describe(schema)}, got {error.instance!r}")]
    if kind == "enum":
        choices = list(error.validator_value)
        return [at(path, "KFW-Y006", f"{error.instance!r} is not allowed here; expected one of "
                   f"{', '.join(str(c) for c in choices)}", _suggest(error.instance, choices))]
    if kind == "pattern":
        return [at(path, "KFW-Y007", f"{error.instance!r} is not a valid name",
                   "use lowercase letters, digits and _, starting with a letter")]
    if kind == "propertyNames":
        return [at(path, "KFW-Y007", f"invalid key: {error.message}",
                   "use lowercase letters, digits and _, starting with a letter", key=True)]
    return [at(path, "KFW-Y007", error.message)]
