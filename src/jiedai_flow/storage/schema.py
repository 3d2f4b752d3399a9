"""The SQL schema 数据库表结构 (SQLAlchemy Core), kept portable across SQLite, PostgreSQL,
MySQL/MariaDB and the domestic databases reached through SQLAlchemy dialects.

Typed, indexed columns carry what queries and reports filter and group on; ``data`` carries the
whole record as JSON text. Money is integer fen. Timestamps in typed columns are UTC without a
zone (the JSON keeps the original zone). Migrations in ``storage/migrations`` create exactly this.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

metadata = sa.MetaData()

# why: MySQL's TEXT stops at 64 KiB; a reception with its list and results can exceed that
LongText = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
# why: MySQL's DATETIME keeps whole seconds unless asked for microseconds
Moment = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

receptions = sa.Table(
    "jd_receptions",
    metadata,
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
    sa.Column("guests", sa.Integer, nullable=False, server_default="0"),
    sa.Column("item_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("handler_id", sa.String(64), nullable=False, server_default=""),
    sa.Index("ix_jd_receptions_start", "start_date", "id"),
    sa.Index("ix_jd_receptions_handler", "handler_id", "created_at", "id"),
    sa.Index("ix_jd_receptions_state", "state", "start_date"),
    sa.Index("ix_jd_receptions_jurisdiction", "jurisdiction", "start_date"),
    sa.Index("ix_jd_receptions_host_unit", "host_unit", "start_date"),
    sa.Index("ix_jd_receptions_type", "reception_type", "start_date"),
    sa.Index("ix_jd_receptions_number", "number"),
)

audit_events = sa.Table(
    "jd_audit_events",
    metadata,
    sa.Column("shard", sa.Integer, primary_key=True, autoincrement=False, server_default="0"),
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
    sa.Column("violations", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("reception_id", "seq", name="uq_jd_audit_reception_seq"),
)

outbox = sa.Table(
    "jd_outbox",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("reception_id", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(64), sa.ForeignKey("jd_audit_events.id"), nullable=False),
    sa.Column("topic", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("data", LongText, nullable=False),
    sa.Column("channel", sa.String(64), nullable=False, server_default=""),
    sa.Column("next_attempt_at", Moment, nullable=True),
    sa.Column("lease_until", Moment, nullable=True),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("delivered_at", Moment, nullable=True),
    sa.Index("ix_jd_outbox_status", "status", "created_at"),
    sa.Index("ix_jd_outbox_due", "status", "next_attempt_at"),
    sa.Index("ix_jd_outbox_event", "event_id"),  # the dispatcher reads an event's rows (0011)
)

commands = sa.Table(
    "jd_commands",
    metadata,
    sa.Column("request_id", sa.String(128), primary_key=True),
    sa.Column("reception_id", sa.String(64), nullable=False),
    sa.Column("trigger", sa.String(32), nullable=False),
    sa.Column("actor_id", sa.String(64), nullable=False),
    sa.Column("event_id", sa.String(64), nullable=False),
    sa.Column("result", LongText, nullable=False),
)

counters = sa.Table(
    "jd_counters",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

chain_head = sa.Table(
    "jd_chain_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),  # the shard number
    sa.Column("chain_index", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)

chain_layout = sa.Table(
    "jd_chain_layout",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("shards", sa.Integer, nullable=False),
)
"""One row (id 1): how many chains the audit trail is split into. Written once when the database
is created or migrated; every event's shard is a function of its reception id and this number."""

budget_ledger = sa.Table(
    "jd_budget_ledger",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("host_unit", sa.String(200), nullable=False),
    sa.Column("year", sa.Integer, nullable=False),
    sa.Column("committed_fen", sa.BigInteger, nullable=False),
    sa.Column("spent_fen", sa.BigInteger, nullable=False),
)

