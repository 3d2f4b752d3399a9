"""The task index 任务索引, the carbon-copy index 抄送, stand-ins 代理, and the handler column of
receptions.

Revision ID: 0007
Revises: 0006

Approval steps now open tasks for people, levels and department pools (会签, 或签, 票签, 加签 …); the
lists people work from — 待办, 已办, 抄送我的, 我发起的 — are indexed queries on these tables, written
in the same transaction as the reception, never computed by loading receptions. Receptions pending
before this revision get their tasks on their next command.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

Moment = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("jd_receptions") as batch:
        batch.add_column(sa.Column("handler_id", sa.String(64), nullable=False, server_default=""))
    op.create_index("ix_jd_receptions_handler", "jd_receptions", ["handler_id", "created_at", "id"])
    op.create_table(
        "jd_tasks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("reception_id", sa.String(64), sa.ForeignKey("jd_receptions.id"), nullable=False),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(12), nullable=False),
        sa.Column("host_unit", sa.String(200), nullable=False),
        sa.Column("handler_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("assignee_kind", sa.String(16), nullable=False),
        sa.Column("assignee", sa.String(200), nullable=False),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("due", sa.Date, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("done_by", sa.String(64), nullable=False),
        sa.Column("done_at", Moment, nullable=True),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
    )
    op.create_index("ix_jd_tasks_owner", "jd_tasks", ["owner", "state", "due", "created_at", "id"])
    op.create_index(
        "ix_jd_tasks_pool",
        "jd_tasks",
        ["assignee_kind", "assignee", "state", "owner", "due", "created_at", "id"],
    )
    op.create_index("ix_jd_tasks_done", "jd_tasks", ["done_by", "done_at", "id"])
    op.create_index("ix_jd_tasks_reception", "jd_tasks", ["reception_id"])
    op.create_table(
        "jd_copies",
        sa.Column("reception_id", sa.String(64), sa.ForeignKey("jd_receptions.id"), primary_key=True),
        sa.Column("actor_id", sa.String(64), primary_key=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("host_unit", sa.String(200), nullable=False),
        sa.Column("by_id", sa.String(64), nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
    )
    op.create_index("ix_jd_copies_actor", "jd_copies", ["actor_id", "at", "reception_id"])
    op.create_table(
        "jd_proxies",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("principal", sa.String(64), nullable=False),
        sa.Column("stand_in", sa.String(64), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("set_by", sa.String(64), nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
    )
    op.create_index("ix_jd_proxies_stand_in", "jd_proxies", ["stand_in", "end_date"])
    _backfill(op.get_bind())


def _backfill(conn: sa.Connection) -> None:
    """The handler column and the index rows of the tasks and copies every stored reception holds
    (none were written before this revision, unless the database was downgraded from it)."""
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.storage import schema
    from jiedai_flow.storage.codec import decode
    from jiedai_flow.storage.sql.tasks import copy_row, task_row

    last = ""
    while True:
        rows = conn.execute(
            sa.text("SELECT id, data FROM jd_receptions WHERE id > :last ORDER BY id LIMIT 500"),
            {"last": last},
        ).fetchall()
        if not rows:
            return
        for rid, data in rows:
            reception = decode(Reception, data)
            conn.execute(
                sa.text("UPDATE jd_receptions SET handler_id = :h WHERE id = :i"),
                {"h": reception.handler.id, "i": rid},
            )
            if reception.tasks:
                # the columns of this revision: later ones (0010's ``barred``) are filled by their own
                made = [task_row(reception, t) for t in reception.tasks]
                conn.execute(schema.tasks.insert(), [{k: r[k] for k in r if k != "barred"} for r in made])
            if reception.copies:
                conn.execute(schema.copies.insert(), [copy_row(reception, c) for c in reception.copies])
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_table("jd_proxies")
    op.drop_table("jd_copies")
    op.drop_table("jd_tasks")
    op.drop_index("ix_jd_receptions_handler", table_name="jd_receptions")
    with op.batch_alter_table("jd_receptions") as batch:
        batch.drop_column("handler_id")
