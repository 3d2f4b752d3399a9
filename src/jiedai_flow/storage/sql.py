"""The SQL back end 关系数据库存储: SQLite (embedded default), PostgreSQL, MySQL/MariaDB.

Schema, migrations and queries are SQLAlchemy 2 Core. The write path of a command — the
compare-and-set UPDATE, the audit event with its hash chain, outbox rows and the idempotency
record — runs statements compiled once per dialect on a connection held per thread, inside one
transaction: no more round trips than a hand-written driver loop makes.

SQLite runs in WAL mode with ``synchronous=FULL`` (a command that returned survives a power cut),
foreign keys on, and ``BEGIN IMMEDIATE`` so concurrent writers queue instead of deadlocking.
``durability="normal"`` trades the last commits before a power cut (never corruption) for speed.
The dispatcher's bookkeeping is the exception even at ``FULL``: claims never wait for the disk and
delivery outcomes at most once a second (see :mod:`jiedai_flow.storage.sql_outbox`); a power cut
can only make a notification be delivered again.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from contextlib import contextmanager
from datetime import UTC, date, datetime
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast
from urllib.parse import quote

import attrs
import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from jiedai_flow.audit import (
    GENESIS,
    AuditProblem,
    ChainRow,
    ChainVerifier,
    VerifyReport,
    digest,
    outbox_digest,
    preferred_algorithm,
    shard_of,
    signed_content,
)
from jiedai_flow.clock import CHINA_TZ
from jiedai_flow.errors import (
    BudgetExceededError,
    ConflictError,
    DuplicateError,
    IdempotencyError,
    NotFoundError,
    StorageError,
)
from jiedai_flow.records import (
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
from jiedai_flow.storage import schema, sql_tasks
from jiedai_flow.storage.codec import canonical, decode, encode
from jiedai_flow.storage.migrate import upgrade
from jiedai_flow.storage.sql_outbox import (
    OUTBOX_STATEMENTS,
    OutboxMixin,
    execute_in,
    id_chunks,
    outbox_row,
    utc,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence

    from sqlalchemy.sql.compiler import SQLCompiler

    from jiedai_flow.records import CarbonCopy, Member, ReceptionQuery, Task, TaskCounts, TaskPage, TaskQuery

Durability = Literal["full", "normal"]

_R, _E, _O, _C = schema.receptions, schema.audit_events, schema.outbox, schema.commands
_CACHE_SIZE = 20_000


class _Prepared:
    """A Core statement compiled once for a dialect, executed on a DBAPI cursor.

    Parameters go to the driver as the dialect wants them: a tuple in the compiled order for a
    positional paramstyle (SQLite), else a dict; SQLAlchemy's bind processors (dates as text on
    SQLite) are applied only to the parameters that have one.
    """

    def __init__(self, statement: sa.ClauseElement, dialect: sa.Dialect) -> None:
        compiled = cast("SQLCompiler", statement.compile(dialect=dialect))
        self.sql = str(compiled)
        # why: literals in a statement (``id == 1``) compile to bind parameters with fixed values
        self.fixed = {
            compiled.bind_names[b]: b.value
            for b in compiled.binds.values()
            if not b.required and b.value is not None
        }
        processors: dict[str, Any] = {}
        for bind in compiled.binds.values():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                processors[compiled.bind_names[bind]] = _isoformat_or(processor)
        self.processors = processors
        self.names: Sequence[str] | None = compiled.positiontup if compiled.positional else None
        if self.names is not None:
            names = tuple(self.names)
            getter = itemgetter(*names) if names else (lambda _values: ())
            self._row: Callable[[Mapping[str, Any]], Any] = (
                getter if len(names) != 1 else (lambda values: (getter(values),))
            )
            self._convert = tuple((i, processors[n]) for i, n in enumerate(names) if n in processors)

    def params(self, values: Mapping[str, Any]) -> Any:
        if self.fixed:
            values = {**self.fixed, **values}
        if self.names is None:
            if self.processors:
                processors = self.processors
                return {k: (processors[k](v) if k in processors else v) for k, v in values.items()}
            return values
        row = self._row(values)
        if self._convert:
            row = list(row)
            for i, processor in self._convert:
                row[i] = processor(row[i])
        return row

    def execute(self, cursor: Any, values: Mapping[str, Any]) -> Any:
        cursor.execute(self.sql, self.params(values))
        return cursor

    def execute_many(self, cursor: Any, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            cursor.executemany(self.sql, [self.params(row) for row in rows])


_PROBES = (datetime(2026, 10, 1, 8, 30, 5, 120), datetime(1999, 12, 31), datetime(2026, 2, 17, 23, 59, 59))


def _isoformat_or(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``processor``, or a faster equivalent where it writes naive datetimes (or dates) as their
    ISO text — SQLite's default storage format: the probes must come out the same, else
    SQLAlchemy's processor is kept. Other values (aware datetimes, None) still go through it."""

    def writes(text: Callable[[datetime], str]) -> bool:
        try:
            return all(processor(v) == text(v) for v in _PROBES)
        except Exception:
            return False

    if writes(lambda v: v.isoformat(" ", "microseconds")):

        def datetime_text(value: Any) -> Any:
            if type(value) is datetime and value.tzinfo is None:
                return value.isoformat(" ", "microseconds")
            return processor(value)

        return datetime_text
    if writes(lambda v: v.date().isoformat()):

        def date_text(value: Any) -> Any:
            return value.isoformat() if type(value) is date else processor(value)

        return date_text
    return processor


