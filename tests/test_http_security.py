"""Security of the service through a real server: no token, a wrong, revoked or forged one, an
expired JWT or one for another audience, the supervisor writing, one actor acting as another, the
failed-authentication limit (a valid credential still served from a limited address), and
``X-Forwarded-For`` trusted only from a proxy named for it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from litestar.exceptions import NotAuthorizedException

from jiedai_flow.domain.model import Actor, Role
from jiedai_flow.server.auth import Authenticator, AuthFailure, FailureLimiter, RateLimited
from jiedai_flow.server.settings import JWTSettings
from jiedai_flow.server.tokens import ActiveDigests, MemoryTokens, SQLTokens
from jiedai_flow.storage import schema
from tests._http_server import eventually, reception_body, running, write_starter_files

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests._http_server import Server

SECRET = "a-shared-secret-of-the-test-sso-32b"
ACTOR = Actor(id="zhang.wei", name="张伟", roles=frozenset({Role.HANDLER}), unit="县政府办公室")
ISSUER = "https://sso.test"
AUDIENCE = "jiedai"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-security")
    env = {"JIEDAI_JWT_ISSUER": ISSUER, "JIEDAI_JWT_AUDIENCE": AUDIENCE, "JIEDAI_JWT_SECRET": SECRET}
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder, env=env, max_auth_failures=20) as found:
        yield found


def _jwt(sub: str = "zhang.wei", *, key: str = SECRET, aud: str = AUDIENCE, ttl: int = 300) -> str:
    now = int(time.time())
    return jwt.encode({"iss": ISSUER, "aud": aud, "sub": sub, "iat": now, "exp": now + ttl}, key, "HS256")


def _get(server: Server, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.get(f"{server.base}/api/v1/receptions", headers=headers, timeout=30)


def test_no_wrong_revoked_or_forged_credentials(server: Server) -> None:
    assert _get(server, None).status_code == 401
    assert _get(server, "Bearer jd_not-a-token").status_code == 401
    assert _get(server, "Basic emhhbmc6d2Vp").status_code == 401
    token_id, token = server.new_token("zhang.wei")
    assert _get(server, f"Bearer {token}").status_code == 200
    server.revoke(token_id)
    revoked = _get(server, f"Bearer {token}")
    assert revoked.status_code == 401
    assert "吊销" in revoked.json()["message_zh"]
    assert revoked.headers["www-authenticate"].startswith("Bearer")
    forged = _get(server, f"Bearer {_jwt(key='another-secret-another-secret-12')}")
    assert forged.status_code == 401
    assert forged.json()["message_zh"] == "JWT 签名不对"
    no_exp = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "zhang.wei"}, SECRET, "HS256")
    missing = _get(server, f"Bearer {no_exp}")
    assert missing.status_code == 401
    assert "缺少必需的声明 exp" in missing.json()["message_zh"]  # not blamed on the signature
    other_algorithm = jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": "zhang.wei", "exp": int(time.time()) + 300},
        SECRET * 2,
        "HS512",
    )
    assert "签名算法不是本服务接受的 HS256" in _get(server, f"Bearer {other_algorithm}").json()["message_zh"]
    assert _get(server, f"Bearer {_jwt(ttl=-120)}").status_code == 401
    assert _get(server, f"Bearer {_jwt(aud='another-system')}").status_code == 401
    assert _get(server, f"Bearer {_jwt(sub='nobody')}").status_code == 401
    alg_none = jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "zhang.wei", "exp": 2**31}, None, "none")
    assert _get(server, f"Bearer {alg_none}").status_code == 401


def test_a_jwt_acts_and_the_event_records_it(server: Server) -> None:
    headers = {"Authorization": f"Bearer {_jwt()}"}
    created = httpx.post(
        f"{server.base}/api/v1/receptions", json=reception_body(), headers=headers, timeout=30
    )
    assert created.status_code == 201, created.text
    assert created.json()["event"]["auth_method"] == f"jwt:{ISSUER}"


def test_the_supervisor_reads_and_writes_nothing(server: Server) -> None:
    with server.client("zhang.wei") as c:
        rid = c.post("/api/v1/receptions", json=reception_body()).json()["reception"]["id"]
    with server.client("liu.yang") as c:
        assert c.get(f"/api/v1/receptions/{rid}").status_code == 200
        assert c.get(f"/api/v1/receptions/{rid}/triggers").json()["triggers"] == []
        for url, body in (
            ("/api/v1/receptions", reception_body()),
            (f"/api/v1/receptions/{rid}/triggers/submit", {}),
            (f"/api/v1/receptions/{rid}/triggers/cancel", {"reason": "查"}),
        ):
            refused = c.post(url, json=body)
            assert refused.status_code == 403, url
            assert refused.json()["code"] == "not_authorized"


def test_one_actors_token_cannot_act_as_another(server: Server) -> None:
    body = reception_body()
    body["reception"]["handler"] = "zhao.min"
    with server.client("zhang.wei") as c:
        refused = c.post("/api/v1/receptions", json=body)
        assert refused.status_code == 403
        body["reception"]["handler"] = "zhang.wei"
        rid = c.post("/api/v1/receptions", json=body).json()["reception"]["id"]
        smuggled = c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={"actor": "li.na"})
        assert smuggled.status_code == 422
        assert smuggled.json()["problems"][0]["path"] == "$.actor"
        assert c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}).status_code == 200
    with server.client("zhao.min") as c:  # another handler's token: the engine refuses
        assert c.post(f"/api/v1/receptions/{rid}/triggers/withdraw", json={}).status_code == 403


def test_the_task_endpoints_need_a_token_and_the_supervisor_writes_nothing(server: Server) -> None:
    with server.client("zhang.wei") as c:
        rid = c.post("/api/v1/receptions", json=reception_body()).json()["reception"]["id"]
        assert c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}).status_code == 200
    comment = f"/api/v1/receptions/{rid}/operations/comment"
    with server.client() as c:
        assert c.get("/api/v1/tasks").status_code == 401
        assert c.get("/api/v1/proxies").status_code == 401
        assert c.post(comment, json={"reason": "x"}).status_code == 401
    with server.client("liu.yang") as c:
        assert c.get("/api/v1/tasks").status_code == 200
        assert c.get(f"/api/v1/receptions/{rid}/operations").json()["operations"] == []
        today = time.strftime("%Y-%m-%d")
        for method, url, body in (
            ("POST", comment, {"reason": "查"}),
            ("POST", f"/api/v1/receptions/{rid}/operations/urge", {}),
            ("POST", f"/api/v1/receptions/{rid}/operations/copy", {"people": ["chen.jie"]}),
            ("POST", "/api/v1/proxies", {"stand_in": "chen.jie", "start": today, "end": today}),
            ("DELETE", "/api/v1/proxies/0123456789abcdef0123456789abcdef", None),
        ):
            refused = c.request(method, url, json=body)
            assert refused.status_code == 403, url
            assert refused.json()["code"] == "not_authorized"
    with server.client("sun.hao") as c:
        assert len(c.get(f"/api/v1/receptions/{rid}/history").json()) == 2  # nothing was written
    with server.client("zhang.wei") as c:  # copied to the supervisor: 已阅 is all they may do
        assert c.post(f"/api/v1/receptions/{rid}/operations/copy", json={"people": ["liu.yang"]}).is_success
    with server.client("liu.yang") as c:
        assert [
            o["operation"] for o in c.get(f"/api/v1/receptions/{rid}/operations").json()["operations"]
        ] == ["read"]
        assert c.post(f"/api/v1/receptions/{rid}/operations/read", json={}).status_code == 200
        assert c.get("/api/v1/tasks/counts").json()["cc_unread"] == 0
        assert c.post(comment, json={"reason": "查"}).status_code == 403


def test_a_task_list_and_a_task_are_the_callers_own(server: Server) -> None:
    with server.client("zhang.wei") as c:
        rid = c.post("/api/v1/receptions", json=reception_body()).json()["reception"]["id"]
        assert c.post(f"/api/v1/receptions/{rid}/triggers/submit", json={}).status_code == 200
        claim = c.post(f"/api/v1/receptions/{rid}/operations/claim", json={})
        assert claim.status_code == 403  # the handler never acts on an approval task of their own
        smuggled = c.post(
            f"/api/v1/receptions/{rid}/operations/comment", json={"reason": "x", "actor": "sun.hao"}
        )
        assert smuggled.status_code == 422
        assert smuggled.json()["problems"][0]["path"] == "$.actor"
    with server.client("sun.hao") as c:
        [task] = [r for r in c.get("/api/v1/tasks").json()["items"] if r["reception_id"] == rid]
    with server.client("zhao.min") as c:
        for params in ({"actor": "sun.hao"}, {"actor_id": "sun.hao"}):
            rows = c.get("/api/v1/tasks", params=params).json()["items"]
            assert rid not in {r["reception_id"] for r in rows}
        signed = c.post(f"/api/v1/receptions/{rid}/triggers/approve", json={"task": task["task_id"]})
        assert signed.status_code == 403


def test_failed_authentication_is_limited(server: Server) -> None:
    """Runs last in this module: the address is limited for a minute afterwards. Past the limit a
    wrong, missing, revoked or forged credential is a 429 with ``Retry-After``, logged; a valid
    token or JWT is still served (behind one NAT, one person's failures must not lock out all)."""
    statuses = [_get(server, "Bearer jd_wrong").status_code for _ in range(20)]
    assert statuses[0] == 401
    assert statuses[-1] == 429
    revoked_id, revoked = server.new_token("zhang.wei")
    server.revoke(revoked_id)
    for bad in ("Bearer jd_wrong", None, f"Bearer {revoked}", f"Bearer {_jwt(key='x' * 32)}", "Basic eA=="):
        limited = _get(server, bad)
        assert limited.status_code == 429, (bad, limited.text)
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == "rate_limited"
    assert _get(server, f"Bearer {server.token('zhang.wei')}").status_code == 200
    assert _get(server, f"Bearer {_jwt()}").status_code == 200
    log = (server.folder / "server.log").read_text(errors="replace")
    assert "authentication failed for 127.0.0.1: unknown_token" in log
    assert "authentication refused for 127.0.0.1: too many failures" in log
    assert "jd_wrong" not in log


def test_behind_one_address_a_valid_credential_is_served_while_the_address_is_limited(tmp_path: Path) -> None:
    """A whole county office behind one NAT address: once an attacker there has used up the failures
    allowed, everyone else's valid token still works — over the API, and signing in to the pages —
    while the attacker keeps getting 429. A token made after the limit began works within seconds."""
    with running(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, max_auth_failures=3) as nat:
        for colleague in ("zhang.wei", "li.na"):  # their tokens were made before the attack
            nat.token(colleague)
        assert [_get(nat, "Bearer jd_guess").status_code for _ in range(5)] == [401, 401, 401, 429, 429]
        with nat.client("zhang.wei") as c:
            made = c.post("/api/v1/receptions", json=reception_body())
            assert made.status_code == 201, made.text
            assert c.get("/api/v1/receptions").status_code == 200
        assert _get(nat, "Bearer jd_guess").status_code == 429
        _, fresh = nat.new_token("sun.hao")
        assert eventually(lambda: _get(nat, f"Bearer {fresh}").status_code == 200, seconds=15)
        with httpx.Client(base_url=nat.base, timeout=30) as web:
            form = web.get("/web/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf is not None
            wrong = web.post("/web/login", data={"token": "jd_guess", "csrf": csrf.group(1)})
            assert wrong.status_code == 429
            assert "rate_limited" in wrong.text
            signed = web.post("/web/login", data={"token": nat.token("li.na"), "csrf": csrf.group(1)})
            assert signed.status_code in (302, 303), signed.text[:300]
            assert web.get("/web/").status_code == 200
        log = (tmp_path / "server.log").read_text(errors="replace")
        assert log.count("authentication refused for 127.0.0.1: too many failures") >= 3
        assert "jd_guess" not in log


def test_a_limited_address_guessing_tokens_costs_no_database_read_per_guess(tmp_path: Path) -> None:
    """Checking a limited address's token stays cheap: a hash and a lookup among the active tokens,
    read whole at most every few seconds — a thousand guesses read the database once, not a
    thousand times — while a valid token is still verified (and its revocation honoured)."""
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'tokens.db'}")
    schema.api_tokens.metadata.create_all(engine, tables=[schema.api_tokens])
    tokens = SQLTokens(engine)
    info, good = tokens.create("zhang.wei")
    clock = _Clock()
    tokens.active = ActiveDigests(tokens._active_digests, max_age=5.0, clock=clock)
    auth = Authenticator(tokens, {"zhang.wei": ACTOR}, None, FailureLimiter(3, 60, clock=clock))
    for _ in range(3):
        with pytest.raises(NotAuthorizedException):
            auth.authenticate("Bearer jd_guess", "10.1.1.1")
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    for n in range(1000):
        with pytest.raises(RateLimited):
            auth.authenticate(f"Bearer jd_guess{n}", "10.1.1.1")
    assert len(statements) == 1  # the active digests, once
    assert auth.authenticate(f"Bearer {good}", "10.1.1.1").actor.id == "zhang.wei"
    tokens.revoke(info.id)
    with pytest.raises(RateLimited):  # held as active still: verified, and refused
        auth.authenticate(f"Bearer {good}", "10.1.1.1")
    clock.now += 5
    statements.clear()
    for _ in range(100):
        with pytest.raises(RateLimited):
            auth.authenticate(f"Bearer {good}", "10.1.1.1")
    assert len(statements) == 1  # read again, and the revoked token is no longer held
    engine.dispose()


def test_the_active_tokens_are_read_at_most_every_max_age() -> None:
    clock = _Clock()
    reads: list[float] = []

    def read() -> frozenset[str]:
        reads.append(clock.now)
        return frozenset({f"d{len(reads)}"})

    held = ActiveDigests(read, max_age=5.0, clock=clock)
    assert "d1" in held
    assert all("d2" not in held for _ in range(100))
    clock.now += 5
    assert "d2" in held
    assert reads == [1000.0, 1005.0]


def test_rs256_public_key_and_claims_mapping() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    settings = JWTSettings(ISSUER, AUDIENCE, public.decode(), "RS256", actor_claim="employee_id")
    auth = Authenticator(MemoryTokens(), {}, settings, FailureLimiter(100, 60))
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now + 60,
        "employee_id": "E1001",
        "name": "钱进",
        "roles": ["审批人"],
    }
    signed = jwt.encode(claims, key, "RS256")
    found = auth.authenticate(f"Bearer {signed}", "198.51.100.1")
    assert (found.actor.id, found.actor.name, found.method) == ("E1001", "钱进", f"jwt:{ISSUER}")
    assert {r.value for r in found.actor.roles} == {"approver"}
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Exception, match="JWT"):
        auth.authenticate(f"Bearer {jwt.encode(claims, other, 'RS256')}", "198.51.100.1")
    assert issubclass(AuthFailure, Exception)


