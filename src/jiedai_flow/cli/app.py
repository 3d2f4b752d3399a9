"""What every ``jiedai`` command shares: the global options, the engine opened once per run, the
actors file, output as rich tables or JSON (``--json``), and the documented exit codes.

Exit codes 退出码: 0 成功 ok · 1 被规则拒绝（或审计链校验失败）refused by rules, a plugin veto, or
verification failed · 2 用法或数据错误 usage or data error (bad file, unknown id, wrong actor …) ·
3 冲突或状态不允许 conflict or invalid state · 4 插件或存储错误 plugin or storage error ·
5 内部错误 internal error (a bug: the traceback goes to the log, :func:`log_path`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import attrs
import click

from jiedai_flow.cli import printable
from jiedai_flow.errors import (
    ConflictError,
    DefinitionError,
    DuplicateError,
    IdempotencyError,
    InvalidTransitionError,
    JiedaiFlowError,
    MigrationRefusedError,
    PluginError,
    Problem,
    RuleError,
    RuleViolationError,
    StorageError,
    TaskError,
    ValidationError,
    VetoError,
)
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.reports.common import ListNotFiledError, ReportsNeedSQLError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import date

    from rich.console import Console

    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.standards import StandardsLayer
    from jiedai_flow.process.engine import Engine
    from jiedai_flow.storage.sql import SQLStore

from jiedai_flow.cli.common import (
    ACTORS_ENV as ACTORS_ENV,
)
from jiedai_flow.cli.common import (
    CALENDAR_ENV as CALENDAR_ENV,
)
from jiedai_flow.cli.common import (
    CALENDAR_GLOB as CALENDAR_GLOB,
)
from jiedai_flow.cli.common import (
    CONFIG_FILE as CONFIG_FILE,
)
from jiedai_flow.cli.common import (
    DB_ENV as DB_ENV,
)
from jiedai_flow.cli.common import (
    DEFAULT_ACTORS as DEFAULT_ACTORS,
)
from jiedai_flow.cli.common import (
    DEFAULT_STANDARDS as DEFAULT_STANDARDS,
)
from jiedai_flow.cli.common import (
    EXIT_CODES_HELP as EXIT_CODES_HELP,
)
from jiedai_flow.cli.common import (
    EXIT_INTERNAL as EXIT_INTERNAL,
)
from jiedai_flow.cli.common import (
    EXIT_OK as EXIT_OK,
)
from jiedai_flow.cli.common import (
    EXIT_PLUGIN as EXIT_PLUGIN,
)
from jiedai_flow.cli.common import (
    EXIT_REFUSED as EXIT_REFUSED,
)
from jiedai_flow.cli.common import (
    EXIT_STATE as EXIT_STATE,
)
from jiedai_flow.cli.common import (
    EXIT_USAGE as EXIT_USAGE,
)
from jiedai_flow.cli.common import (
    LOG_ENV as LOG_ENV,
)
from jiedai_flow.cli.common import (
    STANDARDS_ENV as STANDARDS_ENV,
)
from jiedai_flow.cli.common import (
    fail_plain as fail_plain,
)
from jiedai_flow.cli.common import (
    log_path as log_path,
)


def usage_problem(where: str, message_zh: str, message_en: str) -> ValidationError:
    """A mistake on the command line that click cannot see (unknown actor, unknown trigger …),
    at the option or argument ``where``: a data error, exit code 2."""
    return ValidationError([Problem(where, message_zh, message_en)], source=COMMAND_LINE)


COMMAND_LINE = "命令行 command line"
"""The ``source`` of the problems :func:`usage_problem` reports."""


EXIT_CODES: tuple[tuple[int, str, tuple[type[JiedaiFlowError], ...]], ...] = (
    (EXIT_REFUSED, "被规则或插件拒绝 refused by rules or a plugin", (RuleViolationError, VetoError)),
    (
        EXIT_STATE,
        "冲突或状态不允许 conflict or invalid state",
        (
            ConflictError,
            InvalidTransitionError,
            IdempotencyError,
            DuplicateError,
            ListNotFiledError,
            MigrationRefusedError,
            TaskError,
        ),
    ),
    (
        EXIT_PLUGIN,
        "插件、规则或存储出错 plugin, rule or storage failure",
        (PluginError, StorageError, RuleError, DefinitionError, ReportsNeedSQLError),
    ),
)
"""Which errors end a run with which code; every other error is a usage or data error (2)."""


def exit_code(error: JiedaiFlowError) -> int:
    """The documented exit code of an error (:data:`EXIT_CODES`, else 2)."""
    for code, _meaning, errors in EXIT_CODES:
        if isinstance(error, errors):
            return code
    return EXIT_USAGE


class StandardsFiles:
    """The standards layers read from ``--standards`` files, contributed like a county plugin's."""

    def __init__(self, layers: Sequence[StandardsLayer]) -> None:
        self.layers = tuple(layers)

    @hookimpl
    def jiedai_standards_layers(self, jurisdiction: str, on: date) -> tuple[StandardsLayer, ...]:
        del jurisdiction, on  # resolve() picks the layers that apply
        return self.layers


