"""The budget ledger: committed and spent per host unit and year.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jd_budget_ledger",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("host_unit", sa.String(200), nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("committed_fen", sa.BigInteger, nullable=False),
        sa.Column("spent_fen", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("jd_budget_ledger")
