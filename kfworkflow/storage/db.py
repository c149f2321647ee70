"""Opening the database: URL resolution, engine settings per backend, migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from kfworkflow.errors import ConfigError

DATABASE_ENV = "KFW_DATABASE_URL"
DEFAULT_DB_FILE = "kfw.db"


def resolve_url(explicit: str | None, workspace: Path) -> str:
    """``--db`` wins, then ``KFW_DATABASE_URL``, then ``kfw.db`` in the workspace."""
    url = explicit or os.environ.get(DATABASE_ENV)
    if not url:
        return f"sqlite:///{(workspace / DEFAULT_DB_FILE).resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver we ship; make plain URLs use it.
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise ConfigError(f"invalid database URL {url!r}: {exc}") from exc
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": 30}
    try:
        engine = create_engine(url, **kwargs)
    except Exception as exc:
        raise ConfigError(f"cannot open database {url!r}: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        _tune_sqlite(engine)
    return engine


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin, so that
        # BEGIN IMMEDIATE can take the write lock up front for passes and imports.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.info.get("sqlite_begin", "BEGIN")
        conn.exec_driver_sql(mode)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """A session whose transaction holds the write lock from its first statement.

    On SQLite this is ``BEGIN IMMEDIATE`` (no writer can slip in between our read and our
    write); on PostgreSQL an ordinary transaction, callers take row or advisory locks.
    Commits on success, rolls back everything on any exception.
    """
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        try:
            with Session(bind=conn) as session, conn.begin():
                yield session
                session.flush()
        finally:
            conn.info.pop("sqlite_begin", None)


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session
