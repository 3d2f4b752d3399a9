"""One stand-in in force per designation, its request id, a page at a time 代理唯一、请求号、分页.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09

Two processes setting the same stand-in at once could each write a row (the engine's lock holds in
one process only), and revoking one then had to find its twins. ``in_force`` is true while a row is
not revoked and NULL after, and a unique index on the designation with it (principal, stand-in,
start, end, ``in_force``) lets the database keep one row in force per designation: NULLs are never
equal, so revoked rows of it may be any number. Twins already there are made one first: the
earliest set stays in force, the later are marked revoked — the same designation stays in force,
and revoking it already ended every twin. ``request_id`` keeps the ``Idempotency-Key`` of ``POST
/proxies`` with the row it made (unique where given), so a retry under it is answered with that
row and another designation under it refused. An index on ``at, id`` reads one page of ``GET
/proxies`` in its order, the latest set first.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

log = logging.getLogger("jiedai_flow.storage.migrate")

INDEXES = (
    ("ix_jd_proxies_at", ["at", "id"], False),
    ("ux_jd_proxies_designation", ["principal", "stand_in", "start_date", "end_date", "in_force"], True),
    ("ux_jd_proxies_request", ["request_id"], True),
)

_P = sa.table(
    "jd_proxies",
    sa.column("id", sa.String),
    sa.column("principal", sa.String),
    sa.column("stand_in", sa.String),
    sa.column("start_date", sa.Date),
    sa.column("end_date", sa.Date),
    sa.column("at", sa.DateTime),
    sa.column("revoked", sa.Boolean),
    sa.column("in_force", sa.Boolean),
)


def upgrade() -> None:
    conn = op.get_bind()
    columns = {c["name"] for c in sa.inspect(conn).get_columns("jd_proxies")}
    # MySQL commits DDL at once: a run that failed half way finds what it made there
    with op.batch_alter_table("jd_proxies") as batch:
        if "in_force" not in columns:
            batch.add_column(sa.Column("in_force", sa.Boolean, nullable=True))
        if "request_id" not in columns:
            batch.add_column(sa.Column("request_id", sa.String(128), nullable=True))
    _one_in_force(conn)
    indexes = {index["name"] for index in sa.inspect(conn).get_indexes("jd_proxies")}
    for name, columns_of, unique in INDEXES:
        if name not in indexes:
            op.create_index(name, "jd_proxies", columns_of, unique=unique)


def _one_in_force(conn: sa.Connection) -> None:
    """Revoke every twin of a designation in force but its earliest, then mark what is in force."""
    rows = conn.execute(
        sa.select(_P.c.id, _P.c.principal, _P.c.stand_in, _P.c.start_date, _P.c.end_date)
        .where(_P.c.revoked.is_(False))
        .order_by(_P.c.at, _P.c.id)
    ).all()
    seen: set[tuple[object, ...]] = set()
    twins = []
    for proxy_id, *designation in rows:
        key = tuple(designation)
        if key in seen:
            twins.append(proxy_id)
        seen.add(key)
    for proxy_id in twins:
        conn.execute(_P.update().where(_P.c.id == proxy_id).values(revoked=True))
    if twins:
        log.info("revoked %d twin stand-in rows (the same designation in force twice): %s", len(twins), twins)
    conn.execute(_P.update().where(_P.c.revoked.is_(False)).values(in_force=True))
    conn.execute(_P.update().where(_P.c.revoked.is_(True)).values(in_force=None))


def downgrade() -> None:
    conn = op.get_bind()
    indexes = {index["name"] for index in sa.inspect(conn).get_indexes("jd_proxies")}
    for name, _columns, _unique in INDEXES:
        if name in indexes:
            op.drop_index(name, table_name="jd_proxies")
    columns = {c["name"] for c in sa.inspect(conn).get_columns("jd_proxies")}
    with op.batch_alter_table("jd_proxies") as batch:
        for name in ("request_id", "in_force"):
            if name in columns:
                batch.drop_column(name)
