"""``kfw scheduler status``: last and next runs, overdue periods, failures, late runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from kfworkflow.engine.workspace import Workspace
from kfworkflow.scheduling import passes_engine
from kfworkflow.scheduling.cron import KINDS, cron_expression, cron_trigger, next_fire
from kfworkflow.scheduling.passes_engine import PassEngine, engine_available
from kfworkflow.scheduling.scheduler import PassScheduler
from kfworkflow.scheduling.state import read_state, state_file
from kfworkflow.timefmt import business_date, to_utc


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _run_dict(run: Any) -> dict[str, Any]:
    """A pass-ledger entry in the scheduler's terms (the ledger calls the key ``period``)."""
    return {"run_id": _get(run, "run_id") or _get(run, "id"), "kind": _get(run, "kind"),
            "period_key": _get(run, "period_key") or _get(run, "period"),
            "as_of": _get(run, "as_of"), "status": _get(run, "status"),
            "revision": _get(run, "revision"), "finished_at": _get(run, "finished_at")}


def status_overview(workspace: Workspace, engine: PassEngine | None = None) -> dict[str, Any]:
    """Last and next run of each kind, periods overdue now, unresolved failures, late runs."""
    policies = workspace.policies
    engine = engine or passes_engine.PassesEngine()
    now = to_utc(workspace.clock.now())
    state = read_state(workspace)
    notes: list[str] = []
    runs: Sequence[Any] | None = None
    overdue: list[dict[str, Any]] = []
    if engine_available(engine):
        runs = engine.list_runs(workspace)
        scheduler = PassScheduler(workspace, engine=engine, state=state_file(workspace))
        grace = scheduler.grace
        overdue = [{"kind": p.kind, "period_key": p.period_key, "as_of": p.as_of.isoformat(),
                    "due_at": p.due_at.isoformat(), "late": now - p.due_at > grace}
                   for p in scheduler.due_now(now)]
    else:
        notes.append("the passes engine (kfworkflow.engine.passes) is not installed: "
                     "overdue periods cannot be listed")
    if runs is None:
        notes.append("the pass ledger cannot be listed (no list_runs in the passes engine): "
                     "last runs come from the scheduler's state file")
    kinds = []
    for kind in KINDS:
        fire = next_fire(cron_trigger(policies, kind), now + timedelta(microseconds=1))
        if runs is not None:
            mine = [r for r in runs if _get(r, "kind") == kind
                    and _get(r, "status") in ("succeeded", None)]
            mine.sort(key=lambda r: (str(_get(r, "as_of")), str(_get(r, "started_at") or "")))
            last = _run_dict(mine[-1]) if mine else None
            source = "pass ledger"
        else:
            last = state.get("last", {}).get(kind)
            source = "scheduler state"
        kinds.append({"kind": kind, "schedule": cron_expression(policies, kind),
                      "last_run": last, "last_run_source": source,
                      "next_run_at": fire.isoformat() if fire else None,
                      "next_business_date": business_date(fire, policies.tz).isoformat()
                      if fire else None})
    return {"now": now.isoformat(), "timezone": policies.timezone, "kinds": kinds,
            "overdue": overdue, "failures": list(state.get("failures", [])),
            "late": list(state.get("late", [])), "last_error": state.get("last_error"),
            "state_file": str(state_file(workspace).path),
            "state_updated_at": state.get("updated_at"), "notes": notes}
