"""Database URLs written wrong 数据库地址写错: what a person types for ``--db`` that no back end
could ever accept, and the URL they meant.

A URL that names a scheme no installed back end knows (``redis://…``) may be a plugin's: that stays
a plugin error (exit code 4, "is its plugin installed?"). These are not — a file name without
``sqlite:///``, Heroku's ``postgres://``, a server database without a driver that is not installed
when the one ``jiedai-flow`` installs is — so they are usage errors (exit code 2) showing the form
to write instead.
"""

from __future__ import annotations

import importlib.util

FORMS = "sqlite:///path.db, postgresql+psycopg://user@host/db, mysql+pymysql://user@host/db, memory://"
"""The URLs ``jiedai`` accepts without a plugin."""

_DRIVERS = {"postgresql": "psycopg", "mysql": "pymysql", "mariadb": "pymysql"}
"""The driver each server database's extra of ``jiedai-flow`` installs."""


def url_mistake(url: str, where: str = "--db") -> tuple[str, str] | None:
    """Why ``url``, given as ``where``, cannot name a database, in Chinese and English, with the URL
    meant; None if it may (if no back end opens it, that is the back end's or a plugin's to say)."""
    scheme, sep, rest = url.partition("://")
    name, plus, _driver = scheme.partition("+")
    if not sep and url.lower().startswith("sqlite:"):  # sqlite:jiedai.db, sqlite:/jiedai.db
        path = url[len("sqlite:") :]
        # why: /tmp/x.db is a path from the root; a bare /x.db more likely meant the folder's x.db
        meant = "sqlite:///" + (path if path.startswith("/") and "/" in path[1:] else path.lstrip("/"))
    elif not sep:
        meant = f"sqlite:///{url}"  # an absolute path gets its fourth slash
        return (
            f"{where} {url!r} 不是数据库地址；SQLite 文件请写作 {meant}。可用的形式：{FORMS}",
            f"{where} {url!r} is not a database URL; write a SQLite file as {meant}. Accepted forms: {FORMS}",
        )
    elif name == "sqlite" and rest and not rest.startswith("/"):
        meant = f"sqlite:///{rest}"
    elif name == "postgres":  # Heroku's and libpq's spelling, which SQLAlchemy does not accept
        meant = f"postgresql+{_DRIVERS['postgresql']}://{rest}"
    elif name in _DRIVERS and not plus and not _default_driver_installed(url) and _installed(_DRIVERS[name]):
        meant = f"{name}+{_DRIVERS[name]}://{rest}"
    else:
        return _malformed(url, where)
    shown, meant = _hidden(url), _hidden(meant)
    return (
        f"{where} 数据库地址 {shown} 写法有误，应写作 {meant}。可用的形式：{FORMS}",
        f"{where}: the database URL {shown} is written wrong; write {meant}. Accepted forms: {FORMS}",
    )


def _malformed(url: str, where: str) -> tuple[str, str] | None:
    """Why SQLAlchemy cannot read ``url`` as written: a host and port it cannot split, or an option
    after ``?`` its dialect cannot convert. None if it can (or if it is not a SQLAlchemy URL)."""
    import sqlalchemy as sa

    try:
        sa.make_url(url)
    except sa.exc.ArgumentError:
        return None  # not a SQLAlchemy URL: a plugin's perhaps
    except ValueError as error:
        zh, en = "读不出主机和端口", "its host and port cannot be read"
        return _written_wrong(url, where, f"{zh}（{error}）", f"{en} ({error})")
    try:
        sa.create_engine(url).dispose()  # reads the options; connects to nothing
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError):
        return None  # a dialect or driver not installed: the back end or a plugin says which
    except (ValueError, TypeError) as error:
        zh, en = "“?” 之后的选项有误", "an option after “?” is wrong"
        return _written_wrong(url, where, f"{zh}（{error}）", f"{en} ({error})")
    return None


def _written_wrong(url: str, where: str, why_zh: str, why_en: str) -> tuple[str, str]:
    shown = _hidden(url)
    return (
        f"{where} 数据库地址 {shown} 写法有误：{why_zh}。可用的形式：{FORMS}",
        f"{where}: the database URL {shown} is written wrong: {why_en}. Accepted forms: {FORMS}",
    )


def _default_driver_installed(url: str) -> bool:
    """Whether the driver SQLAlchemy picks for a URL that names none can be imported."""
    import sqlalchemy as sa

    try:
        sa.make_url(url).get_dialect().import_dbapi()
    except (sa.exc.ArgumentError, ImportError):
        return False
    return True


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _hidden(url: str) -> str:
    """``url`` without its password."""
    from jiedai_flow.storage.sql.opening import shown_url

    return shown_url(url)
