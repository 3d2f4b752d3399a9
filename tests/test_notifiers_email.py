"""The e-mail notifier against a real SMTP server on loopback (aiosmtpd, trustme certificates)."""

from __future__ import annotations

import socket
import ssl
from typing import TYPE_CHECKING

import attrs
import pytest
import trustme

from jiedai_flow.notify.channels import Contact, DeliveryFailed
from jiedai_flow.notify.channels.email import EmailNotifier, message_id
from jiedai_flow.testing import make_engine
from tests._notify_servers import APPROVER, SUPERVISOR, SmtpServer, free_port, sample_message

if TYPE_CHECKING:
    from collections.abc import Iterator

SENDER = "公务接待系统 <jiedai@county.gov.cn>"
USERS = {"jiedai": "s3cret-口令"}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    """A client context that trusts the test CA (and verifies hostnames)."""
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
def starttls(ca: trustme.CA) -> Iterator[SmtpServer]:
    server = SmtpServer(ca, tls="starttls", users=USERS)
    yield server
    server.stop()


@pytest.fixture
def implicit_tls(ca: trustme.CA) -> Iterator[SmtpServer]:
    server = SmtpServer(ca, tls="ssl", users=USERS)
    yield server
    server.stop()


@pytest.fixture
def relay(ca: trustme.CA) -> Iterator[SmtpServer]:
    server = SmtpServer(ca, tls="none")
    yield server
    server.stop()


def mailer(server: SmtpServer, context: ssl.SSLContext | None, **options: object) -> EmailNotifier:
    settings: dict[str, object] = {"sender": SENDER, "ssl_context": context, "timeout": 5}
    settings.update(options)
    return EmailNotifier("127.0.0.1", server.port, **settings)  # type: ignore[arg-type]


def test_starttls_with_login_sends_one_utf8_mail_to_every_contact(
    starttls: SmtpServer, trusting: ssl.SSLContext
) -> None:
    """One mail per notification to every contact: Chinese subject and body intact, idempotency headers."""
    message = sample_message(APPROVER, SUPERVISOR, APPROVER)
    mailer(starttls, trusting, username="jiedai", password=USERS["jiedai"]).deliver(message)

    (mail,) = starttls.received
    assert (mail.tls, mail.login) == (True, "jiedai")
    assert mail.mail_from == "jiedai@county.gov.cn"
    assert mail.rcpt_tos == ("li.shenpi@county.gov.cn", "wang.jijian@county.gov.cn")
    received = mail.message
    assert received["Subject"] == "【公务接待】341502-2026-00001 提交审批"
    assert [a.display_name for a in received["To"].addresses] == ["李审批", "王纪检"]
    assert received["From"].addresses[0].display_name == "公务接待系统"
    assert received["Message-ID"] == f"<jiedai.{message.idempotency_key}@county.gov.cn>"
    assert received["X-Jiedai-Idempotency-Key"] == message.idempotency_key
    assert received.get_content_charset() == "utf-8"
    assert received.get_content().replace("\r\n", "\n").rstrip("\n") == message.text()
    assert "待办：请审批" in message.text()


def test_implicit_tls_with_login_delivers(implicit_tls: SmtpServer, trusting: ssl.SSLContext) -> None:
    message = sample_message(APPROVER)
    mailer(implicit_tls, trusting, security="ssl", username="jiedai", password=USERS["jiedai"]).deliver(
        message
    )
    (mail,) = implicit_tls.received
    assert (mail.tls, mail.login, mail.rcpt_tos) == (True, "jiedai", ("li.shenpi@county.gov.cn",))


def test_plain_relay_delivers_without_tls(relay: SmtpServer) -> None:
    mailer(relay, None, security="none").deliver(sample_message(APPROVER))
    (mail,) = relay.received
    assert (mail.tls, mail.login) == (False, None)


def test_a_retry_is_the_same_message_for_the_receiver(starttls: SmtpServer, trusting: ssl.SSLContext) -> None:
    """The Message-ID comes from the idempotency key, so the MTA and clients can drop the repeat."""
    notifier = mailer(starttls, trusting, username="jiedai", password=USERS["jiedai"])
    first = sample_message(APPROVER)
    notifier.deliver(first)
    notifier.deliver(attrs.evolve(first, attempt=2))
    ids = [m.message["Message-ID"] for m in starttls.received]
    assert ids[0] == ids[1] == message_id(first.idempotency_key, "county.gov.cn")


def test_wrong_password_is_permanent(starttls: SmtpServer, trusting: ssl.SSLContext) -> None:
    with pytest.raises(DeliveryFailed, match="535") as failed:
        mailer(starttls, trusting, username="jiedai", password="wrong").deliver(sample_message(APPROVER))
    assert failed.value.permanent
    assert starttls.received == []


def test_contacts_without_email_fail_permanently_and_say_why(relay: SmtpServer) -> None:
    phone_only = Contact("赵经办", mobile="13700000003")
    with pytest.raises(DeliveryFailed, match="没有电子邮箱") as failed:
        mailer(relay, None, security="none").deliver(sample_message(phone_only))
    assert failed.value.permanent
    assert "jiedai_contacts" in str(failed.value)
    assert relay.received == []