class _Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_addresses_does_not_unblock_a_blocked_one() -> None:
    """Failing from more addresses than the limiter keeps must not free an address it blocks: the
    table drops only what is spent or not blocked, and stays bounded."""
    clock = _Clock()
    limiter = FailureLimiter(3, 60, max_clients=100, clock=clock)
    for _ in range(3):
        limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") > 0
    for n in range(1000):
        clock.now += 0.01
        limiter.failed(f"192.0.2.{n // 250}.{n % 250}")
        assert limiter.size <= 100
    assert limiter.retry_after("10.0.0.1") > 0
    clock.now += 61
    assert limiter.retry_after("10.0.0.1") == 0


def test_the_limiter_drops_spent_windows_first_then_the_oldest_not_blocked() -> None:
    clock = _Clock()
    limiter = FailureLimiter(3, 60, max_clients=10, clock=clock)
    for n in range(5):
        limiter.failed(f"old-{n}")
    clock.now += 61  # their window has passed
    limiter.failed("near")
    limiter.failed("near")  # one more failure would block it
    for n in range(8):
        clock.now += 1
        limiter.failed(f"new-{n}")
    assert limiter.size <= 10
    assert not any(limiter.holds(f"old-{n}") for n in range(5))  # spent: dropped first
    limiter.failed("near")
    assert limiter.retry_after("near") > 0  # its two failures were kept
    for n in range(8, 30):
        clock.now += 1
        limiter.failed(f"new-{n}")
        assert limiter.size <= 10
    assert limiter.retry_after("near") > 0
    assert not limiter.holds("new-0")  # the oldest that is not blocked went
    assert limiter.holds("new-29")


