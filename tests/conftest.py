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


@pytest.fixture(params=["memory", *BACKENDS])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The in-memory store, then a fresh database on each SQL back end (as ``sql_url`` makes them)."""
    if request.param == "memory":
        yield "memory://"
        return
    yield from private_database(request.param, tmp_path)


@pytest.fixture(autouse=True)
def _both_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line speaks Chinese only by default; most tests check a message in both
    languages, so they run with ``JIEDAI_LANG=both``. ``tests/test_cli_settings.py`` covers each
    language, and ``tests/test_readme.py`` runs without ``JIEDAI_*`` (the default)."""
    monkeypatch.setenv("JIEDAI_LANG", "both")


@pytest.fixture(autouse=True)
def _nothing_left_in_the_checkout(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that opens the default ``./jiedai.db`` from the checkout (an engine without a URL)
    leaves a database there that a later ``jiedai`` command run in the checkout would silently
    open: the test that did so fails, by name."""
    from pathlib import Path

    stray = Path(__file__).resolve().parents[1] / "jiedai.db"
    existed = stray.exists()
    yield
    if not existed and stray.exists():
        stray.unlink()
        pytest.fail(f"{request.node.nodeid} left {stray} in the checkout: give the engine a URL or chdir")
