"""The working-day calendar 工作日历: ``jiedai calendar show|check YEAR``.

Years the ``chinesecalendar`` package does not know yet come from holiday files given with the global
``--calendar`` option (or ``$JIEDAI_CALENDAR``, or ``./jiedai-calendar-*.toml``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli.app import EXIT_REFUSED, App, json_option, pass_app
from jiedai_flow.cli.common import current_lang, heading, label, say
from jiedai_flow.domain.workdays import ChineseCalendar, calendar_knows

if TYPE_CHECKING:
    from datetime import date

    from jiedai_flow.domain.workdays import HolidaySchedule, WorkCalendar

_YEAR = click.IntRange(1949, 2200)
_WEEKDAYS = "一二三四五六日"
_TO = ("至", "to")
_WEEKDAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_HOLIDAYS_EN = {
    "元旦": "New Year's Day",
    "春节": "Spring Festival",
    "清明节": "Qingming Festival",
    "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival",
    "中秋节": "Mid-Autumn Festival",
    "国庆节": "National Day",
}
"""English names of the statutory holidays; a holiday file's other names print as written."""
_SOURCES_EN = {"国务院办公厅放假安排": "the State Council's holiday notices"}

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
    table = Table(title=label(f"{year} 年放假安排", f"holidays of {year}"), title_justify="left")
    # each cell whole on its lines, so the table fits 80 columns in any language
    table.add_column(heading("节日", "holiday"), no_wrap=True)
    table.add_column(heading("放假", "days off"), no_wrap=True)
    table.add_column(heading("天数", "days"), justify="right", no_wrap=True)
    table.add_column(heading("调休上班", "worked"), no_wrap=True)
    for holiday in schedule.holidays:
        table.add_row(
            _holiday(holiday.name),
            f"{_day(holiday.start, year)} {_TO[current_lang() == 'en']} {_day(holiday.end, year)}",
            str(len(holiday.days)),
            "\n".join(_day(d, year) for d in holiday.workdays) or "—",  # one a line: narrow
        )
    app.out.print(table)
    app.out.print(
        f"{label('依据', 'source')}: {_source(schedule.source)} · {label('来自', 'from')}: {schedule.origin}",
        soft_wrap=True,
    )


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
    if schedule is None:
        known_by = say(
            f"{year} 年放假安排已知（由插件提供的日历）",
            f"the {year} holidays are known (a plugin's calendar)",
        )
    else:
        known_by = say(
            f"{year} 年放假安排已知：{schedule.source}（{schedule.origin}）",
            f"the {year} holidays are known: {_SOURCES_EN.get(schedule.source, schedule.source)} "
            f"({schedule.origin})",
        )
    app.out.print(known_by, soft_wrap=True)


def _unknown(app: App, year: int, known: bool) -> None:
    if known:  # a plugin's calendar that knows the year but cannot list it
        app.out.print(
            say(
                f"{year} 年由插件提供的日历计算，无法列出",
                f"a plugin's calendar knows {year}; it has no list",
            )
        )
        return
    warning = say(
        f"{year} 年放假安排未知，工作日按周一至周五计算",
        f"the {year} holidays are unknown; working days count Monday to Friday.",
    )
    hints = [_UNKNOWN_HINT_ZH.format(year=year), _UNKNOWN_HINT_EN.format(year=year)]
    if current_lang() != "both":
        hints = [hints[current_lang() == "en"]]
    app.err.print(
        Text.assemble((label("警告", "warning") + ": ", "yellow"), warning, *(f"\n  {h}" for h in hints)),
        soft_wrap=True,
    )
    sys.exit(EXIT_REFUSED)


def _holiday(name: str) -> str:
    """A holiday's name in this run's language (both: 春节 Spring Festival)."""
    english = _HOLIDAYS_EN.get(name)
    if english is None:
        return name
    return {"zh": name, "en": english}.get(current_lang(), f"{name}\n{english}")


def _source(source: str) -> str:
    """Where a year's holidays come from; the package's own source in English too."""
    english = _SOURCES_EN.get(source)
    return label(source, english) if english is not None and current_lang() != "zh" else source


def _day(day: date, year: int) -> str:
    """``02-06（六）`` (``02-06 (Sat)``), with the year when it is not ``year`` (元旦 may start in
    December)."""
    shown = day.strftime("%m-%d") if day.year == year else day.isoformat()
    if current_lang() == "en":
        return f"{shown} ({_WEEKDAYS_EN[day.weekday()]})"
    return f"{shown}（{_WEEKDAYS[day.weekday()]}）"


COMMANDS = (calendar,)
