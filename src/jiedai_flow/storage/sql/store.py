"""The SQL back end 关系数据库存储: SQLite (embedded default), PostgreSQL, MySQL/MariaDB.

Schema, migrations and queries are SQLAlchemy 2 Core. The write path of a command — the
compare-and-set UPDATE, the audit event with its hash chain, outbox rows and the idempotency
record — runs statements compiled once per dialect on a connection taken from a stack of idle ones
(the most recently used first), inside one transaction: no more round trips than a hand-written
driver loop makes.

SQLite runs in WAL mode with ``synchronous=FULL`` (a command that returned survives a power cut),
foreign keys on, and ``BEGIN IMMEDIATE`` so concurrent writers queue instead of deadlocking.
``durability="normal"`` trades the last commits before a power cut (never corruption) for speed.
The dispatcher's bookkeeping is the exception even at ``FULL``: claims never wait for the disk and
delivery outcomes at most once a second (see :mod:`jiedai_flow.storage.sql.outbox`); a power cut
can only make a notification be delivered again.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import warnings
import weakref
from collections import OrderedDict
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Literal

import attrs
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

import jiedai_flow.storage.sql.proxies as sql_proxies
import jiedai_flow.storage.sql.tasks as sql_tasks
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.records import (
    AuditEvent,
    BudgetUsage,
    CommandRecord,
    CommandResult,
    LedgerEntry,
    Notification,
    Numbering,
    Page,
    Proxy,
    Reception,
    TaskView,
    numbered,
)
from jiedai_flow.errors import (
    BudgetExceededError,
    ConflictError,
    DuplicateError,
    IdempotencyError,
    NotFoundError,
    StorageError,
)
from jiedai_flow.storage import schema
from jiedai_flow.storage.base import ledger_cap
from jiedai_flow.storage.chain import (
    GENESIS,
    ChainRow,
    ChainVerifier,
    VerifyReport,
    digest,
    preferred_algorithm,
    shard_of,
    signed_content,
)
from jiedai_flow.storage.codec import canonical, decode, encode
from jiedai_flow.storage.migrate import require_known, upgrade
from jiedai_flow.storage.sql.opening import check_connects, opening_error
from jiedai_flow.storage.sql.outbox import OUTBOX_STATEMENTS, OutboxMixin, outbox_row
from jiedai_flow.storage.sql.races import CounterRace, Race, retryable, run_again_on_race
from jiedai_flow.storage.sql.readonly import read_only_file, read_only_uri
from jiedai_flow.storage.sql.statements import (
    Prepared,
    as_stored,
    bp,
    execute_in,
    id_chunks,
    same_text,
    utc,
)
from jiedai_flow.storage.sql.verify import (
    events_problem,
    ledger_problem,
    number_from_commands,
    numbering_problem,
    report_columns,
    typed_columns_problem,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Mapping, Sequence

    from jiedai_flow.domain.records import (
        CarbonCopy,
        Member,
        ProxyPage,
        ProxyQuery,
        ProxyResult,
        ReceptionQuery,
        Task,
        TaskCounts,
        TaskPage,
        TaskQuery,
    )

Durability = Literal["full", "normal"]

_R, _E, _O, _C = schema.receptions, schema.audit_events, schema.outbox, schema.commands
_CACHE_SIZE = 20_000
_SEALS_KEPT = 1_000
"""Events whose hashes a store keeps in memory for the results of the commands that wrote them."""


class SQLStore(OutboxMixin):
    """The storage contract on a relational database, chosen by SQLAlchemy URL."""

    def __init__(
        self,
        url: str | sa.URL,
        *,
        durability: Durability = "full",
        create: bool = True,
        **engine_options: Any,
    ) -> None:
        """Open (and, with ``create``, create or upgrade) the database at ``url``."""
        self.url = sa.make_url(url)
        self.durability = durability
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.read_only = self.is_sqlite and read_only_file(self.url.database)
        """A SQLite file this process may not write (an auditor's copy): opened read-only (and
        immutable when no ``-wal`` file holds pending commits), so show, list, reports and verify
        work; any write is a clear StorageError."""
        if self.is_sqlite and self.url.database in (None, "", ":memory:"):
            engine_options.setdefault("poolclass", StaticPool)
            engine_options.setdefault("connect_args", {"check_same_thread": False})
        if self.read_only:
            uri = read_only_uri(str(self.url.database))
            engine_options.setdefault(
                "creator", lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
            )
        try:
            self.db = sa.create_engine(self.url, **engine_options)
        except (ValueError, TypeError) as error:  # an option its dialect cannot convert (`timeout=abc`)
            raise opening_error(self.url, error) from error
        if self.is_sqlite:
            sa.event.listen(self.db, "connect", _sqlite_pragmas(self.read_only, self.durability))
        try:
            check_connects(self.db)
            if create and not self.read_only:
                upgrade(self.db)
            else:
                require_known(self.db)  # a newer jiedai_flow's tables are not read as if they were ours
        except BaseException:
            self.db.dispose()  # no store to close() holds the connections the check opened
            raise
        self.algorithm = preferred_algorithm()
        self._integrity_error: type[Exception] = self.db.dialect.loaded_dbapi.IntegrityError
        self._local = threading.local()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[int, str, Reception]] = OrderedDict()
        self._seals: OrderedDict[str, tuple[str, str]] = OrderedDict()
        """event id → (previous hash, hash) of the events this store wrote last (see :meth:`sealed`)."""
        self._delivered: list[str] = []
        self._held: list[Any] = []
        self._idle: list[Any] = []  # writer connections not in use, the most recently used last
        self._idle_readers: list[Any] = []  # the same for autocommit readers (server databases)
        self._heads: dict[int, tuple[int, str]] = {}  # per shard: the head as this store last wrote it
        self._shards = 0  # read from jd_chain_layout on first use
        # why: a store dropped without close() still closes its connections (not the interpreter's
        # garbage collector, which warns of an unclosed database on Python 3.13)
        self._finalizer = weakref.finalize(self, _close_connections, self._held, self.db)
        self._sql = self._prepare(self.db.dialect)
        self._lists: dict[sql_tasks.Shape, Prepared] = {}
        self._prepared: dict[sa.Select[Any], Prepared] = {}

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine under its earlier name; :attr:`db` now (``engine`` is the
        library's :class:`~jiedai_flow.process.engine.Engine`)."""
        warnings.warn(
            "SQLStore.engine 已改名为 SQLStore.db / SQLStore.engine is now SQLStore.db",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.db

    def _prepare(self, dialect: sa.Dialect) -> dict[str, Prepared]:
        lock = not self.is_sqlite  # SQLite's BEGIN IMMEDIATE already serializes writers
        head = sa.select(schema.chain_head.c.chain_index, schema.chain_head.c.hash).where(
            schema.chain_head.c.id == bp("shard")
        )
        counter = sa.select(schema.counters.c.value).where(schema.counters.c.key == bp("key"))
        _L = schema.budget_ledger
        ledger = sa.select(_L.c.committed_fen, _L.c.spent_fen).where(_L.c.key == bp("key"))
        mutable = [
            "state", "version", "process", "updated_at", "last_hash", "actual_fen", "planned_fen",
            "data", "guests", "item_count",
        ]  # fmt: skip
        statements: dict[str, sa.ClauseElement] = {
            "insert_reception": _R.insert(),
            "update_reception": _R.update()
            .where(_R.c.id == bp("b_id"), _R.c.version == bp("b_expected"))
            .values({name: bp(f"v_{name}") for name in mutable}),
            "select_reception": sa.select(_R.c.version, _R.c.last_hash, _R.c.data).where(_R.c.id == bp("id")),
            "select_version": sa.select(_R.c.version).where(_R.c.id == bp("id")),
            "select_number": sa.select(_R.c.id).where(_R.c.number == bp("number")).limit(1),
            "process_members": sa.select(_R.c.id, _R.c.number, _R.c.state, _R.c.version)
            .where(_R.c.process == bp("process"))
            .order_by(_R.c.id),
            "insert_event": _E.insert(),
            "select_event_seal": sa.select(_E.c.hash_algorithm, _E.c.prev_hash, _E.c.hash).where(
                _E.c.id == bp("id")
            ),
            "insert_command": _C.insert(),
            # to the letter: on MySQL/MariaDB's usual collation ``Req-1`` would find ``req-1``'s
            # command and replay it instead of running this one (see same_text)
            "select_command": sa.select(_C.c.reception_id, _C.c.trigger, _C.c.actor_id, _C.c.result).where(
                same_text(_C.c.request_id, sa.bindparam("request_id", type_=_C.c.request_id.type))
            ),
            "select_head": head.with_for_update() if lock else head,
            "select_layout": sa.select(schema.chain_layout.c.shards).where(schema.chain_layout.c.id == 1),
            "update_head": schema.chain_head.update()
            .where(schema.chain_head.c.id == bp("b_shard"))
            .values(chain_index=bp("v_index"), hash=bp("v_hash")),
            "advance_head": schema.chain_head.update()
            .where(
                schema.chain_head.c.id == bp("b_shard"),
                schema.chain_head.c.chain_index == bp("b_index"),
                schema.chain_head.c.hash == bp("b_hash"),
            )
            .values(chain_index=bp("v_index"), hash=bp("v_hash")),
            "select_counter": counter.with_for_update() if lock else counter,
            "insert_counter": schema.counters.insert(),
            "update_counter": schema.counters.update()
            .where(schema.counters.c.key == bp("b_key"))
            .values(value=bp("v_value")),
            "select_ledger": ledger.with_for_update() if lock else ledger,
            "insert_ledger": _L.insert(),
            "update_ledger": _L.update()
            .where(_L.c.key == bp("b_key"))
            .values(committed_fen=bp("v_committed"), spent_fen=bp("v_spent")),
            "mark_delivered": _O.update()
            .where(_O.c.id == bp("b_id"))
            .values(status="delivered", delivered_at=sa.func.current_timestamp()),
        }
        statements |= OUTBOX_STATEMENTS
        statements |= sql_tasks.STATEMENTS
        statements |= sql_tasks.write_statements(dialect.name)
        return {name: Prepared(stmt, dialect) for name, stmt in statements.items()}

    # -- connections and transactions -------------------------------------------------------

    # Connections are not tied to threads: a command takes the most recently used idle connection
    # and gives it back when it ends (LIFO). A host's thread pool hands commands to whichever thread
    # is free; with one connection per thread they were spread over cold connections (on PostgreSQL
    # each its own backend, with its own caches and prepared statements), with a stack the few
    # connections in use stay warm. A ``transaction()`` block keeps its connection to its end.

    def _checkout(self, idle: list[Any]) -> Any:
        """The most recently used connection of ``idle``, or a new one (in autocommit mode for
        the readers of a server database)."""
        with self._lock:
            if idle:
                return idle.pop()
        return self._open(autocommit=idle is self._idle_readers)

    def _checkin(self, idle: list[Any], conn: Any) -> None:
        with self._lock:
            idle.append(conn)

    def _open(self, *, autocommit: bool = False) -> Any:
        """A new connection; :meth:`close` closes every one."""
        conn = self.db.raw_connection()
        if autocommit:
            driver: Any = conn.driver_connection
            if callable(getattr(driver, "autocommit", None)):
                driver.autocommit(True)  # PyMySQL
            else:
                driver.autocommit = True  # psycopg
        with self._lock:
            self._held.append(conn)
        return conn

    @contextmanager
    def _transaction(self, conn: Any = None) -> Iterator[Any]:
        """One write transaction (a savepoint inside :meth:`transaction`), on ``conn`` if given,
        else on a connection taken from the idle stack and given back when it ends."""
        outer = getattr(self._local, "outer", None)
        if outer is not None:  # inside transaction(): one savepoint per command, undone if it fails
            outer.execute("SAVEPOINT jd_command")
            try:
                yield outer
            except BaseException as error:
                outer.execute("ROLLBACK TO SAVEPOINT jd_command")
                if retryable(error):
                    raise Race from error
                raise
            outer.execute("RELEASE SAVEPOINT jd_command")
            return
        if self.read_only:
            raise StorageError(
                f"数据库 {self.url.database} 只读（没有写权限），只能查看、出报表和校验，不能执行写操作",
                f"database {self.url.database} is read-only (no write permission): show, reports and "
                "verify work; commands that write do not",
            )
        taken = conn is None
        if conn is None:
            conn = self._checkout(self._idle)
        cursor = conn.cursor()
        try:
            if self.is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            conn.commit()
        except BaseException as error:
            conn.rollback()
            if retryable(error):
                raise Race from error
            raise
        finally:
            cursor.close()
            if taken:
                self._checkin(self._idle, conn)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Every ``create`` and ``save`` of this thread inside the block writes in one database
        transaction, committed when the block ends, rolled back entirely if it raises; reads inside
        see its writes. A nested block joins the outer one."""
        if getattr(self._local, "outer", None) is not None:
            yield
            return
        with self._transaction() as cursor:
            self._local.outer = cursor
            try:
                yield
            except BaseException:
                with self._lock:  # copies and hashes remembered inside were never committed
                    self._cache.clear()
                    self._seals.clear()
                self._heads.clear()
                raise
            finally:
                self._local.outer = None

    def _read(self) -> _Reading:
        """A cursor for one read (``with self._read() as cursor``): inside :meth:`transaction` on
        its connection, so it reads what the block wrote; else on the reader connection."""
        return _Reading(self)

    def _readers(self) -> list[Any]:
        """SQLite reads share the writers' connections; a server database reads on connections of
        its own in autocommit mode, so a read is one round trip instead of three."""
        return self._idle if self.is_sqlite else self._idle_readers

    # -- the write path ---------------------------------------------------------------------

    def create(
        self,
        reception: Reception,
        event: AuditEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        numbering: Numbering | None = None,
    ) -> Reception:
        return run_again_on_race(
            lambda: self._create(reception, event, outbox, record, numbering),
            lambda: ConflictError(reception.id, 0, None, number=reception.number),
        )

    def _create(
        self,
        reception: Reception,
        event: AuditEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        numbering: Numbering | None,
    ) -> Reception:
        with self._transaction() as cur:
            if numbering is not None:
                value = self._count(cur, numbering.key)
                reception, record = numbered(reception, record, numbering.format(value))
                if self._number_taken(cur, reception.number):
                    raise _number_taken_error(numbering.key, reception.number)
            data = encode(reception)
            sealed = self._seal(event, GENESIS, data)
            row = self._reception_row(reception, sealed.hash, data)
            try:
                self._sql["insert_reception"].execute(cur, row)
            except self._integrity_error:
                raise DuplicateError(reception.id) from None
            stored = self._append(cur, sealed)
            self._insert_event(cur, stored)
            self._finish(cur, reception, stored, outbox, record, data)
        self._committed(reception, stored)
        return reception

    def _number_taken(self, cur: Any, number: str) -> bool:
        """Whether a reception already holds ``number``: only if the counter was turned back in the
        database (the counter row is locked, so no other writer can issue it meanwhile)."""
        return self._sql["select_number"].execute(cur, {"number": number}).fetchone() is not None

    def _count(self, cur: Any, key: str) -> int:
        """The next value of counter ``key``, inside the caller's transaction."""
        found = self._sql["select_counter"].execute(cur, {"key": key}).fetchone()
        if found is None:
            try:
                self._sql["insert_counter"].execute(cur, {"key": key, "value": 1})
            except self._integrity_error:
                raise CounterRace from None
            return 1
        value = int(found[0]) + 1
        self._sql["update_counter"].execute(cur, {"b_key": key, "v_value": value})
        return value

    def save(
        self,
        reception: Reception,
        *,
        expected_version: int,
        event: AuditEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        ledger: Sequence[LedgerEntry] = (),
        tasks: Sequence[Task] = (),
        copies: Sequence[CarbonCopy] = (),
    ) -> None:
        data = encode(reception)
        run_again_on_race(
            lambda: self._save(
                reception, expected_version, event, outbox, record, ledger, data, tasks, copies
            ),
            lambda: ConflictError(reception.id, expected_version, None, number=reception.number),
        )

    def _save(
        self,
        reception: Reception,
        expected_version: int,
        event: AuditEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        ledger: Sequence[LedgerEntry],
        data: str,
        tasks: Sequence[Task] = (),
        copies: Sequence[CarbonCopy] = (),
    ) -> None:
        with self._transaction() as cur:
            prev_hash = self._last_hash(cur, reception, expected_version)
            sealed = self._seal(event, prev_hash, data)
            values = {
                "v_state": reception.state,
                "v_version": reception.version,
                "v_process": reception.process,
                "v_updated_at": utc(reception.updated_at),
                "v_last_hash": sealed.hash,
                "v_data": data,
                "b_id": reception.id,
                "b_expected": expected_version,
                **report_columns(reception, "v_"),
            }
            if self._sql["update_reception"].execute(cur, values).rowcount != 1:
                self._conflict(cur, reception, expected_version)
            if tasks or copies:
                sql_tasks.write_rows(
                    lambda name, rows: self._sql[name].execute_many(cur, rows), reception, tasks, copies
                )
            # why in this order: the writes only this reception touches come first; the rows other
            # receptions' commands also lock come last, each held from its write to the commit —
            # the shard's chain head (one of 16), then the host unit's budget ledger (one a year)
            stored = self._append(cur, sealed)
            self._insert_event(cur, stored)
            self._finish(cur, reception, stored, outbox, record, data)
            for entry in ledger:
                self._book(cur, entry)
        self._committed(reception, stored)

    def _book(self, cur: Any, entry: LedgerEntry) -> None:
        found = self._sql["select_ledger"].execute(cur, {"key": entry.key}).fetchone()
        committed, spent = (int(found[0]), int(found[1])) if found is not None else (0, 0)
        growth = entry.committed_fen + entry.spent_fen
        cap = ledger_cap(entry)
        if growth > 0 and committed + spent + growth > cap:
            raise BudgetExceededError(entry.host_unit, entry.year, cap, committed, spent, growth)
        row = {"committed_fen": committed + entry.committed_fen, "spent_fen": spent + entry.spent_fen}
        if found is None:
            try:
                self._sql["insert_ledger"].execute(
                    cur, {"key": entry.key, "host_unit": entry.host_unit, "year": entry.year, **row}
                )
            except self._integrity_error:  # another writer opened this ledger row first: retry
                raise Race from None
        else:
            self._sql["update_ledger"].execute(
                cur, {"b_key": entry.key, "v_committed": row["committed_fen"], "v_spent": row["spent_fen"]}
            )

    def budget_usage(self, host_unit: str, year: int) -> BudgetUsage:
        with self._read() as cur:
            found = (
                self._sql["select_ledger"].execute(cur, {"key": LedgerEntry(host_unit, year).key}).fetchone()
            )
        return BudgetUsage(int(found[0]), int(found[1])) if found is not None else BudgetUsage()

    def _last_hash(self, cur: Any, reception: Reception, expected_version: int) -> str:
        reception_id = reception.id
        with self._lock:
            cached = self._cache.get(reception_id)
        if cached is not None and cached[0] == expected_version:
            return cached[1]
        found = self._sql["select_reception"].execute(cur, {"id": reception_id}).fetchone()
        if found is None:
            raise NotFoundError(reception_id)
        if found[0] != expected_version:
            raise ConflictError(reception_id, expected_version, found[0], number=reception.number)
        return str(found[1])

    def _conflict(self, cur: Any, reception: Reception, expected: int) -> None:
        reception_id = reception.id
        with self._lock:
            self._cache.pop(reception_id, None)
        found = self._sql["select_version"].execute(cur, {"id": reception_id}).fetchone()
        if found is None:
            raise NotFoundError(reception_id)
        raise ConflictError(reception_id, expected, found[0], number=reception.number)

    def _shard_count(self, cur: Any) -> int:
        """The number of chains recorded in the database, read once (on the caller's cursor, in
        its transaction): it never changes."""
        if not self._shards:
            row = self._sql["select_layout"].execute(cur, {}).fetchone()
            found = row[0] if row is not None else 0
            if not found:
                raise StorageError(
                    "数据库没有记录审计链的分片数（jd_chain_layout 缺失或为空），请先执行 jiedai db upgrade",
                    "the database records no audit shard count (jd_chain_layout missing or empty): "
                    "run jiedai db upgrade",
                )
            self._shards = int(found)
        return self._shards

    def _seal(self, event: AuditEvent, prev_hash: str, data: str) -> _Sealed:
        """The event's hash on its reception's chain (no database: the reception row needs it)."""
        content = canonical(event)
        state_hash = digest(self.algorithm, GENESIS, data.encode())
        event_hash = digest(self.algorithm, prev_hash, signed_content(content, state_hash))
        return _Sealed(event, prev_hash, event_hash, content, state_hash)

    def _append(self, cur: Any, sealed: _Sealed) -> _StoredEvent:
        """Link a sealed event into its shard's chain. From here to the commit every writer of the
        same shard waits for this transaction, so a command does it after the writes no other
        reception's command touches (its reception row, its tasks); only the event, its outbox and
        the budget ledger follow."""
        shard = shard_of(sealed.event.reception_id, self._shard_count(cur))
        index, chain_prev, chain_hash = self._advance(cur, shard, sealed.hash.encode("ascii"))
        return _StoredEvent(
            **attrs.asdict(sealed, recurse=False),
            chain_index=index,
            chain_prev=chain_prev,
            chain_hash=chain_hash,
            shard=shard,
        )

    def _advance(self, cur: Any, shard: int, link: bytes) -> tuple[int, str, str]:
        """Move the shard's head past ``link``: its new index, the previous and the new chain hash.

        The head as this store last wrote it is usually still the head: a compare-and-set on its
        index and hash saves the read. If no row matches, another writer moved it (or someone
        edited it, which the chain must then show): it is read and the chain continues from it.
        Only writers on the same shard wait for each other here."""
        head = self._heads.get(shard)
        if head is not None:
            index, chain_prev = head
            chain_hash = digest(self.algorithm, chain_prev, link)
            values = {
                "v_index": index + 1, "v_hash": chain_hash, "b_index": index, "b_hash": chain_prev,
                "b_shard": shard,
            }  # fmt: skip
            if self._sql["advance_head"].execute(cur, values).rowcount == 1:
                return index + 1, chain_prev, chain_hash
        found = self._sql["select_head"].execute(cur, {"shard": shard}).fetchone()
        if found is None:
            raise StorageError(
                f"审计链分片 {shard} 的链头记录缺失（jd_chain_head 被改动）",
                f"the head row of audit shard {shard} is missing (jd_chain_head was edited)",
            )
        index, chain_prev = int(found[0]), str(found[1])
        chain_hash = digest(self.algorithm, chain_prev, link)
        self._sql["update_head"].execute(cur, {"v_index": index + 1, "v_hash": chain_hash, "b_shard": shard})
        return index + 1, chain_prev, chain_hash

    def _insert_event(self, cur: Any, stored: _StoredEvent) -> None:
        e = stored.event
        self._sql["insert_event"].execute(
            cur,
            {
                "shard": stored.shard,
                "chain_index": stored.chain_index,
                "id": e.id,
                "reception_id": e.reception_id,
                "seq": e.seq,
                "trigger": e.trigger,
                "actor_id": e.actor_id,
                "from_state": e.from_state,
                "to_state": e.to_state,
                "at": utc(e.at),
                "request_id": e.request_id,
                "hash_algorithm": self.algorithm,
                "prev_hash": stored.prev_hash,
                "hash": stored.hash,
                "chain_prev": stored.chain_prev,
                "chain_hash": stored.chain_hash,
                "state_hash": stored.state_hash,
                "data": stored.content.decode(),
                "violations": sum(f.refuses for f in e.findings),
            },
        )

    def _finish(
        self,
        cur: Any,
        reception: Reception,
        stored: _StoredEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        data: str,
    ) -> None:
        self._sql["insert_outbox"].execute_many(cur, [outbox_row(n) for n in outbox])
        if record is not None:
            said = f',"said":{json.dumps(record.said)}' if record.said else ""
            result = f'{{"reception":{data},"event":{stored.content.decode()}{said}}}'
            try:
                self._sql["insert_command"].execute(
                    cur,
                    {
                        "request_id": record.request_id,
                        "reception_id": record.reception_id,
                        "trigger": record.trigger,
                        "actor_id": record.actor_id,
                        "event_id": stored.event.id,
                        "result": result,
                    },
                )
            except self._integrity_error:
                now = f"{record.reception_id}:{record.trigger}"
                raise IdempotencyError(record.request_id, "?", now) from None
        with self._lock:
            delivered, self._delivered = self._delivered, []
        try:
            self._sql["mark_delivered"].execute_many(cur, [{"b_id": i} for i in delivered])
        except BaseException:
            with self._lock:
                self._delivered.extend(delivered)
            raise

    def _reception_row(self, r: Reception, last_hash: str, data: str) -> dict[str, Any]:
        return {
            "id": r.id,
            "number": r.number,
            "jurisdiction": r.jurisdiction,
            "host_unit": r.host_unit,
            "reception_type": r.reception_type.value,
            "state": r.state,
            "start_date": r.start,
            "end_date": r.end,
            "version": r.version,
            "process": r.process,
            "rule_pack": r.rule_pack,
            "created_at": utc(r.created_at),
            "updated_at": utc(r.updated_at),
            "last_hash": last_hash,
            "data": data,
            "handler_id": r.handler.id,
            **report_columns(r),
        }

    def _committed(self, reception: Reception, stored: _StoredEvent) -> None:
        self._heads[stored.shard] = (stored.chain_index, stored.chain_hash)
        self._remember(reception, stored.hash)
        with self._lock:
            self._seals[stored.event.id] = (stored.prev_hash, stored.hash)
            if len(self._seals) > _SEALS_KEPT:
                self._seals.popitem(last=False)

    def sealed(self, event: AuditEvent) -> AuditEvent:
        """``event`` with the chain fields it was written with: from memory for an event this store
        just wrote, else read from its row (a command's replay); unchanged if there is no row."""
        with self._lock:  # taken, not kept: asked once, right after the write
            found: tuple[str, str] | None = self._seals.pop(event.id, None)
        algorithm = self.algorithm
        if found is None:
            with self._read() as cur:
                row = self._sql["select_event_seal"].execute(cur, {"id": event.id}).fetchone()
            if row is None:
                return event
            algorithm, found = row[0], (row[1], row[2])
        return attrs.evolve(event, hash_algorithm=algorithm, prev_hash=found[0], hash=found[1])

    def _remember(self, reception: Reception, last_hash: str) -> None:
        with self._lock:
            self._cache[reception.id] = (reception.version, last_hash, reception)
            self._cache.move_to_end(reception.id)
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)

    # -- reads ------------------------------------------------------------------------------

    def cached(self, reception_id: str) -> Reception | None:
        """The copy this store last saved or read (see :class:`~jiedai_flow.storage.base.CachingStore`)."""
        with self._lock:
            found = self._cache.get(reception_id)
        return found[2] if found is not None else None

    def load(self, reception_id: str) -> Reception:
        with self._read() as cur:
            found = self._sql["select_reception"].execute(cur, {"id": reception_id}).fetchone()
        if found is None:
            raise NotFoundError(reception_id)
        return self._decoded(reception_id, *found)

    def load_many(self, reception_ids: Collection[str]) -> dict[str, Reception]:
        """The receptions of ``reception_ids`` that exist, by id, with one SELECT per 256 ids. Why:
        a dispatch round needs the receptions of its whole batch; one read instead of one each."""
        found: dict[str, Reception] = {}
        for chunk in id_chunks(list(dict.fromkeys(reception_ids))):
            with self._read() as cur:
                rows = execute_in(self._in("receptions_in", len(chunk)), cur, chunk, {}).fetchall()
            for reception_id, version, last_hash, data in rows:
                found[reception_id] = self._decoded(reception_id, version, last_hash, data)
        return found

    def _decoded(self, reception_id: str, version: int, last_hash: str, data: str) -> Reception:
        """The stored reception: the cached copy when it is this version, else decoded."""
        with self._lock:
            cached = self._cache.get(reception_id)
        if cached is not None and cached[0] == version:
            return cached[2]
        reception = decode(Reception, data)
        self._remember(reception, last_hash)
        return reception

    def history(self, reception_id: str) -> Sequence[AuditEvent]:
        query = (
            sa.select(_E.c.data, _E.c.hash_algorithm, _E.c.prev_hash, _E.c.hash)
            .where(_E.c.reception_id == reception_id)
            .order_by(_E.c.seq)
        )
        with self.db.connect() as conn:
            rows = conn.execute(query).all()
            if not rows and conn.execute(sa.select(_R.c.id).where(_R.c.id == reception_id)).first() is None:
                raise NotFoundError(reception_id)
        return tuple(
            attrs.evolve(decode(AuditEvent, data), hash_algorithm=algorithm, prev_hash=prev, hash=h)
            for data, algorithm, prev, h in rows
        )

    def process_members(self, process: str) -> Iterator[Member]:
        # the driver's cursor, batch by batch: plain tuples, no row objects (a dry run reads 100,000s)
        with self._read() as cur:
            self._sql["process_members"].execute(cur, {"process": process})
            while batch := cur.fetchmany(5000):
                yield from batch

    def query(self, query: ReceptionQuery) -> Page:
        statement = sa.select(_R.c.id, _R.c.version, _R.c.last_hash, _R.c.data, _R.c.start_date)
        conditions: list[sa.ColumnElement[bool]] = []
        if query.states:
            conditions.append(_R.c.state.in_(sorted(query.states)))
        if query.jurisdiction is not None:
            conditions.append(_R.c.jurisdiction == query.jurisdiction)
        if query.host_unit is not None:
            conditions.append(_R.c.host_unit == query.host_unit)
        if query.reception_type is not None:
            conditions.append(_R.c.reception_type == query.reception_type.value)
        if query.start_from is not None:
            conditions.append(_R.c.start_date >= query.start_from)
        if query.start_to is not None:
            conditions.append(_R.c.start_date <= query.start_to)
        if query.number is not None:
            conditions.append(_R.c.number == query.number)
        if query.id_prefix is not None:  # hexadecimal digits only (validated): nothing to escape
            conditions.append(_R.c.id.startswith(query.id_prefix))
        if query.after is not None:
            start, _, last_id = query.after.partition("|")
            after = datetime.fromisoformat(start).date()
            conditions.append(
                sa.or_(_R.c.start_date > after, sa.and_(_R.c.start_date == after, _R.c.id > last_id))
            )
        statement = statement.where(*conditions).order_by(_R.c.start_date, _R.c.id).limit(query.limit + 1)
        with self.db.connect() as conn:
            rows = conn.execute(statement).all()
        items = []
        for reception_id, version, last_hash, data, _start in rows[: query.limit]:
            with self._lock:
                cached = self._cache.get(reception_id)
            if cached is not None and cached[0] == version:
                items.append(cached[2])
            else:
                reception = decode(Reception, data)
                self._remember(reception, last_hash)
                items.append(reception)
        more = len(rows) > query.limit
        cursor = f"{items[-1].start.isoformat()}|{items[-1].id}" if more else None
        return Page(tuple(items), cursor)

    resolves_stand_ins = True
    """待办 looks up the stand-ins of ``TaskQuery.stand_ins_on`` in its own statement."""

    def task_list(self, query: TaskQuery) -> TaskPage:
        """One page of a task list 待办/已办/抄送/发起: one indexed SELECT, no reception loaded."""
        shape, values = sql_tasks.list_shape(query)
        with self._read() as cur:
            rows = self._list_sql(shape).execute(cur, values).fetchall()
        return sql_tasks.rows_to_page(query, rows)

    def task_counts(self, query: TaskQuery) -> TaskCounts:
        """How many lines each of the actor's task lists has (one COUNT per list)."""
        values = {}
        with self._read() as cur:
            for view in TaskView:
                shape, params = sql_tasks.list_shape(attrs.evolve(query, view=view), count=True)
                values[view] = self._list_sql(shape).execute(cur, params).fetchone()
        return sql_tasks.counts_from(values)

    def read_rows(self, statement: sa.Select[Any], values: Mapping[str, Any]) -> list[Sequence[Any]]:
        """The rows of a Core ``statement`` (a module-level constant: it is compiled once and kept)
        with its bind ``values``, read on this thread's reader connection — in autocommit on a
        server database, so one round trip. Values come as the driver gives them (dates as ISO text
        on SQLite). For a service beside the store (the API token check reads one row a request)."""
        prepared = self._prepared.get(statement)
        if prepared is None:
            prepared = self._prepared[statement] = Prepared(statement, self.db.dialect)
        with self._read() as cur:
            return list(prepared.execute(cur, values).fetchall())

    def _list_sql(self, shape: sql_tasks.Shape) -> Prepared:
        """A task list's statement, compiled once per shape (a few per deployment: the number of
        pools and stand-ins an actor has, the filters a screen uses)."""
        found = self._lists.get(shape)
        if found is None:
            statement = sql_tasks.list_statement(shape, nested=not self.is_sqlite)
            found = Prepared(statement, self.db.dialect)
            if len(self._lists) >= 512:
                self._lists.clear()
            self._lists[shape] = found
        return found

    def designate(self, proxy: Proxy, request_id: str | None = None) -> ProxyResult:
        """Record a stand-in designation unless it is there already (see :mod:`.proxies`)."""
        return sql_proxies.designate(self.db, proxy, request_id)

    def save_proxy(self, proxy: Proxy) -> None:
        """Replace a stand-in designation by id (a revoked one), its request id kept."""
        sql_proxies.save(self.db, proxy)

    def proxies(self) -> Sequence[Proxy]:
        return sql_proxies.every(self.db)

    def proxy_page(self, query: ProxyQuery) -> ProxyPage:
        return sql_proxies.page(self.db, query)

    def find_proxy(self, ref: str) -> Proxy | None:
        return sql_proxies.find(self.db, ref)

    def principals(self, stand_in: str, now: datetime) -> Sequence[str]:
        """Whom ``stand_in`` stands in for on ``now``'s China day (an indexed lookup)."""
        values = {"b_stand_in": stand_in, "b_day": now.astimezone(CHINA_TZ).date()}
        with self._read() as cur:
            rows = self._sql["select_principals"].execute(cur, values).fetchall()
        return tuple(dict.fromkeys(r[0] for r in rows))

    def command(self, request_id: str) -> CommandRecord | None:
        with self._read() as cur:
            found = self._sql["select_command"].execute(cur, {"request_id": request_id}).fetchone()
        if found is None:
            return None
        reception_id, trigger, actor_id, result = found
        parts = decode(_StoredResult, result)
        command_result = CommandResult(parts.reception, parts.event, parts.event.findings)
        return CommandRecord(request_id, reception_id, trigger, actor_id, command_result, parts.said)

    def next_number(self, key: str) -> int:
        return run_again_on_race(
            lambda: self._next_number(key), lambda: RuntimeError(f"counter {key!r} could not be incremented")
        )

    def _next_number(self, key: str) -> int:
        with self._transaction() as cur:
            return self._count(cur, key)

    def mark_notified(self, notification_ids: Sequence[str]) -> None:
        """Buffered: written with the next command's transaction, or by :meth:`flush`."""
        with self._lock:
            self._delivered.extend(notification_ids)

    def flush(self) -> None:
        """Write buffered delivery marks now."""
        with self._lock:
            delivered, self._delivered = self._delivered, []
        if delivered:
            with self._transaction() as cur:
                self._sql["mark_delivered"].execute_many(cur, [{"b_id": i} for i in delivered])

    def close(self) -> None:
        self.flush()
        with self._lock:
            held = list(self._held)
            self._held.clear()
            self._idle.clear()
            self._idle_readers.clear()
        for conn in held:
            conn.close()
        self._local = threading.local()
        self.db.dispose()

    def monthly_statistics(self, year: int, *, jurisdiction: str | None = None) -> list[MonthlyStatistics]:
        """Receptions, planned and actual spending by jurisdiction and month of ``year`` (by start
        date), aggregated in SQL on the (jurisdiction, start_date) index."""
        month = sa.extract("month", _R.c.start_date).label("month")
        statement = (
            sa.select(
                _R.c.jurisdiction,
                month,
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(_R.c.planned_fen), 0),
                sa.func.coalesce(sa.func.sum(_R.c.actual_fen), 0),
            )
            .where(_R.c.start_date >= date(year, 1, 1), _R.c.start_date < date(year + 1, 1, 1))
            .group_by(_R.c.jurisdiction, month)
            .order_by(_R.c.jurisdiction, month)
        )
        if jurisdiction is not None:
            statement = statement.where(_R.c.jurisdiction == jurisdiction)
        with self.db.connect() as conn:
            return [
                MonthlyStatistics(code, int(m), int(n), int(planned), int(actual))
                for code, m, n, planned, actual in conn.execute(statement)
            ]

    # -- audit --------------------------------------------------------------------------------

    def verify(self, batch: int = 5000) -> VerifyReport:
        """Replay the whole audit trail, shard by shard in commit order; report the first event that
        does not fit."""
        self.flush()
        columns = (
            _E.c.shard,
            _E.c.chain_index,
            _E.c.id,
            _E.c.reception_id,
            _E.c.seq,
            _E.c.hash_algorithm,
            _E.c.prev_hash,
            _E.c.hash,
            _E.c.chain_prev,
            _E.c.chain_hash,
            _E.c.to_state,
            _E.c.data,
            _E.c.trigger,
            _E.c.actor_id,
            _E.c.from_state,
            _E.c.request_id,
            _E.c.state_hash,
            as_stored(_E.c.at, self.db.dialect),  # SQLite: the text as stored, not as parsed
        )
        with self.db.connect() as conn:
            shards = conn.execute(sa.select(schema.chain_layout.c.shards)).scalar_one_or_none()
            verifier = ChainVerifier(int(shards or 0))
            result = conn.execution_options(stream_results=True, yield_per=batch).execute(
                sa.select(*columns).order_by(_E.c.shard, _E.c.chain_index)
            )
            try:
                for shard, *row in result:
                    index, event_id, reception_id, seq, algorithm, prev, h, chain_prev, chain_hash = row[:9]
                    to_state, data, trigger, actor_id, from_state, request_id, state_hash, at = row[9:]
                    typed = {
                        "id": event_id,
                        "reception_id": reception_id,
                        "seq": seq,
                        "trigger": trigger,
                        "actor_id": actor_id,
                        "from_state": from_state,
                        "to_state": to_state,
                        "request_id": request_id,
                        "at": at,
                    }
                    chain_row = ChainRow(
                        index, event_id, reception_id, seq, algorithm, prev, h, chain_prev, chain_hash,
                        to_state, data.encode(), state_hash, typed, shard,
                    )  # fmt: skip
                    if not verifier.add(chain_row):
                        break
            finally:
                result.close()  # a verify that stops early must not leave a server cursor open
            head = schema.chain_head.c
            heads = {
                int(shard): (int(index), str(h))
                for shard, index, h in conn.execute(sa.select(head.id, head.chain_index, head.hash))
            }
            algorithm_of = verifier.algorithms
            numbers = dict(conn.execute(sa.select(_R.c.id, _R.c.number)).all())
            stored = {
                rid: (
                    version,
                    last_hash,
                    state,
                    digest(algorithm_of.get(rid, self.algorithm), GENESIS, data.encode()),
                )
                for rid, version, last_hash, state, data in conn.execute(
                    sa.select(_R.c.id, _R.c.version, _R.c.last_hash, _R.c.state, _R.c.data)
                )
            }
            deleted = min((rid for rid in verifier.last if rid not in stored), default=None)
            if deleted is not None:  # its row is gone: name it as its command log did
                numbers[deleted] = number_from_commands(conn, deleted)
        report = verifier.finish(heads, stored, numbers)
        if report.ok:  # the hashed records are sound: now every typed column must agree with them
            with self.db.connect() as conn:
                committed: dict[tuple[str, int], int] = {}
                problem = (
                    typed_columns_problem(conn, committed)
                    or ledger_problem(conn, committed)
                    or events_problem(conn)
                    or numbering_problem(conn)
                )
            problem = problem or sql_tasks.tasks_problem(self.db)
            if problem is not None:
                return attrs.evolve(report, problem=problem)
        return report


