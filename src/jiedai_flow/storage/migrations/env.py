"""Alembic environment: runs on the connection :mod:`jiedai_flow.storage.migrate` hands over."""

from __future__ import annotations

from alembic import context

from jiedai_flow.storage.migrate import VERSION_TABLE
from jiedai_flow.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through jiedai_flow.storage.migrate.upgrade() or `jiedai db upgrade`")
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
