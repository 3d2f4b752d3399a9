"""Signing in to the pages with a single sign-on JWT, through a real ``jiedai serve`` of its own (the
security tests' server has used up its failed-sign-in allowance by then): the session ends with the
JWT, and a user the token alone describes uses the pages."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import httpx
import jwt
import pytest

from tests._http_server import running
from tests.test_http_security import AUDIENCE, ISSUER, SECRET  # the same test single sign-on

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests._http_server import Server

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


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