def test_a_limiter_full_of_blocked_addresses_keeps_them_all_and_stays_bounded() -> None:
    clock = _Clock()
    limiter = FailureLimiter(2, 60, max_clients=5, clock=clock)
    for n in range(5):
        limiter.failed(f"blocked-{n}")
        limiter.failed(f"blocked-{n}")
    for n in range(50):
        limiter.failed(f"other-{n}")
        assert limiter.size <= 5
    assert all(limiter.retry_after(f"blocked-{n}") > 0 for n in range(5))


def test_asking_whether_an_address_may_try_keeps_nothing() -> None:
    """Every request asks before it authenticates: an address that never failed takes no room."""
    limiter = FailureLimiter(3, 60, max_clients=10)
    for n in range(100):
        assert limiter.retry_after(f"good-{n}") == 0
    assert limiter.size == 0


def _fail(server: Server, forwarded_for: str) -> httpx.Response:
    headers = {"Authorization": "Bearer jd_wrong", "X-Forwarded-For": forwarded_for}
    return httpx.get(f"{server.base}/api/v1/receptions", headers=headers, timeout=30)


def test_a_local_caller_cannot_dodge_the_limit_with_x_forwarded_for(tmp_path: Path) -> None:
    """By default no proxy is trusted, loopback included: the limit counts the real address, a new
    ``X-Forwarded-For`` on every try changes nothing, and the log records the real address."""
    with running(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, max_auth_failures=3) as server:
        statuses = [_fail(server, f"203.0.113.{n}").status_code for n in range(1, 6)]
        assert statuses == [401, 401, 401, 429, 429]
        log = (server.folder / "server.log").read_text(errors="replace")
        assert "authentication failed for 127.0.0.1: unknown_token" in log
        assert "203.0.113." not in log


