"""Generates docs/reference/cli.md from the commands' own help.

    python -m kfworkflow.cli.docgen > docs/reference/cli.md

A test regenerates it and fails when the checked-in file differs, so the reference never drifts.
"""

from __future__ import annotations

import inspect
import sys

import click

HEADER = """# CLI reference

Generated from the commands' own help by `python -m kfworkflow.cli.docgen`; do not edit by hand.

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


def _param_line(param: click.Parameter) -> str:
    if isinstance(param, click.Argument):
        return f"- `{param.human_readable_name}` (argument{', required' if param.required else ''})"
    assert isinstance(param, click.Option)
    names = ", ".join(f"`{opt}`" for opt in [*param.opts, *param.secondary_opts])
    kind = "" if param.is_flag else f" {param.type.name.upper()}"
    if isinstance(param.type, click.Choice):
        kind = " " + "|".join(str(c) for c in param.type.choices)
    text = f"- {names}{kind}"
    if param.help:
        text += f": {param.help}"
    if param.required:
        text += " (required)"
    return text


def render(cli: click.Group) -> str:
    """Markdown built from the commands' own docstrings and parameters (not click's formatter,
    whose layout changes between click versions)."""
    parts = [HEADER]
    for path, command in _commands(cli, ["kfw"]):
        level = "##" if len(path) <= 2 else "###"
        ctx = click.Context(command, info_name=" ".join(path))
        usage = " ".join(command.collect_usage_pieces(ctx))
        body = inspect.cleandoc(command.help or "")
        lines = [f"{level} `{' '.join(path)}`", "", f"Usage: `{' '.join(path)} {usage}`", ""]
        if body:
            lines += [body, ""]
        params = [p for p in command.params if p.name not in ("help",)]
        if params:
            lines += [_param_line(p) for p in params]
            lines.append("")
        if isinstance(command, click.Group):
            subs = ", ".join(f"`{name}`" for name in sorted(command.commands))
            lines += [f"Commands: {subs}", ""]
        parts.append("\n".join(lines))
    return "\n".join(parts)


def main() -> None:
    from kfworkflow.cli.main import cli

    sys.stdout.write(render(cli))


if __name__ == "__main__":
    main()
