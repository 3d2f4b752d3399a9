"""Reads of the SQL back end: filters, keyset pagination, monthly statistics, index use, fresh
reads across engines, schema creation on first use and SQLite's durability settings."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest
import sqlalchemy as sa

from jiedai_flow.domain.model import ReceptionType
from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.errors import ConflictError
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.process.engine import CHINA_TZ, open_engine
from jiedai_flow.storage import migrate
from jiedai_flow.storage.sql import MonthlyStatistics, SQLStore
from jiedai_flow.testing import FrozenClock, make_engine, sample_event
from tests._sql_helpers import advance, create, fire

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from jiedai_flow.domain.records import Reception
    from jiedai_flow.notify.channels import RegisterNotifier
    from jiedai_flow.process.engine import Engine


@pytest.fixture
def engine(sql_url: str) -> Iterator[Engine]:
    engine = make_engine(url=sql_url)
    yield engine
    engine.store.close()


def sql_store(engine: Engine) -> SQLStore:
    """The engine's store, which a URL of a SQL database makes a :class:`SQLStore`."""
    assert isinstance(engine.store, SQLStore)
    return engine.store


def every_page(engine: Engine, **filters: Any) -> list[Reception]:
    found: list[Reception] = []
    cursor = None
    while True:
        page = engine.query(ReceptionQuery(limit=3, after=cursor, **filters))
        found.extend(page.items)
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


# -- filters and pagination -----------------------------------------------------------------------


def test_each_filter_returns_exactly_the_matching_receptions_in_start_id_order(engine: Engine) -> None:
    specs = [
        # start, jurisdiction, host unit, type, happy-path steps after creation (business and
        # foreign receptions stay drafts: their own rules are not what this test is about)
        (date(2026, 3, 1), "341502", "县政府办公室", ReceptionType.DOMESTIC, 0),
        (date(2026, 3, 1), "341502", "县接待办", ReceptionType.DOMESTIC, 1),
        (date(2026, 3, 9), "420000", "县政府办公室", ReceptionType.DOMESTIC, 2),
        (date(2026, 4, 2), "420000", "县接待办", ReceptionType.FOREIGN, 0),
        (date(2026, 4, 30), "341502", "县政府办公室", ReceptionType.BUSINESS, 0),
        (date(2026, 5, 1), "341502", "县接待办", ReceptionType.DOMESTIC, 2),
        (date(2026, 6, 15), "420000", "县政府办公室", ReceptionType.BUSINESS, 0),
        (date(2026, 6, 15), "341502", "县接待办", ReceptionType.DOMESTIC, 1),
    ]
    made = [
        advance(
            engine,
            create(engine, start=start, jurisdiction=code, host_unit=unit, reception_type=kind).reception,
            steps,
        )
        for start, code, unit, kind, steps in specs
    ]
    cases: list[dict[str, Any]] = [
        {},
        {"states": frozenset({"submitted"})},
        {"states": frozenset({"draft", "approved"})},
        {"jurisdiction": "420000"},
        {"host_unit": "县接待办"},
        {"reception_type": ReceptionType.BUSINESS},
        {"start_from": date(2026, 3, 2), "start_to": date(2026, 4, 30)},
        {"start_from": date(2026, 5, 1)},
        {"jurisdiction": "341502", "states": frozenset({"draft"}), "start_to": date(2026, 4, 30)},
    ]

    def matches(r: Reception, f: dict[str, Any]) -> bool:
        return (
            (not f.get("states") or r.state in f["states"])
            and f.get("jurisdiction", r.jurisdiction) == r.jurisdiction
            and f.get("host_unit", r.host_unit) == r.host_unit
            and f.get("reception_type", r.reception_type) == r.reception_type
            and f.get("start_from", r.start) <= r.start <= f.get("start_to", r.start)
        )

    for filters in cases:
        expected = sorted((r for r in made if matches(r, filters)), key=lambda r: (r.start, r.id))
        assert every_page(engine, **filters) == expected, filters


