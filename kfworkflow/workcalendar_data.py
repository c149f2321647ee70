"""The working-day calendar's YAML data file: parsing and validation.

The file lists holidays and make-up workdays per year, plus ``local`` additions that apply on
top of any year. Every problem becomes a located ``Finding``; all of them are collected and
raised together as one ``InputError``. Parsing works on ``yaml.compose`` nodes so each finding
carries the line it came from (and so that ``on:`` stays a key rather than YAML 1.1's boolean).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType

import yaml

from kfworkflow.errors import Finding, InputError

TOP_LEVEL_KEYS = ("years", "local")
YEAR_KEYS = ("complete", "holidays", "workdays")
LOCAL_KEYS = ("holidays", "workdays")
ENTRY_KEYS = ("on", "from", "to", "name")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")
_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class DesignatedDay:
    """A date explicitly declared a holiday or a workday, and where that came from."""

    on: date
    is_workday: bool
    name: str | None
    source: str  # "package", "file" or "local"
    line: int | None = None


@dataclass(frozen=True)
class CalendarData:
    """A validated data file. ``schedule`` comes from the ``years`` sections."""

    path: Path
    digest: str
    complete_years: frozenset[int]
    partial_years: frozenset[int]
    schedule: Mapping[date, DesignatedDay] = field(default_factory=dict)
    local: Mapping[date, DesignatedDay] = field(default_factory=dict)


def load_calendar_data(path: Path) -> CalendarData:
    """Read and validate a calendar data file; raise ``InputError`` listing every problem."""
    source = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        finding = Finding("KFW-C002", f"cannot read calendar data file: {exc.strerror}", source)
        raise InputError(f"calendar data file {source} cannot be read", [finding]) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        finding = Finding("KFW-C002", "calendar data file is not UTF-8 text", source)
        raise InputError(f"calendar data file {source} is not UTF-8", [finding]) from exc
    parser = _Parser(source)
    parser.parse(text)
    if parser.findings:
        count = len(parser.findings)
        raise InputError(
            f"calendar data file {source} has {count} problem(s)", sorted_findings(parser.findings)
        )
    return CalendarData(
        path=path,
        digest=hashlib.sha256(raw).hexdigest(),
        complete_years=frozenset(y for y, complete in parser.years.items() if complete),
        partial_years=frozenset(y for y, complete in parser.years.items() if not complete),
        schedule=MappingProxyType(parser.schedule),
        local=MappingProxyType(parser.local),
    )


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.line or 0, f.col or 0, f.code))


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.findings: list[Finding] = []
        self.years: dict[int, bool] = {}
        self.schedule: dict[date, DesignatedDay] = {}
        self.local: dict[date, DesignatedDay] = {}

    def parse(self, text: str) -> None:
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            col = mark.column + 1 if mark else None
            self._add("KFW-C001", f"not valid YAML: {exc.problem or exc}", line=line, col=col)
            return
        except yaml.YAMLError as exc:
            self._add("KFW-C001", f"not valid YAML: {exc}")
            return
        if root is None or _is_null(root):
            return
        top = self._mapping(root, "the document", TOP_LEVEL_KEYS)
        if "years" in top:
            years_node = top["years"]
            for key_node, section in self._pairs(years_node, "years"):
                self._year_section(key_node, section)
        if "local" in top:
            local = self._mapping(top["local"], "local", LOCAL_KEYS)
            for kind in LOCAL_KEYS:
                if kind in local:
                    self._day_list(local[kind], kind, f"local.{kind}", None)

    def _year_section(self, key_node: yaml.Node, section: yaml.Node) -> None:
        text = key_node.value if isinstance(key_node, yaml.ScalarNode) else ""
        if not _YEAR.match(text):
            self._add_at(
                key_node, "KFW-C005", f"year key {text!r} is not a four-digit year",
                hint="write e.g. 2027:",
            )
            return
        year = int(text)
        if year in self.years:
            self._add_at(key_node, "KFW-C004", f"year {year} is listed twice")
            return
        where = f"years.{year}"
        body = self._mapping(section, where, YEAR_KEYS)
        complete = False
        if "complete" in body:
            complete_node = body["complete"]
            if isinstance(complete_node, yaml.ScalarNode) and complete_node.tag == _BOOL_TAG:
                complete = complete_node.value.lower() in ("true", "yes", "on")
            else:
                self._add_at(
                    complete_node, "KFW-C006", f"{where}.complete must be true or false"
                )
        self.years[year] = complete
        for kind in ("holidays", "workdays"):
            if kind in body:
                self._day_list(body[kind], kind, f"{where}.{kind}", year)

    def _day_list(self, node: yaml.Node, kind: str, where: str, year: int | None) -> None:
        if _is_null(node):
            return
        if not isinstance(node, yaml.SequenceNode):
            self._add_at(node, "KFW-C006", f"{where} must be a list of dates or ranges")
            return
        for entry in node.value:
            self._entry(entry, kind, where, year)

    def _entry(self, node: yaml.Node, kind: str, where: str, year: int | None) -> None:
        if isinstance(node, yaml.ScalarNode) and not _is_null(node):
            on = self._date(node, where)  # a bare date is short for {on: date}
            if on is not None and (year is None or self._near_year(node, on, on, year, where)):
                self._record_range(on, on, kind, None, year, node)
            return
        if not isinstance(node, yaml.MappingNode):
            self._add_at(
                node, "KFW-C007", f"an entry of {where} must be a date or a mapping",
                hint="e.g. {on: 2027-01-01, name: 元旦}",
            )
            return
        fields = self._mapping(node, f"an entry of {where}", ENTRY_KEYS)
        has_on = "on" in fields
        has_range = "from" in fields or "to" in fields
        if has_on == has_range or (has_range and not ("from" in fields and "to" in fields)):
            self._add_at(
                node, "KFW-C007",
                f"an entry of {where} needs either on: or both from: and to:",
                hint="e.g. {on: 2027-01-01, name: 元旦} or {from: 2027-02-06, to: 2027-02-12}",
            )
            return
        name = self._name(fields.get("name"), where)
        if has_on:
            first = last = self._date(fields["on"], where)
        else:
            first, last = self._date(fields["from"], where), self._date(fields["to"], where)
        if first is None or last is None:
            return
        if first > last:
            self._add_at(
                node, "KFW-C008",
                f"range in {where} runs backwards: from {first} is after to {last}",
            )
            return
        if year is not None and not self._near_year(node, first, last, year, where):
            return
        self._record_range(first, last, kind, name, year, node)

    def _record_range(
        self, first: date, last: date, kind: str, name: str | None, year: int | None,
        node: yaml.Node,
    ) -> None:
        scope = self.local if year is None else self.schedule
        source = "local" if year is None else "file"
        line = node.start_mark.line + 1
        for day in _days(first, last):
            designated = DesignatedDay(day, kind == "workdays", name, source, line)
            self._record(scope, designated, node)

    def _near_year(self, node: yaml.Node, first: date, last: date, year: int, where: str) -> bool:
        # An official notice may reach into the neighbouring year (e.g. the 2012 notice made
        # 2011-12-31 a workday); anything further away is almost surely a typo.
        if year - 1 <= first.year and last.year <= year + 1:
            return True
        stray = first if first.year < year - 1 else last
        self._add_at(
            node, "KFW-C009",
            f"{where} lists {stray}, outside {year - 1}–{year + 1}",
            hint=f"put it under the section of its own year, not {year}",
        )
        return False

    def _record(
        self, scope: dict[date, DesignatedDay], day: DesignatedDay, node: yaml.Node
    ) -> None:
        earlier = scope.get(day.on)
        if earlier is None:
            scope[day.on] = day
        elif earlier.is_workday != day.is_workday:
            section = "local" if day.source == "local" else "years"
            self._add_at(
                node, "KFW-C010",
                f"{day.on} is listed both as a {_kind_word(earlier)} (line {earlier.line}) and as a"
                f" {_kind_word(day)} in {section}",
                hint="keep only one of the two entries",
            )

    def _name(self, node: yaml.Node | None, where: str) -> str | None:
        if node is None or _is_null(node):
            return None
        if isinstance(node, yaml.ScalarNode) and node.value.strip():
            return str(node.value).strip()
        self._add_at(node, "KFW-C006", f"name in {where} must be a non-empty text")
        return None

    def _date(self, node: yaml.Node, where: str) -> date | None:
        text = node.value if isinstance(node, yaml.ScalarNode) else None
        if isinstance(text, str) and _ISO_DATE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        shown = text if isinstance(text, str) else type(node).__name__
        self._add_at(
            node, "KFW-C011", f"{shown!r} in {where} is not a valid date",
            hint="write YYYY-MM-DD, e.g. 2027-01-01",
        )
        return None

    def _mapping(
        self, node: yaml.Node, where: str, allowed: tuple[str, ...]
    ) -> dict[str, yaml.Node]:
        result: dict[str, yaml.Node] = {}
        if _is_null(node):
            return result
        for key_node, value in self._pairs(node, where):
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key not in allowed:
                self._add_at(
                    key_node, "KFW-C003", f"unknown key {key!r} in {where}",
                    hint="expected one of: " + ", ".join(allowed),
                )
            elif key in result:
                self._add_at(key_node, "KFW-C004", f"key {key!r} repeated in {where}")
            else:
                result[key] = value
        return result

    def _pairs(self, node: yaml.Node, where: str) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        if _is_null(node):
            return
        if not isinstance(node, yaml.MappingNode):
            self._add_at(node, "KFW-C006", f"{where} must be a mapping (key: value)")
            return
        yield from node.value

    def _add_at(self, node: yaml.Node, code: str, message: str, hint: str | None = None) -> None:
        mark = node.start_mark
        self._add(code, message, line=mark.line + 1, col=mark.column + 1, hint=hint)

    def _add(
        self, code: str, message: str, *, line: int | None = None, col: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.findings.append(Finding(code, message, self.source, line, col, hint))


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG


def _kind_word(day: DesignatedDay) -> str:
    return "workday" if day.is_workday else "holiday"


def _days(first: date, last: date) -> Iterator[date]:
    for offset in range((last - first).days + 1):
        yield first + timedelta(days=offset)
