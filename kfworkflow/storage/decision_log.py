"""The decision log: append-only, hash-chained records of every decision a pass makes.

Format 1. Each record's ``hash`` is the SHA-256 (lower-case hex) of the UTF-8 bytes of the
canonical JSON — keys sorted, no spaces (``","`` and ``":"``), non-ASCII characters kept as
they are (``ensure_ascii=False``) — of the object::

    {format, id, pass_run_id, subject_kind, subject_key, as_of, rule_id, revision,
     calendar_version, inputs, outcome, reason, prev_hash}

where ``inputs`` and ``outcome`` are the JSON objects stored in those columns (dates as ISO
strings), ``as_of`` is an ISO date and ``prev_hash`` is the previous record's hash (64 zeros
for the first record). Appends are serialized: PostgreSQL takes a transaction-scoped advisory
lock on a fixed key; SQLite's write transaction (BEGIN IMMEDIATE) already excludes writers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, select, text
from sqlmodel import Session, col

from kfworkflow.storage.bulk import bulk_insert
from kfworkflow.storage.engine_models import Decision

FORMAT = 1
GENESIS = "0" * 64
HASHED_FIELDS = ("format", "id", "pass_run_id", "subject_kind", "subject_key", "as_of",
                 "rule_id", "revision", "calendar_version", "inputs", "outcome", "reason",
                 "prev_hash")
_SORTED_FIELDS = tuple(sorted(HASHED_FIELDS))
# pg_advisory_xact_lock key of the decision log (and of assignment changes): "kfw-log".
LOG_LOCK_KEY = 0x6B66772D6C6F67


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not allowed in a decision record")


_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                              default=_plain)
# The C encoder ``_CANONICAL.encode`` builds on every call, built once (a pass encodes two
# objects per decision: a third faster); None where the json module has no C speedups.
_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_C_CANONICAL = None if _make_encoder is None else _make_encoder(
    None, _plain, json.encoder.encode_basestring, None, ":", ",", True, False, True)


def canonical_json(value: Any) -> str:
    """The canonical encoding: sorted keys, no spaces, non-ASCII kept, dates as ISO strings."""
    if _C_CANONICAL is None or isinstance(value, str):
        return _CANONICAL.encode(value)
    return "".join(_C_CANONICAL(value, 0))


def record_hash(fields: Mapping[str, Any]) -> str:
    """The hash of one record given its hashed fields (``inputs``/``outcome`` as objects)."""
    missing = [name for name in HASHED_FIELDS if name not in fields]
    if missing:
        raise KeyError(f"decision record lacks {', '.join(missing)}")
    record = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def row_hash(row: Decision) -> str:
    """Recompute a stored row's hash from its columns."""
    return record_hash(row_fields(row))


STORED_ORDER = ("format", "id", "pass_run_id", "subject_kind", "subject_key", "as_of",
                "rule_id", "revision", "calendar_version", "inputs", "outcome", "reason",
                "prev_hash", "hash")


def verified_hash(values: Sequence[Any]) -> str:
    """``row_hash`` of a stored row given as its ``STORED_ORDER`` values — fast when the row is
    intact: the stored ``inputs`` and ``outcome`` are the canonical text that was hashed, so
    hashing them as stored gives the recorded hash without parsing and re-encoding them. When
    it does not, the documented computation decides (and gives the value to report)."""
    (format_, record_id, pass_run_id, subject_kind, subject_key, as_of, rule_id, revision,
     calendar_version, inputs, outcome, reason, prev_hash, recorded) = values
    fields = {"format": format_, "id": record_id, "pass_run_id": pass_run_id,
              "subject_kind": subject_kind, "subject_key": subject_key,
              "as_of": as_of if isinstance(as_of, str) else as_of.isoformat(),
              "rule_id": rule_id, "revision": revision, "calendar_version": calendar_version,
              "reason": reason, "prev_hash": prev_hash}
    try:
        if _fast_hash(fields, inputs, outcome) == recorded:
            return str(recorded)
    except (TypeError, ValueError):
        pass
    try:
        return record_hash({**fields, "inputs": json.loads(inputs),
                            "outcome": json.loads(outcome)})
    except (TypeError, ValueError) as exc:  # edited into something that is not a record
        return f"(no hash: the stored content cannot be read — {type(exc).__name__}: {exc})"


