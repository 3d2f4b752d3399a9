"""The SQL back end passes the storage contract on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow.errors import StorageError
from jiedai_flow.process.engine import open_engine
from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.testing import StoreContract, sample_event, sample_notification, sample_reception

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class TestSQLStore(StoreContract):
    @pytest.fixture
    def store(self, sql_url: str) -> Iterator[SQLStore]:
        store = SQLStore(sql_url)
        yield store
        store.close()

    def test_a_claim_hands_out_the_oldest_rows_first(self, store: SQLStore) -> None:
        """One ``UPDATE … RETURNING`` returns rows in no set order: the claim sorts them."""
        reception = sample_reception()
        event = sample_event(reception)
        first = sample_notification(event)
        rows = [
            attrs.evolve(first, id=f"n{i:02d}", created_at=first.created_at + timedelta(seconds=i % 7))
            for i in range(40)
        ]
        store.create(reception, event, rows[::-1], None)
        claimed = store.claim_deliveries(first.created_at, timedelta(minutes=5), limit=40, worker="w")
        ids = [d.notification.id for d in claimed]
        assert ids == sorted(ids, key=lambda i: (int(i[1:]) % 7, i))


def test_a_store_dropped_without_close_closes_its_connections(tmp_path: Path) -> None:
    """Nothing of the store keeps it alive (the engine's listeners hold no reference to it), and
    when it goes its connections are closed, not left to the garbage collector."""
    import gc
    import weakref

    from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

    engine = make_engine(url=f"sqlite:///{tmp_path / 'dropped.db'}")
    engine.create_reception(
        sample_letter(),
        sample_plan(),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    )
    store = engine.store
    gone, finalizer = weakref.ref(store), store._finalizer  # type: ignore[attr-defined]
    del engine, store
    gc.collect()
    assert gone() is None
    assert not finalizer.alive


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u:secret@127.0.0.1:abc/test",
        "sqlite:///x.db?timeout=abc",
        "mysql+pymysql://u:secret@127.0.0.1:1/test?charset=bogus",
    ],
)
def test_a_url_that_cannot_be_opened_is_a_storage_error_without_the_password(url: str) -> None:
    """Whatever fails — SQLAlchemy reading the URL, the dialect its options, the driver connecting —
    the library says it cannot open the database, never with the password."""
    with pytest.raises(StorageError) as raised:
        open_engine(url, autoload=False)
    assert raised.value.message_zh.startswith("无法打开数据库 ")
    assert "secret" not in raised.value.message_zh + raised.value.message_en
