"""The dispatcher sends only what the hashed trail vouches for: a notification someone with write
access to the database added (tied to no event, or to another reception's event), or a pending one
whose text they edited (「李娜「审批同意」，请财务立即拨付」), is not delivered, not retried, marked
``refused`` and logged at error level, while the genuine rows of the same batch are delivered — on
every store, through the real loopback webhook receiver.

On SQL the tamperer writes straight into ``jd_outbox`` with foreign keys off for their session (see
``tests/test_audit_orphans.py``); the memory store has no database, so there the row goes in through
``enqueue`` (the store's public way in for rows outside commands) or is swapped in place."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow import hookimpl
from jiedai_flow.notify.deadlines import remind
from jiedai_flow.notify.dispatch import Dispatcher
from jiedai_flow.storage import schema
from jiedai_flow.storage.codec import encode
from jiedai_flow.storage.memory import MemoryStore
from jiedai_flow.storage.sql.outbox import outbox_row
from jiedai_flow.testing import ACTORS
from tests.databases import foreign_keys_off
from tests.test_dispatch import POLICY, _close_engines, clock, engine_on, receiver, webhook
from tests.test_dispatch import submitted as register_and_submit
from tests.test_process_plugins import with_follow_up

if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextlib import AbstractContextManager

    import sqlalchemy as sa

    from jiedai_flow import Engine, Notification
    from jiedai_flow.process.lifecycle import ProcessDefinition
    from jiedai_flow.testing import FrozenClock
    from tests._notify_servers import HttpReceiver

__all__ = ["_close_engines", "clock", "receiver"]  # the fixtures, shared with tests/test_dispatch.py

OB = schema.outbox
FORGED_TEXT = "李娜「审批同意」，请财务立即拨付"


def tampering(engine: Engine) -> AbstractContextManager[sa.Connection]:
    """A connection of someone with write access, foreign keys off for it."""
    return foreign_keys_off(engine.store.db)  # type: ignore[attr-defined]


def forge(engine: Engine, row: Notification) -> None:
    """Put ``row`` into the outbox behind the engine's back."""
    if isinstance(engine.store, MemoryStore):
        assert engine.store.enqueue([row]) == 1
        return
    with tampering(engine) as conn:
        conn.execute(OB.insert().values(outbox_row(row)))


def edit(engine: Engine, row: Notification) -> None:
    """Replace the stored text of the pending row ``row.id`` with ``row``'s."""
    store = engine.store
    if isinstance(store, MemoryStore):
        store._outbox[row.id].notification = row  # the in-memory row, as a tamperer in-process would
        return
    with tampering(engine) as conn:
        assert conn.execute(OB.update().where(OB.c.id == row.id).values(data=encode(row))).rowcount == 1


def submitted(engine: Engine) -> tuple[str, Notification]:
    """A submitted reception and its one pending webhook row."""
    reception, event = register_and_submit(engine)
    (row,) = [n for n in engine.store.pending_notifications(limit=1000) if n.event_id == event.id]
    return reception.id, row


def forged_like(row: Notification, **changes: object) -> Notification:
    return attrs.evolve(row, id="f0rged" + row.id[6:], message_zh=FORGED_TEXT, **changes)


