"""Working days 工作日: the Chinese statutory calendar, with holidays and 调休 make-up days.

Deadlines such as "approval pending for N working days" count in a :class:`WorkCalendar`. The
default follows the State Council's holiday arrangements through the maintained
``chinesecalendar`` package. A year the package does not know yet is loaded from a holiday file
(:func:`load_holiday_file`), written from the State Council's annual notice 国务院办公厅关于部分节假日
安排的通知; a deployment may also supply a calendar of its own through ``jiedai_calendar``.

A day in a year that no source knows counts Monday–Friday and is *announced*: a warning in the log
(once per calendar and year), and :meth:`ChineseCalendar.knows` lets deadlines, reminders and the
command line say so.
"""

from __future__ import annotations

import functools
import logging
from datetime import date, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import attrs
import chinese_calendar  # type: ignore[import-untyped]  # why: the package ships no type hints

from jiedai_flow.domain.model import shown
from jiedai_flow.errors import Problem, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "ChineseCalendar",
    "Holiday",
    "HolidaySchedule",
    "WorkCalendar",
    "add_workdays",
    "calendar_knows",
    "load_holiday_file",
    "load_holiday_text",
    "unknown_years",
    "workdays_between",
]

log = logging.getLogger(__name__)

_PACKAGE_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
_MAX_HOLIDAY_DAYS = 31
"""No statutory holiday, 调休 included, has ever run longer than this; a longer range is a typo."""
_WORKDAY_REACH = timedelta(days=31)
"""A 调休 working day lies within this many days of the holiday it makes up for."""


class WorkCalendar(Protocol):
    """Says whether a day is a working day.

    A calendar may also have ``knows(year) -> bool`` (see :class:`ChineseCalendar`); one without it
    is taken to know every year.
    """

    def is_workday(self, day: date) -> bool: ...


@attrs.frozen
class Holiday:
    """One holiday of an annual notice 节日放假安排: the days off, and the weekend days worked for it."""

    name: str
    """节日名称, e.g. 春节."""
    start: date
    """First day off 放假起始日."""
    end: date
    """Last day off 放假结束日 (inclusive)."""
    workdays: tuple[date, ...] = ()
    """调休上班日期: weekend days that are working days because of this holiday."""

    @property
    def days(self) -> tuple[date, ...]:
        """Every day off, ``start`` to ``end``."""
        return tuple(self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1))


@attrs.frozen
class HolidaySchedule:
    """One year's holiday arrangement 年度放假安排, as the State Council's annual notice gives it."""

    year: int
    holidays: tuple[Holiday, ...]
    source: str
    """The notice 通知文号, e.g. 国办发明电〔2026〕N号."""
    origin: str = ""
    """Where it was read from (a file path), or the package that ships it."""


def load_holiday_file(path: str | Path) -> HolidaySchedule:
    """Read one year's holiday schedule from a TOML file; ValidationError lists every problem.

    The file follows the annual notice, one ``[[holiday]]`` a numbered item::

        year = 2027
        source = "国务院办公厅关于2027年部分节假日安排的通知（国办发明电〔2026〕N号）"

        [[holiday]]
        name = "春节"
        start = 2027-02-06          # 放假起始日
        end = 2027-02-14            # 放假结束日（含）
        total_days = 9              # 可选：通知里的「共 N 天」，用来核对
        workdays = [2027-01-31]     # 调休上班的周六、周日
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            [Problem("$", f"无法读取放假安排文件：{exc}", f"cannot read the holiday file: {exc}")],
            source=str(path),
        ) from None
    return load_holiday_text(text, origin=str(path))


def load_holiday_text(text: str, origin: str = "<holidays>") -> HolidaySchedule:
    """Read one year's holiday schedule from TOML text (see :func:`load_holiday_file`)."""
    from jiedai_flow.domain.loading import read_toml, with_lines

    data = read_toml(text, source=origin)  # syntax, nesting, unreadable numbers: ValidationError
    problems: list[Problem] = []
    schedule = _ScheduleReader(problems).read(data, origin)
    if problems or schedule is None:
        raise ValidationError(with_lines(problems, text), source=origin)
    return schedule


