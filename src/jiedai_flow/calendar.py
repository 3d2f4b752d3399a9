"""Working days 工作日: the Chinese statutory calendar, with holidays and 调休 make-up days.

Deadlines such as "approval pending for N working days" count in a :class:`WorkCalendar`. The
default follows the State Council's holiday arrangements through the maintained
``chinesecalendar`` package; a deployment may supply its own through ``jiedai_calendar``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Protocol

import chinese_calendar  # type: ignore[import-untyped]  # why: the package ships no type hints


class WorkCalendar(Protocol):
    """Says whether a day is a working day."""

    def is_workday(self, day: date) -> bool: ...


class ChineseCalendar:
    """China's official working days: weekends and statutory holidays off, 调休 days on.

    Outside the years the package knows (it raises for them), falls back to Monday–Friday.
    """

    def is_workday(self, day: date) -> bool:
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            return day.weekday() < 5


def add_workdays(calendar: WorkCalendar, start: date, days: int) -> date:
    """The day ``days`` working days after ``start`` (``start`` itself does not count)."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            remaining -= 1
    return day


def workdays_between(calendar: WorkCalendar, start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    count = 0
    day = start
    while day < end:
        day += timedelta(days=1)
        count += calendar.is_workday(day)
    return count
