"""Real receivers on loopback for the notifier tests: an SMTP server and a scripted HTTP server.

:class:`SmtpServer` is aiosmtpd on 127.0.0.1 with a trustme certificate: STARTTLS or implicit
TLS, optional AUTH LOGIN/PLAIN, scripted refusals; it keeps every message it accepted.
:class:`HttpReceiver` is a threaded ``http.server`` (HTTP/1.1 keep-alive) whose paths behave:

``/ok``        200.
``/flaky``     500 on every other request for the same idempotency key (the first fails).
``/slow``      sleeps ``slow_seconds`` (past the client's timeout), then 200.
``/limited``   429 with ``Retry-After: <retry_after>`` on every other request per key.
``/dingtalk``  the DingTalk custom robot: checks ``access_token`` and recomputes ``sign`` from
               ``timestamp`` and the secret; answers errcode JSON (310000 on a bad signature).
``/wecom``     the WeCom group robot: checks ``key``; errcode JSON (93000 on a wrong key).

A request carrying ``X-Jiedai-Signature`` has its HMAC checked on every path (401 if wrong).
:meth:`HttpReceiver.script` queues replies that override a path's behaviour for its next requests.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import attrs
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from jiedai_flow.domain.model import Role
from jiedai_flow.domain.records import new_id
from jiedai_flow.notify.channels import Contact, Message
from jiedai_flow.testing import sample_event, sample_notification, sample_reception

if TYPE_CHECKING:
    from email.message import EmailMessage

    import trustme


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- SMTP -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mail:
    """One message the SMTP server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    tls: bool
    login: str | None

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.content, policy=email.policy.default)


class _SmtpHandler:
    def __init__(self, owner: SmtpServer) -> None:
        self.owner = owner

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        del server, mail_options
        if self.owner.users and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        del server, session, rcpt_options
        if address.startswith("nobody@"):
            return "550 5.1.1 mailbox unavailable 用户不存在"
        if address.startswith("busy@"):
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.owner.lock:
            if self.owner.data_replies:
                return self.owner.data_replies.popleft()
            login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
            tls = server.transport.get_extra_info("ssl_object") is not None
            self.owner.received.append(
                Mail(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content, tls, login)
            )
        return "250 2.0.0 accepted"