def row_fields(row: Decision) -> dict[str, Any]:
    return {
        "format": row.format, "id": row.id, "pass_run_id": row.pass_run_id,
        "subject_kind": row.subject_kind, "subject_key": row.subject_key,
        "as_of": row.as_of.isoformat(), "rule_id": row.rule_id, "revision": row.revision,
        "calendar_version": row.calendar_version, "inputs": json.loads(row.inputs),
        "outcome": json.loads(row.outcome), "reason": row.reason, "prev_hash": row.prev_hash,
    }


_BEFORE = tuple(name for name in _SORTED_FIELDS if name < "inputs")
_AFTER = tuple(name for name in _SORTED_FIELDS if name > "outcome")
assert _BEFORE == ("as_of", "calendar_version", "format", "id")
assert _AFTER == ("pass_run_id", "prev_hash", "reason", "revision", "rule_id", "subject_key",
                  "subject_kind")
_text = json.encoder.encode_basestring  # what the canonical encoder does with a str


def _fast_hash(scalars: Mapping[str, Any], inputs_json: str, outcome_json: str) -> str:
    """``record_hash`` without re-encoding inputs and outcome (already canonical text) and
    without a generic encoder for the scalar fields, whose sorted order is fixed (above)."""
    text = (f'{{"as_of":{_text(scalars["as_of"])},'
            f'"calendar_version":{_text(scalars["calendar_version"])},'
            f'"format":{int(scalars["format"])},"id":{int(scalars["id"])},'
            f'"inputs":{inputs_json},"outcome":{outcome_json},'
            f'"pass_run_id":{int(scalars["pass_run_id"])},'
            f'"prev_hash":{_text(scalars["prev_hash"])},"reason":{_text(scalars["reason"])},'
            f'"revision":{_text(scalars["revision"])},"rule_id":{_text(scalars["rule_id"])},'
            f'"subject_key":{_text(scalars["subject_key"])},'
            f'"subject_kind":{_text(scalars["subject_kind"])}}}')
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def lock_log(session: Session) -> None:
    """Serialize appends (and assignment changes) until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOG_LOCK_KEY})


def tail(session: Session) -> tuple[int, str]:
    """The last record's id and hash; (0, 64 zeros) for an empty log."""
    row = session.execute(
        select(col(Decision.id), col(Decision.hash)).order_by(col(Decision.id).desc()).limit(1)
    ).first()
    return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))


@dataclass(frozen=True)
class Appended:
    id: int
    hash: str


class DecisionAppender:
    """Appends records in id order within the caller's transaction; rows are written in
    batches (``flush``), ids and hashes are known at once."""

    def __init__(self, session: Session, *, batch: int = 5000) -> None:
        lock_log(session)
        self._session = session
        self._last_id, self._last_hash = tail(session)
        self._pending: list[dict[str, Any]] = []
        self._batch = batch
        self.count = 0

    def append(self, *, pass_run_id: int, subject_kind: str, subject_key: str, as_of: date,
               rule_id: str, revision: str, calendar_version: str, inputs: Mapping[str, Any],
               outcome: Mapping[str, Any], reason: str) -> Appended:
        record_id = self._last_id + 1
        inputs_json = canonical_json(inputs)
        outcome_json = canonical_json(outcome)
        scalars = {"format": FORMAT, "id": record_id, "pass_run_id": pass_run_id,
                   "subject_kind": subject_kind, "subject_key": subject_key,
                   "as_of": as_of.isoformat(), "rule_id": rule_id, "revision": revision,
                   "calendar_version": calendar_version, "reason": reason,
                   "prev_hash": self._last_hash}
        digest = _fast_hash(scalars, inputs_json, outcome_json)
        self._pending.append({**scalars, "as_of": as_of, "inputs": inputs_json,
                              "outcome": outcome_json, "hash": digest})
        self._last_id, self._last_hash = record_id, digest
        self.count += 1
        if len(self._pending) >= self._batch:
            self.flush()
        return Appended(record_id, digest)

    def flush(self) -> None:
        if self._pending:
            table: Table = Decision.__table__  # type: ignore[attr-defined]
            bulk_insert(self._session, table, self._pending)
            self._pending = []
