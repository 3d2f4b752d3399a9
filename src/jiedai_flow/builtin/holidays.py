"""The Chinese statutory working-day calendar as the default ``jiedai_calendar``.
Plugin name ``jiedai.calendar``.

:class:`HolidayFiles` is the plugin that adds holiday files of years the package does not know yet
(``jiedai --calendar FILE``, or ``open_engine(url, plugins=[HolidayFiles.load(paths)])``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.domain.workdays import ChineseCalendar, load_holiday_file
from jiedai_flow.hookspecs import hookimpl

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from jiedai_flow.domain.workdays import HolidaySchedule

_STATUTORY = ChineseCalendar()
"""One calendar for every engine without holiday files, so a year it does not know is logged once."""


@hookimpl(trylast=True)
def jiedai_calendar() -> ChineseCalendar:
    return _STATUTORY


class HolidayFiles:
    """Answers ``jiedai_calendar`` with the statutory calendar plus loaded holiday schedules."""

    def __init__(self, schedules: Iterable[HolidaySchedule]) -> None:
        self.calendar = ChineseCalendar(schedules)

    @classmethod
    def load(cls, paths: Iterable[str | Path]) -> HolidayFiles:
        """The plugin for holiday files; ValidationError names the file, the line and the field."""
        return cls(load_holiday_file(path) for path in paths)

    @hookimpl
    def jiedai_calendar(self) -> ChineseCalendar:
        return self.calendar