def test_a_550_refusal_is_permanent(relay: SmtpServer) -> None:
    nobody = Contact("查无此人", email="nobody@county.gov.cn")
    with pytest.raises(DeliveryFailed, match="550") as failed:
        mailer(relay, None, security="none").deliver(sample_message(nobody))
    assert failed.value.permanent


def test_a_4xx_recipient_refusal_is_retried(relay: SmtpServer) -> None:
    busy = Contact("忙", email="busy@county.gov.cn")
    with pytest.raises(DeliveryFailed, match="450") as failed:
        mailer(relay, None, security="none").deliver(sample_message(busy))
    assert not failed.value.permanent


def test_one_refused_recipient_does_not_stop_the_others(relay: SmtpServer) -> None:
    nobody = Contact("查无此人", email="nobody@county.gov.cn")
    mailer(relay, None, security="none").deliver(sample_message(nobody, APPROVER))
    assert relay.received[0].rcpt_tos == ("li.shenpi@county.gov.cn",)


@pytest.mark.parametrize("reply", ["421 4.3.2 service shutting down", "451 4.7.1 greylisted, try again"])
def test_a_4xx_answer_to_data_is_retried_and_the_retry_delivers(relay: SmtpServer, reply: str) -> None:
    relay.data_replies.append(reply)
    notifier = mailer(relay, None, security="none")
    message = sample_message(APPROVER)
    with pytest.raises(DeliveryFailed, match=reply[:3]) as failed:
        notifier.deliver(message)
    assert not failed.value.permanent
    notifier.deliver(message)
    assert len(relay.received) == 1


def test_a_5xx_answer_to_data_is_permanent(relay: SmtpServer) -> None:
    relay.data_replies.append("554 5.7.1 message rejected as spam")
    with pytest.raises(DeliveryFailed, match="554") as failed:
        mailer(relay, None, security="none").deliver(sample_message(APPROVER))
    assert failed.value.permanent


def test_connection_refused_is_retried() -> None:
    notifier = EmailNotifier("127.0.0.1", free_port(), sender=SENDER, security="none", timeout=1)
    with pytest.raises(DeliveryFailed, match="ConnectionRefused") as failed:
        notifier.deliver(sample_message(APPROVER))
    assert not failed.value.permanent


def test_a_server_that_never_greets_times_out_and_is_retried() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        notifier = EmailNotifier(
            "127.0.0.1", silent.getsockname()[1], sender=SENDER, security="none", timeout=0.2
        )
        with pytest.raises(DeliveryFailed, match="timed out") as failed:
            notifier.deliver(sample_message(APPROVER))
    assert not failed.value.permanent


def test_an_untrusted_certificate_is_never_bypassed(starttls: SmtpServer) -> None:
    """Without the CA, STARTTLS fails verification: retried, and nothing is sent in the clear."""
    with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED") as failed:
        mailer(starttls, None, username="jiedai", password=USERS["jiedai"]).deliver(sample_message(APPROVER))
    assert not failed.value.permanent
    assert starttls.received == []


def test_starttls_required_but_not_offered_is_permanent(relay: SmtpServer) -> None:
    with pytest.raises(DeliveryFailed, match="STARTTLS") as failed:
        mailer(relay, None).deliver(sample_message(APPROVER))
    assert failed.value.permanent
    assert relay.received == []


def test_credentials_are_refused_without_tls_and_hidden_from_repr() -> None:
    with pytest.raises(ValueError, match="in the clear"):
        EmailNotifier("smtp.example", 25, sender=SENDER, security="none", username="u", password="p")
    notifier = EmailNotifier("smtp.example", 587, sender=SENDER, username="u", password="hunter2")
    assert "hunter2" not in repr(notifier)


def test_the_notifier_registers_itself_as_a_plugin(relay: SmtpServer) -> None:
    notifier = mailer(relay, None, security="none", name="mail-county")
    engine = make_engine(notifier)
    assert engine.notifiers["mail-county"] is notifier
    assert notifier.inline is False


def test_malformed_addresses_are_skipped(relay: SmtpServer) -> None:
    broken = (Contact("甲", email="not an address"), Contact("乙", email="a@b@c"), Contact("丙", email="x@"))
    mailer(relay, None, security="none").deliver(sample_message(*broken, APPROVER))
    assert relay.received[0].rcpt_tos == ("li.shenpi@county.gov.cn",)
    with pytest.raises(DeliveryFailed, match="没有电子邮箱") as failed:
        mailer(relay, None, security="none").deliver(sample_message(*broken))
    assert failed.value.permanent


def test_recipients_from_chooses_the_addresses(relay: SmtpServer) -> None:
    notifier = mailer(relay, None, security="none", recipients_from=lambda message: ["office@county.gov.cn"])
    notifier.deliver(sample_message(APPROVER))
    assert relay.received[0].rcpt_tos == ("office@county.gov.cn",)
