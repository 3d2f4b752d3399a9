"""The ``jiedai`` command line 命令行.

Every user mistake ends with a clear message and a documented exit code, never a traceback:
0 成功 success · 1 规则拒绝 refused by rules · 2 用法或数据错误 usage or data error ·
3 冲突/状态错误 conflict or invalid state · 4 插件或存储错误 plugin or storage error.
"""

from __future__ import annotations

import sys

import click
from rich.console import Console
from rich.table import Table

from jiedai_flow import demo as demo_module
from jiedai_flow.errors import (
    ConflictError,
    InvalidTransitionError,
    JiedaiFlowError,
    PluginError,
    RuleViolationError,
    StorageError,
)
from jiedai_flow.plugins import make_plugin_manager

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_STATE = 3
EXIT_PLUGIN = 4


def exit_code(error: JiedaiFlowError) -> int:
    """The documented exit code of an error."""
    if isinstance(error, RuleViolationError):
        return EXIT_REFUSED
    if isinstance(error, ConflictError | InvalidTransitionError):
        return EXIT_STATE
    if isinstance(error, PluginError | StorageError):
        return EXIT_PLUGIN
    return EXIT_USAGE


class _Group(click.Group):
    """Turns jiedai_flow errors into messages and exit codes instead of tracebacks."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except JiedaiFlowError as error:
            Console(stderr=True).print(f"[red]错误 / error:[/red] {error}", markup=True, highlight=False)
            sys.exit(exit_code(error))


@click.group(cls=_Group, help="jiedai_flow 公务接待流程 — official-reception workflow.")
@click.version_option(package_name="jiedai-flow")
def main() -> None:
    """Entry point of ``jiedai``."""


@main.command(help="演示一次完整的公务接待 / run one complete reception as a demo.")
def demo() -> None:
    sys.exit(demo_module.run())


@main.command(help="列出已安装的插件 / list installed plugins with their hooks.")
def plugins() -> None:
    host = make_plugin_manager()
    table = Table("插件 plugin", "发行包 distribution", "钩子 hooks")
    for info in host.plugins():
        table.add_row(info.name, info.distribution, ", ".join(info.hooks))
    console = Console()
    console.print(table)
    for failure in host.failures:
        console.print(f"[red]{failure}[/red]")
