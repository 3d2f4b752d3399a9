"""Several OS processes, each with its own engine, fire commands at the same receptions: every
accepted command is applied exactly once, with one audit event and its outbox rows."""

from __future__ import annotations

import multiprocessing
import random
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest

from jiedai_flow.storage import schema
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.testing import make_engine
from tests import _sql_worker
from tests._sql_helpers import consistency_problems, create, routed_rows, table_rows
from tests.databases import private_database

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

RECEPTIONS = 5
SECONDS = 1.5
WORKERS = {"sqlite": 4, "postgresql": 3, "mysql": 3}


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    for url in private_database(request.param, tmp_path):
        yield request.param, url


def run_workers(url: str, reception_ids: list[str], workers: int, seed: int) -> list[dict[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
    processes = [
        ctx.Process(
            target=_sql_worker.run,
            args=(url, n, reception_ids, SECONDS, seed + n, ready, go, results),
            daemon=True,
        )
        for n in range(workers)
    ]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            ready.get(timeout=60)
        go.set()  # all engines are open: start firing together
        outcomes = [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
    assert [p.exitcode for p in processes] == [0] * workers
    return outcomes


def test_concurrent_engines_apply_each_accepted_command_exactly_once(backend_url: tuple[str, str]) -> None:
    backend, url = backend_url
    seed = random.randrange(1_000_000)
    engine = make_engine(url=url)
    try:
        created = [create(engine, request_id=f"create-{i}").reception for i in range(RECEPTIONS)]
    finally:
        engine.store.close()
    ids = [r.id for r in created]

    outcomes = run_workers(url, ids, WORKERS[backend], seed)

    assert [e for o in outcomes for e in o["errors"]] == [], f"seed {seed}"
    accepted = [a for o in outcomes for a in o["accepted"]]
    assert len(accepted) >= 10, f"too little work done to mean anything (seed {seed})"
    assert sum(o["conflicts"] for o in outcomes) > 0, "the workers never got in each other's way"
    assert sum(o["resent"] for o in outcomes) > 0
    first = {request_id: (event_id, version) for request_id, _, version, event_id in accepted}
    assert len(first) == len(accepted), "a request id was accepted twice"
    # every replay, whichever worker got it, returned the one accepted result of that request
    for request_id, event_id, version in (r for o in outcomes for r in o["replayed"]):
        assert first[request_id] == (event_id, version), f"seed {seed}"

    store = SQLStore(url, create=False)
    try:
        for rid in ids:
            mine = [a for a in accepted if a[1] == rid]
            reception, history = store.load(rid), store.history(rid)
            # each version 2..n was produced by exactly one accepted command
            assert sorted(a[2] for a in mine) == list(range(2, reception.version + 1)), f"seed {seed}"
            assert reception.version == 1 + len(mine) == len(history)
            assert {(e.request_id, e.id) for e in history[1:]} == {(a[0], a[3]) for a in mine}
        report = store.verify()
    finally:
        store.close()
    assert report.ok, report.problem
    assert report.checked == RECEPTIONS + len(accepted)

    events = table_rows(url, schema.audit_events)
    per_request = Counter(e["request_id"] for e in events)
    assert None not in per_request
    assert all(per_request[request_id] == 1 for request_id in first)
    assert max(per_request.values()) == 1  # no request id on two events
    outbox = Counter(row["event_id"] for row in table_rows(url, schema.outbox))
    assert {e["id"]: outbox[e["id"]] for e in events} == {
        e["id"]: routed_rows(e["trigger"], e["from_state"], e["to_state"]) for e in events
    }
    assert consistency_problems(url) == []
