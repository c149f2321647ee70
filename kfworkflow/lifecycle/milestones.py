"""Milestone paths per category: planned → ... → completed, plus the terminal ``adjusted``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from transitions import Machine, MachineError

from kfworkflow.errors import TransitionError

ADJUSTED = "adjusted"


@dataclass
class _Cursor:
    state: str


class MilestoneLifecycle:
    """The legal milestone moves of every category, one shared machine per category."""

    def __init__(self, paths: Mapping[str, Sequence[str]], labels: Mapping[str, str]) -> None:
        self._paths = {category: tuple(path) for category, path in paths.items()}
        self._labels = dict(labels)
        self._machines = {category: _build(path) for category, path in self._paths.items()}

    def path(self, category: str) -> tuple[str, ...]:
        return self._paths[category]

    def initial_state(self, category: str) -> str:
        return self._paths[category][0]

    def is_finished(self, category: str, state: str) -> bool:
        return state == ADJUSTED or state == self._paths[category][-1]

    def reached(self, category: str, state: str, milestone: str) -> bool:
        """Whether a project in ``state`` has passed ``milestone`` on its path."""
        path = self._paths[category]
        if state == ADJUSTED or milestone not in path or state not in path:
            return False
        return path.index(state) >= path.index(milestone)

    def allowed_next(self, category: str, state: str) -> list[str]:
        machine = self._machines[category]
        return [t for t in machine.get_triggers(state) if t in machine.events]

    def label(self, milestone: str) -> str:
        return self._labels.get(milestone, milestone)

    def apply(self, category: str, state: str, milestone: str, *, reason: str | None = None) -> str:
        """Return the state after ``milestone``; refuse with the allowed moves if illegal."""
        if category not in self._machines:
            raise TransitionError(f"unknown category {category!r}")
        if milestone == ADJUSTED and not (reason and reason.strip()):
            raise TransitionError("adjusting a project out (调出) needs a reason")
        cursor = _Cursor(state)
        machine = self._machines[category]
        event = machine.events.get(milestone)
        try:
            if event is None or not event.trigger(cursor):
                raise MachineError(milestone)
        except MachineError:
            raise TransitionError(self._refusal(category, state, milestone)) from None
        return cursor.state

    def check_dates(
        self,
        milestone: str,
        occurred_on: date,
        *,
        today: date,
        previous_on: date | None,
        previous_state: str,
    ) -> None:
        if occurred_on > today:
            raise TransitionError(
                f"{self.label(milestone)} ({milestone}) dated {occurred_on} is in the future "
                f"(today is {today})"
            )
        if previous_on is not None and occurred_on < previous_on:
            raise TransitionError(
                f"{self.label(milestone)} ({milestone}) dated {occurred_on} is before the previous "
                f"milestone {self.label(previous_state)} ({previous_state}) on {previous_on}"
            )

    def _refusal(self, category: str, state: str, milestone: str) -> str:
        allowed = self.allowed_next(category, state)
        allowed_text = ", ".join(f"{m} ({self.label(m)})" for m in allowed) or "none (finished)"
        known = set(self._paths[category]) | {ADJUSTED}
        if milestone not in known:
            why = f"{milestone!r} is not a milestone of category {category}"
        else:
            why = f"{milestone} ({self.label(milestone)}) cannot follow {state}"
        return (
            f"{why}; the project is in state {state} ({self.label(state)}); "
            f"allowed next: {allowed_text}"
        )


def _build(path: tuple[str, ...]) -> Machine:
    if ADJUSTED in path:
        raise ValueError(f"{ADJUSTED!r} is implicit and must not be listed in a path")
    machine = Machine(
        model=None,
        states=[*path, ADJUSTED],
        initial=path[0],
        auto_transitions=False,
    )
    for source, dest in pairwise(path):
        machine.add_transition(dest, source, dest)
    machine.add_transition(ADJUSTED, list(path[:-1]), ADJUSTED)
    return machine
