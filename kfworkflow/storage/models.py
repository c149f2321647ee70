"""Ledger tables: projects, their milestones and tasks, reports, problems, exemptions.

Events (milestone changes, field changes) are append-only rows; the current state on
``Project`` is a cache of the latest event, kept in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from kfworkflow.storage.types import UtcDateTime


def _at(nullable: bool = False) -> object:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable))


class Project(SQLModel, table=True):
    __tablename__ = "project"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    category: str = Field(max_length=40, index=True)
    batch: str | None = Field(default=None, max_length=40)
    county: str = Field(max_length=40, index=True)
    task_force: str = Field(max_length=40)
    responsible_unit: str = Field(max_length=200)
    responsible_person: str = Field(max_length=100)
    owner_unit: str | None = Field(default=None, max_length=200)
    total_investment: float
    annual_investment: float
    planned_funds: float | None = None
    state: str = Field(max_length=40)
    state_on: date | None = None
    source: str | None = Field(default=None, max_length=400)
    created_at: datetime = _at()  # type: ignore[assignment]
    updated_at: datetime = _at()  # type: ignore[assignment]


class ProjectMilestone(SQLModel, table=True):
    __tablename__ = "project_milestone"
    __table_args__ = (UniqueConstraint("project_id", "milestone"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    milestone: str = Field(max_length=40)
    planned_on: date | None = None
    actual_on: date | None = None


class ProjectTask(SQLModel, table=True):
    __tablename__ = "project_task"
    __table_args__ = (UniqueConstraint("project_id", "title"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    title: str = Field(max_length=400)
    owner: str | None = Field(default=None, max_length=100)
    due_on: date | None = None
    done_on: date | None = None


class ProjectChange(SQLModel, table=True):
    """One changed field of a project, from a re-import or an edit (append-only)."""

    __tablename__ = "project_change"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    field: str = Field(max_length=60)
    old_value: str | None = Field(default=None, sa_column=Column(Text))
    new_value: str | None = Field(default=None, sa_column=Column(Text))
    changed_at: datetime = _at()  # type: ignore[assignment]
    source: str | None = Field(default=None, max_length=400)
    actor: str = Field(max_length=100)


class MilestoneEvent(SQLModel, table=True):
    """A project's move from one milestone state to the next (append-only)."""

    __tablename__ = "milestone_event"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str = Field(max_length=40)
    occurred_on: date | None = None
    recorded_at: datetime = _at()  # type: ignore[assignment]
    actor: str = Field(max_length=100)
    source: str | None = Field(default=None, max_length=400)
    reason: str | None = Field(default=None, sa_column=Column(Text))


class DailyReport(SQLModel, table=True):
    """A county's report on one project for one date; later rows for the same date supersede."""

    __tablename__ = "daily_report"
    __table_args__ = (
        Index("ix_daily_report_project_on", "project_id", "report_on"),
        Index("ix_daily_report_county_on", "county", "report_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    county: str = Field(max_length=40)
    report_on: date
    recorded_at: datetime = _at()  # type: ignore[assignment]
    completed_investment: float | None = None
    funds_arrived: float | None = None
    funds_disbursed: float | None = None
    note: str | None = Field(default=None, sa_column=Column(Text))
    source: str | None = Field(default=None, max_length=400)
    actor: str = Field(max_length=100)


class Problem(SQLModel, table=True):
    __tablename__ = "problem"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    type: str = Field(max_length=40)
    level: str = Field(max_length=20)
    title: str = Field(sa_column=Column(Text, nullable=False))
    opened_on: date
    opened_at: datetime = _at()  # type: ignore[assignment]
    status: str = Field(default="open", max_length=20)
    resolved_on: date | None = None
    resolved_at: datetime | None = _at(nullable=True)  # type: ignore[assignment]
    resolution: str | None = Field(default=None, sa_column=Column(Text))
    source: str | None = Field(default=None, max_length=400)
    actor: str = Field(max_length=100)


class Exemption(SQLModel, table=True):
    """A valid reason (正当理由) in force from ``from_on`` until ``until_on`` or ``ended_on``."""

    __tablename__ = "exemption"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    from_on: date
    until_on: date | None = None
    ended_on: date | None = None
    recorded_at: datetime = _at()  # type: ignore[assignment]
    actor: str = Field(max_length=100)