class SmtpServer:
    """aiosmtpd on 127.0.0.1 at a free port. ``tls``: ``"starttls"``, ``"ssl"`` (implicit) or
    ``"none"``; ``users`` turns on AUTH (LOGIN and PLAIN), required before MAIL."""

    def __init__(self, ca: trustme.CA, *, tls: str = "starttls", users: dict[str, str] | None = None) -> None:
        self.received: list[Mail] = []
        self.data_replies: deque[str] = deque()
        """Replies to the next DATA commands instead of accepting (e.g. ``"421 4.3.2 closing"``)."""
        self.lock = threading.Lock()
        self.users = users or {}
        self.port = free_port()
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
        options: dict[str, Any] = {}
        if tls == "ssl":
            options["ssl_context"] = server_context
        elif tls == "starttls":
            options["tls_context"] = server_context
        if self.users:
            # why: aiosmtpd counts only STARTTLS as TLS, so with implicit TLS it would not offer
            # AUTH at all; the handler requires AUTH before MAIL instead (see handle_MAIL).
            options.update(authenticator=self._authenticate, auth_require_tls=tls == "starttls")
        self.controller = Controller(
            _SmtpHandler(self), hostname="127.0.0.1", port=self.port, server_hostname="smtp.test", **options
        )
        self.controller.start()

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        del server, session, envelope
        ok = (
            mechanism in ("LOGIN", "PLAIN")
            and isinstance(auth_data, LoginPassword)
            and self.users.get(auth_data.login.decode()) == auth_data.password.decode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def stop(self) -> None:
        self.controller.stop()


# -- HTTP -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One request the HTTP receiver saw."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def key(self) -> str:
        return self.headers.get("idempotency-key", "")


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real receivers
    disable_nagle_algorithm = True  # why: headers and body are two writes; Nagle would hold the body ~40 ms
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        request = Request(
            parts.path,
            {k: v[0] for k, v in parse_qs(parts.query).items()},
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        reply = self.server.receiver.respond(request)
        if reply.sleep:
            time.sleep(reply.sleep)
        data = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: HttpReceiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out and hung up is expected here (``/slow``)."""


class HttpReceiver:
    """The scripted HTTP server; see the module docstring for the paths."""

    def __init__(
        self,
        *,
        webhook_secret: str = "whsec-测试",
        dingtalk_token: str = "dt-token",
        dingtalk_secret: str = "SECdingtalk0123456789",
        wecom_key: str = "wecom-key-0001",
        slow_seconds: float = 0.5,
        retry_after: int = 120,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.dingtalk_token, self.dingtalk_secret = dingtalk_token, dingtalk_secret
        self.wecom_key = wecom_key
        self.slow_seconds, self.retry_after = slow_seconds, retry_after
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        """Every request, answered or not."""
        self.accepted: list[Request] = []
        """Requests answered with success (HTTP 2xx and errcode 0 for the robots)."""
        self._seen: Counter[tuple[str, str]] = Counter()
        self._scripts: dict[str, deque[Reply]] = {}
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.receiver = self
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer the next requests on ``path`` with ``replies``, in order."""
        with self.lock:
            self._scripts.setdefault(path, deque()).extend(replies)

    def keys(self) -> list[str]:
        """Idempotency keys of the accepted requests, in order (repeats kept)."""
        with self.lock:
            return [r.key for r in self.accepted]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    # -- behaviours ------------------------------------------------------------------------------

    def respond(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            seen = self._seen[request.path, request.key] = self._seen[request.path, request.key] + 1
            script = self._scripts.get(request.path)
            reply = script.popleft() if script else self._behave(request, seen)
            if 200 <= reply.status < 300 and reply.sleep == 0 and _errcode(reply) == 0:
                self.accepted.append(request)
        return reply

    def _behave(self, request: Request, seen: int) -> Reply:
        if "x-jiedai-signature" in request.headers and not self._signed(request):
            return Reply(401, {"error": "bad signature"})
        if request.path == "/flaky" and seen % 2 == 1:
            return Reply(500, {"error": "flaky"})
        if request.path == "/limited" and seen % 2 == 1:
            return Reply(429, {"error": "slow down"}, {"Retry-After": str(self.retry_after)})
        if request.path == "/slow":
            return Reply(sleep=self.slow_seconds)
        if request.path == "/dingtalk":
            return self._dingtalk(request)
        if request.path == "/wecom":
            return self._wecom(request)
        if request.path in ("/ok", "/flaky", "/limited"):
            return Reply()
        return Reply(404, {"error": "no such path"})

    def _signed(self, request: Request) -> bool:
        """The generic webhook's HMAC, recomputed here: ``sha256=hex(HMAC(secret, ts + "." + body))``."""
        timestamp = request.headers.get("x-jiedai-timestamp", "")
        mac = hmac.new(self.webhook_secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256)
        fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
        return fresh and hmac.compare_digest(
            f"sha256={mac.hexdigest()}", request.headers["x-jiedai-signature"]
        )

    def _dingtalk(self, request: Request) -> Reply:
        if request.query.get("access_token") != self.dingtalk_token:
            return Reply(body={"errcode": 300001, "errmsg": "token is not exist"})
        if self.dingtalk_secret and "timestamp" in request.query:
            timestamp, sign = request.query["timestamp"], request.query.get("sign", "")
            to_sign = f"{timestamp}\n{self.dingtalk_secret}".encode()
            digest = hmac.new(self.dingtalk_secret.encode(), to_sign, hashlib.sha256).digest()
            fresh = timestamp.isdigit() and abs(time.time() * 1000 - int(timestamp)) <= 3_600_000
            if not (fresh and hmac.compare_digest(base64.b64encode(digest).decode(), sign)):
                return Reply(body={"errcode": 310000, "errmsg": "sign not match"})
        elif self.dingtalk_secret:
            return Reply(body={"errcode": 310000, "errmsg": "sign not match (no timestamp)"})
        document = request.json()
        if document.get("msgtype") != "markdown" or not document["markdown"].get("text"):
            return Reply(body={"errcode": 400105, "errmsg": "unsupported message type"})
        return Reply(body={"errcode": 0, "errmsg": "ok"})

    def _wecom(self, request: Request) -> Reply:
        if request.query.get("key") != self.wecom_key:
            return Reply(body={"errcode": 93000, "errmsg": "invalid webhook url"})
        document = request.json()
        content = document.get("markdown", {}).get("content", "")
        if document.get("msgtype") != "markdown" or not content:
            return Reply(body={"errcode": 44004, "errmsg": "empty content"})
        if len(content.encode()) > 4096:
            return Reply(body={"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"})
        return Reply(body={"errcode": 0, "errmsg": "ok"})


def _errcode(reply: Reply) -> int:
    body = reply.body
    return int(body.get("errcode", 0)) if isinstance(body, dict) else 0


def robot(errcode: int, errmsg: str = "") -> Reply:
    """A robot's refusal, for :meth:`HttpReceiver.script`."""
    return Reply(body={"errcode": errcode, "errmsg": errmsg or f"error {errcode}"})


# -- messages ---------------------------------------------------------------------------------------

APPROVER = Contact(
    "李审批",
    Role.APPROVER,
    email="li.shenpi@county.gov.cn",
    mobile="13800000001",
    dingtalk_id="dt-li",
    wecom_id="LiShenPi",
)
SUPERVISOR = Contact("王纪检", Role.SUPERVISOR, email="wang.jijian@county.gov.cn", mobile="13900000002")


def sample_message(*contacts: Contact, channel: str = "test", attempt: int = 1) -> Message:
    """A submit notification of a sample reception (number 341502-2026-00001), told to ``contacts``."""
    reception = sample_reception()
    event = sample_event(reception, "submit", "draft")
    notification = attrs.evolve(
        sample_notification(event),
        id=new_id(),
        channel=channel,
        message_zh=f"接待 {reception.number}：张伟「提交审批」，当前状态「待审批」",
        action_zh="请审批",
        link=f"https://oa.example.gov.cn/jiedai/{reception.id}",
    )
    return Message(notification, reception, contacts, attempt)
