"""Backing up a SQLite database 备份 while it is in use, into one file that can be kept, copied and
verified on its own.

Copying ``jiedai.db`` with ``cp`` while ``jiedai serve`` or a dispatcher writes can catch the file
half way through a commit, and leaves out what is still in the ``-wal`` file beside it. SQLite's
online backup copies one consistent snapshot: it is taken in a single step, inside one read
transaction, during which writers go on committing to the write-ahead log (jiedai's stores put their
databases in WAL mode; a database in rollback-journal mode instead holds its writers back for the
length of the copy). Copying in several steps would let a writer's commit between two of them start
the copy over — on a busy database, again and again.

The copy is made in a new private file beside the target (created exclusively, never through a link
planted there, readable by its owner only), checked by SQLite's integrity check and, unless asked not
to, by verifying its audit trail, turned into a single self-contained file (rollback journal, no
``-wal``), made read-only and only then renamed into place. A backup that fails leaves the previous
one as it was; a copy whose trail does not verify never takes its place either (it is kept beside it
as ``FILE.unverified``).

PostgreSQL and MySQL/MariaDB have their own tools for this (``pg_dump``, ``mariadb-dump``); see
``docs/operations.md``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
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

COMPANIONS = ("wal", "shm", "journal")
"""The files SQLite keeps beside a database ``x.db`` as ``x.db-wal``, ``x.db-shm``, ``x.db-journal``."""

STALE_PART = 24 * 3600
"""Seconds after which a temporary copy a killed backup left beside its target is removed."""

UNVERIFIED = ".unverified"
"""The ending of a copy whose audit trail did not verify: kept beside the target, never in its place."""


@attrs.frozen
class BackupReport:
    """What :func:`backup` wrote: the file, its size, the schema revision it holds and, unless
    verification was skipped, the audit trail's verdict on the copy. A copy that did not verify
    is at ``path`` = the target with ``.unverified`` appended; the target is untouched."""

    path: Path
    size: int
    revision: str | None
    verified: VerifyReport | None


def backup(
    url: str | sa.URL, target: str | Path, *, replace: bool = False, verify: bool = True
) -> BackupReport:
    """Back up the SQLite database at ``url`` into ``target`` while others may be writing it.

    ``replace`` allows replacing an existing ``target`` (never the database or a file SQLite keeps
    beside it). With ``verify`` the copy's audit trail is verified (:meth:`SQLStore.verify`); a copy
    whose trail does not verify is written as ``target.unverified`` — it holds what the database
    holds — and the report says what is wrong. The backup is read-only for its owner alone.
    Raises :class:`StorageError` for a database that is not a SQLite file (naming the server's own
    tool), a target that exists or is the database, a target with files of SQLite's beside it, a
    copy SQLite finds damaged, and a copy that cannot be written."""
    source = sqlite_source(url)
    target = Path(target)
    check_target(source, target, replace)
    _sweep(target)
    part = _private_file(target)
    try:
        try:
            _copy(source, part)
            verified = _verified(part) if verify else None
            revision = _finish(part)
            final = target if verified is None or verified.ok else target.with_name(target.name + UNVERIFIED)
            part.chmod(0o400)  # why: a kept copy is not written by accident, and opens read-only
            _durable_rename(part, final)
        except (OSError, sqlite3.Error, sa.exc.SQLAlchemyError) as error:
            raise StorageError(
                f"无法在 {target.parent} 写出备份 {target.name}：{error}",
                f"cannot write the backup {target.name} in {target.parent}: {error}",
            ) from error
    finally:
        _remove(part)
    return BackupReport(final, final.stat().st_size, revision, verified)


def sqlite_source(url: str | sa.URL) -> Path:
    """The SQLite file ``url`` names. Raises :class:`StorageError` for any other database, naming
    the server's own backup tool, and for a SQLite database that is not a plain file."""
    parsed = sa.make_url(url)
    backend = parsed.get_backend_name()
    if backend != "sqlite":
        tool = SERVER_TOOLS.get(backend)
        hint_zh = (
            f"请用数据库自带的工具：备份 {tool[0]}，恢复 {tool[1]}" if tool else "请用数据库自带的备份工具"
        )
        hint_en = (
            f"use the server's own tools: back up with {tool[0]}, restore with {tool[1]}"
            if tool
            else "use the database's own backup tool"
        )
        raise StorageError(
            f"jiedai db backup 只备份 SQLite 文件，{shown_url(parsed)} 不是；"
            f"{hint_zh}（见 docs/operations.md）",
            f"jiedai db backup backs up SQLite files only, not {shown_url(parsed)}; {hint_en} "
            "(see docs/operations.md)",
        )
    database = parsed.database
    if database in (None, "", ":memory:"):
        raise StorageError(
            "内存中的 SQLite 数据库没有可备份的文件", "an in-memory SQLite database has no file to back up"
        )
    if "uri" in parsed.query:
        raise StorageError(
            f"SQLite 地址 {shown_url(parsed)} 是 URI 形式：请写作 sqlite:///文件路径 再备份",
            f"the SQLite URL {shown_url(parsed)} is a URI: give the file as sqlite:///path to back it up",
        )
    path = Path(str(database))
    if not path.is_file():
        raise StorageError(f"数据库文件 {path} 不存在", f"database file {path} does not exist")
    return path


