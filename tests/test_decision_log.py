"""The decision log: canonical encoding and hash, the chain, append-only storage."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pass_scenario import at, build_ledger, publish_rules, run_all
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col

from kfworkflow.engine.workspace import Workspace
from kfworkflow.storage.db import write_session
from kfworkflow.storage.decision_log import (
    GENESIS,
    DecisionAppender,
    _fast_hash,
    canonical_json,
    record_hash,
    row_hash,
)
from kfworkflow.storage.engine_models import Decision, PassRun

RECORD: dict[str, Any] = {
    "format": 1, "id": 1, "pass_run_id": 7, "subject_kind": "project", "subject_key": "Q01",
    "as_of": "2022-10-03", "rule_id": "start_red_3", "revision": "b2239bb500d4326d",
    "calendar_version": "cc1.11.0",
    "inputs": {"previous_light.start": "red", "light_streak.start": 4, "exempt": False,
               "county_name": "杞县"},
    "outcome": {"route": {"level": "county", "recipient": "杞县人民政府",
                          "deadline_on": "2022-10-12", "deadline": {"working_days": 5}},
                "action": "supervision_notice", "group": "@start_red_3"},
    "reason": "开工红灯已连续 4 次日调度，交杞县人民政府督办，2022-10-12 前办结",
    "prev_hash": "0" * 64,
}
# The documented encoding, written out by hand: keys sorted at every level, no spaces,
# Chinese kept as UTF-8, false/ints as JSON.
CANONICAL = (
    '{"as_of":"2022-10-03","calendar_version":"cc1.11.0","format":1,"id":1,'
    '"inputs":{"county_name":"杞县","exempt":false,"light_streak.start":4,'
    '"previous_light.start":"red"},'
    '"outcome":{"action":"supervision_notice","group":"@start_red_3",'
    '"route":{"deadline":{"working_days":5},"deadline_on":"2022-10-12","level":"county",'
    '"recipient":"杞县人民政府"}},'
    '"pass_run_id":7,"prev_hash":"' + "0" * 64 + '",'
    '"reason":"开工红灯已连续 4 次日调度，交杞县人民政府督办，2022-10-12 前办结",'
    '"revision":"b2239bb500d4326d","rule_id":"start_red_3","subject_key":"Q01",'
    '"subject_kind":"project"}'
)


def test_hash_is_sha256_of_the_documented_canonical_encoding() -> None:
    assert canonical_json(RECORD) == CANONICAL
    assert record_hash(RECORD) == hashlib.sha256(CANONICAL.encode("utf-8")).hexdigest()
    assert GENESIS == "0" * 64


def test_dates_are_iso_strings_and_other_types_are_refused() -> None:
    assert canonical_json({"b": date(2022, 10, 8), "a": None}) == '{"a":null,"b":"2022-10-08"}'
    with pytest.raises(TypeError, match="set is not allowed in a decision record"):
        canonical_json({"a": {1}})


def test_a_record_missing_a_field_cannot_be_hashed() -> None:
    partial = {k: v for k, v in RECORD.items() if k not in ("reason", "prev_hash")}
    with pytest.raises(KeyError, match="decision record lacks reason, prev_hash"):
        record_hash(partial)


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
                    st.dates().map(date.isoformat))


@given(inputs=st.dictionaries(st.text(max_size=12), SCALARS, max_size=6),
       reason=st.text(max_size=20), key=st.text(min_size=1, max_size=10),
       record_id=st.integers(1, 10**9), names=st.lists(st.text(max_size=8), min_size=4,
                                                       max_size=4))
def test_the_appenders_fast_hash_equals_the_documented_one(
        inputs: dict[str, Any], reason: str, key: str, record_id: int,
        names: list[str]) -> None:
    rule_id, revision, calendar_version, subject_kind = names
    record = {**RECORD, "inputs": inputs, "reason": reason, "subject_key": key,
              "id": record_id, "rule_id": rule_id, "revision": revision,
              "calendar_version": calendar_version, "subject_kind": subject_kind,
              "pass_run_id": record_id // 7}
    scalars = {k: v for k, v in record.items() if k not in ("inputs", "outcome")}
    assert _fast_hash(scalars, canonical_json(inputs), canonical_json(record["outcome"])) == (
        record_hash(record))


def _pass_run(session: Any) -> int:
    run = PassRun(kind="daily", period_key="2022-10-08", as_of=date(2022, 10, 8),
                  status="running", counts="{}", started_at=at(date(2022, 10, 8)), actor="t")
    session.add(run)
    session.flush()
    assert run.id is not None
    return run.id


def _append(log: DecisionAppender, run_id: int, key: str) -> Any:
    return log.append(pass_run_id=run_id, subject_kind="project", subject_key=key,
                      as_of=date(2022, 10, 8), rule_id="start_late_red", revision="r1",
                      calendar_version="cc1.11.0",
                      inputs={"planned.started": date(2022, 9, 21), "exempt": False},
                      outcome={"light": {"dimension": "start", "color": "red"}},
                      reason=f"{key} 计划开工日期 2022-09-21 已过 5 个工作日仍未开工")


def test_appends_chain_from_64_zeros_across_transactions(workspace: Workspace) -> None:
    engine = workspace.ready_engine()
    with write_session(engine) as session:
        run_id = _pass_run(session)
        log = DecisionAppender(session, batch=2)
        first = [_append(log, run_id, key) for key in ("Q01", "Q02", "L01")]
        log.flush()
    with write_session(engine) as session:
        log = DecisionAppender(session)
        fourth = _append(log, run_id, "T01")
        log.flush()
    with engine.connect() as conn:
        rows = list(conn.execute(select(Decision).order_by(col(Decision.id))))
    assert [r.id for r in rows] == [1, 2, 3, 4]
    assert [a.id for a in [*first, fourth]] == [1, 2, 3, 4]
    assert [r.prev_hash for r in rows] == [GENESIS, rows[0].hash, rows[1].hash, rows[2].hash]
    assert [r.hash for r in rows] == [a.hash for a in [*first, fourth]]
    for row in rows:
        assert row_hash(row) == row.hash  # type: ignore[arg-type]
    assert json.loads(rows[0].inputs) == {"exempt": False, "planned.started": "2022-09-21"}
    assert rows[0].inputs == '{"exempt":false,"planned.started":"2022-09-21"}'
    assert rows[3].format == 1


def test_the_log_of_real_passes_verifies(workspace: Workspace) -> None:
    publish_rules(workspace)
    build_ledger(workspace, codes=("Q01", "L01", "T03"))
    run_all(workspace, date(2022, 10, 10))
    with workspace.engine.connect() as conn:
        rows = list(conn.execute(select(Decision).order_by(col(Decision.id))))
    assert len(rows) > 50
    previous = GENESIS
    for expected_id, row in enumerate(rows, start=1):
        assert (row.id, row.prev_hash, row_hash(row)) == (  # type: ignore[arg-type]
            expected_id, previous, row.hash)
        previous = row.hash


@pytest.mark.parametrize(("table", "statement"), [
    ("decision", "UPDATE decision SET reason = 'edited'"),
    ("decision", "DELETE FROM decision"),
    ("assignment_event", "UPDATE assignment_event SET reason = 'edited'"),
    ("assignment_event", "DELETE FROM assignment_event"),
])
def test_the_log_and_assignment_events_are_append_only(
        workspace: Workspace, table: str, statement: str) -> None:
    publish_rules(workspace)
    build_ledger(workspace, codes=("Q01", "T03"))
    run_all(workspace, date(2022, 9, 26))  # W39 assigns the city problem: one event
    verb = statement.split()[0]
    with pytest.raises(DBAPIError, match=f"{table} is append-only: {verb} refused"), \
            workspace.engine.begin() as conn:
        conn.execute(text(statement))
    with workspace.engine.connect() as conn:
        assert conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one() > 0



def test_bulk_insert_stores_values_exactly_as_sqlalchemy_does(workspace: Workspace) -> None:
    """Instants (aware, any zone) and dates go through the column types: the raw stored text
    of a bulk-inserted row equals that of the same row inserted through SQLAlchemy."""
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import Boolean, Column, Date, Float, Integer, MetaData, String, Table, insert

    from kfworkflow.storage.bulk import bulk_insert
    from kfworkflow.storage.types import UtcDateTime

    table = Table(f"bulk_probe_{uuid.uuid4().hex[:8]}", MetaData(),
                  Column("id", Integer, primary_key=True), Column("at", UtcDateTime()),
                  Column("on_day", Date), Column("note", String(20)), Column("amount", Float),
                  Column("done", Boolean))
    beijing = timezone(timedelta(hours=8))
    row = {"id": 1, "at": datetime(2022, 11, 21, 18, 0, 0, tzinfo=beijing),
           "on_day": date(2022, 11, 28), "note": "=x", "amount": 0.1 + 0.2, "done": True}
    engine = workspace.ready_engine()
    table.create(engine)
    try:
        with write_session(engine) as session:
            session.execute(insert(table), [row])
            bulk_insert(session, table, [{**row, "id": 2}])
            stored = session.execute(text(
                f"SELECT CAST(at AS TEXT), CAST(on_day AS TEXT), note, CAST(amount AS TEXT), "
                f"CAST(done AS TEXT) FROM {table.name} ORDER BY id")).all()
            back = session.execute(select(table.c.at, table.c.amount, table.c.done)
                                   .where(table.c.id == 2)).one()
    finally:
        table.drop(engine)
    assert stored[0] == stored[1]
    assert stored[1][1:3] == ("2022-11-28", "=x")
    assert tuple(back)[1:] == (0.30000000000000004, True)
    assert stored[1][0].startswith("2022-11-21 10:00:00")  # 18:00 in Beijing is 10:00 UTC
    assert back[0] == datetime(2022, 11, 21, 10, tzinfo=UTC)


def test_reserved_ids_are_the_next_ones_and_later_inserts_follow_them(
        workspace: Workspace) -> None:
    """A pass gives new assignments their ids up front: 3 and 4 after the two rows there; an
    insert that lets the database choose then gets 5, not a clash (the PostgreSQL sequence
    moved on)."""
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert

    from kfworkflow.storage.bulk import bulk_insert, reserve_ids

    table = Table(f"ids_probe_{uuid.uuid4().hex[:8]}", MetaData(),
                  Column("id", Integer, primary_key=True), Column("note", String(20)))
    engine = workspace.ready_engine()
    table.create(engine)
    try:
        with write_session(engine) as session:
            session.execute(insert(table), [{"note": "a"}, {"note": "b"}])
            assert reserve_ids(session, table, 0) == []
            ids = reserve_ids(session, table, 2)
            bulk_insert(session, table, [{"id": i, "note": "reserved"} for i in ids])
            session.execute(insert(table), [{"note": "later"}])
            stored = session.execute(select(table.c.id, table.c.note).order_by(table.c.id)).all()
    finally:
        table.drop(engine)
    assert ids == [3, 4]
    assert [tuple(r) for r in stored] == [(1, "a"), (2, "b"), (3, "reserved"), (4, "reserved"),
                                          (5, "later")]


def test_bulk_insert_keeps_text_that_copy_would_escape(workspace: Workspace) -> None:
    """On PostgreSQL the rows go through COPY: tabs, line breaks, backslashes, a literal
    ``\\N`` and an empty string come back as they were, and None as NULL."""
    from sqlalchemy import Column, Integer, MetaData, Table, Text

    from kfworkflow.storage.bulk import bulk_insert

    table = Table(f"copy_probe_{uuid.uuid4().hex[:8]}", MetaData(),
                  Column("id", Integer, primary_key=True), Column("body", Text))
    values = ["a\tb\nc\r\nd", "back\\slash \\N", "\\N", "", None, "交办“问题”，'引号'"]
    engine = workspace.ready_engine()
    table.create(engine)
    try:
        with write_session(engine) as session:
            bulk_insert(session, table, [{"id": i, "body": v} for i, v in enumerate(values)])
            stored = [v for (v,) in session.execute(select(table.c.body).order_by(table.c.id))]
    finally:
        table.drop(engine)
    assert stored == values


@settings(max_examples=300, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | st.dates(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12))
def test_canonical_json_is_the_documented_encoding_of_any_value(value: object) -> None:
    """The encoder built once gives exactly what json.dumps gives with the documented settings
    (sorted keys, no spaces, non-ASCII kept, dates as ISO strings)."""
    expected = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                          default=lambda v: v.isoformat())
    assert canonical_json(value) == expected


def test_a_bulk_insert_that_breaks_a_constraint_raises_as_sqlalchemy_does(
        workspace: Workspace) -> None:
    """COPY on PostgreSQL, executemany on SQLite: either way a duplicate key is SQLAlchemy's
    IntegrityError, and the transaction keeps nothing."""
    from sqlalchemy import Column, Integer, MetaData, Table
    from sqlalchemy.exc import IntegrityError

    from kfworkflow.storage.bulk import bulk_insert

    table = Table(f"dup_probe_{uuid.uuid4().hex[:8]}", MetaData(),
                  Column("id", Integer, primary_key=True))
    engine = workspace.ready_engine()
    table.create(engine)
    try:
        with pytest.raises(IntegrityError), write_session(engine) as session:
            bulk_insert(session, table, [{"id": 1}, {"id": 2}, {"id": 1}])
        with engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(table)).scalar_one()
    finally:
        table.drop(engine)
    assert left == 0
