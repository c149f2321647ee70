"""Alembic migrations, driven from code (no alembic.ini needed at run time)."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

if TYPE_CHECKING:  # alembic is imported only to migrate: it is slow to import
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # The engine itself is handed over (env.py reads it); URLs may hold '%', which the
    # ini-style option parser would misread.
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


@cache
def _head_from_files() -> str | None:
    """Our revisions are numbered 0001, 0002, ...: the head is the highest number."""
    found = []
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        match = re.search(r"^revision = ['\"](\d+)['\"]", path.read_text(encoding="utf-8"),
                          re.MULTILINE)
        if match:
            found.append(match.group(1))
    return max(found) if found else None


def head_revision(engine: Engine | None = None) -> str | None:
    return _head_from_files()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision()
