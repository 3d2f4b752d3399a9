"""Clocks 时钟: where the engine reads the time. China Standard Time (UTC+8) by default."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Protocol

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def china_day(moment: datetime) -> date:
    """The calendar day of ``moment`` in China Standard Time (naive times are taken as local)."""
    return (moment.astimezone(CHINA_TZ) if moment.tzinfo is not None else moment).date()


class Clock(Protocol):
    """Where the engine reads the time; tests use :class:`jiedai_flow.testing.FrozenClock`."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in China Standard Time (UTC+8)."""

    def now(self) -> datetime:
        return datetime.now(CHINA_TZ)
