"""Shared fixtures. The ``jiedai_*`` fixtures come from :mod:`jiedai_flow.testing` (pytest11)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.databases import BACKENDS, private_database

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(params=BACKENDS)
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on each back end: SQLite file, PostgreSQL schema, MariaDB database."""
    yield from private_database(request.param, tmp_path)
