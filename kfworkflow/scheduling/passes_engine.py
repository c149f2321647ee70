"""What the scheduler needs from the passes engine, and the real one, imported on first use.

The scheduler's modules look the real engine up as ``passes_engine.PassesEngine``, so a test
replaces it here, in one place.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import date
from typing import Any, Protocol, cast

from kfworkflow.engine.workspace import Workspace
from kfworkflow.errors import ConfigError
from kfworkflow.scheduling.cron import KINDS, Kind


class PassResultLike(Protocol):
    @property
    def kind(self) -> str: ...
    @property
    def period_key(self) -> str: ...
    @property
    def as_of(self) -> date: ...
    @property
    def status(self) -> str: ...
    @property
    def run_id(self) -> object: ...


class PassEngine(Protocol):
    """What the scheduler needs from the passes engine (``kfworkflow.engine.passes``)."""

    def run_pass(self, workspace: Workspace, kind: Kind, as_of: date, *,
                 rerun: bool = False) -> PassResultLike: ...

    def due_periods(self, workspace: Workspace, until: date) -> Sequence[tuple[Kind, date]]: ...

    def period_key(self, kind: Kind, as_of: date) -> str: ...

    def list_runs(self, workspace: Workspace) -> Sequence[Any] | None:
        """The pass ledger, or None when the engine cannot list it."""
        ...


class PassesEngine:
    """The real passes engine, imported on first use (it is a layer the CLI may not need)."""

    MODULE = "kfworkflow.engine.passes"

    def module(self) -> Any:
        """The engine module; ConfigError when it is not installed."""
        try:
            return importlib.import_module(self.MODULE)
        except ModuleNotFoundError as exc:
            if exc.name != self.MODULE:
                raise
            raise ConfigError(f"the passes engine ({self.MODULE}) is not installed; the "
                              "scheduler runs its passes") from exc

    def available(self) -> bool:
        try:
            self.module()
        except ConfigError:
            return False
        return True

    def require(self) -> None:
        self.module()

    def run_pass(self, workspace: Workspace, kind: Kind, as_of: date, *,
                 rerun: bool = False) -> PassResultLike:
        return cast(PassResultLike, self.module().run_pass(workspace, kind, as_of, rerun=rerun))

    def due_periods(self, workspace: Workspace, until: date) -> Sequence[tuple[Kind, date]]:
        due = self.module().due_periods(workspace, until)
        return [(_kind(kind), as_of) for kind, as_of in due]

    def period_key(self, kind: Kind, as_of: date) -> str:
        return str(self.module().period_key(kind, as_of))

    def list_runs(self, workspace: Workspace) -> Sequence[Any] | None:
        list_runs = getattr(self.module(), "list_runs", None)
        return None if list_runs is None else list(list_runs(workspace))


def _kind(value: str) -> Kind:
    if value not in KINDS:
        raise ConfigError(f"the passes engine named an unknown pass kind {value!r}")
    return cast(Kind, value)


def require_engine(engine: PassEngine) -> None:
    """Fail fast, before any round, when the engine is missing (not a failure to retry)."""
    require = getattr(engine, "require", None)
    if callable(require):
        require()


def engine_available(engine: PassEngine) -> bool:
    """False only for an engine that says it is missing (the real one before it is installed)."""
    available = getattr(engine, "available", None)
    return bool(available()) if callable(available) else True
