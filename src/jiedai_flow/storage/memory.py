"""The in-memory store: the storage contract in plain dicts, for tests, demos and embedding.

Thread-safe (one lock); nothing survives the process. Delivered outbox rows are dropped (the
audit trail keeps the record). Selected by the URL ``memory://``.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.domain.records import (
    AssigneeKind,
    BudgetUsage,
    Delivery,
    DeliveryOutcome,
    LedgerEntry,
    Notification,
    Page,
    ProxyPage,
    ProxyResult,
    TaskCounts,
    TaskKind,
    TaskPage,
    TaskRow,
    TaskState,
    TaskView,
    numbered,
    proxy_cursor,
)
from jiedai_flow.errors import (
    BudgetExceededError,
    ConflictError,
    DuplicateError,
    IdempotencyError,
    NotFoundError,
)
from jiedai_flow.storage.base import INLINE_LEASE, OutboxTrail, ledger_cap, next_cursor, proxy_key_reused
from jiedai_flow.storage.codec import encode

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Sequence
    from datetime import timedelta

    from jiedai_flow.domain.records import (
        AuditEvent,
        CarbonCopy,
        CommandRecord,
        Member,
        Notification,
        Numbering,
        Proxy,
        ProxyQuery,
        Reception,
        ReceptionQuery,
        Task,
        TaskQuery,
    )


def _cursor(reception: Reception) -> str:
    return f"{reception.start.isoformat()}|{reception.id}"


class MemoryStore:
    """Receptions, audit events, outbox and idempotency records held in memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._receptions: dict[str, Reception] = {}
        self._events: dict[str, list[AuditEvent]] = {}
        self._proxies: dict[str, Proxy] = {}
        self._proxy_requests: dict[str, str] = {}
        """The designation each request id made: request id → proxy id."""
        self._outbox: dict[str, _Row] = {}
        self._finished: dict[str, int] = {"delivered": 0}
        """Rows that left the outbox, by final status (delivered rows are not kept: the audit
        trail is the record; dead letters stay in ``_outbox`` for inspection)."""
        self._commands: dict[str, CommandRecord] = {}
        self._counters: dict[str, int] = {}
        self._ledger: dict[str, BudgetUsage] = {}
        self._seen: set[str] = set()
        """Ids enqueued outside commands (reminders), so a reminder is written once."""
        self._event_of: dict[str, AuditEvent] = {}
        """Each event by id (the same objects as ``_events``), for :meth:`outbox_trail`."""
        self._written: dict[str, tuple[Notification, ...]] = {}
        """Per event, the rows its command wrote, as written (a delivered row is read from here)."""
        self._added: dict[str, tuple[str, ...]] = {}
        """Per event, ids of rows enqueued later and tied to it that are no reminders."""

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Every command saved inside is kept all together or not at all (see
        :class:`~jiedai_flow.storage.base.Transactional`): on an exception the store is put back as
        it was when the block began."""
        with self._lock:
            saved = (
                dict(self._receptions),
                {k: list(v) for k, v in self._events.items()},
                dict(self._outbox),
                dict(self._finished),
                dict(self._commands),
                dict(self._counters),
                dict(self._ledger),
                set(self._seen),
                dict(self._event_of),
                dict(self._written),
                dict(self._added),
            )
        try:
            yield
        except BaseException:
            with self._lock:
                (
                    self._receptions,
                    self._events,
                    self._outbox,
                    self._finished,
                    self._commands,
                    self._counters,
                    self._ledger,
                    self._seen,
                    self._event_of,
                    self._written,
                    self._added,
                ) = saved
            raise

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
        self._event_of[event.id] = event
        self._written[event.id] = tuple(outbox)
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
        tasks: Sequence[Task] = (),
        copies: Sequence[CarbonCopy] = (),
    ) -> None:
        del tasks, copies  # the task lists read the receptions themselves
        with self._lock:
            current = self._receptions.get(reception.id)
            if current is None:
                raise NotFoundError(reception.id)
            if current.version != expected_version:
                raise ConflictError(reception.id, expected_version, current.version, number=reception.number)
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
        cap = ledger_cap(entry)
        if growth > 0 and used > cap:
            raise BudgetExceededError(
                entry.host_unit, entry.year, cap, usage.committed_fen, usage.spent_fen, growth
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
                if not n.topic.startswith("remind:"):
                    self._added[n.event_id] = (*self._added.get(n.event_id, ()), n.id)
            return len(fresh)

    def outbox_trail(self, event_ids: Collection[str]) -> dict[str, OutboxTrail]:
        """Each event of ``event_ids`` with its command's rows as held now (a pending row as it
        stands in the outbox, a delivered one as written) and rows enqueued later tied to it."""
        found: dict[str, OutboxTrail] = {}
        with self._lock:
            for event_id in event_ids:
                event = self._event_of.get(event_id)
                if event is None:
                    continue
                rows = [self._held(n) for n in self._written.get(event_id, ())]
                rows += [
                    row.notification for i in self._added.get(event_id, ()) if (row := self._outbox.get(i))
                ]
                stored = tuple((n.id, encode(n)) for n in rows)
                found[event_id] = OutboxTrail(event.reception_id, event.outbox_digest, stored)
        return found

    def _held(self, written: Notification) -> Notification:
        row = self._outbox.get(written.id)
        return written if row is None else row.notification

    def delivery_counts(self) -> dict[str, int]:
        with self._lock:
            counts = dict(self._finished)
            for row in self._outbox.values():
                counts[row.status] = counts.get(row.status, 0) + 1
            return {k: v for k, v in counts.items() if v}

    def close(self) -> None:
        """Nothing to release."""

    # -- task lists and proxies -------------------------------------------------------------------

    resolves_stand_ins = True
    """:meth:`task_list` and :meth:`task_counts` read ``TaskQuery.stand_ins_on`` themselves."""

    def task_list(self, query: TaskQuery) -> TaskPage:
        """One page of a task list, computed from the receptions in memory."""
        rows = _task_rows(list(self._receptions.values()), self._stood_in(query))
        start = 0
        if query.after is not None:
            start = next((i + 1 for i, (key, _) in enumerate(rows) if key == query.after), len(rows))
        chosen = rows[start : start + query.limit]
        more = start + query.limit < len(rows)
        return TaskPage(tuple(r for _, r in chosen), chosen[-1][0] if more and chosen else None)

    def _stood_in(self, query: TaskQuery) -> TaskQuery:
        """The query with the principals of its ``stand_ins_on`` day added."""
        if query.stand_ins_on is None:
            return query
        day = query.stand_ins_on
        with self._lock:
            found = {
                p.principal for p in self._proxies.values() if p.stand_in == query.actor_id and p.covers(day)
            }
        return attrs.evolve(query, principals=query.principals | found, stand_ins_on=None)

    def task_counts(self, query: TaskQuery) -> TaskCounts:
        query = self._stood_in(query)
        receptions = list(self._receptions.values())
        counts = {v: _task_rows(receptions, attrs.evolve(query, view=v)) for v in TaskView}
        cc = [r for _, r in counts[TaskView.CC]]
        return TaskCounts(
            mine=len(counts[TaskView.MINE]),
            done=len(counts[TaskView.DONE]),
            cc=len(cc),
            cc_unread=sum(not r.read for r in cc),
            started=len(counts[TaskView.STARTED]),
        )

    def designate(self, proxy: Proxy, request_id: str | None = None) -> ProxyResult:
        with self._lock:
            if request_id is not None and request_id in self._proxy_requests:
                made = self._proxies[self._proxy_requests[request_id]]
                if not made.same_request(proxy):
                    raise proxy_key_reused(request_id, made, proxy)
                return ProxyResult(made, created=False)
            asked = _designation(proxy)
            for kept in self._proxies.values():
                if not kept.revoked and _designation(kept) == asked:
                    return ProxyResult(kept, created=False)
            self._proxies[proxy.id] = proxy
            if request_id is not None:
                self._proxy_requests[request_id] = proxy.id
            return ProxyResult(proxy, created=True)

    def save_proxy(self, proxy: Proxy) -> None:
        with self._lock:
            self._proxies[proxy.id] = proxy

    def proxies(self) -> Sequence[Proxy]:
        with self._lock:
            return tuple(self._proxies.values())

    def proxy_page(self, query: ProxyQuery) -> ProxyPage:
        after = proxy_cursor(query.after) if query.after is not None else None
        with self._lock:
            listed = [p for p in self._proxies.values() if _listed(p, query)]
        found = sorted((p for p in listed if after is None or _key(p) < after), key=_key, reverse=True)
        page = tuple(found[: query.limit])
        return ProxyPage(page, next_cursor(page, len(found) > query.limit))

    def find_proxy(self, ref: str) -> Proxy | None:
        with self._lock:
            found = self._proxies.get(ref)
            if found is None:
                found = next((self._proxies[i] for i in sorted(self._proxies) if i.startswith(ref)), None)
            return found

    def principals(self, stand_in: str, now: datetime) -> Sequence[str]:
        day = _china_day(now)
        with self._lock:
            return tuple(
                p.principal for p in self._proxies.values() if p.stand_in == stand_in and p.covers(day)
            )


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


def _designation(proxy: Proxy) -> tuple[str, str, date, date]:
    """What makes two stand-in rows the same designation: whose, who, from, to."""
    return (proxy.principal, proxy.stand_in, proxy.start, proxy.end)


def _key(proxy: Proxy) -> tuple[datetime, str]:
    """A stand-in's place in a list of them (the latest set first: compared reversed)."""
    return proxy.at, proxy.id


