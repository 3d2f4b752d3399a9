"""The working-day calendar 工作日历: ``jiedai calendar show|check YEAR``.

Years the ``chinesecalendar`` package does not know yet come from holiday files given with the global
``--calendar`` option (or ``$JIEDAI_CALENDAR``, or ``./jiedai-calendar-*.toml``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.table import Table

from jiedai_flow.cli.app import EXIT_REFUSED, App, json_option, pass_app
from jiedai_flow.domain.workdays import ChineseCalendar, calendar_knows

if TYPE_CHECKING:
    from datetime import date

    from jiedai_flow.domain.workdays import HolidaySchedule, WorkCalendar

_YEAR = click.IntRange(1949, 2200)
_WEEKDAYS = "一二三四五六日"

_UNKNOWN_HINT_ZH = (
    "按国务院办公厅当年的放假安排通知写一个 jiedai-calendar-{year}.toml，用 --calendar 指定或放在当前目录"
    "（格式见 docs/deadlines.md）"
)
_UNKNOWN_HINT_EN = (
    "write jiedai-calendar-{year}.toml from the State Council's notice and pass it with --calendar, or "
    "put it in the current directory (format: docs/deadlines.md)"
)


def _calendar(app: App) -> WorkCalendar:
    """The calendar deadlines count in: a plugin's, else the statutory one with the holiday files."""
    from jiedai_flow.plugins import make_plugin_manager

    plugins: list[object] = [("jiedai.cli.calendar", app.holiday_files())] if app.calendar_paths else []
    found = make_plugin_manager(plugins=plugins).hooks.jiedai_calendar()
    return found if found is not None else ChineseCalendar()


def _schedule(calendar: WorkCalendar, year: int) -> HolidaySchedule | None:
    return calendar.schedule(year) if isinstance(calendar, ChineseCalendar) else None


@click.group(
    short_help="工作日历：放假安排 / the working-day calendar.",
    help="工作日历：查看某年的放假和调休安排，检查某年是否已知。审批时限按工作日计算；"
    "chinesecalendar 包尚未收录的年份，用全局选项 --calendar 载入放假安排文件。\n\n"
    "The working-day calendar: show a year's holidays and make-up working days, or check that a year "
    "is known. Load years the package does not know with the global --calendar option.",
)
def calendar() -> None:
    """``jiedai calendar``."""


@calendar.command(help="列出某年的放假和调休上班日期 / list a year's holidays and make-up working days.")
@click.argument("year", type=_YEAR)
@json_option
@pass_app
def show(app: App, year: int) -> None:
    cal = _calendar(app)
    schedule = _schedule(cal, year)
    known = calendar_knows(cal, year)
    if app.json:
        app.emit(
            {
                "year": year,
                "known": known,
                "source": schedule.source if schedule else None,
                "origin": schedule.origin if schedule else None,
                "holidays": [
                    {
                        "name": h.name,
                        "start": h.start.isoformat(),
                        "end": h.end.isoformat(),
                        "days": len(h.days),
                        "workdays": [d.isoformat() for d in h.workdays],
                    }
                    for h in (schedule.holidays if schedule else ())
                ],
            }
        )
        sys.exit(0 if known else EXIT_REFUSED)
    if schedule is None:
        _unknown(app, year, known)
        return
    table = Table(title=f"{year} 年放假安排 holidays of {year}", title_justify="left")
    table.add_column("节日 holiday")
    table.add_column("放假 days off", no_wrap=True)
    table.add_column("天数 days", justify="right")
    table.add_column("调休上班 worked", no_wrap=True)
    for holiday in schedule.holidays:
        table.add_row(
            holiday.name,
            f"{_day(holiday.start, year)} 至 {_day(holiday.end, year)}",
            str(len(holiday.days)),
            "、".join(_day(d, year) for d in holiday.workdays) or "—",
        )
    app.out.print(table)
    app.out.print(f"依据 source: {schedule.source} · 来自 from: {schedule.origin}", soft_wrap=True)


@calendar.command(
    help="检查某年的放假安排是否已知（未知时退出码 1，可放进每年的运维检查）/ "
    "check that a year's holidays are known (exit 1 if not)."
)
@click.argument("year", type=_YEAR)
@json_option
@pass_app
def check(app: App, year: int) -> None:
    cal = _calendar(app)
    known = calendar_knows(cal, year)
    schedule = _schedule(cal, year)
    if app.json:
        app.emit(
            {
                "year": year,
                "known": known,
                "origin": schedule.origin if schedule else None,
                "hint_zh": None if known else _UNKNOWN_HINT_ZH.format(year=year),
                "hint_en": None if known else _UNKNOWN_HINT_EN.format(year=year),
            }
        )
        sys.exit(0 if known else EXIT_REFUSED)
    if not known:
        _unknown(app, year, known)
        return
    origin = "（由插件提供的日历 a plugin's calendar）"
    if schedule is not None:
        origin = f"：{schedule.source}（{schedule.origin}）"
    app.out.print(f"{year} 年放假安排已知 the {year} holidays are known{origin}", soft_wrap=True)


def _unknown(app: App, year: int, known: bool) -> None:
    if known:  # a plugin's calendar that knows the year but cannot list it
        app.out.print(
            f"{year} 年由插件提供的日历计算，无法列出 / a plugin's calendar knows {year}; it has no list"
        )
        return
    app.err.print(
        f"[yellow]警告 / warning:[/yellow] {year} 年放假安排未知，工作日按周一至周五计算 / the {year} "
        f"holidays are unknown; working days count Monday-Friday.\n"
        f"  {_UNKNOWN_HINT_ZH.format(year=year)}\n  {_UNKNOWN_HINT_EN.format(year=year)}",
        soft_wrap=True,
    )
    sys.exit(EXIT_REFUSED)


def _day(day: date, year: int) -> str:
    """``02-06（六）``, with the year when it is not ``year`` (元旦 may start in December)."""
    shown = day.strftime("%m-%d") if day.year == year else day.isoformat()
    return f"{shown}（{_WEEKDAYS[day.weekday()]}）"


COMMANDS = (calendar,)
