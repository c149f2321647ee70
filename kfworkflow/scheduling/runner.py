"""Running the scheduler: once, or on the APScheduler cron jobs until SIGTERM / SIGINT."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from types import FrameType
from typing import Any

from kfworkflow.engine.workspace import Workspace
from kfworkflow.scheduling.cron import KINDS, cron_expression
from kfworkflow.scheduling.passes_engine import PassEngine, require_engine
from kfworkflow.scheduling.records import SessionReport
from kfworkflow.scheduling.scheduler import PassScheduler, RetryPolicy

log = logging.getLogger("kfworkflow.scheduler")  # one logger for the whole scheduler


def build_scheduler(scheduler: PassScheduler, recheck: timedelta | None = None) -> Any:
    """An APScheduler ``BackgroundScheduler`` with one cron job per pass kind (not started).

    One worker thread, so two rounds never overlap; misfired and coalesced runs are harmless
    because every round catches up everything that is due. ``recheck`` adds a round at that
    interval: a period skipped because it was busy elsewhere (a scheduler that then died, a long
    SQLite write) or that failed is taken up again within it, not at the next fire.
    """
    from apscheduler.executors.pool import ThreadPoolExecutor
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.interval import IntervalTrigger

    background = BackgroundScheduler(
        jobstores={"default": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(max_workers=1)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone=scheduler.policies.tz)
    for kind in KINDS:
        background.add_job(scheduler.on_fire, trigger=scheduler.triggers[kind], args=[kind],
                           id=f"pass-{kind}", name=f"{kind} pass", replace_existing=True)
    if recheck is not None and recheck > timedelta(0):
        background.add_job(scheduler.on_fire, trigger=IntervalTrigger(
            seconds=recheck.total_seconds(), timezone=scheduler.policies.tz),
            id="recheck", name="catch-up re-check", replace_existing=True)
    return background


@contextmanager
def _stop_on_signals(scheduler: PassScheduler) -> Iterator[None]:
    """SIGTERM / SIGINT: finish the running pass, start no other; a second one exits at once
    (the running pass's transaction is then rolled back by the database)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if scheduler.stopping:
            log.warning("%s again: exiting now; a running pass is rolled back", name)
            os._exit(1)  # no cleanup: the database discards the open transaction
        scheduler.request_stop(name)  # before logging: a second signal may arrive meanwhile
        log.info("%s: stopping after the running pass", name)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_once(workspace: Workspace, *, engine: PassEngine | None = None,
             retry: RetryPolicy | None = None) -> SessionReport:
    """Catch up every due period, then return (``kfw scheduler run --once``)."""
    workspace.ready_engine()
    scheduler = PassScheduler(workspace, engine=engine, retry=retry)
    require_engine(scheduler.engine)
    with _stop_on_signals(scheduler):
        scheduler.catch_up()
    return scheduler.report


def run_forever(workspace: Workspace, *, engine: PassEngine | None = None,
                retry: RetryPolicy | None = None,
                recheck: timedelta | None = timedelta(minutes=5)) -> SessionReport:
    """Catch up, then run on the schedules until SIGTERM / SIGINT (``kfw scheduler run``)."""
    workspace.ready_engine()
    scheduler = PassScheduler(workspace, engine=engine, retry=retry)
    require_engine(scheduler.engine)
    background = build_scheduler(scheduler, recheck)
    with _stop_on_signals(scheduler):
        background.start()
        try:
            # a job without a trigger runs now, in the same single worker as the cron jobs
            background.add_job(scheduler.catch_up, id="catch-up-at-start",
                               name="catch up at start")
            for job in background.get_jobs():
                if job.id.startswith("pass-"):
                    log.info("%s: %s, next at %s", job.name,
                             cron_expression(scheduler.policies, job.args[0]),
                             job.next_run_time.isoformat(timespec="minutes"))
            while not scheduler.wait_for_stop(1.0):
                pass
        finally:
            background.shutdown(wait=False)
            # wait in short steps, not in one join: a signal delivered to another thread is
            # handled only when the main thread wakes, and a second one must still force the exit
            while not scheduler.wait_idle(1.0):
                pass
    log.info("scheduler stopped (%s)", scheduler.report.stop_reason)
    return scheduler.report
