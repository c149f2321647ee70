"""The catch-up rounds: every due period runs once, in schedule order, with retries."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import ConfigError, PassBusyError
from kfworkflow.scheduling import passes_engine
from kfworkflow.scheduling.cron import KINDS, Kind, cron_trigger, scheduled_at
from kfworkflow.scheduling.passes_engine import PassEngine
from kfworkflow.scheduling.records import DuePeriod, RunRecord, SessionReport, Status
from kfworkflow.scheduling.state import StateFile, state_file
from kfworkflow.timefmt import business_date, to_utc

log = logging.getLogger("kfworkflow.scheduler")  # one logger for the whole scheduler

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    tries: int = 3
    backoff_seconds: float = 60.0  # before the second try; doubles for each further try

    def __post_init__(self) -> None:
        if self.tries < 1:
            raise ConfigError(f"tries must be at least 1, not {self.tries}")
        if self.backoff_seconds < 0:
            raise ConfigError(f"backoff must not be negative, not {self.backoff_seconds}")

    def delay(self, failed_tries: int) -> float:
        return float(self.backoff_seconds * 2 ** (failed_tries - 1))


class PassScheduler:
    """Runs every due pass once, in schedule order; the clock is the workspace's.

    ``wait(seconds)`` sleeps between retries and answers True when a stop was requested
    meanwhile; tests pass one that returns at once.
    """

    def __init__(self, workspace: Workspace, *, engine: PassEngine | None = None,
                 retry: RetryPolicy | None = None,
                 wait: Callable[[float], bool] | None = None,
                 state: StateFile | None = None) -> None:
        self.workspace = workspace
        self.policies = workspace.policies
        self.engine: PassEngine = engine or passes_engine.PassesEngine()
        self.retry = retry or RetryPolicy()
        self.state = state or state_file(workspace)
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._round = threading.Lock()
        self._failed: set[tuple[str, str]] = set()
        self.triggers = {kind: cron_trigger(self.policies, kind) for kind in KINDS}
        self.grace = timedelta(hours=self.policies.schedules.catch_up_grace_hours)
        self.report = SessionReport(started_at=to_utc(workspace.clock.now()))

    # stopping

    def request_stop(self, reason: str) -> None:
        if not self._stop.is_set():
            self.report.stop_reason = reason
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait_for_stop(self, timeout: float) -> bool:
        return self._stop.wait(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """True once no round is running (waits at most ``timeout`` seconds)."""
        if not self._round.acquire(timeout=timeout):
            return False
        self._round.release()
        return True

    # what is due

    def due_now(self, now: datetime) -> list[DuePeriod]:
        """Periods without a pass whose scheduled time has come, in the order they were due."""
        today = business_date(now, self.policies.tz)
        due: list[DuePeriod] = []
        for kind, as_of in self.engine.due_periods(self.workspace, today):
            due_at = scheduled_at(self.policies, kind, as_of, self.triggers[kind])
            if due_at <= now:
                due.append(DuePeriod(kind, as_of, self.engine.period_key(kind, as_of), due_at))
        due.sort(key=lambda period: period.due_at)  # stable: the engine's order breaks ties
        return due

    # running

    def catch_up(self, *, retry_failed: bool = True) -> list[RunRecord]:
        """One round: run every due period in order; stop at a failure or a busy period.

        ``retry_failed=False`` (the periodic re-check) stops at a period that already failed
        all its tries in this process: that one waits for the next schedule fire.
        """
        with self._round:
            if self.stopping:
                return []
            listed, tries, error = self._with_retries(
                "listing the due periods",
                lambda: self.due_now(to_utc(self.workspace.clock.now())))
            if listed is None:
                message = f"could not list the due periods after {tries} tries: {error}"
                log.error(message)
                self.report.errors.append(message)
                self.state.record_error(message, self.workspace.clock.now())
                return []
            if listed:
                log.info("due: %s", ", ".join(f"{p.kind} {p.period_key}" for p in listed))
            done: list[RunRecord] = []
            for period in listed:
                if self.stopping:
                    log.info("stop requested: not starting %s %s", period.kind,
                             period.period_key)
                    break
                if not retry_failed and (period.kind, period.period_key) in self._failed:
                    log.debug("%s %s failed before: waiting for the next schedule fire",
                              period.kind, period.period_key)
                    break
                record = self._run(period)
                done.append(record)
                self.report.records.append(record)
                self.state.record(record, self.workspace.clock.now())
                if record.status == "failed":
                    self._failed.add((period.kind, period.period_key))
                else:
                    self._failed.discard((period.kind, period.period_key))
                if record.status in ("busy", "failed"):
                    break
            return done

    def on_fire(self, kind: Kind | None = None) -> None:
        """An APScheduler job: a schedule fired (``kind``) or the periodic re-check (None);
        either way, catch everything up."""
        if self.stopping:
            return
        if kind is not None:
            log.info("%s schedule fired", kind)
        try:
            self.catch_up(retry_failed=kind is not None)
        except Exception:  # a scheduler must outlive any one round
            log.exception("a catch-up round failed")

    def _run(self, period: DuePeriod) -> RunRecord:
        started = to_utc(self.workspace.clock.now())
        late = started - period.due_at > self.grace
        label = f"{period.kind} {period.period_key}"
        if late:
            log.warning("late: %s was due %s, running %.1f h after it", label,
                        period.due_at.astimezone(self.policies.tz).isoformat(timespec="minutes"),
                        (started - period.due_at).total_seconds() / 3600)

        def outcome(status: Status, *, tries: int = 1, error: str | None = None,
                    run_id: object = None) -> RunRecord:
            return RunRecord(period.kind, period.period_key, period.as_of, status,
                             period.due_at, started, late=late and status != "already_done",
                             tries=tries, error=error, run_id=run_id)

        try:
            result, tries, error = self._with_retries(
                label, lambda: self.engine.run_pass(self.workspace, period.kind, period.as_of))
        except PassBusyError as exc:
            log.info("%s skipped: already running (%s)", label, exc)
            return outcome("busy", error=str(exc))
        if result is None:
            log.error("%s failed after %d tries: %s", label, tries, error)
            return outcome("failed", tries=tries, error=error)
        if result.status == "already_done":
            log.info("%s already done (another scheduler or `kfw pass` ran it)", label)
            return outcome("already_done", tries=tries, run_id=result.run_id)
        log.info("ran %s (run %s)%s", label, result.run_id, ", late" if late else "")
        return outcome("succeeded", tries=tries, run_id=result.run_id)

    def _with_retries(self, label: str, action: Callable[[], T]) -> tuple[T | None, int, str]:
        """``(result, tries, "")`` or ``(None, tries, last error)``; PassBusyError propagates."""
        error = ""
        for attempt in range(1, self.retry.tries + 1):
            try:
                return action(), attempt, ""
            except PassBusyError:
                raise
            except Exception as exc:  # any failure is retried, then reported; never fatal
                error = f"{type(exc).__name__}: {exc}"
                if attempt == self.retry.tries:
                    log.debug("%s: last try failed", label, exc_info=True)
                    return None, attempt, error
                delay = self.retry.delay(attempt)
                log.warning("%s failed (try %d of %d): %s; retrying in %.0f s", label, attempt,
                            self.retry.tries, error, delay)
                if self._wait(delay):
                    return None, attempt, error + " (stopped before the next try)"
        return None, self.retry.tries, error
