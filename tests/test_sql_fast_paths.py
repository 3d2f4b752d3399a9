"""The shortcuts of the SQL store's write path stay correct when another writer moves underneath.

A command starts from the store's own copy of the reception (no read) and the audit chain head
is advanced by a compare-and-set on the index this store last wrote (no read). Both are only
shortcuts: here two engines on one database take turns on the same receptions, so each one's
copy and head are stale half of the time, and every outcome must be what fresh reads give.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from jiedai_flow.errors import ConflictError, InvalidTransitionError, JiedaiFlowError
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.plugins import make_plugin_manager
from jiedai_flow.process.engine import Engine
from jiedai_flow.storage import schema
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.storage.sql.statements import isoformat_or as _isoformat_or
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine

from ._sql_helpers import HAPPY, advance, consistency_problems, create, fire

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from jiedai_flow.domain.records import AuditEvent, Reception


@pytest.fixture
def two(sql_url: str) -> Iterator[tuple[Engine, Engine, str]]:
    """Two engines, each with its own store (connections, cached copies, cached head), one database."""
    a, b = make_engine(url=sql_url), make_engine(url=sql_url)
    yield a, b, sql_url
    a.store.close()
    b.store.close()


def test_engines_taking_turns_on_the_same_receptions_apply_every_command_once(
    two: tuple[Engine, Engine, str],
) -> None:
    a, b, url = two
    receptions = [create(a).reception, create(b).reception, create(a).reception]
    commands = {r.id: 1 for r in receptions}
    turn = 0
    while any(r.state in HAPPY for r in receptions):
        for i, r in enumerate(receptions):
            if r.state not in HAPPY:
                continue
            engine = (a, b)[turn % 2]
            turn += 1
            trigger, actor = HAPPY[r.state]
            receptions[i] = fire(engine, r, trigger, actor).reception
            commands[r.id] += 1
    assert {r.id: r.version for r in receptions} == commands
    assert all(r.state == "archived" for r in receptions)
    assert consistency_problems(url) == []
    report = a.store.verify()
    assert report.ok, report
    assert report.checked == sum(commands.values())


def test_a_stale_copy_does_not_refuse_a_command_the_stored_reception_allows(
    two: tuple[Engine, Engine, str],
) -> None:
    a, b, _ = two
    draft = create(a).reception  # a's copy: draft
    submitted = fire(b, draft, "submit", "handler").reception
    # On a's stale copy, approve is not possible from draft; on the stored reception it is.
    approved = fire(a, submitted, "approve", "approver").reception
    assert (approved.state, approved.version) == ("approved", 3)
    assert a.get(draft.id) == approved


def test_a_stale_copy_does_not_let_through_a_command_the_stored_reception_refuses(
    two: tuple[Engine, Engine, str],
) -> None:
    a, b, _ = two
    submitted = fire(a, create(a).reception, "submit", "handler").reception  # a's copy: submitted
    fire(b, submitted, "withdraw", "handler")  # stored: draft again
    with pytest.raises(InvalidTransitionError):
        fire(a, submitted, "withdraw", "handler")  # possible on the stale copy only
    assert b.get(submitted.id).version == 3


def test_an_expected_version_older_than_the_stored_one_is_still_a_conflict(
    two: tuple[Engine, Engine, str],
) -> None:
    a, b, _ = two
    draft = create(a).reception
    fire(b, draft, "submit", "handler")
    with pytest.raises(ConflictError) as caught:
        fire(a, draft, "edit", "handler", expected_version=1)  # a's copy agrees with the caller
    assert (caught.value.expected, caught.value.actual) == (1, 2)


def test_the_chain_head_moved_by_another_store_is_read_and_the_chains_verify(sql_url: str) -> None:
    a, b = make_engine(url=sql_url), make_engine(url=sql_url)
    try:
        for engine in (a, b, a, a, b, b, a):
            advance(engine, create(engine).reception, steps=2)
        report = b.store.verify()
        assert report.ok, report
        engine = sa.create_engine(sql_url)
        with engine.connect() as conn:
            head = conn.execute(sa.select(sa.func.sum(schema.chain_head.c.chain_index))).scalar_one()
            events = conn.execute(sa.select(sa.func.count()).select_from(schema.audit_events)).scalar_one()
        engine.dispose()
        assert head == events == 7 * 3
    finally:
        a.store.close()
        b.store.close()


def test_sqlite_dates_are_written_as_sqlalchemy_writes_them() -> None:
    dialect = sa.dialects.sqlite.dialect()  # type: ignore[attr-defined]
    for kind in (sa.DateTime(), sa.Date()):
        processor = kind.dialect_impl(dialect).bind_processor(dialect)
        fast = _isoformat_or(processor)
        assert fast is not processor
        for value in (datetime(2026, 1, 31, 23, 59, 59, 999999), datetime(2026, 2, 1), date(2026, 10, 8)):
            if isinstance(kind, sa.Date) or isinstance(value, datetime):
                assert fast(value) == processor(value)
        assert fast(None) == processor(None)


def test_a_custom_sqlite_storage_format_keeps_sqlalchemys_processor() -> None:
    dialect = sa.dialects.sqlite.dialect()  # type: ignore[attr-defined]
    custom = sa.dialects.sqlite.DATETIME(  # type: ignore[attr-defined]
        storage_format="%(year)04d/%(month)02d/%(day)02d %(hour)02d:%(minute)02d:%(second)02d"
    )
    processor = custom.bind_processor(dialect)
    assert _isoformat_or(processor) is processor


def test_the_store_reads_back_the_typed_dates_it_wrote(sql_url: str) -> None:
    engine = make_engine(url=sql_url)
    try:
        created = create(engine, start=date(2026, 10, 1)).reception
    finally:
        engine.store.close()
    store = SQLStore(sql_url, create=False)
    try:
        assert store.load(created.id) == created
        db = sa.create_engine(sql_url)
        with db.connect() as conn:
            start, at = conn.execute(
                sa.select(schema.receptions.c.start_date, schema.receptions.c.created_at)
            ).one()
        db.dispose()
        assert start == date(2026, 10, 1)
        assert at == created.created_at.astimezone(UTC).replace(tzinfo=None)
    finally:
        store.close()


def test_with_a_before_transition_observer_the_engine_reads_first_and_a_racing_commit_conflicts(
    sql_url: str,
) -> None:
    winner = make_engine(url=sql_url)

    class Racer:
        """Commits through the other engine between this command's read and its save, once."""

        def __init__(self) -> None:
            self.seen: list[int] = []

        @hookimpl
        def jiedai_before_transition(self, before: Reception, after: Reception, event: AuditEvent) -> None:
            del after
            self.seen.append(before.version)
            if event.trigger == "refuse" and len(self.seen) == 2:
                winner.fire(before.id, "approve", ACTORS["approver"])

    racer = Racer()
    loser = make_engine(racer, url=sql_url)
    try:
        submitted = fire(loser, create(loser).reception, "submit", "handler").reception
        with pytest.raises(ConflictError) as caught:  # the version the caller saw is pinned
            loser.fire(submitted.id, "refuse", ACTORS["approver"], reason="不符合规定", expected_version=2)
        assert (caught.value.expected, caught.value.actual) == (2, 3)
        assert racer.seen == [1, 2]  # observers see the reception as read, once per command
        assert loser.get(submitted.id).state == "approved"
        assert [e.trigger for e in loser.history(submitted.id)] == ["create", "submit", "approve"]
        assert consistency_problems(sql_url) == []
    finally:
        winner.store.close()
        loser.store.close()


