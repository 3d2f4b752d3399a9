"""The dispatcher with real engines, stores and receivers: every outbox row ends delivered or
dead, retries back off (never sooner than Retry-After), no row is delivered twice by concurrent
dispatchers, rows of unknown channels wait, abandoned leases run out."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta
from typing import TYPE_CHECKING

import pytest

from jiedai_flow import Engine, Role, hookimpl, make_plugin_manager
from jiedai_flow.notify.channels import Contact
from jiedai_flow.notify.channels.webhook import WebhookNotifier
from jiedai_flow.notify.dispatch import Dispatcher, DispatchReport, RetryPolicy
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, sample_letter, sample_plan
from tests._notify_servers import HttpReceiver, Reply

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.domain.records import AuditEvent, Reception
    from jiedai_flow.notify.channels import Message, RegisterNotifier

START = date(2026, 3, 10)
POLICY = RetryPolicy(max_attempts=4, base_delay=timedelta(seconds=1))
NO_LOG = ("jiedai.log_notifier",)  # only the channels under test get rows


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver(slow_seconds=0.3)
    yield server
    server.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


class Directory:
    """``jiedai_contacts``: one person per role."""

    @hookimpl
    def jiedai_contacts(self, role: Role, reception: object) -> list[Contact]:
        del reception
        return [Contact(f"{role.label}甲", role, email=f"{role.value}@county.gov.cn", wecom_id=role.value)]


class Recorder:
    """A notifier (and its plugin) that keeps what it was asked to deliver."""

    inline = False

    def __init__(self, name: str) -> None:
        self.name = name
        self.messages: list[Message] = []

    def deliver(self, message: Message) -> None:
        self.messages.append(message)

    @hookimpl
    def jiedai_register_notifiers(self, register: RegisterNotifier) -> None:
        register(self)


_opened: list[Engine] = []


@pytest.fixture(autouse=True)
def _close_engines() -> Iterator[None]:
    """Close every engine's store and notifier clients after each test."""
    yield
    while _opened:
        engine = _opened.pop()
        for notifier in engine.notifiers.values():
            close = getattr(notifier, "close", None)
            if close is not None:
                close()
        engine.store.close()


def engine_on(url: str, clock: FrozenClock, *plugins: object, share: Engine | None = None) -> Engine:
    """An engine on ``url``; with ``share``, a second engine on the same store (for memory://
    the same object, for SQL a separate ``SQLStore`` on the same database)."""
    if share is not None and url == "memory://":
        host = make_plugin_manager(autoload=False, blocked=NO_LOG, plugins=(Directory(), *plugins))
        engine = Engine(share.store, host, clock=clock)
    else:
        engine = make_engine(Directory(), *plugins, url=url, clock=clock, blocked=NO_LOG)
    _opened.append(engine)
    return engine


def webhook(receiver: HttpReceiver, path: str, name: str, timeout: float = 2) -> WebhookNotifier:
    return WebhookNotifier(receiver.url(path), receiver.webhook_secret, name=name, timeout=timeout)


