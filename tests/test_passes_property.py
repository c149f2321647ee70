"""Re-runs in any order give the same final state as running each period once (a property
test, on SQLite and PostgreSQL)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pass_scenario import (
    START,
    State,
    at,
    build_ledger,
    periods,
    publish_rules,
    run_all,
    set_day,
    state_of,
)
from sqlalchemy import create_engine, text

from kfworkflow.engine.passes import (
    run_pass,
)
from kfworkflow.engine.workspace import Workspace, init_workspace
from kfworkflow.storage.db import resolve_url
from kfworkflow.timefmt import FixedClock

# --- re-runs in any order: the same final state (property) ------------------------------------

PROPERTY_CODES = ("Q01", "Q02", "Q03", "L01", "L05", "T03", "T06")
PROPERTY_UNTIL = date(2022, 10, 17)
PG_URL = os.environ.get("KFW_TEST_DATABASE_URL")
_BASELINES: dict[str, State] = {}


@contextmanager
def fresh_workspace(backend: str, base: Path) -> Iterator[Workspace]:
    root = base / uuid.uuid4().hex[:10]
    schema = None
    if backend == "sqlite":
        root.mkdir(parents=True)
        url = f"sqlite:///{root / 'kfw.db'}"
    else:
        if not PG_URL:
            pytest.skip("PostgreSQL tests need KFW_TEST_DATABASE_URL")
        plain = resolve_url(PG_URL, base)
        schema = f"p_{uuid.uuid4().hex[:12]}"
        admin = create_engine(plain)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = f"{plain}{'&' if '?' in plain else '?'}options=-csearch_path%3D{schema}"
    init_workspace(root, db=url)
    workspace = Workspace(root, db=url, actor="tester", clock=FixedClock(at(START)))
    try:
        publish_rules(workspace)
        build_ledger(workspace, codes=PROPERTY_CODES, last_report=PROPERTY_UNTIL)
        yield workspace
    finally:
        workspace.engine.dispose()
        if schema is not None:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def baseline(backend: str, base: Path) -> State:
    if backend not in _BASELINES:
        with fresh_workspace(backend, base) as workspace:
            run_all(workspace, PROPERTY_UNTIL)
            _BASELINES[backend] = state_of(workspace.engine)
    return _BASELINES[backend]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql",
                                                            marks=pytest.mark.postgres)])
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(reruns=st.lists(st.tuples(st.integers(0, 99), st.integers(0, 99), st.booleans()),
                       max_size=6))
def test_any_interleaving_of_reruns_gives_the_state_of_running_each_once(
        backend: str, tmp_path_factory: pytest.TempPathFactory,
        reruns: list[tuple[int, int, bool]]) -> None:
    base = tmp_path_factory.mktemp("property")
    expected = baseline(backend, base)
    schedule = periods(PROPERTY_UNTIL)
    with fresh_workspace(backend, base) as workspace:
        for position, (kind, day) in enumerate(schedule):
            set_day(workspace, day)
            run_pass(workspace, kind, day)
            for after, which, explicit in reruns:
                if after % len(schedule) == position:
                    again_kind, again_day = schedule[which % (position + 1)]
                    result = run_pass(workspace, again_kind, again_day, rerun=explicit)
                    assert result.status == ("succeeded" if explicit else "already_done")
        assert state_of(workspace.engine) == expected
    assert len(expected.assignments) == 5  # the story up to W42 has five items