tasks = sa.Table(
    "jd_tasks",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("reception_id", sa.String(64), sa.ForeignKey("jd_receptions.id"), nullable=False),
    sa.Column("number", sa.String(64), nullable=False),
    sa.Column("jurisdiction", sa.String(12), nullable=False),
    sa.Column("host_unit", sa.String(200), nullable=False),
    sa.Column("handler_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("step", sa.Integer, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("assignee_kind", sa.String(16), nullable=False),
    sa.Column("assignee", sa.String(200), nullable=False),
    sa.Column("owner", sa.String(64), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("due", sa.Date, nullable=False),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("done_by", sa.String(64), nullable=False),
    sa.Column("done_at", Moment, nullable=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("read", sa.Boolean, nullable=False),
    sa.Column("barred", sa.Text, nullable=False),  # no default: MySQL takes none on TEXT
    sa.Index("ix_jd_tasks_owner", "owner", "state", "due", "created_at", "id"),
    sa.Index("ix_jd_tasks_pool", "assignee_kind", "assignee", "state", "owner", "due", "created_at", "id"),
    sa.Index("ix_jd_tasks_done", "done_by", "done_at", "id"),
    sa.Index("ix_jd_tasks_reception", "reception_id"),
)
"""The task index 任务索引: one row per task of every reception, written with the reception in the same
transaction, so 待办 and 已办 are indexed queries that never load a reception. Verify recomputes every
row from the hashed reception. ``due`` is 9999-12-31 for a task without a due day: it sorts last on
every database, so 待办 reads the owner and pool indexes in order and stops after the page.
``barred`` is who may not take an unclaimed pool task (:meth:`Reception.barred`, each id in the form
of :func:`jiedai_flow.storage.sql.tasks.barred_key` between ``|``), so 待办 leaves out a pool task of
a chain the actor signed already; empty for every other task."""

copies = sa.Table(
    "jd_copies",
    metadata,
    sa.Column("reception_id", sa.String(64), sa.ForeignKey("jd_receptions.id"), primary_key=True),
    sa.Column("actor_id", sa.String(64), primary_key=True),
    sa.Column("number", sa.String(64), nullable=False),
    sa.Column("host_unit", sa.String(200), nullable=False),
    sa.Column("by_id", sa.String(64), nullable=False),
    sa.Column("at", Moment, nullable=False),
    sa.Column("read", sa.Boolean, nullable=False),
    sa.Index("ix_jd_copies_actor", "actor_id", "at", "reception_id"),
)
"""抄送 index: who was copied on which reception (抄送我的), written with the reception."""

proxies = sa.Table(
    "jd_proxies",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("principal", sa.String(64), nullable=False),
    sa.Column("stand_in", sa.String(64), nullable=False),
    sa.Column("start_date", sa.Date, nullable=False),
    sa.Column("end_date", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("set_by", sa.String(64), nullable=False),
    sa.Column("at", Moment, nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False),
    sa.Column("in_force", sa.Boolean, nullable=True),
    sa.Column("request_id", sa.String(128), nullable=True),
    sa.Index("ix_jd_proxies_stand_in", "stand_in", "end_date"),
    sa.Index("ix_jd_proxies_at", "at", "id"),
    sa.Index(
        "ux_jd_proxies_designation",
        "principal",
        "stand_in",
        "start_date",
        "end_date",
        "in_force",
        unique=True,
    ),
    sa.Index("ux_jd_proxies_request", "request_id", unique=True),
)
"""代理 while away: who stands in for whom, from when to when (China days, both included).
``in_force`` is true while not revoked and NULL after, so the unique designation index holds one row
in force per designation and any number revoked (NULLs are never equal); ``request_id`` is the
``Idempotency-Key`` that made the row (NULL: none), unique likewise."""

api_tokens = sa.Table(
    "jd_api_tokens",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("actor_id", sa.String(64), nullable=False),
    sa.Column("label", sa.String(200), nullable=False, server_default=""),
    sa.Column("digest", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Moment, nullable=False),
    sa.Column("revoked_at", Moment, nullable=True),
    sa.Index("ix_jd_api_tokens_actor", "actor_id"),
)
"""API tokens of the HTTP service (``jiedai token create``): only the SHA-256 of each token is kept;
the token itself is shown once, when it is made."""
