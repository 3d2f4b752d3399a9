"""Notifiers 通知渠道: what delivers outbox rows, and the message each one sends.

A notifier has a ``name`` (its outbox channel), says whether it is cheap enough to run
``inline`` right after a command commits, and ``deliver``s one :class:`Message`. To ask for a
later retry it raises :class:`DeliveryFailed` (optionally with ``retry_after`` seconds); with
``permanent=True`` the row goes straight to the dead letters. Every message carries an
idempotency key — the outbox row's id — so a receiver can drop a duplicate.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import attrs

if TYPE_CHECKING:
    from jiedai_flow.domain.model import Role
    from jiedai_flow.domain.records import Notification, Reception


@attrs.frozen
class Contact:
    """A person a notification reaches 联系人, with the addresses channels use."""

    name: str
    role: Role | None = None
    email: str = ""
    mobile: str = ""
    dingtalk_id: str = ""
    wecom_id: str = ""


@attrs.frozen
class Message:
    """One delivery: the outbox notification, its reception, who is told, which attempt."""

    notification: Notification
    reception: Reception | None
    contacts: tuple[Contact, ...] = ()
    attempt: int = 1

    @property
    def idempotency_key(self) -> str:
        return self.notification.id

    @property
    def title(self) -> str:
        number = self.reception.number if self.reception else self.notification.reception_id
        return f"【公务接待】{number}"

    def text(self) -> str:
        """The message in Chinese: what happened, who did it, what to do next, and the link."""
        n = self.notification
        lines = [self.title, n.message_zh]
        if n.action_zh:
            lines.append(f"待办：{n.action_zh}")
        if n.link:
            lines.append(f"办理：{n.link}")
        return "\n".join(lines)


class DeliveryFailed(Exception):  # why: reads as the event it reports, like StopIteration
    """A delivery did not go through; the dispatcher retries it later (or not, if permanent)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        self.permanent = permanent


class Notifier(Protocol):
    """What ``jiedai_register_notifiers`` registers."""

    name: str
    inline: bool

    def deliver(self, message: Message) -> None: ...


class RegisterNotifier(Protocol):
    """The ``register`` callable handed to ``jiedai_register_notifiers``."""

    def __call__(self, notifier: Notifier) -> None: ...


__all__ = ["Contact", "DeliveryFailed", "Message", "Notifier", "RegisterNotifier"]
