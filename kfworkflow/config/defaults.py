"""Where the shipped default ``policies.yaml`` and ``rules/`` live.

A wheel carries them in ``kfworkflow/defaults/``; a source checkout keeps them at the top level
of the repository. Either works.
"""

from __future__ import annotations

from pathlib import Path

from kfworkflow.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parents[1]


def _find(name: str) -> Path:
    for candidate in (_PACKAGE / "defaults" / name, _PACKAGE.parent / name):
        if candidate.exists():
            return candidate
    raise ConfigError(f"the default {name} is missing from this installation "
                      f"(looked in {_PACKAGE / 'defaults'} and {_PACKAGE.parent})")


def default_policies_path() -> Path:
    return _find("policies.yaml")


def default_rules_dir() -> Path:
    return _find("rules")
