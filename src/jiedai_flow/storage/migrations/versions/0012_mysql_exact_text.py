"""Text to the letter on MySQL/MariaDB 文字逐字比较: every table in an exact binary collation.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07

A table takes the collation of its database. A database made with a bare ``CREATE DATABASE`` has
the server's ``utf8mb4_general_ci``, which ignores case and trailing spaces, and even
``utf8mb4_bin`` ignores trailing spaces (it pads). Keys that Python, SQLite and PostgreSQL tell
apart were then one key: reception ids differing in case could not both be registered, two host
units so spelt shared one budget ledger row (one unit's spending counted against the other's cap),
and a number looked up in other letters found another reception. Every jiedai table is now
converted to ``utf8mb4`` in a collation that compares bytes and does not pad:
``utf8mb4_nopad_bin`` on MariaDB, ``utf8mb4_0900_bin`` on MySQL 8; on a server with neither (MySQL
5.7), ``utf8mb4_bin``, which still tells cases apart. Tables already so are left alone (a database
made with that collation costs one query). Other back ends compare text exactly already: nothing
to do there.

Converting a table whose column a foreign key uses is refused by MySQL and MariaDB even with the
checks off, so the foreign keys between jiedai tables are dropped first and made again afterwards,
with the checks off (a database with rows a foreign key would refuse converts, and ``jiedai audit
verify`` reports those rows as before). Converting rewrites each table: on a large database this
takes a while and holds the tables; run it while the service is stopped. MySQL commits DDL at
once: a run interrupted half way is completed by running it again.

Downgrade gives the tables the collation of their database again, as the earlier revisions made
them (their tables made anew after going further back must match the old ones' keys). On a
case-blind database it fails, changing nothing of the table it stopped at, where two keys differ
only in case or trailing spaces: they could not be stored there before 0012 either.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

EXACT = ("utf8mb4_nopad_bin", "utf8mb4_0900_bin", "utf8mb4_bin")
"""The collations to choose from, best first: binary and not padding (MariaDB, then MySQL 8),
then binary and padding (the last resort of older servers)."""


FOREIGN_KEYS = {
    "jd_audit_events": "FOREIGN KEY (`reception_id`) REFERENCES `jd_receptions` (`id`)",
    "jd_copies": "FOREIGN KEY (`reception_id`) REFERENCES `jd_receptions` (`id`)",
    "jd_outbox": "FOREIGN KEY (`event_id`) REFERENCES `jd_audit_events` (`id`)",
    "jd_tasks": "FOREIGN KEY (`reception_id`) REFERENCES `jd_receptions` (`id`)",
}
"""The foreign keys between jiedai tables at this revision, one a table, as MySQL makes them again
(named ``<table>_ibfk_1`` as it names them): a run interrupted after dropping them makes them here
on the next."""


def exact_collation(conn: sa.Connection) -> str:
    """The best of :data:`EXACT` the server has."""
    have = {
        name
        for (name,) in conn.execute(
            sa.text(
                "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN :names"
            ).bindparams(sa.bindparam("names", expanding=True)),
            {"names": list(EXACT)},
        )
    }
    return next(name for name in EXACT if name in have)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name in ("mysql", "mariadb"):
        convert(conn, exact_collation(conn))


def convert(conn: sa.Connection, collation: str) -> None:
    """Make every jiedai table of the database on ``conn`` (MySQL/MariaDB) ``utf8mb4`` in
    ``collation``, its foreign keys as before."""
    tables = _to_convert(conn, collation)
    conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
    try:
        if tables:
            for table, name in _foreign_keys(conn):
                conn.exec_driver_sql(f"ALTER TABLE `{table}` DROP FOREIGN KEY `{name}`")
            for table in tables:
                conn.exec_driver_sql(
                    f"ALTER TABLE `{table}` CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}"
                )
        # a run interrupted after converting the last table finds none to convert, and keys to make
        made = {table for table, _ in _foreign_keys(conn)}
        for table, clause in FOREIGN_KEYS.items():
            if table not in made:
                conn.exec_driver_sql(f"ALTER TABLE `{table}` ADD CONSTRAINT `{table}_ibfk_1` {clause}")
    finally:
        conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


def _foreign_keys(conn: sa.Connection) -> list[tuple[str, str]]:
    """(table, name) of the foreign keys of :data:`FOREIGN_KEYS` the database has."""
    inspector = sa.inspect(conn)
    return [
        (table, key["name"])
        for table in FOREIGN_KEYS
        for key in inspector.get_foreign_keys(table)
        if key["name"]
    ]


def _to_convert(conn: sa.Connection, collation: str) -> list[str]:
    """The jiedai tables (not Alembic's version table) with a text column or a default in another
    collation, in name order."""
    rows = conn.execute(
        sa.text(
            "SELECT TABLE_NAME FROM information_schema.TABLES"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME LIKE 'jd\\_%'"
            " AND TABLE_NAME <> 'jd_alembic_version'"
            " AND (TABLE_COLLATION <> :collation OR TABLE_NAME IN ("
            "  SELECT TABLE_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()"
            "  AND COLLATION_NAME IS NOT NULL AND COLLATION_NAME <> :collation))"
            " ORDER BY TABLE_NAME"
        ),
        {"collation": collation},
    )
    return [name for (name,) in rows]


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name in ("mysql", "mariadb"):
        default = conn.execute(
            sa.text(
                "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA"
                " WHERE SCHEMA_NAME = DATABASE()"
            )
        ).scalar_one()
        if default.startswith("utf8mb4_"):  # a database in another character set: left as 0012 made it
            convert(conn, default)
