"""API tokens 接口令牌: ``jiedai token create|list|revoke`` and the service's check of a bearer token.

A token is 32 random bytes, shown once as ``jd_…``; the database keeps only its SHA-256 (a token
is as strong as a random key, so a fast hash is the right one — a slow password hash buys nothing
and costs every request). Revoking sets ``revoked_at``; a revoked token never works again.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

import attrs
import sqlalchemy as sa

from jiedai_flow.domain.records import new_id
from jiedai_flow.storage import schema

if TYPE_CHECKING:
    from jiedai_flow.process.engine import Engine
    from jiedai_flow.storage.sql.store import SQLStore

PREFIX = "jd_"


@attrs.frozen
class TokenInfo:
    """What is known of a token without the token: its id, whose it is, when made and revoked."""

    id: str
    actor_id: str
    label: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def digest_of(token: str) -> str:
    """The stored form of a token: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token() -> str:
    """A fresh token: ``jd_`` and 43 URL-safe characters (32 random bytes)."""
    return PREFIX + secrets.token_urlsafe(32)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(value: datetime | str) -> datetime:
    """A stored moment as SQLAlchemy reads it (naive UTC), from what the driver gave."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


class TokenStore(Protocol):
    """Where tokens are kept: the engine's SQL database, or memory for ``memory://``."""

    def create(self, actor_id: str, label: str = "") -> tuple[TokenInfo, str]: ...
    def list(self, actor_id: str | None = None) -> list[TokenInfo]: ...
    def revoke(self, token_id: str) -> TokenInfo | None: ...
    def verify(self, token: str) -> TokenInfo | None: ...


_VERIFY = sa.select(
    schema.api_tokens.c.id,
    schema.api_tokens.c.actor_id,
    schema.api_tokens.c.label,
    schema.api_tokens.c.created_at,
    schema.api_tokens.c.revoked_at,
).where(schema.api_tokens.c.digest == sa.bindparam("digest"))
"""The one read every request makes (compiled once by the store that runs it)."""


class SQLTokens:
    """Tokens in ``jd_api_tokens`` (migration 0008) of a SQLAlchemy database; ``store``, when given,
    reads the token of each request on its reader connection (one round trip, no pool checkout)."""

    def __init__(self, engine: sa.Engine, store: SQLStore | None = None) -> None:
        self.engine = engine
        self.store = store

    def create(self, actor_id: str, label: str = "") -> tuple[TokenInfo, str]:
        token = new_token()
        info = TokenInfo(new_id(), actor_id, label, _now())
        with self.engine.begin() as conn:
            conn.execute(
                schema.api_tokens.insert().values(
                    id=info.id,
                    actor_id=actor_id,
                    label=label,
                    digest=digest_of(token),
                    created_at=info.created_at,
                )
            )
        return info, token

    def list(self, actor_id: str | None = None) -> list[TokenInfo]:
        t = schema.api_tokens
        query = sa.select(t.c.id, t.c.actor_id, t.c.label, t.c.created_at, t.c.revoked_at).order_by(
            t.c.created_at, t.c.id
        )
        if actor_id is not None:
            query = query.where(t.c.actor_id == actor_id)
        with self.engine.connect() as conn:
            return [TokenInfo(*row) for row in conn.execute(query)]

    def revoke(self, token_id: str) -> TokenInfo | None:
        t = schema.api_tokens
        with self.engine.begin() as conn:
            conn.execute(
                t.update().where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=_now())
            )
        found = [i for i in self.list() if i.id == token_id]
        return found[0] if found else None

    def verify(self, token: str) -> TokenInfo | None:
        if self.store is not None:
            rows = self.store.read_rows(_VERIFY, {"digest": digest_of(token)})
            if not rows:
                return None
            token_id, actor_id, label, created, revoked = rows[0]
            return TokenInfo(token_id, actor_id, label, _naive(created), _naive(revoked) if revoked else None)
        t = schema.api_tokens
        query = sa.select(t.c.id, t.c.actor_id, t.c.label, t.c.created_at, t.c.revoked_at).where(
            t.c.digest == digest_of(token)
        )
        # every request pays this read: in autocommit it is one round trip, not BEGIN, SELECT, ROLLBACK
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(query).first()
        return TokenInfo(*row) if row is not None else None


class MemoryTokens:
    """Tokens for an engine on ``memory://`` (tests, demos): gone with the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_digest: dict[str, TokenInfo] = {}

    def create(self, actor_id: str, label: str = "") -> tuple[TokenInfo, str]:
        token = new_token()
        info = TokenInfo(new_id(), actor_id, label, _now())
        with self._lock:
            self._by_digest[digest_of(token)] = info
        return info, token

    def list(self, actor_id: str | None = None) -> list[TokenInfo]:
        with self._lock:
            found = list(self._by_digest.values())
        return [i for i in found if actor_id is None or i.actor_id == actor_id]

    def revoke(self, token_id: str) -> TokenInfo | None:
        with self._lock:
            for key, info in self._by_digest.items():
                if info.id == token_id:
                    if info.revoked_at is None:
                        info = self._by_digest[key] = attrs.evolve(info, revoked_at=_now())
                    return info
        return None

    def verify(self, token: str) -> TokenInfo | None:
        with self._lock:
            return self._by_digest.get(digest_of(token))


def tokens_for(engine: Engine) -> TokenStore:
    """The token store beside the engine's: its SQL database, or memory."""
    sql = getattr(engine.store, "db", None)
    if isinstance(sql, sa.Engine):
        from jiedai_flow.storage.sql.store import SQLStore

        return SQLTokens(sql, engine.store if isinstance(engine.store, SQLStore) else None)
    found = _MEMORY.get(engine.store)
    if found is None:
        found = _MEMORY[engine.store] = MemoryTokens()
    return found


_MEMORY: weakref.WeakKeyDictionary[object, MemoryTokens] = weakref.WeakKeyDictionary()
"""Memory tokens per memory store: they live as long as the receptions they guard."""
