"""The SQL back end as a storage plugin for SQLAlchemy URLs (``sqlite:///jiedai.db``,
``postgresql+psycopg://…``, ``mysql+pymysql://…``, and other installed dialects).

Plugin name ``jiedai.sql``. A URL whose dialect SQLAlchemy does not know is not ours (None), so
another plugin may take it; a known dialect that fails to open is a :class:`StorageError`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from jiedai_flow.errors import StorageError
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.storage.sql import SQLStore


@hookimpl(trylast=True)
def jiedai_storage(url: str) -> SQLStore | None:
    try:
        sa.make_url(url).get_dialect()
    except (ArgumentError, NoSuchModuleError):
        return None
    try:
        return SQLStore(url)
    except (sa.exc.SQLAlchemyError, ImportError, OSError) as exc:
        raise StorageError(
            f"无法打开数据库 {sa.make_url(url).render_as_string(hide_password=True)}：{exc}",
            f"cannot open database {sa.make_url(url).render_as_string(hide_password=True)}: {exc}",
        ) from exc