def test_pages_stay_complete_without_duplicates_while_receptions_are_added_between_pages(
    engine: Engine,
) -> None:
    originals = {create(engine, start=date(2026, 3, 1 + i % 4)).reception.id for i in range(10)}
    before, after = set(), set()
    seen: list[Reception] = []
    cursor = None
    for n in itertools.count():
        page = engine.query(ReceptionQuery(limit=3, after=cursor))
        seen.extend(page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        # between pages, someone registers one reception sorting before the cursor, one at the end
        before.add(create(engine, start=date(2026, 2, 1 + n)).reception.id)
        after.add(create(engine, start=date(2026, 5, 1 + n)).reception.id)
    keys = [(r.start, r.id) for r in seen]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    ids = {r.id for r in seen}
    assert originals <= ids
    assert after <= ids  # added past the cursor: reached by a later page
    assert not before & ids  # added behind the cursor: pages already read do not shift
    assert len(seen) == len(originals) + len(after)


# -- monthly statistics ---------------------------------------------------------------------------


def test_monthly_statistics_equal_independent_sums_by_jurisdiction_and_month(
    engine: Engine, sql_url: str
) -> None:
    specs = [
        # start, jurisdiction, guests, companions, claimed (so an actual amount is on record)
        (date(2025, 12, 31), "341502", 4, 2, True),  # the year before: left out
        (date(2026, 1, 1), "341502", 4, 2, True),
        (date(2026, 1, 20), "341502", 2, 1, False),
        (date(2026, 1, 31), "420000", 6, 2, True),
        (date(2026, 3, 10), "341502", 8, 3, True),
        (date(2026, 3, 10), "341502", 4, 2, False),
        (date(2026, 12, 31), "420000", 2, 1, True),
        (date(2027, 1, 1), "420000", 4, 2, True),  # the year after: left out
    ]
    expected: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0])
    for start, code, guests, companions, claimed in specs:
        reception = create(engine, start=start, jurisdiction=code, guests=guests, companions=companions)
        advance(engine, reception.reception, 5 if claimed else 1)
        if start.year == 2026:
            fen = int(Decimal(60) * (guests + companions) * 100)  # sample_plan: one meal at 60 a head
            row = expected[(code, start.month)]
            row[0] += 1
            row[1] += fen
            row[2] += fen if claimed else 0
    wanted = [MonthlyStatistics(code, month, *sums) for (code, month), sums in sorted(expected.items())]

    assert sql_store(engine).monthly_statistics(2026) == wanted
    assert sql_store(engine).monthly_statistics(2026, jurisdiction="420000") == [
        s for s in wanted if s.jurisdiction == "420000"
    ]
    month = (
        "CAST(strftime('%m', start_date) AS INTEGER)"
        if sql_url.startswith("sqlite")
        else "EXTRACT(MONTH FROM start_date)"
    )
    hand_written = (
        f"SELECT jurisdiction, {month} AS m, COUNT(*), SUM(planned_fen), COALESCE(SUM(actual_fen), 0) "
        "FROM jd_receptions WHERE start_date >= '2026-01-01' AND start_date <= '2026-12-31' "
        f"GROUP BY jurisdiction, {month} ORDER BY jurisdiction, m"
    )
    with sql_store(engine).db.connect() as conn:
        rows = [
            MonthlyStatistics(c, int(m), int(n), int(p), int(a))
            for c, m, n, p, a in conn.exec_driver_sql(hand_written)
        ]
    assert rows == wanted


# -- index use on SQLite --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"states": frozenset({"submitted"})}, "ix_jd_receptions_state"),
        ({"jurisdiction": "341502"}, "ix_jd_receptions_jurisdiction"),
        ({"host_unit": "县接待办"}, "ix_jd_receptions_host_unit"),
        ({"reception_type": ReceptionType.BUSINESS}, "ix_jd_receptions_type"),
        ({"start_from": date(2026, 3, 5)}, "ix_jd_receptions_start"),
    ],
)
def test_sqlite_query_plan_of_a_filtered_query_searches_its_index(
    tmp_path: Path, filters: dict[str, Any], index: str
) -> None:
    engine = make_engine(url=f"sqlite:///{tmp_path / 'plan.db'}")
    try:
        for i in range(6):
            advance(engine, create(engine, start=date(2026, 3, 1 + i)).reception, i % 2)
        statements = captured(sql_store(engine), lambda: engine.query(ReceptionQuery(**filters)))
        plan = explain(sql_store(engine), *statements[-1])
    finally:
        engine.store.close()
    assert f"USING INDEX {index} " in plan or plan.endswith(f"USING INDEX {index}"), plan


def test_sqlite_monthly_statistics_of_a_jurisdiction_search_the_jurisdiction_index(tmp_path: Path) -> None:
    engine = make_engine(url=f"sqlite:///{tmp_path / 'plan.db'}")
    try:
        create(engine)
        statements = captured(
            sql_store(engine), lambda: sql_store(engine).monthly_statistics(2026, jurisdiction="341502")
        )
        plan = explain(sql_store(engine), *statements[-1])
    finally:
        engine.store.close()
    assert "USING INDEX ix_jd_receptions_jurisdiction" in plan, plan


