"""API tokens 接口令牌: ``jiedai token create|list|revoke`` and the service's check of a bearer token.

A token is 32 random bytes, shown once as ``jd_…``; the database keeps only its SHA-256 (a token
is as strong as a random key, so a fast hash is the right one — a slow password hash buys nothing
and costs every request). Revoking sets ``revoked_at``; a revoked token never works again.

On PostgreSQL the service keeps the tokens it has verified in memory (:class:`RevocationWatch`): a
trigger (migration 0009) announces every change of a token row on ``LISTEN jd_api_tokens``, and the
announcement empties the memory. Elsewhere every request reads its token.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets
import select
import threading
import time
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

import attrs
import sqlalchemy as sa

from jiedai_flow.domain.records import new_id
from jiedai_flow.storage import schema

if TYPE_CHECKING:
    from collections.abc import Callable

    import psycopg

    from jiedai_flow.process.engine import Engine
    from jiedai_flow.storage.sql.store import SQLStore

log = logging.getLogger("jiedai_flow.server.tokens")

PREFIX = "jd_"
CHANNEL = "jd_api_tokens"
"""Where PostgreSQL announces a changed token row (the trigger of migration 0009)."""


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
    def get(self, token_id: str) -> TokenInfo | None: ...
    def revoke(self, token_id: str) -> TokenInfo | None: ...
    def verify(self, token: str) -> TokenInfo | None: ...
    def may_be_active(self, token: str) -> bool:
        """Whether ``token`` may be active, answered from memory: a rate-limited address's token is
        verified only if so. A yes may be wrong (then :meth:`verify` says no); a no is right, but for
        a token made in the last few seconds."""
        ...

    def purge(self, label: str, before: datetime) -> int: ...
    def close(self) -> None: ...


_INFO = sa.select(
    schema.api_tokens.c.id,
    schema.api_tokens.c.actor_id,
    schema.api_tokens.c.label,
    schema.api_tokens.c.created_at,
    schema.api_tokens.c.revoked_at,
)
"""The columns of a :class:`TokenInfo`, in its order."""
_VERIFY = _INFO.where(schema.api_tokens.c.digest == sa.bindparam("digest"))
"""The one read every request makes (compiled once by the store that runs it)."""
_ACTIVE = sa.select(schema.api_tokens.c.digest).where(schema.api_tokens.c.revoked_at.is_(None))
"""The digests of the tokens in force, which a rate-limited address's token must be among."""


