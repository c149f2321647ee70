"""Scheduled passes: daily, weekly and monthly, on the cron schedules of ``policies.yaml``.

The only module that imports APScheduler (3.x), and only on first use, so that reading the
scheduler's state stays cheap. Design:

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
"""

from __future__ import annotations

import fcntl
import importlib
import json
import logging
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Literal, NamedTuple, Protocol, TypeVar, cast

from kfworkflow.config.policies import Policies
from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import ConfigError, PassBusyError
from kfworkflow.timefmt import business_date, start_of_day_utc, to_utc

log = logging.getLogger("kfworkflow.scheduler")

Kind = Literal["daily", "weekly", "monthly"]
KINDS: tuple[Kind, ...] = ("daily", "weekly", "monthly")
STATE_FILE = "scheduler-state.json"
STATE_FORMAT = 1
KEEP_LATE = 50

T = TypeVar("T")


# --- cron schedules ---------------------------------------------------------------------------

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # standard cron: 0 (or 7) = Sunday
_APS_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _weekday_number(token: str, where: str) -> int:
    if token in _CRON_DAYS:
        return _CRON_DAYS.index(token)
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token)
    raise ConfigError(f"{where}: weekday {token!r} is not 0-7 or a day name such as mon")


def standard_weekdays(field_text: str, where: str) -> str:
    """A standard-cron weekday field as APScheduler 3 day names (``'1-5'`` → ``'mon,...,fri'``).

    APScheduler 3 numbers weekdays from Monday = 0, so ``from_crontab('0 9 * * 1')`` would
    silently run on Tuesdays.
    """
    text = field_text.strip().lower()
    if text in ("*", "?"):
        return "*"
    days: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not (step_text.isdigit() and int(step_text) > 0):
            raise ConfigError(f"{where}: weekday step {step_text!r} is not a positive number")
        step = int(step_text) if slash else 1
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            first, last = base.split("-", 1)
            low, high = _weekday_number(first, where), _weekday_number(last, where)
            if high == 0 and low > 0:
                high = 7  # 'fri-sun'
            if high < low:
                raise ConfigError(f"{where}: weekday range {base!r} runs backwards")
        elif slash:
            raise ConfigError(f"{where}: weekday {item!r}: a step needs a range or '*'")
        else:
            low = high = _weekday_number(base, where)
        days.update(day % 7 for day in range(low, high + 1, step))
    # cron Sunday = 0 → APScheduler Sunday = 6
    return ",".join(_APS_DAYS[(day - 1) % 7] for day in sorted(days, key=lambda d: (d - 1) % 7))


def cron_expression(policies: Policies, kind: Kind) -> str:
    return cast(str, getattr(policies.schedules, kind))


def cron_trigger(policies: Policies, kind: Kind) -> Any:
    """The APScheduler ``CronTrigger`` of a pass kind, in the configured time zone."""
    from apscheduler.triggers.cron import CronTrigger

    expr = cron_expression(policies, kind)
    where = f"schedules.{kind} {expr!r}"
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(f"{where} is not a 5-field cron expression "
                          "(minute hour day month weekday, e.g. '0 18 * * *')")
    minute, hour, day, month, weekday = fields
    if day not in ("*", "?") and weekday not in ("*", "?"):
        raise ConfigError(f"{where} restricts both the day of the month and the weekday; cron "
                          "would fire on either, APScheduler only on both: restrict one of them")
    try:
        return CronTrigger(minute=minute, hour=hour, day="*" if day == "?" else day, month=month,
                           day_of_week=standard_weekdays(weekday, where), timezone=policies.tz)
    except ValueError as exc:
        raise ConfigError(f"{where} is not a valid cron expression: {exc}") from exc


def _next_fire(trigger: Any, at_or_after: datetime) -> datetime | None:
    fire = trigger.get_next_fire_time(None, to_utc(at_or_after))
    return None if fire is None else to_utc(fire)


class NextRun(NamedTuple):
    kind: Kind
    fire_at: datetime  # aware UTC
    business_date: date  # the fire time's date in the configured time zone


def next_runs(policies: Policies, after: datetime, days: int) -> list[NextRun]:
    """Every scheduled run strictly after ``after`` and within ``days`` days, in time order.

    Computed with APScheduler's triggers in ``policies.tz``: the server's time zone plays no part.
    """
    start = to_utc(after) + timedelta(microseconds=1)
    end = to_utc(after) + timedelta(days=days)
    runs: list[NextRun] = []
    for kind in KINDS:
        trigger = cron_trigger(policies, kind)
        fire = _next_fire(trigger, start)
        while fire is not None and fire <= end:
            runs.append(NextRun(kind, fire, business_date(fire, policies.tz)))
            fire = _next_fire(trigger, fire + timedelta(microseconds=1))
    runs.sort(key=lambda run: (run.fire_at, KINDS.index(run.kind)))
    return runs


