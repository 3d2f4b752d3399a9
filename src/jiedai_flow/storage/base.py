"""The storage contract every back end implements."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import attrs

from jiedai_flow.domain.model import MAX_FEN
from jiedai_flow.domain.records import cursor_after
from jiedai_flow.errors import IdempotencyError

if TYPE_CHECKING:
    from collections.abc import Collection, Iterator, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime

    from jiedai_flow.domain.records import (
        AuditEvent,
        BudgetUsage,
        CommandRecord,
        Delivery,
        DeliveryOutcome,
        LedgerEntry,
        Member,
        Notification,
        Numbering,
        Page,
        Proxy,
        ProxyPage,
        ProxyQuery,
        ProxyResult,
        Reception,
        ReceptionQuery,
        TaskCounts,
        TaskPage,
        TaskQuery,
    )


INLINE_LEASE = timedelta(minutes=10)
"""How long a row stays leased to the inline notifier that delivers it right after the commit."""


def ledger_cap(entry: LedgerEntry) -> int:
    """The most a budget ledger row may hold after ``entry`` (committed + spent, in fen): its host
    unit's budget when one is set, and never more than a 64-bit column holds (``MAX_FEN``), so a
    year's total that would overflow it is refused like an overrun, not by the database."""
    return MAX_FEN if entry.cap_fen is None else min(entry.cap_fen, MAX_FEN)


def proxy_key_reused(request_id: str, first: Proxy, again: Proxy) -> IdempotencyError:
    """The error of a request id that made ``first`` sent again asking ``again`` (another period,
    stand-in, reason or setter): a retry must be sent unchanged, another designation needs a new
    key."""
    said = f"set_proxy:{first.id}"
    if first.set_by != again.set_by:
        return IdempotencyError(request_id, f"{said}:{first.set_by}", f"set_proxy:{again.set_by}")
    return IdempotencyError(request_id, said, said, other_words=True)


def next_cursor(page: Sequence[Proxy], more: bool) -> str | None:
    """The cursor after a page of stand-ins: None at the end."""
    return cursor_after(page[-1]) if more and page else None


@runtime_checkable
class Store(Protocol):
    """Durable home of receptions, their audit trail, the outbox and idempotency records.

    Atomicity is the contract: :meth:`create` and :meth:`save` write the reception, its audit
    event, its outbox rows and the idempotency record all together or not at all.
    """

    def create(
        self,
        reception: Reception,
        event: AuditEvent,
        outbox: Sequence[Notification],
        record: CommandRecord | None,
        numbering: Numbering | None = None,
    ) -> Reception:
        """Insert a new reception (version 1) and return it as stored. With ``numbering`` the
        store sets its number from the counter, in the same transaction (no gap, no extra
        commit). Raises DuplicateError if the id exists, or IdempotencyError if the record's
        request id was already used."""

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
        """Replace the reception if its stored version is ``expected_version`` (compare-and-set);
        else raise ConflictError and write nothing. ``reception.version`` is the new version.
        Budget ledger changes are applied in the same step; one that would pass its cap raises
        BudgetExceededError and nothing is written."""

    def load(self, reception_id: str) -> Reception:
        """The reception as last saved. Raises NotFoundError."""

    def history(self, reception_id: str) -> Sequence[AuditEvent]:
        """The reception's audit events in order (``seq`` 1, 2, …). Raises NotFoundError."""

    def query(self, query: ReceptionQuery) -> Page:
        """Receptions matching the filters, ordered by (start, id), one page at a time."""

    def process_members(self, process: str) -> Iterator[Member]:
        """Every reception pinned to the process ``process`` (``name@version``), as its typed
        columns only — id, number, state, version — ordered by id; nothing is decoded."""

    def budget_usage(self, host_unit: str, year: int) -> BudgetUsage:
        """What ``host_unit`` has committed and spent in ``year`` (fen), from the ledger."""

    def command(self, request_id: str) -> CommandRecord | None:
        """The idempotency record of a request id, if that request was accepted before."""

    def next_number(self, key: str) -> int:
        """The next value (1, 2, …) of a named counter, e.g. for human reception numbers."""

    def claim_deliveries(
        self,
        now: datetime,
        lease: timedelta,
        *,
        limit: int = 100,
        worker: str = "",
        channels: Collection[str] | None = None,
    ) -> Sequence[Delivery]:
        """Claim up to ``limit`` outbox rows due at ``now`` for ``lease`` (only of ``channels`` when
        given): rows another dispatcher holds are passed over, so no row is delivered by two
        dispatchers at once."""

    def finish_deliveries(
        self, outcomes: Sequence[DeliveryOutcome], *, now: datetime, worker: str = ""
    ) -> None:
        """Record delivery outcomes at once (``delivered``; ``pending`` again from
        ``next_attempt_at``; or ``dead``, a dead letter). With ``worker``, an outcome counts only
        while that worker still holds the row's lease."""

    def enqueue(self, notifications: Sequence[Notification]) -> int:
        """Add outbox rows outside a command (reminders); rows whose id exists are skipped.
        Returns how many were added."""

    def delivery_counts(self) -> dict[str, int]:
        """How many outbox rows there are in each delivery status
        (:data:`~jiedai_flow.notify.dispatch.STATUSES`); a status with none may be left out."""

    def pending_notifications(self, limit: int = 100) -> Sequence[Notification]:
        """Outbox rows not yet delivered, oldest first."""

    def mark_notified(self, notification_ids: Sequence[str]) -> None:
        """Mark outbox rows delivered."""

    def close(self) -> None:
        """Release connections and files."""


