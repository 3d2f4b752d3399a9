"""Transactions that lost a race to another writer, run again 并发重试."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable


class Race(Exception):  # why: internal signal, never leaves the store
    """Two writers created the same row at once, or the database broke a deadlock between them:
    the loser's transaction was rolled back and is run again. Writers on different audit shards
    run side by side, so first-of-the-year rows (counters, budget ledger) can be raced for."""


_T = TypeVar("_T")

RACE_ATTEMPTS = 5
"""How often a transaction that lost a race (:class:`Race`) is run before the store gives up."""


def run_again_on_race(work: Callable[[], _T], exhausted: Callable[[], Exception]) -> _T:
    """``work()``, run again while it loses a race to another writer (the first writer of a
    counter or ledger row, a deadlock broken by the database); the error ``exhausted()`` makes
    when it keeps losing (built only then: a command's error formats two messages)."""
    for _attempt in range(RACE_ATTEMPTS):
        try:
            return work()
        except Race:
            continue
    raise exhausted()


class CounterRace(Race):
    """Two writers created the same counter at once; the loser retries its transaction."""


_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock (PostgreSQL)
_RETRYABLE_MYSQL = frozenset({1213})  # deadlock found when trying to get lock


def retryable(error: BaseException) -> bool:
    """A DBAPI error that means "run the transaction again", not "it cannot be done"."""
    if getattr(error, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        return True
    args: tuple[Any, ...] = getattr(error, "args", ())
    return bool(args) and type(error).__name__ == "OperationalError" and args[0] in _RETRYABLE_MYSQL
