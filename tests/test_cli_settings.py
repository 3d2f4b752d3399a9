"""The command line's settings: the lazy command table, ``--lang``, ``-v``/``--log-level``,
``jiedai.toml`` and what overrides it, the missing-driver hint, and compact info findings."""

from __future__ import annotations

import importlib
import json
import logging
import subprocess
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner

from jiedai_flow.cli import main
from jiedai_flow.cli.commands import COMMANDS, trigger_commands, trigger_help
from jiedai_flow.cli.common import DEFAULT_URL
from jiedai_flow.cli.render import print_findings
from jiedai_flow.domain.findings import Finding, Severity
from jiedai_flow.process.engine import DEFAULT_URL as ENGINE_DEFAULT_URL

if TYPE_CHECKING:
    from click.testing import Result

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder as the current directory, no JIEDAI_* settings but the plugins off."""
    for name in ("JIEDAI_LANG", "JIEDAI_DB", "JIEDAI_ACTORS", "JIEDAI_STANDARDS", "JIEDAI_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JIEDAI_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def jiedai(*args: str, code: int = 0, env: dict[str, str] | None = None) -> Result:
    result = CliRunner().invoke(main, list(args), env=env, prog_name="jiedai")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("".join(traceback.format_exception(result.exception)) + result.output)
    assert "Traceback" not in result.output
    assert result.exit_code == code, result.output
    return result


# -- the command table ---------------------------------------------------------------------------------


def test_every_line_of_the_table_names_its_command_with_the_help_it_shows() -> None:
    for name, where, text in COMMANDS:
        module, attribute = where.split(":")
        command = getattr(importlib.import_module(f"jiedai_flow.cli.{module}"), attribute)
        assert isinstance(command, click.Command)
        assert command.name == name
        assert command.get_short_help_str(limit=10_000) == text, f"update the line of {name!r}"


def test_trigger_commands_follow_the_process_and_show_their_own_help() -> None:
    context = click.Context(main)
    names = main.list_commands(context)
    for name, definition in trigger_commands().items():
        command = main.get_command(context, name)
        assert command is not None
        assert command.get_short_help_str(limit=10_000) == trigger_help(definition)
    assert names.index("fire") + 1 == names.index(next(iter(trigger_commands())))
    assert main.get_command(context, "no-such-command") is None


def test_version_and_help_load_no_command_module_and_no_database_library() -> None:
    code = (
        "import sys\n"
        "from jiedai_flow.cli import main\n"
        "for args in (['--version'], ['--help']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = ['sqlalchemy', 'alembic', 'openpyxl', 'rich', 'cattrs', 'httpx',\n"
        "    'jiedai_flow.process.engine',\n"
        "         'jiedai_flow.cli.app', 'jiedai_flow.cli.fire']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_the_leaf_names_the_engines_default_database() -> None:
    assert DEFAULT_URL == ENGINE_DEFAULT_URL


# -- the output language -------------------------------------------------------------------------------


def test_chinese_is_the_default_english_and_both_on_request(site: Path) -> None:
    jiedai("db", "upgrade")
    assert jiedai("list").output.strip() == "没有符合条件的接待"
    assert jiedai("--lang", "en", "list").output.strip() == "no receptions match."
    assert jiedai("list", env={"JIEDAI_LANG": "en"}).output.strip() == "no receptions match."
    both = jiedai("--lang", "both", "list", env={"JIEDAI_LANG": "en"}).output.strip()
    assert both == "没有符合条件的接待 / no receptions match."  # the option wins


def test_errors_speak_the_chosen_language(site: Path) -> None:
    jiedai("db", "upgrade")
    zh = jiedai("show", "nothing", code=2).output
    assert zh.startswith("错误：")
    assert "not found" not in zh
    en = jiedai("--lang", "en", "show", "nothing", code=2).output
    assert en.startswith("error: ")
    assert not any("\u4e00" <= c <= "\u9fff" for c in en)
    usage = jiedai("--lang", "en", "nosuch", code=2).output
    assert "error: No such command 'nosuch'." in usage
    assert "错误：没有命令 'nosuch'" in jiedai("nosuch", code=2).output


def test_a_command_in_a_folder_without_its_database_says_so_and_creates_nothing(site: Path) -> None:
    """The default database is made by ``jiedai init``; any other command run in the wrong folder says
    so instead of leaving an empty ``jiedai.db`` behind. A database named on purpose is made by
    ``db upgrade`` (or ``new``, ``import``, ``serve``), not by a command that reads it."""
    for command in (["list"], ["show", "341502-2026-00001"], ["serve", "--port", "0"]):
        out = jiedai("--lang", "both", *command, code=2).output
        assert "没有数据库 jiedai.db" in out
        assert "run `jiedai init` here first" in out
    assert not (site / "jiedai.db").exists()
    named = f"sqlite:///{site / 'named.db'}"
    assert "还没有 jiedai 的表" in jiedai("--db", named, "list", code=4).output
    assert not (site / "named.db").exists()
    jiedai("--db", named, "db", "upgrade")
    assert jiedai("--db", named, "list").output.strip() == "没有符合条件的接待"
    jiedai("init")
    assert jiedai("list").output.strip() == "没有符合条件的接待"


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "verify"],
        ["audit", "checkpoint"],
        ["dispatch"],
        ["remind"],
        ["tasks", "--as", "zhang.wei"],
        ["proxy", "list"],
        ["process", "list"],
        ["report", "summary", "--year", "2026"],
        ["token", "list"],
    ],
)
def test_every_command_that_reads_the_database_needs_jiedai_init_first(
    site: Path, command: list[str]
) -> None:
    """The audit commands too: they open the database as it is (no upgrade) but, like every other
    command, not an empty ``jiedai.db`` they would leave behind."""
    out = jiedai("--lang", "both", *command, code=2, env={"JIEDAI_AUDIT_KEY": f"k1:{'ab' * 32}"}).output
    assert "没有数据库 jiedai.db" in out
    assert "run `jiedai init` here first" in out
    assert list(site.iterdir()) == []


def test_the_audit_commands_create_no_named_database_either(site: Path) -> None:
    """Reading the trail of a database that is not there is a mistake in its name, not a request to
    make one: exit code 2, and no empty file left behind for the next command to migrate."""
    out = jiedai("--lang", "both", "--db", "sqlite:///typo.db", "audit", "verify", code=2).output
    assert "typo.db" in out
    assert "不存在" in out
    assert "does not exist" in out
    assert list(site.iterdir()) == []


def test_a_bad_language_in_the_environment_is_a_data_error(site: Path) -> None:
    out = jiedai("list", env={"JIEDAI_LANG": "fr"}, code=2).output
    assert "$JIEDAI_LANG" in out
    assert "zh" in out


# -- logging -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "level"),
    [
        ([], logging.WARNING),
        (["-v"], logging.INFO),
        (["-vv"], logging.DEBUG),
        (["--log-level", "error"], logging.ERROR),
    ],
)
def test_verbosity_sets_the_package_log_level_for_the_run(site: Path, args: list[str], level: int) -> None:
    seen: list[int] = []

    @main.command("probe-log-level", hidden=True)
    def probe() -> None:
        seen.append(logging.getLogger("jiedai_flow").getEffectiveLevel())

    try:
        jiedai(*args, "probe-log-level")
    finally:
        main.commands.pop("probe-log-level")
    assert seen == [level]
    assert not any(isinstance(h, logging.StreamHandler) for h in logging.getLogger("jiedai_flow").handlers)


def test_log_records_go_to_stderr_with_v(site: Path) -> None:
    @main.command("probe-log", hidden=True)
    def probe() -> None:
        logging.getLogger("jiedai_flow.probe").info("probe says hello")

    try:
        quiet = jiedai("probe-log")
        loud = jiedai("-v", "probe-log")
    finally:
        main.commands.pop("probe-log")
    assert "probe says hello" not in quiet.output
    assert "INFO jiedai_flow.probe: probe says hello" in loud.output


# -- jiedai.toml ---------------------------------------------------------------------------------------


def test_init_writes_a_config_that_the_next_command_reads(site: Path) -> None:
    jiedai("init")
    config = (site / "jiedai.toml").read_text(encoding="utf-8")
    assert 'actors = "jiedai-actors.toml"' in config
    assert 'standards = ["jiedai-standards.toml"]' in config
    assert f'database = "{DEFAULT_URL}"' in config
    (site / "jiedai-actors.toml").rename(site / "people.toml")
    (site / "jiedai.toml").write_text(config.replace("jiedai-actors.toml", "people.toml"), encoding="utf-8")
    created = json.loads(jiedai("--json", "new", "jiedai-reception.toml", "--as", "zhang.wei").output)
    assert created["state"]


def test_init_keeps_a_password_out_of_the_config(site: Path) -> None:
    from jiedai_flow.cli.config import config_toml

    text = config_toml(database=None, actors=Path("a.toml"), standards=Path("s.toml"))
    assert "\ndatabase" not in text
    assert "JIEDAI_DB" in text


def test_the_environment_overrides_the_config_and_the_option_overrides_both(site: Path) -> None:
    (site / "jiedai.toml").write_text('database = "sqlite:///from-config.db"\n', encoding="utf-8")
    jiedai("db", "upgrade")
    assert (site / "from-config.db").exists()
    jiedai("db", "upgrade", env={"JIEDAI_DB": f"sqlite:///{site / 'from-env.db'}"})
    assert (site / "from-env.db").exists()
    jiedai(
        "--db", f"sqlite:///{site / 'from-option.db'}", "db", "upgrade", env={"JIEDAI_DB": "sqlite:///x.db"}
    )
    assert (site / "from-option.db").exists()
    assert not (site / "x.db").exists()


def test_names_in_a_config_elsewhere_are_relative_to_its_folder(site: Path, tmp_path: Path) -> None:
    folder = site / "deployment"
    folder.mkdir()
    (folder / "jiedai.toml").write_text('database = "sqlite:///data.db"\nlang = "en"\n', encoding="utf-8")
    out = jiedai("db", "upgrade", env={"JIEDAI_CONFIG": str(folder / "jiedai.toml")}).output
    assert (folder / "data.db").exists()
    assert "database created at revision" in out  # a new database, not "already at"
    again = jiedai("db", "upgrade", env={"JIEDAI_CONFIG": str(folder / "jiedai.toml")}).output
    assert "schema already at revision" in again


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('databse = "sqlite:///x.db"\n', "$.databse"),
        ("standards = 3\n", "$.standards"),
        ('standards = ["a.toml", 4]\n', "$.standards[1]"),
        ('lang = "fr"\n', "$.lang"),
        ("log_level = 1\n", "$.log_level"),
        ("database = [\n", "TOML"),
    ],
)
def test_a_bad_config_is_a_data_error_at_its_setting(site: Path, text: str, says: str) -> None:
    (site / "jiedai.toml").write_text(text, encoding="utf-8")
    out = jiedai("--lang", "both", "list", code=2).output
    assert "jiedai.toml" in out
    assert says in out
    assert " / " in out  # Chinese and English


def test_a_named_config_must_exist(site: Path) -> None:
    out = jiedai("--config", "nowhere.toml", "list", code=2).output
    assert "nowhere.toml" in out
    out = jiedai("list", env={"JIEDAI_CONFIG": "elsewhere.toml"}, code=2).output
    assert "elsewhere.toml" in out


# -- the missing driver --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "driver", "extra"),
    [
        ("postgresql+psycopg://u:secret@localhost/x", "psycopg", "postgresql"),
        ("mysql+pymysql://u@h/x", "pymysql", "mysql"),
    ],
)
@pytest.mark.parametrize("command", [["list"], ["db", "upgrade"], ["audit", "verify"]])
def test_a_missing_driver_names_the_extra_that_installs_it(
    site: Path, monkeypatch: pytest.MonkeyPatch, url: str, driver: str, extra: str, command: list[str]
) -> None:
    monkeypatch.setitem(sys.modules, driver, None)  # as if not installed: importing it fails
    out = jiedai("--lang", "both", "--db", url, *command, code=4).output
    assert f'pip install "jiedai-flow[{extra}]"' in out
    assert "需要驱动" in out
    assert "needs the driver" in out
    assert "secret" not in out


# -- a database URL written wrong ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "meant"),
    [
        ("jiedai.db", "sqlite:///jiedai.db"),
        ("/srv/jiedai/jiedai.db", "sqlite:////srv/jiedai/jiedai.db"),
        ("sqlite://jiedai.db", "sqlite:///jiedai.db"),
        ("sqlite:/jiedai.db", "sqlite:///jiedai.db"),
        ("sqlite:jiedai.db", "sqlite:///jiedai.db"),
        ("sqlite:/tmp/dir/jiedai.db", "sqlite:////tmp/dir/jiedai.db"),
        ("postgres://postgres:secret@127.0.0.1:1/x", "postgresql+psycopg://postgres:***@127.0.0.1:1/x"),
    ],
)
@pytest.mark.parametrize("command", [["list"], ["db", "upgrade"], ["audit", "verify"]])
def test_a_database_url_written_wrong_is_a_usage_error_showing_the_url_meant(
    site: Path, url: str, meant: str, command: list[str]
) -> None:
    """No back end could accept these (a file name, Heroku's ``postgres://``): the person wrote the
    URL wrong, and no plugin is missing. Nothing is connected to or created."""
    out = jiedai("--lang", "both", "--db", url, *command, code=2).output
    assert meant in out
    assert "sqlite:///path.db" in out
    assert "postgresql+psycopg://user@host/db" in out
    assert "memory://" in out
    assert "--db" in out
    assert "secret" not in out
    assert "插件" not in out
    assert "sqlite:///sqlite" not in out  # the scheme is not taken for part of a file name
    assert list(site.iterdir()) == []


def test_a_database_url_written_wrong_names_where_it_was_written(site: Path) -> None:
    out = jiedai("list", env={"JIEDAI_DB": "jiedai.db"}, code=2).output
    assert "$JIEDAI_DB" in out
    (site / "jiedai.toml").write_text('database = "jiedai.db"\n', encoding="utf-8")
    out = jiedai("list", code=2).output
    assert "jiedai.toml" in out
    assert "database" in out


def test_a_server_url_without_a_driver_gets_the_driver_jiedai_installs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``postgresql://`` and ``mysql://`` mean SQLAlchemy's default driver: when that is not
    installed but the one the extra installs is, the URL meant names that one."""
    from jiedai_flow.cli import database

    monkeypatch.setattr(database, "_default_driver_installed", lambda url: False)
    mistake = database.url_mistake("postgresql://u:pw@db.example/jiedai")
    assert mistake is not None
    assert "postgresql+psycopg://u:***@db.example/jiedai" in mistake[0]
    assert "pw" not in mistake[1].replace("postgresql", "")
    mistake = database.url_mistake("mysql://u@db.example/jiedai")
    assert mistake is not None
    assert "mysql+pymysql://u@db.example/jiedai" in mistake[1]
    monkeypatch.setattr(database, "_default_driver_installed", lambda url: True)
    assert database.url_mistake("postgresql://u@db.example/jiedai") is None  # it works as written


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql+psycopg://u:secret@127.0.0.1:abc/test", "读不出主机和端口"),
        ("postgresql+psycopg://postgres:secret@[::1:5432/test", "读不出主机和端口"),
        ("sqlite:///jiedai.db?timeout=abc", "“?” 之后的选项有误"),
    ],
)
@pytest.mark.parametrize("command", [["list"], ["db", "upgrade"], ["audit", "verify"], ["serve"]])
def test_a_database_url_sqlalchemy_cannot_read_is_a_usage_error_hiding_its_password(
    site: Path, url: str, says: str, command: list[str]
) -> None:
    """A port that is not a number, a bracket not closed, an option that is not a number: the URL
    is written wrong (exit code 2), not a bug (5); the password is not shown, nothing is created."""
    out = jiedai("--lang", "both", "--db", url, *command, code=2).output
    assert says in out
    assert "is written wrong" in out
    assert "secret" not in out
    assert "内部错误" not in out
    assert list(site.iterdir()) == []


