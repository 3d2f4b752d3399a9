"""Working days 工作日 follow the State Council's holiday arrangements, 调休 make-up days included."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from jiedai_flow.domain.workdays import ChineseCalendar, add_workdays, workdays_between

CAL = ChineseCalendar()


def days(start: date, end: date) -> list[date]:
    """Every day from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


class EveryDay:
    """A calendar where every day is a working day."""

    def is_workday(self, day: date) -> bool:
        del day
        return True


# -- 国庆 2026: 10-01 … 10-07 off; Sunday 09-20 and Saturday 10-10 are worked ------------------------


def test_national_day_2026_is_seven_days_off_thursday_to_wednesday() -> None:
    """国庆节 2026: 10 月 1 日（周四）至 7 日（周三）放假."""
    assert [CAL.is_workday(d) for d in days(date(2026, 10, 1), date(2026, 10, 7))] == [False] * 7
    assert date(2026, 10, 1).isoweekday() == 4
    assert CAL.is_workday(date(2026, 9, 30))
    assert CAL.is_workday(date(2026, 10, 8))


@pytest.mark.parametrize(
    "day",
    [date(2026, 9, 20), date(2026, 10, 10)],
    ids=["sunday-09-20", "saturday-10-10"],
)
def test_national_day_2026_make_up_weekend_days_are_working_days(day: date) -> None:
    """调休: 9 月 20 日（周日）和 10 月 10 日（周六）上班."""
    assert day.weekday() >= 5
    assert CAL.is_workday(day)


def test_the_other_weekend_days_around_national_day_2026_stay_off() -> None:
    """Only the make-up days are worked: 09-19 and 10-11 (Saturday, Sunday) stay off."""
    assert not CAL.is_workday(date(2026, 9, 19))
    assert not CAL.is_workday(date(2026, 10, 11))


# -- 春节 2026: 02-15 … 02-23 off; Saturdays 02-14 and 02-28 are worked -------------------------------


def test_spring_festival_2026_is_nine_days_off_sunday_to_monday() -> None:
    """春节 2026: 2 月 15 日（周日）至 23 日（周一）放假，共 9 天."""
    off = days(date(2026, 2, 15), date(2026, 2, 23))
    assert len(off) == 9
    assert not any(CAL.is_workday(d) for d in off)
    assert CAL.is_workday(date(2026, 2, 13))
    assert CAL.is_workday(date(2026, 2, 24))


@pytest.mark.parametrize(
    "day", [date(2026, 2, 14), date(2026, 2, 28)], ids=["saturday-02-14", "saturday-02-28"]
)
def test_spring_festival_2026_make_up_saturdays_are_working_days(day: date) -> None:
    """调休: 2 月 14 日（周六）和 28 日（周六）上班."""
    assert day.weekday() == 5
    assert CAL.is_workday(day)


def test_an_ordinary_weekend_is_off_and_a_weekday_is_on() -> None:
    assert not CAL.is_workday(date(2026, 3, 7))  # Saturday
    assert not CAL.is_workday(date(2026, 3, 8))  # Sunday
    assert CAL.is_workday(date(2026, 3, 9))  # Monday


def test_a_year_the_package_does_not_know_falls_back_to_monday_to_friday() -> None:
    """Outside the package's data (it raises), Monday–Friday are working days."""
    assert CAL.is_workday(date(2100, 1, 1))  # a Friday, New Year's Day or not
    assert not CAL.is_workday(date(2100, 1, 2))  # a Saturday


# -- add_workdays / workdays_between ----------------------------------------------------------------


def test_three_working_days_from_09_30_end_on_the_make_up_saturday_10_10() -> None:
    """Submitted on 2026-09-30: 10-08, 10-09 and the 调休 Saturday 10-10 are the three working days."""
    assert add_workdays(CAL, date(2026, 9, 30), 3) == date(2026, 10, 10)
    assert add_workdays(CAL, date(2026, 9, 30), 4) == date(2026, 10, 12)


def test_working_days_skip_spring_festival_and_count_its_make_up_saturday() -> None:
    """From Friday 02-13: Saturday 02-14 is worked, then nothing until Tuesday 02-24."""
    assert add_workdays(CAL, date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_workdays(CAL, date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_the_start_day_never_counts_and_zero_days_is_the_start() -> None:
    assert add_workdays(CAL, date(2026, 3, 9), 0) == date(2026, 3, 9)
    assert add_workdays(CAL, date(2026, 3, 9), 1) == date(2026, 3, 10)
    assert add_workdays(CAL, date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday


def test_workdays_between_counts_after_the_start_up_to_and_including_the_end() -> None:
    assert workdays_between(CAL, date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert workdays_between(CAL, date(2026, 10, 1), date(2026, 10, 8)) == 1
    assert workdays_between(CAL, date(2026, 10, 10), date(2026, 10, 10)) == 0
    assert workdays_between(CAL, date(2026, 10, 12), date(2026, 10, 10)) == 0


def test_add_and_between_agree() -> None:
    """``workdays_between(start, add_workdays(start, n)) == n`` across both 2026 holidays."""
    for start in days(date(2026, 2, 1), date(2026, 3, 10)) + days(date(2026, 9, 15), date(2026, 10, 20)):
        for n in range(6):
            assert workdays_between(CAL, start, add_workdays(CAL, start, n)) == n


def test_a_calendar_where_every_day_is_worked_counts_calendar_days() -> None:
    assert add_workdays(EveryDay(), date(2026, 9, 30), 3) == date(2026, 10, 3)
    assert workdays_between(EveryDay(), date(2026, 9, 30), date(2026, 10, 10)) == 10


def test_every_day_the_package_knows_reads_as_the_package_says() -> None:
    """The calendar reads the ``chinesecalendar`` tables directly (its own ``is_workday`` rescans them
    per call): every day of every year the package covers must come out as the package says."""
    import chinese_calendar  # type: ignore[import-untyped]

    calendar = ChineseCalendar()
    first, last = min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year
    day, differ = date(first, 1, 1), []
    while day.year <= last:
        if calendar.is_workday(day) != chinese_calendar.is_workday(day):
            differ.append(day)
        day += timedelta(days=1)
    assert differ == []
    assert calendar.knows(last)
    assert not calendar.knows(last + 1)
