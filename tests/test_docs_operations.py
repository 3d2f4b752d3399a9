"""docs/operations.md names only commands and options that exist: every ``jiedai …`` line of its
code blocks (unit files, cron lines, shell) is read as the command line would read it."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from jiedai_flow.cli import main

PAGE = Path(__file__).resolve().parents[1] / "docs" / "operations.md"
_BLOCK = re.compile(r"```[a-z]*\n(.*?)```", re.DOTALL)
_CALL = re.compile(r"(?:^\s*|[;&]\s*|/bin/|\S+=\S+\s+)jiedai (?P<args>[^;&|#>\n]*)")
"""``jiedai`` where a command starts: a line, after ``;`` or ``&&``, a path, or a variable set for it."""


def _calls() -> list[str]:
    text = PAGE.read_text(encoding="utf-8")
    lines = [line.split("#", 1)[0] for block in _BLOCK.findall(text) for line in block.splitlines()]
    return [
        m["args"].strip()
        for line in lines
        if "systemctl" not in line
        for m in _CALL.finditer(line)
        if m["args"].strip()
    ]


def _unknown(args: list[str]) -> list[str]:
    """The words of ``args`` that are neither a subcommand nor an option of the command they follow."""
    command: click.Command = main
    unknown = []
    for word in args:
        if word.startswith("--"):
            name = word.split("=", 1)[0]
            known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
            if name not in known | {"--help"}:
                unknown.append(f"{command.name}: {name}")
        elif isinstance(command, click.Group):
            sub = command.get_command(click.Context(command), word)
            if sub is not None:
                command = sub
    if isinstance(command, click.Group):
        unknown.append(f"{command.name}: no subcommand")
    return unknown


def test_the_page_shows_the_commands_it_is_about() -> None:
    shown = {" ".join(shlex.split(call)[:2]) for call in _calls()}
    for command in (
        "serve --host",
        "db backup",
        "dispatch",
        "remind",
        "audit checkpoint",
        "calendar check",
    ):
        assert any(s.startswith(command) for s in shown), command


@pytest.mark.parametrize("call", _calls())
def test_every_command_on_the_page_exists_with_its_options(call: str) -> None:
    assert _unknown(shlex.split(call)) == []
