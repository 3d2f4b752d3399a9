"""Backing up a SQLite database 备份 while it is in use, into one file that can be kept, copied and
verified on its own.

Copying ``jiedai.db`` with ``cp`` while ``jiedai serve`` or a dispatcher writes can catch the file
half way through a commit, and leaves out what is still in the ``-wal`` file beside it. SQLite's
online backup copies one consistent snapshot: it is taken in a single step, inside one read
transaction, during which writers go on committing to the write-ahead log (jiedai's databases are in
WAL mode). Copying in several steps would let a writer's commit between two of them start the copy
over — on a busy database, again and again. The copy is made under a temporary name beside the
target, checked (SQLite's integrity check and, unless asked not to, the audit trail), turned into a
single self-contained file (rollback journal, no ``-wal``) and only then renamed into place: a backup
that fails leaves the previous one as it was.

PostgreSQL and MySQL/MariaDB have their own tools for this (``pg_dump``, ``mariadb-dump``); see
``docs/operations.md``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import attrs
import sqlalchemy as sa

from jiedai_flow.errors import StorageError
from jiedai_flow.storage.migrate import VERSION_TABLE
from jiedai_flow.storage.sql.opening import shown_url

if TYPE_CHECKING:
    from jiedai_flow.storage.chain import VerifyReport

SERVER_TOOLS = {
    "postgresql": ("pg_dump --format=custom", "pg_restore"),
    "mysql": ("mariadb-dump --single-transaction", "mariadb"),
    "mariadb": ("mariadb-dump --single-transaction", "mariadb"),
}
"""The server databases' own backup and restore tools, as ``jiedai db backup`` names them."""


@attrs.frozen
class BackupReport:
    """What :func:`backup` wrote: the file, its size, the schema revision it holds and, unless
    verification was skipped, the audit trail's verdict on the copy."""

    path: Path
    size: int
    revision: str | None
    verified: VerifyReport | None


def backup(
    url: str | sa.URL, target: str | Path, *, replace: bool = False, verify: bool = True
) -> BackupReport:
    """Back up the SQLite database at ``url`` into ``target`` while others may be writing it.

    ``replace`` allows replacing an existing ``target`` (never the database itself). With ``verify``
    the copy's audit trail is verified (:meth:`SQLStore.verify`); a copy whose trail does not verify
    is still written — it holds what the database holds — and the report says what is wrong.
    Raises :class:`StorageError` for a database that is not a SQLite file (naming the server's own
    tool), a target that exists or is the database, and a copy SQLite finds damaged."""
    parsed = sa.make_url(url)
    source = _sqlite_file(parsed)
    target = Path(target)
    _check_target(source, target, replace)
    part = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        _copy(source, part)
        verified = _verified(part) if verify else None
        revision = _finish(part)
        _durable_rename(part, target)
    finally:
        for leftover in (part, *(part.with_name(f"{part.name}-{end}") for end in ("wal", "shm", "journal"))):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return BackupReport(target, target.stat().st_size, revision, verified)


def _sqlite_file(url: sa.URL) -> Path:
    if url.get_backend_name() != "sqlite":
        tool = SERVER_TOOLS.get(url.get_backend_name())
        hint_zh = (
            f"请用数据库自带的工具：备份 {tool[0]}，恢复 {tool[1]}" if tool else "请用数据库自带的备份工具"
        )
        hint_en = (
            f"use the server's own tools: back up with {tool[0]}, restore with {tool[1]}"
            if tool
            else ("use the database's own backup tool")
        )
        raise StorageError(
            f"jiedai db backup 只备份 SQLite 文件，{shown_url(url)} 不是；{hint_zh}（见 docs/operations.md）",
            f"jiedai db backup backs up SQLite files only, not {shown_url(url)}; {hint_en} "
            "(see docs/operations.md)",
        )
    database = url.database
    if database in (None, "", ":memory:") or "uri" in url.query:
        raise StorageError(
            "内存中的 SQLite 数据库没有可备份的文件", "an in-memory SQLite database has no file to back up"
        )
    path = Path(str(database))
    if not path.is_file():
        raise StorageError(f"数据库文件 {path} 不存在", f"database file {path} does not exist")
    return path


def _check_target(source: Path, target: Path, replace: bool) -> None:
    names = {source.resolve(), *(source.resolve().with_name(f"{source.name}-{e}") for e in ("wal", "shm"))}
    if target.resolve() in names or (target.exists() and _same_file(source, target)):
        raise StorageError(
            f"不会把备份写到数据库本身 {target} 上，请换一个文件名",
            f"will not write the backup over the database itself ({target}); choose another file",
        )
    if target.is_dir():
        raise StorageError(
            f"{target} 是一个目录，请给出备份文件名", f"{target} is a folder: name the backup file"
        )
    if target.exists() and not replace:
        raise StorageError(
            f"备份文件 {target} 已存在：换一个文件名，或明确要求替换（--force）",
            f"backup file {target} already exists: choose another name, or ask to replace it (--force)",
        )
    if not target.parent.is_dir():
        raise StorageError(f"目录 {target.parent} 不存在", f"folder {target.parent} does not exist")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _copy(source: Path, part: Path) -> None:
    """One consistent snapshot of ``source`` into ``part``, writers going on between steps."""
    reader = sqlite3.connect(f"file:{quote(str(source.resolve()))}?mode=ro", uri=True)  # never writes it
    try:
        reader.execute("PRAGMA busy_timeout=60000")
        writer = sqlite3.connect(part)
        try:
            reader.backup(writer)  # why: one step, one read transaction (see the module's doc)
        finally:
            writer.close()
    except sqlite3.Error as error:
        raise StorageError(f"备份 {source} 失败：{error}", f"backing up {source} failed: {error}") from error
    finally:
        reader.close()


def _verified(part: Path) -> VerifyReport:
    from jiedai_flow.storage.sql.store import SQLStore

    store = SQLStore(f"sqlite:///{part}", create=False)
    try:
        return store.verify()
    finally:
        store.close()


def _finish(part: Path) -> str | None:
    """Check the copy page by page, make it one file with a rollback journal, and read its schema
    revision."""
    copy = sqlite3.connect(part, isolation_level=None)
    try:
        copy.execute("PRAGMA journal_mode=DELETE")  # why: one file to keep, nothing left beside it
        problems = [row[0] for row in copy.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            shown = "; ".join(problems[:5])
            raise StorageError(
                f"备份副本未通过 SQLite 完整性检查：{shown}",
                f"the copy fails SQLite's integrity check: {shown}",
            )
        try:
            row = copy.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchone()
        except sqlite3.OperationalError:  # no schema stamped: a database jiedai never created
            row = None
    finally:
        copy.close()
    return None if row is None else str(row[0])


def _durable_rename(part: Path, target: Path) -> None:
    with part.open("rb") as file:
        os.fsync(file.fileno())
    os.replace(part, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
