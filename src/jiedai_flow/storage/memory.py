"""The in-memory store: the storage contract in plain dicts, for tests, demos and embedding.

Thread-safe (one lock); nothing survives the process. Delivered outbox rows are dropped (the
audit trail keeps the record). Selected by the URL ``memory://``.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.errors import (
    BudgetExceededError,
    ConflictError,
    DuplicateError,
    IdempotencyError,
    NotFoundError,
)
from jiedai_flow.records import (
    BudgetUsage,
    Delivery,
    DeliveryOutcome,
    LedgerEntry,
    Notification,
    Page,
    numbered,
)
from jiedai_flow.storage.sql_outbox import INLINE_LEASE

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Sequence
    from datetime import datetime, timedelta

    from jiedai_flow.records import (
        AuditEvent,
        CommandRecord,
        Member,
        Notification,
        Numbering,
        Reception,
        ReceptionQuery,
    )


def _cursor(reception: Reception) -> str:
    return f"{reception.start.isoformat()}|{reception.id}"


class MemoryStore:
    """Receptions, audit events, outbox and idempotency records held in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._receptions: dict[str, Reception] = {}
        self._events: dict[str, list[AuditEvent]] = {}
        self._outbox: dict[str, _Row] = {}
        self._finished: dict[str, int] = {"delivered": 0}
        """Rows that left the outbox, by final status (delivered rows are not kept: the audit
        trail is the record; dead letters stay in ``_outbox`` for inspection)."""
        self._commands: dict[str, CommandRecord] = {}
        self._counters: dict[str, int] = {}
        self._ledger: dict[str, BudgetUsage] = {}
        self._seen: set[str] = set()
        """Ids enqueued outside commands (reminders), so a reminder is written once."""

    def _remember(self, record: CommandRecord | None) -> None:
        if record is None:
            return
        first = self._commands.get(record.request_id)
        if first is not None:
            raise IdempotencyError(
                record.request_id,
                f"{first.reception_id}:{first.trigger}",
                f"{record.reception_id}:{record.trigger}",
            )
        self._commands[record.request_id] = record

    def _append(self, event: AuditEvent, outbox: Sequence[Notification]) -> None:
        self._events.setdefault(event.reception_id, []).append(event)
        for row in outbox:
            lease = row.created_at + INLINE_LEASE if row.inline else None
            self._outbox[row.id] = _Row(row, lease_until=lease)

    def create(
        self,
        reception: Reception,
        event: AuditEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        numbering: Numbering | None = None,
    ) -> Reception:
        with self._lock:
            if reception.id in self._receptions:
                raise DuplicateError(reception.id)
            if record is not None and record.request_id in self._commands:
                self._remember(record)  # raises IdempotencyError: nothing written yet
            if numbering is not None:
                value = self._counters.get(numbering.key, 0) + 1
                self._counters[numbering.key] = value
                reception, record = numbered(reception, record, numbering.format(value))
            self._remember(record)
            self._receptions[reception.id] = reception
            self._append(event, outbox)
            return reception

    def save(
        self,
        reception: Reception,
        *,
        expected_version: int,
        event: AuditEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        ledger: Sequence[LedgerEntry] = (),
    ) -> None:
        with self._lock:
            current = self._receptions.get(reception.id)
            if current is None:
                raise NotFoundError(reception.id)
            if current.version != expected_version:
                raise ConflictError(reception.id, expected_version, current.version)
            booked = {entry.key: self._booked(entry) for entry in ledger}  # may refuse: nothing written
            self._remember(record)  # may refuse a reused request id: nothing written yet
            self._ledger.update(booked)
            self._receptions[reception.id] = reception
            self._append(event, outbox)

    def load(self, reception_id: str) -> Reception:
        try:
            return self._receptions[reception_id]
        except KeyError:
            raise NotFoundError(reception_id) from None

    def load_many(self, reception_ids: Collection[str]) -> dict[str, Reception]:
        receptions = self._receptions
        return {rid: receptions[rid] for rid in reception_ids if rid in receptions}

    def history(self, reception_id: str) -> Sequence[AuditEvent]:
        if reception_id not in self._receptions:
            raise NotFoundError(reception_id)
        with self._lock:
            return tuple(self._events.get(reception_id, ()))

    def process_members(self, process: str) -> Iterator[Member]:
        with self._lock:
            found = [
                (r.id, r.number, r.state, r.version)
                for r in self._receptions.values()
                if r.process == process
            ]
        yield from sorted(found)

    def query(self, query: ReceptionQuery) -> Page:
        with self._lock:
            candidates = list(self._receptions.values())
        matches = sorted((r for r in candidates if _matches(r, query)), key=lambda r: (r.start, r.id))
        if query.after is not None:
            matches = [r for r in matches if _cursor(r) > query.after]
        items = tuple(matches[: query.limit])
        more = len(matches) > query.limit
        return Page(items, _cursor(items[-1]) if more else None)

    def _booked(self, entry: LedgerEntry) -> BudgetUsage:
        usage = self._ledger.get(entry.key, BudgetUsage())
        after = BudgetUsage(usage.committed_fen + entry.committed_fen, usage.spent_fen + entry.spent_fen)
        growth = entry.committed_fen + entry.spent_fen
        used = after.committed_fen + after.spent_fen
        if entry.cap_fen is not None and growth > 0 and used > entry.cap_fen:
            raise BudgetExceededError(
                entry.host_unit, entry.year, entry.cap_fen, usage.committed_fen, usage.spent_fen, growth
            )
        return after

    def budget_usage(self, host_unit: str, year: int) -> BudgetUsage:
        return self._ledger.get(LedgerEntry(host_unit, year).key, BudgetUsage())

    def command(self, request_id: str) -> CommandRecord | None:
        return self._commands.get(request_id)

    def next_number(self, key: str) -> int:
        with self._lock:
            value = self._counters.get(key, 0) + 1
            self._counters[key] = value
            return value

    def pending_notifications(self, limit: int = 100) -> Sequence[Notification]:
        with self._lock:
            pending = [r.notification for r in self._outbox.values() if r.status == "pending"]
        return tuple(pending[:limit])

    def mark_notified(self, notification_ids: Sequence[str]) -> None:
        with self._lock:
            for notification_id in notification_ids:
                if self._outbox.pop(notification_id, None) is not None:
                    self._finished["delivered"] += 1

    def claim_deliveries(
        self,
        now: datetime,
        lease: timedelta,
        *,
        limit: int = 100,
        worker: str = "",
        channels: Collection[str] | None = None,
    ) -> Sequence[Delivery]:
        with self._lock:
            due = [
                r
                for r in self._outbox.values()
                if r.status == "pending"
                and (channels is None or r.notification.channel in channels)
                and (r.next_attempt_at is None or r.next_attempt_at <= now)
                and (r.lease_until is None or r.lease_until < now)
            ][:limit]
            for r in due:
                r.lease_until, r.worker = now + lease, worker
            return tuple(Delivery(r.notification, r.attempts) for r in due)

    def finish_deliveries(
        self, outcomes: Sequence[DeliveryOutcome], *, now: datetime, worker: str = ""
    ) -> None:
        del now
        with self._lock:
            for o in outcomes:
                row = self._outbox.get(o.notification_id)
                if row is None or (worker and row.worker != worker):
                    continue  # gone, or the lease passed to another dispatcher
                if o.status == "delivered":
                    del self._outbox[o.notification_id]
                    self._finished["delivered"] += 1
                    continue
                row.status, row.attempts, row.error = o.status, o.attempts, o.error
                row.next_attempt_at, row.lease_until = o.next_attempt_at, None

    def enqueue(self, notifications: Sequence[Notification]) -> int:
        with self._lock:
            fresh = [n for n in notifications if n.id not in self._outbox and n.id not in self._seen]
            for n in fresh:
                self._outbox[n.id] = _Row(n)
                self._seen.add(n.id)
            return len(fresh)

    def delivery_counts(self) -> dict[str, int]:
        with self._lock:
            counts = dict(self._finished)
            for row in self._outbox.values():
                counts[row.status] = counts.get(row.status, 0) + 1
            return {k: v for k, v in counts.items() if v}

    def close(self) -> None:
        """Nothing to release."""


def _matches(r: Reception, q: ReceptionQuery) -> bool:
    return (
        (not q.states or r.state in q.states)
        and (q.jurisdiction is None or r.jurisdiction == q.jurisdiction)
        and (q.host_unit is None or r.host_unit == q.host_unit)
        and (q.reception_type is None or r.reception_type == q.reception_type)
        and (q.start_from is None or r.start >= q.start_from)
        and (q.start_to is None or r.start <= q.start_to)
        and (q.number is None or r.number == q.number)
        and (q.id_prefix is None or r.id.startswith(q.id_prefix))
    )


@attrs.define
class _Row:
    """One outbox row and its delivery state."""

    notification: Notification
    status: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_until: datetime | None = None
    error: str = ""
    worker: str = ""
