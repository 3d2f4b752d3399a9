"""One audit chain per shard: a shard column on events, one head row per shard, the shard count.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05

A single chain head serialized every writer. Events now go to one of a fixed number of chains
(the shard, a function of the reception id), each with its own head row. The events already
written stay exactly as they are — their chain becomes shard 0, which continues it — so earlier
checkpoints still verify against shard 0, and no stored hash is rewritten.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import op

from jiedai_flow.storage.chain import DEFAULT_SHARDS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from alembic.operations import BatchOperations

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_EVENTS = "jd_audit_events"


def upgrade() -> None:
    bind = op.get_bind()
    shard = sa.Column("shard", sa.Integer, nullable=False, server_default="0")
    if bind.dialect.name == "sqlite":
        with _rebuilt() as batch:
            batch.add_column(shard)
            batch.create_primary_key("pk_jd_audit_events", ["shard", "chain_index"])
    else:
        op.add_column(_EVENTS, shard)
        _replace_primary_key(bind, ["shard", "chain_index"])
    layout = op.create_table(
        "jd_chain_layout",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("shards", sa.Integer, nullable=False),
    )
    op.bulk_insert(layout, [{"id": 1, "shards": DEFAULT_SHARDS}])
    head = sa.table("jd_chain_head", sa.column("id"), sa.column("chain_index"), sa.column("hash"))
    bind.execute(head.update().where(head.c.id == 1).values(id=0))  # the old chain is shard 0
    present = set(bind.execute(sa.select(head.c.id)).scalars())
    missing = [{"id": n, "chain_index": 0, "hash": ""} for n in range(DEFAULT_SHARDS) if n not in present]
    op.bulk_insert(head, missing)


@contextmanager
def _rebuilt() -> Iterator[BatchOperations]:
    """SQLite cannot alter a primary key: the table is copied. SQLAlchemy warns that the copied
    columns' primary-key flags differ from the new key, which is exactly the change intended."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Table '_alembic_tmp_", sa.exc.SAWarning)
        with op.batch_alter_table(_EVENTS, recreate="always") as batch:
            yield batch


def _replace_primary_key(bind: sa.Connection, columns: list[str]) -> None:
    """PostgreSQL and MySQL change a primary key in place; its name is whatever the server gave."""
    name = sa.inspect(bind).get_pk_constraint(_EVENTS).get("name") or "PRIMARY"
    op.drop_constraint(name, _EVENTS, type_="primary")
    op.create_primary_key("pk_jd_audit_events", _EVENTS, columns)


def downgrade() -> None:
    """Back to one chain: possible only while every event is still in shard 0."""
    bind = op.get_bind()
    events = sa.table(_EVENTS, sa.column("shard"))
    if bind.execute(sa.select(sa.func.count()).where(events.c.shard != 0)).scalar_one():
        raise RuntimeError(
            "审计事件已分布在多个分片，不能降级为单链 / events are spread over several shards: "
            "cannot downgrade to one chain"
        )
    head = sa.table("jd_chain_head", sa.column("id"))
    bind.execute(head.delete().where(head.c.id != 0))
    bind.execute(head.update().values(id=1))
    op.drop_table("jd_chain_layout")
    if bind.dialect.name == "sqlite":
        with _rebuilt() as batch:
            batch.create_primary_key("pk_jd_audit_events", ["chain_index"])
            batch.drop_column("shard")
    else:
        _replace_primary_key(bind, ["chain_index"])
        op.drop_column(_EVENTS, "shard")
