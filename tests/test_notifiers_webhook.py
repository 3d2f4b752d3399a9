"""The webhook notifiers (generic, DingTalk, WeCom) against a real HTTP server on loopback that
checks their signatures and answers like the real robots."""

from __future__ import annotations

import base64
import hashlib
import hmac
import urllib.parse
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow.notify.channels import Contact, DeliveryFailed
from jiedai_flow.notify.channels.webhook import DingTalkNotifier, WebhookNotifier, WeComNotifier, sign, verify
from jiedai_flow.testing import make_engine
from tests._notify_servers import APPROVER, SUPERVISOR, HttpReceiver, Reply, free_port, robot, sample_message

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver(slow_seconds=0.5)
    yield server
    server.close()


@pytest.fixture
def webhook(receiver: HttpReceiver) -> Iterator[WebhookNotifier]:
    notifier = WebhookNotifier(receiver.url("/ok"), receiver.webhook_secret, timeout=2)
    yield notifier
    notifier.close()


def dingtalk_url(receiver: HttpReceiver, token: str | None = None) -> str:
    return receiver.url(f"/dingtalk?access_token={token or receiver.dingtalk_token}")


# -- the generic webhook --------------------------------------------------------------------------


def test_webhook_posts_the_notification_signed_with_its_idempotency_key(
    receiver: HttpReceiver, webhook: WebhookNotifier
) -> None:
    """The server recomputed the HMAC (it answers 401 otherwise) and got the fields we sent."""
    message = sample_message(APPROVER, SUPERVISOR, channel="webhook", attempt=3)
    webhook.deliver(message)

    (request,) = receiver.accepted
    assert request.key == message.idempotency_key
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["x-jiedai-signature"].startswith("sha256=")
    assert verify(
        receiver.webhook_secret,
        request.headers["x-jiedai-timestamp"],
        request.body,
        request.headers["x-jiedai-signature"],
    )
    body = request.json()
    n = message.notification
    assert body["idempotency_key"] == n.id
    assert (body["reception_number"], body["topic"], body["topic_label"]) == (
        "341502-2026-00001",
        "submit",
        "提交审批",
    )
    assert body["message_zh"] == "接待 341502-2026-00001：张伟「提交审批」，当前状态「待审批」"
    assert body["text"] == message.text()
    assert (body["action_zh"], body["link"], body["attempt"]) == ("请审批", n.link, 3)
    assert body["recipients"] == ["approver"]
    assert [(c["name"], c["role"], c["email"]) for c in body["contacts"]] == [
        ("李审批", "approver", "li.shenpi@county.gov.cn"),
        ("王纪检", "supervisor", "wang.jijian@county.gov.cn"),
    ]
    assert "接待" in request.body.decode()  # UTF-8 on the wire, not \\u escapes


def test_webhook_signed_with_the_wrong_secret_is_refused_permanently(receiver: HttpReceiver) -> None:
    notifier = WebhookNotifier(receiver.url("/ok"), "not-the-secret")
    with pytest.raises(DeliveryFailed, match="401") as failed:
        notifier.deliver(sample_message(APPROVER))
    notifier.close()
    assert failed.value.permanent
    assert receiver.accepted == []


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    body = '{"a":"接待"}'.encode()
    expected = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("k", "1700000000", body) == f"sha256={expected}"
    assert verify("k", "1700000000", body, f"sha256={expected}", now=1700000100)
    assert not verify("k", "1700000000", body, f"sha256={expected}", now=1700000400)  # stale: a replay
    assert not verify("k", "1700000000", body + b" ", f"sha256={expected}", now=1700000000)


def test_429_is_retried_after_retry_after(receiver: HttpReceiver, webhook: WebhookNotifier) -> None:
    receiver.script("/ok", Reply(429, {"error": "slow down"}, {"Retry-After": "90"}))
    with pytest.raises(DeliveryFailed, match="429") as failed:
        webhook.deliver(sample_message(APPROVER))
    assert (failed.value.permanent, failed.value.retry_after) == (False, 90)


