"""The commands of ``jiedai``, one module per group of commands 命令模块.

:mod:`~jiedai_flow.cli` builds the group and registers every command listed in :data:`COMMANDS`;
:mod:`.app` holds what they share (global options, the engine, output, exit codes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.cli_commands import (
    admin,
    delivery,
    fire,
    processes,
    receptions,
    reports,
    schemas,
    server,
    tools,
    workdays,
)

if TYPE_CHECKING:
    import click

COMMANDS: tuple[click.Command, ...] = (
    *admin.COMMANDS,
    *receptions.COMMANDS,
    *fire.COMMANDS,
    *reports.COMMANDS,
    *tools.COMMANDS,
    *delivery.COMMANDS,
    *workdays.COMMANDS,
    *processes.COMMANDS,
    *schemas.COMMANDS,
    *server.COMMANDS,
)
"""Every command of ``jiedai`` in the order ``jiedai --help`` lists them."""
