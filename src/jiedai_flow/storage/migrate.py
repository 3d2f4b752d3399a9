"""Create or upgrade a database to the current schema with the Alembic migrations shipped in the
package (``jiedai_flow/storage/migrations``). Used on first use of the embedded default, by
:func:`upgrade` from an application and by ``jiedai db upgrade``."""

from __future__ import annotations

from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from jiedai_flow.errors import StorageError

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


@cache
def _shipped() -> frozenset[str]:
    """Every revision shipped with this version of jiedai_flow."""
    return frozenset(script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions())


def current_revision(engine: Engine | str) -> str | None:
    """The revision a database is at (None for an empty database), as stamped: possibly one of a
    newer jiedai_flow, which :func:`require_known` refuses."""
    with _bound(engine) as bind, bind.connect() as conn:
        return _context(conn).get_current_revision()


def require_known(engine: Engine | str) -> str | None:
    """The revision a database is at, if this version of jiedai_flow knows it (None: no schema yet);
    a :class:`~jiedai_flow.errors.StorageError` saying to upgrade jiedai-flow if a newer one stamped it."""
    found = current_revision(engine)
    _refuse_newer(found)
    return found


def is_known(revision: str | None) -> bool:
    """Whether ``revision`` is one this version ships (or None: no schema yet), i.e. not a newer
    version's."""
    return revision is None or revision in _shipped()


def _refuse_newer(found: str | None) -> None:
    # why: a revision this version does not ship was written by a newer one (Alembic would only say
    # it "can't locate" it), and this version must neither read nor write tables it does not know
    if not is_known(found):
        head = head_revision()
        raise StorageError(
            f"数据库结构 {found} 比本版本 jiedai-flow 认识的（{head}）新：它已由更新的 jiedai-flow 升级过，"
            "请升级 jiedai-flow（pip install -U jiedai-flow）再打开",
            f"the database's schema {found} is newer than this version of jiedai-flow knows ({head}): "
            "a newer jiedai-flow upgraded it; upgrade jiedai-flow (pip install -U jiedai-flow) to open it",
        )


def upgrade(engine: Engine | str, revision: str = "head") -> str:
    """Create or upgrade the database to ``revision``; returns the revision it is now at. A database
    a newer jiedai_flow upgraded is a :class:`~jiedai_flow.errors.StorageError`, left as it is."""
    with _bound(engine) as bind:
        with bind.connect() as conn:
            found = _context(conn).get_current_revision()
            if found == head_revision():
                return found
            _refuse_newer(found)
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
