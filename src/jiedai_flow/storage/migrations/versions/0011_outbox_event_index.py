"""An index on the outbox's event 通知所属审计记录索引, so the dispatcher checks a row against its event.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08

Before it sends a row, the dispatcher reads the rows of the row's event and compares them with the
digest the event records (a row added, moved or edited straight in the database is refused, not
sent). It reads them by ``event_id``, once per claimed batch; without an index that read would scan
the whole outbox, delivered rows included. MySQL and MariaDB already index the column for its
foreign key (InnoDB makes one); there the index is created only where none is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_NAME = "ix_jd_outbox_event"


def _indexed() -> tuple[bool, bool]:
    """Whether the index is there, and whether any index leads with ``event_id``."""
    indexes = sa.inspect(op.get_bind()).get_indexes("jd_outbox")
    mine = any(index["name"] == _NAME for index in indexes)
    leading = any(index["column_names"][:1] == ["event_id"] for index in indexes)
    return mine, leading


def upgrade() -> None:
    mine, leading = _indexed()
    # MySQL commits DDL at once: a run that failed after creating it finds it there
    if not mine and not leading:
        op.create_index(_NAME, "jd_outbox", ["event_id"])


def downgrade() -> None:
    mine, _ = _indexed()
    # MySQL and MariaDB refuse to drop the index their foreign key uses: it stays there
    if mine and op.get_bind().dialect.name not in ("mysql", "mariadb"):
        op.drop_index(_NAME, table_name="jd_outbox")
