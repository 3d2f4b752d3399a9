"""A read-only SQLite file 只读数据库 (an auditor's copy): show, list, reports and verify work; a
command that writes is refused with a clear message, never a traceback."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from jiedai_flow.cli import main
from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.process.engine import open_engine
from jiedai_flow.storage.migrate import upgrade
from jiedai_flow.testing import ACTORS, FrozenClock, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

ENV = {"COLUMNS": "200", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1", "JIEDAI_CALENDAR": ""}
ACTORS_TOML = (
    '[[actor]]\nid = "zhang.wei"\nname = "张伟"\nroles = ["handler"]\nunit = "县政府办公室"\n'
    '[[actor]]\nid = "sun.hao"\nname = "孙浩"\nroles = ["approver"]\nunit = "县政府办公室"\n'
)
"""The handler, and an approver to sign the one step the submission opens (a chain nobody could
sign is refused at submission)."""


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable for this process: chmod for an ordinary user; root ignores modes, so
    for root the immutable attribute (chattr +i), which root obeys too."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        path.parent.chmod(0o555)
        try:
            yield
        finally:
            path.parent.chmod(0o755)
            path.chmod(0o644)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)], check=False).returncode:
        pytest.skip("as root, a file is made read-only with chattr +i, which is not available here")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def jiedai(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--db", url, *args], env=ENV, prog_name="jiedai")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_an_auditors_read_only_copy_verifies_and_refuses_writes_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "copy.db"
    url = f"sqlite:///{db}"
    upgrade(url)
    engine = open_engine(url, autoload=False, clock=FrozenClock())
    rid = engine.create_reception(
        sample_letter(),
        sample_plan(),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id
    engine.store.close()
    actors = tmp_path / "actors.toml"
    actors.write_text(ACTORS_TOML, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    with read_only(db):
        assert not os.access(db, os.W_OK)
        code, out, _ = jiedai(url, "audit", "verify")
        assert code == 0, out
        assert "审计链完整" in out
        assert jiedai(url, "list")[0] == 0
        assert jiedai(url, "show", rid)[0] == 0
        code, out, err = jiedai(url, "--actors", str(actors), "submit", rid, "--as", "zhang.wei")
        assert code == 4, out + err
        assert "只读" in err
        assert "read-only" in err
        assert "Traceback" not in out + err
    assert jiedai(url, "--actors", str(actors), "submit", rid, "--as", "zhang.wei")[0] == 0  # writable again


def test_a_read_only_copy_reads_commits_still_waiting_in_the_wal_file(tmp_path: Path) -> None:
    """A copy taken while the office's writer had commits in ``-wal`` (not yet checkpointed into
    the main file): opening it immutable would silently miss them, so it is opened plainly
    read-only and they are read."""
    db = tmp_path / "copy.db"
    url = f"sqlite:///{db}"
    upgrade(url)
    engine = open_engine(url, autoload=False, clock=FrozenClock())  # switches the file to WAL
    keeper = sqlite3.connect(db)  # holds the WAL open, so closing the engine does not checkpoint it
    try:
        keeper.execute("SELECT count(*) FROM jd_receptions").fetchall()
        for _ in range(2):
            engine.create_reception(
                sample_letter(),
                sample_plan(),
                handler=ACTORS["handler"],
                host_unit="县政府办公室",
                jurisdiction="341502",
            )
        engine.store.close()
        wal = tmp_path / "copy.db-wal"
        assert wal.is_file()
        assert wal.stat().st_size > 0, "the commits must still be in the WAL file"
        with read_only(db):
            reader = open_engine(url, autoload=False, clock=FrozenClock())
            try:
                assert reader.store.read_only
                assert len(reader.store.query(ReceptionQuery()).items) == 2
                assert reader.store.verify().ok
            finally:
                reader.store.close()
    finally:
        keeper.close()
