"""The SQL back end as a storage plugin for SQLAlchemy URLs (``sqlite:///jiedai.db``,
``postgresql+psycopg://…``, ``mysql+pymysql://…``, and other installed dialects).

Plugin name ``jiedai.sql``. A URL whose dialect SQLAlchemy does not know is not ours (None), so
another plugin may take it; a known dialect that fails to open, or a URL whose host and port cannot
be read, is a :class:`StorageError`.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.storage.sql.opening import opening_error


@hookimpl(trylast=True)
def jiedai_storage(url: str) -> SQLStore | None:
    try:
        sa.make_url(url).get_dialect()
    except (ArgumentError, NoSuchModuleError):
        return None
    except ValueError as error:  # a host and port SQLAlchemy cannot read (`host:abc`, `[::1:5432`)
        raise opening_error(url, error) from error
    try:
        return SQLStore(url)
    except (sa.exc.SQLAlchemyError, ImportError, OSError) as error:
        raise opening_error(url, error) from error
