"""A project's decisions and assignments as ``kfw ledger history`` items (time order is the
caller's: it merges these with the ledger's events, changes, reports and problems)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.storage.engine_models import Assignment, AssignmentEvent, PassRun
from kfworkflow.storage.models import Project
from kfworkflow.timefmt import DEFAULT_TZ, business_date, start_of_day_utc


def decision_history(session: Session, project: Project, tz: str = DEFAULT_TZ
                     ) -> list[dict[str, Any]]:
    """Decisions about the project, its problems and its assignments, and every assignment
    event; each item has at, on, kind, what, actor, source, reason."""
    from kfworkflow.audit.explain import about_project
    from kfworkflow.audit.verify import decision_table

    runs: dict[int, PassRun] = {}

    def run_of(run_id: int | None) -> PassRun | None:
        if run_id is None:
            return None
        if run_id not in runs:
            found = session.get(PassRun, run_id)
            if found is None:
                return None
            runs[run_id] = found
        return runs[run_id]

    items: list[dict[str, Any]] = []
    table = decision_table()
    rows = session.connection().execute(
        select(table).where(about_project(session, project)).order_by(table.c.id))
    for row in rows:
        run = run_of(row.pass_run_id)
        items.append({
            "at": run.started_at if run else start_of_day_utc(row.as_of, tz),
            "on": row.as_of,
            "kind": "decision",
            "what": f"#{row.id} {row.subject_kind} {row.subject_key} {row.rule_id}: "
                    f"{_outcome_text(row.outcome)}",
            "actor": run.actor if run else None, "source": _run_text(run),
            "reason": row.reason})
    recipients: dict[int, str] = {}  # decision id -> the recipient its route named
    assignments = session.execute(select(Assignment).where(
        col(Assignment.project_code) == project.code).order_by(col(Assignment.id))).scalars()
    for assignment in assignments:
        events = session.execute(select(AssignmentEvent).where(
            col(AssignmentEvent.assignment_id) == assignment.id).order_by(
            col(AssignmentEvent.id))).scalars()
        for event in events:
            run = run_of(event.pass_run_id)
            recipient = _recipient(session, event.decision_id, recipients)
            deadline = f", deadline {event.deadline_on}" if event.deadline_on else ""
            items.append({
                "at": event.at,
                "on": run.as_of if run else business_date(event.at, tz),
                "kind": "assignment",
                "what": f"{assignment.number} {event.from_status or '-'} → {event.to_status} "
                        f"[{event.level}]" + (f" {recipient}" if recipient else "") + deadline,
                "actor": event.actor, "source": _run_text(run), "reason": event.reason})
    return items


def _recipient(session: Session, decision_id: int | None, known: dict[int, str]) -> str | None:
    if decision_id is None:
        return None
    if decision_id not in known:
        from kfworkflow.audit.verify import decision_table

        table = decision_table()
        outcome = session.connection().execute(
            select(table.c.outcome).where(table.c.id == decision_id)).scalar()
        route = json.loads(outcome).get("route") if outcome else None
        known[decision_id] = str(route.get("recipient")) if isinstance(route, dict) else ""
    return known[decision_id] or None


def _run_text(run: PassRun | None) -> str | None:
    if run is None:
        return None
    superseded = " (superseded)" if run.status == "superseded" else ""
    return f"pass {run.kind} {run.period_key} #{run.id}{superseded}"


def _outcome_text(outcome_json: str) -> str:
    outcome = json.loads(outcome_json)
    parts = []
    light = outcome.get("light")
    if isinstance(light, dict):
        parts.append(f"{light.get('dimension')}={light.get('color')}")
    route = outcome.get("route")
    if isinstance(route, dict):
        parts.append(f"route {route.get('level')} {route.get('recipient')} by "
                     f"{route.get('deadline_on')}")
    if outcome.get("escalate"):
        parts.append("escalate")
    if outcome.get("top_level_overdue"):
        parts.append("overdue at the top level")
    if outcome.get("action"):
        parts.append(f"action {outcome['action']}")
    return ", ".join(parts) or "-"