class _MarksFailOnce(SQLStore):
    """A store whose first delivery mark fails: an error after the command has committed."""

    failed = False

    def mark_notified(self, notification_ids: Sequence[str]) -> None:
        if not self.failed:
            self.failed = True
            raise JiedaiFlowError("送达标记写入失败", "writing delivery marks failed")
        super().mark_notified(notification_ids)


def test_an_error_after_the_commit_never_runs_the_command_again(sql_url: str) -> None:
    store = _MarksFailOnce(sql_url)
    engine = Engine(store, make_plugin_manager(autoload=False), clock=FrozenClock())
    try:
        draft = create(engine).reception
        with pytest.raises(JiedaiFlowError, match="送达标记"):
            fire(engine, draft, "submit", "handler")  # saved; then the inline delivery's mark fails
        assert [e.trigger for e in engine.history(draft.id)] == ["create", "submit"]
        again = fire(engine, engine.get(draft.id), "approve", "approver", request_id="req-1")
        assert again.reception.version == 3
        assert fire(engine, draft, "approve", "approver", request_id="req-1").replayed
        assert [e.trigger for e in engine.history(draft.id)] == ["create", "submit", "approve"]
    finally:
        store.close()


def test_an_edited_chain_head_is_carried_into_the_chain_not_papered_over(sql_url: str) -> None:
    engine = make_engine(url=sql_url)
    try:
        reception = advance(engine, create(engine).reception, steps=2)  # events 1–3; head cached
        db = sa.create_engine(sql_url)
        with db.begin() as conn:
            conn.execute(sa.update(schema.chain_head).values(hash="0" * 64))  # same index, edited hash
        db.dispose()
        advance(engine, reception, steps=1)  # event 4 continues from the head as it is in the database
        report = engine.store.verify()
        assert report.problem is not None
        assert report.problem.chain_index == 4
    finally:
        engine.store.close()
