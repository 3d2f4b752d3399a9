"""Stand-ins 代理 in the store and the engine: one designation in force however many ask at once,
what a request id made answered again, and pages read by keyset with whose they are in the query —
in memory and on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import sqlalchemy as sa
from alembic import command

from jiedai_flow import Actor, Role
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.records import Proxy, ProxyQuery
from jiedai_flow.errors import IdempotencyError, TaskError, ValidationError
from jiedai_flow.storage import migrate, schema
from jiedai_flow.storage.base import TaskStore
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.storage.sql.proxies import proxy_row
from jiedai_flow.testing import FrozenClock, make_engine

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.process.engine import Engine

TODAY = date(2026, 3, 2)
SET_AT = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)
HEAD = Actor("head", "郑局长", frozenset({Role.APPROVER}))
DEPUTY = Actor("deputy", "吴副局长", frozenset({Role.APPROVER}))
OTHER = Actor("other", "钱科长", frozenset({Role.APPROVER}))
OFFICE = Actor("office", "办公室", frozenset({Role.OFFICE}))
SUPERVISOR = Actor("supervisor", "纪检", frozenset({Role.SUPERVISOR}))


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = make_engine(url=store_url, clock=FrozenClock(SET_AT))
    yield engine
    engine.store.close()


def _store(engine: Engine) -> TaskStore:
    store = engine.store
    assert isinstance(store, TaskStore)
    return store


def _proxy(n: int, principal: str = "head", stand_in: str = "deputy", **changes: Any) -> Proxy:
    """The ``n``-th designation, set ``n`` minutes after the first, for ``n`` days from today."""
    values: dict[str, Any] = {
        "id": f"{n:032x}",
        "principal": principal,
        "stand_in": stand_in,
        "start": TODAY + timedelta(days=n),
        "end": TODAY + timedelta(days=n + 1),
        "reason": "出差",
        "set_by": principal,
        "at": SET_AT + timedelta(minutes=n),
    }
    return Proxy(**(values | changes))


def _every_page(store: TaskStore, **filters: Any) -> tuple[list[str], list[int]]:
    """The ids of every page of a listing, and the length of each page."""
    ids: list[str] = []
    sizes: list[int] = []
    after = None
    while True:
        page = store.proxy_page(ProxyQuery(limit=3, after=after, **filters))
        ids += [p.id for p in page.items]
        sizes.append(len(page.items))
        after = page.next_cursor
        if after is None:
            return ids, sizes


# -- one designation, made once -------------------------------------------------------------------


def test_a_designation_is_made_once_and_found_after(engine: Engine) -> None:
    """The same principal, stand-in and period in force is found, not made again, whatever the
    reason or the id it would have had; revoked, it is made anew."""
    store = _store(engine)
    first = store.designate(_proxy(1))
    assert first.created
    again = store.designate(_proxy(1, id="e" * 32, reason="另一个理由"))
    assert (again.created, again.proxy) == (False, first.proxy)
    store.save_proxy(_proxy(1, revoked=True))
    anew = store.designate(_proxy(1, id="e" * 32))
    assert anew.created
    assert [(p.id, p.revoked) for p in store.proxies()] == [(first.proxy.id, True), ("e" * 32, False)]


def test_a_request_id_answers_what_it_made_and_refuses_another_body(engine: Engine) -> None:
    """The same request id with the same designation, reason and setter is answered with what it
    made, revoked since or not; with any of them other it is an IdempotencyError, and nothing is
    written. Another id for the same designation in force finds it."""
    store = _store(engine)
    made = store.designate(_proxy(1), "key-1")
    assert made.created
    store.save_proxy(_proxy(1, revoked=True))
    replayed = store.designate(_proxy(1, id="e" * 32), "key-1")
    assert (replayed.created, replayed.proxy.id, replayed.proxy.revoked) == (False, made.proxy.id, True)
    for other in (
        _proxy(1, reason="休假"),
        _proxy(1, end=TODAY + timedelta(days=5)),
        _proxy(1, stand_in="other"),
        _proxy(1, set_by="office"),
    ):
        with pytest.raises(IdempotencyError) as refused:
            store.designate(attrs.evolve(other, id="d" * 32), "key-1")
        assert refused.value.code == "idempotency"
        assert "key-1" in str(refused.value)
    assert store.designate(_proxy(2), "KEY-1").created  # a key matched to the letter, as commands' are
    found = store.designate(_proxy(2, id="c" * 32), "key-2")
    assert (found.created, found.proxy.id) == (False, _proxy(2).id)
    assert len(store.proxies()) == 2


def test_two_processes_setting_one_designation_at_once_make_one_row(store_url: str) -> None:
    """Stores of their own (two processes on one database, each with its own locks) race to set
    the same designation: one row is made, one caller told it made it, the others find it."""
    engine = make_engine(url=store_url, clock=FrozenClock(SET_AT))
    opened = [engine.store] + [
        SQLStore(store_url, create=False) for _ in range(3) if not store_url.startswith("memory")
    ]
    try:
        stores = [s for s in opened if isinstance(s, TaskStore)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            made = list(
                pool.map(
                    lambda i: stores[i % len(stores)].designate(_proxy(1, id=f"{i + 16:032x}")), range(16)
                )
            )
        assert len({m.proxy.id for m in made}) == 1
        assert [m.created for m in made].count(True) == 1
        assert [p.id for p in stores[0].proxies()] == [made[0].proxy.id]
    finally:
        for store in opened:
            store.close()


def test_the_engine_says_whether_it_made_the_designation(engine: Engine) -> None:
    """``Engine.set_proxy`` answers a ProxyResult: made, then found; a request id kept with what it
    made answers it again, and refuses another period under it."""
    made = engine.set_proxy("head", "deputy", TODAY, TODAY, HEAD, reason="出差", request_id="k1")
    assert made.created
    assert engine.stand_in_for("deputy") == frozenset({"head"})
    found = engine.set_proxy("head", "deputy", TODAY, TODAY, HEAD)
    assert (found.created, found.proxy) == (False, made.proxy)
    assert engine.set_proxy("head", "deputy", TODAY, TODAY, HEAD, reason="出差", request_id="k1") == found
    with pytest.raises(IdempotencyError):
        engine.set_proxy("head", "deputy", TODAY, TODAY + timedelta(days=1), HEAD, request_id="k1")
    with pytest.raises(ValidationError) as refused:
        engine.set_proxy("head", "deputy", TODAY, TODAY, HEAD, request_id="x" * 129)
    assert [p.path for p in refused.value.problems] == ["$.request_id"]
    assert [p.id for p in engine.proxies()] == [made.proxy.id]


def test_revoking_a_designation_twice_changes_nothing_more(engine: Engine) -> None:
    made = engine.set_proxy("head", "deputy", TODAY, TODAY, HEAD).proxy
    assert engine.revoke_proxy(made.id[:8], HEAD).revoked
    assert engine.revoke_proxy(made.id, OFFICE).revoked
    assert [p.revoked for p in engine.proxies()] == [True]
    assert engine.stand_in_for("deputy") == frozenset()


# -- pages ----------------------------------------------------------------------------------------


def test_pages_are_full_when_others_designations_come_between(engine: Engine) -> None:
    """Whose a designation is is part of the query: a person's pages hold ``limit`` rows each while
    more of theirs are there, however many of others' were set in between — the latest set first."""
    store = _store(engine)
    for n in range(12):
        mine = n % 4 == 0
        store.designate(_proxy(n, principal="head" if mine else "other", stand_in="deputy" if mine else "x"))
    store.designate(_proxy(20, principal="y", stand_in="head"))  # standing in for someone: theirs too
    ids, sizes = _every_page(store, party="head")
    assert ids == [_proxy(n).id for n in (20, 8, 4, 0)]
    assert sizes == [3, 1]
    everyone, sizes = _every_page(store)
    assert everyone == [_proxy(n).id for n in (20, *range(11, -1, -1))]
    assert sizes == [3, 3, 3, 3, 1]


