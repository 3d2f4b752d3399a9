"""Backups 备份: ``jiedai db backup`` copies a SQLite database in use into one checked file; the
server databases are backed up and restored with their own tools, as docs/operations.md shows."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import threading
import uuid
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jiedai_flow.cli import main
from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.errors import StorageError
from jiedai_flow.process.engine import open_engine
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.storage.sql.backup import backup
from jiedai_flow.testing import ACTORS, sample_letter, sample_plan
from tests.databases import MYSQL_URL, POSTGRES_URL, admin_engine

if TYPE_CHECKING:
    from pathlib import Path

    from jiedai_flow import Engine

ENV = {"COLUMNS": "200", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1", "JIEDAI_CALENDAR": ""}


def _one(engine: Engine) -> str:
    """A sample reception registered: its id."""
    made = engine.create_reception(
        sample_letter(),
        sample_plan(),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    )
    return made.reception.id


def _register(url: str, count: int) -> list[str]:
    engine = open_engine(url)
    try:
        return [_one(engine) for _ in range(count)]
    finally:
        engine.store.close()


def _ids(url: str) -> set[str]:
    store = SQLStore(url, create=False)
    try:
        return {r.id for r in store.query(ReceptionQuery(limit=10_000)).items}
    finally:
        store.close()


def _tamper(url: str, statement: str) -> None:
    """Change the database behind the library's back, as someone with write access would."""
    with contextlib.closing(sqlite3.connect(str(sa.make_url(url).database))) as conn, conn:
        conn.execute(statement)


