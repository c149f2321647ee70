"""The workspace a command works on, built from the global options."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from kfworkflow.engine.workspace import Workspace

F = TypeVar("F", bound=Callable[..., Any])

pass_workspace = click.make_pass_decorator(Workspace)


def parse_day(value: str | None, param: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2022-11-30",
                                 param_hint=param) from None


class DateType(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not a date like 2022-11-30", param, ctx)


DATE = DateType()


def workspace_from(ctx: click.Context, root: Path, db: str | None, actor: str | None
                   ) -> Workspace:
    workspace = Workspace(root, db=db)
    if actor:
        workspace.actor = actor
    ctx.obj = workspace
    return workspace