def _read_only_file(database: str | None) -> bool:
    """A SQLite database file that exists but that this process may not write, or whose folder it
    may not write (SQLite writes a journal beside the file)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return False
    path = Path(database)
    if not path.is_file():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _read_only_uri(database: str) -> str:
    """The URI that opens a read-only copy. Without committed pages waiting in a ``-wal`` file the
    copy is opened immutable (no locks, no ``-shm`` to create in a folder that may be read-only);
    with them it is opened plainly read-only, so those commits are read rather than silently
    missed."""
    path = Path(database)
    wal = path.with_name(path.name + "-wal")
    pending = wal.is_file() and wal.stat().st_size > 0
    return f"file:{quote(str(path.resolve()))}?mode=ro" + ("" if pending else "&immutable=1")


def _bp(name: str) -> sa.BindParameter[Any]:
    return sa.bindparam(name)


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
        self.read_only = self.is_sqlite and _read_only_file(self.url.database)
        """A SQLite file this process may not write (an auditor's copy): opened read-only (and
        immutable when no ``-wal`` file holds pending commits), so show, list, reports and verify
        work; any write is a clear StorageError."""
        if self.is_sqlite and self.url.database in (None, "", ":memory:"):
            engine_options.setdefault("poolclass", StaticPool)
            engine_options.setdefault("connect_args", {"check_same_thread": False})
        if self.read_only:
            uri = _read_only_uri(str(self.url.database))
            engine_options.setdefault(
                "creator", lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)
            )
        self.engine = sa.create_engine(self.url, **engine_options)
        if self.is_sqlite:
            sa.event.listen(self.engine, "connect", self._sqlite_pragmas)
        if create and not self.read_only:
            upgrade(self.engine)
        self.algorithm = preferred_algorithm()
        self._integrity_error: type[Exception] = self.engine.dialect.loaded_dbapi.IntegrityError
        self._local = threading.local()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[int, str, Reception]] = OrderedDict()
        self._delivered: list[str] = []
        self._held: list[Any] = []
        self._heads: dict[int, tuple[int, str]] = {}  # per shard: the head as this store last wrote it
        self._shards = 0  # read from jd_chain_layout on first use
        self._sql = self._prepare(self.engine.dialect)

    def _sqlite_pragmas(self, dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if self.read_only:  # nothing that writes, not even the journal mode
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()
            return
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={'FULL' if self.durability == 'full' else 'NORMAL'}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    def _prepare(self, dialect: sa.Dialect) -> dict[str, _Prepared]:
        lock = not self.is_sqlite  # SQLite's BEGIN IMMEDIATE already serializes writers
        head = sa.select(schema.chain_head.c.chain_index, schema.chain_head.c.hash).where(
            schema.chain_head.c.id == _bp("shard")
        )
        counter = sa.select(schema.counters.c.value).where(schema.counters.c.key == _bp("key"))
        _L = schema.budget_ledger
        ledger = sa.select(_L.c.committed_fen, _L.c.spent_fen).where(_L.c.key == _bp("key"))
        mutable = [
            "state", "version", "process", "updated_at", "last_hash", "actual_fen", "planned_fen",
            "data", "guests", "item_count",
        ]  # fmt: skip
        statements: dict[str, sa.ClauseElement] = {
            "insert_reception": _R.insert(),
            "update_reception": _R.update()
            .where(_R.c.id == _bp("b_id"), _R.c.version == _bp("b_expected"))
            .values({name: _bp(f"v_{name}") for name in mutable}),
            "select_reception": sa.select(_R.c.version, _R.c.last_hash, _R.c.data).where(
                _R.c.id == _bp("id")
            ),
            "select_version": sa.select(_R.c.version).where(_R.c.id == _bp("id")),
            "process_members": sa.select(_R.c.id, _R.c.number, _R.c.state, _R.c.version)
            .where(_R.c.process == _bp("process"))
            .order_by(_R.c.id),
            "insert_event": _E.insert(),
            "insert_command": _C.insert(),
            "select_command": sa.select(_C.c.reception_id, _C.c.trigger, _C.c.actor_id, _C.c.result).where(
                _C.c.request_id == _bp("request_id")
            ),
            "select_head": head.with_for_update() if lock else head,
            "select_layout": sa.select(schema.chain_layout.c.shards).where(schema.chain_layout.c.id == 1),
            "update_head": schema.chain_head.update()
            .where(schema.chain_head.c.id == _bp("b_shard"))
            .values(chain_index=_bp("v_index"), hash=_bp("v_hash")),
            "advance_head": schema.chain_head.update()
            .where(
                schema.chain_head.c.id == _bp("b_shard"),
                schema.chain_head.c.chain_index == _bp("b_index"),
                schema.chain_head.c.hash == _bp("b_hash"),
            )
            .values(chain_index=_bp("v_index"), hash=_bp("v_hash")),
            "select_counter": counter.with_for_update() if lock else counter,
            "insert_counter": schema.counters.insert(),
            "update_counter": schema.counters.update()
            .where(schema.counters.c.key == _bp("b_key"))
            .values(value=_bp("v_value")),
            "select_ledger": ledger.with_for_update() if lock else ledger,
            "insert_ledger": _L.insert(),
            "update_ledger": _L.update()
            .where(_L.c.key == _bp("b_key"))
            .values(committed_fen=_bp("v_committed"), spent_fen=_bp("v_spent")),
            "mark_delivered": _O.update()
            .where(_O.c.id == _bp("b_id"))
            .values(status="delivered", delivered_at=sa.func.current_timestamp()),
        }
        statements |= OUTBOX_STATEMENTS
        statements |= sql_tasks.STATEMENTS
        return {name: _Prepared(stmt, dialect) for name, stmt in statements.items()}

    # -- connections and transactions -------------------------------------------------------

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def _open(self) -> Any:
        """A connection held by the calling thread; :meth:`close` closes every thread's."""
        conn = self.engine.raw_connection()
        with self._lock:
            self._held.append(conn)
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        if self.read_only:
            raise StorageError(
                f"数据库 {self.url.database} 只读（没有写权限），只能查看、出报表和校验，不能执行写操作",
                f"database {self.url.database} is read-only (no write permission): show, reports and "
                "verify work; commands that write do not",
            )
        conn = self._connection()
        cursor = conn.cursor()
        try:
            if self.is_sqlite:
                cursor.execute("BEGIN IMMEDIATE")
            yield cursor
            conn.commit()
        except BaseException as error:
            conn.rollback()
            if _retryable(error):
                raise _Race from error
            raise
        finally:
            cursor.close()

    @contextmanager
    def _read(self) -> Iterator[Any]:
        conn = self._reader()
        cursor = conn.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
            if self.is_sqlite:
                conn.rollback()  # ends the snapshot so the next read sees new commits

    def _reader(self) -> Any:
        """SQLite reads share the writer's connection; a server database reads on a second
        connection in autocommit mode, so a read is one round trip instead of three."""
        if self.is_sqlite:
            return self._connection()
        conn = getattr(self._local, "reader", None)
        if conn is None:
            conn = self._local.reader = self._open()
            driver: Any = conn.driver_connection
            if callable(getattr(driver, "autocommit", None)):
                driver.autocommit(True)  # PyMySQL
            else:
                driver.autocommit = True  # psycopg
        return conn

    # -- the write path ---------------------------------------------------------------------

    def create(
        self,
        reception: Reception,
        event: AuditEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        numbering: Numbering | None = None,
    ) -> Reception:
        return _run_again_on_race(
            lambda: self._create(reception, event, outbox, record, numbering),
            ConflictError(reception.id, 0, None),
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
            data = encode(reception)
            stored = self._append(cur, event, GENESIS, data)
            row = self._reception_row(reception, stored.hash, data)
            try:
                self._sql["insert_reception"].execute(cur, row)
            except self._integrity_error:
                raise DuplicateError(reception.id) from None
            self._insert_event(cur, stored)
            self._finish(cur, reception, stored, outbox, record, data)
        self._committed(reception, stored)
        return reception

    def _count(self, cur: Any, key: str) -> int:
        """The next value of counter ``key``, inside the caller's transaction."""
        found = self._sql["select_counter"].execute(cur, {"key": key}).fetchone()
        if found is None:
            try:
                self._sql["insert_counter"].execute(cur, {"key": key, "value": 1})
            except self._integrity_error:
                raise _CounterRace from None
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
        _run_again_on_race(
            lambda: self._save(
                reception, expected_version, event, outbox, record, ledger, data, tasks, copies
            ),
            ConflictError(reception.id, expected_version, None),
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
            prev_hash = self._last_hash(cur, reception.id, expected_version)
            stored = self._append(cur, event, prev_hash, data)
            values = {
                "v_state": reception.state,
                "v_version": reception.version,
                "v_process": reception.process,
                "v_updated_at": utc(reception.updated_at),
                "v_last_hash": stored.hash,
                "v_data": data,
                "b_id": reception.id,
                "b_expected": expected_version,
                **report_columns(reception, "v_"),
            }
            if self._sql["update_reception"].execute(cur, values).rowcount != 1:
                self._conflict(cur, reception.id, expected_version)
            for entry in ledger:
                self._book(cur, entry)
            if tasks or copies:
                sql_tasks.write_rows(
                    lambda name, rows: self._sql[name].execute_many(cur, rows), reception, tasks, copies
                )
            self._insert_event(cur, stored)
            self._finish(cur, reception, stored, outbox, record, data)
        self._committed(reception, stored)

    def _book(self, cur: Any, entry: LedgerEntry) -> None:
        found = self._sql["select_ledger"].execute(cur, {"key": entry.key}).fetchone()
        committed, spent = (int(found[0]), int(found[1])) if found is not None else (0, 0)
        growth = entry.committed_fen + entry.spent_fen
        if entry.cap_fen is not None and growth > 0 and committed + spent + growth > entry.cap_fen:
            raise BudgetExceededError(entry.host_unit, entry.year, entry.cap_fen, committed, spent, growth)
        row = {"committed_fen": committed + entry.committed_fen, "spent_fen": spent + entry.spent_fen}
        if found is None:
            try:
                self._sql["insert_ledger"].execute(
                    cur, {"key": entry.key, "host_unit": entry.host_unit, "year": entry.year, **row}
                )
            except self._integrity_error:  # another writer opened this ledger row first: retry
                raise _Race from None
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

    def _last_hash(self, cur: Any, reception_id: str, expected_version: int) -> str:
        with self._lock:
            cached = self._cache.get(reception_id)
        if cached is not None and cached[0] == expected_version:
            return cached[1]
        found = self._sql["select_reception"].execute(cur, {"id": reception_id}).fetchone()
        if found is None:
            raise NotFoundError(reception_id)
        if found[0] != expected_version:
            raise ConflictError(reception_id, expected_version, found[0])
        return str(found[1])

    def _conflict(self, cur: Any, reception_id: str, expected: int) -> None:
        with self._lock:
            self._cache.pop(reception_id, None)
        found = self._sql["select_version"].execute(cur, {"id": reception_id}).fetchone()
        if found is None:
            raise NotFoundError(reception_id)
        raise ConflictError(reception_id, expected, found[0])

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

    def _append(self, cur: Any, event: AuditEvent, prev_hash: str, data: str) -> _StoredEvent:
        content = canonical(event)
        state_hash = digest(self.algorithm, GENESIS, data.encode())
        event_hash = digest(self.algorithm, prev_hash, signed_content(content, state_hash))
        shard = shard_of(event.reception_id, self._shard_count(cur))
        index, chain_prev, chain_hash = self._advance(cur, shard, event_hash.encode("ascii"))
        return _StoredEvent(
            event, index, prev_hash, event_hash, chain_prev, chain_hash, content, state_hash, shard
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
            result = f'{{"reception":{data},"event":{stored.content.decode()}}}'
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
        with self.engine.connect() as conn:
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
        with self.engine.connect() as conn:
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

    def task_list(self, query: TaskQuery) -> TaskPage:
        """One page of a task list 待办/已办/抄送/发起: one indexed SELECT, no reception loaded."""
        with self.engine.connect() as conn:
            rows = conn.execute(sql_tasks.task_statement(query)).all()
        return sql_tasks.rows_to_page(query, rows)

    def task_counts(self, query: TaskQuery) -> TaskCounts:
        """How many lines each of the actor's task lists has (one COUNT per list)."""
        with self.engine.connect() as conn:
            values = {
                view: conn.execute(sql_tasks.task_statement(attrs.evolve(query, view=view), count=True)).one()
                for view in TaskView
            }
        return sql_tasks.counts_from(values)

    def save_proxy(self, proxy: Proxy) -> None:
        """Record a stand-in designation (a revoked one replaces its row)."""
        values = {
            "id": proxy.id,
            "principal": proxy.principal,
            "stand_in": proxy.stand_in,
            "start_date": proxy.start,
            "end_date": proxy.end,
            "reason": proxy.reason,
            "set_by": proxy.set_by,
            "at": utc(proxy.at),
            "revoked": proxy.revoked,
        }
        _P = schema.proxies
        with self.engine.begin() as conn:
            conn.execute(_P.delete().where(_P.c.id == proxy.id))
            conn.execute(_P.insert().values(values))

    def proxies(self) -> Sequence[Proxy]:
        _P = schema.proxies
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*_P.c).order_by(_P.c.at, _P.c.id)).all()
        return tuple(
            Proxy(i, principal, stand_in, start, end, reason, set_by, at.replace(tzinfo=UTC), bool(revoked))
            for i, principal, stand_in, start, end, reason, set_by, at, revoked in rows
        )

    def principals(self, stand_in: str, now: datetime) -> Sequence[str]:
        """Whom ``stand_in`` stands in for on ``now``'s China day (an indexed lookup)."""
        day = now.astimezone(CHINA_TZ).date()
        _P = schema.proxies
        query = sa.select(_P.c.principal).where(
            _P.c.stand_in == stand_in, _P.c.end_date >= day, _P.c.start_date <= day, _P.c.revoked.is_(False)
        )
        with self.engine.connect() as conn:
            return tuple(dict.fromkeys(r[0] for r in conn.execute(query)))

    def command(self, request_id: str) -> CommandRecord | None:
        with self._read() as cur:
            found = self._sql["select_command"].execute(cur, {"request_id": request_id}).fetchone()
        if found is None:
            return None
        reception_id, trigger, actor_id, result = found
        parts = decode(_StoredResult, result)
        command_result = CommandResult(parts.reception, parts.event, parts.event.findings)
        return CommandRecord(request_id, reception_id, trigger, actor_id, command_result)

    def next_number(self, key: str) -> int:
        return _run_again_on_race(
            lambda: self._next_number(key), RuntimeError(f"counter {key!r} could not be incremented")
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
            held, self._held = self._held, []
        for conn in held:
            conn.close()
        self._local = threading.local()
        self.engine.dispose()

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
        with self.engine.connect() as conn:
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
            _E.c.at,
        )
        with self.engine.connect() as conn:
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
        report = verifier.finish(heads, stored, numbers)
        if report.ok:  # the hashed records are sound: now every typed column must agree with them
            with self.engine.connect() as conn:
                problem = _typed_columns_problem(conn) or _events_problem(conn)
            problem = problem or sql_tasks.tasks_problem(self.engine)
            if problem is not None:
                return attrs.evolve(report, problem=problem)
        return report


RECEPTION_COLUMNS_FROM_DATA: dict[str, Callable[[Reception], Any]] = {
    "number": lambda r: r.number,
    "jurisdiction": lambda r: r.jurisdiction,
    "host_unit": lambda r: r.host_unit,
    "reception_type": lambda r: r.reception_type.value,
    "state": lambda r: r.state,
    "start_date": lambda r: r.start,
    "end_date": lambda r: r.end,
    "planned_fen": lambda r: r.plan.planned_fen,
    "actual_fen": lambda r: None if r.reception_list is None else r.reception_list.total_fen,
    "version": lambda r: r.version,
    "process": lambda r: r.process,
    "rule_pack": lambda r: r.rule_pack,
    "created_at": lambda r: r.created_at,
    "updated_at": lambda r: r.updated_at,
    "handler_id": lambda r: r.handler.id,
    "guests": lambda r: report_columns(r)["guests"],
    "item_count": lambda r: report_columns(r)["item_count"],
}
"""Each typed column of ``jd_receptions`` that reports or decisions read, as computed from the
hashed record: verify recomputes every one and names any that differs."""

RECEPTION_COLUMNS_EXEMPT = {
    "id": "the key that joins the row to its events (an edited id breaks the chain)",
    "data": "the record itself, hashed into the last event (state_hash)",
    "last_hash": "the chain position, compared with the last event",
}
"""Columns of ``jd_receptions`` not recomputed, and why; a test keeps the two tables complete."""


def _typed_columns_problem(conn: sa.Connection) -> AuditProblem | None:
    names = list(RECEPTION_COLUMNS_FROM_DATA)
    query = sa.select(_R.c.id, _R.c.data, *(_R.c[n] for n in names)).order_by(_R.c.id)
    with _streamed(conn, query) as rows:
        for rid, data, *typed in rows:
            problem = _reception_columns_problem(names, rid, decode(Reception, data), typed)
            if problem is not None:
                return problem
    return None


def _reception_columns_problem(
    names: list[str], rid: str, reception: Reception, typed: list[Any]
) -> AuditProblem | None:
    for name, stored in zip(names, typed, strict=True):
        expected = RECEPTION_COLUMNS_FROM_DATA[name](reception)
        if not _column_equal(expected, stored):
            return AuditProblem(
                0,
                "",
                rid,
                f"的「{name}」列为 {stored!r}，审计记录中为 {expected!r}：该列被直接改动",
                f"column {name!r} holds {stored!r} but the audited record says {expected!r}: "
                "the column was edited directly",
                reception.number,
            )
    return None


def _events_problem(conn: sa.Connection) -> AuditProblem | None:
    """Each event's ``violations`` column against the findings in its hashed content, and its
    outbox rows against the digest that content records — in one pass over the trail. Reminders,
    written later by the deadline scan, are no command's and are left out; so are the outbox rows
    of events written before the digest existed, which carry no ``outbox_digest`` key."""
    outbox: dict[str, list[tuple[str, str]]] = {}
    for row_id, event_id, data in conn.execute(
        sa.select(_O.c.id, _O.c.event_id, _O.c.data).where(sa.not_(_O.c.topic.startswith("remind:")))
    ):
        outbox.setdefault(event_id, []).append((row_id, data))
    query = (
        sa.select(
            _E.c.shard, _E.c.chain_index, _E.c.id, _E.c.reception_id, _E.c.violations, _E.c.data, _R.c.number
        )
        .select_from(_E.join(_R, _E.c.reception_id == _R.c.id))
        .order_by(_E.c.shard, _E.c.chain_index)
    )
    with _streamed(conn, query) as rows:
        for shard, index, event_id, rid, stored, data, number in rows:
            event = decode(AuditEvent, data)
            expected = sum(f.refuses for f in event.findings)  # as written at save
            if stored != expected:
                zh = f"的「violations」列为 {stored}，审计记录中的违规结果为 {expected} 项：该列被直接改动"
                en = (
                    f"column 'violations' holds {stored} but the audited event has {expected} violating "
                    "finding(s): the column was edited directly"
                )
            elif _DIGEST_KEY in data and event.outbox_digest != outbox_digest(outbox.pop(event_id, ())):
                zh = "的通知（发件箱）与审计记录不符：有通知被删除、改动或添加"
                en = (
                    "its outbox rows do not match the audited event: a notification was deleted, "
                    "edited or added"
                )
            else:
                continue
            return AuditProblem(int(index), event_id, rid, zh, en, number, shard=int(shard))
    return None


_DIGEST_KEY = '"outbox_digest"'
"""The key as canonical JSON writes it: only a key can hold it unescaped, so its absence marks an
event written before notifications were bound into the event hash."""


@contextmanager
def _streamed(conn: sa.Connection, query: sa.Select[Any]) -> Iterator[Iterable[Sequence[Any]]]:
    """Rows in batches from a server-side cursor where the driver has one: verify reads the whole
    trail and must not hold it in memory; a verify that stops early closes the cursor."""
    result = conn.execution_options(stream_results=True, yield_per=1000).execute(query)
    try:
        yield result
    finally:
        result.close()


def _column_equal(expected: Any, stored: Any) -> bool:
    if isinstance(expected, datetime) and isinstance(stored, datetime):
        moment = expected.astimezone(UTC).replace(tzinfo=None) if expected.tzinfo else expected
        plain = stored.astimezone(UTC).replace(tzinfo=None) if stored.tzinfo else stored
        return moment.replace(microsecond=0) == plain.replace(microsecond=0)
    if isinstance(expected, date) and isinstance(stored, str):
        return expected.isoformat() == stored
    return bool(expected == stored)


def report_columns(r: Reception, prefix: str = "") -> dict[str, Any]:
    """The typed columns a command can change besides the state: money in fen and counts."""
    listing = r.reception_list
    return {
        f"{prefix}planned_fen": r.plan.planned_fen,
        f"{prefix}actual_fen": None if listing is None else listing.total_fen,
        f"{prefix}guests": len(listing.guests if listing is not None else r.letter.personnel),
        f"{prefix}item_count": len(listing.items) + len(listing.meals)
        if listing is not None
        else len(r.plan.activities) + len(r.plan.meals),
    }


class _Race(Exception):  # why: internal signal, never leaves the store
    """Two writers created the same row at once, or the database broke a deadlock between them:
    the loser's transaction was rolled back and is run again. Writers on different audit shards
    run side by side, so first-of-the-year rows (counters, budget ledger) can be raced for."""


_T = TypeVar("_T")

RACE_ATTEMPTS = 5
"""How often a transaction that lost a race (:class:`_Race`) is run before the store gives up."""


def _run_again_on_race(work: Callable[[], _T], exhausted: Exception) -> _T:
    """``work()``, run again while it loses a race to another writer (the first writer of a
    counter or ledger row, a deadlock broken by the database); ``exhausted`` when it keeps losing."""
    for _attempt in range(RACE_ATTEMPTS):
        try:
            return work()
        except _Race:
            continue
    raise exhausted


class _CounterRace(_Race):
    """Two writers created the same counter at once; the loser retries its transaction."""


_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock (PostgreSQL)
_RETRYABLE_MYSQL = frozenset({1213})  # deadlock found when trying to get lock


def _retryable(error: BaseException) -> bool:
    """A DBAPI error that means "run the transaction again", not "it cannot be done"."""
    if getattr(error, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    args: tuple[Any, ...] = getattr(error, "args", ())
    return bool(args) and type(error).__name__ == "OperationalError" and args[0] in _RETRYABLE_MYSQL


@attrs.frozen
class MonthlyStatistics:
    """One row of the monthly statistics: a jurisdiction's receptions in one month, in fen."""

    jurisdiction: str
    month: int
    receptions: int
    planned_fen: int
    actual_fen: int


@attrs.frozen
class _StoredEvent:
    event: AuditEvent
    chain_index: int
    prev_hash: str
    hash: str
    chain_prev: str
    chain_hash: str
    content: bytes
    state_hash: str
    shard: int


@attrs.frozen
class _StoredResult:
    reception: Reception
    event: AuditEvent
