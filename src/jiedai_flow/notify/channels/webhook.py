"""Webhook notifiers 网络回调与群机器人: a signed generic webhook, DingTalk and WeCom robots.

Each notifier owns one ``httpx.Client`` (keep-alive, timeouts set, redirects never followed:
a signed body is not re-sent to another address); call :meth:`close` when the application stops.
HTTP outcomes, for all three: 2xx delivered; ``429`` retried no sooner than ``Retry-After``;
5xx, timeouts and connection errors retried; any other status permanent. The robots answer
HTTP 200 with a JSON ``errcode``, mapped per robot below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from importlib import metadata
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote_plus

import httpx

from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.notify.channels import DeliveryFailed
from jiedai_flow.notify.channels._common import check_status, payload, topic_label, unique, unix_time
from jiedai_flow.storage.codec import compact

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jiedai_flow.notify.channels import Message, RegisterNotifier


def _user_agent() -> str:
    try:
        return f"jiedai-flow/{metadata.version('jiedai-flow')}"
    except metadata.PackageNotFoundError:
        return "jiedai-flow"


class HttpNotifier:
    """What the webhook notifiers share: the client, registration, posting and HTTP outcomes."""

    inline = False  # why: a receiver may be slow or down; the dispatcher delivers, with retries
    name: str

    def __init__(self, *, name: str, timeout: float) -> None:
        self.name = name
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": _user_agent()},
            follow_redirects=False,
        )

    @hookimpl
    def jiedai_register_notifiers(self, register: RegisterNotifier) -> None:
        register(self)

    def deliver(self, message: Message) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Close the keep-alive connections."""
        self.client.close()

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        """POST ``body`` as JSON; raise :class:`DeliveryFailed` unless the answer is 2xx."""
        try:
            response = self.client.post(
                url, content=body, headers={"Content-Type": "application/json; charset=utf-8", **headers}
            )
        except httpx.TransportError as exc:  # timeouts, refused or reset connections, TLS errors
            raise DeliveryFailed(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        check_status(self.name, response)
        return response


# -- the generic webhook --------------------------------------------------------------------------


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 with ``secret`` over ``"<timestamp>.<body>"``."""
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str | bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """For receivers: is ``signature`` this body's, made within ``tolerance`` seconds of ``now``?
    (The timestamp bounds how long a captured request can be replayed.)"""
    try:
        age = abs((unix_time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookNotifier(HttpNotifier):
    """POSTs each message as JSON to ``url``, signed with ``secret``.

    Headers: ``X-Jiedai-Timestamp`` (unix seconds), ``X-Jiedai-Signature: sha256=<hex>`` (see
    :func:`sign`; receivers check it with :func:`verify`) and ``Idempotency-Key`` (the outbox
    row's id: a receiver that has seen it drops the request). The body is the notification, the
    reception number, the contacts and the attempt (see ``docs/notifications.md``).
    """

    def __init__(self, url: str, secret: str | bytes, *, name: str = "webhook", timeout: float = 10) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret to sign its requests")
        super().__init__(name=name, timeout=timeout)
        self.url = url
        self._secret = secret

    def __repr__(self) -> str:
        return f"WebhookNotifier({self.url!r}, name={self.name!r})"

    def deliver(self, message: Message) -> None:
        body = compact(payload(message))
        timestamp = str(int(unix_time()))
        self.post(
            self.url,
            body,
            {
                "X-Jiedai-Timestamp": timestamp,
                "X-Jiedai-Signature": sign(self._secret, timestamp, body),
                "Idempotency-Key": message.idempotency_key,
            },
        )


# -- the group robots ---------------------------------------------------------------------------


def markdown_lines(message: Message) -> list[str]:
    """The message as Markdown lines: the title, what happened, what to do, the link."""
    n = message.notification
    lines = [f"#### {message.title} {topic_label(n.topic)}", "", n.message_zh]
    if n.action_zh:
        lines += ["", f"**待办**：{n.action_zh}"]
    if n.link:
        lines += ["", f"[办理]({n.link})"]
    return lines


class RobotNotifier(HttpNotifier):
    """A group robot: HTTP 200 with ``{"errcode": …, "errmsg": …}``; ``errcode`` 0 is success."""

    retry_later: ClassVar[Mapping[int, float | None]] = {}
    """errcodes worth retrying, with the least wait in seconds (None: the policy's backoff)."""

    def check_errcode(self, response: httpx.Response) -> None:
        try:
            answer = response.json()
            code = int(answer["errcode"])
        except (ValueError, KeyError, TypeError) as exc:  # a proxy's error page, not the robot
            raise DeliveryFailed(f"{self.name}: unexpected answer {response.text[:200]!r}") from exc
        if code == 0:
            return
        reason = f"{self.name}: errcode {code} {answer.get('errmsg', '')}".strip()
        if code in self.retry_later:
            raise DeliveryFailed(reason, retry_after=self.retry_later[code])
        raise DeliveryFailed(reason, permanent=True)


class DingTalkNotifier(RobotNotifier):
    """The DingTalk custom robot 钉钉自定义机器人: a Markdown message to the group, @-mentioning
    the contacts' mobiles (``mention=True``) and DingTalk user ids.

    With ``secret`` (the robot's 加签 security setting, ``SEC…``) every request is signed the
    official way: ``timestamp`` in milliseconds, ``sign`` = URL-encoded base64 of HMAC-SHA256 with
    the secret as key over ``"<timestamp>\\n<secret>"``, appended as ``&timestamp=…&sign=…``.
    DingTalk refuses a timestamp more than an hour off, so the host clock must be right.
    """

    retry_later: ClassVar[Mapping[int, float | None]] = {
        -1: None,  # 系统繁忙 system busy
        130101: 600,  # 发送太快：每分钟超过 20 条，限流 10 分钟 (send too fast, exceed 20 times per minute)
        410100: 600,  # 发送速度太快而限流 (rate limited)
        90030: 3600,  # webhook over limit: the robot's call quota is used up for now
    }
    # Every other errcode is permanent: 310000 (安全设置不通过: keyword, signature, timestamp or
    # IP whitelist), 300001/400101 (token 无效), 400102 (机器人已停用), 400105 (消息类型不支持),
    # 400106 (机器人不存在), 430101–430104 (内容不安全), 460101/660026 (消息过长). The same
    # request would be refused again; an operator must fix the robot's settings.

    def __init__(
        self,
        webhook_url: str,
        secret: str | None = None,
        *,
        name: str = "dingtalk",
        mention: bool = True,
        timeout: float = 10,
    ) -> None:
        super().__init__(name=name, timeout=timeout)
        self.webhook_url = webhook_url
        self.mention = mention
        self._secret = secret

    def __repr__(self) -> str:  # why: the URL carries the access token
        return f"DingTalkNotifier(name={self.name!r}, signed={self._secret is not None})"

    def signed_url(self, timestamp_ms: int | None = None) -> str:
        """The webhook URL, with ``&timestamp=…&sign=…`` when a secret is set."""
        if self._secret is None:
            return self.webhook_url
        timestamp = str(round(unix_time() * 1000) if timestamp_ms is None else timestamp_ms)
        key = self._secret.encode()
        digest = hmac.new(key, f"{timestamp}\n{self._secret}".encode(), hashlib.sha256).digest()
        joiner = "&" if "?" in self.webhook_url else "?"
        return f"{self.webhook_url}{joiner}timestamp={timestamp}&sign={quote_plus(base64.b64encode(digest))}"

    def document(self, message: Message) -> dict[str, Any]:
        """The robot's JSON: ``msgtype: markdown`` with the ``at`` block."""
        mobiles = unique([c.mobile.strip() for c in message.contacts]) if self.mention else []
        user_ids = unique([c.dingtalk_id.strip() for c in message.contacts]) if self.mention else []
        lines = markdown_lines(message)
        if mobiles or user_ids:  # why: DingTalk only highlights an @ that also appears in the text
            lines += ["", " ".join(f"@{who}" for who in (*mobiles, *user_ids))]
        return {
            "msgtype": "markdown",
            "markdown": {
                "title": f"{message.title} {topic_label(message.notification.topic)}",
                "text": "\n".join(lines),
            },
            "at": {"atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": False},
        }

    def deliver(self, message: Message) -> None:
        response = self.post(self.signed_url(), compact(self.document(message)), {})
        self.check_errcode(response)


WECOM_MAX_BYTES = 4096
"""WeCom's limit on a Markdown message's content, in UTF-8 bytes."""


class WeComNotifier(RobotNotifier):
    """The WeCom group robot 企业微信群机器人: Markdown content, ``<@userid>`` mentions of the
    contacts' WeCom ids. The webhook URL's ``key`` is the only credential: keep it secret."""

    retry_later: ClassVar[Mapping[int, float | None]] = {
        -1: None,  # 系统繁忙 system busy
        45009: 60,  # api freq out of limit: 20 messages a minute per robot
        45033: None,  # 接口并发调用超过限制 too many concurrent calls
    }
    # Every other errcode is permanent: 93000 (invalid webhook url: a wrong or removed key),
    # 40008 (invalid message type), 40058 (invalid parameter), 44004 (empty content), 40054 …

    def __init__(
        self, webhook_url: str, *, name: str = "wecom", mention: bool = True, timeout: float = 10
    ) -> None:
        super().__init__(name=name, timeout=timeout)
        self.webhook_url = webhook_url
        self.mention = mention

    def __repr__(self) -> str:  # why: the URL carries the robot's key
        return f"WeComNotifier(name={self.name!r})"

    def document(self, message: Message) -> dict[str, Any]:
        """The robot's JSON: ``msgtype: markdown``, mentions at the end, within 4096 bytes."""
        lines = markdown_lines(message)
        user_ids = unique([c.wecom_id.strip() for c in message.contacts]) if self.mention else []
        mentions = " ".join(f"<@{who}>" for who in user_ids)
        text = "\n".join(lines)
        room = WECOM_MAX_BYTES - len(mentions.encode()) - 2
        if len(text.encode()) > room:  # why: the robot refuses longer content outright (permanent)
            text = text.encode()[: max(room - 3, 0)].decode(errors="ignore") + "…"
        content = f"{text}\n\n{mentions}" if mentions else text
        return {"msgtype": "markdown", "markdown": {"content": content}}

    def deliver(self, message: Message) -> None:
        response = self.post(self.webhook_url, compact(self.document(message)), {})
        self.check_errcode(response)


__all__ = [
    "DingTalkNotifier",
    "HttpNotifier",
    "RobotNotifier",
    "WeComNotifier",
    "WebhookNotifier",
    "sign",
    "verify",
]