def test_an_option_the_driver_cannot_take_is_a_storage_error_hiding_the_password(site: Path) -> None:
    """PyMySQL fails on an unknown ``charset`` with an AttributeError before it connects."""
    url = "mysql+pymysql://root:secret@127.0.0.1:1/test?charset=bogus"
    for command in (["list"], ["db", "upgrade"], ["audit", "verify"]):
        out = jiedai("--lang", "both", "--db", url, *command, code=4).output
        assert "无法打开数据库 mysql+pymysql://root:***@127.0.0.1:1/test?charset=bogus" in out
        assert "secret" not in out
        assert "内部错误" not in out


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "mongodb://h/db", "postgresql+psycopg://u@h/x"])
def test_a_url_a_plugin_could_serve_is_not_a_usage_mistake(url: str) -> None:
    from jiedai_flow.cli.database import url_mistake

    assert url_mistake(url) is None


def test_a_scheme_no_back_end_knows_stays_a_plugin_error(site: Path) -> None:
    out = jiedai("--db", "redis://127.0.0.1:1/0", "list", code=4).output
    assert "是否未安装相应插件" in out


# -- findings ------------------------------------------------------------------------------------------


def _finding(rule: str, severity: Severity) -> Finding:
    return Finding(rule, severity, f"{rule} 的中文说明", f"{rule} in English", path="$.plan.meals[0]")


