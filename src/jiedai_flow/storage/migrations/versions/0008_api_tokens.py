"""API tokens of the HTTP service 接口令牌: who a token speaks for, and only its hash.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

``jiedai serve`` accepts ``Authorization: Bearer <token>``; ``jiedai token create --actor ID`` shows a
token once and keeps its SHA-256 here, so a copy of the database does not hand out tokens.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Moment = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "jd_api_tokens",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(200), nullable=False, server_default=""),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("revoked_at", Moment, nullable=True),
    )
    op.create_index("ix_jd_api_tokens_actor", "jd_api_tokens", ["actor_id"])


def downgrade() -> None:
    op.drop_index("ix_jd_api_tokens_actor", table_name="jd_api_tokens")
    op.drop_table("jd_api_tokens")
