"""The e-mail notifier 邮件通知: one message per notification, over SMTP (``smtplib``).

Security is ``"starttls"`` (port 587, the default), ``"ssl"`` (implicit TLS, port 465) or
``"none"`` (a relay on the same host or network; no credentials allowed in the clear). The
certificate is verified with ``ssl.create_default_context()`` unless an ``ssl_context`` is given.

Every message carries ``Message-ID: <jiedai.<idempotency key>@<sender's domain>>`` and
``X-Jiedai-Idempotency-Key``, so a retried delivery is the same message to the receiving MTA and
mail clients. SMTP answers map to the dispatcher's outcomes: 4xx (greylisting, a full queue,
``421`` service closing) is retried; 5xx (``550`` no such mailbox, ``535`` bad credentials) is
permanent; connection errors and timeouts are retried.
"""

from __future__ import annotations

import base64
import email.errors
import email.utils
import hashlib
import logging
import re
import smtplib
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from typing import TYPE_CHECKING, Literal

from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.notify.channels import DeliveryFailed
from jiedai_flow.notify.channels._common import subject, unique

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from jiedai_flow.notify.channels import Message, RegisterNotifier

log = logging.getLogger(__name__)

Security = Literal["starttls", "ssl", "none"]
_SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def contact_emails(message: Message) -> Sequence[str]:
    """The default recipients: every contact's e-mail address, each once, in order."""
    return unique([c.email.strip() for c in message.contacts])