class RevocationWatch:
    """Verified tokens kept in memory while PostgreSQL says no token changed 令牌缓存.

    A thread holds one connection of its own in ``LISTEN jd_api_tokens``; every announcement — a
    token revoked or deleted, by ``jiedai token revoke`` or by hand — empties the memory. What makes
    it safe:

    - Only active tokens are kept; an unknown or revoked one is read again every time.
    - Before trusting what it keeps, a request looks at the listening socket without waiting: an
      announcement that has arrived but is not yet handled empties the memory first.
    - A read that raced an announcement is not kept (a generation number, taken before the read).
    - While the listening connection is down nothing is kept or trusted (every request reads), and
      what was kept before is dropped when it comes back.
    - Nothing is trusted for longer than ``max_age`` seconds, whatever happens.
    """

    def __init__(self, engine: sa.Engine, *, max_age: float = 60.0, retry: float = 1.0) -> None:
        self.engine = engine
        self.max_age = max_age
        self.retry = retry
        self.hits = 0
        """Requests answered from memory (for tests and metrics)."""
        self._kept: dict[str, tuple[TokenInfo, float]] = {}
        self._generation = 0
        self._socket: int | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._up = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="jiedai-token-watch", daemon=True)
        self._thread.start()

    @property
    def listening(self) -> bool:
        return self._up.is_set()

    def wait_listening(self, timeout: float = 10.0) -> bool:
        """Whether the watch listens within ``timeout`` seconds (tests; the service never waits)."""
        return self._up.wait(timeout)

    def get(self, digest: str) -> TokenInfo | None:
        """The active token kept for ``digest``, or None (then read it, with :meth:`generation`)."""
        sock = self._socket
        if sock is None:
            return None
        look = select.poll()  # one per call: a poll object must not be polled by two threads at once
        look.register(sock, select.POLLIN)
        pending = look.poll(0)  # a descriptor closed under us answers POLLNVAL: untrusted as well
        if pending:
            self._forget()
            return None
        found = self._kept.get(digest)
        if found is None or time.monotonic() - found[1] > self.max_age:
            return None
        self.hits += 1
        return found[0]

    def generation(self) -> int:
        """Taken before a read; :meth:`keep` refuses the read if an announcement came in between."""
        return self._generation

    def keep(self, digest: str, info: TokenInfo, generation: int) -> None:
        if not info.active or not self._up.is_set():
            return
        with self._lock:
            if generation != self._generation:
                return
            if len(self._kept) >= 10_000:  # why: bounded memory, whatever the number of tokens
                self._kept.clear()
            self._kept[digest] = (info, time.monotonic())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _forget(self) -> None:
        with self._lock:
            self._generation += 1
            self._kept.clear()

    def _listen(self) -> None:
        dialect = self.engine.dialect
        while not self._stop.is_set():
            conn: psycopg.Connection[Any] | None = None
            try:
                args, kwargs = dialect.create_connect_args(self.engine.url)
                conn = cast("psycopg.Connection[Any]", dialect.connect(*args, **kwargs))
                conn.autocommit = True
                conn.execute(f"LISTEN {CHANNEL}")
                self._forget()  # what changed while nobody listened is not known: start empty
                self._socket = conn.fileno()
                self._up.set()
                while not self._stop.is_set():
                    for _note in conn.notifies(timeout=0.25):
                        self._forget()
            except Exception as error:
                if not self._stop.is_set():
                    log.warning("token watch lost its connection (%s); reading tokens meanwhile", error)
            finally:
                # untrusted before the socket closes, so no request looks at a descriptor reused since
                self._up.clear()
                self._socket = None
                self._forget()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        conn.close()
            self._stop.wait(self.retry)


