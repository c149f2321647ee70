"""Published rule-set versions: immutable, each with its full content."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from kfworkflow.storage.types import UtcDateTime


class RuleVersion(SQLModel, table=True):
    """One published rule set. Passes use the latest version whose ``effective_from`` is on or
    before their as-of date; a version is never changed after it is stored."""

    __tablename__ = "rule_version"

    id: int | None = Field(default=None, primary_key=True)
    revision: str = Field(max_length=64, index=True)
    effective_from: date = Field(index=True)
    published_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    actor: str = Field(max_length=100)
    note: str | None = Field(default=None, sa_column=Column(Text))
    content: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON of the rule set
    files: str = Field(sa_column=Column(Text, nullable=False))  # JSON {file name: YAML text}
    policies: str = Field(sa_column=Column(Text, nullable=False))  # policies.yaml text