def _number_taken_error(key: str, number: str) -> StorageError:
    return StorageError(
        f"编号 {number} 已被另一件接待使用：编号计数器「{key}」在数据库中被回拨，未登记新接待；"
        "请运行 jiedai audit verify 并由管理员核查",
        f"number {number} is already held by another reception: the numbering counter {key!r} was "
        "turned back in the database; nothing was registered — run jiedai audit verify and have an "
        "administrator look into it",
    )


@attrs.frozen
class MonthlyStatistics:
    """One row of the monthly statistics: a jurisdiction's receptions in one month, in fen."""

    jurisdiction: str
    month: int
    receptions: int
    planned_fen: int
    actual_fen: int


def _sqlite_pragmas(read_only: bool, durability: Durability) -> Callable[[Any, Any], None]:
    """The ``connect`` listener of a SQLite store (a plain function: the engine must not hold the
    store, which closes its connections when dropped)."""

    def pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if read_only:  # nothing that writes, not even the journal mode
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()
            return
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    return pragmas


def _in_china(naive_utc: datetime) -> datetime:
    """A moment the tables hold (naive UTC) as the records carry it: aware, in China time."""
    return naive_utc.replace(tzinfo=UTC).astimezone(CHINA_TZ)


def _close_connections(held: list[Any], db: sa.Engine) -> None:
    """Close what a store holds when it is dropped without :meth:`SQLStore.close`."""
    for conn in list(held):
        with contextlib.suppress(Exception):  # why: at interpreter exit a driver may be gone already
            conn.close()
    held.clear()
    db.dispose()


