"""Verified API tokens kept in memory on PostgreSQL, dropped when any token changes (令牌缓存).

Against the real server: the trigger of migration 0009 announces every change of a token row, by
``jiedai token revoke`` or by hand; the listening connection can be killed under the watch.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import TYPE_CHECKING

import httpx
import pytest
import sqlalchemy as sa
from alembic import command

from jiedai_flow.server.tokens import RevocationWatch, SQLTokens, digest_of, tokens_for
from jiedai_flow.storage import migrate
from jiedai_flow.testing import make_engine
from tests._http_server import eventually, running
from tests.databases import private_database

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests._http_server import Server

DEADLINE = 5.0
"""How long an announcement may take to arrive (it takes milliseconds; the bound only stops a hang)."""

REVOKE_BY_HAND = sa.text("UPDATE jd_api_tokens SET revoked_at = now() WHERE id = :id")


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    url_iter = private_database("postgresql", tmp_path)
    url = next(url_iter)
    migrate.upgrade(url)
    yield url
    for _ in url_iter:  # drops the schema
        pass


@pytest.fixture
def watched(pg_url: str) -> Iterator[tuple[SQLTokens, sa.Engine]]:
    engine = sa.create_engine(pg_url)
    tokens = SQLTokens(engine, watch=RevocationWatch(engine, retry=0.05))
    assert tokens.watch is not None
    assert tokens.watch.wait_listening()
    yield tokens, engine
    tokens.close()
    engine.dispose()


def _revoked(tokens: SQLTokens, token: str) -> bool:
    found = tokens.verify(token)
    return found is not None and not found.active


def test_a_verified_token_is_answered_from_memory(watched: tuple[SQLTokens, sa.Engine]) -> None:
    tokens, engine = watched
    assert tokens.watch is not None
    info, token = SQLTokens(engine).create("zhang.wei", "oa")
    assert tokens.verify(token) == info
    assert tokens.watch.hits == 0
    assert tokens.verify(token) == info
    assert tokens.watch.hits == 1
    assert tokens.verify("jd_no-such-token") is None  # an unknown token is never kept
    assert tokens.verify("jd_no-such-token") is None
    assert tokens.watch.hits == 1


def test_jiedai_token_revoke_elsewhere_ends_the_kept_token(watched: tuple[SQLTokens, sa.Engine]) -> None:
    tokens, engine = watched
    assert tokens.watch is not None
    info, token = SQLTokens(engine).create("zhang.wei")
    tokens.verify(token)
    assert tokens.verify(token) == info  # kept
    elsewhere = sa.create_engine(engine.url)  # as `jiedai token revoke` would, on its own connection
    SQLTokens(elsewhere).revoke(info.id)
    elsewhere.dispose()
    assert eventually(lambda: _revoked(tokens, token))
    hits = tokens.watch.hits
    for _ in range(3):
        assert _revoked(tokens, token)  # a revoked token is read every time, never kept
    assert tokens.watch.hits == hits


def test_a_revocation_by_hand_in_sql_is_announced_too(watched: tuple[SQLTokens, sa.Engine]) -> None:
    tokens, engine = watched
    info, token = SQLTokens(engine).create("zhang.wei")
    tokens.verify(token)
    with engine.begin() as conn:
        conn.execute(REVOKE_BY_HAND, {"id": info.id})
    assert eventually(lambda: _revoked(tokens, token))
    other, kept = SQLTokens(engine).create("li.na")
    tokens.verify(kept)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM jd_api_tokens WHERE id = :id"), {"id": other.id})
    assert eventually(lambda: tokens.verify(kept) is None)


def test_a_read_that_raced_an_announcement_is_not_kept(watched: tuple[SQLTokens, sa.Engine]) -> None:
    tokens, engine = watched
    watch = tokens.watch
    assert watch is not None
    info, token = SQLTokens(engine).create("zhang.wei")
    before = watch.generation()
    first = tokens.verify(token)
    assert first == info  # kept, as generation `before`
    other, _ = SQLTokens(engine).create("li.na")
    SQLTokens(engine).revoke(other.id)  # any token's change empties the memory
    assert eventually(lambda: watch.generation() != before)
    watch.keep(digest_of(token), info, before)  # a read begun before the announcement
    assert watch.get(digest_of(token)) is None


def test_without_its_connection_the_watch_trusts_nothing_then_listens_again(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    watch = RevocationWatch(engine, retry=0.5)
    tokens = SQLTokens(engine, watch=watch)
    try:
        assert watch.wait_listening()
        info, token = SQLTokens(engine).create("zhang.wei")
        tokens.verify(token)
        with engine.begin() as conn:  # the listening backend killed: no announcement can arrive now
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE 'LISTEN jd_api_tokens%' AND pid <> pg_backend_pid()"
                )
            )
        assert eventually(lambda: not watch.listening)
        with engine.begin() as conn:  # revoked by hand while nobody listens
            conn.execute(REVOKE_BY_HAND, {"id": info.id})
        hits = watch.hits
        assert _revoked(tokens, token)  # read again, not answered from what was kept before the loss
        assert watch.hits == hits
        assert watch.wait_listening(DEADLINE)  # and it comes back on its own
        assert _revoked(tokens, token)
        fresh, again = SQLTokens(engine).create("li.na")
        tokens.verify(again)
        assert tokens.verify(again) == fresh
        assert watch.hits == hits + 1
    finally:
        tokens.close()
        engine.dispose()


def test_nothing_kept_is_trusted_past_its_age(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    tokens = SQLTokens(engine, watch=RevocationWatch(engine, max_age=0.05))
    try:
        assert tokens.watch is not None
        assert tokens.watch.wait_listening()
        _info, token = SQLTokens(engine).create("zhang.wei")
        tokens.verify(token)
        time.sleep(0.1)
        hits = tokens.watch.hits
        tokens.verify(token)
        assert tokens.watch.hits == hits
    finally:
        tokens.close()
        engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_only_postgresql_with_psycopg_keeps_tokens(backend: str, tmp_path: Path) -> None:
    for url in private_database(backend, tmp_path):
        engine = make_engine(url=url)
        try:
            tokens = tokens_for(engine, watch=True)
            assert isinstance(tokens, SQLTokens)
            assert (tokens.watch is not None) is (backend == "postgresql")
            plain = tokens_for(engine)
            assert isinstance(plain, SQLTokens)
            assert plain.watch is None
            tokens.close()
        finally:
            engine.store.close()


def test_the_trigger_is_installed_and_removed_with_its_revision(pg_url: str) -> None:
    engine = sa.create_engine(pg_url)
    find = sa.text(
        "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgname = 'jd_api_tokens_changed' AND c.relnamespace = current_schema()::regnamespace"
    )
    try:
        with engine.connect() as conn:
            assert conn.execute(find).scalar() == 1
        with engine.begin() as conn:
            command.downgrade(migrate._config(conn), "0008")
        with engine.connect() as conn:
            assert conn.execute(find).scalar() == 0
        assert migrate.upgrade(pg_url) == migrate.head_revision()
        with engine.connect() as conn:
            assert conn.execute(find).scalar() == 1
    finally:
        engine.dispose()


def test_through_the_service_a_token_revoked_by_the_command_line_stops_working(tmp_path: Path) -> None:
    """``jiedai serve`` on PostgreSQL answers a known token from memory; ``jiedai token revoke`` in
    another process ends it at once (the next requests are 401, every one of them)."""
    (tmp_path / "serve").mkdir()
    for url in private_database("postgresql", tmp_path):
        with running(url, tmp_path / "serve") as server:
            _revoke_through_the_command_line(server, url)


def _revoke_through_the_command_line(server: Server, url: str) -> None:
    token_id, token = server.new_token("zhang.wei")
    headers = {"Authorization": f"Bearer {token}"}

    def status() -> int:
        return httpx.get(f"{server.base}/api/v1/receptions", headers=headers).status_code

    assert [status() for _ in range(3)] == [200] * 3  # read once, then from memory
    done = subprocess.run(
        [sys.executable, "-m", "jiedai_flow.cli", "--db", url, "token", "revoke", token_id],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert eventually(lambda: status() == 401)
    assert [status() for _ in range(5)] == [401] * 5
    answer = httpx.get(f"{server.base}/api/v1/receptions", headers=headers)
    assert "吊销" in answer.json()["message_zh"]
