"""The assignment (交办事项) lifecycle: one shared ``transitions`` machine for every item.

new → in_progress → resolved (by the recipient) → closed_out (销号, by the assigning level);
an open item can be escalated (next level, new deadline) or, at the top level, marked overdue;
a closed-out item can be reopened, which creates a new item linked to it (the old one stays
closed out).
"""

from __future__ import annotations

from dataclasses import dataclass

from transitions import Machine, MachineError

from kfworkflow.errors import TransitionError

NEW = "new"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
CLOSED_OUT = "closed_out"
ESCALATED = "escalated"
OVERDUE = "overdue"

STATUSES = (NEW, IN_PROGRESS, RESOLVED, CLOSED_OUT, ESCALATED, OVERDUE)
OPEN_STATUSES = (NEW, IN_PROGRESS, ESCALATED, OVERDUE, RESOLVED)  # not yet closed out
UNRESOLVED = (NEW, IN_PROGRESS, ESCALATED, OVERDUE)

LABELS = {NEW: "新交办", IN_PROGRESS: "办理中", RESOLVED: "已办结", CLOSED_OUT: "已销号",
          ESCALATED: "已升级", OVERDUE: "逾期"}

# event -> (sources, destination)
_MOVES: dict[str, tuple[tuple[str, ...], str]] = {
    "start": ((NEW, ESCALATED, OVERDUE), IN_PROGRESS),
    "resolve": (UNRESOLVED, RESOLVED),
    "close_out": ((RESOLVED,), CLOSED_OUT),
    "escalate": ((NEW, IN_PROGRESS, ESCALATED), ESCALATED),
    "mark_overdue": ((NEW, IN_PROGRESS, ESCALATED), OVERDUE),
    "reopen": ((CLOSED_OUT,), CLOSED_OUT),
}
EVENTS = tuple(_MOVES)


@dataclass
class _Cursor:
    state: str


class AssignmentLifecycle:
    """The legal moves of an assignment; items are plain status strings."""

    def __init__(self) -> None:
        self._machine = Machine(model=None, states=list(STATUSES), initial=NEW,
                                auto_transitions=False)
        for event, (sources, dest) in _MOVES.items():
            self._machine.add_transition(event, list(sources), dest)

    def allowed(self, status: str) -> list[str]:
        return [event for event in EVENTS if status in _MOVES[event][0]]

    def apply(self, status: str, event: str) -> str:
        """The status after ``event``; TransitionError naming the state and the allowed moves."""
        if status not in STATUSES:
            raise TransitionError(f"unknown assignment status {status!r}; known: "
                                  f"{', '.join(STATUSES)}")
        cursor = _Cursor(status)
        found = self._machine.events.get(event)
        try:
            if found is None or not found.trigger(cursor):
                raise MachineError(event)
        except MachineError:
            allowed = ", ".join(self.allowed(status)) or "none"
            raise TransitionError(
                f"cannot {event.replace('_', ' ')} an assignment that is {status} "
                f"({LABELS[status]}); allowed from {status}: {allowed}") from None
        return cursor.state


LIFECYCLE = AssignmentLifecycle()