def submitted(engine: Engine) -> tuple[Reception, AuditEvent]:
    """A reception registered and submitted (its submission writes a row per channel), and the
    submission's event."""
    reception = engine.create_reception(
        sample_letter(START),
        sample_plan(START),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception
    return reception, engine.fire(reception.id, "submit", ACTORS["handler"]).event


def seed(engine: Engine, receptions: int = 1) -> dict[str, set[str]]:
    """Submit ``receptions`` receptions (each submission writes a row per channel); returns the row
    ids by channel."""
    for _ in range(receptions):
        submitted(engine)
    rows: dict[str, set[str]] = {channel: set() for channel in engine.notifiers}
    for row in engine.store.pending_notifications(limit=10_000):
        rows[row.channel].add(row.id)
    return rows


def drain(
    dispatcher: Dispatcher, clock: FrozenClock, *, step: timedelta = timedelta(minutes=5)
) -> DispatchReport:
    """Rounds until nothing is pending, moving the clock on between rounds."""
    total = DispatchReport()
    for _round in range(50):
        total += dispatcher.run_once()
        if "pending" not in dispatcher.engine.store.delivery_counts():
            return total
        clock.set(clock.now() + step)
    raise AssertionError(f"still pending after 50 rounds: {dispatcher.engine.store.delivery_counts()}")


def test_every_row_ends_delivered_or_dead_and_the_counts_add_up(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    """Flaky (500 every other request) and rate-limited (429) receivers get every row once;
    a receiver slower than the timeout gets its rows dead-lettered after max_attempts."""
    notifiers = (
        webhook(receiver, "/flaky", "flaky"),
        webhook(receiver, "/limited", "limited"),
        webhook(receiver, "/slow", "slow", timeout=0.05),
    )
    engine = engine_on(store_url, clock, *notifiers)
    rows = seed(engine, receptions=3)
    written = sum(len(ids) for ids in rows.values())
    assert written == 9

    report = drain(Dispatcher(engine, policy=POLICY), clock)

    counts = engine.store.delivery_counts()
    assert counts == {"delivered": 6, "dead": 3}
    assert sum(counts.values()) == written
    assert (report.delivered, report.dead) == (6, 3)
    assert report.retried == 3 + 3 + 3 * 3  # flaky and limited once per row; slow until attempt 4
    accepted = Counter(receiver.keys())
    assert set(accepted) == rows["flaky"] | rows["limited"]
    assert set(accepted.values()) == {1}
    slow_tries = Counter(r.key for r in receiver.requests if r.path == "/slow")
    assert slow_tries == dict.fromkeys(rows["slow"], 4)


def test_backoff_doubles_with_jitter_between_attempts(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    """After attempt n fails the row is due within [½, 1]·base·2^(n-1): not claimable just
    before, claimable at the end of the window."""
    notifier = webhook(receiver, "/ok", "hook")
    engine = engine_on(store_url, clock, notifier)
    seed(engine)
    receiver.script("/ok", Reply(500), Reply(503), Reply(502))
    dispatcher = Dispatcher(engine, policy=POLICY)
    assert dispatcher.run_once().retried == 1
    for window in (1, 2, 4):  # seconds: the backoff after attempts 1, 2, 3
        failed_at = clock.now()
        clock.set(failed_at + timedelta(seconds=window / 2) - timedelta(milliseconds=10))
        assert dispatcher.run_once().claimed == 0, f"claimed before the {window}s window"
        clock.set(failed_at + timedelta(seconds=window))
        report = dispatcher.run_once()
        assert report.claimed == 1
    assert (report.retried, report.delivered) == (0, 1)
    assert engine.store.delivery_counts() == {"delivered": 1}


def test_retry_after_outweighs_a_shorter_backoff(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    notifier = webhook(receiver, "/limited", "hook")  # 429 Retry-After: 120, then 200
    engine = engine_on(store_url, clock, notifier)
    seed(engine)
    dispatcher = Dispatcher(engine, policy=POLICY)
    limited_at = clock.now()
    assert dispatcher.run_once().retried == 1
    clock.set(limited_at + timedelta(seconds=119))
    assert dispatcher.run_once().claimed == 0
    clock.set(limited_at + timedelta(seconds=120))
    assert dispatcher.run_once().delivered == 1


def test_two_dispatchers_at_once_deliver_every_row_exactly_once(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    """Each dispatcher has its own engine (and, on SQL, its own store and connections)."""
    writer = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"))
    rows = seed(writer, receptions=150)["hook"]
    one = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"), share=writer)
    two = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"), share=writer)
    reports: list[DispatchReport] = []
    start = threading.Barrier(2)

    def work(engine: Engine, worker: str) -> None:
        dispatcher = Dispatcher(engine, policy=POLICY, batch=10, worker=worker)
        total = DispatchReport()
        start.wait()
        try:
            while (report := dispatcher.run_once()).claimed:
                total += report
            reports.append(total)
        finally:
            # why: SQLStore keeps a connection per thread and close() only closes the calling
            # thread's, so each dispatcher's store is used, and closed, in its own thread only.
            engine.store.close()

    threads = [threading.Thread(target=work, args=(e, w)) for e, w in ((one, "one"), (two, "two"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    keys = receiver.keys()
    assert len(rows) == 150
    assert len(keys) == len(set(keys)) == 150, "a row was delivered twice"
    assert set(keys) == rows
    assert sum(r.delivered for r in reports) == 150
    assert all(r.delivered for r in reports), f"one dispatcher did all the work: {reports}"
    assert writer.store.delivery_counts() == {"delivered": 150}


def test_rows_of_a_channel_this_dispatcher_lacks_stay_pending_for_another(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    sms = Recorder("sms")
    writer = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"), sms)
    rows = seed(writer, receptions=3)
    web_only = engine_on(store_url, clock, webhook(receiver, "/ok", "hook"), share=writer)

    report = Dispatcher(web_only, policy=POLICY).run_once()

    # it claims only the channels it can deliver, so another channel's rows can never block it
    assert (report.claimed, report.delivered) == (3, 3)
    assert set(receiver.keys()) == rows["hook"]
    assert {n.id for n in web_only.store.pending_notifications()} == rows["sms"]
    # Skipping used no attempt: the dispatcher that has the channel makes attempt 1.
    assert Dispatcher(writer, policy=POLICY).run_once().delivered == 3
    assert {m.idempotency_key for m in sms.messages} == rows["sms"]
    assert {m.attempt for m in sms.messages} == {1}
    assert writer.store.delivery_counts() == {"delivered": 6}


def test_a_claimed_but_abandoned_row_is_claimed_again_after_the_lease(
    store_url: str, clock: FrozenClock, receiver: HttpReceiver
) -> None:
    notifier = webhook(receiver, "/ok", "hook")
    engine = engine_on(store_url, clock, notifier)
    (row,) = seed(engine)["hook"]
    lease = timedelta(minutes=5)
    (claimed,) = engine.store.claim_deliveries(clock.now(), lease, worker="crashed-host:1")  # then dies
    assert claimed.notification.id == row
    dispatcher = Dispatcher(engine, policy=POLICY, lease=lease)
    assert dispatcher.run_once().claimed == 0
    clock.advance(minutes=4, seconds=59)
    assert dispatcher.run_once().claimed == 0
    clock.advance(seconds=2)
    assert dispatcher.run_once().delivered == 1
    assert receiver.keys() == [row]


def test_contacts_reach_the_notifier_through_jiedai_contacts(clock: FrozenClock) -> None:
    recorder = Recorder("rec")
    engine = engine_on("memory://", clock, recorder)
    seed(engine)
    Dispatcher(engine).run_once()
    (message,) = recorder.messages
    assert message.reception is not None
    assert message.reception.number == "341502-2026-00001"
    assert [(c.name, c.email) for c in message.contacts] == [("审批人甲", "approver@county.gov.cn")]
