"""Holiday files 放假安排文件: years the ``chinesecalendar`` package does not know yet (2027 and later).

The package (1.11) knows holidays through 2026. From 2027 an administrator loads the year's arrangement
from a TOML file written from the State Council's notice. The 2027 dates below are this test's own,
made up to exercise the calendar; the package ships no 2027 dates. Tests of a year *nobody* knows use
:data:`FAR`, so that they keep meaning the same when a later ``chinesecalendar`` learns 2027.
"""

from __future__ import annotations

import contextlib
import json
import logging
from datetime import date, datetime
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from jiedai_flow import ValidationError
from jiedai_flow.builtin.holidays import HolidayFiles
from jiedai_flow.cli import main
from jiedai_flow.domain.workdays import (
    ChineseCalendar,
    add_workdays,
    load_holiday_file,
    load_holiday_text,
    unknown_years,
)
from jiedai_flow.notify.deadlines import DeadlineKind, deadlines, remind
from jiedai_flow.notify.dispatch import Dispatcher
from jiedai_flow.process.engine import CHINA_TZ
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, sample_letter, sample_plan
from tests.test_deadlines import Capture

if TYPE_CHECKING:
    from pathlib import Path

    from jiedai_flow import Engine

FAR = 2044
"""A year no release of the package will know for a long time."""

TEST_2027 = """\
year = 2027
source = "测试用 2027 年放假安排（本测试自拟，非真实通知）"

[[holiday]]
name = "元旦"
start = 2027-01-01
end = 2027-01-03
total_days = 3

[[holiday]]
name = "春节"
start = 2027-02-06
end = 2027-02-14
total_days = 9
workdays = [2027-01-31, 2027-02-20]
"""


@pytest.fixture
def file_2027(tmp_path: Path) -> Path:
    path = tmp_path / "jiedai-calendar-2027.toml"
    path.write_text(TEST_2027, encoding="utf-8")
    return path


@pytest.fixture
def cal_2027(file_2027: Path) -> ChineseCalendar:
    return ChineseCalendar([load_holiday_file(file_2027)])


# -- the calendar with a loaded year ------------------------------------------------------------


def test_a_loaded_year_is_known_and_the_package_alone_does_not_know_it(cal_2027: ChineseCalendar) -> None:
    assert cal_2027.knows(2027)
    assert cal_2027.knows(2026)  # from the package
    assert not ChineseCalendar().knows(FAR)
    assert not cal_2027.knows(FAR)


def test_loaded_holidays_are_off_and_make_up_weekend_days_are_worked(cal_2027: ChineseCalendar) -> None:
    off = [date(2027, 2, d) for d in range(6, 15)]
    assert [cal_2027.is_workday(d) for d in off] == [False] * 9
    assert cal_2027.is_workday(date(2027, 1, 31))  # 调休 Sunday
    assert cal_2027.is_workday(date(2027, 2, 20))  # 调休 Saturday
    assert not cal_2027.is_workday(date(2027, 2, 21))  # an ordinary Sunday
    assert cal_2027.is_workday(date(2027, 2, 15))  # Monday after the holiday
    assert not cal_2027.is_workday(date(2027, 1, 1))


def test_a_year_nobody_knows_counts_monday_to_friday() -> None:
    assert add_workdays(ChineseCalendar(), date(FAR, 2, 5), 3) == date(FAR, 2, 10)  # Fri → Wed


def test_with_the_file_three_working_days_from_02_05_end_after_the_holiday(cal_2027: ChineseCalendar) -> None:
    assert add_workdays(cal_2027, date(2027, 2, 5), 3) == date(2027, 2, 17)


def test_a_loaded_year_replaces_the_package_for_that_year(tmp_path: Path) -> None:
    """A county's own correction of a known year: the file wins for every day of it."""
    text = 'year = 2026\nsource = "更正"\n[[holiday]]\nname = "县庆"\nstart = 2026-03-03\nend = 2026-03-03\n'
    cal = ChineseCalendar([load_holiday_text(text, origin="fix.toml")])
    assert not cal.is_workday(date(2026, 3, 3))
    assert cal.is_workday(date(2026, 2, 16))  # the package's 春节 no longer applies: the file is the year
    assert cal.schedule(2026) is not None
    assert cal.schedule(2026).origin == "fix.toml"  # type: ignore[union-attr]


