"""The ``jiedai`` command line 命令行: the group, its global options and how errors end a run.

The commands themselves live in :mod:`jiedai_flow.cli.commands`. Every run ends with a clear
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

from jiedai_flow.cli.commands import COMMANDS, TRIGGER_COMMANDS_AFTER, trigger_commands, trigger_help
from jiedai_flow.cli.common import (
    ACTORS_ENV,
    CALENDAR_ENV,
    CALENDAR_GLOB,
    CONFIG_ENV,
    CONFIG_FILE,
    DB_ENV,
    DEFAULT_ACTORS,
    DEFAULT_LANG,
    DEFAULT_LOG_LEVEL,
    DEFAULT_STANDARDS,
    DEFAULT_URL,
    EXIT_CODES_HELP,
    EXIT_INTERNAL,
    EXIT_OK,
    EXIT_PLUGIN,
    EXIT_REFUSED,
    EXIT_STATE,
    EXIT_USAGE,
    LANG_ENV,
    LANGS,
    LOG_ENV,
    LOG_LEVEL_ENV,
    LOG_LEVELS,
    NOTIFIERS_ENV,
    STANDARDS_ENV,
    current_lang,
    error_prefix,
    fail,
    lang_from_args,
    log_path,
    say,
    set_lang,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jiedai_flow.cli.app import App
    from jiedai_flow.errors import JiedaiFlowError

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


def exit_code(error: JiedaiFlowError) -> int:
    """The documented exit code of an error (:func:`jiedai_flow.cli.app.exit_code`)."""
    from jiedai_flow.cli.app import exit_code as code_of  # why: every error class; --help needs none

    return code_of(error)


_log = logging.getLogger("jiedai.internal-errors")
"""Where an internal error's traceback goes: only to the log file (:func:`_write_log`), never to
the screen — so it is outside the ``jiedai_flow`` logger that ``-v`` shows on stderr."""
_log.propagate = False


class _Group(click.Group):
    """The ``jiedai`` group: loads a command's module only when the command runs (the table is
    :data:`~jiedai_flow.cli.COMMANDS`), shows click's usage errors in this run's language,
    and turns every other error into a message and an exit code instead of a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = []
        for name, _where, _help in COMMANDS:
            names.append(name)
            if name == TRIGGER_COMMANDS_AFTER:
                names.extend(trigger_commands())
        return names + [name for name in self.commands if name not in names]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        found = self.commands.get(cmd_name)
        if found is not None:
            return found
        import importlib

        for name, where, _help in COMMANDS:
            if name == cmd_name:
                module, attribute = where.split(":")
                command = getattr(importlib.import_module(f"jiedai_flow.cli.{module}"), attribute)
                if not isinstance(command, click.Command):
                    raise TypeError(f"jiedai_flow.cli.{where} is not a click command")
                self.commands[cmd_name] = command
                return command
        if cmd_name in trigger_commands():
            from jiedai_flow.cli import fire

            for command in fire.COMMANDS:
                if command.name == cmd_name:
                    self.commands[cmd_name] = command
                    return command
        return None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``jiedai --help`` from the table, without importing any command."""
        helps = {name: text for name, _where, text in COMMANDS}
        helps |= {name: trigger_help(t) for name, t in trigger_commands().items()}
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            text = helps.get(name)
            if text is None:  # added with add_command, not through the table
                command = self.get_command(ctx, name)
                text = command.get_short_help_str(limit) if command is not None else ""
            rows.append((name, text))
        with formatter.section("命令 Commands"):
            formatter.write_dl(rows)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        given = args[0] if args else kwargs.get("args")
        argv = list(given) if given is not None else sys.argv[1:]
        wanted = lang_from_args(argv) or os.environ.get(LANG_ENV, "").lower()
        set_lang(wanted if wanted in LANGS else DEFAULT_LANG)  # click's own errors speak it already
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
        except BrokenPipeError:
            _quiet_stdout()  # the reader went away (`jiedai list | head`): nothing more to say
            sys.exit(EXIT_REFUSED)
        except Exception as error:
            _end(ctx, error)


def _end(ctx: click.Context, error: Exception) -> NoReturn:
    """End the run on ``error``: a message in this run's language and the documented exit code."""
    from jiedai_flow.errors import JiedaiFlowError

    app = _app_of(ctx)
    _driver_missing(app, error)
    if isinstance(error, JiedaiFlowError):
        if app is None:  # before the run's App: a mistake in jiedai.toml or a setting
            from rich.console import Console

            from jiedai_flow.cli.render import print_error

            print_error(Console(stderr=True, highlight=False), error)  # in this run's language
            sys.exit(exit_code(error))
        app.fail(error)
    sa = sys.modules.get("sqlalchemy.exc")  # why: loaded if SQLAlchemy raised it; not imported for this
    if sa is not None and isinstance(error, sa.SQLAlchemyError):
        _database_unusable(app, getattr(error, "orig", None) or error)
    if isinstance(error, OSError):
        _storage_failed(app, "无法访问文件或数据库：", "cannot access a file or the database:", f" {error}")
    if _from_database(app, error):
        _database_unusable(app, error)
    internal_error(error, app, f"{ctx.command_path} {ctx.invoked_subcommand or ''}".strip())


