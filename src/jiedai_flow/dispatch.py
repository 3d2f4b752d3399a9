"""The dispatcher 通知投递: delivers outbox rows to notifiers, with retries and dead letters.

Each outbox row is one notification for one channel. :meth:`Dispatcher.run_once` claims due rows
(a lease, so two dispatchers never hold the same row), hands each to its notifier and records the
outcome: delivered; or retried later with exponential backoff and jitter (never sooner than a
receiver's ``Retry-After``); or, after ``max_attempts`` or a permanent failure, dead-lettered.
Every row ends delivered or dead, and :meth:`Dispatcher.counts` adds up.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.errors import NotFoundError
from jiedai_flow.notifiers import DeliveryFailed, Message

if TYPE_CHECKING:
    from collections.abc import Iterable
    from datetime import datetime

    from jiedai_flow.engine import Engine
    from jiedai_flow.notifiers import Contact
    from jiedai_flow.records import Delivery, Notification, Reception

log = logging.getLogger(__name__)


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
    skipped: int = 0
    """Rows for a channel this process has no notifier for: left for another dispatcher."""

    def __add__(self, other: DispatchReport) -> DispatchReport:
        return DispatchReport(
            *(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True))
        )


class Dispatcher:
    """Delivers an engine's outbox through its notifiers. Safe to run in several processes."""

    def __init__(
        self,
        engine: Engine,
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

    def run_once(self) -> DispatchReport:
        """Claim the rows due now and deliver them; one round."""
        now = self.engine.clock.now()
        claimed = self.engine.store.claim_deliveries(now, self.lease, limit=self.batch, worker=self.worker)
        report = DispatchReport(claimed=len(claimed))
        for delivery in claimed:
            report += self.deliver(delivery)
        return report

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
        """Deliver one claimed row and record the outcome."""
        notification = delivery.notification
        notifier = self.engine.notifiers.get(notification.channel)
        attempt = delivery.attempts + 1
        store, now = self.engine.store, self.engine.clock.now()
        if notifier is None:
            store.finish_delivery(
                notification.id, status="pending", attempts=delivery.attempts, now=now, next_attempt_at=now
            )
            return DispatchReport(skipped=1)
        try:
            notifier.deliver(self.message(notification, attempt))
        except Exception as exc:  # any failure of a notifier is a failed delivery, never a crash
            return self._failed(notification, attempt, now, exc)
        store.finish_delivery(notification.id, status="delivered", attempts=attempt, now=now)
        return DispatchReport(delivered=1)

    def _failed(
        self, notification: Notification, attempt: int, now: datetime, exc: Exception
    ) -> DispatchReport:
        permanent = isinstance(exc, DeliveryFailed) and exc.permanent
        retry_after = exc.retry_after if isinstance(exc, DeliveryFailed) else None
        error = f"{type(exc).__name__}: {exc}"
        store = self.engine.store
        if permanent or attempt >= self.policy.max_attempts:
            log.warning("notification %s dead after %d attempt(s): %s", notification.id, attempt, error)
            store.finish_delivery(notification.id, status="dead", attempts=attempt, now=now, error=error)
            return DispatchReport(dead=1)
        later = now + self.policy.delay(attempt, retry_after)
        store.finish_delivery(
            notification.id, status="pending", attempts=attempt, now=now, next_attempt_at=later, error=error
        )
        return DispatchReport(retried=1)

    def message(
        self, notification: Notification, attempt: int = 1, reception: Reception | None = None
    ) -> Message:
        """The message a notifier sends: the row, its reception and the contacts of its roles."""
        if reception is None:
            try:
                reception = self.engine.store.load(notification.reception_id)
            except NotFoundError:
                reception = None
        contacts: list[Contact] = []
        if reception is not None:
            for role in notification.recipients:
                contacts.extend(self.engine.hooks.jiedai_contacts(role=role, reception=reception))
        return Message(notification, reception, tuple(contacts), attempt)

    def deliver_inline(self, rows: Iterable[Notification], reception: Reception | None = None) -> None:
        """Right after a commit: deliver the rows of inline notifiers now; a failure leaves the row
        to the dispatcher's retries."""
        delivered = []
        for row in rows:
            notifier = self.engine.notifiers.get(row.channel)
            if notifier is None or not notifier.inline:
                continue
            try:
                notifier.deliver(self.message(row, 1, reception))
            except Exception as exc:
                self._failed(row, 1, self.engine.clock.now(), exc)
            else:
                delivered.append(row.id)
        if delivered:
            self.engine.store.mark_notified(delivered)
