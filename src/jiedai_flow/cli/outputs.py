"""Where a command may write its output 输出文件: never over the database in use or a file the run
reads, never over any SQLite database. Reports, lists and diagrams are made again at will, so an
ordinary file of the same name is replaced; a database or a configuration file is not."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import sqlalchemy as sa

from jiedai_flow.cli.app import usage_problem

if TYPE_CHECKING:
    from pathlib import Path

    from jiedai_flow.cli.app import App

SQLITE_HEADER = b"SQLite format 3\x00"


SUFFIXES = {".html": "html", ".htm": "html", ".csv": "csv", ".xlsx": "xlsx"}
"""File name endings that say a format, for :func:`check_output`'s ``fmt``."""


def check_output(app: App, path: Path, option: str = "--output", *, fmt: str | None = None) -> None:
    """Refuse ``path`` (as a usage error of ``option``) when writing it would destroy data: the
    SQLite database this run opened (or its ``-wal``/``-shm``), the actors, standards, calendar,
    notifiers or settings file it reads, or any SQLite database; and, given the output's ``fmt``,
    a name whose ending says another format (an Excel workbook in ``list.html``)."""
    said = SUFFIXES.get(path.suffix.lower())
    if fmt in SUFFIXES.values() and said is not None and said != fmt:
        raise usage_problem(
            "--format",
            f"输出文件 {path.name} 是 {said} 文件名，格式却是 {fmt}："
            f"请用 --format {said}，或把文件名改成 .{fmt}",
            f"output file {path.name} is named as {said} but the format is {fmt}: use --format {said}, "
            f"or name the file .{fmt}",
        )
    target = path.resolve()
    if any(_same_file(target, kept) for kept in _kept(app)):
        raise usage_problem(
            option,
            f"不会写到 {path}：这是本次运行在用的数据库或配置文件，请换一个输出文件",
            f"will not write over {path}: it is the database or a configuration file in use; "
            "choose another file",
        )
    if _is_sqlite(target):
        raise usage_problem(
            option,
            f"不会写到 {path}：这是一个 SQLite 数据库，请换一个输出文件",
            f"will not write over {path}: it is an SQLite database; choose another file",
        )


def check_backup_target(app: App, path: Path, force: bool) -> None:
    """Refuse ``path`` as the file of ``jiedai db backup`` (a usage error): the database in use or
    a file the run reads, whatever ``force`` says; any other existing file unless ``force``."""
    if any(_same_file(path.resolve(), kept) for kept in _kept(app)):
        raise usage_problem(
            "FILE",
            f"不会把备份写到 {path} 上：这是本次运行在用的数据库或配置文件，请换一个文件名",
            f"will not write the backup over {path}: it is the database or a configuration file in use; "
            "choose another name",
        )
    if path.exists() and not force:
        raise usage_problem(
            "FILE",
            f"备份文件 {path} 已存在：换一个文件名，或加 --force 替换它",
            f"backup file {path} already exists: choose another name, or add --force to replace it",
        )


def _kept(app: App) -> set[Path]:
    kept = [
        app.actors_path,
        *app.standards_paths,
        *app.calendar_paths,
        *(p for p in (app.notifiers_path, app.config_path) if p is not None),
    ]
    database = _sqlite_file(app.db)
    if database is not None:
        from jiedai_flow.storage.sql.backup import protected

        kept += protected(database)  # the file and SQLite's beside it, under its name and its real one
    return {p.resolve() for p in kept}


def _same_file(a: Path, b: Path) -> bool:
    """One file under two names: the same path, or a hard link, or another spelling a case-blind
    file system takes as the same."""
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # either is not there: not one file
        return False


def _sqlite_file(url: str) -> Path | None:
    from pathlib import Path

    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:  # not there, a directory, not readable: nothing of ours to protect
        return False
