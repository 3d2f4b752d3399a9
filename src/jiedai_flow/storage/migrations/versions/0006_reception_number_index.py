"""An index on the reception number 接待编号, so a command given the number finds its reception.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

People read and say the number (341502-2026-00001), not the 32-character id; the command line and
``ReceptionQuery(number=…)`` look receptions up by it.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jd_receptions_number", "jd_receptions", ["number"])


def downgrade() -> None:
    op.drop_index("ix_jd_receptions_number", table_name="jd_receptions")
