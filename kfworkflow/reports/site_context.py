"""What the dashboard's pages may read, beside the three documents' contexts (``context``).

Every field is documented in ``docs/reference/report-contexts.md``, as for ``context``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from kfworkflow.reports.context import (
    AssignmentRow,
    CountyScore,
    CountyTrend,
    DailyBulletin,
    DailyRow,
    DailySection,
    DocumentInfo,
    LaggingProject,
    LevelStatusCount,
    MetricScore,
    MetricWeight,
    MissedReport,
    MonthlyRanking,
    RatePoint,
    ReviewedAssignment,
    ScorePoint,
    WeeklyList,
    WeeklyReview,
)


@dataclass(frozen=True)
class MilestoneStep:
    milestone: str
    name: str
    planned_on: date | None
    actual_on: date | None
    late_days: int | None


@dataclass(frozen=True)
class TimelineEvent:
    on: date
    kind: str
    text: str


@dataclass(frozen=True)
class ProjectTimeline:
    code: str
    name: str
    category: str
    category_name: str
    county: str
    county_name: str
    task_force: str
    task_force_name: str
    state: str
    state_name: str
    light: str | None
    responsible_unit: str
    responsible_person: str
    annual_investment: float
    completed_investment: float
    investment_completion_rate: float | None
    steps: tuple[MilestoneStep, ...]
    events: tuple[TimelineEvent, ...]


@dataclass(frozen=True)
class TaskForceInfo:
    id: str
    name: str
    leads: tuple[str, ...]
    categories: tuple[str, ...]


@dataclass(frozen=True)
class DashboardSite:
    info: DocumentInfo
    daily: DailyBulletin
    weekly: WeeklyList
    monthly: MonthlyRanking | None
    task_forces: tuple[TaskForceInfo, ...]
    projects: tuple[ProjectTimeline, ...]
    # every item not closed out on the dashboard's date (not only those on the weekly list)
    assignments: tuple[AssignmentRow, ...]


@dataclass(frozen=True)
class CountyPage:
    county: str
    county_name: str
    summary: DailyRow
    categories: tuple[DailyRow, ...]
    score: CountyScore | None
    projects: tuple[ProjectTimeline, ...]
    assignments: tuple[AssignmentRow, ...]
    lagging: tuple[LaggingProject, ...]


@dataclass(frozen=True)
class TaskForcePage:
    task_force: TaskForceInfo
    sections: tuple[DailySection, ...]
    projects: tuple[ProjectTimeline, ...]
    assignments: tuple[AssignmentRow, ...]


# Every documented context type, in the order of docs/reference/report-contexts.md.
DOCUMENTED = (
    DocumentInfo,
    DailyBulletin, DailySection, DailyRow, MissedReport, RatePoint,
    WeeklyList, WeeklyReview, ReviewedAssignment, AssignmentRow, LaggingProject,
    LevelStatusCount,
    MonthlyRanking, MetricWeight, CountyScore, MetricScore, CountyTrend, ScorePoint,
    DashboardSite, TaskForceInfo, ProjectTimeline, MilestoneStep, TimelineEvent, CountyPage,
    TaskForcePage,
)
