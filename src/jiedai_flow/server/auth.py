"""Who is calling 身份认证: API tokens and single sign-on JWTs, never a self-declared actor.

A request names no actor: the actor is whoever the token was made for (``jiedai token create
--actor ID``) or whom the JWT's actor claim names. Every failed authentication is logged (address
and reason, never the token) and counted per client address; past the limit the address gets 429
until the window passes — but for a valid credential, which is served still (see
:meth:`Authenticator.authenticate`). The 纪检监察 supervisor reads everything and changes nothing:
every write is refused before it reaches the engine.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import TYPE_CHECKING, Any

import jwt
from litestar.exceptions import HTTPException, NotAuthorizedException

from jiedai_flow.domain.model import Actor, Role
from jiedai_flow.errors import NotAuthorizedError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from jiedai_flow.server.settings import JWTSettings
    from jiedai_flow.server.tokens import TokenStore

log = logging.getLogger("jiedai_flow.server.auth")


class Principal:
    """The authenticated caller: the actor and how they were authenticated (recorded on audit events).

    A plain class, not attrs: the framework would validate an attrs dependency field by field."""

    __slots__ = ("actor", "method", "until")

    def __init__(self, actor: Actor, method: str, until: float | None = None) -> None:
        self.actor = actor
        self.method = method
        """``api-token:<id>`` or ``jwt:<issuer>``; ``web/…`` through a signed-in session."""
        self.until = until
        """When the credential expires (a JWT's ``exp``, seconds since the epoch); None: when revoked."""

    @property
    def read_only(self) -> bool:
        """The 纪检监察 supervisor changes nothing."""
        return Role.SUPERVISOR in self.actor.roles


class AuthFailure(Exception):
    """A failed authentication, with its reason for the log and the caller."""

    def __init__(self, reason: str, zh: str, en: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.zh = zh
        self.en = en


class RateLimited(HTTPException):
    status_code = 429


class FailureLimiter:
    """Failed authentications per client address in a sliding window (per worker process).

    It keeps at most ``max_clients`` addresses. Past that it first drops the addresses whose window
    has passed, then the ones that failed longest ago and are not blocked: an address it blocks
    stays blocked until its own window passes, however many other addresses fail meanwhile. When
    every address it keeps is blocked, failures from new addresses go uncounted (they still fail)
    until one of those windows passes, so memory stays bounded whatever the flood."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, collections.deque[float]] = {}
        """Oldest last failure first: an address that fails again moves to the end."""
        self._full_until = float("-inf")
        """While every address kept is blocked, when to look for room again (not on every failure)."""

    @property
    def size(self) -> int:
        """How many addresses are kept."""
        return len(self._failures)

    def holds(self, client: str) -> bool:
        """Whether failures of ``client`` are kept."""
        return client in self._failures

    def _trim(self, found: collections.deque[float], now: float) -> collections.deque[float]:
        while found and found[0] <= now - self.window:
            found.popleft()
        return found

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again; 0 when it may now (keeps nothing for ``client``)."""
        now = self._clock()
        with self._lock:
            found = self._failures.get(client)
            if found is None or len(self._trim(found, now)) < self.limit:
                return 0
            return max(1, int(found[0] + self.window - now) + 1)

    def failed(self, client: str) -> None:
        now = self._clock()
        with self._lock:
            found = self._failures.pop(client, None)
            if found is None:
                if len(self._failures) >= self.max_clients and not self._make_room(now):
                    return  # why: bounded memory; every address kept is blocked, none is let go
                found = collections.deque()
            self._trim(found, now).append(now)
            self._failures[client] = found  # at the end: the most recent failure

    def _make_room(self, now: float) -> bool:
        """Drop spent windows, then the oldest addresses not blocked, down to nine tenths of the
        bound (one sweep serves many new addresses); whether there is room for one more."""
        if now < self._full_until:
            return False
        keep = self.max_clients * 9 // 10
        for client, found in list(self._failures.items()):
            if not self._trim(found, now):
                del self._failures[client]
        for client, found in list(self._failures.items()):
            if len(self._failures) <= keep:
                break
            if len(found) < self.limit:
                del self._failures[client]
        if len(self._failures) < self.max_clients:
            return True
        self._full_until = now + 1.0
        return False


class Authenticator:
    """Turns a bearer credential into a :class:`Principal`."""

    def __init__(
        self,
        tokens: TokenStore,
        actors: Mapping[str, Actor],
        jwt_settings: JWTSettings | None,
        limiter: FailureLimiter,
    ) -> None:
        self.tokens = tokens
        self.actors = dict(actors)
        self.jwt = jwt_settings
        self.limiter = limiter

    def authenticate(self, authorization: str | None, client: str, *, web: bool = False) -> Principal:
        """The principal of an ``Authorization: Bearer …`` value; 401 (logged, counted) or 429.

        An address past the limit still gets in with a valid credential: behind one NAT (a whole
        county office on one address) one person's failures, or an attacker's, would otherwise
        lock out everyone. Checking a credential there gives a guesser nothing — a token is 256
        random bits, a JWT needs the signing key — since the limit is there to slow guessing and
        to log it, not to keep out who holds a credential. It stays cheap: a limited address's
        token is verified only if it is among the active ones held in memory
        (:meth:`TokenStore.may_be_active`), a JWT costs its signature check; anything else is a
        429 at once, logged as before."""
        wait = self.limiter.retry_after(client)
        if wait and not self._may_be_valid(authorization):
            raise self._limited(client, wait, "too many failures")
        try:
            return self._principal(authorization, web)
        except AuthFailure as failure:
            if wait:
                raise self._limited(client, wait, f"too many failures ({failure.reason})") from None
            self.limiter.failed(client)
            log.warning("authentication failed for %s: %s", client, failure.reason)
            from jiedai_flow.server import metrics

            metrics.AUTH_FAILURES.labels(failure.reason).inc()
            raise NotAuthorizedException(
                detail=f"{failure.zh} / {failure.en}",
                headers={"WWW-Authenticate": 'Bearer realm="jiedai"'},
            ) from None

    @staticmethod
    def _limited(client: str, wait: int, why: str) -> RateLimited:
        log.warning("authentication refused for %s: %s", client, why)
        return RateLimited(
            detail="认证失败次数过多，请稍后再试 / too many failed authentications; retry later",
            headers={"Retry-After": str(wait)},
        )

    def _may_be_valid(self, authorization: str | None) -> bool:
        """Whether a credential is worth checking for a limited address, decided without the
        database: a JWT (when they are accepted), or a token among the active ones in memory."""
        credential = _bearer(authorization)
        return bool(credential) and (self._is_jwt(credential) or self.tokens.may_be_active(credential))

    def _is_jwt(self, credential: str) -> bool:
        return credential.count(".") == 2 and self.jwt is not None

    def _principal(self, authorization: str | None, web: bool) -> Principal:
        credential = _bearer(authorization)
        if not credential:
            raise AuthFailure(
                "missing", "未认证：请在 Authorization 头给出 Bearer 令牌", "no bearer token in Authorization"
            )
        if self._is_jwt(credential):
            return self._from_jwt(credential, web)
        return self._from_token(credential, web)

    def _from_token(self, credential: str, web: bool) -> Principal:
        info = self.tokens.verify(credential)
        if info is None:
            raise AuthFailure("unknown_token", "令牌无效", "invalid token")
        if not info.active:
            raise AuthFailure("revoked_token", "令牌已吊销", "the token was revoked")
        actor = self.actors.get(info.actor_id)
        if actor is None:
            raise AuthFailure(
                "unknown_actor",
                f"令牌所属参与人 {info.actor_id} 不在参与人名录中",
                f"the token's actor {info.actor_id} is not in the actors directory",
            )
        return Principal(actor, ("web/" if web else "") + f"api-token:{info.id}")

    def token_active(self, token_id: str) -> bool:
        """Whether the token a web session was opened with is still good (revocation ends sessions)."""
        found = self.tokens.get(token_id)
        return found is not None and found.active

    def _from_jwt(self, credential: str, web: bool) -> Principal:
        settings = self.jwt
        assert settings is not None
        try:
            claims: dict[str, Any] = jwt.decode(
                credential,
                settings.key,
                algorithms=[settings.algorithm],
                audience=settings.audience or None,
                issuer=settings.issuer,
                leeway=settings.leeway,
                options={"require": ["exp", "iss", settings.actor_claim]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthFailure("jwt_expired", "JWT 已过期", "the JWT has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthFailure(
                "jwt_audience", "JWT 的受众不是本服务", "the JWT is for another audience"
            ) from None
        except jwt.InvalidIssuerError:
            raise AuthFailure(
                "jwt_issuer", "JWT 的签发者不受信任", "the JWT's issuer is not trusted"
            ) from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthFailure(
                "jwt_claims",
                f"JWT 缺少必需的声明 {error.claim}（须有 exp、iss 和 {settings.actor_claim}）",
                f"the JWT lacks the required claim {error.claim!r}"
                f" (exp, iss and {settings.actor_claim} are required)",
            ) from None
        except jwt.InvalidAlgorithmError:
            raise AuthFailure(
                "jwt_invalid",
                f"JWT 的签名算法不是本服务接受的 {settings.algorithm}",
                f"the JWT is not signed with {settings.algorithm}, the algorithm this service accepts",
            ) from None
        except jwt.InvalidSignatureError:
            raise AuthFailure("jwt_invalid", "JWT 签名不对", "the JWT's signature does not verify") from None
        except jwt.ImmatureSignatureError:
            raise AuthFailure(
                "jwt_invalid", "JWT 尚未生效（nbf、iat 在将来）", "the JWT is not valid yet"
            ) from None
        except jwt.PyJWTError:
            raise AuthFailure("jwt_invalid", "JWT 无效（格式不对）", "invalid JWT (malformed)") from None
        actor_id = str(claims.get(settings.actor_claim, ""))
        actor = self.actors.get(actor_id) or _actor_from_claims(actor_id, claims, settings)
        if actor is None:
            raise AuthFailure(
                "unknown_actor",
                f"JWT 所指参与人 {actor_id} 不在名录中，令牌也没有给出角色",
                f"the JWT's actor {actor_id} is not in the directory and the token gives no roles",
            )
        method = ("web/" if web else "") + f"jwt:{settings.issuer}"
        return Principal(actor, method, until=float(claims["exp"]))


def _bearer(authorization: str | None) -> str:
    """The credential of an ``Authorization: Bearer …`` value; "" when there is none."""
    scheme, _, credential = (authorization or "").strip().partition(" ")
    return credential.strip() if scheme.lower() == "bearer" else ""


def _actor_from_claims(actor_id: str, claims: Mapping[str, Any], settings: JWTSettings) -> Actor | None:
    roles = claims.get(settings.roles_claim)
    if not actor_id or not isinstance(roles, list) or not roles:
        return None
    try:
        return Actor(
            id=actor_id,
            name=str(claims.get(settings.name_claim) or actor_id),
            roles=frozenset(Role.parse(str(r)) for r in roles),
            unit=str(claims.get(settings.unit_claim) or ""),
            levels=frozenset(str(x) for x in claims.get(settings.levels_claim) or ()),
        )
    except Exception as error:
        raise AuthFailure(
            "jwt_claims", "JWT 的角色声明无效", f"the JWT's role claims are invalid: {error}"
        ) from None


def refuse_supervisor(principal: Principal, what: str) -> None:
    """The 纪检监察 supervisor is read-only everywhere: a clear 403 before anything runs."""
    if principal.read_only:
        raise NotAuthorizedError(
            "",
            what,
            principal.actor.id,
            "纪检监察人员只读，不能办理或修改",
            "the supervisor reads and changes nothing",
        )