@attrs.define
class App:
    """One run of ``jiedai``: the global options and what they open, lazily and once."""

    db: str
    actors_path: Path
    standards_paths: tuple[Path, ...]
    json: bool = False
    out: Console = attrs.field(factory=lambda: printable.console(highlight=False))
    err: Console = attrs.field(factory=lambda: printable.console(stderr=True, highlight=False))
    _engine: Engine | None = None
    _actors: dict[str, Actor] | None = None
    extra_plugins: list[object] = attrs.field(factory=list)
    """Plugins a command adds before the engine opens (e.g. notifiers for ``dispatch``)."""
    notifiers_path: Path | None = None
    """``--notifiers``: the notifiers every command writes outbox rows for."""
    config_path: Path | None = None
    """The ``jiedai.toml`` this run read, if any."""
    default_db: bool = False
    """No ``--db``, ``$JIEDAI_DB`` or config named the database: it is ``jiedai.db`` in this folder,
    which only ``jiedai init`` (or ``db upgrade``) creates — a command run in the wrong folder says
    so instead of leaving an empty database there."""
    db_source: str = "--db"
    """Where ``db`` was named (``--db``, ``$JIEDAI_DB``, ``jiedai.toml``), for a message about it."""
    calendar_paths: tuple[Path, ...] = ()
    """``--calendar``: holiday files of years the ``chinesecalendar`` package does not know."""
    _calendar: object | None = None
    options: dict[str, str] = attrs.field(factory=dict)
    """The running command's options by the field they fill (``$.reason`` → ``--reason``): an error
    about a field (:attr:`JiedaiFlowError.problems`) names the option to give instead."""

    def holiday_files(self) -> object:
        """The plugin answering ``jiedai_calendar`` with the ``--calendar`` files, loaded once."""
        if self._calendar is None:
            from jiedai_flow.builtin.holidays import HolidayFiles

            for path in self.calendar_paths:
                _require_file(path, "放假安排文件", "holiday file")
            self._calendar = HolidayFiles.load(self.calendar_paths)
        return self._calendar

    @property
    def shown_db(self) -> str:
        """The database URL without its password."""
        from jiedai_flow.storage.sql.opening import shown_url

        return shown_url(self.db)

    def engine(self, *, create: bool = False) -> Engine:
        """The engine on ``--db`` with the ``--standards`` layers, opened on first use. Only with
        ``create`` (``new``, ``import``, ``serve``) does it make jiedai's tables in a database that
        has none (:meth:`_need_schema`); one at an older revision is upgraded either way."""
        if self._engine is None:
            from jiedai_flow.domain.standards_toml import load_standards_file
            from jiedai_flow.process.engine import open_engine

            layers = []
            for path in self.standards_paths:
                _require_file(path, "标准文件", "standards file")
                layers.append(load_standards_file(path))
            plugins: list[object] = [("jiedai.cli.standards", StandardsFiles(layers))]
            if self.calendar_paths:
                plugins.append(("jiedai.cli.calendar", self.holiday_files()))
            if self.notifiers_path is not None:
                from jiedai_flow.notify.channels.config import load_notifiers

                self.extra_plugins.extend(load_notifiers(self.notifiers_path))
            if self.actors_path.is_file():
                from jiedai_flow.cli.inputs import ActorsDirectory, load_actor_entries

                plugins.append(("jiedai.cli.contacts", ActorsDirectory(load_actor_entries(self.actors_path))))
            plugins.extend(self.extra_plugins)
            self._need_database()
            try:
                if not create:
                    self._need_schema()
                self._engine = open_engine(self.db, plugins=plugins)
            except StorageError:
                self.sql_url()  # a URL written wrong is the user's mistake, not a missing plugin
                raise
        return self._engine

    def sql_url(self) -> str:
        """``db`` for the commands that open it as a SQL database without the plugins (``init``,
        ``db upgrade``, ``audit``): a URL written wrong is a usage error showing the URL meant."""
        from jiedai_flow.cli.database import url_mistake

        mistake = url_mistake(self.db, self.db_source)
        if mistake is not None:
            raise usage_problem(self.db_source, *mistake)
        return self.db

    def existing_store(self) -> SQLStore:
        """The SQL database as it is, neither created nor upgraded (an auditor's read-only copy
        will do), for the audit commands. A SQLite file that is not there is a mistake in its
        name: an error, not an empty file left for the next command to migrate."""
        import sqlalchemy as sa

        from jiedai_flow.storage.sql import SQLStore

        self._need_database()
        url = sa.make_url(self.sql_url())
        path = url.database
        if (
            url.get_backend_name() == "sqlite"
            and path not in (None, "", ":memory:")
            and "uri" not in url.query  # a file: URI may name what is not a plain path
            and not Path(path).exists()
        ):
            raise usage_problem(
                self.db_source, f"数据库文件 {path} 不存在", f"database file {path} does not exist"
            )
        return SQLStore(url, create=False)

    def _need_database(self) -> None:
        """The default database is there: only ``jiedai init`` (or ``db upgrade``) makes it."""
        if self.default_db and not _default_database().exists():
            raise usage_problem(
                "--db",
                f"当前目录 {Path.cwd()} 没有数据库 jiedai.db：先在这里运行 jiedai init，"
                "或用 --db、环境变量 JIEDAI_DB 或 jiedai.toml 指定数据库",
                f"no database jiedai.db in {Path.cwd()}: run `jiedai init` here first, or name one "
                "with --db, $JIEDAI_DB or jiedai.toml",
            )

    def _need_schema(self) -> None:
        """The SQL database has jiedai's tables. One named on purpose that has none is a name
        mistyped more often than a new database: a command that reads it, or changes what must be
        in it already, says so instead of leaving an empty schema there for the next command."""
        import sqlite3

        import sqlalchemy as sa

        from jiedai_flow.storage.migrate import current_revision
        from jiedai_flow.storage.sql.opening import check_connects
        from jiedai_flow.storage.sql.readonly import read_only_uri

        try:
            url = sa.make_url(self.db)
            url.get_dialect()
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError):
            return  # a plugin's URL, or one written wrong: opening it says which
        options: dict[str, Any] = {}
        if url.get_backend_name() == "sqlite":
            path = url.database
            if path in (None, "", ":memory:") or "uri" in url.query:
                return  # nothing kept to mistype, or a file: URI that may name what is not a path
            if not Path(path).is_file():
                raise self._no_schema(f"文件 {path} 不存在", f"the file {path} does not exist")
            uri = read_only_uri(path)  # why: looking must not create, lock or journal anything
            options["creator"] = lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
        try:
            db = sa.create_engine(url, **options)
        except (ValueError, TypeError, ImportError):
            return  # opening it says why it cannot be opened
        try:
            check_connects(db)
            found = current_revision(db)
        finally:
            db.dispose()
        if found is None:
            raise self._no_schema("", "")

    def _no_schema(self, why_zh: str, why_en: str) -> StorageError:
        return StorageError(
            f"数据库 {self.shown_db}（{self.db_source}）还没有 jiedai 的表"
            + (f"（{why_zh}）" if why_zh else "")
            + "：是不是地址写错了？要在这里新建，请先用这个地址运行 jiedai db upgrade"
            "（或在新目录里运行 jiedai init）",
            f"database {self.shown_db} ({self.db_source}) has no jiedai schema yet"
            + (f" ({why_en})" if why_en else "")
            + ": is the URL right? To start a new database there, first run `jiedai db upgrade` on it "
            "(or `jiedai init` in a new folder)",
        )

    def actors(self) -> dict[str, Actor]:
        """The actors of ``--actors`` by id."""
        if self._actors is None:
            from jiedai_flow.cli.inputs import load_actors

            _require_file(
                self.actors_path,
                "参与人文件",
                "actors file",
                hint_zh="运行 jiedai init 生成示例，或用 --actors 指定",
                hint_en="run `jiedai init` for a sample, or pass --actors",
            )
            self._actors = load_actors(self.actors_path)
        return self._actors

    def actor(self, actor_id: str) -> Actor:
        """The actor named ``actor_id`` in the actors file; a clear message listing the known ids."""
        known = self.actors()
        found = known.get(actor_id.strip())
        if found is None:
            listed = "、".join(f"{a.id}（{a.name}）" for a in known.values()) or "无 none"
            raise usage_problem(
                "--as",
                f"未知参与人「{actor_id}」；{self.actors_path} 中有：{listed}",
                f"unknown actor {actor_id!r}; {self.actors_path} has: {', '.join(known) or 'none'}",
            )
        return found

    @property
    def opened_engine(self) -> Engine | None:
        """The engine if this run has opened it (without opening it)."""
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.store.close()
            self._engine = None
        for plugin in self.extra_plugins:
            close = getattr(plugin, "close", None)
            if callable(close):
                close()  # notifiers' HTTP clients

    # -- output -----------------------------------------------------------------------------------

    def emit(self, data: Any) -> None:
        """Print ``data`` as JSON on stdout (for ``--json``)."""
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))

    def fail(self, error: JiedaiFlowError) -> NoReturn:
        """Report ``error`` (rich on stderr, or a JSON object on stdout) and exit with its code."""
        from jiedai_flow.cli import render

        code = exit_code(error)
        if self.json:
            self.emit({"error": render.error_json(error, code, self.options)})
        else:
            render.print_error(self.err, error, self.options)
        sys.exit(code)