@attrs.frozen
class _Sealed:
    """An event hashed on its reception's chain, not yet placed in its shard's."""

    event: AuditEvent
    prev_hash: str
    hash: str
    content: bytes
    state_hash: str


@attrs.frozen
class _StoredEvent(_Sealed):
    """A sealed event and its place in its shard's chain."""

    chain_index: int
    chain_prev: str
    chain_hash: str
    shard: int


@attrs.frozen
class _StoredResult:
    reception: Reception
    event: AuditEvent
    said: str = ""


class _Reading:
    """The context of :meth:`SQLStore._read` (a class, not a generator: the task lists and loads
    open one per call, and a generator-based context costs several times as much)."""

    __slots__ = ("_conn", "_cursor", "_ends_snapshot", "_store", "_taken")

    def __init__(self, store: SQLStore) -> None:
        self._store = store

    def __enter__(self) -> Any:
        store = self._store
        outer = getattr(store._local, "outer", None)
        if outer is not None:  # inside transaction(): read what it wrote, on its connection
            self._conn = outer.connection
            self._ends_snapshot = self._taken = False
        else:
            self._conn = store._checkout(store._readers())
            self._ends_snapshot = store.is_sqlite  # so the next read sees new commits
            self._taken = True
        self._cursor = self._conn.cursor()
        return self._cursor

    def __exit__(self, *exc: object) -> None:
        try:
            self._cursor.close()
            if self._ends_snapshot:
                self._conn.rollback()
        finally:
            if self._taken:
                self._store._checkin(self._store._readers(), self._conn)
