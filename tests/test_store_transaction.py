"""``store.transaction()``: several commands written all together or not at all, on the in-memory
store and on SQLite, PostgreSQL and MariaDB; a command that fails inside leaves nothing of itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from jiedai_flow.domain.records import ReceptionQuery
from jiedai_flow.storage.base import Transactional
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow import Engine

HANDLER = ACTORS["handler"]


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "memory":
        made = make_engine()
        yield made
        return
    from tests.databases import private_database

    for url in private_database(request.param, tmp_path_factory.mktemp("db")):
        made = make_engine(url=url)
        try:
            yield made
        finally:
            made.store.close()


def create(engine: Engine, request_id: str) -> str:
    result = engine.create_reception(
        sample_letter(), sample_plan(), handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502",
        request_id=request_id,
    )  # fmt: skip
    return result.reception.id


def count(engine: Engine) -> int:
    return len(engine.query(ReceptionQuery(limit=100)).items)


def test_commands_inside_a_failed_block_are_all_undone(engine: Engine) -> None:
    store = engine.store
    assert isinstance(store, Transactional)

    def block() -> None:
        with store.transaction():
            first = create(engine, "a")
            engine.fire(first, "submit", HANDLER)
            assert engine.get(first).state == "submitted"  # reads inside see the block's writes
            create(engine, "b")
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        block()
    assert count(engine) == 0
    assert store.command("a") is None


def test_a_block_that_ends_commits_every_command_and_a_replay_inside_adds_nothing(engine: Engine) -> None:
    store = engine.store
    assert isinstance(store, Transactional)
    with store.transaction():
        first = create(engine, "a")
        again = create(engine, "a")  # the same request: replayed, its own writes undone
        assert again == first
        engine.fire(first, "submit", HANDLER)
    assert count(engine) == 1
    assert engine.get(first).state == "submitted"
    verify = getattr(store, "verify", None)
    if verify is not None:
        assert verify().ok
