"""The shipped migrations: a fresh database reaches head; 0004 fills its typed columns from the JSON;
0005 splits the audit trail into shards without rewriting a stored hash; 0010 names who may not take
a pending pool task; a database a newer version upgraded is refused, not opened."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest
import sqlalchemy as sa
from alembic import command
from click.testing import CliRunner

from jiedai_flow import Actor, ApprovalStep, Role, hookimpl
from jiedai_flow.cli import main
from jiedai_flow.errors import StorageError
from jiedai_flow.storage import chain as audit
from jiedai_flow.storage import checkpoints, migrate, schema
from jiedai_flow.storage.checkpoints import AuditKey, Checkpoint, verify_checkpoints
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.testing import ACTORS, make_engine
from tests._sql_helpers import advance, create
from tests.databases import private_database, with_server_collation

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

    from jiedai_flow.domain.records import Reception
    from jiedai_flow.domain.standards import Standards

KEY = AuditKey("k2026", bytes(range(32)))


def _counts(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            receptions = conn.execute(
                sa.select(
                    schema.receptions.c.id, schema.receptions.c.guests, schema.receptions.c.item_count
                ).order_by(schema.receptions.c.id)
            ).all()
            events = conn.execute(
                sa.select(schema.audit_events.c.id, schema.audit_events.c.violations).order_by(
                    schema.audit_events.c.id
                )
            ).all()
    finally:
        db.dispose()
    return [tuple(r) for r in receptions], [tuple(e) for e in events]


def _downgrade(db: sa.Engine, revision: str) -> None:
    """Take the database back to ``revision`` with the shipped migrations."""
    with db.begin() as conn:
        command.downgrade(migrate._config(conn), revision)


def test_a_fresh_database_is_upgraded_to_the_newest_revision(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert migrate.current_revision(url) is None
    assert migrate.upgrade(url) == migrate.head_revision() == "0013"


def _stamped_by_a_newer_version(url: str) -> str:
    """Stamp a database at head with a revision this version does not ship; return that revision."""
    migrate.upgrade(url)
    newer = f"{int(migrate.head_revision()) + 1:04d}"
    db = sa.create_engine(url)
    try:
        with db.begin() as conn:
            conn.execute(sa.text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = :v"), {"v": newer})
    finally:
        db.dispose()
    return newer


def test_a_database_a_newer_version_upgraded_is_a_storage_error_saying_to_upgrade_jiedai(
    sql_url: str,
) -> None:
    """Neither upgraded nor opened, read-only or not: Alembic's "can't locate revision" becomes a
    StorageError naming both revisions, and the stamp stays as it was."""
    newer = _stamped_by_a_newer_version(sql_url)
    for opening in (migrate.upgrade, SQLStore, lambda url: SQLStore(url, create=False)):
        with pytest.raises(StorageError) as raised:
            opening(sql_url)
        assert f"数据库结构 {newer} 比本版本 jiedai-flow 认识的（{migrate.head_revision()}）新" in str(
            raised.value.message_zh
        )
        assert "upgrade jiedai-flow" in raised.value.message_en
    assert migrate.current_revision(sql_url) == newer


@pytest.mark.parametrize("command_line", [["list"], ["db", "upgrade"], ["audit", "verify"], ["serve"]])
def test_every_command_on_a_newer_database_exits_4_saying_to_upgrade_jiedai(
    tmp_path: Path, command_line: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    newer = _stamped_by_a_newer_version(url)
    result = CliRunner().invoke(main, ["--db", url, *command_line])
    assert result.exit_code == 4, result.output
    assert f"数据库结构 {newer} 比本版本" in result.output
    assert "请升级 jiedai-flow" in result.output


def single_chain(url: str) -> None:
    """A new database whose trail is one chain, as versions before shards wrote it: one shard in
    the layout, so every event is appended to shard 0 and the database can go back before 0005."""
    migrate.upgrade(url)
    db = sa.create_engine(url)
    try:
        with db.begin() as conn:
            conn.execute(schema.chain_layout.update().values(shards=1))
            conn.execute(schema.chain_head.delete().where(schema.chain_head.c.id != 0))
    finally:
        db.dispose()


def test_0004_fills_guests_items_and_violations_from_the_stored_json(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    single_chain(url)
    engine = make_engine(url=url)
    try:
        for steps in (0, 2, 6):  # a draft, an approved reception, a settled one with its list
            advance(engine, create(engine).reception, steps)
    finally:
        engine.store.close()
    written = _counts(url)
    assert any(guests for _id, guests, _items in written[0])

    db = sa.create_engine(url)
    try:
        _downgrade(db, "0003")  # back to before the typed columns
        with db.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("jd_receptions")}
        assert "guests" not in columns
    finally:
        db.dispose()

    assert migrate.upgrade(url) == "0013"
    assert _counts(url) == written


def test_0006_indexes_the_reception_number(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'numbers.db'}"
    migrate.upgrade(url)
    db = sa.create_engine(url)
    try:
        _downgrade(db, "0005")
        with db.connect() as conn:
            assert "ix_jd_receptions_number" not in {
                i["name"] for i in sa.inspect(conn).get_indexes("jd_receptions")
            }
        assert migrate.upgrade(url) == "0013"
        with db.connect() as conn:
            indexes = {i["name"]: i["column_names"] for i in sa.inspect(conn).get_indexes("jd_receptions")}
        assert indexes["ix_jd_receptions_number"] == ["number"]
    finally:
        db.dispose()


def _trail(url: str) -> list[tuple[object, ...]]:
    """Every event's place and hashes, in chain order."""
    e = schema.audit_events.c
    db = sa.create_engine(url)
    try:
        with db.connect() as conn:
            return [
                tuple(r) for r in conn.execute(sa.select(e.id, e.chain_index, e.chain_hash).order_by(e.id))
            ]
    finally:
        db.dispose()