def _storage_failed(app: App | None, zh: str, en: str, detail: str) -> NoReturn:
    """A file or the database failed under the command (exit 4): as the run's other errors are
    reported, so ``--json`` gets its ``{"error": …}`` object too."""
    if app is None:
        fail(zh, en, EXIT_PLUGIN, detail)
    from jiedai_flow.errors import StorageError

    app.fail(StorageError(zh + detail, en + detail))


def _app_of(ctx: click.Context) -> App | None:
    if ctx.obj is None:
        return None
    from jiedai_flow.cli.app import App

    return ctx.find_object(App)


def _database_unusable(app: App | None, error: BaseException) -> NoReturn:
    url = app.shown_db if app is not None else "?"
    _storage_failed(
        app,
        f"数据库 {url} 无法使用（地址是否正确？是否已运行 jiedai db upgrade？）：",
        f"database {url} unusable (is the URL right? did you run `jiedai db upgrade`?):",
        f" {error}",
    )


DRIVERS = {
    "psycopg": "postgresql",
    "psycopg2": "postgresql",
    "pg8000": "postgresql",
    "asyncpg": "postgresql",
    "pymysql": "mysql",
    "MySQLdb": "mysql",
    "mysql": "mysql",
    "mariadb": "mysql",
}
"""Database driver modules and the extra of ``jiedai-flow`` that installs a driver for that database."""


def _driver_missing(app: App | None, error: BaseException) -> None:
    """End the run when ``error`` is, or was raised from, a missing database driver: say which
    extra installs one."""
    seen: set[int] = set()
    found: BaseException | None = error
    while found is not None and not isinstance(found, ImportError) and id(found) not in seen:
        seen.add(id(found))
        found = found.__cause__ or found.__context__
    if not isinstance(found, ImportError):
        return
    module = (found.name or "").split(".")[0]
    extra = DRIVERS.get(module)
    if extra is None:
        return
    url = app.shown_db if app is not None else "?"
    scheme = {"postgresql": "postgresql+psycopg://…", "mysql": "mysql+pymysql://…"}[extra]
    fail(
        f"数据库 {url} 需要驱动 {module}，但没有安装。"
        f'请运行：pip install "jiedai-flow[{extra}]"（地址写作 {scheme}）',
        f"database {url} needs the driver {module}, which is not installed. Run: "
        f'pip install "jiedai-flow[{extra}]" (and write the URL as {scheme})',
        EXIT_PLUGIN,
    )


def _from_database(app: App | None, error: Exception) -> bool:
    """Whether ``error`` is the database driver's own (PEP 249), raised past SQLAlchemy."""
    engine = app.opened_engine if app is not None else None
    sql = getattr(getattr(engine, "store", None), "db", None)
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
    fail(zh, en, EXIT_INTERNAL)