class EmailNotifier:
    """Sends each outbox row as one e-mail to its contacts. A plugin: pass the object to
    ``open_engine(plugins=[EmailNotifier(...)])`` and it registers itself as channel ``name``."""

    inline = False  # why: SMTP takes seconds and can hang; the dispatcher delivers, not the command

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        security: Security = "starttls",
        username: str | None = None,
        password: str | None = None,
        timeout: float = 10,
        ssl_context: ssl.SSLContext | None = None,
        name: str = "email",
        recipients_from: Callable[[Message], Sequence[str]] = contact_emails,
    ) -> None:
        if security not in ("starttls", "ssl", "none"):
            raise ValueError(f"security must be 'starttls', 'ssl' or 'none', not {security!r}")
        if username is not None and security == "none":
            raise ValueError("SMTP credentials need security='starttls' or 'ssl' (never sent in the clear)")
        display, address = email.utils.parseaddr(sender)
        if "@" not in address:
            raise ValueError(f"sender {sender!r} has no e-mail address")
        self.host, self.port, self.timeout = host, port, timeout
        self.sender = Address(display_name=display, addr_spec=address)
        self.security: Security = security
        self.username, self.password = username, password
        self.ssl_context = ssl_context
        self.name = name
        self.recipients_from = recipients_from

    def __repr__(self) -> str:  # why: the default repr would show the password in logs
        return f"EmailNotifier({self.host!r}, {self.port}, name={self.name!r}, security={self.security!r})"

    @hookimpl
    def jiedai_register_notifiers(self, register: RegisterNotifier) -> None:
        register(self)

    # -- delivery ----------------------------------------------------------------------------

    def deliver(self, message: Message) -> None:
        recipients = self._recipients(message)
        mail = self.compose(message, recipients)
        try:
            with self._connect() as smtp:
                if self.username is not None:
                    self._login(smtp, self.username, self.password or "")
                refused = smtp.send_message(mail, self.sender.addr_spec, [a.addr_spec for a in recipients])
        except smtplib.SMTPRecipientsRefused as exc:  # every recipient refused
            raise _refused(self.name, exc.recipients) from exc
        except smtplib.SMTPResponseException as exc:
            raise _answered(self.name, exc.smtp_code, exc.smtp_error) from exc
        except smtplib.SMTPNotSupportedError as exc:  # no STARTTLS or AUTH offered: a setup problem
            raise DeliveryFailed(f"{self.name}: {exc}", permanent=True) from exc
        except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timed out, TLS failed
            raise DeliveryFailed(f"{self.name}: {type(exc).__name__}: {exc}") from exc
        if refused:
            # why: the others have the message; retrying would send it to them again
            log.warning("%s: notification %s refused by %s", self.name, message.idempotency_key, refused)

    def compose(self, message: Message, recipients: Sequence[Address]) -> EmailMessage:
        """The e-mail of ``message``: subject, UTF-8 body, idempotency headers."""
        mail = EmailMessage(policy=SMTP_POLICY)
        mail["Subject"] = subject(message)
        mail["From"] = self.sender
        mail["To"] = recipients
        mail["Date"] = email.utils.formatdate(localtime=True)
        mail["Message-ID"] = message_id(message.idempotency_key, self.sender.domain)
        mail["X-Jiedai-Idempotency-Key"] = message.idempotency_key
        mail["X-Jiedai-Topic"] = message.notification.topic
        mail["X-Jiedai-Attempt"] = str(message.attempt)
        mail.set_content(message.text(), charset="utf-8")
        return mail

    def _recipients(self, message: Message) -> list[Address]:
        found = []
        names = {c.email.strip(): c.name for c in message.contacts}
        for addr in self.recipients_from(message):
            try:
                found.append(Address(display_name=names.get(addr, ""), addr_spec=addr))
            except (
                ValueError,
                IndexError,
                email.errors.MessageError,
            ):  # why: one bad address must not block the rest
                log.warning("%s: skipping malformed address %r", self.name, addr)
        if not found:
            n = message.notification
            told = "、".join([*(r.label for r in n.recipients), *n.people]) or "—"
            raise DeliveryFailed(
                f"通知 {message.idempotency_key} 的收件人（{told}）没有电子邮箱 / "
                f"no contact of roles {[r.value for r in n.recipients]} or people {list(n.people)} "
                f"has an e-mail address (check the jiedai_contacts and jiedai_person_contact directory)",
                permanent=True,
            )
        return found

    @staticmethod
    def _login(smtp: smtplib.SMTP, username: str, password: str) -> None:
        if (username + password).isascii():
            smtp.login(username, password)
            return
        # why: smtplib encodes credentials as ASCII; AUTH PLAIN carries UTF-8 (RFC 4616), so a
        # Chinese password is sent that way rather than crashing with UnicodeEncodeError.
        smtp.ehlo_or_helo_if_needed()
        if not smtp.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        token = base64.b64encode(f"\0{username}\0{password}".encode()).decode()
        code, answer = smtp.docmd("AUTH", f"PLAIN {token}")
        if code != 235:
            raise smtplib.SMTPAuthenticationError(code, answer)

    def _connect(self) -> smtplib.SMTP:
        context = self.ssl_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)
        except BaseException:
            smtp.close()
            raise
        return smtp


def message_id(key: str, domain: str) -> str:
    """The ``Message-ID`` of an idempotency key: the same key gives the same id on every retry."""
    left = key if _SAFE_ID.fullmatch(key) else hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<jiedai.{left}@{domain or 'jiedai-flow.invalid'}>"


def _answered(channel: str, code: int, text: bytes | str) -> DeliveryFailed:
    """4xx is a temporary refusal (retry); 5xx a permanent one; anything else (a broken
    conversation) is retried."""
    shown = text.decode(errors="replace") if isinstance(text, bytes) else text
    return DeliveryFailed(f"{channel}: SMTP {code} {shown}", permanent=500 <= code < 600)


def _refused(channel: str, recipients: dict[str, tuple[int, bytes]]) -> DeliveryFailed:
    """All recipients refused: permanent only if every refusal was 5xx."""
    shown = "; ".join(
        f"{addr}: {code} {text.decode(errors='replace')}" for addr, (code, text) in recipients.items()
    )
    permanent = all(500 <= code < 600 for code, _text in recipients.values())
    return DeliveryFailed(f"{channel}: SMTP recipients refused: {shown}", permanent=permanent)
