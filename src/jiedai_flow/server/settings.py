"""How the service is set up 服务配置: the database, the actors and standards files, single sign-on
(JWT) and the limits on failed sign-ins. ``jiedai serve`` builds it from its options and the
environment, and hands it to each uvicorn worker through ``JIEDAI_SERVER_SETTINGS``."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import attrs

SETTINGS_ENV = "JIEDAI_SERVER_SETTINGS"


MIN_SECRET_BYTES = 32
"""The shortest HS256 shared secret accepted: 256 bits, the hash's size (RFC 7518, section 3.2)."""


@attrs.frozen
class JWTSettings:
    """Tokens of the host system's single sign-on: who issues them, for whom, with which key, and
    which claims name the actor.

    The actor is the one in the actors file whose id is the ``actor_claim``; an id the file does not
    know is built from the claims (name, roles, unit, levels) when the token carries roles."""

    issuer: str
    audience: str
    key: str
    """The HS256 shared secret, or the RS256 public key (PEM)."""
    algorithm: str = "HS256"
    actor_claim: str = "sub"
    name_claim: str = "name"
    roles_claim: str = "roles"
    unit_claim: str = "unit"
    levels_claim: str = "levels"
    leeway: int = 30
    """Seconds of clock difference allowed on ``exp`` and ``nbf``."""

    def __attrs_post_init__(self) -> None:
        # why: a short shared secret can be guessed offline from any one token, and online too
        # (a valid JWT is served from a rate-limited address); RFC 7518, section 3.2 asks for 256 bits
        if self.algorithm == "HS256" and len(self.key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"JIEDAI_JWT_SECRET 太短（{len(self.key.encode())} 字节）：HS256 的共享密钥至少 "
                f"{MIN_SECRET_BYTES} 字节，可用 python -c 'import secrets; print(secrets.token_urlsafe(32))'"
                " 生成"
                f" / JIEDAI_JWT_SECRET is too short ({len(self.key.encode())} bytes): an HS256 shared secret"
                f" needs at least {MIN_SECRET_BYTES} bytes (RFC 7518, section 3.2)"
            )

    @classmethod
    def from_env(cls) -> JWTSettings | None:
        """``JIEDAI_JWT_ISSUER``, ``JIEDAI_JWT_AUDIENCE`` and ``JIEDAI_JWT_SECRET`` (HS256) or
        ``JIEDAI_JWT_PUBLIC_KEY_FILE`` (RS256); ``JIEDAI_JWT_ACTOR_CLAIM`` etc. map the claims."""
        issuer = os.environ.get("JIEDAI_JWT_ISSUER", "")
        if not issuer:
            return None
        key_file = os.environ.get("JIEDAI_JWT_PUBLIC_KEY_FILE", "")
        key = (
            Path(key_file).read_text(encoding="utf-8")
            if key_file
            else os.environ.get("JIEDAI_JWT_SECRET", "")
        )
        claims = {
            f"{name}_claim": os.environ[f"JIEDAI_JWT_{name.upper()}_CLAIM"]
            for name in ("actor", "name", "roles", "unit", "levels")
            if os.environ.get(f"JIEDAI_JWT_{name.upper()}_CLAIM")
        }
        found = cls(
            issuer=issuer,
            audience=os.environ.get("JIEDAI_JWT_AUDIENCE", ""),
            key=key,
            algorithm="RS256" if key_file else "HS256",
        )
        return attrs.evolve(found, **claims)  # type: ignore[arg-type]


@attrs.frozen
class Settings:
    """Everything a worker needs to build the same application as its siblings."""

    db: str
    actors: str = "jiedai-actors.toml"
    standards: tuple[str, ...] = ()
    calendar: tuple[str, ...] = ()
    jwt: JWTSettings | None = None
    session_secret: str = attrs.field(factory=lambda: secrets.token_hex(16))
    """Encrypts the web session cookie; the same in every worker (``jiedai serve`` makes one)."""
    secure_cookies: bool = False
    """Mark the session cookie ``Secure`` (behind HTTPS)."""
    auth_failures: int = 10
    """Failed authentications allowed per client address in :attr:`auth_window` seconds."""
    auth_window: float = 60.0
    require_if_match: bool = False
    """Answer a command on an existing reception (a trigger, an approval operation) that carries no
    ``If-Match``, or ``If-Match: *``, with 428, so that no client updates what it has not read
    (``--require-if-match``)."""

    def to_env(self) -> str:
        return json.dumps(attrs.asdict(self), ensure_ascii=False)

    @classmethod
    def from_env(cls) -> Settings:
        raw = json.loads(os.environ[SETTINGS_ENV])
        jwt = JWTSettings(**raw.pop("jwt")) if raw.get("jwt") else None
        raw.pop("jwt", None)
        raw["standards"] = tuple(raw.get("standards", ()))
        raw["calendar"] = tuple(raw.get("calendar", ()))
        return cls(jwt=jwt, **raw)
