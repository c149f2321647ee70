"""Shared fixtures: one test suite over SQLite and, when a URL is given, PostgreSQL.

Set ``KFW_TEST_DATABASE_URL`` (e.g. ``postgresql://postgres@127.0.0.1:5432/test``) to run every
database test on PostgreSQL too; each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from kfworkflow.engine.workspace import Workspace, init_workspace
from kfworkflow.storage.db import resolve_url
from kfworkflow.timefmt import FixedClock

PG_URL = os.environ.get("KFW_TEST_DATABASE_URL")
PG_SKIP_REASON = (
    "PostgreSQL tests need KFW_TEST_DATABASE_URL "
    "(e.g. postgresql://postgres@127.0.0.1:5432/test); .ci/run sets it"
)
REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kfw.db'}"
        return
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    base = resolve_url(PG_URL, tmp_path)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


NOW = datetime(2022, 11, 21, 2, 0, tzinfo=UTC)  # 2022-11-21 10:00 in Asia/Shanghai, a Monday


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, clock: FixedClock) -> Iterator[Workspace]:
    root = tmp_path / "ws"
    init_workspace(root, db=db_url)
    ws = Workspace(root, db=db_url, actor="tester", clock=clock)
    yield ws
    ws.engine.dispose()