class ActiveDigests:
    """The digests of every active token, read whole when asked and at most every ``max_age``
    seconds: what a rate-limited address's token is looked up in, so its requests cost a hash and a
    set lookup, however many — not a database read each (nothing is read while no address is
    limited). A token made since the last read is known at most ``max_age`` seconds later; one
    revoked since is held as long, which costs its requests a read each and changes no answer."""

    def __init__(
        self,
        read: Callable[[], frozenset[str]],
        *,
        max_age: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self.max_age = max_age
        self._clock = clock
        self._digests: frozenset[str] = frozenset()
        self._read_at = float("-inf")
        self._reading = threading.Lock()
        self.reads = 0
        """How often the digests were read (for tests)."""

    def __contains__(self, digest: object) -> bool:
        now = self._clock()
        # read lately, or another thread reads now: what is held answers (no read per request)
        if now - self._read_at >= self.max_age and self._reading.acquire(blocking=False):
            try:
                self._read_at = now
                self.reads += 1
                self._digests = self._read()
            except Exception as error:  # the database's trouble: what is held answers meanwhile
                log.warning("could not read the active tokens (%s); using those read before", error)
            finally:
                self._reading.release()
        return digest in self._digests


class SQLTokens:
    """Tokens in ``jd_api_tokens`` (migration 0008) of a SQLAlchemy database; ``store``, when given,
    reads the token of each request on its reader connection (one round trip, no pool checkout);
    ``watch``, when given, keeps verified tokens in memory (PostgreSQL)."""

    def __init__(
        self, engine: sa.Engine, store: SQLStore | None = None, watch: RevocationWatch | None = None
    ) -> None:
        self.engine = engine
        self.store = store
        self.watch = watch
        self.active = ActiveDigests(self._active_digests)

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
        query = _INFO.order_by(t.c.created_at, t.c.id)
        if actor_id is not None:
            query = query.where(t.c.actor_id == actor_id)
        with self.engine.connect() as conn:
            return [TokenInfo(*row) for row in conn.execute(query)]

    def get(self, token_id: str) -> TokenInfo | None:
        return self._first(schema.api_tokens.c.id == token_id)

    def revoke(self, token_id: str) -> TokenInfo | None:
        t = schema.api_tokens
        with self.engine.begin() as conn:
            conn.execute(
                t.update().where(t.c.id == token_id, t.c.revoked_at.is_(None)).values(revoked_at=_now())
            )
        return self.get(token_id)

    def purge(self, label: str, before: datetime) -> int:
        """Delete the rows labelled ``label`` made before ``before`` (naive UTC): spent web sessions."""
        t = schema.api_tokens
        with self.engine.begin() as conn:
            done = conn.execute(t.delete().where(t.c.label == label, t.c.created_at < before))
        return int(done.rowcount or 0)

    def verify(self, token: str) -> TokenInfo | None:
        digest = digest_of(token)
        watch = self.watch
        if watch is None:
            return self._read(digest)
        found = watch.get(digest)
        if found is not None:
            return found
        generation = watch.generation()
        found = self._read(digest)
        if found is not None:
            watch.keep(digest, found, generation)
        return found

    def may_be_active(self, token: str) -> bool:
        return digest_of(token) in self.active

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()

    def _active_digests(self) -> frozenset[str]:
        # why the store's reader: this runs on the event loop, where waiting for a pooled connection
        # that command threads hold would stall every request of the worker
        if self.store is not None:
            return frozenset(digest for (digest,) in self.store.read_rows(_ACTIVE, {}))
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            return frozenset(conn.execute(_ACTIVE).scalars())

    def _read(self, digest: str) -> TokenInfo | None:
        if self.store is not None:
            rows = self.store.read_rows(_VERIFY, {"digest": digest})
            if not rows:
                return None
            token_id, actor_id, label, created, revoked = rows[0]
            return TokenInfo(token_id, actor_id, label, _naive(created), _naive(revoked) if revoked else None)
        return self._first(schema.api_tokens.c.digest == digest)

    def _first(self, where: sa.ColumnElement[bool]) -> TokenInfo | None:
        # every request pays this read: in autocommit it is one round trip, not BEGIN, SELECT, ROLLBACK
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            row = conn.execute(_INFO.where(where)).first()
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

    def get(self, token_id: str) -> TokenInfo | None:
        return next((i for i in self.list() if i.id == token_id), None)

    def purge(self, label: str, before: datetime) -> int:
        with self._lock:
            spent = [k for k, i in self._by_digest.items() if i.label == label and i.created_at < before]
            for key in spent:
                del self._by_digest[key]
        return len(spent)

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

    def may_be_active(self, token: str) -> bool:
        found = self.verify(token)  # memory already
        return found is not None and found.active

    def close(self) -> None:
        """Nothing to let go of."""


def tokens_for(engine: Engine, *, watch: bool = False) -> TokenStore:
    """The token store beside the engine's: its SQL database, or memory. ``watch``: on PostgreSQL
    through psycopg (and a system with ``poll``, not Windows), keep verified tokens in memory until
    a token changes (:class:`RevocationWatch`; the service)."""
    sql = getattr(engine.store, "db", None)
    if isinstance(sql, sa.Engine):
        from jiedai_flow.storage.sql.store import SQLStore

        store = engine.store if isinstance(engine.store, SQLStore) else None
        psycopg = (sql.dialect.name, sql.dialect.driver) == ("postgresql", "psycopg")
        watching = RevocationWatch(sql) if watch and psycopg and hasattr(select, "poll") else None
        return SQLTokens(sql, store, watching)
    found = _MEMORY.get(engine.store)
    if found is None:
        found = _MEMORY[engine.store] = MemoryTokens()
    return found


_MEMORY: weakref.WeakKeyDictionary[object, MemoryTokens] = weakref.WeakKeyDictionary()
"""Memory tokens per memory store: they live as long as the receptions they guard."""
