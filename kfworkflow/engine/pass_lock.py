"""The lock a pass holds for its whole transaction, so two runs of one period never overlap.

SQLite has one writer: the pass's transaction begins IMMEDIATE (taking the write lock at once)
with a short busy timeout, so a second run of any pass reports "already running" at once instead
of waiting. PostgreSQL: a transaction-scoped advisory lock keyed by kind and period.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from kfworkflow.errors import PassBusyError
from kfworkflow.storage.db import is_sqlite, write_session

SQLITE_BUSY_MS = 2000
SQLITE_DEFAULT_BUSY_MS = 30000


def lock_key(kind: str, key: str) -> int:
    digest = hashlib.sha256(f"kfw-pass:{kind}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def pass_transaction(engine: Engine, kind: str, key: str) -> Iterator[Session]:
    """One transaction that holds the pass's lock from its first statement.

    SQLite: BEGIN IMMEDIATE with a short busy timeout (the database's one writer lock).
    PostgreSQL: pg_try_advisory_xact_lock on the kind and period.
    """
    busy = PassBusyError(f"the {kind} pass for {key} is already running")
    if not is_sqlite(engine):
        with write_session(engine) as session:
            got = session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"),
                                  {"key": lock_key(kind, key)}).scalar()
            if not got:
                raise busy
            yield session
        return
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection
        raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        conn.info["sqlite_begin"] = "BEGIN IMMEDIATE"
        try:
            try:
                transaction = conn.begin()
            except OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    raise PassBusyError(f"the {kind} pass for {key} is already running (or "
                                        "another write holds the SQLite database)") from None
                raise
            raw.execute(f"PRAGMA busy_timeout={SQLITE_DEFAULT_BUSY_MS}")
            with Session(bind=conn) as session, transaction:
                yield session
                session.flush()
        finally:
            conn.info.pop("sqlite_begin", None)
            raw.execute(f"PRAGMA busy_timeout={SQLITE_DEFAULT_BUSY_MS}")
