"""A notifier that writes each notification to the ``jiedai_flow.notify`` logger.

Plugin name ``jiedai.log_notifier``. Delivery to people (e-mail, DingTalk, WeCom) comes from other
notifier plugins; this one leaves a trace in the application's logs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from jiedai_flow.hookspecs import hookimpl

if TYPE_CHECKING:
    from jiedai_flow.records import Notification, Reception

log = logging.getLogger("jiedai_flow.notify")


@hookimpl(trylast=True)
def jiedai_notify(notification: Notification, reception: Reception) -> None:
    if log.isEnabledFor(logging.INFO):
        log.info(
            "%s [%s] → %s: %s",
            reception.number,
            notification.topic,
            ",".join(notification.recipients),
            notification.message_zh,
        )
