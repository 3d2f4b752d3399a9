"""The test kit for plugin authors 插件测试工具, registered as a pytest plugin (``pytest11``).

Fixtures: ``jiedai_clock`` (a :class:`FrozenClock`), ``jiedai_notifications`` (a
:class:`NotificationCapture`), ``jiedai_engine_factory`` / ``jiedai_engine`` (engines that never
auto-load installed plugins), ``jiedai_hook_recorder``. Helpers: :func:`sample_letter`,
:func:`sample_plan`, :func:`sample_reception`, the :data:`ACTORS` of a small county office, and
:class:`StoreContract`, the storage contract suite any back end runs against itself::

    from jiedai_flow.testing import StoreContract

    class TestMyStore(StoreContract):
        @pytest.fixture
        def store(self):
            return MyStore(...)
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from jiedai_flow.domain.model import (
    ReceptionType,
    Role,
)
from jiedai_flow.domain.records import (
    AuditEvent,
    CommandRecord,
    CommandResult,
    DeliveryOutcome,
    Notification,
    Numbering,
    Reception,
    ReceptionQuery,
)
from jiedai_flow.domain.samples import ACTORS, sample_letter, sample_list, sample_plan
from jiedai_flow.errors import ConflictError, DuplicateError, IdempotencyError, NotFoundError
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.process.engine import CHINA_TZ, Engine, open_engine
from jiedai_flow.storage.base import BatchReading

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

    from pluggy import HookImpl

    from jiedai_flow.domain.model import Actor, OfficialLetter, Plan
    from jiedai_flow.storage.base import Store

__all__ = [
    "ACTORS",
    "FrozenClock",
    "HookCall",
    "HookRecorder",
    "NotificationCapture",
    "StoreContract",
    "make_engine",
    "sample_event",
    "sample_letter",
    "sample_list",
    "sample_notification",
    "sample_plan",
    "sample_reception",
]


class FrozenClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``, e.g. ``clock.advance(days=3)``."""
        self.current += timedelta(**delta)
        return self.current

    def set(self, moment: datetime) -> None:
        self.current = moment


class NotificationCapture:
    """A notifier plugin that keeps every notification delivered to it."""

    def __init__(self) -> None:
        self.delivered: list[Notification] = []

    @hookimpl
    def jiedai_notify(self, notification: Notification, reception: Reception) -> None:
        del reception
        self.delivered.append(notification)

    @property
    def topics(self) -> list[str]:
        return [n.topic for n in self.delivered]

    def clear(self) -> None:
        self.delivered.clear()


@attrs.frozen
class HookCall:
    """One recorded hook call: the hook's name and its keyword arguments."""

    name: str
    kwargs: dict[str, Any]


class HookRecorder:
    """Records every hook call of an engine's plugin manager (like pytest's ``HookRecorder``)."""

    def __init__(self, engine: Engine) -> None:
        self.calls: list[HookCall] = []

        def before(name: str, impls: Sequence[HookImpl], kwargs: Mapping[str, Any]) -> None:
            del impls
            self.calls.append(HookCall(name, dict(kwargs)))

        def after(outcome: object, name: str, impls: Sequence[HookImpl], kwargs: Mapping[str, Any]) -> None:
            del outcome, name, impls, kwargs

        self._undo = engine.plugins.pm.add_hookcall_monitoring(before, after)

    def named(self, name: str) -> list[HookCall]:
        return [c for c in self.calls if c.name == name]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.calls]

    def undo(self) -> None:
        self._undo()


def make_engine(
    *plugins: object,
    url: str = "memory://",
    clock: FrozenClock | None = None,
    blocked: tuple[str, ...] = (),
) -> Engine:
    """An engine with the built-in plugins and ``plugins`` only — installed ones never load."""
    return open_engine(url, autoload=False, blocked=blocked, plugins=plugins, clock=clock or FrozenClock())


# -- sample data --------------------------------------------------------------------------------

_ids = itertools.count(1)

SAMPLE_START = date(2026, 3, 10)
"""The first day of the sample visit (the sample letter's and plan's default)."""
SAMPLE_HOST_UNIT = "县政府办公室"
SAMPLE_JURISDICTION = "341502"


