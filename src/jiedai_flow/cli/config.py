"""The optional ``jiedai.toml`` 配置文件: one file naming the database, the actors, the standards,
the holiday files and the notifiers of a deployment, and the output language and log level.

Where it is: ``--config PATH``, else ``$JIEDAI_CONFIG``, else ``./jiedai.toml`` when it exists;
none is fine. Every setting is optional::

    database = "sqlite:///jiedai.db"        # 数据库地址；带密码的地址请放在 $JIEDAI_DB
    actors = "jiedai-actors.toml"           # 参与人文件
    standards = ["jiedai-standards.toml"]   # 本地标准层，可多个
    calendar = ["jiedai-calendar-2027.toml"]  # 放假安排文件
    notifiers = "jiedai-notifiers.toml"     # 通知渠道配置
    lang = "zh"                             # zh / en / both
    log_level = "warning"                   # debug / info / warning / error

Relative file names (and a relative SQLite path) are relative to the folder of ``jiedai.toml``.
What wins: a command-line option, then its environment variable, then ``jiedai.toml``, then the
built-in default. A mistake in the file is a data error (exit code 2) naming the setting
(``$.standards[1]``), never a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

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
    LANG_ENV,
    LANGS,
    LOG_LEVEL_ENV,
    LOG_LEVELS,
    NOTIFIERS_ENV,
    STANDARDS_ENV,
)
from jiedai_flow.errors import Problem, ValidationError

if TYPE_CHECKING:
    from collections.abc import Mapping

_TEXT = {"database", "actors", "notifiers", "lang", "log_level"}
_FILES = {"standards", "calendar"}
KEYS = ("database", "actors", "standards", "calendar", "notifiers", "lang", "log_level")
"""The settings ``jiedai.toml`` may hold."""

_SQLITE_RELATIVE = re.compile(r"^(sqlite(?:\+\w+)?:///)(?!/)(?!:memory:)([^?]+)(.*)$")


@attrs.frozen
class Config:
    """What ``jiedai.toml`` says (``None``: not said), file names already resolved."""

    path: Path | None = None
    database: str | None = None
    actors: Path | None = None
    standards: tuple[Path, ...] | None = None
    calendar: tuple[Path, ...] | None = None
    notifiers: Path | None = None
    lang: str | None = None
    log_level: str | None = None


@attrs.frozen
class Settings:
    """One run's settings, each from the command line, the environment, ``jiedai.toml`` or the
    default, in that order."""

    database: str
    actors: Path
    standards: tuple[Path, ...]
    calendar: tuple[Path, ...]
    notifiers: Path | None
    lang: str
    log_level: str
    config: Path | None


def find_config(given: Path | None, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The config file to read and whether it was asked for (``--config`` or ``$JIEDAI_CONFIG``,
    then it must exist) or merely found (``./jiedai.toml``)."""
    if given is not None:
        return given, True
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]), True
    found = Path(CONFIG_FILE)
    return (found, False) if found.is_file() else (None, False)


def load_config(path: Path) -> Config:
    """Read and check ``jiedai.toml``; every problem at once, each at its setting's path."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise ValidationError(
            [
                Problem(
                    "$", f"无法读取配置文件（应为 UTF-8 文本）：{why}", f"cannot read the config file: {why}"
                )
            ],
            source=source,
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        from jiedai_flow.domain.loading import toml_syntax_problem  # why here: start-up stays light

        raise ValidationError([toml_syntax_problem(exc)], source=source) from None
    return _config(data, path, source)


def _config(data: dict[str, Any], path: Path, source: str) -> Config:
    problems: list[Problem] = []
    base = path.parent
    values: dict[str, Any] = {}
    for key in sorted(set(data) - set(KEYS)):
        problems.append(
            Problem(
                f"$.{key}",
                f"未知的配置项「{key}」（可用：{'、'.join(KEYS)}）",
                f"unknown setting {key!r} (known: {', '.join(KEYS)})",
            )
        )
    for key in sorted(_TEXT & set(data)):
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            problems.append(Problem(f"$.{key}", "应为非空文本", "must be a non-empty string"))
        else:
            values[key] = value.strip()
    for key in sorted(_FILES & set(data)):
        value = data[key]
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            problems.append(
                Problem(f"$.{key}", "应为文件名或文件名列表", "must be a file name or a list of them")
            )
            continue
        bad = [i for i, item in enumerate(items) if not isinstance(item, str) or not item.strip()]
        for i in bad:
            problems.append(Problem(f"$.{key}[{i}]", "应为文件名（文本）", "must be a file name (a string)"))
        if not bad:
            values[key] = tuple(base / item.strip() for item in items)
    for key, allowed in (("lang", LANGS), ("log_level", LOG_LEVELS)):
        if key in values and values[key].lower() not in allowed:
            problems.append(
                Problem(
                    f"$.{key}",
                    f"「{values[key]}」不是可选的值（可选：{'、'.join(allowed)}）",
                    f"{values[key]!r} is not one of {', '.join(allowed)}",
                )
            )
        elif key in values:
            values[key] = values[key].lower()
    if problems:
        raise ValidationError(problems, source=source)
    for key in ("actors", "notifiers"):
        if key in values:
            values[key] = base / values[key]
    if "database" in values:
        values["database"] = _relative_sqlite(values["database"], base)
    return Config(path=path, **values)


def _relative_sqlite(url: str, base: Path) -> str:
    """A relative SQLite path made relative to the config file's folder (other URLs as written)."""
    found = _SQLITE_RELATIVE.match(url)
    if found is None or base == Path():
        return url
    return f"{found[1]}{base / found[2]}{found[3]}"


