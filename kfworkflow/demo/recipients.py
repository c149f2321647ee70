"""The demo's county governments and city departments working their assignment lists.

Deterministic: whether a recipient resolves an item depends only on the item's number, its
level and whether the project's underlying trouble is one the demo scripted as a stall (land
or funds problems that no county can fix alone; those climb the ladder as they would).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from datetime import date

from kfworkflow.engine import assignments as items
from kfworkflow.engine.workspace import Workspace

# share of open items each level clears within its deadline, in percent
CLEARS = {"county": 70, "city": 55, "province": 35}
OPEN = ("new", "in_progress", "escalated", "overdue")  # not yet resolved


def _draw(number: str) -> int:
    return int(hashlib.sha256(number.encode()).hexdigest()[:8], 16) % 100


def work_assignments(workspace: Workspace, day: date, stalled: Collection[str]) -> int:
    """Resolve and close out the items their recipients clear on ``day``; returns how many."""
    cleared = []
    for item in items.list_assignments(workspace, status="open", on=day):
        if item["status"] not in OPEN or item["project"] in stalled:
            continue
        deadline = item["deadline"]
        working_day_before = deadline is not None and day >= deadline
        if not working_day_before or _draw(item["number"]) >= CLEARS.get(item["level"], 0):
            continue
        cleared.append((item["number"], f"{item['recipient']}已协调解决（{day.isoformat()}）",
                        f"{day.isoformat()} 现场核查，问题已解决"))
    return items.resolve_and_close_out(workspace, cleared) if cleared else 0
