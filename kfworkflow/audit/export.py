"""Export the decision log (jsonl | csv | xlsx) with a manifest, and check an export offline.

Every exported record carries every hashed field plus its hash, exactly as stored, so anyone can
re-verify the chain with their own tool (``docs/reference/decision-log.md``). The manifest — record
count, first and last id and hash, the ``prev_hash`` the export starts from, the revisions and
calendar versions involved, the format versions — travels with the data:

- ``jsonl``: one record per line, then one last line ``{"manifest": {...}}``;
- ``csv``: one record per row (``inputs`` and ``outcome`` as JSON text), the manifest beside it
  in ``FILE.manifest.json``. Text is written exactly as stored, so open it with a tool, not a
  spreadsheet (use xlsx for that);
- ``xlsx``: sheet ``decisions`` (every text cell typed as text, never a formula) and sheet
  ``manifest``.

``check_export`` detects truncation (missing manifest, fewer records than it counts, a last
line cut short) and edits (a record whose hash does not match, a broken chain, a manifest that
does not match the records).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kfworkflow.audit.verify import GENESIS, ChainLink, ChainReport, Progress, walk
from kfworkflow.errors import AuditBreakError, Finding, InputError

EXPORT_FORMAT = 1
FORMATS = ("jsonl", "csv", "xlsx")
FIELDS = ("id", "format", "pass_run_id", "subject_kind", "subject_key", "as_of", "rule_id",
          "revision", "calendar_version", "inputs", "outcome", "reason", "prev_hash", "hash")
JSON_FIELDS = ("inputs", "outcome")
INT_FIELDS = ("id", "format", "pass_run_id")
MANIFEST_KEY = "manifest"
XLSX_MAX_RECORDS = 1_048_575  # rows per sheet, less the header
XLSX_CELL_MAX = 32_767
HashRecord = Callable[[Mapping[str, Any]], str]


@dataclass
class Manifest:
    export_format: int = EXPORT_FORMAT
    log_formats: list[int] = field(default_factory=list)
    count: int = 0
    first_id: int | None = None
    last_id: int | None = None
    start_prev_hash: str | None = None  # prev_hash of the first record: 64 zeros for a full log
    first_hash: str | None = None
    last_hash: str | None = None
    revisions: list[str] = field(default_factory=list)
    calendar_versions: list[str] = field(default_factory=list)
    as_of_from: str | None = None
    as_of_to: str | None = None

    def add(self, record: Mapping[str, Any]) -> None:
        if self.count == 0:
            self.first_id = int(record["id"])
            self.start_prev_hash = str(record["prev_hash"])
            self.first_hash = str(record["hash"])
        self.count += 1
        self.last_id = int(record["id"])
        self.last_hash = str(record["hash"])
        _insert_sorted(self.log_formats, int(record["format"]))
        _insert_sorted(self.revisions, str(record["revision"]))
        _insert_sorted(self.calendar_versions, str(record["calendar_version"]))
        as_of = str(record["as_of"])
        if self.as_of_from is None or as_of < self.as_of_from:
            self.as_of_from = as_of
        if self.as_of_to is None or as_of > self.as_of_to:
            self.as_of_to = as_of

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "kfworkflow decision log export", **self.__dict__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Manifest:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _insert_sorted(items: list[Any], value: Any) -> None:
    if value not in items:
        items.append(value)
        items.sort()


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


# --- writing -----------------------------------------------------------------------------------


def write_export(records: Iterable[Mapping[str, Any]], fmt: str, out: Path, *,
                 progress: Progress | None = None) -> Manifest:
    """Write ``records`` (every field of ``FIELDS``; inputs/outcome decoded) in id order."""
    if fmt not in FORMATS:
        raise InputError(f"unknown export format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if out.exists() and out.is_dir():
        raise InputError(f"{out} is a folder; give a file name for the export")
    if not out.parent.exists():
        raise InputError(f"folder {out.parent} does not exist")
    writer = {"jsonl": _write_jsonl, "csv": _write_csv, "xlsx": _write_xlsx}[fmt]
    temporary = out.with_name(f".{out.name}.partial")
    try:
        manifest = writer(records, temporary, progress)
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    if fmt == "csv":
        manifest_path(out).write_text(_json(manifest.to_dict(), indent=2) + "\n",
                                      encoding="utf-8")
    return manifest


def _json(data: Any, indent: int | None = None) -> str:
    if indent is not None:
        return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=indent)
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _counted(records: Iterable[Mapping[str, Any]], manifest: Manifest,
             progress: Progress | None) -> Iterator[Mapping[str, Any]]:
    pending = 0
    for record in records:
        manifest.add(record)
        yield record
        pending += 1
        if progress is not None and pending == 5_000:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)


def _write_jsonl(records: Iterable[Mapping[str, Any]], path: Path,
                 progress: Progress | None) -> Manifest:
    manifest = Manifest()
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for record in _counted(records, manifest, progress):
            handle.write(_json({name: record[name] for name in FIELDS}) + "\n")
        handle.write(_json({MANIFEST_KEY: manifest.to_dict()}) + "\n")
    return manifest


def _write_csv(records: Iterable[Mapping[str, Any]], path: Path,
               progress: Progress | None) -> Manifest:
    manifest = Manifest()
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS)
        for record in _counted(records, manifest, progress):
            writer.writerow([_json(record[name]) if name in JSON_FIELDS else record[name]
                             for name in FIELDS])
    return manifest


def _write_xlsx(records: Iterable[Mapping[str, Any]], path: Path,
                progress: Progress | None) -> Manifest:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    manifest = Manifest()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("decisions")
    sheet.append(list(FIELDS))

    def text_cell(value: str, row: int, name: str) -> Any:
        if len(value) > XLSX_CELL_MAX:
            raise InputError(f"record on row {row}: {name} has {len(value)} characters, over "
                             f"Excel's {XLSX_CELL_MAX} per cell; export as jsonl or csv")
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"  # text, even when it starts with '=': never a formula
        return cell

    for row, record in enumerate(_counted(records, manifest, progress), start=2):
        if row - 1 > XLSX_MAX_RECORDS:
            raise InputError(f"the log has more than {XLSX_MAX_RECORDS:,} records, more than "
                             "an xlsx sheet holds; export as jsonl or csv")
        cells = []
        for name in FIELDS:
            value = record[name]
            if name in INT_FIELDS:
                cells.append(int(value))
            else:
                text = _json(value) if name in JSON_FIELDS else str(value)
                cells.append(text_cell(text, row, name))
        sheet.append(cells)
    info = workbook.create_sheet(MANIFEST_KEY)
    info.append(["key", "value"])
    for key, value in manifest.to_dict().items():
        info.append([key, _json(value)])
    workbook.save(path)
    return manifest


# --- checking ----------------------------------------------------------------------------------


@dataclass
class ExportCheck:
    path: Path
    manifest: Manifest
    chain: ChainReport

    def to_dict(self) -> dict[str, Any]:
        return {"file": str(self.path), "ok": self.chain.ok, "manifest": self.manifest.to_dict(),
                "chain": self.chain.to_dict()}


def check_export(path: Path, hash_record: HashRecord, *, progress: Progress | None = None
                 ) -> ExportCheck:
    """Verify an export offline; raise AuditBreakError naming the first problem and its line."""
    if not path.is_file():
        raise InputError(f"{path}: no such file", [Finding("KFW-A008", "no such file",
                                                            file=str(path))])
    suffix = path.suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise InputError(f"{path}: unknown export type {path.suffix!r}: expected .jsonl, .csv or "
                         ".xlsx", [Finding("KFW-A008", "unknown export type", file=str(path))])
    reader = {"jsonl": _read_jsonl, "csv": _read_csv, "xlsx": _read_xlsx}[suffix]
    records, manifest_of = reader(path)
    seen = Manifest()

    def links() -> Iterator[ChainLink]:
        for line, record in records:
            seen.add(record)
            computed = _computed(hash_record, record, path, line)
            yield ChainLink(int(record["id"]), str(record["prev_hash"]), str(record["hash"]),
                            computed, int(record["pass_run_id"]), line)

    # a full export starts at 64 zeros; where it starts is compared with the manifest below
    stream = links()
    first = next(stream, None)
    chain = walk(itertools.chain([first], stream) if first else [],
                 start_prev=first.prev_hash if first else GENESIS, progress=progress)
    _raise_break(path, chain)  # the walk stops at a break, before any jsonl manifest line
    manifest = manifest_of()
    _compare(path, manifest, seen)
    return ExportCheck(path, manifest, chain)


def _computed(hash_record: HashRecord, record: Mapping[str, Any], path: Path,
              line: int) -> str:
    try:
        return hash_record(record)
    except (KeyError, TypeError, ValueError) as exc:
        raise _broken(path, line, "KFW-A008", f"record cannot be hashed: {exc}") from None


def _broken(path: Path, line: int | None, code: str, message: str, hint: str | None = None
            ) -> AuditBreakError:
    finding = Finding(code, message, file=str(path), line=line, hint=hint)
    where = f"{path}:{line}" if line else str(path)
    return AuditBreakError(f"{where}: {message}", [finding])


def _raise_break(path: Path, chain: ChainReport) -> None:
    if chain.first_break is not None:
        found = chain.first_break
        code = {"altered": "KFW-A001", "deleted": "KFW-A002", "inserted": "KFW-A003",
                "rehashed": "KFW-A004"}[found.kind]
        raise _broken(path, found.line, code, found.message,
                      f"expected {found.expected}, found {found.found}")


def _compare(path: Path, manifest: Manifest, seen: Manifest) -> None:
    problems = []
    if manifest.count != seen.count:
        problems.append(f"the manifest counts {manifest.count} record(s) but the file has "
                        f"{seen.count}" + (": the file was truncated" if seen.count
                                           < manifest.count else ""))
    for name in ("first_id", "last_id", "start_prev_hash", "first_hash", "last_hash",
                 "revisions", "calendar_versions", "log_formats"):
        want, got = getattr(manifest, name), getattr(seen, name)
        if want != got and not (name == "start_prev_hash" and seen.count == 0):
            problems.append(f"manifest {name} is {want!r} but the records give {got!r}")
    if problems:
        raise _broken(path, None, "KFW-A009", problems[0],
                      "; ".join(problems[1:]) or None)


def _missing_manifest(path: Path, where: str) -> AuditBreakError:
    return _broken(path, None, "KFW-A007", f"no manifest ({where}): the export is truncated or "
                   "was not written by `kfw audit export`")


Reader = tuple[Iterator[tuple[int, dict[str, Any]]], Callable[[], Manifest]]


def _read_jsonl(path: Path) -> Reader:
    state: dict[str, Manifest] = {}

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if not raw.endswith(b"\n"):
                    raise _broken(path, number, "KFW-A007", "the last line is cut short: the "
                                  "export is truncated")
                try:
                    item = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise _broken(path, number, "KFW-A008", f"not a JSON line: {exc}") from None
                if not isinstance(item, dict):
                    raise _broken(path, number, "KFW-A008", "a line is not a JSON object")
                if MANIFEST_KEY in item:
                    if state:
                        raise _broken(path, number, "KFW-A008", "a second manifest line")
                    state["m"] = _manifest(path, number, item[MANIFEST_KEY])
                    continue
                if state:
                    raise _broken(path, number, "KFW-A008", "a record after the manifest line")
                yield number, _record(path, number, item)

    def manifest() -> Manifest:
        if "m" not in state:
            raise _missing_manifest(path, "no last line with \"manifest\"")
        return state["m"]

    return records(), manifest


def _manifest(path: Path, line: int | None, data: Any) -> Manifest:
    if not isinstance(data, Mapping) or "count" not in data:
        raise _broken(path, line, "KFW-A008", "the manifest is not an object with a count")
    try:
        return Manifest.from_dict(data)
    except TypeError as exc:
        raise _broken(path, line, "KFW-A008", f"unreadable manifest: {exc}") from None


def _record(path: Path, line: int, item: Mapping[str, Any]) -> dict[str, Any]:
    missing = [name for name in FIELDS if name not in item]
    if missing:
        raise _broken(path, line, "KFW-A008", f"record without {', '.join(missing)}")
    extra = sorted(set(item) - set(FIELDS))
    if extra:
        raise _broken(path, line, "KFW-A008", f"record with unknown field(s) {', '.join(extra)}")
    return dict(item)


def _decode_row(path: Path, line: int, row: Mapping[str, Any]) -> dict[str, Any]:
    record = dict(row)
    for name in INT_FIELDS:
        try:
            record[name] = int(record[name])
        except (TypeError, ValueError):
            raise _broken(path, line, "KFW-A008", f"{name} {record[name]!r} is not a whole "
                          "number") from None
    for name in JSON_FIELDS:
        try:
            record[name] = json.loads(str(record[name]))
        except json.JSONDecodeError as exc:
            raise _broken(path, line, "KFW-A008", f"{name} is not JSON: {exc}") from None
    return record


def _read_csv(path: Path) -> Reader:
    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or tuple(header) != FIELDS:
                raise _broken(path, 1, "KFW-A008", f"the header must be {','.join(FIELDS)}")
            for row in reader:
                line = reader.line_num
                if len(row) != len(FIELDS):
                    raise _broken(path, line, "KFW-A007" if len(row) < len(FIELDS) else
                                  "KFW-A008", f"a row with {len(row)} fields instead of "
                                  f"{len(FIELDS)}")
                yield line, _decode_row(path, line, dict(zip(FIELDS, row, strict=True)))

    def manifest() -> Manifest:
        sidecar = manifest_path(path)
        if not sidecar.is_file():
            raise _missing_manifest(path, f"{sidecar.name} is missing")
        try:
            data = json.loads(sidecar.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _broken(sidecar, None, "KFW-A008", f"unreadable manifest: {exc}") from None
        return _manifest(sidecar, None, data)

    return records(), manifest


def _read_xlsx(path: Path) -> Reader:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or truncated zip
        raise _broken(path, None, "KFW-A007", f"not a readable xlsx workbook ({exc}): the "
                      "export is truncated or damaged") from None
    if "decisions" not in workbook.sheetnames:
        raise _broken(path, None, "KFW-A008", "no sheet named decisions")

    def records() -> Iterator[tuple[int, dict[str, Any]]]:
        rows = workbook["decisions"].iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or tuple(header) != FIELDS:
            raise _broken(path, 1, "KFW-A008", f"the header must be {','.join(FIELDS)}")
        for line, row in enumerate(rows, start=2):
            if all(value is None for value in row):
                continue
            yield line, _decode_row(path, line, dict(zip(FIELDS, row, strict=False)))

    def manifest() -> Manifest:
        if MANIFEST_KEY not in workbook.sheetnames:
            raise _missing_manifest(path, "no sheet named manifest")
        data = {}
        for line, (key, value) in enumerate(
                workbook[MANIFEST_KEY].iter_rows(min_row=2, max_col=2, values_only=True),
                start=2):
            try:
                data[str(key)] = json.loads(str(value))
            except json.JSONDecodeError:
                raise _broken(path, line, "KFW-A008", f"manifest value of {key} is not JSON"
                              ) from None
        return _manifest(path, None, data)

    return records(), manifest
