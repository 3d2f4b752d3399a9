"""The ``jiedai`` command line 命令行: the group, its global options and how errors end a run.

The commands themselves live in :mod:`jiedai_flow.cli_commands`. Every run ends with a clear
message and a documented exit code, never a traceback on the screen:
0 成功 success · 1 规则拒绝或校验不通过 refused by rules, or verification failed ·
2 用法或数据错误 usage or data error (click's own usage errors too, shown in Chinese first) ·
3 冲突/状态错误 conflict or invalid state · 4 插件或存储错误 plugin or storage error ·
5 内部错误 internal error: an exception nobody meant to raise, a bug; a short message names the
log file (``$JIEDAI_LOG``, else under the temp dir) that holds its traceback.
"""

from __future__ import annotations

import io
import logging
import os
import re
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

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
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_PLUGIN,
    EXIT_REFUSED,
    EXIT_STATE,
    EXIT_USAGE,
    LOG_ENV,
    STANDARDS_ENV,
    App,
    default_actors,
    default_calendar,
    default_db,
    default_standards,
    exit_code,
    fail_plain,
    log_path,
)
from jiedai_flow.engine import DEFAULT_URL
from jiedai_flow.errors import JiedaiFlowError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_PLUGIN",
    "EXIT_REFUSED",
    "EXIT_STATE",
    "EXIT_USAGE",
    "exit_code",
    "main",
]

_log = logging.getLogger(__name__)


class _Group(click.Group):
    """Lists commands in the order they were added, shows click's usage errors in Chinese and
    English, and turns every other error into a message and an exit code instead of a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().main(*args, **kwargs)
        except Exception as error:  # an error outside any command, e.g. while closing the store
            if not kwargs.get("standalone_mode", True):
                raise
            internal_error(error, None, "jiedai")

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            raise BilingualUsageError.of(error) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise BilingualUsageError.of(error) from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # click ends the run itself
        except JiedaiFlowError as error:
            app = ctx.find_object(App)
            if app is None:
                fail_plain(str(error), exit_code(error))
            app.fail(error)
        except sa.exc.SQLAlchemyError as error:
            _database_unusable(ctx.find_object(App), getattr(error, "orig", None) or error)
        except BrokenPipeError:
            _quiet_stdout()  # the reader went away (`jiedai list | head`): nothing more to say
            sys.exit(EXIT_REFUSED)
        except OSError as error:
            fail_plain(
                f"无法访问文件或数据库 / cannot access a file or the database: {error}",
                EXIT_PLUGIN,
            )
        except Exception as error:
            app = ctx.find_object(App)
            if _from_database(app, error):
                _database_unusable(app, error)
            internal_error(error, app, f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip())


def _database_unusable(app: App | None, error: BaseException) -> NoReturn:
    url = app.shown_db if app is not None else "?"
    fail_plain(
        f"数据库 {url} 无法使用（地址是否正确？是否已运行 jiedai db upgrade？）/ "
        f"database {url} unusable (is the URL right? did you run `jiedai db upgrade`?): {error}",
        EXIT_PLUGIN,
    )


def _from_database(app: App | None, error: Exception) -> bool:
    """Whether ``error`` is the database driver's own (PEP 249), raised past SQLAlchemy."""
    engine = app.opened_engine if app is not None else None
    sql = getattr(getattr(engine, "store", None), "engine", None)
    dbapi = getattr(getattr(sql, "dialect", None), "loaded_dbapi", None)
    base = getattr(dbapi, "Error", None)
    return isinstance(base, type) and isinstance(error, base)


def internal_error(error: BaseException, app: App | None, command: str) -> NoReturn:
    """End the run on an error nobody meant to raise (a bug): the traceback to the log, a short
    bilingual message naming the log on the screen (or a JSON error with ``--json``), exit code 5."""
    log = _write_log(error, command)
    kind = type(error).__name__
    zh = f"内部错误（{kind}）：这是程序的问题，不是你的输入或操作有误；详情见日志 {log}，报告问题时请附上"
    en = f"internal error ({kind}): a bug, not a mistake of yours; details in {log}, attach it to a report"
    if app is not None and app.json:
        app.emit(
            {
                "error": {
                    "code": "internal",
                    "exit_code": EXIT_INTERNAL,
                    "message_zh": zh,
                    "message_en": en,
                    "log": log,
                }
            }
        )
        sys.exit(EXIT_INTERNAL)
    fail_plain(f"{zh} / {en}", EXIT_INTERNAL)