@attrs.define
class _ScheduleReader:
    """Checks a decoded holiday file and collects every problem with its path."""

    problems: list[Problem]

    def fail(self, path: str, zh: str, en: str) -> None:
        self.problems.append(Problem(path, zh, en))

    def read(self, data: dict[str, Any], origin: str) -> HolidaySchedule | None:
        for key in sorted(set(data) - {"year", "source", "holiday"}):
            self.fail(f"$.{key}", f"未知字段「{key}」", f"unknown field {key!r}")
        year = data.get("year")
        if not isinstance(year, int) or isinstance(year, bool) or not 1949 <= year <= 2200:
            self.fail("$.year", "「year」必须是年份（整数）", "'year' must be a year (an integer)")
            year = None
        source = data.get("source")
        if not isinstance(source, str) or not source.strip():
            self.fail(
                "$.source",
                "「source」必须写明放假安排通知的名称和文号",
                "'source' must name the State Council notice",
            )
        entries = data.get("holiday")
        if isinstance(entries, dict):  # why: [holiday] with single brackets is one table, not a list of them
            self.fail(
                "$.holiday",
                "节日应写成 [[holiday]]（两层方括号，每个节日一个），不是 [holiday]",
                "write each holiday as [[holiday]] (double brackets, one per holiday), not [holiday]",
            )
            return None
        if not isinstance(entries, list) or not entries:
            self.fail("$.holiday", "至少要有一个 [[holiday]]", "at least one [[holiday]] is required")
            return None
        if year is None:
            return None
        holidays = [self.holiday(f"$.holiday[{i}]", entry, year) for i, entry in enumerate(entries)]
        found = [h for h in holidays if h is not None]
        if len(found) == len(holidays):
            self.consistent(found)
        if self.problems:
            return None
        return HolidaySchedule(year=year, holidays=tuple(found), source=str(source).strip(), origin=origin)

    def holiday(self, path: str, entry: object, year: int) -> Holiday | None:
        if not isinstance(entry, dict):
            self.fail(path, "每个 [[holiday]] 必须是表", "each [[holiday]] must be a table")
            return None
        before = len(self.problems)
        for key in sorted(set(entry) - {"name", "start", "end", "total_days", "workdays"}):
            self.fail(f"{path}.{key}", f"未知字段「{key}」", f"unknown field {key!r}")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            self.fail(f"{path}.name", "「name」必须是节日名称", "'name' must name the holiday")
        start = self.day(f"{path}.start", entry.get("start"), "放假起始日")
        end = self.day(f"{path}.end", entry.get("end"), "放假结束日")
        total = self.total_days(f"{path}.total_days", entry.get("total_days"))
        raw_workdays = entry.get("workdays", [])
        workdays: list[date] = []
        if not isinstance(raw_workdays, list):
            self.fail(f"{path}.workdays", "「workdays」必须是日期列表", "'workdays' must be a list of dates")
        else:
            for i, raw in enumerate(raw_workdays):
                day = self.day(f"{path}.workdays[{i}]", raw)
                if day is not None:
                    workdays.append(day)
        if start is not None and end is not None:
            self.span(path, start, end, year, total)
            self.makeup_days(path, start, end, workdays)
        if len(self.problems) > before or start is None or end is None:
            return None
        return Holiday(name=str(name).strip(), start=start, end=end, workdays=tuple(sorted(workdays)))

    def day(self, path: str, raw: object, what: str = "调休上班日") -> date | None:
        if raw is None:
            key = path.rsplit(".", 1)[-1]
            self.fail(
                path,
                f"缺少「{key}」（{what}，如 2027-02-06）",
                f"{key!r} is missing (a date such as 2027-02-06)",
            )
            return None
        if isinstance(raw, date) and not hasattr(raw, "hour"):
            return raw
        if isinstance(raw, str):
            try:
                return date.fromisoformat(raw.strip())
            except ValueError:
                pass
        self.fail(path, f"「{raw}」不是日期（如 2027-02-06）", f"{raw!r} is not a date (e.g. 2027-02-06)")
        return None

    def total_days(self, path: str, raw: object) -> int | None:
        """The notice's 「共 N 天」, if given; a value that is not a whole number of days is refused
        as such, not compared with the dates (「通知写共 7 天，而……是 7 天」 for ``"7"``)."""
        if raw is None:
            return None
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 1:
            return raw
        self.fail(
            path,
            "「total_days」应为正整数（通知里的「共 N 天」，不加引号），"
            f"收到 {shown(raw)}（{type(raw).__name__}）",
            f"'total_days' must be a positive integer (the notice's N days, unquoted), "
            f"got {shown(raw)} ({type(raw).__name__})",
        )
        return None

    def span(self, path: str, start: date, end: date, year: int, total: int | None) -> None:
        if end < start:
            self.fail(f"{path}.end", f"结束日 {end} 早于起始日 {start}", f"end {end} is before start {start}")
            return
        days = (end - start).days + 1
        if days > _MAX_HOLIDAY_DAYS:
            self.fail(
                f"{path}.end",
                f"放假 {days} 天，超过 {_MAX_HOLIDAY_DAYS} 天，日期是否写错？",
                f"{days} days off is more than {_MAX_HOLIDAY_DAYS}: is a date wrong?",
            )
        if year not in (start.year, end.year):
            self.fail(
                f"{path}.start",
                f"{start} 至 {end} 不在 {year} 年内",
                f"{start} to {end} is not in {year}",
            )
        if total is not None and total != days:
            self.fail(
                f"{path}.total_days",
                f"通知写共 {total} 天，而 {start} 至 {end} 是 {days} 天",
                f"the notice says {total} days, but {start} to {end} is {days}",
            )

    def makeup_days(self, path: str, start: date, end: date, workdays: Sequence[date]) -> None:
        for i, day in enumerate(workdays):
            where = f"{path}.workdays[{i}]"
            if day.weekday() < 5:
                self.fail(
                    where,
                    f"{day} 是周{'一二三四五'[day.weekday()]}，本来就上班；调休上班日只能是周六或周日",
                    f"{day} is a weekday, a working day anyway; "
                    "a make-up working day is a Saturday or Sunday",
                )
            if start <= day <= end:
                self.fail(where, f"{day} 在放假期间内", f"{day} falls within the holiday itself")
            if day < start - _WORKDAY_REACH or day > end + _WORKDAY_REACH:
                self.fail(
                    where,
                    f"{day} 离放假期间超过 {_WORKDAY_REACH.days} 天",
                    f"{day} is more than {_WORKDAY_REACH.days} days from the holiday",
                )

    def consistent(self, holidays: Sequence[Holiday]) -> None:
        seen: dict[str, int] = {}
        off: dict[date, int] = {}
        for i, holiday in enumerate(holidays):
            if holiday.name in seen:
                self.fail(
                    f"$.holiday[{i}].name",
                    f"「{holiday.name}」重复（另见第 {seen[holiday.name] + 1} 项）",
                    f"{holiday.name!r} repeats item {seen[holiday.name] + 1}",
                )
            seen.setdefault(holiday.name, i)
            for day in holiday.days:
                if day in off:
                    self.fail(
                        f"$.holiday[{i}].start",
                        f"{day} 同时属于「{holidays[off[day]].name}」",
                        f"{day} also belongs to {holidays[off[day]].name!r}",
                    )
                    break
                off[day] = i
        for i, holiday in enumerate(holidays):
            for j, day in enumerate(holiday.workdays):
                if day in off and off[day] != i:
                    self.fail(
                        f"$.holiday[{i}].workdays[{j}]",
                        f"{day} 是「{holidays[off[day]].name}」的放假日",
                        f"{day} is a day off of {holidays[off[day]].name!r}",
                    )