def register_sample(
    engine: Engine,
    *,
    start: date = SAMPLE_START,
    letter: OfficialLetter | None = None,
    plan: Plan | None = None,
    handler: Actor | None = None,
    host_unit: str = SAMPLE_HOST_UNIT,
    jurisdiction: str = SAMPLE_JURISDICTION,
    reception_type: ReceptionType = ReceptionType.DOMESTIC,
    **options: Any,
) -> Reception:
    """Register the sample reception through ``engine`` 登记示例接待: the sample letter and plan (for a
    visit starting ``start``) by the sample handler, unless given;
    ``options`` go to :meth:`Engine.create_reception` (``end``, ``request_id`` …). Returns the
    reception as registered."""
    return engine.create_reception(
        letter or sample_letter(start),
        plan or sample_plan(start),
        handler=handler or ACTORS["handler"],
        host_unit=host_unit,
        jurisdiction=jurisdiction,
        reception_type=reception_type,
        **options,
    ).reception


def sample_reception(
    *, state: str = "draft", version: int = 1, jurisdiction: str = "341502", **changes: Any
) -> Reception:
    """A reception value for store tests; each call gets a fresh id unless ``id`` is given."""
    now = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)
    letter = sample_letter()
    reception = Reception(
        id=f"r{next(_ids):06d}",
        number="341502-2026-00001",
        jurisdiction=jurisdiction,
        host_unit="县政府办公室",
        reception_type=ReceptionType.DOMESTIC,
        handler=ACTORS["handler"],
        letter=letter,
        plan=sample_plan(),
        start=letter.itinerary.start,
        end=letter.itinerary.end,
        state=state,
        version=version,
        process="reception@1",
        rule_pack="national-2025",
        created_at=now,
        updated_at=now,
    )
    return attrs.evolve(reception, **changes)


def sample_event(reception: Reception, trigger: str = "create", from_state: str = "") -> AuditEvent:
    """The audit event a store test saves with ``reception``."""
    return AuditEvent(
        id=f"e-{reception.id}-{reception.version}",
        reception_id=reception.id,
        seq=reception.version,
        trigger=trigger,
        actor_id="zhang.wei",
        actor_name="张伟",
        actor_roles=(Role.HANDLER,),
        from_state=from_state,
        to_state=reception.state,
        at=reception.updated_at,
        process=reception.process,
        rule_pack=reception.rule_pack,
    )


def sample_notification(event: AuditEvent) -> Notification:
    """An outbox row for ``event``, for store tests."""
    return Notification(
        id=f"n-{event.id}",
        reception_id=event.reception_id,
        event_id=event.id,
        topic=event.trigger,
        recipients=(Role.APPROVER,),
        message_zh="测试通知",
        message_en="test notification",
        created_at=event.at,
    )


# -- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def jiedai_clock() -> FrozenClock:
    """A frozen clock at 2026-03-02 09:00 (UTC+8)."""
    return FrozenClock()


@pytest.fixture
def jiedai_notifications() -> NotificationCapture:
    """Captures notifications; engines from ``jiedai_engine_factory`` register it."""
    return NotificationCapture()


@pytest.fixture
def jiedai_engine_factory(
    jiedai_clock: FrozenClock, jiedai_notifications: NotificationCapture
) -> Callable[..., Engine]:
    """``factory(*plugins, url="memory://", blocked=())``: an engine without auto-loading, on
    the frozen clock, with notifications captured."""

    def factory(*plugins: object, url: str = "memory://", blocked: tuple[str, ...] = ()) -> Engine:
        return make_engine(jiedai_notifications, *plugins, url=url, clock=jiedai_clock, blocked=blocked)

    return factory


@pytest.fixture
def jiedai_engine(jiedai_engine_factory: Callable[..., Engine]) -> Engine:
    """An engine with the built-in plugins only, on the in-memory store."""
    return jiedai_engine_factory()


@pytest.fixture
def jiedai_hook_recorder(jiedai_engine: Engine) -> Iterator[HookRecorder]:
    """Records the hook calls of ``jiedai_engine``."""
    recorder = HookRecorder(jiedai_engine)
    yield recorder
    recorder.undo()


# -- the storage contract -------------------------------------------------------------------------


def _created(store: Store, **changes: Any) -> Reception:
    reception = sample_reception(**changes)
    store.create(reception, sample_event(reception), (), None)
    return reception


