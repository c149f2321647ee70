"""What a rule decided about one subject."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class Route:
    level: str
    recipient: str
    deadline_on: date
    deadline_amount: int
    deadline_unit: str  # working_days | days

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "recipient": self.recipient,
                "deadline_on": self.deadline_on.isoformat(),
                "deadline": {self.deadline_unit: self.deadline_amount}}


@dataclass(frozen=True, slots=True)
class Decision:
    subject_kind: str
    subject_key: str
    rule_id: str
    group: str
    reason: str
    inputs: dict[str, Any]
    light: tuple[str, str] | None = None
    route: Route | None = None
    escalate: bool = False
    top_level_overdue: bool = False
    action: str | None = None

    def outcome(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.light:
            out["light"] = {"dimension": self.light[0], "color": self.light[1]}
        if self.route:
            out["route"] = self.route.to_dict()
        if self.escalate:
            out["escalate"] = True
        if self.top_level_overdue:
            out["top_level_overdue"] = True
        if self.action:
            out["action"] = self.action
        return out


# A frozen dataclass is built through ``object.__setattr__``, one call per field, which costs
# more than the rest of a simple decision. The fast path (``evaluate.fastpath``) builds the same
# object by creating it empty and setting each slot through its descriptor: equal fields, equal
# object, no other way in. ``tests/test_eval_fastpath.py`` checks the two agree.
DECISION_FIELDS: tuple[str, ...] = Decision.__slots__
DECISION_SETTERS: dict[str, object] = {
    name: Decision.__dict__[name].__set__ for name in DECISION_FIELDS
}