def test_429_with_an_http_date_retry_after_waits_until_then(
    receiver: HttpReceiver, webhook: WebhookNotifier
) -> None:
    receiver.script("/ok", Reply(429, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}))
    with pytest.raises(DeliveryFailed) as failed:
        webhook.deliver(sample_message(APPROVER))
    assert failed.value.retry_after is not None
    assert failed.value.retry_after > 365 * 86400


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (502, False), (503, False), (400, True), (404, True), (410, True), (301, True)],
)
def test_5xx_is_retried_other_refusals_are_permanent(
    receiver: HttpReceiver, webhook: WebhookNotifier, status: int, permanent: bool
) -> None:
    receiver.script("/ok", Reply(status, {"error": "scripted"}, {"Location": "/elsewhere"}))
    with pytest.raises(DeliveryFailed, match=str(status)) as failed:
        webhook.deliver(sample_message(APPROVER))
    assert failed.value.permanent is permanent


def test_a_receiver_slower_than_the_timeout_is_retried(receiver: HttpReceiver) -> None:
    notifier = WebhookNotifier(receiver.url("/slow"), receiver.webhook_secret, timeout=0.1)
    with pytest.raises(DeliveryFailed, match="Timeout") as failed:
        notifier.deliver(sample_message(APPROVER))
    notifier.close()
    assert not failed.value.permanent


def test_a_refused_connection_is_retried() -> None:
    notifier = WebhookNotifier(f"http://127.0.0.1:{free_port()}/hook", "secret", timeout=1)
    with pytest.raises(DeliveryFailed, match="ConnectError") as failed:
        notifier.deliver(sample_message(APPROVER))
    notifier.close()
    assert not failed.value.permanent


def test_webhook_needs_a_secret_and_registers_itself(receiver: HttpReceiver) -> None:
    with pytest.raises(ValueError, match="secret"):
        WebhookNotifier(receiver.url("/ok"), "")
    notifier = WebhookNotifier(receiver.url("/ok"), "s", name="oa-webhook")
    assert make_engine(notifier).notifiers["oa-webhook"] is notifier
    notifier.close()
    assert notifier.client.is_closed


# -- DingTalk -----------------------------------------------------------------------------------------


def test_dingtalk_signed_markdown_reaches_the_robot_with_mentions(receiver: HttpReceiver) -> None:
    """The server recomputes sign from timestamp and secret; the text carries the @mobiles."""
    notifier = DingTalkNotifier(dingtalk_url(receiver), secret=receiver.dingtalk_secret)
    message = sample_message(APPROVER, SUPERVISOR)
    notifier.deliver(message)
    notifier.close()

    (request,) = receiver.accepted
    assert request.query["access_token"] == receiver.dingtalk_token
    assert len(request.query["timestamp"]) == 13  # milliseconds
    document = request.json()
    assert document["msgtype"] == "markdown"
    assert document["markdown"]["title"] == "【公务接待】341502-2026-00001 提交审批"
    text = document["markdown"]["text"]
    assert "接待 341502-2026-00001：张伟「提交审批」，当前状态「待审批」" in text
    assert "**待办**：请审批" in text
    assert text.endswith("@13800000001 @13900000002 @dt-li")
    assert document["at"] == {
        "atMobiles": ["13800000001", "13900000002"],
        "atUserIds": ["dt-li"],
        "isAtAll": False,
    }


def test_dingtalk_sign_is_url_encoded_base64_of_hmac_over_timestamp_newline_secret() -> None:
    notifier = DingTalkNotifier("https://oapi.dingtalk.com/robot/send?access_token=t", secret="SECabc")
    url = notifier.signed_url(timestamp_ms=1700000000000)
    # Computed independently, the way DingTalk's documented Python example does.
    digest = hmac.new(b"SECabc", b"1700000000000\nSECabc", hashlib.sha256).digest()
    expected = urllib.parse.quote_plus(base64.b64encode(digest))
    assert (
        url == f"https://oapi.dingtalk.com/robot/send?access_token=t&timestamp=1700000000000&sign={expected}"
    )
    notifier.close()


def test_dingtalk_with_the_wrong_secret_is_refused_permanently(receiver: HttpReceiver) -> None:
    notifier = DingTalkNotifier(dingtalk_url(receiver), secret="SECwrong")
    with pytest.raises(DeliveryFailed, match="310000") as failed:
        notifier.deliver(sample_message(APPROVER))
    notifier.close()
    assert failed.value.permanent
    assert receiver.accepted == []


def test_dingtalk_unsigned_robot_with_a_wrong_token_is_permanent(receiver: HttpReceiver) -> None:
    receiver.dingtalk_secret = ""  # a robot secured by keyword or IP instead of 加签
    good = DingTalkNotifier(dingtalk_url(receiver))
    good.deliver(sample_message(APPROVER))
    bad = DingTalkNotifier(dingtalk_url(receiver, token="revoked"))
    with pytest.raises(DeliveryFailed, match="300001") as failed:
        bad.deliver(sample_message(APPROVER))
    good.close()
    bad.close()
    assert failed.value.permanent
    assert len(receiver.accepted) == 1


