"""The SQL back end passes the storage contract on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.testing import StoreContract, sample_event, sample_notification, sample_reception

if TYPE_CHECKING:
    from collections.abc import Iterator


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
