"""Outbox delivery: one row per channel, retries with backoff, leases for claiming, dead letters.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Moment = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("jd_outbox") as batch:
        batch.add_column(sa.Column("channel", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("next_attempt_at", Moment, nullable=True))
        batch.add_column(sa.Column("lease_until", Moment, nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text, nullable=True))
        batch.add_column(sa.Column("delivered_at", Moment, nullable=True))
    op.create_index("ix_jd_outbox_due", "jd_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_jd_outbox_due", "jd_outbox")
    with op.batch_alter_table("jd_outbox") as batch:
        for column in (
            "delivered_at",
            "last_error",
            "claimed_by",
            "lease_until",
            "next_attempt_at",
            "channel",
        ):
            batch.drop_column(column)
