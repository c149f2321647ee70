"""Storing and finding published rule versions."""

from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import select
from sqlmodel import Session, col

from kfworkflow.errors import NotFoundError
from kfworkflow.storage.rule_models import RuleVersion


def publish(session: Session, *, revision: str, effective_from: date, content: str,
            files: dict[str, str], policies_text: str, actor: str, now: datetime,
            note: str | None = None) -> RuleVersion:
    version = RuleVersion(revision=revision, effective_from=effective_from, published_at=now,
                          actor=actor, note=note, content=content,
                          files=json.dumps(files, ensure_ascii=False, sort_keys=True),
                          policies=policies_text)
    session.add(version)
    session.flush()
    return version


def versions(session: Session) -> list[RuleVersion]:
    return list(session.execute(select(RuleVersion).order_by(col(RuleVersion.id))).scalars())


def in_force(session: Session, on: date) -> RuleVersion:
    """The version in force on ``on``: latest effective_from ≤ on, later publication wins ties."""
    found = session.execute(
        select(RuleVersion).where(col(RuleVersion.effective_from) <= on)
        .order_by(col(RuleVersion.effective_from).desc(), col(RuleVersion.id).desc())
        .limit(1)
    ).scalars().first()
    if found is None:
        raise NotFoundError(
            f"no rule version is in force on {on}; publish one with "
            f"`kfw rules publish --effective-from {on}` (or earlier)")
    return found


def by_revision(session: Session, revision: str) -> RuleVersion:
    found = session.execute(
        select(RuleVersion).where(col(RuleVersion.revision) == revision)
        .order_by(col(RuleVersion.id))
    ).scalars().first()
    if found is None:
        raise NotFoundError(f"rule revision {revision} is not in the version store")
    return found