def _saved(store: Store, reception: Reception, state: str, record: CommandRecord | None = None) -> Reception:
    after = attrs.evolve(reception, state=state, version=reception.version + 1)
    event = sample_event(after, "submit", reception.state)
    store.save(after, expected_version=reception.version, event=event, outbox=(), record=record)
    return after


class StoreContract:
    """The storage contract as tests. Subclass it and provide a ``store`` fixture."""

    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError("provide a `store` fixture returning a fresh, empty store")

    def test_created_reception_loads_back_equal(self, store: Store) -> None:
        reception = _created(store)
        assert store.load(reception.id) == reception

    def test_load_of_unknown_id_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.load("no-such-id")

    def test_creating_an_existing_id_is_refused(self, store: Store) -> None:
        reception = _created(store)
        with pytest.raises(DuplicateError):
            store.create(reception, sample_event(reception), (), None)

    def test_save_with_current_version_replaces_and_appends_event(self, store: Store) -> None:
        reception = _created(store)
        after = _saved(store, reception, "submitted")
        assert store.load(reception.id) == after
        assert [e.seq for e in store.history(reception.id)] == [1, 2]

    def test_save_with_stale_version_conflicts_and_writes_nothing(self, store: Store) -> None:
        reception = _created(store)
        _saved(store, reception, "submitted")
        stale = attrs.evolve(reception, state="cancelled", version=2)
        with pytest.raises(ConflictError) as caught:
            store.save(
                stale,
                expected_version=1,
                event=sample_event(stale, "cancel", "draft"),
                outbox=[sample_notification(sample_event(stale))],
                record=None,
            )
        assert caught.value.actual == 2
        assert store.load(reception.id).state == "submitted"
        assert len(store.history(reception.id)) == 2
        assert store.pending_notifications() == ()

    def test_outbox_rows_are_pending_until_marked(self, store: Store) -> None:
        reception = _created(store)
        after = attrs.evolve(reception, state="submitted", version=2)
        event = sample_event(after, "submit", "draft")
        row = sample_notification(event)
        store.save(after, expected_version=1, event=event, outbox=[row], record=None)
        assert list(store.pending_notifications()) == [row]
        store.mark_notified([row.id])
        assert list(store.pending_notifications()) == []

    def test_command_record_is_saved_with_the_change(self, store: Store) -> None:
        reception = _created(store)
        after = attrs.evolve(reception, state="submitted", version=2)
        event = sample_event(after, "submit", "draft")
        record = CommandRecord("req-1", reception.id, "submit", "zhang.wei", CommandResult(after, event))
        store.save(after, expected_version=1, event=event, outbox=(), record=record)
        assert store.command("req-1") == record
        assert store.command("req-2") is None

    def test_reused_request_id_is_refused_and_writes_nothing(self, store: Store) -> None:
        reception = _created(store)
        after = _saved(store, reception, "submitted", record=_record("req-1", reception))
        again = attrs.evolve(after, state="approved", version=3)
        with pytest.raises(IdempotencyError):
            store.save(
                again,
                expected_version=2,
                event=sample_event(again, "approve", "submitted"),
                outbox=(),
                record=_record("req-1", after),
            )
        assert store.load(reception.id).version == 2

    def test_history_of_unknown_id_raises_not_found(self, store: Store) -> None:
        with pytest.raises(NotFoundError):
            store.history("no-such-id")

    def test_query_filters_by_state_jurisdiction_unit_type_and_dates(self, store: Store) -> None:
        a = _created(store, state="draft", jurisdiction="341502")
        b = _created(store, state="submitted", jurisdiction="341502", start=date(2026, 4, 1))
        c = _created(store, state="draft", jurisdiction="420000", host_unit="县接待办")
        d = _created(store, reception_type=ReceptionType.BUSINESS, start=date(2026, 5, 1))

        def ids(**kw: Any) -> set[str]:
            return {r.id for r in store.query(ReceptionQuery(**kw)).items}

        assert ids(states=frozenset({"submitted"})) == {b.id}
        assert ids(jurisdiction="420000") == {c.id}
        assert ids(host_unit="县接待办") == {c.id}
        assert ids(reception_type=ReceptionType.BUSINESS) == {d.id}
        assert ids(start_from=date(2026, 3, 31), start_to=date(2026, 4, 30)) == {b.id}
        assert ids() == {a.id, b.id, c.id, d.id}

    def test_pagination_is_stable_and_complete(self, store: Store) -> None:
        made = {_created(store, start=date(2026, 3, 1 + i % 5)).id for i in range(23)}
        seen: list[str] = []
        cursor = None
        while True:
            page = store.query(ReceptionQuery(limit=5, after=cursor))
            seen.extend(r.id for r in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(seen) == len(set(seen)) == 23
        assert set(seen) == made
        assert seen == [r.id for r in store.query(ReceptionQuery(limit=100)).items]

    def test_create_with_numbering_numbers_in_the_same_step(self, store: Store) -> None:
        numbering = Numbering("341502:2026", lambda n: f"341502-2026-{n:05d}")
        first = sample_reception(number="")
        stored = store.create(first, sample_event(first), (), None, numbering)
        second = sample_reception(number="")
        again = store.create(second, sample_event(second), (), None, numbering)
        assert (stored.number, again.number) == ("341502-2026-00001", "341502-2026-00002")
        assert store.load(first.id).number == "341502-2026-00001"

    def test_outbox_rows_are_claimed_once_and_finish_as_delivered_retried_or_dead(self, store: Store) -> None:
        reception = _created(store)
        after = attrs.evolve(reception, state="submitted", version=2)
        event = sample_event(after, "submit", "draft")
        rows = [attrs.evolve(sample_notification(event), id=f"n{i}", channel=c) for i, c in enumerate("abbc")]
        store.save(after, expected_version=1, event=event, outbox=rows, record=None)
        now, lease = after.updated_at, timedelta(minutes=5)
        claimed = store.claim_deliveries(now, lease, worker="w1", channels={"a", "b"})
        assert sorted(d.notification.id for d in claimed) == ["n0", "n1", "n2"]
        assert store.claim_deliveries(now, lease, worker="w2", channels={"a", "b"}) == ()  # leased
        store.finish_deliveries(
            [
                DeliveryOutcome("n0", "delivered", 1),
                DeliveryOutcome("n1", "pending", 1, now + timedelta(minutes=1), "busy"),
                DeliveryOutcome("n2", "dead", 1, error="refused"),
            ],
            now=now,
            worker="w1",
        )
        assert store.delivery_counts() == {"delivered": 1, "pending": 2, "dead": 1}
        assert store.claim_deliveries(now, lease, channels={"b"}) == ()  # n1 waits for its retry time
        (retry,) = store.claim_deliveries(now + timedelta(minutes=2), lease, channels={"b"})
        assert (retry.notification.id, retry.attempts) == ("n1", 1)
        assert store.enqueue([rows[3], attrs.evolve(rows[3], id="n9")]) == 1  # n3 is there already

    def test_a_batch_larger_than_one_in_list_is_claimed_and_finished(self, store: Store) -> None:
        reception = _created(store)
        after = attrs.evolve(reception, state="submitted", version=2)
        event = sample_event(after, "submit", "draft")
        first = sample_notification(event)
        rows = [
            attrs.evolve(
                first, id=f"n{i:03d}", channel="a", created_at=first.created_at + timedelta(seconds=i)
            )
            for i in range(300)
        ]
        store.save(after, expected_version=1, event=event, outbox=rows[::-1], record=None)
        now, lease = after.updated_at, timedelta(minutes=5)
        claimed = store.claim_deliveries(now, lease, limit=300, worker="w1")
        assert sorted(d.notification.id for d in claimed) == [r.id for r in rows]
        outcomes = [DeliveryOutcome(r.id, "delivered", 1) for r in rows]
        store.finish_deliveries(outcomes[:5], now=now, worker="w2")  # w2 holds no lease: no effect
        assert store.delivery_counts() == {"pending": 300}
        for _ in range(2):  # finishing twice changes nothing the second time
            store.finish_deliveries(outcomes, now=now, worker="w1")
            assert store.delivery_counts() == {"delivered": 300}
        if isinstance(store, BatchReading):
            assert store.load_many([reception.id, "missing"]) == {reception.id: store.load(reception.id)}

    def test_counters_count_from_one_per_key(self, store: Store) -> None:
        assert [store.next_number("a"), store.next_number("a"), store.next_number("b")] == [1, 2, 1]


def _record(request_id: str, before: Reception) -> CommandRecord:
    after = attrs.evolve(before, version=before.version + 1)
    return CommandRecord(
        request_id, before.id, "submit", "zhang.wei", CommandResult(after, sample_event(after))
    )
