"""Real database servers for the SQL back-end tests: one private schema/database per test.

PostgreSQL and MariaDB are the servers of the development and CI machines. Where one is absent
its tests skip with the reason — unless ``JIEDAI_REQUIRE_SERVERS=1`` (set by ``.ci/run``), where
a missing server fails the run instead.

``JIEDAI_TEST_MYSQL_COLLATION`` (e.g. ``utf8mb4_general_ci``) names the collation of the MariaDB
databases :func:`private_database` makes, in place of ``utf8mb4_bin`` (case-exact, but blind to
trailing spaces): to run the MariaDB tests as a county's database made with a bare ``CREATE
DATABASE`` would have them, case-insensitive too, e.g.
``JIEDAI_TEST_MYSQL_COLLATION=utf8mb4_general_ci python -m pytest -k mysql tests``. Under either,
migration 0012 converts jiedai's tables to ``utf8mb4_nopad_bin``: the database's collation is what
they were made in before it.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

POSTGRES_URL = os.environ.get("JIEDAI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MYSQL_URL = os.environ.get("JIEDAI_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
REQUIRED = os.environ.get("JIEDAI_REQUIRE_SERVERS") == "1"
MYSQL_COLLATION = os.environ.get("JIEDAI_TEST_MYSQL_COLLATION") or "utf8mb4_bin"

BACKENDS = ("sqlite", "postgresql", "mysql")


def _unavailable(url: str, error: Exception) -> None:
    shown = sa.make_url(url).render_as_string(hide_password=True)
    reason = f"database server not reachable at {shown}: {error}"
    if REQUIRED:
        pytest.fail(f"{reason} (JIEDAI_REQUIRE_SERVERS=1: servers are mandatory here)")
    pytest.skip(reason)


def admin_engine(url: str) -> sa.Engine:
    """An autocommit engine on the server of ``url``, for making and dropping databases; skips the
    test (or fails it, under ``JIEDAI_REQUIRE_SERVERS=1``) when the server is not there."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except Exception as error:
        engine.dispose()
        _unavailable(url, error)
    return engine


def private_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of a fresh, empty database of ``backend``; drop it afterwards.

    MariaDB's is ``utf8mb4`` with the collation ``JIEDAI_TEST_MYSQL_COLLATION`` names, by default
    ``utf8mb4_bin``."""
    name = f"jd_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'jiedai.db'}"
        return
    if backend == "postgresql":
        admin = admin_engine(POSTGRES_URL)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{name}"')
        url = sa.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={name}"})
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{name}" CASCADE')
            admin.dispose()
        return
    admin = admin_engine(MYSQL_URL)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE {MYSQL_COLLATION}")
    try:
        yield sa.make_url(MYSQL_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE `{name}`")
        admin.dispose()


def with_server_collation(url: str) -> str:
    """``url`` (a fresh, empty database of :func:`private_database`) with MariaDB's database set to
    the server's usual case-insensitive collation, as a county's database would be made with
    ``CREATE DATABASE`` and no collation named (``private_database`` makes them binary); other back
    ends as they are. For tests of what such a collation changes: keys it takes as one, its order."""
    parsed = sa.make_url(url)
    if not parsed.drivername.startswith(("mysql", "mariadb")):
        return url
    admin = admin_engine(MYSQL_URL)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f"ALTER DATABASE `{parsed.database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )
    finally:
        admin.dispose()
    return url


@contextmanager
def foreign_keys_off(db: sa.Engine) -> Iterator[sa.Connection]:
    """A connection of someone with write access to ``db``, in one transaction, with foreign keys
    not enforced for it, as anyone who can write the tables can arrange: PostgreSQL's
    ``session_replication_role``, MariaDB's ``FOREIGN_KEY_CHECKS``, SQLite's ``foreign_keys``
    pragma. For tests of tampering."""
    with db.begin() as conn:
        dialect = conn.dialect.name
        if dialect == "postgresql":
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        elif dialect in ("mysql", "mariadb"):
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        elif dialect == "sqlite":  # the store's own connections ask for them
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            yield conn
        finally:
            if dialect in ("mysql", "mariadb"):
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
