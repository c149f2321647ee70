"""Tables of the passes engine: pass runs, the decision log, lights, streaks, assignments,
metric snapshots and the monthly ranking.

``decision`` and ``assignment_event`` are append-only (database triggers, migration 0003).
Lights and streaks are kept per pass run, so a pass's history facts depend only on the runs
that precede it (by as-of date, then daily → weekly → monthly), never on the order runs were
made in: re-running an old period sees exactly what it saw the first time.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kfworkflow.storage.types import UtcDateTime

PASS_STATUSES = ("running", "succeeded", "failed", "superseded")


class PassRun(SQLModel, table=True):
    __tablename__ = "pass_run"
    __table_args__ = (Index("ix_pass_run_kind_period", "kind", "period_key"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # daily | weekly | monthly
    period_key: str = Field(max_length=12)  # 2022-11-21 | 2022-W47 | 2022-11
    as_of: date = Field(index=True)
    revision: str | None = Field(default=None, max_length=64)
    calendar_version: str | None = Field(default=None, max_length=120)
    status: str = Field(max_length=12)
    counts: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # JSON
    started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    finished_at: datetime | None = Field(default=None,
                                         sa_column=Column(UtcDateTime(), nullable=True))
    duration_ms: int | None = None
    supersedes_id: int | None = Field(default=None, foreign_key="pass_run.id")
    actor: str = Field(max_length=100)
    error: str | None = Field(default=None, sa_column=Column(Text))


class Decision(SQLModel, table=True):
    """One decision of a pass: the hash-chained, append-only log (format 1)."""

    __tablename__ = "decision"
    __table_args__ = (Index("ix_decision_subject", "subject_kind", "subject_key"),)

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    format: int = 1
    pass_run_id: int = Field(foreign_key="pass_run.id", index=True)
    subject_kind: str = Field(max_length=20)
    subject_key: str = Field(max_length=64)
    as_of: date = Field(index=True)
    rule_id: str = Field(max_length=80)
    revision: str = Field(max_length=64)
    calendar_version: str = Field(max_length=120)
    inputs: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    outcome: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    reason: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class SubjectLight(SQLModel, table=True):
    """A subject's colour in one dimension as set by one pass run."""

    __tablename__ = "subject_light"
    __table_args__ = (
        UniqueConstraint("pass_run_id", "kind", "key", "dimension"),
        Index("ix_subject_light_subject", "kind", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pass_run_id: int = Field(foreign_key="pass_run.id")
    kind: str = Field(max_length=20)
    key: str = Field(max_length=64)
    dimension: str = Field(max_length=40)
    color: str = Field(max_length=10)
    since_on: date  # first as-of date of the current run of this colour
    streak: int  # consecutive passes with this colour, this one included


class RuleStreak(SQLModel, table=True):
    """How many consecutive passes of its kind a rule has fired for a subject (this one
    included); kept only for rules some rule reads with ``streak('rule_id')``."""

    __tablename__ = "rule_streak"
    __table_args__ = (
        UniqueConstraint("pass_run_id", "kind", "key", "rule_id"),
        Index("ix_rule_streak_subject", "kind", "key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    pass_run_id: int = Field(foreign_key="pass_run.id")
    kind: str = Field(max_length=20)
    key: str = Field(max_length=64)
    rule_id: str = Field(max_length=80)
    streak: int
    last_period: str = Field(max_length=12)


class Assignment(SQLModel, table=True):
    """An assigned item (交办事项); its current state. Every change is an AssignmentEvent."""

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_subject", "subject_kind", "subject_key", "rule_id"),)

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=20, unique=True)  # 2022-W47-0003
    subject_kind: str = Field(max_length=20)  # project | problem
    subject_key: str = Field(max_length=64)
    project_code: str = Field(max_length=64, index=True)
    county: str = Field(max_length=40, index=True)
    category: str = Field(max_length=40)
    task_force: str = Field(max_length=40)
    rule_id: str = Field(max_length=80)
    level: str = Field(max_length=20, index=True)  # county | city | province
    recipient: str = Field(max_length=400)
    responsible_person: str | None = Field(default=None, max_length=100)
    assigned_on: date  # at the current level
    deadline_on: date
    status: str = Field(max_length=20, index=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    escalations: int = 0
    parent_id: int | None = Field(default=None, foreign_key="assignment.id")  # first of chain
    reopened_from_id: int | None = Field(default=None, foreign_key="assignment.id")
    pass_run_id: int | None = Field(default=None, foreign_key="pass_run.id")
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    resolution_note: str | None = Field(default=None, sa_column=Column(Text))
    evidence: str | None = Field(default=None, sa_column=Column(Text))


class AssignmentEvent(SQLModel, table=True):
    """One change of an assignment (append-only)."""

    __tablename__ = "assignment_event"

    id: int | None = Field(default=None, primary_key=True)
    assignment_id: int = Field(foreign_key="assignment.id", index=True)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    level: str = Field(max_length=20)
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    actor: str = Field(max_length=100)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    pass_run_id: int | None = Field(default=None, foreign_key="pass_run.id", index=True)
    decision_id: int | None = Field(default=None, foreign_key="decision.id")
    deadline_on: date | None = None


class MetricSnapshot(SQLModel, table=True):
    __tablename__ = "metric_snapshot"
    __table_args__ = (UniqueConstraint("pass_run_id", "scope_kind", "scope_key"),)

    id: int | None = Field(default=None, primary_key=True)
    pass_run_id: int = Field(foreign_key="pass_run.id")
    as_of: date = Field(index=True)
    scope_kind: str = Field(max_length=20)  # county | task_force | category | total
    scope_key: str = Field(max_length=64)
    metrics: str = Field(sa_column=Column(Text, nullable=False))  # JSON


class Ranking(SQLModel, table=True):
    __tablename__ = "ranking"
    __table_args__ = (UniqueConstraint("pass_run_id", "county"),)

    id: int | None = Field(default=None, primary_key=True)
    pass_run_id: int = Field(foreign_key="pass_run.id")
    period: str = Field(max_length=12, index=True)
    county: str = Field(max_length=40)
    score: float | None = None
    rank: int | None = None
    rank_change: int | None = None
    breakdown: str = Field(sa_column=Column(Text, nullable=False))  # JSON
