"""The pass ledger: which runs were made, which periods are done and which are due."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.engine.periods import PASS_KINDS, check_kind, period_key, scheduled_periods
from kfworkflow.engine.workspace import Workspace
from kfworkflow.storage import rule_store
from kfworkflow.storage.db import read_session
from kfworkflow.storage.engine_models import PassRun


def history_start(session: Session) -> date | None:
    """The start of history: the earliest effective_from of the published rule versions."""
    versions = rule_store.versions(session)
    return min((v.effective_from for v in versions), default=None)


def due_periods(workspace: Workspace, until: date) -> list[tuple[str, date]]:
    """The periods from the start of history up to ``until`` that have no effective run."""
    with read_session(workspace.ready_engine()) as session:
        start = history_start(session)
        if start is None:
            return []
        done = {(k, p) for k, p in session.execute(
            select(col(PassRun.kind), col(PassRun.period_key))
            .where(col(PassRun.status) == "succeeded"))}
    calendar = workspace.calendar
    calendar.check_years(range(start.year, until.year + 1))
    return [(kind, day) for kind, day in scheduled_periods(calendar, start, until)
            if (kind, period_key(kind, day)) not in done]


def list_runs(workspace: Workspace, *, kind: str | None = None, limit: int | None = None
              ) -> list[dict[str, Any]]:
    with read_session(workspace.ready_engine()) as session:
        query = select(PassRun).order_by(col(PassRun.id).desc())
        if kind:
            check_kind(kind)
            query = query.where(col(PassRun.kind) == kind)
        if limit:
            query = query.limit(limit)
        return [run_dict(r) for r in session.execute(query).scalars()]


def run_dict(run: PassRun) -> dict[str, Any]:
    return {"id": run.id, "kind": run.kind, "period": run.period_key, "as_of": run.as_of,
            "status": run.status, "revision": run.revision,
            "calendar_version": run.calendar_version, "counts": json.loads(run.counts),
            "started_at": run.started_at, "finished_at": run.finished_at,
            "duration_ms": run.duration_ms, "supersedes": run.supersedes_id,
            "actor": run.actor, "error": run.error}


def last_runs(workspace: Workspace) -> dict[str, dict[str, Any] | None]:
    """The latest effective run of each kind."""
    out: dict[str, dict[str, Any] | None] = {}
    with read_session(workspace.ready_engine()) as session:
        for kind in PASS_KINDS:
            run = session.execute(
                select(PassRun).where(col(PassRun.kind) == kind,
                                      col(PassRun.status) == "succeeded")
                .order_by(col(PassRun.as_of).desc(), col(PassRun.id).desc()).limit(1)
            ).scalars().first()
            out[kind] = run_dict(run) if run else None
    return out
