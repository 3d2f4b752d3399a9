"""Signing in to the pages with a single sign-on JWT, through a real ``jiedai serve`` of its own (the
security tests' server has used up its failed-sign-in allowance by then): the session ends with the
JWT, and a user the token alone describes uses the pages. A session lasts eight hours from sign-in
however busy it is, with an API token or a JWT."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
import jwt
import pytest
import sqlalchemy as sa

from jiedai_flow.server.web.pages import WEB_SESSION
from jiedai_flow.storage import schema
from tests._http_server import running
from tests.test_http_security import AUDIENCE, ISSUER, SECRET  # the same test single sign-on

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests._http_server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-sso")
    env = {"JIEDAI_JWT_ISSUER": ISSUER, "JIEDAI_JWT_AUDIENCE": AUDIENCE, "JIEDAI_JWT_SECRET": SECRET}
    with running(f"sqlite:///{folder / 'jiedai.db'}", folder, env=env) as found:
        yield found


def _jwt(sub: str = "zhang.wei", *, ttl: int = 300, **claims: object) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + ttl, **claims}
    return jwt.encode(body, SECRET, "HS256")


def _web_sign_in(web: httpx.Client, credential: str) -> None:
    """Sign ``web`` in to the pages with ``credential``, the sign-in form's CSRF token read from the
    page as a browser submits it."""
    form = web.get("/web/login")
    found = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert found is not None
    signed = web.post("/web/login", data={"token": credential, "csrf": found.group(1)})
    assert signed.status_code in (302, 303), signed.text[:300]


def test_a_web_session_opened_by_a_jwt_ends_with_the_jwt(server: Server) -> None:
    """Signed in with a JWT valid for two seconds, the pages work, then stop when it expires (the
    API refuses the JWT from then on; the session does not outlive it by hours)."""
    with httpx.Client(base_url=server.base, timeout=30) as web:
        _web_sign_in(web, _jwt(ttl=2))
        assert web.get("/web/").status_code == 200
        time.sleep(3)
        after = web.get("/web/")
        assert after.status_code in (302, 303, 401)
        assert "/web/login" in after.headers.get("location", "/web/login")


def test_a_jwt_user_known_only_by_the_tokens_claims_uses_the_pages(server: Server) -> None:
    """The single sign-on may name someone the actors file does not list, with their roles in the
    token (docs/http.md): such a user signs in to the pages and sees their lists, as over the API."""
    with httpx.Client(base_url=server.base, timeout=30) as web:
        _web_sign_in(web, _jwt("sso.only", name="单点用户", roles=["approver"]))
        home = web.get("/web/")
        assert home.status_code == 200
        assert "单点用户" in home.text


def _signed_in_earlier(server: Server, actor_id: str, hours: float) -> None:
    """Move the sign-in of ``actor_id``'s web sessions ``hours`` back: their rows' creation time, as
    the server wrote it (naive UTC), without waiting."""
    t = schema.api_tokens
    engine = sa.create_engine(server.db)
    try:
        with engine.begin() as conn:
            rows = conn.execute(
                sa.select(t.c.id, t.c.created_at).where(t.c.label == WEB_SESSION, t.c.actor_id == actor_id)
            ).all()
            assert rows, f"no web session of {actor_id}"
            for row_id, created in rows:
                earlier = created - timedelta(hours=hours)
                conn.execute(t.update().where(t.c.id == row_id).values(created_at=earlier))
    finally:
        engine.dispose()


def _refused(response: httpx.Response) -> bool:
    return response.status_code in (302, 303, 401) and "/web/login" in response.headers.get(
        "location", "/web/login"
    )


def test_a_web_session_opened_by_an_api_token_ends_eight_hours_after_sign_in(server: Server) -> None:
    """An API token does not expire, and the session cookie is sent again on every page, good for
    eight more hours: still the session ends eight hours after sign-in, however busy it has been."""
    with httpx.Client(base_url=server.base, timeout=30) as web:
        _web_sign_in(web, server.token("zhao.min"))
        assert web.get("/web/").status_code == 200
        _signed_in_earlier(server, "zhao.min", 7.5)
        assert web.get("/web/").status_code == 200  # in use, within the eight hours
        _signed_in_earlier(server, "zhao.min", 0.6)
        assert _refused(web.get("/web/"))
        assert _refused(web.get("/web/list"))
        with httpx.Client(base_url=server.base, timeout=30) as again:  # signing in again opens a new one
            _web_sign_in(again, server.token("zhao.min"))
            assert again.get("/web/").status_code == 200


def test_a_web_session_opened_by_a_long_jwt_ends_eight_hours_after_sign_in(server: Server) -> None:
    """A JWT good for a day still opens a session of eight hours: the earlier of the two ends it."""
    with httpx.Client(base_url=server.base, timeout=30) as web:
        _web_sign_in(web, _jwt("sun.hao", ttl=24 * 3600))
        assert web.get("/web/").status_code == 200
        _signed_in_earlier(server, "sun.hao", 8.1)
        assert _refused(web.get("/web/"))
