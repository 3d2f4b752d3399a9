"""The dispatcher 通知投递: delivers outbox rows to notifiers, with retries and dead letters.

Each outbox row is one notification for one channel. :meth:`Dispatcher.run_once` claims due rows
(a lease, so two dispatchers never hold the same row), hands each to its notifier and records the
outcome: delivered; or retried later with exponential backoff and jitter (never sooner than a
receiver's ``Retry-After``); or, after ``max_attempts`` or a permanent failure, dead-lettered.

Before a row is sent it is checked against the hashed trail 发送前核对审计链 (one read per batch, where
the store is a :class:`~jiedai_flow.storage.base.TrailReading`): its reception and its event exist,
the event is of the same reception, and the event's ``outbox_digest`` matches the event's rows as
stored (the computation ``jiedai audit verify`` makes), the row among them as claimed. A row that
fails — added, moved or edited straight in the database — is not sent and not retried: it is
marked ``refused`` and logged at error level.

A reminder 催办 (written by the deadline scan, covered by no event's digest) is sent as the scan
makes it from the reception as it stands now, on the day the row was written, never as stored: a
row written straight into the database cannot make it say anything else. A reminder no deadline
makes any more (the step was signed since the scan) is marked ``obsolete``, not sent. Every row ends
delivered, dead, refused or obsolete.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import attrs

from jiedai_flow.domain.clock import china_day
from jiedai_flow.domain.records import Delivery, DeliveryOutcome, Notification
from jiedai_flow.errors import NotFoundError
from jiedai_flow.notify.channels import DeliveryFailed, Message
from jiedai_flow.storage.base import BatchReading, TrailReading
from jiedai_flow.storage.chain import outbox_digest
from jiedai_flow.storage.codec import decode

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from jiedai_flow.domain.clock import Clock
    from jiedai_flow.domain.records import Reception
    from jiedai_flow.notify.channels import Contact, Notifier
    from jiedai_flow.plugins import Hooks, PluginHost
    from jiedai_flow.storage.base import OutboxTrail, Store


log = logging.getLogger(__name__)


class Delivering(Protocol):
    """What the dispatcher needs of an engine (an ``Engine`` is one): its store, clock, notifiers
    and plugins. A protocol, so this module does not depend on the engine's."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def notifiers(self) -> Mapping[str, Notifier]: ...

    @property
    def plugins(self) -> PluginHost: ...

    @property
    def hooks(self) -> Hooks: ...


STATUSES = ("delivered", "pending", "dead", "refused", "obsolete")
"""Every status an outbox row can have."""

REFUSED = "refused"
"""The status of a row the trail does not vouch for: never sent, never retried (see
:meth:`Dispatcher.refusal`)."""

_NO_LONGER = "时限已不成立 / the deadline no longer stands"

AS_OF_SPAN = 366
"""The most days a reminder's ``as_of`` may lie from the day it was written: ``jiedai remind --today``
looks a holiday ahead or backfills a missed scan; a row judged further off was not written by it."""

OBSOLETE = "obsolete"
"""The status of a reminder whose deadline no longer stands (the step was signed, the claim filed
since the scan) or never stood: never sent, never retried (see :meth:`Dispatcher.reminders`)."""


@attrs.frozen
class RetryPolicy:
    """How often and how long to retry 重试策略."""

    max_attempts: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)
    jitter: bool = True

    def delay(self, attempts: int, retry_after: float | None = None) -> timedelta:
        """The wait before attempt ``attempts + 1``: ``base·2^(attempts-1)`` capped at
        ``max_delay``, with "equal jitter" (half fixed, half random), never below ``retry_after``."""
        backoff: timedelta = min(self.base_delay * 2 ** max(attempts - 1, 0), self.max_delay)
        if self.jitter:
            backoff = backoff / 2 + backoff / 2 * random.random()  # why: spreading retries, not cryptography
        if retry_after is not None:
            backoff = max(backoff, timedelta(seconds=retry_after))
        return backoff


