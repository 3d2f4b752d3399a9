"""Who may not take a task 不得接手的人: the ``barred`` column of the task index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06

One signature a chain: someone who signed an approval chain (or holds another task of the step) may
not take a pool task of it. The task index did not know who signed, so such a pool task stayed in
their 待办 and acting on it was refused. Each live pool task's row now names them (``|``-separated,
in the form of ``tasks.barred_key``), and 待办 leaves the task out for them. Rows of other tasks
(held, done, execution) hold "".
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # MySQL takes no literal default on a TEXT column: added empty, filled, then made NOT NULL
    # MySQL commits DDL at once: a run that failed after the add finds the column there
    if "barred" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("jd_tasks")}:
        with op.batch_alter_table("jd_tasks") as batch:
            batch.add_column(sa.Column("barred", sa.Text, nullable=True))
    op.execute("UPDATE jd_tasks SET barred = ''")
    _backfill(op.get_bind())
    with op.batch_alter_table("jd_tasks") as batch:
        batch.alter_column("barred", existing_type=sa.Text(), nullable=False)


def _backfill(conn: sa.Connection) -> None:
    """The column of every live pool task, recomputed from its reception (verify compares it)."""
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.storage.codec import decode
    from jiedai_flow.storage.sql.tasks import barred_text

    ids = [
        rid
        for (rid,) in conn.execute(
            sa.text(
                "SELECT DISTINCT reception_id FROM jd_tasks"
                " WHERE kind = 'approval' AND state IN ('open', 'waiting')"
            )
        )
    ]
    for rid in ids:
        data = conn.execute(sa.text("SELECT data FROM jd_receptions WHERE id = :i"), {"i": rid}).scalar_one()
        reception = decode(Reception, data)
        for task in reception.tasks:
            barred = barred_text(reception.barred(task))
            if barred:
                conn.execute(
                    sa.text("UPDATE jd_tasks SET barred = :b WHERE id = :i"), {"b": barred, "i": task.id}
                )


def downgrade() -> None:
    with op.batch_alter_table("jd_tasks") as batch:
        batch.drop_column("barred")