def test_pages_filter_by_principal_stand_in_and_day(engine: Engine) -> None:
    store = _store(engine)
    for n in range(5):
        store.designate(_proxy(n, start=TODAY, end=TODAY + timedelta(days=n)))
    store.designate(_proxy(5, principal="other", start=TODAY, end=TODAY + timedelta(days=9)))
    store.save_proxy(_proxy(4, start=TODAY, end=TODAY + timedelta(days=4), revoked=True))
    day = TODAY + timedelta(days=2)
    assert _every_page(store, active_on=day)[0] == [_proxy(n).id for n in (5, 3, 2)]
    assert _every_page(store, principal="head", active_on=day)[0] == [_proxy(n).id for n in (3, 2)]
    assert _every_page(store, stand_in="deputy", principal="other")[0] == [_proxy(5).id]
    assert _every_page(store, stand_in="nobody")[0] == []


def test_a_designation_is_found_by_its_id_or_the_start_of_it(engine: Engine) -> None:
    store = _store(engine)
    store.designate(_proxy(1, id="ab" + "0" * 30))
    store.designate(_proxy(2, id="ab" + "1" * 30))
    assert store.find_proxy("ab" + "1" * 30) == _proxy(2, id="ab" + "1" * 30)
    assert store.find_proxy("ab") == _proxy(1, id="ab" + "0" * 30)  # the first by id
    for unknown in ("ac", "a%", "a_", "%"):
        assert store.find_proxy(unknown) is None, unknown


