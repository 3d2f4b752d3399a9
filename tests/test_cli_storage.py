"""The ``jiedai`` command line against real databases: schema upgrades, storage errors as messages
with exit code 4 (never a traceback), no schema made by a command that reads, and the demo end to
end."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result

from jiedai_flow.cli import demo, main
from jiedai_flow.storage import migrate, schema
from tests.databases import private_database

if TYPE_CHECKING:
    from collections.abc import Iterator

JD_TABLES = {*schema.metadata.tables, migrate.VERSION_TABLE}
"""What the migrations must create: every table of the schema module, and Alembic's version table."""


def jiedai(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "300"})


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from private_database(request.param, tmp_path)


def schema_state(url: str) -> tuple[set[str], list[str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = {t for t in sa.inspect(conn).get_table_names() if t.startswith("jd_")}
            versions = list(conn.exec_driver_sql("SELECT version_num FROM jd_alembic_version").scalars())
    finally:
        engine.dispose()
    return tables, versions


def test_db_upgrade_creates_the_schema_and_a_second_run_changes_nothing(empty_url: str) -> None:
    first = jiedai("--db", empty_url, "db", "upgrade")
    assert first.exit_code == 0, first.output
    assert f"revision {migrate.head_revision()}" in first.output
    assert schema_state(empty_url) == (JD_TABLES, [migrate.head_revision()])

    second = jiedai("--db", empty_url, "db", "upgrade")
    assert second.exit_code == 0, second.output
    assert f"revision {migrate.head_revision()}" in second.output
    assert schema_state(empty_url) == (JD_TABLES, [migrate.head_revision()])
    # why: a connection the command left open is reported here (as a ResourceWarning turned
    # error), not by whichever later test happens to garbage-collect it
    gc.collect()


def test_audit_verify_on_a_sqlite_path_that_is_not_there_exits_2_naming_it_not_a_traceback() -> None:
    result = jiedai("--db", "sqlite:////nonexistent/dir/x.db", "audit", "verify")
    assert result.exit_code == 2, result.output
    assert "/nonexistent/dir/x.db 不存在" in result.output
    assert "错误" in result.output
    assert "Traceback" not in result.output
    assert not Path("/nonexistent/dir").exists()


def test_audit_verify_on_a_database_without_the_schema_exits_4_suggesting_db_upgrade(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()  # SQLite reads an empty file as a database without tables
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = jiedai("--db", url, "audit", "verify")
    assert result.exit_code == 4, result.output
    assert "jiedai db upgrade" in result.output
    assert "Traceback" not in result.output


def jd_tables(url: str) -> set[str]:
    """The jiedai tables in a database (none in a SQLite file that is not there, which stays so)."""
    database = sa.make_url(url).database
    if url.startswith("sqlite") and database and not Path(database).exists():
        return set()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {t for t in sa.inspect(conn).get_table_names() if t.startswith("jd_")}
    finally:
        engine.dispose()


READING = [
    ["list"],
    ["show", "x"],
    ["history", "x"],
    ["export", "x"],
    ["report", "summary", "--year", "2026"],
    ["process", "list"],
    ["token", "list"],
]
"""Commands that read the database (or change what must be there already): none makes the schema."""


@pytest.mark.parametrize("command", READING, ids=" ".join)
def test_a_command_that_reads_makes_no_schema_in_a_database_named_on_purpose(
    empty_url: str, command: list[str]
) -> None:
    """A database without jiedai's tables is a name mistyped more often than a new database: the
    command says so and points to ``db upgrade``, and the database is left as it was."""
    result = jiedai("--db", empty_url, *command)
    assert result.exit_code == 4, result.output
    assert "还没有 jiedai 的表" in result.output
    assert "是不是地址写错了" in result.output
    assert "jiedai db upgrade" in result.output
    assert "内部错误" not in result.output
    assert jd_tables(empty_url) == set()


def test_a_sqlite_file_named_but_not_there_is_not_created_and_the_setting_is_named(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'typo.db'}"
    result = CliRunner().invoke(main, ["--lang", "both", "list"], env={"JIEDAI_DB": url})
    assert result.exit_code == 4, result.output
    assert f"（$JIEDAI_DB）还没有 jiedai 的表（文件 {tmp_path / 'typo.db'} 不存在）" in result.output
    assert "has no jiedai schema yet" in result.output
    assert list(tmp_path.iterdir()) == []


def test_new_makes_the_schema_of_a_database_named_on_purpose_and_then_it_is_read(
    empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``new`` (like ``import`` and ``serve``) may start a database: its first reception is meant."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.chdir(folder)
    assert jiedai("init").exit_code == 0  # the sample files; its own jiedai.db is not the one used
    created = jiedai("--db", empty_url, "new", "jiedai-reception.toml")
    assert created.exit_code == 0, created.output
    assert schema_state(empty_url) == (JD_TABLES, [migrate.head_revision()])
    listed = jiedai("--db", empty_url, "list")
    assert listed.exit_code == 0, listed.output
    assert "没有符合条件的接待" not in listed.output


def test_a_database_at_an_older_revision_is_still_upgraded_by_a_command_that_reads(empty_url: str) -> None:
    head = migrate.head_revision()
    before = ScriptDirectory.from_config(migrate._config()).get_revision(head).down_revision
    assert isinstance(before, str)
    migrate.upgrade(empty_url, before)
    result = jiedai("--db", empty_url, "list")
    assert result.exit_code == 0, result.output
    assert migrate.current_revision(empty_url) == head


def test_demo_runs_a_reception_to_its_archive_verifies_the_trail_and_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the demo's database goes here
    result = jiedai("demo")
    assert result.exit_code == 0, result.output
    assert "已归档" in result.output
    assert "审计链校验" in result.output
    assert "完整" in result.output
    assert "演示结束即删除" in result.output
    assert list(tmp_path.iterdir()) == []


def test_the_demo_list_files_its_meal_as_a_meal_so_it_is_counted_as_meal_spending() -> None:
    listing = demo.reception_list()
    assert [m.cost for m in listing.meals] == [Decimal("330.00")]
    assert sum(i.cost for i in listing.items) == 0
    assert listing.total == listing.invoiced_total == listing.paid_total


def test_demo_here_says_where_it_wrote_a_trail_that_audit_verify_then_finds_intact(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = jiedai("--db", url, "demo", "--here")
    assert demo.exit_code == 0, demo.output
    assert f"数据库：{tmp_path / 'demo.db'}" in demo.output
    verify = jiedai("--db", url, "audit", "verify")
    assert verify.exit_code == 0, verify.output
    assert "审计链完整" in verify.output


def test_the_installed_jiedai_script_runs_the_demo_in_a_subprocess(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "jiedai"
    assert script.exists(), f"console script not installed next to {sys.executable}"
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYTHONIOENCODING": "utf-8", "COLUMNS": "300"}
    done = subprocess.run(
        [str(script), "demo"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "已归档" in done.stdout
    assert "审计链校验" in done.stdout
    assert "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []  # the temporary database is gone