def period_bounds(kind: Kind, as_of: date) -> tuple[date, date]:
    """First day of the period holding ``as_of`` and first day after it (day, ISO week, month)."""
    if kind == "daily":
        return as_of, as_of + timedelta(days=1)
    if kind == "weekly":
        monday = as_of - timedelta(days=as_of.weekday())
        return monday, monday + timedelta(days=7)
    first = as_of.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1)


def scheduled_at(policies: Policies, kind: Kind, as_of: date, trigger: Any = None) -> datetime:
    """When the pass of the period holding ``as_of`` is due: its cron's first fire in the period.

    A cron that does not fire inside the period makes it due at the next fire after its start.
    """
    start, _ = period_bounds(kind, as_of)
    fire = _next_fire(trigger or cron_trigger(policies, kind), start_of_day_utc(start, policies.tz))
    if fire is None:
        raise ConfigError(f"schedules.{kind} {cron_expression(policies, kind)!r} never fires")
    return fire


# --- the passes engine ------------------------------------------------------------------------

class PassResultLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def period_key(self) -> str: ...
    @property
    def as_of(self) -> date: ...
    @property
    def status(self) -> str: ...
    @property
    def run_id(self) -> object: ...


class PassEngine(Protocol):
    """What the scheduler needs from the passes engine (``kfworkflow.engine.passes``)."""

    def run_pass(self, workspace: Workspace, kind: Kind, as_of: date, *,
                 rerun: bool = False) -> PassResultLike: ...

    def due_periods(self, workspace: Workspace, until: date) -> Sequence[tuple[Kind, date]]: ...

    def period_key(self, kind: Kind, as_of: date) -> str: ...

    def list_runs(self, workspace: Workspace) -> Sequence[Any] | None:
        """The pass ledger, or None when the engine cannot list it."""
        ...


class PassesEngine:
    """The real passes engine, imported on first use (it is a layer the CLI may not need)."""

    MODULE = "kfworkflow.engine.passes"

    def module(self) -> Any:
        """The engine module; ConfigError when it is not installed."""
        try:
            return importlib.import_module(self.MODULE)
        except ModuleNotFoundError as exc:
            if exc.name != self.MODULE:
                raise
            raise ConfigError(f"the passes engine ({self.MODULE}) is not installed; the "
                              "scheduler runs its passes") from exc

    def available(self) -> bool:
        try:
            self.module()
        except ConfigError:
            return False
        return True

    def require(self) -> None:
        self.module()

    def run_pass(self, workspace: Workspace, kind: Kind, as_of: date, *,
                 rerun: bool = False) -> PassResultLike:
        return cast(PassResultLike, self.module().run_pass(workspace, kind, as_of, rerun=rerun))

    def due_periods(self, workspace: Workspace, until: date) -> Sequence[tuple[Kind, date]]:
        due = self.module().due_periods(workspace, until)
        return [(_kind(kind), as_of) for kind, as_of in due]

    def period_key(self, kind: Kind, as_of: date) -> str:
        return str(self.module().period_key(kind, as_of))

    def list_runs(self, workspace: Workspace) -> Sequence[Any] | None:
        list_runs = getattr(self.module(), "list_runs", None)
        return None if list_runs is None else list(list_runs(workspace))


def _kind(value: str) -> Kind:
    if value not in KINDS:
        raise ConfigError(f"the passes engine named an unknown pass kind {value!r}")
    return cast(Kind, value)


def require_engine(engine: PassEngine) -> None:
    """Fail fast, before any round, when the engine is missing (not a failure to retry)."""
    require = getattr(engine, "require", None)
    if callable(require):
        require()


def engine_available(engine: PassEngine) -> bool:
    """False only for an engine that says it is missing (the real one before it is installed)."""
    available = getattr(engine, "available", None)
    return bool(available()) if callable(available) else True


# --- what happened ----------------------------------------------------------------------------

Status = Literal["succeeded", "already_done", "busy", "failed"]


@dataclass(frozen=True)
class DuePeriod:
    kind: Kind
    as_of: date
    period_key: str
    due_at: datetime  # aware UTC