def test_new_years_day_may_start_in_december_of_the_year_before() -> None:
    """2024's 元旦 ran 2023-12-30 to 2024-01-01: the notice of a year may reach back into December."""
    text = 'year = 2029\nsource = "s"\n[[holiday]]\nname = "元旦"\nstart = 2028-12-30\nend = 2029-01-01\n'
    cal = ChineseCalendar([load_holiday_text(text)])
    assert not cal.is_workday(date(2028, 12, 30))
    assert not cal.is_workday(date(2029, 1, 1))
    assert cal.is_workday(date(2029, 1, 2))


def test_the_same_year_loaded_twice_is_refused_naming_both_files(file_2027: Path) -> None:
    schedule = load_holiday_file(file_2027)
    other = load_holiday_text(TEST_2027, origin="other.toml")
    with pytest.raises(ValidationError) as caught:
        ChineseCalendar([schedule, other])
    assert str(file_2027) in str(caught.value)
    assert "other.toml" in str(caught.value)


def test_an_unknown_year_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    cal = ChineseCalendar()
    with caplog.at_level(logging.WARNING, logger="jiedai_flow.domain.workdays"):
        add_workdays(cal, date(FAR, 3, 1), 10)
    warned = [r for r in caplog.records if str(FAR) in r.getMessage()]
    assert len(warned) == 1
    assert "放假安排未知" in warned[0].getMessage()


def test_unknown_years_spans_the_years_between_the_days(cal_2027: ChineseCalendar) -> None:
    assert unknown_years(cal_2027, date(2026, 12, 30), date(2027, 1, 4)) == ()
    assert unknown_years(cal_2027, date(FAR - 1, 12, 30), date(FAR, 1, 3)) == (FAR - 1, FAR)
    assert unknown_years(cal_2027) == ()


def test_the_package_years_read_as_a_notice() -> None:
    schedule = ChineseCalendar().schedule(2026)
    assert schedule is not None
    by_name = {h.name: h for h in schedule.holidays}
    assert (by_name["国庆节"].start, by_name["国庆节"].end) == (date(2026, 10, 1), date(2026, 10, 7))
    assert by_name["国庆节"].workdays == (date(2026, 9, 20), date(2026, 10, 10))
    assert by_name["春节"].workdays == (date(2026, 2, 14), date(2026, 2, 28))
    assert schedule.origin.startswith("chinesecalendar")


# -- validation ---------------------------------------------------------------------------------

BAD = [
    ("year = 27\n", "$.year", "年份"),
    (
        'year = 2027\nsource = ""\n[[holiday]]\nname="a"\nstart=2027-01-01\nend=2027-01-01\n',
        "$.source",
        "文号",
    ),
    ('year = 2027\nsource = "s"\n', "$.holiday", "至少"),
    (
        'year = 2027\nsource = "s"\nextra = 1\n[[holiday]]\nname="a"\nstart=2027-01-01\nend=2027-01-01\n',
        "$.extra",
        "未知字段",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-01-05\nend=2027-01-01\n',
        "$.holiday[0].end",
        "早于",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-01-01\nend=2027-03-01\n',
        "$.holiday[0].end",
        "超过",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2028-05-01\nend=2028-05-03\n',
        "$.holiday[0].start",
        "不在 2027 年内",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-02-06\nend=2027-02-08\n'
        "total_days = 4\n",
        "$.holiday[0].total_days",
        "共 4 天",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-02-06\nend=2027-02-08\n'
        "workdays = [2027-02-10]\n",
        "$.holiday[0].workdays[0]",
        "周六或周日",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-02-06\nend=2027-02-08\n'
        "workdays = [2027-02-07]\n",
        "$.holiday[0].workdays[0]",
        "放假期间内",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-02-06\nend=2027-02-08\n'
        "workdays = [2027-06-05]\n",
        "$.holiday[0].workdays[0]",
        "超过 31 天",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart="tomorrow"\nend=2027-02-08\n',
        "$.holiday[0].start",
        "不是日期",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-02-06\nend=2027-02-08\n'
        '[[holiday]]\nname="a"\nstart=2027-05-01\nend=2027-05-02\n',
        "$.holiday[1].name",
        "重复",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-02-06\nend=2027-02-08\n'
        '[[holiday]]\nname="b"\nstart=2027-02-08\nend=2027-02-09\n',
        "$.holiday[1].start",
        "同时属于",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-02-06\nend=2027-02-08\n'
        "total_days = true\n",
        "$.holiday[0].total_days",
        "应为正整数",
    ),
    (
        'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nend=2027-02-08\n',
        "$.holiday[0].start",
        "缺少「start」",
    ),
    (
        'year = 2027\nsource = "s"\n[holiday]\nname="a"\nstart=2027-02-06\nend=2027-02-08\n',
        "$.holiday",
        "[[holiday]]",
    ),
    ("year = [\n", "$", "TOML"),
]