def captured(store: SQLStore, action: Callable[[], object]) -> list[tuple[str, Any]]:
    """The (SQL, parameters) ``store`` sends to the database while ``action`` runs."""
    seen: list[tuple[str, Any]] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        del conn, cursor, context, many
        seen.append((statement, parameters))

    sa.event.listen(store.db, "before_cursor_execute", listen)
    try:
        action()
    finally:
        sa.event.remove(store.db, "before_cursor_execute", listen)
    assert seen, "no statement was captured"
    return seen


def explain(store: SQLStore, statement: str, parameters: Any) -> str:
    with store.db.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return " | ".join(str(row[-1]) for row in rows)


# -- fresh reads across engines -------------------------------------------------------------------


def test_load_and_query_return_the_version_another_engine_saved_not_a_cached_one(sql_url: str) -> None:
    mine, theirs = make_engine(url=sql_url), make_engine(url=sql_url)
    try:
        reception = create(mine).reception
        assert mine.get(reception.id).version == 1  # now cached here
        fire(theirs, theirs.get(reception.id), "submit", "handler")
        loaded = mine.get(reception.id)
        assert (loaded.version, loaded.state) == (2, "submitted")
        (listed,) = mine.query(ReceptionQuery()).items
        assert (listed.version, listed.state) == (2, "submitted")
        assert len(mine.history(reception.id)) == 2
        # a command through the first engine builds on the other's change
        approved = fire(mine, loaded, "approve", "approver").reception
        assert theirs.get(reception.id) == approved
    finally:
        mine.store.close()
        theirs.store.close()


def test_a_save_expecting_a_cached_but_outdated_version_conflicts_and_writes_nothing(sql_url: str) -> None:
    mine, theirs = make_engine(url=sql_url), make_engine(url=sql_url)
    try:
        stale = create(mine).reception  # cached by this store at version 1
        fire(theirs, theirs.get(stale.id), "submit", "handler")
        after = attrs.evolve(
            stale, state="cancelled", version=2, updated_at=stale.updated_at + timedelta(hours=1)
        )
        with pytest.raises(ConflictError):
            mine.store.save(
                after,
                expected_version=1,
                event=sample_event(after, "cancel", "draft"),
                outbox=(),
                record=None,
            )
        current = mine.get(stale.id)
        assert (current.version, current.state) == (2, "submitted")
        assert [e.trigger for e in mine.history(stale.id)] == ["create", "submit"]
        assert isinstance(mine.store, SQLStore)
        assert mine.store.verify().ok
    finally:
        mine.store.close()
        theirs.store.close()


# -- schema on first use, and SQLite settings ------------------------------------------------------


def test_a_fresh_sqlite_file_gets_the_head_schema_on_first_use_and_reopening_migrates_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = statements_while(lambda: SQLStore(url).close())
    assert any(s.lstrip().upper().startswith("CREATE TABLE") for s in first)  # the probe sees DDL
    store = SQLStore(url)
    try:
        with store.db.connect() as conn:
            versions = conn.exec_driver_sql("SELECT version_num FROM jd_alembic_version").scalars().all()
            tables = set(sa.inspect(conn).get_table_names())
    finally:
        store.close()
    assert versions == [migrate.head_revision()]
    assert {"jd_receptions", "jd_audit_events", "jd_outbox", "jd_commands", "jd_counters"} <= tables

    again = statements_while(lambda: SQLStore(url).close())
    writes = [
        s for s in again if s.lstrip().split()[0].upper() in {"CREATE", "ALTER", "INSERT", "UPDATE", "DROP"}
    ]
    assert writes == []


def statements_while(action: Callable[[], object]) -> list[str]:
    """Every statement any SQLAlchemy engine executes while ``action`` runs."""
    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        del conn, cursor, rest
        seen.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", listen)
    try:
        action()
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", listen)
    return seen


def pragmas(store: SQLStore) -> tuple[str, int, int]:
    with store.db.connect() as conn:
        return (
            conn.exec_driver_sql("PRAGMA journal_mode").scalar_one(),
            conn.exec_driver_sql("PRAGMA synchronous").scalar_one(),
            conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one(),
        )


def test_the_embedded_default_runs_sqlite_in_wal_with_full_sync_and_foreign_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = open_engine(autoload=False)
    try:
        assert (tmp_path / "jiedai.db").exists()
        assert pragmas(sql_store(engine)) == ("wal", 2, 1)
    finally:
        engine.store.close()


def test_normal_durability_sets_synchronous_normal(tmp_path: Path) -> None:
    store = SQLStore(f"sqlite:///{tmp_path / 'normal.db'}", durability="normal")
    try:
        assert pragmas(store) == ("wal", 1, 1)
    finally:
        store.close()


