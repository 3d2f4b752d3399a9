"""A writer killed with SIGKILL at random moments leaves a consistent store: a command is all
there (reception, audit event, outbox rows, idempotency record) or not there at all."""

from __future__ import annotations

import multiprocessing
import random
import signal
import sqlite3
import time
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from jiedai_flow.storage import schema
from jiedai_flow.storage.sql import SQLStore
from tests import _sql_crash_writer
from tests._sql_helpers import consistency_problems
from tests.databases import private_database

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

KILLS = {"sqlite": 15, "postgresql": 5, "mysql": 4}


@pytest.fixture(params=list(KILLS))
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    for url in private_database(request.param, tmp_path):
        yield request.param, url


def kill_repeatedly(url: str, problems: Path, kills: int, rng: random.Random) -> list[int | None]:
    """Start the writer, let it write for 0.05–0.4 s, SIGKILL it; ``kills`` times. Exit codes."""
    # why: forked from a server that has imported everything, the writer is writing within
    # milliseconds, so the random kill lands in its command loop rather than in its imports
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests._sql_warm", "tests._sql_crash_writer"])
    exit_codes = []
    counter = sa.create_engine(url)
    for _ in range(kills):
        before = _event_count(counter)
        ready = ctx.Event()
        writer = ctx.Process(target=_sql_crash_writer.run, args=(url, str(problems), ready), daemon=True)
        writer.start()
        try:
            assert ready.wait(30), "the writer did not start"
            time.sleep(rng.uniform(0.05, 0.4))
            # why: on a busy machine the window may pass before the first commit; every writer
            # must have written something, and the kill still lands at a random point after
            deadline = time.monotonic() + 30
            while _event_count(counter) == before and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.05))
        finally:
            writer.kill()
            writer.join(10)
        exit_codes.append(writer.exitcode)
    counter.dispose()
    return exit_codes


def _event_count(db: sa.Engine) -> int:
    """Events written so far (0 before the first writer created the tables)."""
    if not sa.inspect(db).has_table(schema.audit_events.name):
        return 0
    with db.connect() as conn:
        found = conn.execute(sa.select(sa.func.count()).select_from(schema.audit_events)).scalar_one()
    return int(found)


def test_sigkilled_writers_leave_a_verified_consistent_store(
    backend_url: tuple[str, str], tmp_path: Path
) -> None:
    backend, url = backend_url
    seed = random.randrange(1_000_000)
    problems = tmp_path / "problems.txt"

    exit_codes = kill_repeatedly(url, problems, KILLS[backend], random.Random(seed))

    # each writer was still running when killed: none stopped on an error of its own
    assert exit_codes == [-signal.SIGKILL] * KILLS[backend], f"seed {seed}"
    assert not problems.exists(), problems.read_text(encoding="utf-8")
    store = SQLStore(url, create=False)
    try:
        report = store.verify()
        with store.db.connect() as conn:
            events = conn.execute(sa.select(sa.func.count()).select_from(schema.audit_events)).scalar_one()
            ids = conn.execute(sa.select(schema.receptions.c.id)).scalars().all()
        for rid in ids:
            reception, history = store.load(rid), store.history(rid)
            assert reception.version == len(history)
            assert reception.state == history[-1].to_state
    finally:
        store.close()
    assert report.ok, f"{report.problem} (seed {seed})"
    assert report.checked == events > KILLS[backend]
    assert consistency_problems(url) == [], f"seed {seed}"
    if backend == "sqlite":
        path = sa.make_url(url).database
        assert path is not None
        raw = sqlite3.connect(path)
        try:
            assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            raw.close()