@pytest.mark.parametrize(("text", "path", "words"), BAD, ids=[b[1] + ":" + b[2] for b in BAD])
def test_a_bad_holiday_file_names_the_field_and_the_problem(text: str, path: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        load_holiday_text(text, origin="bad.toml")
    assert caught.value.source == "bad.toml"
    matching = [p for p in caught.value.problems if p.path == path and words in p.message_zh]
    assert matching, caught.value.problems
    assert all(p.message_en for p in caught.value.problems)


def test_a_total_days_written_as_text_is_a_wrong_type_not_a_wrong_count() -> None:
    """``total_days = "7"`` for a 7-day holiday once said 「通知写共 7 天，而……是 7 天」."""
    text = (
        'year = 2027\nsource = "s"\n[[holiday]]\nname = "国庆节"\n'
        'start = 2027-10-01\nend = 2027-10-07\ntotal_days = "7"\n'
    )
    with pytest.raises(ValidationError) as caught:
        load_holiday_text(text)
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == ("$.holiday[0].total_days", 7)
    assert problem.message_zh.startswith("「total_days」应为正整数")
    assert "收到 '7'（str）" in problem.message_zh
    assert "共 7 天" not in problem.message_zh
    assert "must be a positive integer" in problem.message_en


def test_a_wrong_total_days_is_reported_even_when_a_date_is_wrong_too() -> None:
    text = 'year = 2027\nsource = "s"\n[[holiday]]\nname = "国庆节"\nstart = 2027-10-01\ntotal_days = 7.0\n'
    with pytest.raises(ValidationError) as caught:
        load_holiday_text(text)
    assert {(p.path, p.line) for p in caught.value.problems} == {
        ("$.holiday[0].end", 3),
        ("$.holiday[0].total_days", 6),
    }


def test_problems_carry_the_line_of_the_field() -> None:
    text = 'year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-01-05\nend=2027-01-01\n'
    with pytest.raises(ValidationError) as caught:
        load_holiday_text(text)
    assert [p.line for p in caught.value.problems] == [6]


# -- deadlines ----------------------------------------------------------------------------------


def _submitted(engine: Engine, clock: FrozenClock, on: date, start: date) -> str:
    clock.set(datetime(on.year, on.month, on.day, 9, tzinfo=CHINA_TZ))
    created = engine.create_reception(
        sample_letter(start),
        sample_plan(start),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    )
    engine.fire(created.reception.id, "submit", ACTORS["handler"])
    return created.reception.id


def test_an_approval_deadline_in_an_unknown_year_says_so() -> None:
    clock = FrozenClock()
    engine = make_engine(clock=clock)
    rid = _submitted(engine, clock, date(FAR, 3, 1), date(FAR, 3, 14))
    (deadline,) = [d for d in deadlines(engine, engine.get(rid), today=date(FAR, 3, 2))]
    assert deadline.kind is DeadlineKind.APPROVAL
    assert deadline.due == date(FAR, 3, 4)  # Tuesday 03-01 + 3 working days, Monday–Friday
    assert deadline.unknown_years == (FAR,)
    assert f"{FAR} 年放假安排未载入" in deadline.calendar_note_zh
    assert "Monday-Friday" in deadline.calendar_note_en


def test_with_the_file_the_deadline_skips_new_years_day_and_carries_no_warning(file_2027: Path) -> None:
    clock = FrozenClock()
    engine = make_engine(HolidayFiles.load([file_2027]), clock=clock)
    rid = _submitted(engine, clock, date(2026, 12, 30), date(2027, 1, 11))
    (deadline,) = deadlines(engine, engine.get(rid), today=date(2026, 12, 31))
    assert deadline.due == date(2027, 1, 5)  # 12-31, 01-04, 01-05
    assert deadline.unknown_years == ()
    assert deadline.calendar_note_zh == ""


def test_a_reminder_in_an_unknown_year_carries_the_warning() -> None:
    clock = FrozenClock()
    capture = Capture()
    engine = make_engine(capture, clock=clock)
    _submitted(engine, clock, date(FAR, 3, 1), date(FAR, 3, 14))
    assert remind(engine, date(FAR, 3, 4)) == len(engine.notifiers)  # one row per channel
    Dispatcher(engine).run_once()
    (message,) = capture.reminders
    assert f"{FAR} 年放假安排未载入" in message.notification.message_zh
    assert "Monday-Friday" in message.notification.message_en


# -- command line -------------------------------------------------------------------------------

ENV = {"COLUMNS": "200", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1", "JIEDAI_CALENDAR": ""}


def _jiedai(*args: str, cwd: Path) -> tuple[int, str, str]:
    with contextlib.chdir(cwd):
        result = CliRunner().invoke(main, list(args), env=ENV, prog_name="jiedai")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_cli_calendar_show_lists_the_loaded_year(file_2027: Path, tmp_path: Path) -> None:
    code, out, _err = _jiedai("--calendar", str(file_2027), "calendar", "show", "2027", cwd=tmp_path)
    assert code == 0
    assert "春节" in out
    assert "02-06（六） 至 02-14（日）" in out
    assert "01-31（日）" in out  # the make-up working days, one a line
    assert "02-20（六）" in out
    assert "测试用 2027 年放假安排" in out


def test_cli_calendar_check_fails_for_an_unknown_year_with_a_hint(tmp_path: Path) -> None:
    code, _out, err = _jiedai("calendar", "check", str(FAR), cwd=tmp_path)
    assert code == 1
    assert f"{FAR} 年放假安排未知" in err
    assert "--calendar" in err


def test_cli_calendar_check_json(file_2027: Path, tmp_path: Path) -> None:
    args = ("--calendar", str(file_2027), "--json", "calendar", "check", "2027")
    code, out, _err = _jiedai(*args, cwd=tmp_path)
    assert code == 0
    assert json.loads(out)["known"] is True
    assert json.loads(out)["origin"] == str(file_2027)


def test_cli_picks_up_jiedai_calendar_files_in_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "jiedai-calendar-2027.toml").write_text(TEST_2027, encoding="utf-8")
    with contextlib.chdir(tmp_path):
        result = CliRunner().invoke(main, ["calendar", "check", "2027"], env=ENV, prog_name="jiedai")
    assert result.exit_code == 0, result.output
    assert "已知" in result.stdout


def test_cli_a_bad_holiday_file_is_a_data_error_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('year = 2027\nsource = "s"\n[[holiday]]\nname="a"\nstart=2027-01-05\nend=2027-01-01\n')
    code, _out, err = _jiedai("--calendar", str(bad), "calendar", "check", "2027", cwd=tmp_path)
    assert code == 2
    assert "早于" in err
    assert "第 6 行" in err
    assert "Traceback" not in err


def test_cli_remind_warns_when_a_deadline_falls_in_an_unknown_year(tmp_path: Path) -> None:
    """``jiedai remind --today`` on a database with a reception whose deadline no calendar knows."""
    db = tmp_path / "j.db"
    url = f"sqlite:///{db}"
    from jiedai_flow.process.engine import open_engine
    from jiedai_flow.storage.migrate import upgrade

    upgrade(url)
    clock = FrozenClock()
    engine = open_engine(url, autoload=False, clock=clock)
    _submitted(engine, clock, date(FAR, 3, 1), date(FAR, 3, 14))
    engine.store.close()
    code, out, err = _jiedai("--db", url, "remind", "--today", f"{FAR}-03-04", cwd=tmp_path)
    assert code == 0, out + err
    assert f"{FAR} 年放假安排未载入" in err
    code, out, err = _jiedai("--db", url, "--json", "remind", "--today", f"{FAR}-03-04", cwd=tmp_path)
    assert json.loads(out)["unknown_years"] == [FAR]
