"""The one exception tree of kfworkflow.

Only the CLI turns these into text and exit codes::

    KfwError                      base; exit 1
    ├── ConfigError               policies.yaml / workspace problems
    ├── InputError                a bad input file or argument (carries Finding list)
    │   └── ImportRejectedError   an import refused as a whole (all-or-nothing)
    ├── FindingsError             checks that found problems; exit 3
    │   ├── RuleCheckError        invalid rules or policies
    │   ├── RuleTestFailedError   failed rule test cases
    │   ├── AuditBreakError       a broken decision-log chain
    │   └── ReplayDivergedError   replay diverged from the recorded decisions
    ├── CalendarError             a year the working-day calendar does not know
    ├── TransitionError           an illegal milestone or assignment transition
    ├── NotFoundError             an unknown project code, decision id, ... (also LookupError)
    └── PassBusyError             the same pass period is already running

Each error message names what was wrong, where, and what was expected.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def did_you_mean(word: Any, options: Iterable[Any], *, cutoff: float = 0.6) -> str | None:
    """The hint naming the option closest to a misspelt ``word``, if one is close enough."""
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=cutoff)
    return f"did you mean {close[0]!r}?" if close else None


@dataclass(frozen=True)
class Finding:
    """One located problem: ``file:line:col: CODE message (hint)``."""

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    column_name: str | None = None

    def location(self) -> str:
        parts = [p for p in (self.file, self.line, self.col) if p is not None]
        where = ":".join(str(p) for p in parts)
        if self.column_name:
            where += f" [{self.column_name}]"
        return where

    def __str__(self) -> str:
        where = self.location()
        text = f"{self.code} {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return f"{where}: {text}" if where else text

    def to_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "column": self.column_name,
            "hint": self.hint,
        }


class KfwError(Exception):
    """Base of every error kfworkflow raises on purpose."""

    exit_code = 1
    # more about the error as data: merged into the error object that ``--json`` prints
    details: dict[str, Any] | None = None


class ConfigError(KfwError):
    pass


class InputError(KfwError):
    """Bad input. ``findings`` lists every located problem found."""

    def __init__(self, message: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.findings = list(findings or [])


class ImportRejectedError(InputError):
    pass


class FindingsError(KfwError):
    exit_code = 3

    def __init__(self, message: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.findings = list(findings or [])


class RuleCheckError(FindingsError):
    pass


class RuleTestFailedError(FindingsError):
    pass


class AuditBreakError(FindingsError):
    pass


class ReplayDivergedError(FindingsError):
    pass


class CalendarError(KfwError):
    pass


class TransitionError(KfwError):
    pass


class NotFoundError(KfwError, LookupError):
    pass


class PassBusyError(KfwError):
    exit_code = 4