def test_the_engine_lists_what_the_actor_may_read(engine: Engine) -> None:
    """The principal and the stand-in read theirs; the office and the supervisor read all; anyone
    else none. A cursor of another shape is a ValidationError at ``after``."""
    clock = engine.clock
    assert isinstance(clock, FrozenClock)
    mine = engine.set_proxy("head", "deputy", TODAY, TODAY, HEAD).proxy
    clock.advance(minutes=1)
    other = engine.set_proxy("other", "x", TODAY, TODAY, OTHER).proxy
    for reader, seen in (
        (HEAD, [mine]),
        (DEPUTY, [mine]),
        (OTHER, [other]),
        (OFFICE, [other, mine]),
        (SUPERVISOR, [other, mine]),
        (Actor("z", "某人", frozenset({Role.HANDLER})), []),
    ):
        assert list(engine.proxies_for(reader).items) == seen, reader.id
    first = engine.proxies_for(OFFICE, limit=1)
    assert (list(first.items), first.next_cursor) == ([other], f"{other.at.isoformat()}|{other.id}")
    rest = engine.proxies_for(OFFICE, limit=1, after=first.next_cursor)
    assert (list(rest.items), rest.next_cursor) == ([mine], None)
    assert list(engine.proxies_for(OFFICE, principal="head").items) == [mine]
    assert list(engine.proxies_for(OFFICE, stand_in="x", active_on=TODAY).items) == [other]
    with pytest.raises(ValidationError) as refused:
        engine.proxies_for(HEAD, after="nonsense")
    assert [p.path for p in refused.value.problems] == ["after"]
    with pytest.raises(TaskError):
        engine.proxy("f" * 32)


# -- the migration --------------------------------------------------------------------------------


def test_0013_leaves_one_row_in_force_per_designation_and_indexes_them(sql_url: str) -> None:
    """Rows a race made before 0013 (one designation in force twice) become one: the earliest stays
    in force, the later one is marked revoked; after it the database itself refuses a twin."""
    migrate.upgrade(sql_url)
    db = sa.create_engine(sql_url)
    try:
        with db.begin() as conn:
            command.downgrade(migrate._config(conn), "0012")
        old = sa.table(
            "jd_proxies", *(sa.column(c.name, c.type) for c in schema.proxies.c if c.name not in _NEW)
        )
        with db.begin() as conn:
            for n, proxy in enumerate((_proxy(1), _proxy(1, id="e" * 32), _proxy(2, revoked=True))):
                conn.execute(old.insert().values(_old_row(proxy, SET_AT + timedelta(minutes=n))))
        assert migrate.upgrade(sql_url) == "0013"
        with db.connect() as conn:
            indexes = {i["name"] for i in sa.inspect(conn).get_indexes("jd_proxies")}
        assert {"ix_jd_proxies_at", "ux_jd_proxies_designation", "ux_jd_proxies_request"} <= indexes
    finally:
        db.dispose()
    store = SQLStore(sql_url, create=False)
    try:
        assert [(p.id, p.revoked) for p in store.proxies()] == [
            (_proxy(1).id, False),
            ("e" * 32, True),
            (_proxy(2).id, True),
        ]
        assert store.designate(_proxy(1, id="d" * 32)).proxy.id == _proxy(1).id
        with pytest.raises(sa.exc.IntegrityError):
            store.save_proxy(_proxy(1, id="c" * 32))  # a twin in force, written past designate
        assert store.designate(_proxy(2, id="d" * 32)).created  # revoked rows do not count
    finally:
        store.close()