def _verified(url: str, *checkpoints: Checkpoint) -> int:
    store = SQLStore(url, create=False)
    try:
        report = store.verify()
        late = verify_checkpoints(store, checkpoints, [KEY])
    finally:
        store.close()
    assert report.ok, str(report.problem)
    assert late == [], [str(p) for p in late]
    return report.checked


def test_a_single_chain_database_upgraded_to_shards_verifies_and_continues(sql_url: str) -> None:
    """Written in the layout before 0005 (one chain, head row 1, no shard column), with a checkpoint
    of that chain exported; upgraded, the trail verifies unchanged, the old checkpoint still holds,
    and writing continues in the shards — old receptions too."""
    single_chain(sql_url)
    engine = make_engine(url=sql_url)
    try:
        old = [advance(engine, create(engine).reception, steps) for steps in (1, 2, 3, 4)]
    finally:
        engine.store.close()
    db = sa.create_engine(sql_url)
    try:
        _downgrade(db, "0004")
        with db.connect() as conn:
            assert "shard" not in {c["name"] for c in sa.inspect(conn).get_columns("jd_audit_events")}
            assert not sa.inspect(conn).has_table("jd_chain_layout")
            head = conn.execute(sa.select(schema.chain_head)).one()
    finally:
        db.dispose()
    assert (head.id, head.chain_index) == (1, 14)
    unsigned = Checkpoint(14, head.hash, 4, "2026-12-01T00:00:00+00:00", KEY.key_id, "")
    legacy = attrs.evolve(unsigned, signature=checkpoints._hmac_sm3(KEY.secret, unsigned.payload()))
    before = _trail(sql_url)

    assert migrate.upgrade(sql_url) == "0013"
    assert _trail(sql_url) == before  # no stored hash rewritten: the old chain is shard 0
    assert _verified(sql_url, legacy) == 14

    engine = make_engine(url=sql_url)
    try:
        for reception in old:
            advance(engine, reception, 1)
        for _ in range(4):
            advance(engine, create(engine).reception, 1)
    finally:
        engine.store.close()
    store = SQLStore(sql_url, create=False)
    try:
        now = checkpoints.take_checkpoint(store, KEY)
    finally:
        store.close()
    assert _verified(sql_url, legacy, now) == 14 + 4 + 8
    shards = {audit.shard_of(r.id, audit.DEFAULT_SHARDS) for r in old}
    e = schema.audit_events.c
    db = sa.create_engine(sql_url)
    try:
        with db.connect() as conn:
            used = set(conn.execute(sa.select(e.shard).where(e.chain_index > 0).distinct()).scalars())
    finally:
        db.dispose()
    assert shards | {0} <= used  # old receptions continue in their own shard's chain