def test_a_proxy_named_by_forwarded_allow_ips_is_believed(tmp_path: Path) -> None:
    """``--forwarded-allow-ips 127.0.0.1``: the proxy on loopback tells who the client is, and the
    limit and the log follow it."""
    args = ["--forwarded-allow-ips", "127.0.0.1"]
    with running(
        f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, max_auth_failures=3, serve_args=args
    ) as server:
        assert [_fail(server, "203.0.113.1").status_code for _ in range(4)] == [401, 401, 401, 429]
        assert _fail(server, "203.0.113.2").status_code == 401  # another client behind the proxy
        log = (server.folder / "server.log").read_text(errors="replace")
        assert "authentication failed for 203.0.113.1: unknown_token" in log
        assert "authentication failed for 203.0.113.2: unknown_token" in log


@pytest.mark.parametrize("trusted", [None, "127.0.0.0/8"])
def test_every_worker_trusts_forwarded_headers_only_as_told(tmp_path: Path, trusted: str | None) -> None:
    """The same with several workers (each its own uvicorn): the log records the address each
    worker believed (the limit counts per worker, so the log is what is asked here)."""
    args = ["--forwarded-allow-ips", trusted] if trusted else []
    with running(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, workers=2, serve_args=args) as server:
        for _ in range(4):
            assert _fail(server, "198.51.100.7").status_code == 401
        log = (server.folder / "server.log").read_text(errors="replace")
        believed = "198.51.100.7" if trusted else "127.0.0.1"
        assert f"authentication failed for {believed}: unknown_token" in log
        assert ("198.51.100.7" in log) == bool(trusted)


