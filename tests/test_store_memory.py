"""The in-memory store passes the storage contract and stays consistent under threads."""

from __future__ import annotations

import threading

import attrs
import pytest

from jiedai_flow import ConflictError, Store
from jiedai_flow.storage import MemoryStore
from jiedai_flow.testing import StoreContract, sample_event, sample_reception

THREADS = 8
ROUNDS = 25


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self) -> MemoryStore:
        return MemoryStore()


def test_memory_store_implements_the_store_protocol() -> None:
    """``MemoryStore`` is a ``Store`` (runtime-checkable protocol)."""
    assert isinstance(MemoryStore(), Store)


def test_concurrent_compare_and_set_saves_have_one_winner_per_version() -> None:
    """Threads that all read version n and race to save n+1: exactly one wins each round."""
    store = MemoryStore()
    reception = sample_reception()
    store.create(reception, sample_event(reception), (), None)
    loaded, saved = threading.Barrier(THREADS), threading.Barrier(THREADS)
    lock = threading.Lock()
    won: list[int] = []
    conflicts = 0
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        nonlocal conflicts
        try:
            for _ in range(ROUNDS):
                seen = store.load(reception.id)
                loaded.wait()  # every thread holds the same version before anyone saves
                after = attrs.evolve(seen, version=seen.version + 1, host_unit=f"thread-{n}")
                try:
                    store.save(
                        after,
                        expected_version=seen.version,
                        event=sample_event(after, "edit", seen.state),
                        outbox=(),
                        record=None,
                    )
                except ConflictError:
                    with lock:
                        conflicts += 1
                else:
                    with lock:
                        won.append(after.version)
                saved.wait()
        except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)
            loaded.abort()
            saved.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted(won) == list(range(2, ROUNDS + 2)), "each version has exactly one winner"
    assert conflicts == ROUNDS * (THREADS - 1)
    final = store.load(reception.id)
    assert final.version == 1 + len(won)  # version 1 was the create; each successful save adds one
    history = store.history(reception.id)
    assert [e.seq for e in history] == list(range(1, final.version + 1))
