"""The ``jiedai`` command line 命令行: the group, its global options and how errors end a run.

The commands themselves live in :mod:`jiedai_flow.cli_commands`. Every user mistake ends with a
clear message and a documented exit code, never a traceback:
0 成功 success · 1 规则拒绝或校验不通过 refused by rules, or verification failed ·
2 用法或数据错误 usage or data error · 3 冲突/状态错误 conflict or invalid state ·
4 插件或存储错误 plugin or storage error.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa

from jiedai_flow.cli_commands import COMMANDS
from jiedai_flow.cli_commands.app import (
    ACTORS_ENV,
    CALENDAR_ENV,
    CALENDAR_GLOB,
    DB_ENV,
    DEFAULT_ACTORS,
    DEFAULT_STANDARDS,
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_PLUGIN,
    EXIT_REFUSED,
    EXIT_STATE,
    EXIT_USAGE,
    STANDARDS_ENV,
    App,
    default_actors,
    default_calendar,
    default_db,
    default_standards,
    exit_code,
    fail_plain,
)
from jiedai_flow.engine import DEFAULT_URL
from jiedai_flow.errors import JiedaiFlowError

__all__ = [
    "EXIT_OK",
    "EXIT_PLUGIN",
    "EXIT_REFUSED",
    "EXIT_STATE",
    "EXIT_USAGE",
    "exit_code",
    "main",
]


class _Group(click.Group):
    """Lists commands in the order they were added, and turns jiedai_flow errors into messages and
    exit codes instead of tracebacks."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except JiedaiFlowError as error:
            app = ctx.find_object(App)
            if app is None:
                fail_plain(str(error), exit_code(error))
            app.fail(error)
        except sa.exc.SQLAlchemyError as error:
            app = ctx.find_object(App)
            url = app.shown_db if app is not None else "?"
            fail_plain(
                f"数据库 {url} 无法使用（地址是否正确？是否已运行 jiedai db upgrade？）/ "
                f"database {url} unusable (is the URL right? did you run `jiedai db upgrade`?): "
                f"{getattr(error, 'orig', None) or error}",
                EXIT_PLUGIN,
            )
        except BrokenPipeError:
            _quiet_stdout()  # the reader went away (`jiedai list | head`): nothing more to say
            sys.exit(EXIT_REFUSED)
        except OSError as error:
            fail_plain(
                f"无法访问文件或数据库 / cannot access a file or the database: {error}",
                EXIT_PLUGIN,
            )


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so Python's final flush into the closed pipe stays silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass  # no real file descriptor (a test runner's buffer)


@click.group(
    cls=_Group,
    help="jiedai_flow 公务接待流程 — official-reception workflow.\n\n"
    "先运行 jiedai init，再 jiedai new 登记接待、jiedai submit/approve … 推进流程。"
    "Start with `jiedai init`, then `jiedai new` and `jiedai submit/approve …`.",
    epilog=EXIT_CODES_HELP,
)
@click.option(
    "--db",
    "db_url",
    default=default_db,
    show_default=f"${DB_ENV} or {DEFAULT_URL}",
    help="数据库地址 database URL (SQLAlchemy), e.g. sqlite:///jiedai.db, postgresql+psycopg://…",
)
@click.option(
    "--actors",
    "actors_path",
    default=default_actors,
    show_default=f"${ACTORS_ENV} or ./{DEFAULT_ACTORS}",
    type=click.Path(dir_okay=False, path_type=Path),
    help="参与人文件（TOML，[[actor]] id, name, roles, unit, levels）/ actors file for --as.",
)
@click.option(
    "--standards",
    "standards_paths",
    multiple=True,
    default=default_standards,
    show_default=f"${STANDARDS_ENV} or ./{DEFAULT_STANDARDS} if present",
    type=click.Path(dir_okay=False, path_type=Path),
    help="本地接待标准文件（TOML 标准层，可多次给出）/ local standards layer file(s).",
)
@click.option(
    "--calendar",
    "calendar_paths",
    multiple=True,
    default=default_calendar,
    show_default=f"${CALENDAR_ENV} or ./{CALENDAR_GLOB}",
    type=click.Path(dir_okay=False, path_type=Path),
    help="放假安排文件（TOML，按国务院办公厅年度通知填写，可多次给出）/ holiday file(s) of years the "
    "package does not know yet (jiedai calendar --help).",
)
@click.option(
    "--notifiers",
    "notifiers_path",
    envvar="JIEDAI_NOTIFIERS",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="通知渠道配置（TOML：邮件、钉钉、企业微信、webhook），每个命令都按它写待发通知 / "
    "notifiers file; every command writes outbox rows for them ($JIEDAI_NOTIFIERS).",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="输出 JSON，供脚本使用 / print machine-readable JSON instead of tables.",
)
@click.version_option(package_name="jiedai-flow")
@click.pass_context
def main(
    ctx: click.Context,
    db_url: str,
    actors_path: Path,
    standards_paths: tuple[Path, ...],
    calendar_paths: tuple[Path, ...],
    notifiers_path: Path | None,
    as_json: bool,
) -> None:
    """Entry point of ``jiedai``."""
    app = App(db=db_url, actors_path=actors_path, standards_paths=tuple(standards_paths), json=as_json)
    app.notifiers_path = notifiers_path
    app.calendar_paths = tuple(calendar_paths)
    ctx.obj = app
    ctx.call_on_close(app.close)


for _command in COMMANDS:
    main.add_command(_command)