def _paths(raw: str) -> tuple[Path, ...]:
    return tuple(Path(p) for p in raw.split(os.pathsep) if p)


def settings(
    *,
    database: str | None,
    actors: Path | None,
    standards: tuple[Path, ...],
    calendar: tuple[Path, ...],
    notifiers: Path | None,
    lang: str | None,
    log_level: str | None,
    config: Config,
    env: Mapping[str, str],
) -> Settings:
    """The run's settings: each from the command line (the arguments), else its environment
    variable, else ``config``, else the default."""
    level = log_level or env.get(LOG_LEVEL_ENV, "").lower() or config.log_level or DEFAULT_LOG_LEVEL
    chosen_lang = lang or env.get(LANG_ENV, "").lower() or config.lang or DEFAULT_LANG
    for name, value, allowed in ((LANG_ENV, chosen_lang, LANGS), (LOG_LEVEL_ENV, level, LOG_LEVELS)):
        if value not in allowed:  # only an environment variable can get here: click checks the options
            raise ValidationError(
                [
                    Problem(
                        f"${name}",
                        f"「{value}」不是可选的值（可选：{'、'.join(allowed)}）",
                        f"{value!r} is not one of {', '.join(allowed)}",
                    )
                ],
                source="环境变量 environment",
            )
    if standards:
        chosen_standards = standards
    elif env.get(STANDARDS_ENV):
        chosen_standards = _paths(env[STANDARDS_ENV])
    elif config.standards is not None:
        chosen_standards = config.standards
    else:
        chosen_standards = (Path(DEFAULT_STANDARDS),) if Path(DEFAULT_STANDARDS).is_file() else ()
    if calendar:
        chosen_calendar = calendar
    elif env.get(CALENDAR_ENV):
        chosen_calendar = _paths(env[CALENDAR_ENV])
    elif config.calendar is not None:
        chosen_calendar = config.calendar
    else:
        chosen_calendar = tuple(sorted(Path().glob(CALENDAR_GLOB)))
    return Settings(
        database=database or env.get(DB_ENV) or config.database or DEFAULT_URL,
        actors=actors or _path(env.get(ACTORS_ENV)) or config.actors or Path(DEFAULT_ACTORS),
        standards=chosen_standards,
        calendar=chosen_calendar,
        notifiers=notifiers or _path(env.get(NOTIFIERS_ENV)) or config.notifiers,
        lang=chosen_lang,
        log_level=level,
        config=config.path,
    )


def _path(raw: str | None) -> Path | None:
    return Path(raw) if raw else None


def config_toml(*, database: str | None, actors: Path, standards: Path) -> str:
    """The ``jiedai.toml`` that ``jiedai init`` writes: the files it wrote, and the database unless
    its URL holds a password (that belongs in ``$JIEDAI_DB``, not in a file)."""
    lines = [
        "# jiedai 配置文件 config file：各命令读取当前目录的 jiedai.toml（或 --config、$JIEDAI_CONFIG）。",
        "# 命令行选项优先，其次环境变量（JIEDAI_DB、JIEDAI_ACTORS …），再次本文件。格式见 docs/cli.md。",
        "# Command-line options win, then environment variables, then this file (docs/cli.md).",
        "",
    ]
    if database is None:
        lines.append('# database = "postgresql+psycopg://…"   # 地址含密码：请用环境变量 JIEDAI_DB')
    else:
        lines.append(f"database = {_toml_string(database)}")
    lines += [
        f"actors = {_toml_string(actors.as_posix())}",
        f"standards = [{_toml_string(standards.as_posix())}]",
        '# calendar = ["jiedai-calendar-2027.toml"]   # 放假安排文件 holiday files',
        '# notifiers = "jiedai-notifiers.toml"       # 通知渠道 notifiers (docs/notifications.md)',
        'lang = "zh"          # 输出语言 output language: zh / en / both',
        'log_level = "warning"  # 日志级别 log level: debug / info / warning / error',
        "",
    ]
    return "\n".join(lines)


def _toml_string(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)  # why: JSON's escapes are TOML's basic-string escapes