@attrs.frozen
class DispatchReport:
    """What one dispatch round did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    refused: int = 0
    """Rows not sent because they do not match the hashed trail (see :meth:`Dispatcher.refusal`)."""
    obsolete: int = 0
    """Reminders not sent because their deadline no longer stands (see :meth:`Dispatcher.reminders`)."""

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(
            *(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True))
        )


class Dispatcher:
    """Delivers an engine's outbox through its notifiers. Safe to run in several processes."""

    def __init__(
        self,
        engine: Delivering,
        *,
        policy: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch: int = 100,
        worker: str | None = None,
    ) -> None:
        self.engine = engine
        self.policy = policy or RetryPolicy()
        self.lease = lease
        self.batch = batch
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}"
        # no plugin answers jiedai_contacts: a message has no contacts, and no hook call is made
        self._contacts = bool(engine.plugins.pm.hook.jiedai_contacts.get_hookimpls())
        self._people = bool(engine.plugins.pm.hook.jiedai_person_contact.get_hookimpls())
        self._warned_unmade = False
        if not isinstance(engine.store, TrailReading):
            log.warning(
                "存储 %s 不提供审计链核对（outbox_trail），通知发送前无法核对 / store %s cannot check rows "
                "against the audit trail (no outbox_trail): notifications are sent unchecked",
                type(engine.store).__name__,
                type(engine.store).__name__,
            )

    def run_once(self) -> DispatchReport:
        """Claim the rows due now (of the channels this process can deliver), deliver them, and
        record every outcome in one transaction; one round."""
        engine = self.engine
        now = engine.clock.now()
        claimed = engine.store.claim_deliveries(
            now, self.lease, limit=self.batch, worker=self.worker, channels=set(engine.notifiers)
        )
        outcomes = self._outcomes(claimed)
        engine.store.finish_deliveries(outcomes, now=engine.clock.now(), worker=self.worker)
        return _report(outcomes)

    def _outcomes(self, claimed: Sequence[Delivery]) -> list[DeliveryOutcome]:
        """Check the claimed rows against the trail, send those it vouches for (a reminder as
        recomputed), and say how each ended."""
        receptions = self._receptions(claimed)
        refused = self._refused(claimed, receptions)
        fresh = self.reminders([d for d in claimed if d.notification.id not in refused], receptions)
        outcomes = []
        for delivery in claimed:
            n = delivery.notification
            outcome = refused.get(n.id)
            if outcome is None and n.id in fresh:
                recomputed = fresh[n.id]
                if recomputed is None:
                    log.warning(
                        "催办 %s（接待 %s）的时限已不成立，未发送（若期限扫描与投递用的标准、日历、流程不同，"
                        "也会如此）/ reminder %s (reception %s) no longer stands: not sent (as happens too "
                        "when the scan and the dispatcher run on other standards, calendars or processes)",
                        *(n.id, n.reception_id, n.id, n.reception_id),
                    )
                    outcome = DeliveryOutcome(n.id, OBSOLETE, delivery.attempts, error=_NO_LONGER)
                elif isinstance(recomputed, Exception):  # tried again later, like a failed delivery
                    log.warning(
                        "催办 %s 无法重算，稍后重试：%r / "
                        "reminder %s could not be made again, retried later: %r",
                        *(n.id, recomputed, n.id, recomputed),
                    )
                    outcome = self._failed(n, delivery.attempts + 1, self.engine.clock.now(), recomputed)
                else:
                    delivery = attrs.evolve(delivery, notification=recomputed)
            outcomes.append(outcome or self._attempt(delivery, receptions[n.reception_id]))
        return outcomes

    def reminders(
        self, claimed: Sequence[Delivery], receptions: Mapping[str, Reception | None]
    ) -> dict[str, Notification | Exception | None]:
        """The reminders (``remind:…``) among ``claimed`` as the deadline scan makes them from the
        reception as it stands now, on the day the row was written, by row id; ``None`` for a row
        no deadline of its reception makes (it no longer stands, or it never did: a row written
        straight into the database). A reminder is covered by no event's digest, so what is sent is
        this recomputation, never the stored text: a row can only ask what the reception asks. The
        error for a row whose reception could not be judged (a process or a plugin this engine
        lacks): that row is retried later, the rest of the batch goes on."""
        if not any(d.notification.topic.startswith("remind:") for d in claimed):
            return {}  # most batches (a command's inline rows always): nothing to make again
        from jiedai_flow.notify.deadlines import reminders_on
        from jiedai_flow.process.engine import Engine

        engine = self.engine
        if not isinstance(engine, Engine):  # a stand-in engine without deadlines: sent as stored
            if not self._warned_unmade:
                self._warned_unmade = True
                log.warning(
                    "投递器的引擎（%s）不能重算催办，催办照存储的内容发送 / the dispatcher's engine (%s) "
                    "cannot make reminders again: they are sent as stored",
                    type(engine).__name__,
                    type(engine).__name__,
                )
            return {}
        channels = tuple(engine.notifiers)
        made: dict[tuple[str, date, str, datetime], dict[str, Notification] | Exception] = {}
        found: dict[str, Notification | Exception | None] = {}
        for delivery in claimed:
            n = delivery.notification
            reception = receptions.get(n.reception_id)
            if not n.topic.startswith("remind:") or reception is None:
                continue
            day = n.as_of or china_day(n.created_at)  # rows written before ``as_of``: their day
            key = (n.reception_id, day, n.event_id, n.created_at)
            if key not in made:
                try:
                    made[key] = reminders_on(
                        engine, reception, day, channels, event_id=n.event_id, created_at=n.created_at
                    )
                except Exception as error:  # a plugin's or a definition's: this row waits, not the batch
                    made[key] = error
            these = made[key]
            found[n.id] = these if isinstance(these, Exception) else these.get(n.id)
        return found

    def run(
        self, *, interval: float = 5.0, stop: threading.Event | None = None, rounds: int | None = None
    ) -> DispatchReport:
        """Dispatch until ``stop`` is set (or ``rounds`` rounds ran), sleeping ``interval`` seconds
        whenever a round found nothing to do."""
        total = DispatchReport()
        done = 0
        while not (stop and stop.is_set()) and (rounds is None or done < rounds):
            report = self.run_once()
            total += report
            done += 1
            if report.claimed < self.batch:
                if stop is not None:
                    stop.wait(interval)
                else:
                    time.sleep(interval)
        return total

    def deliver(self, delivery: Delivery) -> DispatchReport:
        """Deliver one claimed row and record its outcome (a round of one), checked like a batch."""
        outcomes = self._outcomes([delivery])
        self.engine.store.finish_deliveries(outcomes, now=self.engine.clock.now(), worker=self.worker)
        return _report(outcomes)

    def _refused(
        self, claimed: Sequence[Delivery], receptions: Mapping[str, Reception | None]
    ) -> dict[str, DeliveryOutcome]:
        """The outcomes of the claimed rows the trail does not vouch for, by row id; each logged at
        error level. The events of the whole batch are read at once (one query on SQL)."""
        store = self.engine.store
        if not claimed or not isinstance(store, TrailReading):
            return {}
        trails = store.outbox_trail({d.notification.event_id for d in claimed})
        digests: dict[str, bool] = {}
        refused: dict[str, DeliveryOutcome] = {}
        for delivery in claimed:
            n = delivery.notification
            reason = self.refusal(n, receptions.get(n.reception_id), trails.get(n.event_id), digests)
            if reason is None:
                continue
            zh, en = reason
            log.error(
                "通知 %s（%s，接待 %s，审计记录 %s）未发送，不再重试：%s / "
                "notification %s (%s, reception %s, event %s) refused, not sent and not retried: %s",
                *(n.id, n.topic, n.reception_id, n.event_id, zh),
                *(n.id, n.topic, n.reception_id, n.event_id, en),
            )
            refused[n.id] = DeliveryOutcome(n.id, REFUSED, delivery.attempts, error=f"{zh} / {en}")
        return refused

    @staticmethod
    def refusal(
        n: Notification,
        reception: Reception | None,
        trail: OutboxTrail | None,
        digests: dict[str, bool] | None = None,
    ) -> tuple[str, str] | None:
        """Why ``n`` must not be sent (in Chinese, in English), or ``None`` when the trail vouches
        for it: its reception exists; its event exists and is of the same reception; the event's
        rows as stored match the ``outbox_digest`` it records (as verify computes it; an event
        written before digests existed records none); and, for a command's row (not a reminder),
        the row is among them as it was claimed. ``digests`` keeps each event's match for a batch.

        A reminder (``remind:…``, written by the deadline scan) is covered by no event's digest: it
        is sent when its reception and event are there and its event's rows match."""
        if reception is None:
            return (f"接待 {n.reception_id} 不存在", f"reception {n.reception_id} does not exist")
        if trail is None:
            return (f"所属审计记录 {n.event_id} 不存在", f"its event {n.event_id} does not exist")
        if trail.reception_id != n.reception_id:
            return (
                f"所属审计记录 {n.event_id} 属于另一接待（{trail.reception_id}）",
                f"its event {n.event_id} is another reception's ({trail.reception_id})",
            )
        if trail.digest is None:
            return None  # written before digests: sent as before
        digests = {} if digests is None else digests
        matches = digests.get(n.event_id)
        if matches is None:
            matches = digests[n.event_id] = outbox_digest(trail.rows) == trail.digest
        if not matches:
            return (
                f"所属审计记录 {n.event_id} 的通知与其摘要不符：有通知被添加、改动或删除",
                f"the rows of its event {n.event_id} do not match the digest the event records: "
                "a notification was added, edited or deleted",
            )
        if n.topic.startswith("remind:"):
            written = china_day(n.created_at)
            if n.as_of is not None and abs((n.as_of - written).days) > AS_OF_SPAN:
                return (
                    f"催办的判断日 {n.as_of} 与写入日 {written} 相差一年以上，不是期限扫描写的",
                    f"the reminder is judged on {n.as_of}, more than a year from {written} when it was "
                    "written: not the deadline scan's",
                )
            return None
        stored = next((data for rid, data in trail.rows if rid == n.id), None)
        if stored is None or decode(Notification, stored) != n:
            return (
                "通知在领取后被改动，与审计记录不符",
                "the row was changed after it was claimed: it does not match the audit trail",
            )
        return None

    def _attempt(self, delivery: Delivery, reception: Reception | None = None) -> DeliveryOutcome:
        """Hand one row to its notifier; the outcome to record."""
        notification = delivery.notification
        attempt = delivery.attempts + 1
        notifier = self.engine.notifiers.get(notification.channel)
        try:
            if notifier is None:
                raise DeliveryFailed(f"no notifier for channel {notification.channel!r} here")
            notifier.deliver(self.message(notification, attempt, reception))
        except Exception as exc:  # any failure of a notifier is a failed delivery, never a crash
            return self._failed(notification, attempt, self.engine.clock.now(), exc)
        return DeliveryOutcome(notification.id, "delivered", attempt)

    def _failed(
        self, notification: Notification, attempt: int, now: datetime, exc: Exception
    ) -> DeliveryOutcome:
        permanent = isinstance(exc, DeliveryFailed) and exc.permanent
        retry_after = exc.retry_after if isinstance(exc, DeliveryFailed) else None
        error = f"{type(exc).__name__}: {exc}"
        if permanent or attempt >= self.policy.max_attempts:
            log.warning("notification %s dead after %d attempt(s): %s", notification.id, attempt, error)
            return DeliveryOutcome(notification.id, "dead", attempt, error=error)
        later = now + self.policy.delay(attempt, retry_after)
        return DeliveryOutcome(notification.id, "pending", attempt, later, error)

    def _receptions(self, claimed: Sequence[Delivery]) -> dict[str, Reception | None]:
        """The receptions of a claimed batch, each read once (all in one read where the store
        can: see :class:`~jiedai_flow.storage.base.BatchReading`); ``None`` for one deleted."""
        ids = {delivery.notification.reception_id for delivery in claimed}
        store = self.engine.store
        if not isinstance(store, BatchReading):
            return {rid: self._load(rid) for rid in ids}
        found = store.load_many(ids)
        return {rid: found.get(rid) for rid in ids}

    def _load(self, reception_id: str) -> Reception | None:
        try:
            return self.engine.store.load(reception_id)
        except NotFoundError:
            return None

    def message(
        self, notification: Notification, attempt: int = 1, reception: Reception | None = None
    ) -> Message:
        """The message a notifier sends: the row, its reception, the contacts of its roles and of the
        people it names (``Notification.people``, through ``jiedai_person_contact``), each once."""
        if reception is None:
            reception = self._load(notification.reception_id)
        contacts: list[Contact] = []
        if reception is not None and self._contacts:
            for role in notification.recipients:
                contacts.extend(self.engine.hooks.jiedai_contacts(role=role, reception=reception))
        if reception is not None and self._people:
            for actor_id in notification.people:
                found = self.engine.hooks.jiedai_person_contact(actor_id=actor_id, reception=reception)
                if found is not None:
                    contacts.append(found)
        return Message(notification, reception, _once(contacts), attempt)

    def deliver_inline(self, rows: Iterable[Notification], reception: Reception | None = None) -> None:
        """Right after a commit: deliver the rows of inline notifiers (leased to them when they
        were written); a failure leaves the row to the dispatchers' retries."""
        delivered = []
        failed = []
        for row in rows:
            if not row.inline:
                continue
            outcome = self._attempt(Delivery(row), reception)
            if outcome.status == "delivered":
                delivered.append(row.id)
            else:
                failed.append(outcome)
        if delivered:
            self.engine.store.mark_notified(delivered)  # buffered: written with the next command
        if failed:
            self.engine.store.finish_deliveries(failed, now=self.engine.clock.now())


def _report(outcomes: Sequence[DeliveryOutcome]) -> DispatchReport:
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    return DispatchReport(
        claimed=len(outcomes),
        delivered=counts["delivered"],
        retried=counts["pending"],
        dead=counts["dead"],
        refused=counts[REFUSED],
        obsolete=counts[OBSOLETE],
    )


def _once(contacts: Sequence[Contact]) -> tuple[Contact, ...]:
    """Each person once, the first listing kept (a task's owner is often also in its role): the
    same addresses are the same person, whatever name each directory gives."""
    seen: set[tuple[str, ...]] = set()
    found = []
    for c in contacts:
        addresses = (c.email.strip(), c.mobile.strip(), c.dingtalk_id.strip(), c.wecom_id.strip())
        key = addresses if any(addresses) else (c.name,)
        if key not in seen:
            seen.add(key)
            found.append(c)
    return tuple(found)
