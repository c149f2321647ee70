"""What a pass does to the assignment list (交办事项).

Routed decisions become items — never twice in one period, and never beside an open item for
the same subject and rule; a closed-out item whose condition recurs is reopened as a new item
linked to the old one. Escalation decisions move an item up the ladder with a new deadline, or
mark it overdue at the top. Every change is an appended ``AssignmentEvent``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import Select, Table, bindparam, select
from sqlmodel import Session, col

from kfworkflow.engine.assignments import last_sequence, week_prefix
from kfworkflow.evaluate.decision import Decision
from kfworkflow.lifecycle.assignments import CLOSED_OUT, LIFECYCLE, NEW, OVERDUE
from kfworkflow.storage.bulk import bulk_insert, reserve_ids
from kfworkflow.storage.decision_log import Appended
from kfworkflow.storage.driver_select import DriverSelect
from kfworkflow.storage.engine_models import Assignment, AssignmentEvent
from kfworkflow.storage.queries import keys_in, keys_param, keys_value

_KIND, _KEYS = "subject_kind", "subject_keys"


class AssignmentWriter:
    """Creates and escalates the items of one pass run, inside its transaction."""

    def __init__(self, session: Session, *, run_id: int, period_runs: set[int], as_of: date,
                 now: Any, actor: str, counts: Counter[str]) -> None:
        """``period_runs``: every run of this pass's period (this one and those it
        supersedes): what they did is not done again."""
        self.session = session
        self.run_id = run_id
        self.period_runs = period_runs
        self.as_of = as_of
        self.now = now
        self.actor = actor
        self.counts = counts
        self._next_number: dict[str, int] = {}
        self._items_select: DriverSelect | None = None

    def assign(self, subject_kind: str, fired: Sequence[tuple[Decision, Appended]],
                facts: Mapping[str, Mapping[str, Any]]) -> None:
        routed = [(d, a) for d, a in fired if d.route is not None and not d.escalate]
        if not routed:
            return
        keys = sorted({d.subject_key for d, _ in routed})
        existing: dict[tuple[str, str], list[tuple[int, str, str, int | None, int | None]]] = (
            defaultdict(list))
        for found in self._items_of(subject_kind, keys):
            item_id, key, rule_id, status, level, parent_id, run_id = found
            existing[(key, rule_id)].append((item_id, status, level, parent_id, run_id))
        rows: list[dict[str, Any]] = []
        reopened: list[tuple[int, str, str]] = []  # previous id, status, level
        for decision, appended in routed:
            history = existing[(decision.subject_key, decision.rule_id)]
            if any(run_id in self.period_runs for *_, run_id in history):
                self.counts["assignments_kept"] += 1  # this period created it already
                continue
            if any(status != CLOSED_OUT for _, status, *_ in history):
                self.counts["assignments_kept"] += 1  # still open: not duplicated
                continue
            route = decision.route
            assert route is not None
            subject = facts[decision.subject_key]
            previous = history[-1] if history else None
            rows.append({
                "number": self._number(), "subject_kind": subject_kind,
                "subject_key": decision.subject_key, "project_code": subject["code"],
                "county": subject["county"], "category": subject["category"],
                "task_force": subject["task_force"], "rule_id": decision.rule_id,
                "level": route.level, "recipient": route.recipient,
                "responsible_person": subject.get("responsible_person"),
                "assigned_on": self.as_of, "deadline_on": route.deadline_on, "status": NEW,
                "reason": decision.reason, "escalations": 0,
                "parent_id": (previous[3] or previous[0]) if previous else None,
                "reopened_from_id": previous[0] if previous else None,
                "pass_run_id": self.run_id, "decision_id": appended.id})
            if previous is not None:
                reopened.append((previous[0], previous[1], previous[2]))
        if not rows:
            return
        self.session.flush()
        table: Table = Assignment.__table__  # type: ignore[attr-defined]
        # ids up front, so that one executemany writes the items and their events need no
        # read-back (RETURNING in parameter order would be one INSERT per row on SQLite)
        for row, item_id in zip(rows, reserve_ids(self.session, table, len(rows)),
                                strict=True):
            row["id"] = item_id
        bulk_insert(self.session, table, rows)
        events = [self._event_row(row["id"], None, NEW, row["level"], row["reason"],
                                  row["decision_id"], row["deadline_on"]) for row in rows]
        for row in rows:
            if row["reopened_from_id"] is not None:
                previous_id, status, level = next(p for p in reopened
                                                  if p[0] == row["reopened_from_id"])
                events.append(self._event_row(
                    previous_id, status, status, level,
                    f"条件再次出现，重新交办为 {row['number']}", row["decision_id"], None))
                self.counts["assignments_reopened"] += 1
            else:
                self.counts["assignments_created"] += 1
        event_table: Table = AssignmentEvent.__table__  # type: ignore[attr-defined]
        bulk_insert(self.session, event_table, events)

    def _items_of(self, subject_kind: str, keys: Sequence[str]) -> list[Sequence[Any]]:
        """(id, subject key, rule, status, level, parent id, run id) of every item of these
        subjects, oldest first: one statement, compiled once per pass."""
        connection = self.session.connection()
        dialect = connection.dialect.name
        if self._items_select is None:
            columns: list[Any] = [Assignment.id, Assignment.subject_key, Assignment.rule_id,
                                  Assignment.status, Assignment.level, Assignment.parent_id,
                                  Assignment.pass_run_id]
            statement: Select[Any] = (
                select(*columns)
                .where(col(Assignment.subject_kind) == bindparam(_KIND),
                       keys_param(col(Assignment.subject_key), _KEYS, dialect))
                .order_by(col(Assignment.id)))
            self._items_select = DriverSelect(connection, statement)
        return self._items_select.raw_rows(connection, {
            _KIND: subject_kind, _KEYS: keys_value(dialect, keys)})

    def _number(self) -> str:
        prefix = week_prefix(self.as_of)
        if prefix not in self._next_number:
            self._next_number[prefix] = last_sequence(self.session, prefix) + 1
        number = self._next_number[prefix]
        self._next_number[prefix] = number + 1
        return f"{prefix}{number:04d}"

    def escalate(self, fired: Sequence[tuple[Decision, Appended]]) -> None:
        acting = [(d, a) for d, a in fired if d.escalate]
        if not acting:
            return
        numbers = [d.subject_key for d, _ in acting]
        items = {item.number: item for item in self.session.execute(
            select(Assignment).where(keys_in(self.session, col(Assignment.number), numbers))
        ).scalars()}
        done = {int(i) for (i,) in self.session.execute(
            select(col(AssignmentEvent.assignment_id)).where(
                col(AssignmentEvent.pass_run_id).in_(sorted(self.period_runs)),
                col(AssignmentEvent.to_status).in_(["escalated", OVERDUE])))}
        for decision, appended in acting:
            item = items[decision.subject_key]
            assert item.id is not None
            if item.id in done:
                self.counts["escalations_kept"] += 1  # this period escalated it already
                continue
            route = decision.route
            before = item.status
            if route is None:
                if before == OVERDUE:
                    continue
                item.status = LIFECYCLE.apply(before, "mark_overdue")
                self._event(item.id, before, item.status, item.level, decision.reason,
                            appended.id, item.deadline_on)
                self.counts["overdue"] += 1
            else:
                item.status = LIFECYCLE.apply(before, "escalate")
                item.level = route.level
                item.recipient = route.recipient
                item.assigned_on = self.as_of
                item.deadline_on = route.deadline_on
                item.escalations += 1
                self._event(item.id, before, item.status, route.level, decision.reason,
                            appended.id, route.deadline_on)
                self.counts["escalated"] += 1
            self.session.add(item)
        self.session.flush()

    def _event(self, assignment_id: int, before: str | None, after: str, level: str,
               reason: str | None, decision_id: int | None, deadline_on: date | None) -> None:
        self.session.add(AssignmentEvent(**self._event_row(
            assignment_id, before, after, level, reason, decision_id, deadline_on)))

    def _event_row(self, assignment_id: int, before: str | None, after: str, level: str,
                   reason: str | None, decision_id: int | None, deadline_on: date | None
                   ) -> dict[str, Any]:
        return {"assignment_id": assignment_id, "from_status": before, "to_status": after,
                "level": level, "at": self.now, "actor": self.actor, "reason": reason,
                "pass_run_id": self.run_id, "decision_id": decision_id,
                "deadline_on": deadline_on}