def _listed(proxy: Proxy, query: ProxyQuery) -> bool:
    """Whether ``proxy`` passes the filters of ``query`` (its cursor aside)."""
    return (
        (query.party is None or query.party in (proxy.principal, proxy.stand_in))
        and (query.principal is None or proxy.principal == query.principal)
        and (query.stand_in is None or proxy.stand_in == query.stand_in)
        and (query.active_on is None or proxy.covers(query.active_on))
    )


def _china_day(now: datetime) -> date:
    from jiedai_flow.domain.clock import CHINA_TZ

    return now.astimezone(CHINA_TZ).date()


def _task_rows(receptions: Sequence[Reception], query: TaskQuery) -> list[tuple[str, TaskRow]]:
    """(cursor key, row) of one task list, in its order — what the SQL store's index answers."""

    far = date(9999, 12, 31)
    view, me = query.view, query.actor_id
    people = {me, *query.principals}
    through = {(kind, ref): who for kind, ref, who in query.principal_pools}
    found: list[tuple[tuple[object, ...], TaskRow]] = []
    for r in receptions:
        if query.jurisdiction is not None and r.jurisdiction != query.jurisdiction:
            continue
        if view is TaskView.STARTED:
            if r.handler.id == me:
                row = TaskRow(
                    r.id,
                    r.number,
                    "",
                    "started",
                    r.start.isoformat(),
                    r.state,
                    at=r.created_at,
                    host_unit=r.host_unit,
                )
                found.append(((r.created_at, r.id), row))
            continue
        if view is TaskView.CC:
            for c in r.copies:
                if c.actor_id == me:
                    row = TaskRow(
                        r.id,
                        r.number,
                        "",
                        "cc",
                        f"{c.by} 抄送",
                        r.state,
                        owner=c.by,
                        at=c.at,
                        host_unit=r.host_unit,
                        read=c.read_at is not None,
                    )
                    found.append(((c.at, r.id), row))
            continue
        for t in r.tasks:
            if query.kind is not None and t.kind is not query.kind:
                continue
            if view is TaskView.DONE:
                if t.done_by != me:
                    continue
                key: tuple[object, ...] = (t.done_at, t.id)
            else:
                if t.state is not TaskState.OPEN:
                    continue
                if t.kind is TaskKind.APPROVAL and r.handler.id in (me, t.owner):
                    continue  # never the handler's, not even as a stand-in, nor the handler's own
                pool = not t.owner and (
                    (t.assignee.kind is AssigneeKind.LEVEL and t.assignee.ref in query.levels)
                    or (
                        t.assignee.kind is AssigneeKind.UNIT
                        and bool(t.assignee.ref)
                        and t.assignee.ref in (query.unit, *query.units)
                    )
                )
                if t.owner not in people and not pool:
                    continue
                if pool:  # only while the actor (or a principal in the pool) may take it
                    if t.kind is TaskKind.APPROVAL and not query.signs_in(t.assignee.kind, t.assignee.ref):
                        continue  # nobody it is listed for may sign it: 办公室、财务、纪检
                    barred = r.barred(t)
                    if me in barred:
                        continue
                    principals = through.get((t.assignee.kind, t.assignee.ref), ())
                    if principals and all(p in barred for p in principals):
                        continue
                if query.due_by is not None and (t.due is None or t.due > query.due_by):
                    continue
                key = (t.due or far, t.created_at, t.id)
            row = TaskRow(
                r.id, r.number, t.id, t.kind.value, r.task_title(t), t.state.value, t.assignee.ref, t.owner,
                t.step, t.due, t.done_at if view is TaskView.DONE else t.created_at, t.outcome, r.host_unit,
                t.read_at is not None,
            )  # fmt: skip
            found.append((key, row))
    found.sort(key=lambda kr: kr[0], reverse=view is not TaskView.MINE)
    # the cursor has the SQL store's shape, due-day|moment|id, the day empty beyond 待办
    return [("|".join(str(k) for k in (("",) * (3 - len(key)) + key)), row) for key, row in found]