def jiedai(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", url, *args], env=ENV, prog_name="jiedai")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'jiedai.db'}"
    _register(url, 3)
    return url


def test_a_backup_is_one_self_contained_file_holding_every_reception(db: str, tmp_path: Path) -> None:
    """The copy is one file in rollback-journal mode, nothing beside it, and opens as the database."""
    target = tmp_path / "b" / "jiedai-2026-12-07.db"
    target.parent.mkdir()
    report = backup(db, target)
    assert report.path == target
    assert report.size == target.stat().st_size
    assert report.revision is not None
    assert report.verified is not None
    assert report.verified.ok
    assert report.verified.checked == 3
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert stat.S_IMODE(target.stat().st_mode) == 0o400  # the owner's alone, and kept as it is
    with contextlib.closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as copy:
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert _ids(f"sqlite:///{target}") == _ids(db)


def test_a_backup_taken_while_a_writer_commits_is_a_consistent_snapshot(db: str, tmp_path: Path) -> None:
    """Writers go on during the backup; the copy holds a prefix of their commits and verifies."""
    _register(db, 150)  # enough pages for the copy to take a while
    stop = threading.Event()
    written: list[str] = []

    def write() -> None:
        engine = open_engine(db)
        try:
            while not stop.is_set():
                written.append(_one(engine))
        finally:
            engine.store.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while len(written) < 3:  # the writer is committing
            stop.wait(0.01)
        before = _ids(db)
        reports = [backup(db, tmp_path / f"b{n}.db") for n in range(3)]
        during = len(written)
    finally:
        stop.set()
        writer.join()
    assert during > 3, "the writer went on while the backups were taken"
    after = _ids(db)
    for report in reports:
        assert report.verified is not None
        assert report.verified.ok, report.verified.problem
        held = _ids(f"sqlite:///{report.path}")
        assert before <= held <= after


def test_an_existing_backup_is_replaced_only_when_asked(db: str, tmp_path: Path) -> None:
    target = tmp_path / "b.db"
    target.write_bytes(b"an older backup")
    with pytest.raises(StorageError, match="already exists"):
        backup(db, target)
    assert target.read_bytes() == b"an older backup"
    backup(db, target, replace=True)
    assert _ids(f"sqlite:///{target}") == _ids(db)
    backup(db, target, replace=True)  # a read-only backup is replaced too
    assert _ids(f"sqlite:///{target}") == _ids(db)


def test_a_backup_is_never_written_over_the_database(db: str, tmp_path: Path) -> None:
    for name in ("jiedai.db", "jiedai.db-wal", "jiedai.db-shm", "jiedai.db-journal"):
        with pytest.raises(StorageError, match="over the database or a file beside it"):
            backup(db, tmp_path / name, replace=True)
    assert len(_ids(db)) == 3


def test_a_failed_backup_leaves_the_previous_one_and_nothing_else(tmp_path: Path) -> None:
    """A source SQLite cannot read fails before anything is renamed into place."""
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    target = tmp_path / "b.db"
    target.write_bytes(b"last night's backup")
    with pytest.raises(StorageError, match=r"broken\.db"):
        backup(f"sqlite:///{broken}", target, replace=True)
    assert target.read_bytes() == b"last night's backup"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.db", "broken.db"]


@pytest.mark.parametrize(
    ("url", "tool"),
    [
        ("postgresql+psycopg://postgres@127.0.0.1/test", "pg_dump"),
        ("mysql+pymysql://root@127.0.0.1/test", "mariadb-dump"),
        ("sqlite://", "in-memory"),
    ],
)
def test_a_database_that_is_not_a_sqlite_file_names_its_own_tool(url: str, tool: str, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=tool):
        backup(url, tmp_path / "b.db")


def test_a_copy_of_a_tampered_database_is_written_and_says_so(db: str, tmp_path: Path) -> None:
    """The copy holds what the database holds; its verification reports the tampering (exit 1)."""
    _tamper(db, "UPDATE jd_receptions SET host_unit = '别的单位'")
    code, out, _err = jiedai(db, "--json", "db", "backup", str(tmp_path / "b.db"))
    assert code == 1
    answer = json.loads(out)
    assert answer["verified"]["ok"] is False
    assert "host_unit" in answer["verified"]["problem"]["text"]
    assert answer["path"] == str(tmp_path / "b.db.unverified")
    assert (tmp_path / "b.db.unverified").is_file()
    assert not (tmp_path / "b.db").exists()


def test_the_command_backs_up_verifies_and_refuses_mistakes(db: str, tmp_path: Path) -> None:
    target = tmp_path / "b.db"
    code, out, _ = jiedai(db, "db", "backup", str(target))
    assert code == 0, out
    assert "已备份到" in out
    assert "审计链完整：3 条记录" in out
    code, _, err = jiedai(db, "db", "backup", str(target))
    assert code == 2
    assert "已存在" in err
    assert "--force" in err
    for name in ("jiedai.db", "jiedai.db-journal"):
        code, _, err = jiedai(db, "db", "backup", str(tmp_path / name), "--force")
        assert code == 2
        assert "在用的数据库" in err
    code, _, err = jiedai(db, "db", "backup", str(tmp_path / "no" / "b.db"))
    assert code == 2
    assert "不存在" in err
    code, out, _ = jiedai(db, "--json", "db", "backup", str(target), "--force", "--no-verify")
    assert code == 0
    assert json.loads(out)["verified"] is None
    code, _, err = jiedai(POSTGRES_URL, "db", "backup", str(tmp_path / "pg.db"))
    assert code == 4
    assert "pg_dump" in err
    assert "Traceback" not in err


def test_postgres_restored_from_pg_dump_verifies_as_the_docs_say(tmp_path: Path) -> None:
    """docs/operations.md's PostgreSQL recipe: pg_dump --format=custom, a new database owned by the
    service's role, pg_restore --no-owner --role into it, then jiedai audit verify and the service's
    own reading, both as that role (not as the superuser that restored it)."""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump / pg_restore are not installed")
    admin = admin_engine(POSTGRES_URL)
    source = f"jd_restore_{uuid.uuid4().hex[:10]}"
    restored, role = source + "_r", source + "_svc"
    base = sa.make_url(POSTGRES_URL)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
        conn.exec_driver_sql(f'CREATE DATABASE "{source}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{restored}" OWNER "{role}"')
    try:
        url = base.set(database=source).render_as_string(hide_password=False)
        ids = set(_register(url, 3))
        dump = tmp_path / "jiedai.dump"
        libpq = base.set(drivername="postgresql")
        subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                f"--file={dump}",
                libpq.set(database=source).render_as_string(False),
            ],
            check=True,
        )
        into = libpq.set(database=restored).render_as_string(False)
        subprocess.run(
            ["pg_restore", "--no-owner", f"--role={role}", f"--dbname={into}", str(dump)], check=True
        )
        back = base.set(database=restored, username=role, password=None).render_as_string(hide_password=False)
        assert _ids(back) == ids
        code, out, _ = jiedai(back, "audit", "verify")
        assert code == 0, out
        assert "3 条记录" in out
        code, out, _ = jiedai(back, "--json", "list")
        assert code == 0, out
        assert {r["id"] for r in json.loads(out)["items"]} == ids
    finally:
        with admin.connect() as conn:
            for name in (source, restored):
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        admin.dispose()