def _write_log(error: BaseException, command: str) -> str:
    """Append the traceback to :func:`~jiedai_flow.cli_commands.app.log_path`; return where it went.
    The command line itself is not logged: ``--db`` may carry a password."""
    path = log_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if LOG_ENV not in os.environ and hasattr(os, "getuid") and path.parent.stat().st_uid != os.getuid():
            return f"（{path.parent} 不属于当前用户，未写入 / not owned by this user, not written）"
        handler = logging.FileHandler(path, encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        return f"（无法写入 cannot write {path}: {exc.strerror}）"
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    _log.addHandler(handler)
    try:
        _log.error("%s: internal error", command, exc_info=(type(error), error, error.__traceback__))
    finally:
        _log.removeHandler(handler)
        handler.close()
    return str(path)


# -- click's own usage errors, in Chinese first ------------------------------------------------------

_KINDS = {"argument": "参数", "option": "选项", "parameter": "参数"}

_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), zh)
    for pattern, zh in (
        (r"^No such command (?P<v>.+?)\.$", "没有命令 {v}"),
        (r"^Got unexpected extra arguments? \((?P<v>.*)\)$", "多余的参数：{v}"),
        (r"^Missing command\.$", "缺少子命令"),
        (r"^Option (?P<v>\S+) requires an argument\.$", "选项 {v} 后面要有一个值"),
        (r"^Option (?P<v>\S+) requires (?P<n>\d+) arguments\.$", "选项 {v} 后面要有 {n} 个值"),
        (r"^Option (?P<v>\S+) does not take a value\.$", "选项 {v} 不带值"),
        (r"^(?P<v>.+) is not a valid integer( range)?\.$", "{v} 不是整数"),
        (r"^(?P<v>.+) is not a valid float( range)?\.$", "{v} 不是数字"),
        (r"^(?P<v>.+) is not a valid boolean\.$", "{v} 不是是/否（true/false）"),
        (r"^(?P<v>.+) is not in the range (?P<n>.+)\.$", "{v} 不在范围 {n} 内"),
        (r"^(?P<v>.+) is not one of (?P<n>.+)\.$", "{v} 不是可选的值（可选：{n}）"),
        (r"^(?P<v>'.*') is not (?P<n>'.*')\.$", "{v} 不是可选的值（只能是 {n}）"),
        (r"^(?P<v>.+) does not match the formats? (?P<n>.+)\.$", "{v} 的格式不对，应为 {n}"),
        (r"^(?P<n>\w+) (?P<v>.+) does not exist\.$", "{v} 不存在"),
        (r"^(?P<n>\w+) (?P<v>.+) is a directory\.$", "{v} 是目录"),
        (r"^(?P<n>\w+) (?P<v>.+) is a file\.$", "{v} 是文件"),
        (r"^(?P<n>\w+) (?P<v>.+) is not (readable|writable)\.$", "{v} 无法读写"),
    )
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


class BilingualUsageError(click.UsageError):
    """One of click's usage errors (missing argument, unknown option, bad choice …) shown Chinese
    first, English after; exit code 2. With ``--json`` it is a JSON error on stdout."""

    def __init__(self, message_zh: str, message_en: str, ctx: click.Context | None) -> None:
        super().__init__(message_en, ctx)
        self.message_zh = message_zh
        self.message_en = message_en

    @classmethod
    def of(cls, error: click.UsageError) -> click.UsageError:
        """``error`` made bilingual (itself when it already is, or when it is click's help page)."""
        if isinstance(error, cls | click.exceptions.NoArgsIsHelpError):
            return error
        return cls(*_bilingual(error), error.ctx)

    def format_message(self) -> str:
        if self.message_zh == self.message_en:  # one of ours, already bilingual
            return self.message_en
        return f"{self.message_zh} / {self.message_en}"

    def show(self, file: IO[Any] | None = None) -> None:
        app = self.ctx.find_object(App) if self.ctx is not None else None
        if app is not None and app.json:
            error = {"code": "usage", "exit_code": self.exit_code}
            app.emit({"error": error | {"message_zh": self.message_zh, "message_en": self.message_en}})
            return
        if self.ctx is not None:
            command = self.ctx.command_path
            help_line = f"用 {command} --help 查看帮助 / Try '{command} --help' for help."
            click.echo(f"用法 {self.ctx.get_usage()}\n{help_line}\n", file=file, err=True)
        click.echo(f"错误 / error: {self.format_message()}", file=file, err=True)


def _bilingual(error: click.UsageError) -> tuple[str, str]:
    """What ``error`` says in Chinese and in English; one text twice when it has both already
    (a command's own ``BadParameter``)."""
    english = error.format_message()
    hint = _hint(error)
    if _CJK.search(english):
        ours = (
            f"{hint} 的值无效：{error.message}" if isinstance(error, click.BadParameter) and hint else english
        )
        return ours, ours
    if isinstance(error, click.MissingParameter):
        kind = error.param_type or (error.param.param_type_name if error.param is not None else "")
        return f"缺少{_KINDS.get(kind, '参数')} {hint}".rstrip(), english
    if isinstance(error, click.NoSuchOption):
        return f"没有选项 {error.option_name}" + _did_you_mean(error.possibilities), english
    if isinstance(error, click.BadParameter):
        detail = _translate(error.message)
        return f"{hint} 的值无效" + (f"：{detail}" if detail else ""), english
    return _translate(error.message) + _did_you_mean(getattr(error, "possibilities", None)), english


def _hint(error: click.UsageError) -> str:
    found: Sequence[str] | str | None = getattr(error, "param_hint", None)
    param = getattr(error, "param", None)
    if found is None and param is not None:
        found = param.get_error_hint(error.ctx)
    if found is None or isinstance(found, str):
        return found or ""
    return " / ".join(repr(hint) for hint in found)


def _translate(message: str) -> str:
    for pattern, zh in _MESSAGES:
        found = pattern.match(message)
        if found is not None:
            return zh.format(**{k: v or "" for k, v in found.groupdict().items()})
    return "用法错误"


def _did_you_mean(possibilities: Sequence[str] | None) -> str:
    return f"（是否想用 {'、'.join(possibilities)}？）" if possibilities else ""


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
