"""The log notifier: writes each notification to the ``jiedai_flow.notify`` logger.

Plugin name ``jiedai.log_notifier``; channel ``log``; cheap, so delivered inline right after the
command commits. Delivery to people (e-mail, DingTalk, WeCom) comes from other notifiers; this
one leaves a trace in the application's logs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from jiedai_flow.hookspecs import hookimpl

if TYPE_CHECKING:
    from jiedai_flow.notify.channels import Message, RegisterNotifier

log = logging.getLogger("jiedai_flow.notify")


class LogNotifier:
    """Logs each message at INFO, with its idempotency key."""

    name = "log"
    inline = True

    def deliver(self, message: Message) -> None:
        if log.isEnabledFor(logging.INFO):
            n = message.notification
            told = ",".join([*n.recipients, *n.people])  # roles, then the people named by id
            log.info("%s [%s] → %s: %s (%s)", message.title, n.topic, told, n.message_zh, n.id)


@hookimpl(trylast=True)
def jiedai_register_notifiers(register: RegisterNotifier) -> None:
    register(LogNotifier())