# -- the outbox -------------------------------------------------------------------------------------


class UnreachableNotifier:
    """A notifier whose service is down: every notification stays pending in the outbox."""

    name = "sms"
    inline = True

    def deliver(self, message: object) -> None:
        del message
        raise ConnectionError("短信网关不可用 / SMS gateway unreachable")

    @hookimpl
    def jiedai_register_notifiers(self, register: RegisterNotifier) -> None:
        register(self)


def test_pending_notifications_come_oldest_first_even_within_one_second(sql_url: str) -> None:
    clock = FrozenClock(datetime(2026, 3, 2, 9, 0, 0, 100_000, tzinfo=CHINA_TZ))
    engine = make_engine(UnreachableNotifier(), url=sql_url, clock=clock)
    try:
        drafts = [create(engine).reception for _ in range(8)]
        for draft in drafts:
            clock.advance(milliseconds=100)  # eight submissions within 09:00:00–09:00:01
            fire(engine, draft, "submit", "handler")
        pending = [n for n in engine.store.pending_notifications() if n.channel == "sms"]
    finally:
        engine.store.close()
    assert [n.reception_id for n in pending] == [d.id for d in drafts]
    assert [n.created_at for n in pending] == sorted(n.created_at for n in pending)


# -- MySQL/MariaDB's usual collation (utf8mb4_general_ci): people and keys to the letter ----------


def test_an_actor_spelt_in_other_letters_reads_no_one_elses_task_lists(sql_url: str) -> None:
    """On a database made with the server's case-insensitive collation ``Zhang.Wei`` is not
    ``zhang.wei``: their 我发起的 and its count stay theirs, as on every other back end."""
    from jiedai_flow.domain.records import TaskQuery, TaskView
    from tests.databases import with_server_collation

    engine = make_engine(url=with_server_collation(sql_url))
    try:
        reception = create(engine).reception  # the handler zhang.wei's
        store = engine.store
        assert [
            r.reception_id for r in store.task_list(TaskQuery("zhang.wei", view=TaskView.STARTED)).items
        ] == [reception.id]
        for other in ("Zhang.Wei", "ZHANG.WEI", "zhang.wei "):
            assert store.task_list(TaskQuery(other, view=TaskView.STARTED)).items == ()
            assert store.task_counts(TaskQuery(other)).started == 0  # type: ignore[attr-defined]
    finally:
        engine.store.close()  # type: ignore[attr-defined]


def test_a_stand_in_spelt_in_other_letters_stands_in_for_no_one(sql_url: str) -> None:
    from jiedai_flow.domain.records import Proxy
    from tests.databases import with_server_collation

    store = SQLStore(with_server_collation(sql_url))
    try:
        at = datetime(2026, 3, 9, 9, tzinfo=CHINA_TZ)
        store.save_proxy(
            Proxy("p1", "li.na", "zhao.min", date(2026, 3, 9), date(2026, 3, 20), "出差", "admin", at)
        )
        assert store.principals("zhao.min", at) == ("li.na",)
        assert store.principals("Zhao.Min", at) == ()
    finally:
        store.close()


def test_reception_ids_differing_in_case_are_two_receptions(sql_url: str) -> None:
    """Ids a registrar chose, ``ab-visit`` and ``AB-visit``: two receptions on every back end, each
    found by its own id — on MySQL/MariaDB too, in a database of the server's case-blind collation
    (migration 0012 makes the tables exact)."""
    from tests.databases import with_server_collation

    engine = make_engine(url=with_server_collation(sql_url))
    try:
        made = [create(engine, reception_id=rid).reception for rid in ("ab-visit", "AB-visit")]
        assert [engine.store.load(r.id).number for r in made] == [r.number for r in made]
        assert len({r.number for r in made}) == 2
        report = engine.store.verify()  # type: ignore[attr-defined]
        assert report.ok, report.problem
    finally:
        engine.store.close()  # type: ignore[attr-defined]


def test_a_request_id_in_other_letters_is_another_request(sql_url: str) -> None:
    """``Req-1`` and ``req-1`` are two idempotency keys: looking one up never replays the other's
    command (the case-insensitive collation would hand back the first command's result)."""
    from tests.databases import with_server_collation

    engine = make_engine(url=with_server_collation(sql_url))
    try:
        create(engine, request_id="Req-1")
        store = engine.store
        assert store.command("Req-1") is not None
        assert store.command("req-1") is None
        assert store.command("Req-1 ") is None
    finally:
        engine.store.close()  # type: ignore[attr-defined]
