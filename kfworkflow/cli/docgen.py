"""Generates docs/reference/cli.md from the commands' own help.

    python -m kfworkflow.cli.docgen > docs/reference/cli.md

A test regenerates it and fails when the checked-in file differs, so the reference never drifts.
"""

from __future__ import annotations

import sys

import click

HEADER = """# CLI reference

Generated from `kfw --help` by `python -m kfworkflow.cli.docgen`; do not edit by hand.

Exit codes: 0 ok; 1 error (`Error: ...` on stderr); 2 usage error; 3 findings (invalid rules,
failed rule tests, a broken decision log, a diverging replay); 4 the same pass period is already
running. Every command that shows data takes `--json` (stable keys).
"""


def _commands(group: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    out = [(path, group)]
    if isinstance(group, click.Group):
        for name in sorted(group.commands):
            out.extend(_commands(group.commands[name], [*path, name]))
    return out


def render(cli: click.Group) -> str:
    parts = [HEADER]
    for path, command in _commands(cli, ["kfw"]):
        ctx = click.Context(command, info_name=" ".join(path), terminal_width=100,
                            max_content_width=100)
        help_text = command.get_help(ctx)
        level = "##" if len(path) <= 2 else "###"
        parts.append(f"{level} `{' '.join(path)}`\n\n```text\n{help_text}\n```\n")
    return "\n".join(parts)


def main() -> None:
    from kfworkflow.cli.main import cli

    sys.stdout.write(render(cli))


if __name__ == "__main__":
    main()
