"""Verify the hash chain of the decision log and name the first break.

Each record stores ``prev_hash`` (the hash of the record before it; 64 zeros for the first) and
``hash`` (SHA-256 over its canonical encoding, which includes ``prev_hash`` and ``id``). Walking
the records in id order, a break is classified with one record of look-ahead and a short window
of recent hashes, in bounded memory:

- **altered**: a record's content no longer matches its stored hash;
- **rehashed**: a record was altered *and* its hash recomputed — the next record still carries
  the old hash as its ``prev_hash``;
- **deleted**: a record's ``prev_hash`` names no record present and ids are missing before it;
- **inserted**: a record that the chain skips — the record after it is chained to the one
  before it.

Id gaps alone are not breaks (PostgreSQL sequences skip ids of rolled-back transactions); only
the chain decides. Records appended at the end with a correct chain, or a log cut off at the end,
cannot be told from the chain alone: compare the last hash with an earlier export's manifest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ColumnElement, Connection, Row, String, Table, func, select
from sqlalchemy import cast as sql_cast

from kfworkflow.errors import InputError

GENESIS = "0" * 64
WINDOW = 64  # recent hashes remembered to recognise a run of inserted records
Progress = Callable[[int], None]  # called with the number of records just checked


@dataclass(frozen=True, slots=True)
class ChainLink:
    """What verifying needs of one record: its chain fields and its hash recomputed."""

    id: int
    prev_hash: str
    hash: str  # as stored
    computed: str  # recomputed from the stored content
    pass_run_id: int | None = None
    line: int | None = None  # line or row in an exported file


@dataclass(frozen=True)
class Break:
    kind: str  # altered | rehashed | deleted | inserted
    record_id: int  # the first broken record
    expected: str
    found: str
    message: str
    line: int | None = None
    missing: tuple[int, int] | None = None  # ids missing before record_id, when known

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "record": self.record_id, "expected": self.expected,
                "found": self.found, "message": self.message, "line": self.line,
                "missing_ids": list(self.missing) if self.missing else None}


@dataclass
class ChainReport:
    checked: int = 0
    first_id: int | None = None
    last_id: int | None = None
    first_hash: str | None = None
    last_hash: str | None = None
    first_break: Break | None = None

    @property
    def ok(self) -> bool:
        return self.first_break is None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_id": self.first_id,
                "last_id": self.last_id, "first_hash": self.first_hash,
                "last_hash": self.last_hash,
                "break": self.first_break.to_dict() if self.first_break else None}


def _with_next(links: Iterable[ChainLink]) -> Iterator[tuple[ChainLink, ChainLink | None]]:
    iterator = iter(links)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following
        current = following


def walk(links: Iterable[ChainLink], *, start_prev: str = GENESIS,
         anchor: tuple[int, str] | None = None, progress: Progress | None = None,
         progress_every: int = 10_000) -> ChainReport:
    """Check every link in order; stop at the first break, classified.

    ``anchor`` (id, hash), e.g. the last record of an earlier export's manifest, must be found
    with that hash: this catches a log cut off at the end or rewritten from some record on.
    """
    report = ChainReport()
    recent: deque[tuple[int, str]] = deque(maxlen=WINDOW)  # (id, stored hash), oldest first
    ended_runs: set[int] = set()  # pass runs whose block of records is over; few per day
    previous: ChainLink | None = None
    pending = 0
    for link, following in _with_next(links):
        if report.first_id is None:
            report.first_id, report.first_hash = link.id, link.hash
        found = _classify(link, previous, following, recent, start_prev)
        if found is None and link.pass_run_id is not None:
            found = _out_of_block(link, previous, ended_runs)
        if found is None and anchor is not None and link.id == anchor[0] and (
                link.hash != anchor[1]):
            found = Break("rehashed", link.id, anchor[1], link.hash,
                          f"record {link.id} does not have the hash the anchor records: the log "
                          "was rewritten from this record on (or before it)", link.line)
        if found is not None:
            report.first_break = found
            # a break found late (rehashed, inserted) starts at an already accepted record
            report.checked -= sum(1 for seen, _ in recent if seen >= found.record_id)
            break
        report.checked += 1
        report.last_id, report.last_hash = link.id, link.hash
        recent.append((link.id, link.hash))
        previous = link
        pending += 1
        if progress is not None and pending >= progress_every:
            progress(pending)
            pending = 0
    if progress is not None and pending:
        progress(pending)
    if report.first_break is None and anchor is not None and (
            report.last_id is None or report.last_id < anchor[0]):
        report.first_break = Break(
            "deleted", anchor[0], anchor[1], report.last_hash or "(empty log)",
            f"the log ends at record {report.last_id} but the anchor records record {anchor[0]}"
            ": records at the end were deleted", None, (
                (report.last_id or 0) + 1, anchor[0]))
    return report


def _out_of_block(link: ChainLink, previous: ChainLink | None, ended_runs: set[int]
                  ) -> Break | None:
    """A pass appends all its decisions in one locked transaction: one contiguous block."""
    if previous is None or previous.pass_run_id == link.pass_run_id:
        return None
    if previous.pass_run_id is not None:
        ended_runs.add(previous.pass_run_id)
    if link.pass_run_id in ended_runs:
        return Break("inserted", link.id, f"a record of a new pass run after record {previous.id}",
                     f"a record of pass run {link.pass_run_id}",
                     f"record {link.id} was inserted: it claims pass run {link.pass_run_id}, "
                     "whose records ended earlier in the log (a pass appends all its decisions "
                     "in one block)", link.line)
    return None


def _classify(link: ChainLink, previous: ChainLink | None, following: ChainLink | None,
              recent: deque[tuple[int, str]], start_prev: str) -> Break | None:
    expected_prev = previous.hash if previous is not None else start_prev
    content_ok = link.computed == link.hash
    link_ok = link.prev_hash == expected_prev
    if content_ok and link_ok:
        return None
    where = link.line
    if following is not None and following.prev_hash == expected_prev:
        return Break("inserted", link.id, expected_prev, link.prev_hash,
                     f"record {link.id} was inserted: the record after it ({following.id}) is "
                     f"chained to {_name(previous)}, skipping it", where)
    if not link_ok:
        skipped = _skipped_since(link.prev_hash, recent)
        if skipped is not None:
            chained_to, first = skipped
            last = previous.id if previous is not None else first
            which = (f"record {first} was" if first == last else
                     f"records {first}–{last} were")
            return Break("inserted", first, link.prev_hash, expected_prev,
                         f"{which} inserted: record {link.id} is chained to record "
                         f"{chained_to}, skipping {'it' if first == last else 'them'}", where)
    if not content_ok:
        detail = (f"; its prev_hash is {link.prev_hash}, the chain expects {expected_prev}"
                  if not link_ok else "")
        return Break("altered", link.id, link.computed, link.hash,
                     f"record {link.id} was altered: its content hashes to {link.computed} but "
                     f"the stored hash is {link.hash}{detail}", where)
    gap = previous is None or link.id > previous.id + 1
    if gap:
        low = previous.id + 1 if previous is not None else None
        missing = (low, link.id - 1) if low is not None and low <= link.id - 1 else None
        lost = (f"records {missing[0]}–{missing[1]}" if missing and missing[0] != missing[1]
                else f"record {missing[0]}" if missing else f"the record(s) before {link.id}")
        return Break("deleted", link.id, expected_prev, link.prev_hash,
                     f"{lost} deleted: record {link.id} is chained to {link.prev_hash}, which no "
                     f"record in the log has (expected {expected_prev}, the hash of "
                     f"{_name(previous)})", where, missing)
    assert previous is not None  # no gap implies a previous record
    if following is None or following.prev_hash == link.hash:
        return Break("rehashed", previous.id, link.prev_hash, previous.hash,
                     f"record {previous.id} was altered and its hash recomputed: record "
                     f"{link.id} is chained to {link.prev_hash}, but record {previous.id} now "
                     f"hashes to {previous.hash}", previous.line)
    return Break("rehashed", link.id, expected_prev, link.prev_hash,
                 f"record {link.id} was altered and its hash recomputed: its prev_hash is "
                 f"{link.prev_hash}, the chain expects {expected_prev}", where)


def _skipped_since(prev_hash: str, recent: deque[tuple[int, str]]) -> tuple[int, int] | None:
    """If ``prev_hash`` is an earlier record's hash (not the last one's): that record's id and
    the id of the record after it."""
    items = list(recent)
    for index in range(len(items) - 2, -1, -1):
        if items[index][1] == prev_hash:
            return items[index][0], items[index + 1][0]
    return None


def _name(record: ChainLink | None) -> str:
    return f"record {record.id}" if record is not None else "the start of the log (64 zeros)"


def chain_report_text(report: ChainReport) -> list[str]:
    if report.first_break is None:
        return [f"ok: {report.checked} record(s) chained; last record {report.last_id}, "
                f"hash {report.last_hash}" if report.checked else "ok: the log is empty"]
    found = report.first_break
    lines = [f"BROKEN at record {found.record_id} ({found.kind})"
             + (f", line {found.line}" if found.line else ""), f"  {found.message}",
             f"  expected: {found.expected}", f"  found:    {found.found}",
             f"  {report.checked} record(s) before it verified"]
    return lines


def link_from(record: Mapping[str, Any], hash_record: Callable[[Mapping[str, Any]], str],
              line: int | None = None) -> ChainLink:
    """A ``ChainLink`` from a record mapping holding every hashed field plus ``hash``."""
    return ChainLink(int(record["id"]), str(record["prev_hash"]), str(record["hash"]),
                     hash_record(record), line)


# --- reading the log from the database ---------------------------------------------------------


def decision_table() -> Table:
    from kfworkflow.storage.engine_models import Decision

    return Decision.metadata.tables["decision"]


def stream_decisions(conn: Connection, *, where: Sequence[ColumnElement[bool]] = (),
                     upper_id: int | None = None, chunk: int = 2_000,
                     columns: Sequence[Any] | None = None) -> Iterator[Row[Any]]:
    """Decision rows in id order, ``chunk`` at a time (keyset pagination: bounded memory on any
    backend, no server-side cursor held open)."""
    table = decision_table()
    last: int | None = None
    while True:
        conditions = list(where)
        if last is not None:
            conditions.append(table.c.id > last)
        if upper_id is not None:
            conditions.append(table.c.id <= upper_id)
        statement = select(*columns) if columns is not None else select(table)
        rows = conn.execute(statement.where(*conditions).order_by(table.c.id)
                            .limit(chunk)).all()
        yield from rows
        if len(rows) < chunk:
            return
        last = rows[-1].id


def log_bounds(conn: Connection, *where: ColumnElement[bool]) -> tuple[int, int | None]:
    """(number of records, highest id) matching ``where``: a fixed upper end for one walk."""
    table = decision_table()
    count, upper = conn.execute(select(func.count(), func.max(table.c.id)).where(*where)).one()
    return int(count), upper


def verify_log(conn: Connection, *, anchor: tuple[int, str] | None = None,
               progress: Progress | None = None, total: Callable[[int], None] | None = None
               ) -> ChainReport:
    """Walk the stored log up to its current last record. ``total`` is told the number of
    records first (for a progress bar), ``progress`` how many were checked since."""
    from kfworkflow.storage.decision_log import STORED_ORDER, verified_hash

    count, upper = log_bounds(conn)
    if total is not None:
        total(count)
    table = decision_table()
    # as_of as stored text: a date edited into something that is not a date must be reported
    # as an altered record, not stop the walk
    columns = [cast_to_text(table.c.as_of) if name == "as_of" else table.c[name]
               for name in STORED_ORDER]
    rows = cast(Iterator[Sequence[Any]], stream_decisions(conn, upper_id=upper, columns=columns))
    # STORED_ORDER: id 1, pass_run_id 2, prev_hash 12, hash 13
    links = (ChainLink(row[1], row[12], row[13], verified_hash(row), row[2]) for row in rows)
    return walk(links, anchor=anchor, progress=progress)


def cast_to_text(column: Any) -> Any:
    return sql_cast(column, String).label(column.name)


def anchor_from_manifest(data: Mapping[str, Any]) -> tuple[int, str]:
    """The (last id, last hash) an export's manifest records."""
    last_id, last_hash = data.get("last_id"), data.get("last_hash")
    if not isinstance(last_id, int) or not isinstance(last_hash, str):
        raise InputError("the anchor manifest has no last_id / last_hash (an empty export?)")
    return last_id, last_hash
