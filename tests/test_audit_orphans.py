"""Rows that belong to nothing the trail holds: ``SQLStore.verify()`` (and ``jiedai audit verify``)
reports a reception row deleted while its events stay, a task or carbon copy row of no reception
(someone's forged 待办), and a notification tied to no event of its reception (a forged message the
dispatcher would send).

The tamperer turns the foreign keys off for their own session first (SQLite's driver leaves them
off unless asked; PostgreSQL's ``session_replication_role``, MariaDB's ``FOREIGN_KEY_CHECKS``), as
anyone with write access can. The trail is the one ``tests/test_audit_chain.py`` builds."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from jiedai_flow.cli import main
from jiedai_flow.storage import schema
from tests.databases import foreign_keys_off
from tests.test_audit_chain import E, R, built, trail

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from jiedai_flow.storage.chain import AuditProblem
    from tests.test_audit_chain import Trail

__all__ = ["built", "trail"]  # the fixtures, shared with the chain's tests

T, CC, OB, H = schema.tasks, schema.copies, schema.outbox, schema.chain_head


def tampering(trail: Trail) -> AbstractContextManager[sa.Connection]:
    """The tamperer's connection, in one transaction, with foreign keys not enforced."""
    return foreign_keys_off(trail.db)


def problem_of(trail: Trail) -> AuditProblem:
    report = trail.verify()
    assert not report.ok, "tampering went undetected"
    assert report.problem is not None
    return report.problem


def test_the_untampered_trail_still_verifies(trail: Trail) -> None:
    report = trail.verify()
    assert report.ok, str(report.problem)


# -- a reception row deleted, its events left -------------------------------------------------------


@pytest.mark.parametrize("name", ["A", "B", "C"])
def test_a_deleted_reception_row_whose_events_remain_is_named(trail: Trail, name: str) -> None:
    """The reception vanishes from every list and from the disclosure report; its events stay."""
    rid = trail.receptions[name]
    events = sum(1 for e in trail.events if e.reception_id == rid)
    with tampering(trail) as conn:
        number = conn.execute(sa.select(R.c.number).where(R.c.id == rid)).scalar_one()
        conn.execute(T.delete().where(T.c.reception_id == rid))
        conn.execute(CC.delete().where(CC.c.reception_id == rid))
        conn.execute(R.delete().where(R.c.id == rid))
    problem = problem_of(trail)
    assert problem.reception_id == rid
    assert (problem.chain_index, problem.event_id) == (0, "")
    assert rid in str(problem)
    assert number in problem.message_zh  # found in the command log, where it is still there
    assert "被删除" in problem.message_zh
    assert f"{events} 条审计记录" in problem.reason_zh
    assert "reception row is missing" in problem.message_en


def test_a_deleted_reception_row_is_named_by_id_when_no_command_names_its_number(trail: Trail) -> None:
    rid = trail.receptions["B"]
    with tampering(trail) as conn:
        conn.execute(schema.commands.delete().where(schema.commands.c.reception_id == rid))
        conn.execute(T.delete().where(T.c.reception_id == rid))
        conn.execute(R.delete().where(R.c.id == rid))
    problem = problem_of(trail)
    assert (problem.reception_id, problem.number) == (rid, "")
    assert f"接待 {rid}" in problem.message_zh


def test_a_reception_row_whose_events_are_all_deleted_is_named(trail: Trail) -> None:
    """The symmetric case: C's whole chain removed (its shard's head emptied to match)."""
    rid = trail.receptions["C"]
    shard = next(e.shard for e in trail.events if e.reception_id == rid)
    assert all(e.reception_id == rid for e in trail.events if e.shard == shard)  # C's shard is its own
    with tampering(trail) as conn:
        conn.execute(OB.delete().where(OB.c.reception_id == rid))
        conn.execute(E.delete().where(E.c.reception_id == rid))
        conn.execute(H.update().where(H.c.id == shard).values(chain_index=0, hash=""))
    problem = problem_of(trail)
    assert problem.reception_id == rid
    assert "does not match its audit chain" in problem.reason_en


# -- task and copy rows of no reception -----------------------------------------------------------


def _forged_task(trail: Trail, reception_id: str) -> dict[str, Any]:
    with trail.db.connect() as conn:
        row = dict(conn.execute(sa.select(T).limit(1)).one()._mapping)
    row.update(
        id="forged-task-1",
        reception_id=reception_id,
        owner="sun.hao",
        title="紧急：请立即签批",
        state="open",
        done_by="",
        done_at=None,
        outcome="",
    )
    return row


def _where(trail: Trail) -> dict[str, str]:
    """Reception ids that sort before every reception, between two, and after every one."""
    return {"before": "0000", "between": trail.receptions["A"] + "x", "after": "zzzzzzzz"}


@pytest.mark.parametrize("where", ["before", "between", "after"])
def test_a_task_row_of_no_reception_is_reported_as_added(trail: Trail, where: str) -> None:
    """A forged 待办 for sun.hao, whatever reception id it claims and wherever that id sorts."""
    orphan = _where(trail)[where]
    with tampering(trail) as conn:
        conn.execute(T.insert().values(_forged_task(trail, orphan)))
    problem = problem_of(trail)
    assert problem.reception_id == orphan
    assert "forged-t" in str(problem)
    assert "sun.hao" in str(problem)
    assert "没有对应的接待" in problem.reason_zh
    assert "no reception" in problem.reason_en