def test_dingtalk_too_fast_is_retried_after_the_ten_minute_limit(receiver: HttpReceiver) -> None:
    receiver.script("/dingtalk", robot(130101, "send too fast, exceed 20 times per minute"))
    notifier = DingTalkNotifier(dingtalk_url(receiver), secret=receiver.dingtalk_secret)
    with pytest.raises(DeliveryFailed, match="130101") as failed:
        notifier.deliver(sample_message(APPROVER))
    assert (failed.value.permanent, failed.value.retry_after) == (False, 600)
    notifier.deliver(sample_message(APPROVER))
    notifier.close()
    assert len(receiver.accepted) == 1


def test_dingtalk_without_mentions_sends_no_at(receiver: HttpReceiver) -> None:
    notifier = DingTalkNotifier(dingtalk_url(receiver), secret=receiver.dingtalk_secret, mention=False)
    notifier.deliver(sample_message(APPROVER))
    notifier.close()
    document = receiver.accepted[0].json()
    assert document["at"]["atMobiles"] == []
    assert "@" not in document["markdown"]["text"]


def test_a_proxy_error_page_instead_of_robot_json_is_retried(receiver: HttpReceiver) -> None:
    receiver.script("/dingtalk", Reply(200, b"<html>gateway</html>"))
    notifier = DingTalkNotifier(dingtalk_url(receiver), secret=receiver.dingtalk_secret)
    with pytest.raises(DeliveryFailed, match="unexpected answer") as failed:
        notifier.deliver(sample_message(APPROVER))
    notifier.close()
    assert not failed.value.permanent


def test_robot_urls_with_tokens_stay_out_of_repr() -> None:
    ding = DingTalkNotifier("https://oapi.dingtalk.com/robot/send?access_token=SECRET-TOKEN", "SECx")
    wecom = WeComNotifier("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=SECRET-KEY")
    assert "SECRET" not in repr(ding) + repr(wecom)
    ding.close()
    wecom.close()


# -- WeCom ----------------------------------------------------------------------------------------


def test_wecom_markdown_mentions_the_wecom_ids(receiver: HttpReceiver) -> None:
    notifier = WeComNotifier(receiver.url(f"/wecom?key={receiver.wecom_key}"))
    message = sample_message(APPROVER, SUPERVISOR)
    notifier.deliver(message)
    notifier.close()
    (request,) = receiver.accepted
    document = request.json()
    assert document["msgtype"] == "markdown"
    content = document["markdown"]["content"]
    assert content.startswith("#### 【公务接待】341502-2026-00001 提交审批")
    assert "接待 341502-2026-00001：张伟「提交审批」，当前状态「待审批」" in content
    assert f"[办理]({message.notification.link})" in content
    assert content.endswith("<@LiShenPi>")  # the supervisor has no WeCom id


def test_wecom_rate_limit_is_retried_and_a_wrong_key_is_permanent(receiver: HttpReceiver) -> None:
    receiver.script("/wecom", robot(45009, "api freq out of limit"))
    notifier = WeComNotifier(receiver.url(f"/wecom?key={receiver.wecom_key}"))
    with pytest.raises(DeliveryFailed, match="45009") as limited:
        notifier.deliver(sample_message(APPROVER))
    assert (limited.value.permanent, limited.value.retry_after) == (False, 60)
    wrong = WeComNotifier(receiver.url("/wecom?key=removed"))
    with pytest.raises(DeliveryFailed, match="93000") as invalid:
        wrong.deliver(sample_message(APPROVER))
    assert invalid.value.permanent
    notifier.close()
    wrong.close()


def test_wecom_long_content_is_cut_to_the_robot_limit(receiver: HttpReceiver) -> None:
    message = sample_message(*(Contact(f"人{i}", wecom_id=f"user{i:03d}") for i in range(5)))
    long = attrs.evolve(message, notification=attrs.evolve(message.notification, message_zh="超长说明" * 600))
    notifier = WeComNotifier(receiver.url(f"/wecom?key={receiver.wecom_key}"))
    notifier.deliver(long)
    notifier.close()
    content = receiver.accepted[0].json()["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.endswith("<@user004>")
