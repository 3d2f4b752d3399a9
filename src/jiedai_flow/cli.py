"""The ``jiedai`` command line 命令行.

Every user mistake ends with a clear message and a documented exit code, never a traceback:
0 成功 success · 1 规则拒绝或校验不通过 refused by rules, or verification failed ·
2 用法或数据错误 usage or data error · 3 冲突/状态错误 conflict or invalid state ·
4 插件或存储错误 plugin or storage error.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click
import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from jiedai_flow import demo as demo_module
from jiedai_flow.engine import DEFAULT_URL
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

DB_ENV = "JIEDAI_DB"


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

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JiedaiFlowError as error:
            _fail(str(error), exit_code(error))
        except (sa.exc.SQLAlchemyError, OSError) as error:
            url = _shown(ctx.obj["db"]) if ctx.obj else "?"
            _fail(
                f"数据库 {url} 无法使用（地址是否正确？是否已运行 jiedai db upgrade？）/ "
                f"database {url} unusable (is the URL right? did you run `jiedai db upgrade`?): "
                f"{getattr(error, 'orig', None) or error}",
                EXIT_PLUGIN,
            )


def _fail(message: str, code: int) -> None:
    Console(stderr=True).print(f"[red]错误 / error:[/red] {message}", highlight=False)
    sys.exit(code)


@click.group(cls=_Group, help="jiedai_flow 公务接待流程 — official-reception workflow.")
@click.option(
    "--db",
    "db_url",
    default=lambda: os.environ.get(DB_ENV, DEFAULT_URL),
    show_default=f"${DB_ENV} or {DEFAULT_URL}",
    help="数据库地址 database URL (SQLAlchemy), e.g. sqlite:///jiedai.db, postgresql+psycopg://…",
)
@click.version_option(package_name="jiedai-flow")
@click.pass_context
def main(ctx: click.Context, db_url: str) -> None:
    """Entry point of ``jiedai``."""
    ctx.obj = {"db": db_url}


@main.command(help="演示一次完整的公务接待 / run one complete reception as a demo.")
@click.option(
    "--here", is_flag=True, help="用 --db 指定的数据库而不是临时文件 / use --db, not a temporary file."
)
@click.pass_context
def demo(ctx: click.Context, here: bool) -> None:
    sys.exit(demo_module.run(url=ctx.obj["db"] if here else None))


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


@main.group(help="数据库 database commands.")
def db() -> None:
    """Database commands."""


@db.command("upgrade", help="创建或升级数据库结构 / create or upgrade the database schema.")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    from jiedai_flow.storage.migrate import upgrade

    url = ctx.obj["db"]
    revision = upgrade(url)
    Console().print(f"数据库已是最新结构 schema at revision {revision}: {_shown(url)}")


@main.group(help="审计 audit trail commands.")
def audit() -> None:
    """Audit commands."""


@audit.command("verify", help="校验审计链是否被篡改 / verify the tamper-evident audit chain.")
@click.pass_context
def audit_verify(ctx: click.Context) -> None:
    from jiedai_flow.storage.sql import SQLStore

    url = ctx.obj["db"]
    store = SQLStore(url, create=False)
    try:
        report = store.verify()
    finally:
        store.close()
    console = Console()
    if report.ok:
        console.print(f"[green]审计链完整[/green] audit chain intact: {report.checked} 条记录 events")
        return
    console.print(f"[red]审计链校验失败[/red] audit chain broken after {report.checked} events:")
    console.print(str(report.problem), highlight=False)
    sys.exit(EXIT_REFUSED)


def _shown(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)
