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

A budget ledger row the case-blind database shared between two units (``县cbd办公室``'s commitments
booked on ``县CBD办公室``'s row) is split: each unit's commitments, recomputed from its hashed
receptions, move to a row of its own, so ``jiedai audit verify`` agrees and each unit's F-05 cap is
its own. What was spent stays on the row it was booked on: which receptions booked it is decided by
the process (the phase that settles), which a migration does not know; the units are logged
(``jiedai_flow.storage.migrate``) for the finance office to check.

Converting a table whose column a foreign key uses is refused by MySQL and MariaDB even with the
checks off, so the foreign keys between jiedai tables are dropped first and made again afterwards,
with the checks off (a database with rows a foreign key would refuse converts, and ``jiedai audit
verify`` reports those rows as before). A foreign key of another table to a jiedai table stops the
migration before anything changes, naming it. Converting rewrites each table: on a large database
this takes a while and holds the tables; run it while the service is stopped, from one process.
MySQL commits DDL at once: a run interrupted half way is completed by running it again (the split
compares in the tables' former collation explicitly, so it finds the shared rows again).

Downgrade gives the tables the collation of their database again, as the earlier revisions made
them (their tables made anew after going further back must match the old ones' keys). It is refused
before anything changes where a key holds two values that collation takes as one, and on a database
whose default character set is not ``utf8mb4`` (converting would lose characters).

A later revision that makes a table must make it in :func:`exact_collation`: the database's default
is still the one it was created with.
"""

from __future__ import annotations

import logging
from datetime import date

import attrs
import sqlalchemy as sa
from alembic import op

from jiedai_flow.errors import StorageError

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

log = logging.getLogger("jiedai_flow.storage.migrate")

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
        _refuse_foreign_references(conn)
        convert(conn, exact_collation(conn))
        _split(conn, _shared_ledger_rows(conn, _made_in(conn)))


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


def _refuse_foreign_references(conn: sa.Connection) -> None:
    """Stop before changing anything when a table not jiedai's has a foreign key to a jiedai table:
    MySQL would refuse to convert the column it uses half way through."""
    found = conn.execute(
        sa.text(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, REFERENCED_TABLE_NAME"
            " FROM information_schema.KEY_COLUMN_USAGE"
            " WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_SCHEMA = DATABASE()"
            " AND REFERENCED_TABLE_NAME LIKE 'jd\\_%' AND TABLE_NAME NOT LIKE 'jd\\_%'"
        )
    ).all()
    if found:
        named = ", ".join(sorted({f"{t}.{c} → {r}" for t, c, r in found}))
        raise StorageError(
            f"迁移 0012 未执行：其他表有指向 jiedai 表的外键（{named}），MySQL 不能转换这些列的排序规则；"
            "请先删除这些外键，升级后再按 utf8mb4_nopad_bin 建回",
            f"revision 0012 not run: tables not jiedai's have foreign keys to jiedai tables ({named}), "
            "whose columns MySQL cannot convert; drop them first and make them again after the upgrade",
        )


LEDGER = "jd_budget_ledger"


@attrs.frozen
class _Shared:
    """A host unit and year whose commitments a case-blind ledger booked on another unit's row."""

    row_key: str
    host_unit: str
    year: int
    committed_fen: int


def _made_in(conn: sa.Connection) -> str:
    """The collation the tables were made in before 0012: their database's (in ``utf8mb4``; a
    database of another character set compared case-blind as ``utf8mb4_general_ci`` does)."""
    default = str(
        conn.execute(
            sa.text(
                "SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA"
                " WHERE SCHEMA_NAME = DATABASE()"
            )
        ).scalar_one()
    )
    return default if default.startswith("utf8mb4_") else "utf8mb4_general_ci"


def _shared_ledger_rows(conn: sa.Connection, made_in: str) -> list[_Shared]:
    """The host units and years with no ledger row of their own whose commitments the ledger, as it
    compared in ``made_in``, booked on another unit's row (``县cbd办公室`` on ``县CBD办公室``'s), with
    the commitments of their receptions. Read after the tables were converted, comparing in
    ``made_in`` explicitly, so a run interrupted before the split finds them again; a unit that has
    its own row (split already) is left alone."""
    from jiedai_flow.domain.records import LedgerEntry, Reception
    from jiedai_flow.storage.codec import decode

    if made_in in EXACT[:2]:  # the tables compared to the letter already: nothing was shared
        return []
    shared = []
    pairs = conn.execute(
        sa.text("SELECT DISTINCT CAST(host_unit AS BINARY), YEAR(start_date) FROM jd_receptions")
    ).all()
    for raw, year in pairs:
        unit = bytes(raw).decode("utf-8")
        key = LedgerEntry(unit, int(year)).key
        own = conn.execute(
            sa.text(f"SELECT 1 FROM {LEDGER} WHERE CAST(`key` AS BINARY) = :key"), {"key": key.encode()}
        ).first()
        if own is not None:
            continue
        found = conn.execute(
            sa.text(f"SELECT `key` FROM {LEDGER} WHERE `key` COLLATE {made_in} = :key COLLATE {made_in}"),
            {"key": key},
        ).scalar()
        if found is None:
            continue
        committed = sum(
            decode(Reception, data).budget_committed_fen
            for (data,) in conn.execute(
                sa.text(
                    "SELECT data FROM jd_receptions WHERE CAST(host_unit AS BINARY) = :unit"
                    " AND start_date >= :since AND start_date < :until"
                ),
                {"unit": unit.encode(), "since": date(int(year), 1, 1), "until": date(int(year) + 1, 1, 1)},
            )
        )
        shared.append(_Shared(str(found), unit, int(year), committed))
    return shared


def _split(conn: sa.Connection, shared: list[_Shared]) -> None:
    """Give each unit of :func:`_shared_ledger_rows` its own row, now that the ledger tells them
    apart: its commitments move there from the row they were booked on. What was spent stays on
    that row: which receptions booked it is the process's to say (the phase that settles), not the
    database's; the units are logged for the finance office to check."""
    for entry in shared:
        if entry.committed_fen:
            conn.execute(
                sa.text(f"UPDATE {LEDGER} SET committed_fen = committed_fen - :moved WHERE `key` = :key"),
                {"moved": entry.committed_fen, "key": entry.row_key},
            )
            conn.execute(
                sa.text(
                    f"INSERT INTO {LEDGER} (`key`, host_unit, year, committed_fen, spent_fen)"
                    " VALUES (:key, :unit, :year, :committed, 0)"
                ),
                {
                    "key": f"{entry.year}|{entry.host_unit}",
                    "unit": entry.host_unit,
                    "year": entry.year,
                    "committed": entry.committed_fen,
                },
            )
        log.warning(
            "预算台账：%s %d 年原与「%s」共用一行，已分出其占用的 %d 分；已支出的金额仍记在原行，请财务核对"
            " / budget ledger: %s in %d shared the row %r; its %d fen committed moved to its own row, "
            "what was spent stays on that row: have finance check it",
            entry.host_unit, entry.year, entry.row_key, entry.committed_fen,
            entry.host_unit, entry.year, entry.row_key, entry.committed_fen,
        )  # fmt: skip


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
    if conn.dialect.name not in ("mysql", "mariadb"):
        return
    charset, default = conn.execute(
        sa.text(
            "SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA"
            " WHERE SCHEMA_NAME = DATABASE()"
        )
    ).one()
    if charset != "utf8mb4":
        raise StorageError(
            f"不能降级到 0011：数据库的默认字符集是 {charset}，表转回去会丢字；请先 ALTER DATABASE …"
            " CHARACTER SET utf8mb4",
            f"cannot go down to 0011: the database's default character set is {charset}, and converting "
            "the tables to it would lose characters; ALTER DATABASE … CHARACTER SET utf8mb4 first",
        )
    _refuse_collisions(conn, default)
    convert(conn, default)


def _refuse_collisions(conn: sa.Connection, collation: str) -> None:
    """Stop before changing anything when a primary or unique key holds two values ``collation``
    takes as one (they differ only in case or trailing spaces): converting would fail there."""
    inspector = sa.inspect(conn)
    for table in sorted(_to_convert(conn, collation)):
        text = {c["name"] for c in inspector.get_columns(table) if isinstance(c["type"], sa.String)}
        keys = [inspector.get_pk_constraint(table)["constrained_columns"]]
        keys += [
            [c for c in index["column_names"] if c is not None]
            for index in inspector.get_indexes(table)
            if index["unique"]
        ]
        for columns in keys:
            if not text & set(columns):
                continue
            grouped = ", ".join(f"`{c}` COLLATE {collation}" if c in text else f"`{c}`" for c in columns)
            clash = conn.execute(
                sa.text(f"SELECT {grouped} FROM `{table}` GROUP BY {grouped} HAVING COUNT(*) > 1 LIMIT 1")
            ).first()
            if clash is not None:
                shown = ", ".join(str(v) for v in clash)
                raise StorageError(
                    f"不能降级到 0011：{table} 的键 {columns} 有只差大小写或行尾空格的值（{shown}），"
                    f"{collation} 下是同一个",
                    f"cannot go down to 0011: key {columns} of {table} holds values differing only in case "
                    f"or trailing spaces ({shown}), one under {collation}",
                )
