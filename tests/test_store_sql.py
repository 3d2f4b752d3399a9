"""The SQL back end passes the storage contract on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from jiedai_flow.storage.sql import SQLStore
from jiedai_flow.testing import StoreContract

if TYPE_CHECKING:
    from collections.abc import Iterator


class TestSQLStore(StoreContract):
    @pytest.fixture
    def store(self, sql_url: str) -> Iterator[SQLStore]:
        store = SQLStore(sql_url)
        yield store
        store.close()
