"""A workspace: a folder with ``policies.yaml``, ``rules/`` and (by default) ``kfw.db``."""

from __future__ import annotations

import getpass
import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path

from sqlalchemy.engine import Engine

from kfworkflow.config.defaults import default_policies_path, default_rules_dir
from kfworkflow.config.policies import Policies, load_policies
from kfworkflow.errors import ConfigError
from kfworkflow.lifecycle.milestones import MilestoneLifecycle
from kfworkflow.storage import migrate
from kfworkflow.storage.db import make_engine, resolve_url
from kfworkflow.timefmt import Clock, SystemClock, business_date
from kfworkflow.workcalendar import WorkCalendar

POLICIES_FILE = "policies.yaml"
RULES_DIR = "rules"


@dataclass
class Workspace:
    root: Path
    db: str | None = None
    actor: str = field(default_factory=lambda: os.environ.get("KFW_ACTOR") or _os_user())
    clock: Clock = field(default_factory=SystemClock)

    @property
    def policies_path(self) -> Path:
        own = self.root / POLICIES_FILE
        return own if own.exists() else default_policies_path()

    @property
    def rules_dir(self) -> Path:
        own = self.root / RULES_DIR
        return own if own.is_dir() else default_rules_dir()

    @cached_property
    def policies(self) -> Policies:
        return load_policies(self.policies_path)

    @cached_property
    def db_url(self) -> str:
        return resolve_url(self.db, self.root)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.db_url)

    @cached_property
    def lifecycle(self) -> MilestoneLifecycle:
        policies = self.policies
        return MilestoneLifecycle({c.id: c.path for c in policies.categories},
                                  {**policies.milestones})

    @cached_property
    def calendar(self) -> WorkCalendar:
        policy = self.policies.calendar
        data_file = (self.root / policy.data_file) if policy.data_file else None
        if policy.fallback == "weekends-only":
            return WorkCalendar.load(data_file, fallback="weekends-only")
        return WorkCalendar.load(data_file, fallback="error")

    def today(self) -> date:
        return business_date(self.clock.now(), self.policies.tz)

    def ready_engine(self) -> Engine:
        """The engine, after checking the schema is at the latest migration."""
        engine = self.engine
        if not migrate.is_up_to_date(engine):
            current = migrate.current_revision(engine)
            state = "not initialised" if current is None else f"at migration {current}"
            raise ConfigError(
                f"the database {engine.url.render_as_string(hide_password=True)} is {state}; "
                "run `kfw init` (new workspace) or `kfw db upgrade`"
            )
        return engine


def init_workspace(root: Path, *, db: str | None = None, force: bool = False) -> list[Path]:
    """Write the default policies and rules into ``root`` and create the database."""
    root.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    policies = root / POLICIES_FILE
    if not policies.exists() or force:
        shutil.copyfile(default_policies_path(), policies)
        written.append(policies)
    rules = root / RULES_DIR
    if not rules.exists() or force:
        shutil.copytree(default_rules_dir(), rules, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".keep", "__pycache__"))
        written.append(rules)
    workspace = Workspace(root, db=db)
    workspace.policies  # noqa: B018  (fail early on an invalid policies.yaml)
    migrate.upgrade(workspace.engine)
    return written


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"