def _write_log(error: BaseException, command: str) -> str:
    """Append the traceback to :func:`~jiedai_flow.cli.app.log_path`; return where it went.
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
        return say(self.message_zh, self.message_en)

    def show(self, file: IO[Any] | None = None) -> None:
        app = _app_of(self.ctx) if self.ctx is not None else None
        if app is not None and app.json:
            error = {"code": "usage", "exit_code": self.exit_code}
            app.emit({"error": error | {"message_zh": self.message_zh, "message_en": self.message_en}})
            return
        if self.ctx is not None:
            command = self.ctx.command_path
            help_line = say(f"用 {command} --help 查看帮助", f"Try '{command} --help' for help.")
            usage = self.ctx.get_usage().removeprefix("Usage: ")
            usage = {"zh": "用法：", "en": "Usage: "}.get(current_lang(), "用法 Usage: ") + usage
            click.echo(f"{usage}\n{help_line}\n", file=file, err=True)
        click.echo(f"{error_prefix()}{self.format_message()}", file=file, err=True)


def _bilingual(error: click.UsageError) -> tuple[str, str]:
    """What ``error`` says in Chinese and in English; one text twice when it has both already
    (a command's own ``BadParameter``)."""
    english = error.format_message()
    hint = _hint(error)
    zh, en = getattr(error, "message_zh", None), getattr(error, "message_en", None)
    if isinstance(zh, str) and isinstance(en, str):  # a command's own, in both languages (BadValue)
        return (f"{hint} 的值无效：{zh}", f"Invalid value for {hint}: {en}") if hint else (zh, en)
    if _CJK.search(english):
        ours = (
            f"{hint} 的值无效：{error.message}" if isinstance(error, click.BadParameter) and hint else english
        )
        return ours, ours
    if isinstance(error, click.MissingParameter):
        kind = error.param_type or (error.param.param_type_name if error.param is not None else "")
        return f"缺少{_KINDS.get(kind, '参数')} {hint}".rstrip(), english
    if isinstance(error, click.NoSuchOption):
        root = error.ctx.find_root() if error.ctx is not None else None
        if root is not None and root is not error.ctx:
            names = {n for p in root.command.params for n in (*p.opts, *p.secondary_opts)}
            if error.option_name in names:  # `jiedai show X --db URL`: an option of jiedai itself
                command = error.ctx.command_path.removeprefix(root.command_path).strip() if error.ctx else ""
                where = f"{root.command_path} {error.option_name} … {command} …"
                return (
                    f"{error.option_name} 是 jiedai 本身的选项，请写在命令名之前：{where}",
                    f"{error.option_name} is an option of jiedai itself; put it before the command: {where}",
                )
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
    "Start with `jiedai init`, then `jiedai new` and `jiedai submit/approve …`.\n\n"
    f"设置的来源依次为：命令行选项、环境变量、配置文件 {CONFIG_FILE}、默认值。"
    f"Settings come from the option, else its environment variable, else {CONFIG_FILE}, else the default.",
    epilog=EXIT_CODES_HELP,
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"配置文件 config file (TOML) naming the database, actors, standards, notifiers [default: "
    f"${CONFIG_ENV} or ./{CONFIG_FILE} if present].",
)
@click.option(
    "--db",
    "db_url",
    help="数据库地址 database URL (SQLAlchemy), e.g. sqlite:///jiedai.db, postgresql+psycopg://… "
    f"[default: ${DB_ENV} or {DEFAULT_URL}].",
)
@click.option(
    "--actors",
    "actors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="参与人文件（TOML，[[actor]] id, name, roles, unit, levels）/ actors file for --as "
    f"[default: ${ACTORS_ENV} or ./{DEFAULT_ACTORS}].",
)
@click.option(
    "--standards",
    "standards_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="本地接待标准文件（TOML 标准层，可多次给出）/ local standards layer file(s) "
    f"[default: ${STANDARDS_ENV} or ./{DEFAULT_STANDARDS} if present].",
)
@click.option(
    "--calendar",
    "calendar_paths",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="放假安排文件（TOML，按国务院办公厅年度通知填写，可多次给出）/ holiday file(s) of years the "
    f"package does not know yet (jiedai calendar --help) [default: ${CALENDAR_ENV} or ./{CALENDAR_GLOB}].",
)
@click.option(
    "--notifiers",
    "notifiers_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="通知渠道配置（TOML：邮件、钉钉、企业微信、webhook），每个命令都按它写待发通知 / "
    f"notifiers file; every command writes outbox rows for them [default: ${NOTIFIERS_ENV}].",
)
@click.option(
    "--lang",
    type=click.Choice(LANGS),
    help=f"输出语言：zh 中文、en 英文、both 中英 / output language [default: ${LANG_ENV} or {DEFAULT_LANG}].",
)
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="日志写到标准错误：-v 信息，-vv 调试 / log to stderr: -v info, -vv debug.",
)
@click.option(
    "--log-level",
    type=click.Choice(LOG_LEVELS, case_sensitive=False),
    help=f"日志级别 log level [default: ${LOG_LEVEL_ENV} or {DEFAULT_LOG_LEVEL}].",
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
    config_path: Path | None,
    db_url: str | None,
    actors_path: Path | None,
    standards_paths: tuple[Path, ...],
    calendar_paths: tuple[Path, ...],
    notifiers_path: Path | None,
    lang: str | None,
    verbose: int,
    log_level: str | None,
    as_json: bool,
) -> None:
    """Entry point of ``jiedai``."""
    from jiedai_flow.cli import config
    from jiedai_flow.cli.app import App

    env = os.environ
    path, asked = config.find_config(config_path, env)
    if asked and path is not None and not path.is_file():
        fail(
            f"配置文件 {path} 不存在（--config 或 ${CONFIG_ENV}）",
            f"config file {path} does not exist (--config or ${CONFIG_ENV})",
            EXIT_USAGE,
        )
    found = config.load_config(path) if path is not None else config.Config()
    if verbose:
        log_level = "debug" if verbose > 1 else "info"
    chosen = config.settings(
        database=db_url,
        actors=actors_path,
        standards=tuple(standards_paths),
        calendar=tuple(calendar_paths),
        notifiers=notifiers_path,
        lang=lang,
        log_level=log_level.lower() if log_level else None,
        config=found,
        env=env,
    )
    set_lang(chosen.lang)
    _log_to_stderr(ctx, chosen.log_level)
    app = App(db=chosen.database, actors_path=chosen.actors, standards_paths=chosen.standards, json=as_json)
    app.notifiers_path = chosen.notifiers
    app.calendar_paths = chosen.calendar
    app.config_path = chosen.config
    app.default_db = not (db_url or env.get(DB_ENV) or found.database)
    if not db_url and env.get(DB_ENV):
        app.db_source = f"${DB_ENV}"
    elif not db_url and found.database:
        app.db_source = f"{chosen.config}: database"
    ctx.obj = app
    ctx.call_on_close(app.close)


def _log_to_stderr(ctx: click.Context, level: str) -> None:
    """Send the package's log records at ``level`` and above to stderr for this run."""
    logger = logging.getLogger("jiedai_flow")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    previous = logger.level
    logger.setLevel(level.upper())
    logger.addHandler(handler)

    def restore() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    ctx.call_on_close(restore)


if __name__ == "__main__":
    main()
