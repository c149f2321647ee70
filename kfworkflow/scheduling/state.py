"""``scheduler-state.json`` in the workspace: what ``kfw scheduler status`` reads."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from kfworkflow.engine.workspace import Workspace
from kfworkflow.scheduling.records import RunRecord
from kfworkflow.timefmt import to_utc

log = logging.getLogger("kfworkflow.scheduler")  # one logger for the whole scheduler

STATE_FILE = "scheduler-state.json"
STATE_FORMAT = 1
KEEP_LATE = 50


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
