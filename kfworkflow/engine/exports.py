"""Writing the ledger back out in the import format (Chinese headers), formula-safe."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import InputError
from kfworkflow.ledger.columns import TASK_COLUMNS, ledger_columns
from kfworkflow.ledger.tabular import XlsxSheet, write_csv, write_xlsx
from kfworkflow.storage.db import read_session
from kfworkflow.storage.models import Project, ProjectMilestone, ProjectTask


def export_ledger(workspace: Workspace, path: Path) -> int:
    suffix = path.suffix.lower()
    if suffix not in (".xlsx", ".csv"):
        raise InputError(f"{path}: unsupported export format {suffix or '(none)'}; "
                         "expected .xlsx or .csv")
    policies = workspace.policies
    columns = ledger_columns(policies.milestones)
    county_name = {c.id: c.name for c in policies.counties}
    category_name = {c.id: c.name for c in policies.categories}
    with read_session(workspace.ready_engine()) as session:
        projects = list(session.execute(select(Project).order_by(col(Project.code))).scalars())
        milestones: dict[int, dict[str, ProjectMilestone]] = {}
        for m in session.execute(select(ProjectMilestone)).scalars():
            milestones.setdefault(m.project_id, {})[m.milestone] = m
        tasks = list(session.execute(select(ProjectTask).order_by(col(ProjectTask.id))).scalars())
    code_of = {p.id: p.code for p in projects}
    rows: list[Sequence[object]] = []
    for project in projects:
        marks = milestones.get(project.id or 0, {})
        values: dict[str, Any] = {
            **{c.field: getattr(project, c.field, None) for c in columns},
            "category": category_name.get(project.category, project.category),
            "county": county_name.get(project.county, project.county),
            "state": policies.milestones.get(project.state, project.state),
        }
        for milestone, mark in marks.items():
            values[f"planned_{milestone}_on"] = mark.planned_on
            values[f"{milestone}_on"] = mark.actual_on
        rows.append([values.get(c.field) for c in columns])
    headers = [c.zh for c in columns]
    if suffix == ".csv":
        write_csv(path, headers, rows)
        return len(rows)
    task_rows: list[Sequence[object]] = [
        [code_of.get(t.project_id), t.title, t.owner, t.due_on, t.done_on] for t in tasks
    ]
    formats = {i: "yyyy-mm-dd" for i, c in enumerate(columns) if c.kind == "date"}
    formats.update({i: "#,##0.00" for i, c in enumerate(columns) if c.kind == "number"})
    write_xlsx(path, [
        XlsxSheet(title="台账", headers=headers, rows=rows, number_formats=formats),
        XlsxSheet(title="任务清单", headers=[c.zh for c in TASK_COLUMNS], rows=task_rows),
    ])
    return len(rows)
