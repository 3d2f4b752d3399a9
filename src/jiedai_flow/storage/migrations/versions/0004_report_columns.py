"""Typed columns for reports: guests (人次) and items (项目数) per reception, violations per event.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

The values existed only inside the JSON; reports now aggregate them in SQL. Existing rows are
filled from their JSON here, in batches.
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_REFUSING = ("blocking", "needs_explanation")


def upgrade() -> None:
    with op.batch_alter_table("jd_receptions") as batch:
        batch.add_column(sa.Column("guests", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("item_count", sa.Integer, nullable=False, server_default="0"))
    with op.batch_alter_table("jd_audit_events") as batch:
        batch.add_column(sa.Column("violations", sa.Integer, nullable=False, server_default="0"))
    bind = op.get_bind()
    receptions = sa.table(
        "jd_receptions", sa.column("id"), sa.column("data"), sa.column("guests"), sa.column("item_count")
    )
    for rid, data in bind.execute(sa.select(receptions.c.id, receptions.c.data)).all():
        content = json.loads(data)
        listing = content.get("reception_list")
        guests = len((listing or content["letter"]).get("guests" if listing else "personnel", []))
        plan = content["plan"]
        items = (
            len(listing["items"]) + len(listing["meals"])
            if listing
            else len(plan["activities"]) + len(plan["meals"])
        )
        bind.execute(
            receptions.update().where(receptions.c.id == rid).values(guests=guests, item_count=items)
        )
    events = sa.table("jd_audit_events", sa.column("id"), sa.column("data"), sa.column("violations"))
    for eid, data in bind.execute(sa.select(events.c.id, events.c.data)).all():
        found = sum(f.get("severity") in _REFUSING for f in json.loads(data).get("findings", ()))
        if found:
            bind.execute(events.update().where(events.c.id == eid).values(violations=found))


def downgrade() -> None:
    with op.batch_alter_table("jd_audit_events") as batch:
        batch.drop_column("violations")
    with op.batch_alter_table("jd_receptions") as batch:
        batch.drop_column("item_count")
        batch.drop_column("guests")
