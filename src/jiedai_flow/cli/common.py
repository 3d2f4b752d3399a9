"""The leaf every ``jiedai`` module may import 命令行共用底层: exit codes, environment variables,
the output language and plain error messages.

It imports only the standard library (and rich, lazily, to print an error), so that
``jiedai --version`` and ``jiedai --help`` load this module and click and nothing else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_STATE = 3
EXIT_PLUGIN = 4
EXIT_INTERNAL = 5

EXIT_CODES_HELP = (
    "退出码 exit codes: 0 成功 ok · 1 被规则拒绝或校验不通过 refused by rules / verification failed · "
    "2 用法或数据错误 usage or data error · 3 冲突或状态不允许 conflict or invalid state · "
    "4 插件或存储错误 plugin or storage error · "
    "5 内部错误（程序缺陷，详情写入日志 $JIEDAI_LOG）internal error (a bug; traceback in the log)."
)

DB_ENV = "JIEDAI_DB"
LOG_ENV = "JIEDAI_LOG"
LOG_LEVEL_ENV = "JIEDAI_LOG_LEVEL"
ACTORS_ENV = "JIEDAI_ACTORS"
STANDARDS_ENV = "JIEDAI_STANDARDS"
CALENDAR_ENV = "JIEDAI_CALENDAR"
NOTIFIERS_ENV = "JIEDAI_NOTIFIERS"
LANG_ENV = "JIEDAI_LANG"
CONFIG_ENV = "JIEDAI_CONFIG"
CALENDAR_GLOB = "jiedai-calendar-*.toml"
DEFAULT_ACTORS = "jiedai-actors.toml"
DEFAULT_STANDARDS = "jiedai-standards.toml"
CONFIG_FILE = "jiedai.toml"
DEFAULT_URL = "sqlite:///jiedai.db"
"""The default database (the same as :data:`jiedai_flow.process.engine.DEFAULT_URL`, without
importing the engine)."""

# -- the output language -----------------------------------------------------------------------------

LANGS = ("zh", "en", "both")
"""``--lang`` / ``$JIEDAI_LANG``: Chinese only, English only, or both (Chinese first)."""

DEFAULT_LANG = "zh"
"""Chinese: the clerks, approvers and auditors who run ``jiedai`` read Chinese, and one language
keeps a line inside 80 columns. ``both`` stays available (e.g. for a mixed team or a bug report)."""

LOG_LEVELS = ("debug", "info", "warning", "error")
DEFAULT_LOG_LEVEL = "warning"

_lang = DEFAULT_LANG


def set_lang(lang: str) -> None:
    """Set this run's output language (one of :data:`LANGS`)."""
    global _lang  # why: one run of the command line has one language
    if lang not in LANGS:
        raise ValueError(lang)
    _lang = lang


def current_lang() -> str:
    """This run's output language."""
    return _lang


def say(zh: str, en: str) -> str:
    """A message in this run's language: Chinese, English, or both joined by `` / ``."""
    if _lang == "zh":
        return zh
    if _lang == "en":
        return en
    return f"{zh} / {en}"


def label(zh: str, en: str) -> str:
    """A column or field name in this run's language (both: ``编号 number``)."""
    if _lang == "zh":
        return zh
    if _lang == "en":
        return en
    return f"{zh} {en}"


def heading(zh: str, en: str) -> str:
    """A table's column header in this run's language; both stack, Chinese over English, so that
    the column stays as narrow as its values."""
    return f"{zh}\n{en}" if _lang == "both" else label(zh, en)


def lang_from_args(args: list[str]) -> str | None:
    """``--lang`` as written on the command line, looked at before click parses it (so that click's
    own usage errors already speak it)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.removeprefix("--lang=")
    return None


# -- plain errors ------------------------------------------------------------------------------------


def fail_plain(message: str, code: int) -> NoReturn:
    """Report an error that happened before (or outside) the run's ``App``; exit with ``code``."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False).print(
        f"[red]{error_prefix()}[/red]{escape(message)}", soft_wrap=True
    )
    sys.exit(code)


def error_prefix() -> str:
    """What an error message starts with, in this run's language."""
    return {"zh": "错误：", "en": "error: "}.get(_lang, "错误 / error: ")


def fail(zh: str, en: str, code: int, detail: str = "") -> NoReturn:
    """:func:`fail_plain` with the message in this run's language, then ``detail`` (as it is)."""
    fail_plain(say(zh, en) + detail, code)


def log_path() -> Path:
    """Where an internal error's traceback is written: ``$JIEDAI_LOG``, else ``jiedai.log`` in a
    directory of the user's own under the temp dir (``/tmp/jiedai-<user>/jiedai.log``)."""
    import getpass
    import tempfile

    given = os.environ.get(LOG_ENV)
    if given:
        return Path(given)
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # why: no login name in a bare container
        user = str(os.getpid())
    return Path(tempfile.gettempdir()) / f"jiedai-{user}" / "jiedai.log"