def _require_file(path: Path, what_zh: str, what_en: str, *, hint_zh: str = "", hint_en: str = "") -> None:
    if not path.is_file():
        why_zh, why_en = ("是目录", "is a directory") if path.is_dir() else ("不存在", "does not exist")
        raise ValidationError(
            [
                Problem(
                    "$",
                    f"{what_zh} {path} {why_zh}" + (f"（{hint_zh}）" if hint_zh else ""),
                    f"{what_en} {path} {why_en}" + (f" ({hint_en})" if hint_en else ""),
                )
            ]
        )


def app_of(ctx: click.Context) -> App:
    """The run's :class:`App` (made by the ``jiedai`` group)."""
    found = ctx.find_object(App)
    if found is None:  # a command invoked without the group: only in tests that build their own
        raise click.UsageError("jiedai 命令须经 jiedai 主命令调用 / run through the jiedai group")
    return found


pass_app = click.make_pass_decorator(App)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        app_of(ctx).json = True


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--json`` on a command, the same as the global ``jiedai --json``."""
    return click.option(
        "--json",
        "json_flag",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="输出 JSON（同全局 --json）/ print JSON (same as the global --json).",
    )(command)


def _default_database() -> Path:
    """The file of the default database, ``jiedai.db`` in this folder."""
    from jiedai_flow.cli.common import DEFAULT_URL

    return Path(DEFAULT_URL.removeprefix("sqlite:///"))