@dataclass(frozen=True)
class RunRecord:
    """One attempt of the scheduler at one period, after its retries."""

    kind: Kind
    period_key: str
    as_of: date
    status: Status
    due_at: datetime
    started_at: datetime
    late: bool = False
    tries: int = 1
    error: str | None = None
    run_id: object = None
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    @property
    def late_by(self) -> timedelta:
        return self.started_at - self.due_at

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "period_key": self.period_key, "as_of": self.as_of.isoformat(),
                "status": self.status, "due_at": self.due_at.isoformat(),
                "started_at": self.started_at.isoformat(), "late": self.late,
                "late_by_hours": round(self.late_by.total_seconds() / 3600, 2),
                "tries": self.tries, "error": self.error,
                "run_id": self.run_id if isinstance(self.run_id, int | str) or self.run_id is None
                else str(self.run_id),
                "host": self.host, "pid": self.pid}


@dataclass
class SessionReport:
    """What one scheduler process did, for the message it prints when it stops."""

    started_at: datetime
    records: list[RunRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # rounds that could not list due periods
    stop_reason: str | None = None

    def with_status(self, status: Status) -> list[RunRecord]:
        return [r for r in self.records if r.status == status]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.with_status("failed")

    def to_dict(self) -> dict[str, Any]:
        return {"started_at": self.started_at.isoformat(), "stop_reason": self.stop_reason,
                "ran": [r.to_dict() for r in self.with_status("succeeded")],
                "late": [r.to_dict() for r in self.with_status("succeeded") if r.late],
                "already_done": [r.to_dict() for r in self.with_status("already_done")],
                "skipped_busy": [r.to_dict() for r in self.with_status("busy")],
                "failed": [r.to_dict() for r in self.with_status("failed")],
                "errors": list(self.errors)}


# --- the state file ---------------------------------------------------------------------------

class StateFile:
    """``scheduler-state.json``: last outcome per kind, unresolved failures, recent late runs.

    Replaced atomically; read-modify-write under an exclusive lock on a sibling ``.lock`` file so
    two schedulers sharing a workspace folder do not lose each other's entries.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("cannot read %s (%s); starting from an empty scheduler state",
                        self.path, exc)
            return {}
        return data if isinstance(data, dict) else {}

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with open(self.path.with_name(self.path.name + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def update(self, change: Callable[[dict[str, Any]], None], now: datetime) -> None:
        """Apply ``change`` to the state and replace the file; a write failure is only logged."""
        try:
            with self._locked():
                data = self.read()
                data["format"] = STATE_FORMAT
                change(data)
                data["updated_at"] = to_utc(now).isoformat()
                self._replace(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
        except OSError as exc:
            log.error("cannot write the scheduler state %s: %s", self.path, exc)

    def _replace(self, text: str) -> None:
        handle, temp = tempfile.mkstemp(prefix=self.path.name, suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def record(self, record: RunRecord, now: datetime) -> None:
        if record.status == "busy":
            return  # the scheduler running that period records it
        entry = record.to_dict()

        def change(data: dict[str, Any]) -> None:
            same = (record.kind, record.period_key)
            failures = [f for f in data.get("failures", [])
                        if (f.get("kind"), f.get("period_key")) != same]
            if record.status == "failed":
                failures.append(entry)
                data["last_failure"] = entry
            else:
                data.setdefault("last", {})[record.kind] = entry
                if record.late:
                    data["late"] = [*data.get("late", []), entry][-KEEP_LATE:]
            data["failures"] = failures

        self.update(change, now)

    def record_error(self, message: str, now: datetime) -> None:
        def change(data: dict[str, Any]) -> None:
            data["last_error"] = {"at": to_utc(now).isoformat(), "error": message,
                                  "host": socket.gethostname(), "pid": os.getpid()}

        self.update(change, now)


def state_file(workspace: Workspace) -> StateFile:
    return StateFile(workspace.root / STATE_FILE)


def read_state(workspace: Workspace) -> dict[str, Any]:
    """The scheduler's state file as written (``{}`` when no scheduler has run): ``last`` per
    kind, unresolved ``failures``, ``last_failure``, recent ``late`` runs, ``last_error``."""
    return state_file(workspace).read()


# --- the scheduler ----------------------------------------------------------------------------

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
        self.engine: PassEngine = engine or PassesEngine()
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



# --- running it -------------------------------------------------------------------------------

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


# --- status -----------------------------------------------------------------------------------

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
    engine = engine or PassesEngine()
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
        fire = _next_fire(cron_trigger(policies, kind), now + timedelta(microseconds=1))
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
