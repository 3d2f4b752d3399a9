"""The Chinese statutory working-day calendar as the default ``jiedai_calendar``.
Plugin name ``jiedai.calendar``."""

from __future__ import annotations

from jiedai_flow.calendar import ChineseCalendar
from jiedai_flow.hookspecs import hookimpl


@hookimpl(trylast=True)
def jiedai_calendar() -> ChineseCalendar:
    return ChineseCalendar()
