"""Docs are tested: the CLI reference is current, and every error code is documented."""

from __future__ import annotations

import re
from pathlib import Path

from kfworkflow.cli.docgen import render
from kfworkflow.cli.main import cli

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def test_cli_reference_matches_the_commands() -> None:
    current = (DOCS / "reference" / "cli.md").read_text(encoding="utf-8")
    assert current == render(cli), (
        "docs/reference/cli.md is out of date: run "
        "`python -m kfworkflow.cli.docgen > docs/reference/cli.md`")


def test_every_command_has_help_text() -> None:
    def walk(command, path):  # type: ignore[no-untyped-def]
        yield path, command
        for name, sub in getattr(command, "commands", {}).items():
            yield from walk(sub, [*path, name])

    missing = [" ".join(p) for p, c in walk(cli, ["kfw"]) if not (c.help or "").strip()]
    assert missing == []


def test_every_error_code_in_the_code_is_documented() -> None:
    used: set[str] = set()
    for path in (REPO / "kfworkflow").rglob("*.py"):
        used |= set(re.findall(r"KFW-[A-Z]\d{3}", path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"KFW-[A-Z]\d{3}",
                                (DOCS / "reference" / "errors.md").read_text(encoding="utf-8")))
    assert sorted(used - documented) == []


def test_every_relative_link_in_the_docs_resolves() -> None:
    broken = []
    for page in [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(REPO)} → {target}")
    assert broken == []