class ChineseCalendar:
    """China's official working days: weekends and statutory holidays off, 调休 days on.

    The years the ``chinesecalendar`` package knows come from it; ``schedules`` add years it does not
    know yet, or replace a year it has wrong (a loaded year wins). A day in a year neither knows counts
    Monday–Friday, and the first such day of each year is logged as a warning.
    """

    def __init__(self, schedules: Iterable[HolidaySchedule] = ()) -> None:
        self._schedules: dict[int, HolidaySchedule] = {}
        for schedule in schedules:
            earlier = self._schedules.get(schedule.year)
            if earlier is not None:
                raise ValidationError(
                    [
                        Problem(
                            "$.year",
                            f"{schedule.year} 年的放假安排载入了两次：{earlier.origin} 和 {schedule.origin}",
                            f"the {schedule.year} holidays are loaded twice: "
                            f"{earlier.origin} and {schedule.origin}",
                        )
                    ],
                    source=schedule.origin,
                )
            self._schedules[schedule.year] = schedule
        self._off: set[date] = set()
        self._on: set[date] = set()
        for schedule in self._schedules.values():
            for holiday in schedule.holidays:
                self._off.update(holiday.days)
                self._on.update(holiday.workdays)
        self._warned: set[int] = set()

    @property
    def schedules(self) -> tuple[HolidaySchedule, ...]:
        """The loaded schedules, by year."""
        return tuple(self._schedules[year] for year in sorted(self._schedules))

    def is_workday(self, day: date) -> bool:
        if day in self._off:
            return False
        if day in self._on or day.year in self._schedules:
            return day in self._on or day.weekday() < 5
        if not _package_knows(day.year):
            self._announce(day.year)
            return day.weekday() < 5
        # the package's own tables, read directly: its is_workday scans every key of its holiday
        # table for the years it covers on each call, and due days ask for many days per command
        if day in chinese_calendar.workdays:
            return True
        return day.weekday() < 5 and day not in chinese_calendar.holidays

    def knows(self, year: int) -> bool:
        """Whether ``year``'s holidays are known (loaded, or in the package)."""
        return year in self._schedules or _package_knows(year)

    def schedule(self, year: int) -> HolidaySchedule | None:
        """``year``'s arrangement: the loaded one, else the package's, else None."""
        loaded = self._schedules.get(year)
        if loaded is not None:
            return loaded
        return _package_schedule(year) if _package_knows(year) else None

    def _announce(self, year: int) -> None:
        if year not in self._warned:
            self._warned.add(year)
            log.warning(
                "%d 年放假安排未知，工作日按周一至周五计算；请载入该年的放假安排文件（jiedai calendar）/ "
                "the %d holidays are unknown: working days count Monday-Friday; load that year's "
                "holiday file (see `jiedai calendar`)",
                year,
                year,
            )