@runtime_checkable
class BatchReading(Protocol):
    """Optional: a store that reads several receptions at once (the dispatcher reads those of a
    whole claimed batch: one round trip instead of one per reception)."""

    def load_many(self, reception_ids: Collection[str]) -> dict[str, Reception]:
        """The receptions of ``reception_ids`` that exist, by id; missing ids are left out."""


@attrs.frozen
class OutboxTrail:
    """What the hashed trail holds of one event, for the dispatcher to check a claimed row against
    before it sends it 发送前核对: whose event it is, the outbox digest it records, and the rows of
    its command as stored now (delivered or not)."""

    reception_id: str
    """The reception the event belongs to."""
    digest: str | None
    """``outbox_digest`` as the event records it; ``None`` for an event written before digests
    existed (its data has no such key), whose rows are not checked against one."""
    rows: tuple[tuple[str, str], ...] = ()
    """(id, stored JSON) of every outbox row tied to the event, reminders (``remind:…``) left out:
    what :func:`~jiedai_flow.storage.chain.outbox_digest` is computed over, as verify does."""


@runtime_checkable
class TrailReading(Protocol):
    """Optional (both built-in stores): a store that reads what the trail says of the events of a
    claimed batch, in one read, so that the dispatcher refuses a row that is no notification of its
    event (see :class:`~jiedai_flow.notify.dispatch.Dispatcher`)."""

    def outbox_trail(self, event_ids: Collection[str]) -> dict[str, OutboxTrail]:
        """The events of ``event_ids`` that exist, by id; missing ids are left out."""


@runtime_checkable
class CachingStore(Protocol):
    """Optional: a store that remembers the receptions it last saved or read.

    The engine starts a command from :meth:`cached` instead of a read. The copy may be stale (another
    process may have saved since); the compare-and-set in :meth:`Store.save` catches that, and the
    engine then reads the reception again and runs the command once more on the fresh copy.
    """

    def cached(self, reception_id: str) -> Reception | None:
        """The copy of the reception this store last saved or read, without a round trip; ``None``
        when it has none."""


@runtime_checkable
class TaskStore(Protocol):
    """Optional: a store that keeps the task index 任务索引 and stand-ins 代理. Its :meth:`Store.save`
    takes ``tasks=`` and ``copies=`` (the tasks and copies a command added or changed) and writes
    their index rows in the same transaction; both built-in stores are task stores.

    A store whose class sets ``resolves_stand_ins = True`` honours ``TaskQuery.stand_ins_on`` (the
    stand-ins are looked up with the list); the engine then gives it the day instead of the
    principals. Both built-in stores do."""

    def task_list(self, query: TaskQuery) -> TaskPage:
        """One page of a task list (待办, 已办, 抄送我的, 我发起的) as indexed queries. 待办 lists an
        unclaimed pool task only while the actor may take it — not in :meth:`Reception.barred` of it,
        and for a pool of ``query.principal_pools`` one of its principals not either."""

    def task_counts(self, query: TaskQuery) -> TaskCounts:
        """How many lines each of the actor's task lists has."""

    def designate(self, proxy: Proxy, request_id: str | None = None) -> ProxyResult:
        """Record a new stand-in designation, unless one is there already — as one atomic step,
        whichever thread or process asks at the same time. Found instead: the designation
        ``request_id`` made, if :meth:`~jiedai_flow.domain.records.Proxy.same_request` as ``proxy``
        (else :class:`~jiedai_flow.errors.IdempotencyError`); then the same designation in force
        (principal, stand-in, start and end; revoked ones do not count). ``request_id`` is kept
        with the row it makes."""

    def save_proxy(self, proxy: Proxy) -> None:
        """Replace a stand-in designation by id (revoking it), its request id kept."""

    def proxies(self) -> Sequence[Proxy]:
        """Every stand-in designation, revoked ones included."""

    def proxy_page(self, query: ProxyQuery) -> ProxyPage:
        """One page of stand-in designations, the latest set first, filtered as ``query`` says —
        ``party`` included, so a page is as long as the limit while more are there — by an
        indexed keyset query, not a read of all of them."""

    def find_proxy(self, ref: str) -> Proxy | None:
        """The designation whose id is ``ref``, else the first (by id) whose id starts with it."""

    def principals(self, stand_in: str, now: datetime) -> Sequence[str]:
        """Whom ``stand_in`` stands in for at ``now`` (China day)."""


@runtime_checkable
class SealingStore(Protocol):
    """Optional: a store that hashes each event onto its reception's chain as it writes it, and
    gives the event back with its chain fields, so a command's result carries its hash (a host
    may keep it outside the database, to show later that the chain was not rewritten)."""

    def sealed(self, event: AuditEvent) -> AuditEvent:
        """``event`` with ``hash_algorithm``, ``prev_hash`` and ``hash`` as the store wrote it
        (unchanged when the store holds no such event)."""


@runtime_checkable
class Transactional(Protocol):
    """Optional: a store that can keep several commands all together or not at all 多条命令一个事务.

    Inside ``with store.transaction():`` every ``create`` and ``save`` joins one transaction, committed
    when the block ends and rolled back entirely if it raises (``jiedai import`` writes a whole file
    so). Nothing inside is retried after losing a race: the block fails as a whole.
    """

    def transaction(self) -> AbstractContextManager[None]:
        """A block whose commands are written together or not at all."""
