"""What happened: a due period, one run of it, and what a scheduler process did."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from kfworkflow.scheduling.cron import Kind

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