class _Levels:
    """Two pool steps: 一级 then 二级."""

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        return [ApprovalStep("一级", "一级"), ApprovalStep("二级", "二级")]


def test_0010_names_who_may_not_take_a_pending_pool_task(sql_url: str) -> None:
    """A reception pending before 0010: p signed step 1 and is in step 2's pool. Upgraded, the pool
    task's row names p, so p's 待办 leaves it out while q's lists it, and verify agrees."""
    p = Actor("p", "审批人p", frozenset({Role.APPROVER}), levels=frozenset({"一级", "二级"}))
    q = Actor("q", "审批人q", frozenset({Role.APPROVER}), levels=frozenset({"二级"}))
    migrate.upgrade(sql_url)
    engine = make_engine(_Levels(), url=sql_url)
    try:
        rid = create(engine).reception.id
        engine.fire(rid, "submit", ACTORS["handler"])
        engine.fire(rid, "approve", p, reason="同意")
    finally:
        engine.store.close()
    db = sa.create_engine(sql_url)
    try:
        _downgrade(db, "0009")
        with db.connect() as conn:
            assert "barred" not in {c["name"] for c in sa.inspect(conn).get_columns("jd_tasks")}
        assert migrate.upgrade(sql_url) == "0013"
        with db.connect() as conn:
            barred = conn.execute(
                sa.select(schema.tasks.c.barred).where(schema.tasks.c.state == "open")
            ).scalar_one()
    finally:
        db.dispose()
    assert barred == "|p|zhang.wei|"  # the signer, and the handler
    assert _verified(sql_url) == 3  # created, submitted, signed
    engine = make_engine(_Levels(), url=sql_url)
    try:
        assert engine.tasks_for(p).items == ()
        assert [row.reception_id for row in engine.tasks_for(q).items] == [rid]
    finally:
        engine.store.close()


# -- 0012: MySQL/MariaDB text to the letter ---------------------------------------------------------


