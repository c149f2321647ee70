"""Scheduled passes: daily, weekly and monthly, on the cron schedules of ``policies.yaml``.

The only package that imports APScheduler (3.x: in ``cron`` and ``runner``), and only on first
use, so that reading the scheduler's state stays cheap. Design:

- Jobs are built from the policies at every start, in a memory job store: nothing pickled, so a
  changed schedule or a renamed function can never silently drop a job.
- The pass ledger (the passes engine) decides *which* periods still need a pass; the schedule
  decides *when* each becomes due: at the first fire time of its cron inside the period. At start
  and whenever a job fires, every due period runs once, in the order of those fire times. A run
  more than ``catch_up_grace_hours`` after its fire time is logged and recorded as late.
- Never twice: the passes engine's period key and database lock decide; a period that is running
  elsewhere (``PassBusyError``) is logged as "skipped: already running" and this round ends, so the
  other scheduler keeps the order.
- A failing pass is retried with exponential backoff; after the last try the round stops there
  (later periods must not run before it) and the failure is written to ``scheduler-state.json``
  in the workspace (atomic replace; no database table), where ``kfw scheduler status`` reads it.
- Weekday numbers in the cron strings follow standard cron (0 or 7 = Sunday, 1 = Monday).
  APScheduler 3 counts from Monday = 0, so they are translated to day names here.

Modules: ``cron`` (schedules, fire times, period bounds), ``passes_engine`` (what the scheduler
needs from the passes engine, and the real one), ``records`` (due periods, run records, the
session report), ``state`` (the state file), ``scheduler`` (the catch-up rounds and retries),
``runner`` (once, or on APScheduler jobs until a signal), ``status`` (``kfw scheduler status``).
The real engine, ``passes_engine.PassesEngine``, is deliberately not re-exported here: it is
looked up in ``passes_engine``, so that is where a test replaces it.
"""

from __future__ import annotations

from kfworkflow.scheduling.cron import (
    KINDS,
    Kind,
    NextRun,
    cron_expression,
    cron_trigger,
    next_runs,
    period_bounds,
    scheduled_at,
    standard_weekdays,
)
from kfworkflow.scheduling.passes_engine import (
    PassEngine,
    PassResultLike,
    engine_available,
    require_engine,
)
from kfworkflow.scheduling.records import DuePeriod, RunRecord, SessionReport, Status
from kfworkflow.scheduling.runner import build_scheduler, run_forever, run_once
from kfworkflow.scheduling.scheduler import PassScheduler, RetryPolicy
from kfworkflow.scheduling.state import (
    KEEP_LATE,
    STATE_FILE,
    STATE_FORMAT,
    StateFile,
    read_state,
    state_file,
)
from kfworkflow.scheduling.status import status_overview

__all__ = [
    "KEEP_LATE",
    "KINDS",
    "STATE_FILE",
    "STATE_FORMAT",
    "DuePeriod",
    "Kind",
    "NextRun",
    "PassEngine",
    "PassResultLike",
    "PassScheduler",
    "RetryPolicy",
    "RunRecord",
    "SessionReport",
    "StateFile",
    "Status",
    "build_scheduler",
    "cron_expression",
    "cron_trigger",
    "engine_available",
    "next_runs",
    "period_bounds",
    "read_state",
    "require_engine",
    "run_forever",
    "run_once",
    "scheduled_at",
    "standard_weekdays",
    "state_file",
    "status_overview",
]
