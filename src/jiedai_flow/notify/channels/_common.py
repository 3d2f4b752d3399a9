"""What the e-mail and webhook notifiers share: topic labels, the JSON payload, HTTP outcomes."""

from __future__ import annotations

import email.utils
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jiedai_flow.notify.channels import DeliveryFailed
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS

if TYPE_CHECKING:
    import httpx

    from jiedai_flow.notify.channels import Contact, Message

_LABELS = {t.name: t.label for t in DEFAULT_PROCESS.triggers}


def topic_label(topic: str) -> str:
    """The Chinese name of a notification's topic: the trigger's label, 催办 for reminders."""
    if topic.startswith("remind:"):
        return "催办"
    return _LABELS.get(topic, topic)


def subject(message: Message) -> str:
    """``【公务接待】<number> <label>``, on one line."""
    line = f"{message.title} {topic_label(message.notification.topic)}"
    return " ".join(line.split())  # why: a CR/LF in a header line would start a new header


def contact_payload(contact: Contact) -> dict[str, str]:
    return {
        "name": contact.name,
        "role": contact.role.value if contact.role else "",
        "email": contact.email,
        "mobile": contact.mobile,
        "dingtalk_id": contact.dingtalk_id,
        "wecom_id": contact.wecom_id,
    }


def payload(message: Message) -> dict[str, Any]:
    """The generic JSON document of a message (what :class:`WebhookNotifier` posts)."""
    n = message.notification
    return {
        "idempotency_key": message.idempotency_key,
        "channel": n.channel,
        "kind": n.kind,
        "topic": n.topic,
        "topic_label": topic_label(n.topic),
        "reception_id": n.reception_id,
        "reception_number": message.reception.number if message.reception else "",
        "event_id": n.event_id,
        "recipients": [role.value for role in n.recipients],
        "people": list(n.people),
        "title": message.title,
        "text": message.text(),
        "message_zh": n.message_zh,
        "message_en": n.message_en,
        "action_zh": n.action_zh,
        "link": n.link,
        "created_at": n.created_at.isoformat(),
        "contacts": [contact_payload(c) for c in message.contacts],
        "attempt": message.attempt,
    }


def unique(values: list[str]) -> list[str]:
    """``values`` without blanks and repeats, in order."""
    return list(dict.fromkeys(v for v in values if v))


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` of a response in seconds (delta-seconds or an HTTP date), if any."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def check_status(channel: str, response: httpx.Response) -> None:
    """Raise :class:`DeliveryFailed` unless the receiver answered 2xx.

    429 waits for ``Retry-After``; 5xx (the receiver is down or overloaded) is retried; any other
    status (4xx: a bad URL, token or signature; 3xx: we never follow redirects with a signed body)
    is permanent — sending the same request again would get the same answer.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = f"{channel}: HTTP {status} {response.reason_phrase} {response.text[:200]}".strip()
    if status == 429:
        raise DeliveryFailed(reason, retry_after=retry_after(response))
    raise DeliveryFailed(reason, retry_after=retry_after(response), permanent=status < 500)


def unix_time() -> float:
    """Wall-clock seconds for signatures (receivers compare them with their own clocks)."""
    return time.time()