def test_forwarded_allow_ips_takes_addresses_and_networks_only(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from jiedai_flow.cli import main

    result = CliRunner().invoke(
        main, ["--db", "memory://", "serve", "--port", "0", "--forwarded-allow-ips", "10.0.0.1,proxy.local"]
    )
    assert result.exit_code == 2, result.output
    assert "proxy.local" in result.output


def test_a_limited_address_gets_in_with_a_valid_memory_token_only() -> None:
    """``memory://`` (demos, a mounted host's tests): the same rule, its tokens being memory already."""
    tokens = MemoryTokens()
    info, good = tokens.create("zhang.wei")
    auth = Authenticator(tokens, {"zhang.wei": ACTOR}, None, FailureLimiter(1, 60))
    with pytest.raises(NotAuthorizedException):
        auth.authenticate("Bearer jd_guess", "10.1.1.1")
    assert auth.authenticate(f"Bearer {good}", "10.1.1.1").actor.id == "zhang.wei"
    tokens.revoke(info.id)
    for credential in (good, "jd_guess"):
        with pytest.raises(RateLimited):
            auth.authenticate(f"Bearer {credential}", "10.1.1.1")


@pytest.mark.parametrize("secret", ["", "county1", "x" * 31])
def test_a_short_shared_secret_is_refused_before_the_service_starts(tmp_path: Path, secret: str) -> None:
    """An HS256 secret shorter than 256 bits can be guessed from one token offline, and online too
    (a valid JWT is served from a rate-limited address); an empty one would let anybody sign. The
    service does not start on it: exit 2 naming the variable, in both languages."""
    write_starter_files(tmp_path)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[1] / "src"),
        "JIEDAI_JWT_ISSUER": ISSUER,
        "JIEDAI_JWT_AUDIENCE": AUDIENCE,
        "JIEDAI_JWT_SECRET": secret,
    }
    command = [sys.executable, "-m", "jiedai_flow.cli", "--db", f"sqlite:///{tmp_path / 'j.db'}", "serve"]
    done = subprocess.run(
        [*command, "--port", "0"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "JIEDAI_JWT_SECRET" in done.stderr
    assert "至少 32 字节" in done.stderr
    assert "at least 32 bytes" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(ValueError, match="too short"):
        JWTSettings(ISSUER, AUDIENCE, secret)
    assert JWTSettings(ISSUER, AUDIENCE, SECRET).key == SECRET