def protected(source: Path) -> set[Path]:
    """The database and the files SQLite keeps beside it, under its own name and, when it is a
    link, its real one: nothing may be written over any of them."""
    names = {source.absolute(), source.resolve()}
    return {n.with_name(n.name + suffix) for n in names for suffix in ("", *(f"-{e}" for e in COMPANIONS))}


def check_target(source: Path, target: Path, replace: bool) -> None:
    """Refuse ``target`` before anything is copied: the database or a file beside it, a folder, an
    existing file unless ``replace``, a missing folder, and a target with a ``-wal`` or ``-journal``
    of SQLite's beside it, which SQLite would replay onto the new copy the first time it is opened."""
    if any(target.absolute() == p or _same_file(target, p) for p in protected(source)):
        raise StorageError(
            f"不会把备份写到数据库或它旁边的文件 {target} 上，请换一个文件名",
            f"will not write the backup over the database or a file beside it ({target}); "
            "choose another file",
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
    for end in ("wal", "journal"):
        beside = target.with_name(f"{target.name}-{end}")
        if beside.is_file() and beside.stat().st_size > 0:
            raise StorageError(
                f"备份文件旁有 {beside.name}：{target.name} 正被打开，或上次没有正常关闭；"
                "SQLite 会把它并进新的备份。请先关掉打开它的程序，或换一个文件名",
                f"{beside.name} lies beside the backup file: {target.name} is open, or was not closed "
                "cleanly, and SQLite would fold it into the new backup. Close what has it open, or choose "
                "another name",
            )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _sweep(target: Path) -> None:
    """Remove temporary copies a killed backup of ``target`` left more than a day ago."""
    now = time.time()
    for stale in target.parent.glob(f".{target.name}.*.part"):
        with contextlib.suppress(OSError):
            if not stale.is_symlink() and now - stale.stat().st_mtime > STALE_PART:
                _remove(stale)


def _private_file(target: Path) -> Path:
    """A new empty file beside ``target``, made exclusively (never through a link planted there),
    readable and writable by its owner alone, whatever the umask."""
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        os.fchmod(descriptor, 0o600)  # why: guests' personal data is in it, whatever the database's mode
    finally:
        os.close(descriptor)
    return Path(name)


def _remove(part: Path) -> None:
    for leftover in (part, *(part.with_name(f"{part.name}-{end}") for end in COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


def _copy(source: Path, part: Path) -> None:
    """One consistent snapshot of ``source`` into ``part``, writers going on meanwhile."""
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

    store = SQLStore(sa.URL.create("sqlite", database=str(part)), create=False)
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
    for end in ("shm", "wal"):  # an empty -wal or a -shm of an old backup would outlive it
        with contextlib.suppress(FileNotFoundError):
            target.with_name(f"{target.name}-{end}").unlink()
    os.replace(part, target)
    if os.name == "posix":  # why: the rename itself survives a power cut once its folder is synced
        folder = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