_NEW = ("in_force", "request_id")


def _old_row(proxy: Proxy, at: datetime) -> dict[str, Any]:
    """``proxy`` set at ``at`` as a row of the table before 0013."""
    row = proxy_row(attrs.evolve(proxy, at=at))
    return {name: value for name, value in row.items() if name not in _NEW}


class _StoreOfAnEarlierVersion:
    """A store plugin written against an earlier ``TaskStore``: task lists and stand-ins, but not
    ``designate``, ``proxy_page`` or ``find_proxy``, which came later."""

    def __init__(self) -> None:
        from jiedai_flow.storage.memory import MemoryStore

        self._inner = MemoryStore()

    def __getattr__(self, name: str) -> Any:
        if name in ("designate", "proxy_page", "find_proxy"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_a_store_with_part_of_the_task_protocol_is_refused_naming_what_it_lacks() -> None:
    """Such a store would have lost its task lists without a word (it no longer counts as a task
    store); the engine refuses it at start, naming the methods to add."""
    from jiedai_flow import hookimpl
    from jiedai_flow.errors import PluginError

    class CountyStorage:
        @hookimpl
        def jiedai_storage(self, url: str) -> object | None:
            return _StoreOfAnEarlierVersion() if url.startswith("county://") else None

    with pytest.raises(PluginError) as refused:
        make_engine(CountyStorage(), url="county://")
    assert "designate" in refused.value.message_en
    assert "find_proxy" in refused.value.message_zh
    assert "proxy_page" in refused.value.message_en


@pytest.mark.parametrize(
    "cursor",
    [
        "0001-01-01T00:00:00+14:00|x",
        "9999-12-31T23:59:59-14:00|x",
        "2026-01-01T00:00:00+08:00|a\x00",
        "2026-01-01",
    ],
)
def test_a_cursor_that_names_no_place_is_refused_at_its_field(engine: Engine, cursor: str) -> None:
    """A cursor of the right form whose moment has no UTC value, or whose id no store holds, is a
    validation error at ``after`` (HTTP 422), never an overflow or a driver error (a 500)."""
    with pytest.raises(ValidationError) as refused:
        engine.proxies_for(OFFICE, after=cursor)
    assert [p.path for p in refused.value.problems] == ["after"]


@pytest.mark.parametrize("name", ["a\x00b", "\ud800", "x" * 300])
def test_a_name_no_store_could_hold_finds_nothing(engine: Engine, name: str) -> None:
    """A NUL (PostgreSQL refuses it), a lone surrogate (no encoding has it) or a name of hundreds of
    characters finds no designation, without asking the database."""
    assert engine.proxies_for(OFFICE, principal=name).items == ()
    assert engine.proxies_for(OFFICE, stand_in=name).items == ()
    with pytest.raises(TaskError):
        engine.proxy(name)


def test_a_designation_is_named_by_its_id_or_eight_characters_of_it(engine: Engine) -> None:
    """An empty or short start named the first designation of all (``jiedai proxy revoke ""``
    revoked someone's); now only a start of eight characters or more, or the whole id, names one."""
    made = engine.set_proxy("head", "deputy", TODAY, TODAY, OFFICE).proxy
    assert engine.proxy(made.id) == made
    assert engine.proxy(made.id[:8]) == made
    for short in ("", made.id[:1], made.id[:7]):
        with pytest.raises(TaskError):
            engine.proxy(short)
    with pytest.raises(TaskError):
        engine.revoke_proxy("", OFFICE)
    assert not engine.proxy(made.id).revoked