def _revision_0012() -> ModuleType:
    path = Path(migrate.__file__).parent / "migrations" / "versions" / "0012_mysql_exact_text.py"
    spec = importlib.util.spec_from_file_location("jiedai_migration_0012", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _collations(db: sa.Engine) -> set[str]:
    """The collations of the jiedai tables' text columns (Alembic's own table aside)."""
    with db.connect() as conn:
        return set(
            conn.execute(
                sa.text(
                    "SELECT DISTINCT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA ="
                    " DATABASE() AND COLLATION_NAME IS NOT NULL AND TABLE_NAME <> 'jd_alembic_version'"
                )
            ).scalars()
        )


def _foreign_keys(db: sa.Engine) -> set[tuple[str, str, str]]:
    with db.connect() as conn:
        inspector = sa.inspect(conn)
        return {
            (table, ",".join(key["constrained_columns"]), key["referred_table"])
            for table in inspector.get_table_names()
            for key in inspector.get_foreign_keys(table)
        }


def _approved(url: str, *units: str) -> None:
    """The database at head, with a reception of each host unit submitted and approved (its plan
    committed in the unit's ledger row)."""
    migrate.upgrade(url)
    engine = make_engine(url=url)
    try:
        for unit in units:
            advance(engine, create(engine, host_unit=unit).reception, steps=2)
    finally:
        engine.store.close()  # type: ignore[attr-defined]


@pytest.fixture
def mysql_url(tmp_path: Path) -> Iterator[str]:
    """A fresh MariaDB database in the server's usual case-blind collation, as a bare
    ``CREATE DATABASE`` makes it."""
    for url in private_database("mysql", tmp_path):
        yield with_server_collation(url)


def test_0012_makes_every_table_of_a_case_blind_database_exact(mysql_url: str) -> None:
    """A database made with the server's ``utf8mb4_general_ci``: its jiedai tables compare bytes and
    do not pad, and keep their foreign keys, so keys differing in case or trailing spaces are two."""
    assert migrate.upgrade(mysql_url) == "0013"
    db = sa.create_engine(mysql_url)
    try:
        assert _collations(db) == {"utf8mb4_nopad_bin"}
        assert _foreign_keys(db) == {
            ("jd_audit_events", "reception_id", "jd_receptions"),
            ("jd_copies", "reception_id", "jd_receptions"),
            ("jd_outbox", "event_id", "jd_audit_events"),
            ("jd_tasks", "reception_id", "jd_receptions"),
        }
    finally:
        db.dispose()
    _exact_keys(mysql_url)


def test_0012_converts_a_database_with_receptions_and_its_trail_verifies(mysql_url: str) -> None:
    """Tables made case-blind by the revisions before 0012, with receptions in them: converted, the
    rows are as they were, the trail verifies, and the engine goes on."""
    _approved(mysql_url, "县政府办公室", "县CBD办公室")
    db = sa.create_engine(mysql_url)
    try:
        with db.begin() as conn:  # as the revisions before 0012 left a bare CREATE DATABASE's tables
            _revision_0012().convert(conn, "utf8mb4_general_ci")
            command.stamp(migrate._config(conn), "0011")
        assert _collations(db) == {"utf8mb4_general_ci"}
        before = _counts(mysql_url), _trail(mysql_url)
        assert migrate.upgrade(mysql_url) == "0013"
        assert _collations(db) == {"utf8mb4_nopad_bin"}
        assert len(_foreign_keys(db)) == 4
        assert (_counts(mysql_url), _trail(mysql_url)) == before
    finally:
        db.dispose()
    assert _verified(mysql_url) == 6  # two receptions, each created, submitted and approved
    engine = make_engine(url=mysql_url)
    try:
        advance(engine, create(engine, host_unit="县cbd办公室").reception, steps=2)
        assert engine.store.verify().ok  # type: ignore[attr-defined]
    finally:
        engine.store.close()  # type: ignore[attr-defined]


def test_0012_finishes_a_run_interrupted_after_the_tables_were_converted(mysql_url: str) -> None:
    """MySQL commits each DDL statement: a run stopped after converting the tables, before making
    the foreign keys again, makes them on the next run."""
    migrate.upgrade(mysql_url)
    db = sa.create_engine(mysql_url)
    try:
        with db.begin() as conn:
            for table, name in _revision_0012()._foreign_keys(conn):
                conn.exec_driver_sql(f"ALTER TABLE `{table}` DROP FOREIGN KEY `{name}`")
            command.stamp(migrate._config(conn), "0011")
        assert _foreign_keys(db) == set()
        assert migrate.upgrade(mysql_url) == "0013"
        assert len(_foreign_keys(db)) == 4
    finally:
        db.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0012_leaves_other_back_ends_alone(backend: str, tmp_path: Path) -> None:
    """SQLite and PostgreSQL compare text to the letter already."""
    for sql_url in private_database(backend, tmp_path):
        assert migrate.upgrade(sql_url) == "0013"
        _exact_keys(sql_url)


def _exact_keys(url: str) -> None:
    db = sa.create_engine(url)
    try:
        with db.begin() as conn:
            for name in ("县CBD办公室", "县cbd办公室", "县cbd办公室 "):
                conn.execute(schema.counters.insert().values(key=name, value=1))
            assert conn.execute(sa.select(sa.func.count()).select_from(schema.counters)).scalar() == 3
    finally:
        db.dispose()


def test_0012_downgraded_gives_the_tables_their_database_collation_again(mysql_url: str) -> None:
    """Back at 0011 the tables are as the earlier revisions made them, so revisions run again from
    further back make tables whose keys match (a foreign key needs the same collation)."""
    migrate.upgrade(mysql_url)
    db = sa.create_engine(mysql_url)
    try:
        _downgrade(db, "0011")
        assert _collations(db) == {"utf8mb4_general_ci"}
        assert len(_foreign_keys(db)) == 4
        _downgrade(db, "0006")  # drops the task tables; going up makes them again
        assert migrate.upgrade(mysql_url) == "0013"
        assert _collations(db) == {"utf8mb4_nopad_bin"}
        assert len(_foreign_keys(db)) == 4
    finally:
        db.dispose()


@pytest.mark.parametrize("interrupted", [False, True])
def test_0012_gives_a_unit_booked_on_another_units_ledger_row_its_own(
    mysql_url: str, interrupted: bool
) -> None:
    """Before 0012 a case-blind database booked ``县cbd办公室`` on ``县CBD办公室``'s ledger row. The
    migration moves its commitments to a row of its own, so verify agrees and each cap is its own —
    also when a first run stopped after converting the tables, before the split."""
    _approved(mysql_url, "县CBD办公室", "县cbd办公室")
    ledger = schema.budget_ledger
    db = sa.create_engine(mysql_url)
    try:
        with db.begin() as conn:
            rows = dict(conn.execute(sa.select(ledger.c.host_unit, ledger.c.committed_fen)).all())
            assert rows["县CBD办公室"] == rows["县cbd办公室"] > 0
            # as the revisions before 0012 booked it: one row, both units' commitments
            conn.execute(ledger.delete().where(ledger.c.host_unit == "县cbd办公室"))
            conn.execute(ledger.update().values(committed_fen=2 * rows["县cbd办公室"], spent_fen=700))
            _revision_0012().convert(conn, "utf8mb4_general_ci")
            command.stamp(migrate._config(conn), "0011")
            if interrupted:  # the tables converted, the split not made: MySQL commits each ALTER
                _revision_0012().convert(conn, "utf8mb4_nopad_bin")
        assert migrate.upgrade(mysql_url) == "0013"
        with db.connect() as conn:
            after = {
                u: (c, s)
                for u, c, s in conn.execute(
                    sa.select(ledger.c.host_unit, ledger.c.committed_fen, ledger.c.spent_fen)
                )
            }
    finally:
        db.dispose()
    assert after == {"县CBD办公室": (rows["县CBD办公室"], 700), "县cbd办公室": (rows["县cbd办公室"], 0)}
    assert _verified(mysql_url) == 6


def test_0012_is_not_undone_where_keys_would_become_one(mysql_url: str) -> None:
    """Two host units differing only in case, each with its ledger row: going back to a case-blind
    collation is refused before anything is changed, naming the key."""
    _approved(mysql_url, "县CBD办公室", "县cbd办公室")
    db = sa.create_engine(mysql_url)
    try:
        _downgrade(db, "0012")  # why: MySQL commits a later revision's DDL undone before 0012 refuses
        with pytest.raises(StorageError, match=r"jd_budget_ledger.*行尾空格.*differing only in case"):
            _downgrade(db, "0011")
        assert migrate.current_revision(db) == "0012"
        assert _collations(db) == {"utf8mb4_nopad_bin"}
        assert len(_foreign_keys(db)) == 4
    finally:
        db.dispose()
    assert _verified(mysql_url) == 6


def test_0012_is_not_undone_on_a_database_of_another_character_set(tmp_path: Path) -> None:
    for url in private_database("mysql", tmp_path):
        db = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with db.connect() as conn:
                conn.exec_driver_sql("ALTER DATABASE CHARACTER SET utf8mb3 COLLATE utf8mb3_general_ci")
            assert migrate.upgrade(url) == "0013"
            assert _collations(db) == {"utf8mb4_nopad_bin"}
            with pytest.raises(StorageError, match=r"utf8mb3.*lose characters"):
                _downgrade(db, "0011")
            assert _collations(db) == {"utf8mb4_nopad_bin"}
        finally:
            db.dispose()


def test_0012_stops_before_anything_when_another_table_refers_to_a_jiedai_table(mysql_url: str) -> None:
    migrate.upgrade(mysql_url)
    db = sa.create_engine(mysql_url)
    try:
        with db.begin() as conn:
            _revision_0012().convert(conn, "utf8mb4_general_ci")
            command.stamp(migrate._config(conn), "0011")
            conn.exec_driver_sql(
                "CREATE TABLE county_notes (reception_id VARCHAR(64) NOT NULL,"
                " FOREIGN KEY (reception_id) REFERENCES jd_receptions (id))"
            )
        with pytest.raises(StorageError, match=r"county_notes.*jd_receptions.*drop them first"):
            migrate.upgrade(mysql_url)
        result = CliRunner().invoke(main, ["--db", mysql_url, "db", "upgrade"], env={"COLUMNS": "300"})
        assert result.exit_code == 4, result.output
        assert "其他表有指向 jiedai 表的外键（county_notes" in result.output
        assert "Traceback" not in result.output
        assert migrate.current_revision(db) == "0011"
        assert _collations(db) == {"utf8mb4_general_ci"}
        assert len(_foreign_keys(db)) == 5
    finally:
        db.dispose()