@pytest.mark.parametrize("where", ["before", "between", "after"])
def test_a_copy_row_of_no_reception_is_reported_as_added(trail: Trail, where: str) -> None:
    orphan = _where(trail)[where]
    with tampering(trail) as conn:
        conn.execute(
            CC.insert().values(
                reception_id=orphan,
                actor_id="sun.hao",
                number="JD-FORGED",
                host_unit="县政府办公室",
                by_id="handler",
                at=datetime(2026, 1, 5, 8, 0),
                read=False,
            )
        )
    problem = problem_of(trail)
    assert problem.reception_id == orphan
    assert "抄送 sun.hao" in problem.reason_zh
    assert "copy to sun.hao" in problem.reason_en
    assert "no reception" in problem.reason_en


# -- notifications tied to no event ------------------------------------------------------------------


def _copy_outbox(trail: Trail, **changes: Any) -> dict[str, Any]:
    """An outbox row copied from a command's, with ``changes`` (its JSON rewritten to match)."""
    with trail.db.connect() as conn:
        row = dict(
            conn.execute(sa.select(OB).where(sa.not_(OB.c.topic.startswith("remind:"))).limit(1))
            .one()
            ._mapping
        )
    data = row["data"].replace(row["id"], changes.get("id", row["id"]))
    data = data.replace(row["event_id"], changes.get("event_id", row["event_id"]))
    row.update(changes, data=data, status="pending", attempts=0)
    return row


@pytest.mark.parametrize(
    "changes",
    [
        {"id": "fakeob2", "event_id": "no-such-event"},
        {"id": "fakeob3", "event_id": "no-such-event", "topic": "remind:approval"},
        {"id": "fakeob4", "reception_id": "zzzzzzzz", "topic": "remind:approval"},
    ],
    ids=["of-no-event", "reminder-of-no-event", "reminder-of-no-reception"],
)
def test_a_notification_of_no_event_of_its_reception_is_reported_as_added(
    trail: Trail, changes: dict[str, Any]
) -> None:
    """The reviewer's forged notification: copied from a real one, pointed at no event."""
    row = _copy_outbox(trail, **changes)
    with tampering(trail) as conn:
        conn.execute(OB.insert().values(row))
    problem = problem_of(trail)
    assert changes["id"] in str(problem)
    assert problem.reception_id == row["reception_id"]
    assert "被添加" in problem.reason_zh
    assert "added" in problem.reason_en


def test_a_notifications_reception_column_moved_to_no_reception_is_reported(trail: Trail) -> None:
    with trail.db.connect() as conn:
        row_id = conn.execute(sa.select(OB.c.id).limit(1)).scalar_one()
    with tampering(trail) as conn:
        conn.execute(OB.update().where(OB.c.id == row_id).values(reception_id="zzzzzzzz"))
    problem = problem_of(trail)
    assert row_id in str(problem)


# -- the command line -----------------------------------------------------------------------------


def test_cli_audit_verify_exits_1_naming_a_forged_task(trail: Trail) -> None:
    with tampering(trail) as conn:
        conn.execute(T.insert().values(_forged_task(trail, "zzzzzzzz")))
    result = CliRunner().invoke(main, ["--db", trail.url, "audit", "verify"], env={"COLUMNS": "300"})
    assert result.exit_code == 1, result.output
    assert "审计链校验失败" in result.output
    assert "zzzzzzzz" in result.output
    assert "没有对应的接待" in result.output
    assert "Traceback" not in result.output


def test_mixed_case_reception_ids_are_merged_in_one_order_on_every_back_end(sql_url: str) -> None:
    """Reception ids a registrar chose may mix cases: the task index is merged with the receptions
    in code point order on every database (MySQL/MariaDB's collation ignores case), so a task of
    an existing reception is never called added, nor its own row deleted."""
    from jiedai_flow.testing import make_engine
    from tests._sql_helpers import advance, create
    from tests.databases import with_server_collation

    engine = make_engine(url=with_server_collation(sql_url))
    try:
        for rid in ("b1x-visit", "B2x-visit", "b3x-visit"):  # b1x < B2x < b3x ignoring case
            advance(engine, create(engine, reception_id=rid).reception, steps=1)  # submitted: open tasks
        report = engine.store.verify()  # type: ignore[attr-defined]
        assert report.ok, report.problem
    finally:
        engine.store.close()


def test_a_forged_pool_task_is_named_by_its_title_alone(trail: Trail) -> None:
    with trail.db.connect() as conn:
        row = dict(conn.execute(sa.select(T).limit(1)).mappings().one())
    row |= {"id": "forgedpool", "reception_id": "zzzzzzzz", "owner": "", "assignee": "", "title": "审批"}
    with tampering(trail) as conn:
        conn.execute(T.insert().values(row))
    report = trail.verify()
    assert report.problem is not None
    assert "任务 forgedpo（「审批」）" in report.problem.message_zh
    assert "task forgedpo ('审批')" in report.problem.message_en
