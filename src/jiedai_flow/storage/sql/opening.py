"""Opening a database by URL 打开数据库: the one error that says why it cannot be opened, without
the URL's password, whatever failed — the URL itself, an option its driver does not take, or the
server."""

from __future__ import annotations

import re

import sqlalchemy as sa

from jiedai_flow.errors import StorageError

_PASSWORD = re.compile(r"(://[^/?#@:]*:)[^/?#@]*@")
"""``user:password@`` in a URL SQLAlchemy cannot parse (``host:abc``), to hide it by hand."""


def shown_url(url: str | sa.URL) -> str:
    """``url`` without its password, also when SQLAlchemy cannot read it."""
    if isinstance(url, sa.URL):
        return url.render_as_string(hide_password=True)
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except (sa.exc.ArgumentError, ValueError):  # ValueError: a port that is not a number
        return _PASSWORD.sub(r"\1***@", url)


def opening_error(url: str | sa.URL, error: BaseException) -> StorageError:
    """「无法打开数据库 …」: ``error`` raised while opening the database at ``url``."""
    shown = shown_url(url)
    if isinstance(error, sa.exc.SQLAlchemyError | OSError | ImportError):
        return StorageError(f"无法打开数据库 {shown}：{error}", f"cannot open database {shown}: {error}")
    detail = f"{type(error).__name__}: {error}"  # a driver's own, e.g. PyMySQL's on `charset=bogus`
    return StorageError(
        f"无法打开数据库 {shown}（地址或其中的选项有误？）：{detail}",
        f"cannot open database {shown} (is the URL or one of its options wrong?): {detail}",
    )


def check_connects(db: sa.Engine) -> None:
    """Connect once, so that a database that cannot be opened is a :class:`StorageError` before
    anything is read or migrated."""
    try:
        db.connect().close()
    except Exception as error:  # why: a driver may raise anything for a URL option it cannot take
        raise opening_error(db.url, error) from error
