"""Reason templates: Jinja2 in a sandbox, checked for undefined names when rules are compiled.

Reasons are plain text (HTML escaping happens where they are shown). A template that is only
text and ``{{ name }}`` / ``{{ a.b }}`` outputs is rendered by a fast path that joins strings;
anything else (filters, conditions) goes through the sandboxed Jinja2 template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.sandbox import SandboxedEnvironment

from kfworkflow.errors import did_you_mean

EXTRA_NAMES = ("as_of", "today", "recipient", "deadline_on", "level", "level_name", "rule_title")


def _pct(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{float(value) * 100:.{digits}f}%"


def _num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "—"
    return f"{float(value):,.{digits}f}"


def _pp(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{float(value):+.{digits}f}"


def text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1 else f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _finalize(value: Any) -> Any:
    return text(value) if value is None or isinstance(value, float | bool) else value


ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_finalize,
                           keep_trailing_newline=False)
ENV.filters.update({"pct": _pct, "num": _num, "pp": _pp})


@dataclass(frozen=True)
class ReasonIssue:
    message: str
    line: int | None = None
    hint: str | None = None


FILTERS: dict[str, Callable[..., str]] = {"pct": _pct, "num": _num, "pp": _pp}

# A fast-path part: literal text, or (source, dotted name, filter function or None, filter
# arguments), where source 0 = a let value, 1 = an extra (as_of, recipient, ...), 2 = a fact.
Part = str | tuple[int, str, Callable[..., str] | None, tuple[Any, ...]]


class ReasonTemplate:
    """A compiled reason template.

    Templates made only of text and ``{{ name }}`` / ``{{ name | pct }}`` outputs render by
    joining strings, with each name resolved at compile time to a let value, an extra or a fact;
    anything else renders through the sandboxed Jinja2 template.
    """

    def __init__(self, source: str, let_names: Iterable[str] = ()) -> None:
        self.source = source
        self._template: Any = None
        self._parts = _simple_parts(ENV.parse(source), frozenset(let_names))
        if self._parts is None:
            self._template = ENV.from_string(source)

    @property
    def is_fast(self) -> bool:
        return self._parts is not None

    @property
    def parts(self) -> tuple[Part, ...] | None:
        """The fast-path parts (see ``Part``), or None when the template needs Jinja2."""
        return None if self._parts is None else tuple(self._parts)

    def render(self, lets: Mapping[str, Any], extras: Mapping[str, Any],
               facts: Mapping[str, Any]) -> str:
        parts = self._parts
        if parts is None:
            from kfworkflow.rules.facts import nested

            return str(self._template.render(**nested({**facts, **lets, **extras})))
        sources = (lets, extras, facts)
        out = [
            part if part.__class__ is str else _value(part, sources)  # type: ignore[arg-type]
            for part in parts
        ]
        return "".join(out)


def _value(part: tuple[int, str, Callable[..., str] | None, tuple[Any, ...]],
           sources: tuple[Mapping[str, Any], ...]) -> str:
    source, name, filter_fn, args = part
    value = sources[source].get(name, _MISSING)
    if value is _MISSING:
        # an extra such as `level` or `deadline_on` that this decision did not set: the
        # subject's own fact of that name (an assignment's level) is what the author meant
        value = sources[2].get(name)
    return text(value) if filter_fn is None else filter_fn(value, *args)


_MISSING = object()


def check_template(source: str, names: Iterable[str]) -> list[ReasonIssue]:
    """Every name the template reads must be a fact, a let value or an extra."""
    try:
        tree = ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [ReasonIssue(f"reason template syntax error: {exc.message}", exc.lineno)]
    known = set(names) | set(EXTRA_NAMES)
    tops = {n.split(".")[0] for n in known}
    issues = []
    for node in tree.find_all(nodes.Name):
        if node.ctx == "load" and node.name not in tops and not _is_loop_var(tree, node.name):
            issues.append(ReasonIssue(f"reason template uses undefined variable {node.name!r}",
                                      node.lineno, did_you_mean(node.name, tops)))
    for path, line in _dotted_reads(tree):
        if path[0] in tops and ".".join(path) not in known and not any(
                k.startswith(".".join(path) + ".") for k in known):
            issues.append(ReasonIssue(
                f"reason template uses undefined variable {'.'.join(path)!r}", line,
                did_you_mean(".".join(path), known)))
    return issues


def template_reads(source: str) -> set[str]:
    """Dotted names a template reads (``planned.started``, ``late_days``)."""
    tree = ENV.parse(source)
    names = {n.name for n in tree.find_all(nodes.Name) if n.ctx == "load"}
    names |= {".".join(path) for path, _ in _dotted_reads(tree)}
    return names


def _is_loop_var(tree: nodes.Template, name: str) -> bool:
    for loop in tree.find_all(nodes.For):
        if isinstance(loop.target, nodes.Name) and loop.target.name == name:
            return True
    for assign in tree.find_all(nodes.Assign):
        if isinstance(assign.target, nodes.Name) and assign.target.name == name:
            return True
    return False


def _dotted(node: nodes.Node) -> tuple[str, ...] | None:
    if isinstance(node, nodes.Name):
        return (node.name,)
    if isinstance(node, nodes.Getattr):
        inner = _dotted(node.node)
        return None if inner is None else (*inner, node.attr)
    return None


def _dotted_reads(tree: nodes.Template) -> list[tuple[tuple[str, ...], int]]:
    reads = []
    for node in tree.find_all(nodes.Getattr):
        path = _dotted(node)
        if path is not None and len(path) > 1:
            reads.append((path, node.lineno))
    return reads


def _simple_parts(tree: nodes.Template, let_names: frozenset[str]) -> list[Part] | None:
    """Text and ``{{ a.b }}`` / ``{{ a.b | pct(1) }}`` outputs only; otherwise None."""
    parts: list[Part] = []
    for stmt in tree.body:
        if not isinstance(stmt, nodes.Output):
            return None
        for child in stmt.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append(child.data)
                continue
            filter_fn = None
            args: tuple[Any, ...] = ()
            if isinstance(child, nodes.Filter):
                if (child.name not in FILTERS or child.kwargs or child.dyn_args
                        or child.dyn_kwargs or child.node is None
                        or not all(isinstance(a, nodes.Const) for a in child.args)):
                    return None
                filter_fn = FILTERS[child.name]
                args = tuple(a.value for a in child.args)  # type: ignore[attr-defined]
                child = child.node
            path = _dotted(child)
            if path is None:
                return None
            name = ".".join(path)
            source = 0 if name in let_names else 1 if name in EXTRA_NAMES else 2
            parts.append((source, name, filter_fn, args))
    return parts
