"""The SQL outbox 发件箱: claiming, finishing and enqueuing deliveries, for :class:`SQLStore`.

Claiming is safe with several dispatchers at once: PostgreSQL and MariaDB take due rows with
``SELECT … FOR UPDATE SKIP LOCKED`` (a row another dispatcher holds is passed over, not waited
for); SQLite's ``BEGIN IMMEDIATE`` lets one writer claim at a time. A claim is a lease: a
dispatcher that dies leaves its rows to be claimed again once the lease runs out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa

from jiedai_flow.records import Delivery, DeliveryOutcome, Notification
from jiedai_flow.storage import schema
from jiedai_flow.storage.codec import decode, encode

if TYPE_CHECKING:
    from collections.abc import Collection, Sequence
    from contextlib import AbstractContextManager

_O = schema.outbox


INLINE_LEASE = timedelta(minutes=10)
"""How long a row stays leased to the inline notifier that delivers it right after the commit."""
INLINE_WORKER = "inline"


_last_utc: tuple[datetime | None, datetime | None] = (None, None)


def utc(moment: datetime) -> datetime:
    """``moment`` as naive UTC, the form the tables hold. A command stamps the reception, its event
    and its notifications with one ``now``: the last conversion is reused for the same object."""
    global _last_utc
    last = _last_utc
    if last[0] is moment:
        return cast("datetime", last[1])
    converted = moment.astimezone(UTC).replace(tzinfo=None)
    _last_utc = (moment, converted)
    return converted


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
    "lease_rows": _O.update()
    .where(_O.c.id == sa.bindparam("b_id"))
    .values(lease_until=sa.bindparam("v_until"), claimed_by=sa.bindparam("v_by")),
    "finish_rows": _FINISH,
    "finish_by_worker": _FINISH_BY_WORKER,
}
"""The outbox's fixed statements, compiled with the store's own (``SQLStore._sql``)."""


def _without(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key}


class OutboxMixin:
    """Outbox operations of the SQL store (see :class:`jiedai_flow.storage.Store`)."""

    engine: sa.Engine
    is_sqlite: bool
    _integrity_error: type[Exception]
    _sql: dict[str, Any]  # compiled statements, OUTBOX_STATEMENTS among them

    def _transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def flush(self) -> None:
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
        due = self._due(None if channels is None else tuple(sorted(channels)), limit)
        with self._transaction() as cur:
            rows = due.execute(cur, {"now": utc(now)}).fetchall()
            until = utc(now + lease)
            self._sql["lease_rows"].execute_many(
                cur, [{"b_id": r[0], "v_until": until, "v_by": worker[:64]} for r in rows]
            )
        return tuple(Delivery(decode(Notification, data), int(attempts)) for _id, attempts, data in rows)

    def _due(self, channels: tuple[str, ...] | None, limit: int) -> Any:
        """The claim's SELECT of due rows, compiled once per (channels, limit)."""
        from jiedai_flow.storage.sql import _Prepared

        cache: dict[tuple[tuple[str, ...] | None, int], Any] = self.__dict__.setdefault("_due_prepared", {})
        found = cache.get((channels, limit))
        if found is not None:
            return found
        conditions = [
            _O.c.status == "pending",
            sa.or_(_O.c.next_attempt_at.is_(None), _O.c.next_attempt_at <= sa.bindparam("now")),
            sa.or_(_O.c.lease_until.is_(None), _O.c.lease_until < sa.bindparam("now")),
        ]
        if channels is not None:
            conditions.append(sa.or_(*(_O.c.channel == name for name in channels)))
        due = (
            sa.select(_O.c.id, _O.c.attempts, _O.c.data)
            .where(*conditions)
            .order_by(_O.c.created_at, _O.c.id)
            .limit(limit)
        )
        if not self.is_sqlite:  # SQLite: BEGIN IMMEDIATE already admits one claimer at a time
            due = due.with_for_update(skip_locked=True)
        if len(cache) >= 64:
            cache.clear()
        found = cache[(channels, limit)] = _Prepared(due, self.engine.dialect)
        return found

    def finish_deliveries(
        self, outcomes: Sequence[DeliveryOutcome], *, now: datetime, worker: str = ""
    ) -> None:
        """Record several outcomes in one transaction. With ``worker`` an outcome counts only while
        that worker still holds the row's lease (a dispatcher that lost it cannot overwrite)."""
        if not outcomes:
            return
        finish = self._sql["finish_by_worker" if worker else "finish_rows"]
        delivered_at = utc(now)
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
        with self._transaction() as cur:
            finish.execute_many(cur, [r if worker else _without(r, "b_worker") for r in rows])

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
        with self.engine.connect() as conn:
            return {status: int(n) for status, n in conn.execute(statement)}

    def pending_notifications(self, limit: int = 100) -> Sequence[Notification]:
        self.flush()
        statement = (
            sa.select(_O.c.data)
            .where(_O.c.status == "pending")
            .order_by(_O.c.created_at, _O.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return tuple(decode(Notification, data) for (data,) in conn.execute(statement))