def calendar_knows(calendar: WorkCalendar, year: int) -> bool:
    """Whether ``calendar`` knows ``year``'s holidays; a calendar without ``knows`` knows every year."""
    knows = getattr(calendar, "knows", None)
    return bool(knows(year)) if callable(knows) else True


def unknown_years(calendar: WorkCalendar, *days: date) -> tuple[int, ...]:
    """The years from the earliest to the latest of ``days`` whose holidays ``calendar`` does not know."""
    if not days:
        return ()
    years = range(min(days).year, max(days).year + 1)
    return tuple(year for year in years if not calendar_knows(calendar, year))


@functools.cache
def _package_knows(year: int) -> bool:
    """Whether the ``chinesecalendar`` package has ``year``'s holidays (asked once per year)."""
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:
        return False
    return True


def _package_schedule(year: int) -> HolidaySchedule:
    """The package's arrangement for ``year``, in the shape of a notice."""
    off = sorted((d, n) for d, n in chinese_calendar.holidays.items() if d.year == year)
    worked = sorted(
        (d, n) for d, n in chinese_calendar.workdays.items() if d.year == year and d.weekday() >= 5
    )
    holidays: list[Holiday] = []
    for day, name in off:
        last = holidays[-1] if holidays else None
        if last is not None and last.name == _zh(name) and day == last.end + timedelta(days=1):
            holidays[-1] = attrs.evolve(last, end=day)
        else:
            holidays.append(Holiday(name=_zh(name), start=day, end=day))
    for day, name in worked:
        nearest = min(
            (h for h in holidays if h.name == _zh(name)),
            key=lambda h: min(abs((day - h.start).days), abs((day - h.end).days)),
            default=None,
        )
        if nearest is not None:
            holidays[holidays.index(nearest)] = attrs.evolve(nearest, workdays=(*nearest.workdays, day))
    try:
        package = f"chinesecalendar {version('chinesecalendar')}"
    except PackageNotFoundError:  # pragma: no cover - installed from source without metadata
        package = "chinesecalendar"
    return HolidaySchedule(year=year, holidays=tuple(holidays), source="国务院办公厅放假安排", origin=package)


def _zh(name: str | None) -> str:
    return _PACKAGE_NAMES_ZH.get(name or "", name or "节假日")


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
