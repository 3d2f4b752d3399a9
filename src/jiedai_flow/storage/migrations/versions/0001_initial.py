"""The first schema: receptions, audit events with hash chains, outbox, commands, counters.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
# why: MySQL's DATETIME keeps whole seconds unless asked for microseconds
Moment = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "jd_receptions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("number", sa.String(64), nullable=False),
        sa.Column("jurisdiction", sa.String(12), nullable=False),
        sa.Column("host_unit", sa.String(200), nullable=False),
        sa.Column("reception_type", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=False),
        sa.Column("planned_fen", sa.BigInteger, nullable=False),
        sa.Column("actual_fen", sa.BigInteger, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("process", sa.String(64), nullable=False),
        sa.Column("rule_pack", sa.String(64), nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("updated_at", Moment, nullable=False),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("data", LongText, nullable=False),
    )
    for name, columns in {
        "start": ["start_date", "id"],
        "state": ["state", "start_date"],
        "jurisdiction": ["jurisdiction", "start_date"],
        "host_unit": ["host_unit", "start_date"],
        "type": ["reception_type", "start_date"],
    }.items():
        op.create_index(f"ix_jd_receptions_{name}", "jd_receptions", columns)
    op.create_table(
        "jd_audit_events",
        sa.Column("chain_index", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("reception_id", sa.String(64), sa.ForeignKey("jd_receptions.id"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("from_state", sa.String(32), nullable=False),
        sa.Column("to_state", sa.String(32), nullable=False),
        sa.Column("at", Moment, nullable=False),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("hash_algorithm", sa.String(16), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("chain_prev", sa.String(64), nullable=False),
        sa.Column("chain_hash", sa.String(64), nullable=False),
        sa.Column("state_hash", sa.String(64), nullable=False),
        sa.Column("data", LongText, nullable=False),
        sa.UniqueConstraint("reception_id", "seq", name="uq_jd_audit_reception_seq"),
    )
    op.create_table(
        "jd_outbox",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("reception_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), sa.ForeignKey("jd_audit_events.id"), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", Moment, nullable=False),
        sa.Column("data", LongText, nullable=False),
    )
    op.create_index("ix_jd_outbox_status", "jd_outbox", ["status", "created_at"])
    op.create_table(
        "jd_commands",
        sa.Column("request_id", sa.String(128), primary_key=True),
        sa.Column("reception_id", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("result", LongText, nullable=False),
    )
    op.create_table(
        "jd_counters",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "jd_chain_head",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("chain_index", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "jd_chain_head",
        "jd_counters",
        "jd_commands",
        "jd_outbox",
        "jd_audit_events",
        "jd_receptions",
    ):
        op.drop_table(table)
