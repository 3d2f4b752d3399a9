"""Create or upgrade a database to the current schema with the Alembic migrations shipped in the
package (``jiedai_flow/storage/migrations``). Used on first use of the embedded default, by
:func:`upgrade` from an application and by ``jiedai db upgrade``."""

from __future__ import annotations

from contextlib import contextmanager
from importlib.resources import files
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy import Engine


VERSION_TABLE = "jd_alembic_version"


def _config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(files("jiedai_flow.storage") / "migrations"))
    config.attributes["connection"] = connection
    return config


def _context(conn: sa.Connection) -> MigrationContext:
    return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})


def head_revision() -> str:
    """The newest revision shipped with this version of jiedai_flow."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine | str) -> str | None:
    """The revision a database is at (None for an empty database)."""
    with _bound(engine) as bind, bind.connect() as conn:
        return _context(conn).get_current_revision()


def upgrade(engine: Engine | str, revision: str = "head") -> str:
    """Create or upgrade the database to ``revision``; returns the revision it is now at."""
    with _bound(engine) as bind:
        with bind.connect() as conn:
            if _context(conn).get_current_revision() == head_revision():
                return head_revision()
        with bind.begin() as conn:
            command.upgrade(_config(conn), revision)
        return current_revision(bind) or ""


@contextmanager
def _bound(engine: Engine | str) -> Iterator[Engine]:
    """The engine to use; one made here from a URL is disposed of afterwards."""
    if not isinstance(engine, str):
        yield engine
        return
    made = sa.create_engine(engine)
    try:
        yield made
    finally:
        made.dispose()
