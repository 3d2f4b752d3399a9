"""A revoked API token is announced 令牌吊销通知 (PostgreSQL): ``jiedai serve`` may keep tokens it has
verified in memory and drops them the moment any token changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

A trigger on ``jd_api_tokens`` sends ``NOTIFY jd_api_tokens`` after every update or delete of a row,
whoever makes it — ``jiedai token revoke`` or an administrator's own SQL — so a worker never has to
trust the command line to announce a revocation. Other databases have no such channel: there the
service reads the token on every request, and this revision changes nothing.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHANNEL = "jd_api_tokens"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION jd_api_tokens_changed() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CHANNEL}', OLD.id); RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER jd_api_tokens_changed AFTER UPDATE OR DELETE ON jd_api_tokens "
        "FOR EACH ROW EXECUTE FUNCTION jd_api_tokens_changed()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER jd_api_tokens_changed ON jd_api_tokens")
    op.execute("DROP FUNCTION jd_api_tokens_changed()")
