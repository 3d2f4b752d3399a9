"""The shipped migrations: a fresh database reaches head; 0004 fills its typed columns from the JSON;
0005 splits the audit trail into shards without rewriting a stored hash; 0010 names who may not take
a pending pool task."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs
import sqlalchemy as sa
from alembic import command

from jiedai_flow import Actor, ApprovalStep, Role, hookimpl
from jiedai_flow.storage import chain as audit
from jiedai_flow.storage import checkpoints, migrate, schema
from jiedai_flow.storage.checkpoints import AuditKey, Checkpoint, verify_checkpoints
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.testing import ACTORS, make_engine
from tests._sql_helpers import advance, create

if TYPE_CHECKING:
    from pathlib import Path

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
    assert migrate.upgrade(url) == migrate.head_revision() == "0011"


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

    assert migrate.upgrade(url) == "0011"
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
        assert migrate.upgrade(url) == "0011"
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

    assert migrate.upgrade(sql_url) == "0011"
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
        assert migrate.upgrade(sql_url) == "0011"
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