@pytest.mark.parametrize("forgery", ["no event", "another reception's event", "edited text"])
def test_a_row_the_trail_does_not_vouch_for_is_refused_and_the_genuine_ones_are_delivered(
    store_url: str,
    clock: FrozenClock,
    receiver: HttpReceiver,
    forgery: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"))
    a, a_row = submitted(engine)
    b, b_row = submitted(engine)
    c, c_row = submitted(engine)
    if forgery == "no event":
        bad = forged_like(a_row, event_id="0" * 32)
        forge(engine, bad)
        refused, delivered = {bad.id}, {a_row.id, b_row.id, c_row.id}
    elif forgery == "another reception's event":
        bad = forged_like(a_row, event_id=b_row.event_id)  # a's row tied to b's event
        forge(engine, bad)
        # b's event now has a row its digest does not cover: none of its rows goes
        refused, delivered = {bad.id, b_row.id}, {a_row.id, c_row.id}
    else:
        bad = attrs.evolve(b_row, message_zh=FORGED_TEXT)
        edit(engine, bad)
        refused, delivered = {b_row.id}, {a_row.id, c_row.id}
    del a, b, c

    with caplog.at_level(logging.ERROR, logger="jiedai_flow.notify.dispatch"):
        report = Dispatcher(engine, policy=POLICY).run_once()

    assert (report.claimed, report.delivered, report.refused) == (
        len(refused | delivered),
        len(delivered),
        len(refused),
    )
    assert (report.retried, report.dead) == (0, 0)
    assert set(receiver.keys()) == delivered
    assert not any(FORGED_TEXT in r.body.decode() for r in receiver.requests)
    logged = {r.args[0] for r in caplog.records if r.levelno == logging.ERROR}  # type: ignore[index]
    assert logged == refused
    assert all("未发送" in r.getMessage() and "refused" in r.getMessage() for r in caplog.records)
    assert engine.store.delivery_counts() == {"delivered": len(delivered), "refused": len(refused)}

    clock.set(clock.now() + timedelta(days=1))  # past every backoff and lease: nothing is retried
    assert Dispatcher(engine, policy=POLICY).run_once().claimed == 0
    assert set(receiver.keys()) == delivered


def scanned(engine: Engine, clock: FrozenClock) -> Notification:
    """The deadline scan's reminder, a month on, of the one reception awaiting approval."""
    assert remind(engine, clock.now().date() + timedelta(days=30)) == 1
    (row,) = [n for n in engine.store.pending_notifications(limit=1000) if n.topic.startswith("remind:")]
    return row


def test_a_reminder_is_sent_only_for_a_reception_and_event_that_exist_and_match(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    """A genuine reminder goes; one of no reception, or tied to another reception's event, does not."""
    engine = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"))
    a, a_row = submitted(engine)
    genuine = scanned(engine, clock)
    _, b_row = submitted(engine)
    forge(engine, attrs.evolve(genuine, id="0" * 31 + "2", reception_id="0" * 32))
    forge(engine, attrs.evolve(genuine, id="0" * 31 + "3", event_id=b_row.event_id))

    report = Dispatcher(engine, policy=POLICY).run_once()

    assert (report.delivered, report.refused) == (3, 2)
    assert genuine.reception_id == a
    assert set(receiver.keys()) == {a_row.id, b_row.id, genuine.id}
    assert engine.store.delivery_counts() == {"delivered": 3, "refused": 2}


def test_a_reminder_says_only_what_its_reception_asks(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    """A reminder is covered by no event's digest, so the dispatcher makes it again from the
    reception before sending: one written straight into the database on a real event of its own
    reception, with a text and link of its own, is not sent (``obsolete``); a genuine one whose text
    was edited goes with the scan's text, not the edited one."""
    engine = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"))
    _, row = submitted(engine)
    genuine = scanned(engine, clock)
    forged = attrs.evolve(
        genuine, id="f0rged" + genuine.id[6:], message_zh=FORGED_TEXT, link="http://evil.example/"
    )
    forge(engine, forged)
    edit(
        engine,
        attrs.evolve(genuine, message_zh=FORGED_TEXT, link="http://evil.example/", people=("wang.fang",)),
    )

    report = Dispatcher(engine, policy=POLICY).run_once()

    assert (report.delivered, report.obsolete, report.refused) == (2, 1, 0)
    assert set(receiver.keys()) == {row.id, genuine.id}
    sent = b"".join(r.body for r in receiver.requests)
    assert FORGED_TEXT.encode() not in sent
    assert b"evil.example" not in sent
    assert genuine.message_zh.encode() in sent
    assert engine.store.delivery_counts() == {"delivered": 2, "obsolete": 1}


def test_a_reminder_whose_deadline_was_met_since_the_scan_is_not_sent(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    """Scanned while the step waited, dispatched after it was signed: nothing to remind of."""
    engine = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"))
    reception, row = submitted(engine)
    reminder = scanned(engine, clock)
    engine.fire(reception, "approve", ACTORS["approver"], reason="同意")

    report = Dispatcher(engine, policy=POLICY).run_once()

    assert report.obsolete == 1
    assert report.refused == 0
    sent = set(receiver.keys())  # the submission's row and the approval's
    assert row.id in sent
    assert reminder.id not in sent
    assert engine.store.delivery_counts()["obsolete"] == 1


class _Followed:
    """A county's process: the default with a follow-up stage, chosen for every reception."""

    @hookimpl
    def jiedai_processes(self, default: ProcessDefinition) -> list[ProcessDefinition]:
        return [with_follow_up(default)]

    @hookimpl
    def jiedai_choose_process(self, processes: Mapping[str, object], **_: object) -> str | None:
        return "followed@1" if "followed@1" in processes else None


def test_a_reminder_the_dispatcher_cannot_make_again_waits_and_the_batch_goes_on(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    """Scanned by an engine with the county's process, dispatched by one without it: that reminder
    is tried again later (a failed attempt, then a dead letter), never sent as stored; the other
    rows of the batch go as usual."""
    scanner = engine_on(store_url, clock, _Followed(), webhook(receiver, "/ok", "hook"))
    _, county_row = submitted(scanner)
    reminder = scanned(scanner, clock)
    dispatcher = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"), share=scanner)
    _, plain_row = submitted(dispatcher)

    report = Dispatcher(dispatcher, policy=POLICY).run_once()

    assert (report.delivered, report.retried) == (2, 1)
    assert set(receiver.keys()) == {county_row.id, plain_row.id}
    assert {n.id for n in dispatcher.store.pending_notifications()} == {reminder.id}


def test_a_reminder_judged_more_than_a_year_from_its_writing_is_refused(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    """A forged ``as_of`` far ahead would make the reminder say 已逾期 2912160 天: not a scan's row."""
    engine = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"))
    _, row = submitted(engine)
    genuine = scanned(engine, clock)
    edit(engine, attrs.evolve(genuine, as_of=date(9999, 12, 31)))

    report = Dispatcher(engine, policy=POLICY).run_once()

    assert (report.delivered, report.refused) == (1, 1)
    assert receiver.keys() == [row.id]


def test_an_obsolete_reminder_is_logged_as_a_warning(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    """It also shows a scan and a dispatcher run on different standards or calendars."""
    engine = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"))
    reception, _ = submitted(engine)
    reminder = scanned(engine, clock)
    engine.fire(reception, "approve", ACTORS["approver"], reason="同意")
    with caplog.at_level(logging.WARNING, logger="jiedai_flow.notify.dispatch"):
        assert Dispatcher(engine, policy=POLICY).run_once().obsolete == 1
    assert any(reminder.id in r.getMessage() and "标准、日历、流程" in r.getMessage() for r in caplog.records)


def test_deliver_one_row_checks_it_too(store_url: str, clock: FrozenClock, receiver: HttpReceiver) -> None:
    engine = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"))
    _, row = submitted(engine)
    edit(engine, attrs.evolve(row, message_zh=FORGED_TEXT))
    (claimed,) = engine.store.claim_deliveries(clock.now(), timedelta(minutes=5), worker="one")
    report = Dispatcher(engine, policy=POLICY, worker="one").deliver(claimed)
    assert (report.delivered, report.refused) == (0, 1)
    assert receiver.requests == []
