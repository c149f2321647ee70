"""The names a pass gives its units (county, task force, category) and its light colours."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kfworkflow.config.policies import Policies

COLOR_RANK = {"green": 0, "yellow": 1, "red": 2}
OVERALL = "overall"

Facts = dict[str, Any]


def worst(colors: Iterable[str]) -> str | None:
    found = [c for c in colors if c in COLOR_RANK]
    return max(found, key=COLOR_RANK.__getitem__) if found else None


class Units:
    """County, task-force and category names of the policies a pass runs under."""

    def __init__(self, policies: Policies) -> None:
        self.county_names = {c.id: c.name for c in policies.counties}
        self.governments = {c.id: c.government for c in policies.counties}
        self.task_forces = {t.id: t for t in policies.task_forces}
        self.categories = {c.id: c for c in policies.categories}
        self.problem_types = {p.id: p.name for p in policies.problem_types}

    def unit_facts(self, county: str, category: str, task_force: str) -> Facts:
        force = self.task_forces.get(task_force)
        return {
            "county": county,
            "county_name": self.county_names.get(county, county),
            "county_government": self.governments.get(county, county),
            "category": category,
            "task_force": task_force,
            "task_force_name": force.name if force else task_force,
            "task_force_leads": "、".join(force.leads) if force else task_force,
        }

    def final_milestone(self, category: str) -> str | None:
        found = self.categories.get(category)
        return found.path[-1] if found else None