def test_info_findings_take_one_line_and_the_others_a_full_table_within_80_columns() -> None:
    from rich.console import Console

    console = Console(width=80, record=True, force_terminal=False)
    print_findings(
        console,
        [
            _finding("X-01", Severity.INFO),
            _finding("X-02", Severity.BLOCKING),
            _finding("X-03", Severity.INFO),
        ],
    )
    text = console.export_text()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert sum("X-01" in line for line in lines) == 1
    assert [line for line in lines if "X-03" in line] == [next(line for line in lines if "X-03" in line)]
    assert "$.plan.meals[0]" in text  # the refusing finding keeps its path
    assert "X-02 的中文说明" in text
    info = next(line for line in lines if "X-01" in line)
    assert "X-01 的中文说明" in info
    assert "$.plan" not in info


def test_the_config_on_the_settings_page_loads(tmp_path: Path) -> None:
    from jiedai_flow.cli.config import KEYS, load_config

    page = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    block = page.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "jiedai.toml").write_text(block, encoding="utf-8")
    loaded = load_config(tmp_path / "jiedai.toml")
    assert all(getattr(loaded, key) is not None for key in KEYS)
    assert loaded.standards == (tmp_path / "jiedai-standards.toml",)
    assert loaded.database == f"sqlite:///{tmp_path / 'jiedai.db'}"


def test_an_internal_error_s_traceback_stays_off_the_screen_with_v(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "internal.log"
    monkeypatch.setenv("JIEDAI_LOG", str(log))

    @main.command("probe-bug", hidden=True)
    def probe() -> None:
        raise ZeroDivisionError("a bug")

    try:
        shown = jiedai("-vv", "probe-bug", code=5).output
    finally:
        main.commands.pop("probe-bug")
    assert "ZeroDivisionError" in shown  # the one-line message names the kind
    assert "a bug" not in shown
    assert "ZeroDivisionError: a bug" in log.read_text(encoding="utf-8")
