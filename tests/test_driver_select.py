"""DriverSelect: the rows SQLAlchemy would give, read through the driver's cursor."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import insert, select
from sqlmodel import col

from kfworkflow.engine.project_query import project_query
from kfworkflow.engine.workspace import Workspace
from kfworkflow.storage.db import write_session
from kfworkflow.storage.driver_select import DriverSelect
from kfworkflow.storage.engine_models import PassRun
from kfworkflow.storage.models import DailyReport, Project

NOW = datetime(2022, 11, 21, 2, tzinfo=UTC)


def _ledger(workspace: Workspace) -> None:
    with write_session(workspace.engine) as session:
        session.execute(insert(Project), [
            {"id": i, "code": f"P{i}", "name": f"项目{i}", "category": "key_project",
             "county": "qixian", "task_force": "key_projects", "responsible_unit": "单位",
             "responsible_person": "负责人", "total_investment": 100.0 * i,
             "annual_investment": 10.0 * i, "state": "started" if i % 2 else "planned",
             "state_on": date(2022, 10, i) if i % 2 else None, "created_at": NOW,
             "updated_at": NOW} for i in range(1, 6)])
        session.execute(insert(DailyReport), [
            {"project_id": i, "county": "qixian", "report_on": date(2022, 11, d),
             "recorded_at": NOW, "completed_investment": float(i * d), "actor": "t"}
            for i in (1, 2, 3) for d in (18, 21, 22)])


def test_rows_match_what_sqlalchemy_reads(workspace: Workspace) -> None:
    _ledger(workspace)
    query = project_query(date(2022, 11, 21), 3, reports=True, lights={}, exemptions=True,
                          problems=True)
    with write_session(workspace.engine) as session:
        connection = session.connection()
        select_ = DriverSelect(connection, query.statement)
        converted = []
        for after in (0, 3):
            for row in select_.raw_rows(connection, {"after_id": after}):
                converted.append(tuple(v if v is None else select_.converter(i)(v)
                                       for i, v in enumerate(row)))
        expected = [tuple(r) for after in (0, 3)
                    for r in connection.execute(query.statement, {"after_id": after})]
    assert converted == expected
    # the latest report on or before the pass date (the 22nd is after it), dates as dates
    code, state_on, report = (query.column_at["code"], query.column_at["state_on"],
                              query.report_at)
    assert report is not None
    assert [(r[code], r[state_on], r[report], r[report + 1]) for r in converted] == [
        ("P1", date(2022, 10, 1), date(2022, 11, 21), 21.0),
        ("P2", None, date(2022, 11, 21), 42.0),
        ("P3", date(2022, 10, 3), date(2022, 11, 21), 63.0),
        ("P4", None, None, None),
        ("P5", date(2022, 10, 5), None, None)]


def test_a_column_type_it_cannot_convert_is_refused(workspace: Workspace) -> None:
    with write_session(workspace.engine) as session, pytest.raises(
            TypeError, match="cannot read a UtcDateTime"):
        DriverSelect(session.connection(), select(col(PassRun.started_at)))


def test_key_lists_select_exactly_their_keys_also_when_empty(workspace: Workspace) -> None:
    """``keys_in`` and a compiled-once ``keys_param`` statement, on integer and text columns:
    the rows of the keys given, none for no keys (on PostgreSQL the array takes the column's
    type, so an empty list of integer keys is not a text array), the same on the seventh run
    as on the first (psycopg prepares a statement after five)."""
    from kfworkflow.storage.queries import keys_in, keys_param, keys_value

    _ledger(workspace)
    with write_session(workspace.ready_engine()) as session:
        ids = dict(session.execute(select(col(Project.code), col(Project.id))).all())
        by_id = session.execute(select(col(Project.code)).where(
            keys_in(session, col(Project.id), [ids["P2"]]))).scalars().all()
        none_by_id = session.execute(select(col(Project.code)).where(
            keys_in(session, col(Project.id), []))).scalars().all()
        none_by_code = session.execute(select(col(Project.id)).where(
            keys_in(session, col(Project.code), []))).scalars().all()
        connection = session.connection()
        dialect = connection.dialect.name
        compiled = DriverSelect(connection, select(col(Project.code)).where(
            keys_param(col(Project.code), "codes", dialect)).order_by(col(Project.id)))
        runs = [[row[0] for row in compiled.raw_rows(
                    connection, {"codes": keys_value(dialect, keys)})]
                for keys in (["P1", "P2"], [], ["P2"], ["P1"], [], ["P9"], ["P2", "P1"])]
    assert by_id == ["P2"] and none_by_id == [] and none_by_code == []
    assert runs == [["P1", "P2"], [], ["P2"], ["P1"], [], [], ["P1", "P2"]]