def test_mariadb_restored_from_mariadb_dump_verifies_as_the_docs_say(tmp_path: Path) -> None:
    """docs/operations.md's MySQL/MariaDB recipe: mariadb-dump --single-transaction, load it into a
    new database, then jiedai audit verify on it; the exact collations come along."""
    if shutil.which("mariadb-dump") is None or shutil.which("mariadb") is None:
        pytest.skip("mariadb-dump / mariadb are not installed")
    admin = admin_engine(MYSQL_URL)
    source = f"jd_dump_{uuid.uuid4().hex[:10]}"
    restored = source + "_r"
    base = sa.make_url(MYSQL_URL)
    client = [
        "--host",
        base.host or "127.0.0.1",
        "--port",
        str(base.port or 3306),
        "--user",
        base.username or "root",
    ]
    if base.password:
        client.append(f"--password={base.password}")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{source}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
        conn.exec_driver_sql(f"CREATE DATABASE `{restored}` CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin")
    try:
        url = base.set(database=source).render_as_string(hide_password=False)
        ids = set(_register(url, 3))
        dump = tmp_path / "jiedai.sql"
        with dump.open("wb") as out:
            subprocess.run(
                ["mariadb-dump", *client, "--single-transaction", "--routines", "--triggers", source],
                stdout=out,
                check=True,
            )
        with dump.open("rb") as into:
            subprocess.run(["mariadb", *client, restored], stdin=into, check=True)
        back = base.set(database=restored).render_as_string(hide_password=False)
        assert _ids(back) == ids
        code, out, _ = jiedai(back, "audit", "verify")
        assert code == 0, out
        assert "3 条记录" in out
        with admin.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT TABLE_NAME, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA=:s"
                ),
                {"s": restored},
            )
            # every table of jiedai's but the version stamp, which revision 0012 leaves as it was
            collations = {c for name, c in rows if name.startswith("jd_") and name != "jd_alembic_version"}
            assert set(collations) <= {"utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin"}
    finally:
        with admin.connect() as conn:
            for name in (source, restored):
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{name}`")
        admin.dispose()


def test_a_write_ahead_log_left_beside_an_old_backup_is_never_folded_into_the_new_one(
    db: str, tmp_path: Path
) -> None:
    """SQLite replays any -wal or -journal it finds beside a file: one left by an old backup that
    was open or crashed would corrupt the new copy, so the backup is refused and says why."""
    target = tmp_path / "b.db"
    backup(db, target)
    for end in ("wal", "journal"):
        beside = tmp_path / f"b.db-{end}"
        beside.write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 60)
        with pytest.raises(StorageError, match=f"b.db-{end} lies beside"):
            backup(db, target, replace=True)
        beside.unlink()
    (tmp_path / "b.db-wal").write_bytes(b"")  # an empty one holds nothing: removed with the old backup
    (tmp_path / "b.db-shm").write_bytes(b"\x00" * 64)
    backup(db, target, replace=True)
    assert not (tmp_path / "b.db-wal").exists()
    assert not (tmp_path / "b.db-shm").exists()


def test_the_files_beside_a_linked_database_are_protected_under_its_real_name(tmp_path: Path) -> None:
    real = tmp_path / "data" / "real.db"
    real.parent.mkdir()
    _register(f"sqlite:///{real}", 1)
    link = tmp_path / "jiedai.db"
    link.symlink_to(real)
    for name in ("data/real.db", "data/real.db-wal", "data/real.db-journal", "jiedai.db-wal"):
        with pytest.raises(StorageError, match="over the database or a file beside it"):
            backup(f"sqlite:///{link}", tmp_path / name, replace=True)


def test_a_link_at_the_target_is_replaced_never_written_through(db: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("someone else's file", encoding="utf-8")
    target = tmp_path / "b.db"
    target.symlink_to(victim)
    backup(db, target, replace=True)
    assert not target.is_symlink()
    assert victim.read_text(encoding="utf-8") == "someone else's file"


@pytest.mark.parametrize("name", ["b?x.db", "b%41.db", "b#1 空格.db"])
def test_a_backup_name_with_url_characters_is_the_file_it_names(db: str, tmp_path: Path, name: str) -> None:
    report = backup(db, tmp_path / name)
    assert report.verified is not None
    assert report.verified.ok
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("jiedai.db")) == [name]


def test_a_copy_that_does_not_verify_never_replaces_the_last_good_backup(db: str, tmp_path: Path) -> None:
    target = tmp_path / "b.db"
    backup(db, target)
    good = target.read_bytes()
    _tamper(db, "UPDATE jd_receptions SET planned_fen = planned_fen + 100")
    report = backup(db, target, replace=True)
    assert report.verified is not None
    assert not report.verified.ok
    assert report.path == tmp_path / "b.db.unverified"
    assert target.read_bytes() == good


def test_a_temporary_copy_a_killed_backup_left_is_removed_a_day_later(db: str, tmp_path: Path) -> None:
    old = tmp_path / ".b.db.k1lled.part"
    old.write_bytes(b"half a copy")
    recent = tmp_path / ".b.db.running.part"
    recent.write_bytes(b"another backup, still running")
    day_ago = old.stat().st_mtime - 25 * 3600
    os.utime(old, (day_ago, day_ago))
    backup(db, tmp_path / "b.db")
    assert not old.exists()
    assert recent.exists()
