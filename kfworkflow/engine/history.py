"""History facts: the lights and rule streaks of the runs that precede a pass.

``previous_light.<dim>``, ``light_streak.<dim>`` and ``streak.<rule_id>`` come from the light
and streak rows of the latest effective runs before the pass (see ``History``), so a pass's
facts never depend on the order in which the runs were made.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.engine.units import Facts
from kfworkflow.storage.engine_models import PassRun, RuleStreak, SubjectLight
from kfworkflow.storage.queries import keys_in

KIND_ORDER = {"daily": 0, "weekly": 1, "monthly": 2}


@dataclass(frozen=True)
class RunRef:
    id: int
    kind: str
    as_of: date

    @property
    def order(self) -> tuple[date, int]:
        return (self.as_of, KIND_ORDER[self.kind])


class PriorLight(NamedTuple):
    color: str
    streak: int
    since_on: date


class History:
    """Where a pass reads its history from, fixed when the pass starts.

    A dimension's previous light is the one set by the latest effective (succeeded, not
    superseded) run of a kind that sets it, among the runs preceding this pass — ordered by
    as-of date, then daily → weekly → monthly. A rule's streak comes from the latest preceding
    run of the rule's own kind. So a pass's facts never depend on the order the runs were made in.
    """

    def __init__(self, runs: Sequence[RunRef], kind: str, as_of: date,
                 light_kinds: Mapping[str, set[str]], streak_rules: Mapping[str, str]) -> None:
        here = (as_of, KIND_ORDER[kind])
        preceding = sorted((r for r in runs if r.order < here), key=lambda r: (r.order, r.id))
        latest: dict[str, RunRef] = {}
        for run in preceding:
            latest[run.kind] = run
        self.latest_by_kind = latest
        self.light_sources: dict[str, int] = {}
        for dimension, kinds in light_kinds.items():
            candidates = [latest[k] for k in kinds if k in latest]
            if candidates:
                self.light_sources[dimension] = max(candidates, key=lambda r: r.order).id
        self.streak_sources: dict[str, int] = {
            rule_id: latest[rule_kind].id for rule_id, rule_kind in streak_rules.items()
            if rule_kind in latest}
        self.tracked_rules = frozenset(streak_rules)

    @staticmethod
    def effective_runs(session: Session) -> list[RunRef]:
        rows = session.execute(select(col(PassRun.id), col(PassRun.kind), col(PassRun.as_of))
                               .where(col(PassRun.status) == "succeeded"))
        return [RunRef(int(i), str(k), a) for i, k, a in rows]

    def lights(self, session: Session, kind: str, keys: Sequence[str],
               dimensions: Iterable[str] | None = None) -> dict[str, dict[str, PriorLight]]:
        """key → dimension → the light that precedes this pass (only ``dimensions``)."""
        out: dict[str, dict[str, PriorLight]] = defaultdict(dict)
        wanted = None if dimensions is None else set(dimensions)
        if not self.light_sources or not keys or wanted == set():
            return out
        by_run: dict[int, list[str]] = defaultdict(list)
        for dimension, run_id in self.light_sources.items():
            if wanted is None or dimension in wanted:
                by_run[run_id].append(dimension)
        for run_id, run_dimensions in by_run.items():
            rows = session.connection().execute(
                select(col(SubjectLight.key), col(SubjectLight.dimension),
                       col(SubjectLight.color), col(SubjectLight.streak),
                       col(SubjectLight.since_on))
                .where(col(SubjectLight.pass_run_id) == run_id, col(SubjectLight.kind) == kind,
                       keys_in(session, col(SubjectLight.key), keys),
                       col(SubjectLight.dimension).in_(run_dimensions)))
            for key, dimension, color, streak, since_on in rows.all():
                out[key][dimension] = PriorLight(color, int(streak), since_on)
        return out

    def streaks(self, session: Session, kind: str, keys: Sequence[str]
                ) -> dict[str, dict[str, int]]:
        """key → rule id → consecutive earlier passes the rule fired in."""
        out: dict[str, dict[str, int]] = defaultdict(dict)
        if not self.streak_sources or not keys:
            return out
        by_run: dict[int, list[str]] = defaultdict(list)
        for rule_id, run_id in self.streak_sources.items():
            by_run[run_id].append(rule_id)
        for run_id, rule_ids in by_run.items():
            rows = session.connection().execute(
                select(col(RuleStreak.key), col(RuleStreak.rule_id), col(RuleStreak.streak))
                .where(col(RuleStreak.pass_run_id) == run_id, col(RuleStreak.kind) == kind,
                       keys_in(session, col(RuleStreak.key), keys),
                       col(RuleStreak.rule_id).in_(rule_ids)))
            for key, rule_id, streak in rows.all():
                out[key][rule_id] = int(streak)
        return out

    def add_facts(self, facts: Facts, lights: Mapping[str, PriorLight],
                  streaks: Mapping[str, int], dimensions: Iterable[str]) -> None:
        """History facts of ``dimensions``; a dimension no rule reads may be left out."""
        for dimension in dimensions:
            prior = lights.get(dimension)
            facts[f"previous_light.{dimension}"] = prior.color if prior else None
            facts[f"light_streak.{dimension}"] = prior.streak if prior else 0
        for rule_id in self.tracked_rules:
            facts[f"streak.{rule_id}"] = streaks.get(rule_id, 0)
