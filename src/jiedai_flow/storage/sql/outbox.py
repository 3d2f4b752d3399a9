"""The SQL outbox 发件箱: claiming, finishing and enqueuing deliveries, for :class:`SQLStore`.

Claiming is safe with several dispatchers at once: PostgreSQL and MariaDB take due rows with
``SELECT … FOR UPDATE SKIP LOCKED`` (a row another dispatcher holds is passed over, not waited
for); SQLite's ``BEGIN IMMEDIATE`` lets one writer claim at a time. A claim is a lease: a
dispatcher that dies leaves its rows to be claimed again once the lease runs out.

Per batch, not per row: a claim is one ``UPDATE … WHERE id IN (due rows) RETURNING`` (a SELECT and
one ``UPDATE … WHERE id IN (…)`` where the driver has no ``UPDATE … RETURNING``), and clean
deliveries are finished with one UPDATE per attempt count. On SQLite these commits do not wait for
the disk every batch (see ``_lease_transaction`` and ``_finish_transaction`` for why that is safe).
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from jiedai_flow.domain.records import Delivery, DeliveryOutcome, Notification
from jiedai_flow.storage import schema
from jiedai_flow.storage.base import INLINE_LEASE, OutboxTrail
from jiedai_flow.storage.codec import decode, encode, parse
from jiedai_flow.storage.sql.statements import execute_in, id_chunks, power_of_two, utc

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime, timedelta

_O, _R, _E = schema.outbox, schema.receptions, schema.audit_events


INLINE_WORKER = "inline"
FINISH_SYNC_SECONDS = 1.0
"""On SQLite, how long delivery outcomes may wait to reach the disk (see ``_finish_transaction``)."""


def outbox_row(n: Notification) -> dict[str, Any]:
    """The row of a new outbox notification."""
    return {
        "id": n.id,
        "reception_id": n.reception_id,
        "event_id": n.event_id,
        "topic": n.topic,
        "status": "pending",
        "attempts": 0,
        "created_at": utc(n.created_at),
        "data": encode(n),
        "channel": n.channel,
        # a row an inline notifier delivers right after the commit is leased to it, so that no
        # dispatcher sends it too; if the process dies first, the lease runs out and it is sent
        "lease_until": utc(n.created_at + INLINE_LEASE) if n.inline else None,
        "claimed_by": INLINE_WORKER if n.inline else None,
    }


OUTBOX_COLUMNS = (
    "id", "reception_id", "event_id", "topic", "status", "attempts", "created_at", "data", "channel",
    "lease_until", "claimed_by",
)  # fmt: skip
insert_outbox = _O.insert().values({name: sa.bindparam(name) for name in OUTBOX_COLUMNS})
"""The INSERT of a new outbox row (the later delivery columns start empty)."""


_FINISH_VALUES: dict[str, Any] = {
    k: sa.bindparam(f"v_{k}")
    for k in ("status", "attempts", "lease_until", "next_attempt_at", "last_error", "delivered_at")
}
_FINISH = _O.update().where(_O.c.id == sa.bindparam("b_id")).values(_FINISH_VALUES)
_FINISH_BY_WORKER = (
    _O.update()
    .where(_O.c.id == sa.bindparam("b_id"), _O.c.claimed_by == sa.bindparam("b_worker"))
    .values(_FINISH_VALUES)
)


OUTBOX_STATEMENTS: dict[str, sa.ClauseElement] = {
    "insert_outbox": insert_outbox,
    "outbox_exists": sa.select(_O.c.id).where(_O.c.id == sa.bindparam("id")),
    "finish_rows": _FINISH,
    "finish_by_worker": _FINISH_BY_WORKER,
}
"""The outbox's fixed statements, compiled with the store's own (``SQLStore._sql``)."""


def _without(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key}


def _id_in(size: int, column: sa.Column[Any] = _O.c.id) -> Any:
    return column.in_([sa.bindparam(f"id_{i}") for i in range(size)])


def _claim_statement(due: Any) -> Any:
    """``UPDATE … SET lease WHERE id IN (due) RETURNING id, attempts, data, created_at``."""
    return (
        _O.update()
        .where(_O.c.id.in_(due.with_only_columns(_O.c.id).scalar_subquery()))
        .values(lease_until=sa.bindparam("v_until"), claimed_by=sa.bindparam("v_by"))
        .returning(_O.c.id, _O.c.attempts, _O.c.data, _O.c.created_at)
    )


def _delivered(size: int, by_worker: bool) -> Any:
    """Mark ``size`` rows delivered with one attempt count (only the worker's, ``by_worker``)."""
    condition = [_id_in(size)]
    if by_worker:
        condition.append(_O.c.claimed_by == sa.bindparam("b_worker"))
    return (
        _O.update()
        .where(*condition)
        .values(
            status="delivered",
            attempts=sa.bindparam("v_attempts"),
            lease_until=sa.null(),
            next_attempt_at=sa.null(),
            last_error=sa.null(),
            delivered_at=sa.bindparam("v_delivered_at"),
        )
    )


_IN_STATEMENTS: dict[str, Callable[[int], Any]] = {
    "lease_in": lambda size: (
        _O.update()
        .where(_id_in(size))
        .values(lease_until=sa.bindparam("v_until"), claimed_by=sa.bindparam("v_by"))
    ),
    "delivered_in": lambda size: _delivered(size, by_worker=False),
    "delivered_by_worker": lambda size: _delivered(size, by_worker=True),
    "receptions_in": lambda size: sa.select(_R.c.id, _R.c.version, _R.c.last_hash, _R.c.data).where(
        _id_in(size, _R.c.id)
    ),
    "trail_in": lambda size: _trail_statement(size),
}
"""Statements on a list of ids, compiled per power-of-two size on first use."""


def _trail_statement(size: int) -> Any:
    """The events of ``size`` ids and their command rows, as one statement (one round trip)::

        SELECT 'e', id, reception_id, data FROM jd_audit_events WHERE id IN (…)
        UNION ALL
        SELECT 'o', event_id, id, data FROM jd_outbox WHERE event_id IN (…) AND topic NOT LIKE 'remind:%'

    The rows are found through ``ix_jd_outbox_event`` (migration 0011)."""
    events = sa.select(sa.literal_column("'e'"), _E.c.id, _E.c.reception_id, _E.c.data).where(
        _id_in(size, _E.c.id)
    )
    rows = sa.select(sa.literal_column("'o'"), _O.c.event_id, _O.c.id, _O.c.data).where(
        _id_in(size, _O.c.event_id), sa.not_(_O.c.topic.startswith("remind:"))
    )
    return sa.union_all(events, rows)


DIGEST_KEY = '"outbox_digest"'
"""The key as stored JSON writes it: only a key can hold it unescaped, so its absence marks an
event written before notifications were bound into the event hash (as verify reads it)."""


def recorded_digest(data: str) -> str | None:
    """The ``outbox_digest`` an event's stored JSON records; ``None`` when it has none (written
    before digests existed)."""
    if DIGEST_KEY not in data:
        return None
    return str(parse(data).get("outbox_digest", ""))


class OutboxMixin:
    """Outbox operations of the SQL store (see :class:`jiedai_flow.storage.Store`)."""

    db: sa.Engine
    is_sqlite: bool
    durability: str
    _integrity_error: type[Exception]
    _sql: dict[str, Any]  # compiled statements, OUTBOX_STATEMENTS among them

    _idle: list[Any]  # the store's idle writer connections

    def _transaction(self, conn: Any = None) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _read(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    def _checkout(self, idle: list[Any]) -> Any:
        raise NotImplementedError

    def _checkin(self, idle: list[Any], conn: Any) -> None:
        raise NotImplementedError

    def claim_deliveries(
        self,
        now: datetime,
        lease: timedelta,
        *,
        limit: int = 100,
        worker: str = "",
        channels: Collection[str] | None = None,
    ) -> Sequence[Delivery]:
        self.flush()  # delivery marks buffered by inline notifiers first: never claim a delivered row
        if channels is not None and not channels:
            return ()
        key = None if channels is None else tuple(sorted(channels))
        values = {"now": utc(now), "v_until": utc(now + lease), "v_by": worker[:64]}
        with self._lease_transaction() as cur:
            if self.db.dialect.update_returning:
                rows = self._claim(key, limit).execute(cur, values).fetchall()
                rows.sort(key=itemgetter(3, 0))  # why: RETURNING keeps no order; deliver oldest first
            else:
                rows = self._due(key, limit).execute(cur, values).fetchall()
                self._lease(cur, [r[0] for r in rows], values)
        return tuple(Delivery(decode(Notification, row[2]), int(row[1])) for row in rows)

    @contextmanager
    def _lease_transaction(self) -> Iterator[Any]:
        """The claim's transaction: on SQLite it never waits for the disk (see
        :meth:`_bookkeeping`). Why a lease need not: a WAL commit survives the crash of any
        process at once; only a power cut or an OS crash loses it, and those stop every dispatcher
        of the file too (WAL needs one host), so no one is left delivering the rows a lost lease
        covered: they are simply due again."""
        with self._bookkeeping(sync=False) as cur:
            yield cur

    def _finish_transaction(self) -> AbstractContextManager[Any]:
        """The finish's transaction: on SQLite it waits for the disk at most once every
        :data:`FINISH_SYNC_SECONDS` (a group commit). Why: a power cut can then lose only the
        outcomes recorded within that long after the last synced one, and losing an outcome only
        means its row is delivered again: at-least-once, as after a crash between a POST and its
        finish. (A dispatcher's fsync per batch made it as slow as the disk of a busy machine.)"""
        moment = time.monotonic()
        sync = moment - self.__dict__.get("_finish_synced", -FINISH_SYNC_SECONDS) >= FINISH_SYNC_SECONDS
        if sync:
            self.__dict__["_finish_synced"] = moment
        return self._bookkeeping(sync=sync)

    @contextmanager
    def _bookkeeping(self, *, sync: bool) -> Iterator[Any]:
        """A write transaction that, unless ``sync``, commits at ``synchronous=NORMAL`` on a SQLite
        store kept at ``FULL``: in WAL mode the commit is then not flushed to the disk itself, but
        the next ``FULL`` commit (a command's, or a synced finish) flushes it with its own."""
        if sync or not (self.is_sqlite and self.durability == "full"):
            with self._transaction() as cur:
                yield cur
            return
        conn = self._checkout(self._idle)
        pragma = conn.cursor()
        try:
            pragma.execute("PRAGMA synchronous=NORMAL")
            try:
                with self._transaction(conn) as cur:
                    yield cur
            finally:
                pragma.execute("PRAGMA synchronous=FULL")
                pragma.close()
        finally:
            self._checkin(self._idle, conn)

    def _lease(self, cur: Any, ids: Sequence[str], values: dict[str, Any]) -> None:
        """Lease the selected rows with one UPDATE per chunk (drivers without UPDATE…RETURNING)."""
        for chunk in id_chunks(ids):
            execute_in(self._in("lease_in", len(chunk)), cur, chunk, values)

    def _claim(self, channels: tuple[str, ...] | None, limit: int) -> Any:
        """The claim as one statement: ``UPDATE … WHERE id IN (due rows) RETURNING …``."""
        return self._cached(
            "lease_due", channels, limit, lambda: _claim_statement(self._due_select(channels, limit))
        )

    def _due(self, channels: tuple[str, ...] | None, limit: int) -> Any:
        """The claim's SELECT of due rows, for drivers without UPDATE…RETURNING."""
        return self._cached("due", channels, limit, lambda: self._due_select(channels, limit))

    def _cached(self, kind: str, channels: Any, limit: int, build: Callable[[], Any]) -> Any:
        """A statement compiled once per (kind, channels, limit) and kept on the store."""
        from jiedai_flow.storage.sql.statements import Prepared

        cache: dict[tuple[str, Any, int], Any] = self.__dict__.setdefault("_due_prepared", {})
        found = cache.get((kind, channels, limit))
        if found is None:
            if len(cache) >= 64:
                cache.clear()
            found = cache[(kind, channels, limit)] = Prepared(build(), self.db.dialect)
        return found

    def _in(self, kind: str, size: int) -> Any:
        """The ``kind`` statement for ``size`` ids (a power of two; see :func:`execute_in`)."""
        size = power_of_two(size)
        return self._cached(kind, None, size, lambda: _IN_STATEMENTS[kind](size))

    def _due_select(self, channels: tuple[str, ...] | None, limit: int) -> Any:
        """``SELECT id, attempts, data, created_at`` of the due rows, oldest first, skipping rows
        another transaction holds (SQLite: ``BEGIN IMMEDIATE`` admits one claimer at a time)."""
        conditions = [
            _O.c.status == "pending",
            sa.or_(_O.c.next_attempt_at.is_(None), _O.c.next_attempt_at <= sa.bindparam("now")),
            sa.or_(_O.c.lease_until.is_(None), _O.c.lease_until < sa.bindparam("now")),
        ]
        if channels is not None:
            conditions.append(sa.or_(*(_O.c.channel == name for name in channels)))
        due = (
            sa.select(_O.c.id, _O.c.attempts, _O.c.data, _O.c.created_at)
            .where(*conditions)
            .order_by(_O.c.created_at, _O.c.id)
            .limit(limit)
        )
        return due if self.is_sqlite else due.with_for_update(skip_locked=True)

    def finish_deliveries(
        self, outcomes: Sequence[DeliveryOutcome], *, now: datetime, worker: str = ""
    ) -> None:
        """Record several outcomes in one transaction. With ``worker`` an outcome counts only while
        that worker still holds the row's lease (a dispatcher that lost it cannot overwrite).
        Clean deliveries, the usual outcome, are written with one UPDATE per attempt count."""
        if not outcomes:
            return
        delivered_at = utc(now)
        clean: dict[int, list[str]] = {}
        others = []
        for o in outcomes:
            if o.status == "delivered" and not o.error:
                clean.setdefault(o.attempts, []).append(o.notification_id)
            else:
                others.append(o)
        with self._finish_transaction() as cur:
            kind = "delivered_by_worker" if worker else "delivered_in"
            for attempts, ids in clean.items():
                values = {"v_attempts": attempts, "v_delivered_at": delivered_at}
                if worker:
                    values["b_worker"] = worker[:64]
                for chunk in id_chunks(ids):
                    execute_in(self._in(kind, len(chunk)), cur, chunk, values)
            if others:
                self._finish_each(cur, others, delivered_at, worker)

    def _finish_each(
        self, cur: Any, outcomes: Sequence[DeliveryOutcome], delivered_at: datetime, worker: str
    ) -> None:
        """Outcomes with their own values (retries, dead letters): one row each, one executemany."""
        finish = self._sql["finish_by_worker" if worker else "finish_rows"]
        rows = [
            {
                "b_id": o.notification_id,
                "b_worker": worker[:64],
                "v_status": o.status,
                "v_attempts": o.attempts,
                "v_lease_until": None,
                "v_next_attempt_at": utc(o.next_attempt_at) if o.next_attempt_at else None,
                "v_last_error": o.error[:2000] or None,
                "v_delivered_at": delivered_at if o.status == "delivered" else None,
            }
            for o in outcomes
        ]
        finish.execute_many(cur, [r if worker else _without(r, "b_worker") for r in rows])

    def outbox_trail(self, event_ids: Collection[str]) -> dict[str, OutboxTrail]:
        """The events of ``event_ids`` with their command rows as stored, one SELECT per 256 events
        (a claimed batch is one): see :class:`~jiedai_flow.storage.base.TrailReading`."""
        found: dict[str, OutboxTrail] = {}
        for chunk in id_chunks(list(dict.fromkeys(event_ids))):
            with self._read() as cur:
                rows = execute_in(self._in("trail_in", len(chunk)), cur, chunk, {}).fetchall()
            events: dict[str, tuple[str, str | None]] = {}
            stored: dict[str, list[tuple[str, str]]] = {}
            for kind, event_id, other, data in rows:
                if kind == "e":
                    events[event_id] = (other, recorded_digest(data))
                else:
                    stored.setdefault(event_id, []).append((other, data))
            for event_id, (reception_id, digest) in events.items():
                found[event_id] = OutboxTrail(reception_id, digest, tuple(stored.get(event_id, ())))
        return found

    def enqueue(self, notifications: Sequence[Notification]) -> int:
        """Insert outbox rows whose ids are not there yet; returns how many were new."""
        exists, insert = self._sql["outbox_exists"], self._sql["insert_outbox"]
        for _attempt in range(3):
            inserted = 0
            try:
                with self._transaction() as cur:
                    for n in notifications:
                        if exists.execute(cur, {"id": n.id}).fetchone() is None:
                            insert.execute(cur, outbox_row(n))
                            inserted += 1
                return inserted
            except self._integrity_error:
                continue  # a concurrent scan inserted one of them first; look again
        return 0

    def delivery_counts(self) -> dict[str, int]:
        self.flush()
        statement = sa.select(_O.c.status, sa.func.count()).group_by(_O.c.status)
        with self.db.connect() as conn:
            return {status: int(n) for status, n in conn.execute(statement)}

    def pending_notifications(self, limit: int = 100) -> Sequence[Notification]:
        self.flush()
        statement = (
            sa.select(_O.c.data)
            .where(_O.c.status == "pending")
            .order_by(_O.c.created_at, _O.c.id)
            .limit(limit)
        )
        with self.db.connect() as conn:
            return tuple(decode(Notification, data) for (data,) in conn.execute(statement))
