"""History imports 历史补录: past, archived receptions walked with their own dates, so the claim
deadline (F-04) is judged on the day of the claim, not today; a claim that was late is still
reported; repeated row errors are grouped with their row ranges; and the annual summary counts as
violations only what was one."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import pytest

from jiedai_flow.cli.app import StandardsFiles
from jiedai_flow.domain.samples import ACTORS
from jiedai_flow.domain.standards_toml import load_standards_text
from jiedai_flow.importer import ErrorGroup, RowError, group_errors, import_file
from jiedai_flow.reports import annual_summary
from jiedai_flow.testing import make_engine
from tests.test_cli import Site, as_json, jiedai, make_site
from tests.test_import import row, write_csv

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jiedai_flow.domain.records import AuditEvent
    from jiedai_flow.process.engine import Engine

ADMIN = ACTORS["admin"]
TODAY = date(2026, 3, 2)
"""The day of every import here: the test kit's frozen clock."""

ONE_MONTH = (
    'name = "报销时限"\nlevel = "county"\njurisdiction = "341502"\neffective_from = 2024-01-01\n'
    "[standards]\nclaim_deadline_months = 1\n"
)
"""A county layer: claims within one calendar month of the end of the reception."""


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """An engine on SQLite with a one-month claim deadline (the frozen clock reads 2026-03-02)."""
    made = make_engine(StandardsFiles([load_standards_text(ONE_MONTH)]), url=f"sqlite:///{tmp_path / 'h.db'}")
    yield made
    made.store.close()


def past(number: int, **changes: str) -> dict[str, str]:
    """An archived reception of March 2024, claimed on its last day (in time), numbered ``number``."""
    return row(letter_number=f"市农函〔2024〕{number}号", **changes)


def history_of(engine: Engine, reception_id: str) -> list[AuditEvent]:
    return list(engine.history(reception_id))


def f04_rows(errors: tuple[RowError, ...]) -> list[int]:
    return sorted({e.row for e in errors if e.code == "F-04"})


# -- the dated walk ----------------------------------------------------------------------------------


def test_archived_2024_receptions_import_as_history_with_no_f04_and_events_dated_2024(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "2024.csv", [past(1), past(2, start="2024-05-08", end="2024-05-09"), past(3)])
    report = import_file(engine, path, ADMIN, history=True)
    assert report.ok, [str(e) for e in report.errors]
    assert report.history
    assert [i.state for i in report.imported] == ["archived"] * 3
    for imported in report.imported:
        events = history_of(engine, imported.reception_id)
        assert {e.at.year for e in events} == {2024}
        assert all(not any(f.rule_id == "F-04" for f in e.findings) for e in events)
        assert all("历史补录" in e.reason and "2026-03-02 导入" in e.reason for e in events[1:])
        reception = engine.get(imported.reception_id)
        assert {a.at.year for a in reception.approvals} == {2024}
    events = history_of(engine, report.imported[0].reception_id)
    assert [(e.trigger, e.at.date().isoformat()) for e in events] == [
        ("create", "2024-03-05"),  # submitted: the letter's date (default: the start)
        ("submit", "2024-03-05"),
        ("approve", "2024-03-05"),  # approved: the day of submission
        ("start", "2024-03-05"),
        ("finish", "2024-03-06"),
        ("claim", "2024-03-06"),  # claimed: the list's signing date (default: the end)
        ("settle", "2024-03-07"),  # the day after the claim
        ("archive", "2024-03-07"),
    ]
    assert [e.at for e in events] == sorted(e.at for e in events)  # a minute apart, in order
    assert engine.store.verify().ok  # type: ignore[attr-defined]


def test_step_date_columns_date_each_step(engine: Engine, tmp_path: Path) -> None:
    dated = past(
        1,
        issued_on="2024-02-20",
        submitted_on="2024-02-26",
        approved_on="2024-02-28",
        signed_on="2024-03-08",
        claimed_on="2024-03-20",
        settled_on="2024-03-25",
        archived_on="2024-12-31",
    )
    report = import_file(engine, write_csv(tmp_path / "d.csv", [dated]), ADMIN, history=True)
    assert report.ok, [str(e) for e in report.errors]
    days = {e.trigger: e.at.date().isoformat() for e in history_of(engine, report.imported[0].reception_id)}
    assert days == {
        "create": "2024-02-26",
        "submit": "2024-02-26",
        "approve": "2024-02-28",
        "start": "2024-03-05",
        "finish": "2024-03-06",
        "claim": "2024-03-20",
        "settle": "2024-03-25",
        "archive": "2024-12-31",
    }


def test_refused_and_cancelled_rows_are_dated_by_the_decision_and_the_step_before(
    engine: Engine, tmp_path: Path
) -> None:
    rows = [
        past(1, state="refused", reason="不属于公务接待范围", approved_on="2024-03-01", meal_cost=""),
        past(2, state="cancelled", reason="来访取消", issued_on="2024-02-27", meal_cost=""),
    ]
    report = import_file(engine, write_csv(tmp_path / "rc.csv", rows), ADMIN, history=True)
    assert report.ok, [str(e) for e in report.errors]
    refused, cancelled = (history_of(engine, i.reception_id) for i in report.imported)
    assert [(e.trigger, e.at.date()) for e in refused] == [
        ("create", date(2024, 3, 1)),  # the submission by default is not after the decision given
        ("submit", date(2024, 3, 1)),
        ("refuse", date(2024, 3, 1)),
    ]
    assert [(e.trigger, e.at.date()) for e in cancelled] == [
        ("create", date(2024, 2, 27)),
        ("cancel", date(2024, 2, 27)),
    ]


# -- time limits: judged then, honestly ----------------------------------------------------------------


def test_without_history_mode_a_past_claim_is_still_judged_against_today(
    engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "2024.csv", [past(1), past(2)])
    report = import_file(engine, path, ADMIN)
    assert not report.written
    assert f04_rows(report.errors) == [2, 3]
    assert all("2026-03-02 才提交" in e.message_zh for e in report.errors if e.code == "F-04")


def test_a_claim_that_was_late_then_still_gets_f04_in_history_mode(engine: Engine, tmp_path: Path) -> None:
    """Ended 2024-03-06, one month to claim (last day 2024-04-06), claimed 2024-06-01: 56 days late."""
    path = write_csv(tmp_path / "late.csv", [past(1), past(2, claimed_on="2024-06-01")])
    report = import_file(engine, path, ADMIN, history=True)
    assert not report.written
    [late] = [e for e in report.errors if e.code == "F-04"]
    assert late.row == 3
    assert "报销逾期 56 天" in late.message_zh
    assert "2024-06-01 才提交" in late.message_zh

    explained = write_csv(
        tmp_path / "late.csv",
        [past(1), past(2, claimed_on="2024-06-01", explanations="F-04=经办人调离交接延误")],
    )
    done = import_file(engine, explained, ADMIN, history=True)
    assert done.ok, [str(e) for e in done.errors]
    claim = next(e for e in history_of(engine, done.imported[1].reception_id) if e.trigger == "claim")
    assert [f.rule_id for f in claim.findings if f.refuses] == ["F-04"]


@pytest.mark.parametrize(
    ("changes", "column", "says"),
    [
        ({"state": "approved"}, "state", "已办结"),
        ({"approved_on": "2024-03-06"}, "approved_on", "审批日期 2024-03-06 晚于开始日期 2024-03-05"),
        ({"claimed_on": "2024-03-01"}, "claimed_on", "报销日期 2024-03-01 早于结束日期"),
        ({"settled_on": "2026-03-03"}, "settled_on", "晚于导入当天 2026-03-02"),
        ({"archived_on": "2024/13/01"}, "archived_on", "不是有效日期"),
    ],
)
def test_a_history_row_ends_finished_with_its_days_in_order_and_past(
    engine: Engine, tmp_path: Path, changes: dict[str, str], column: str, says: str
) -> None:
    report = import_file(engine, write_csv(tmp_path / "bad.csv", [past(1, **changes)]), ADMIN, history=True)
    assert not report.written
    assert any(e.column == column and says in e.message_zh for e in report.errors), [
        str(e) for e in report.errors
    ]


def test_step_date_columns_are_refused_outside_history_mode(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "d.csv", [past(1, claimed_on="2024-03-06")])
    report = import_file(engine, path, ADMIN, explanations={"F-04": "补录"})
    assert [(e.column, e.message_zh) for e in report.errors] == [
        ("claimed_on", "只用于历史导入（--as-history），普通导入须留空")
    ]


def test_importing_a_history_file_again_changes_nothing(engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "2024.csv", [past(1), past(2)])
    first = import_file(engine, path, ADMIN, history=True)
    again = import_file(engine, path, ADMIN, history=True)
    assert [i.status for i in again.imported] == ["already", "already"]
    assert [i.reception_id for i in again.imported] == [i.reception_id for i in first.imported]
    assert not again.written


# -- grouped errors ----------------------------------------------------------------------------------


def test_repeated_errors_are_grouped_with_their_row_ranges(engine: Engine, tmp_path: Path) -> None:
    """Rows 2–5 and 9 claimed late (row 9 by more days), rows 6–7 in time, row 8 lacks its sending
    unit: two groups instead of six lines, every row still listed one by one."""
    recent = {"start": "2026-02-24", "end": "2026-02-25"}
    rows = [
        *(past(n) for n in range(1, 5)),
        past(5, **recent),
        past(6, **recent),
        past(7, sending_unit=""),
        past(8, start="2024-01-10", end="2024-01-11"),
    ]
    report = import_file(engine, write_csv(tmp_path / "mixed.csv", rows), ADMIN)
    assert report.bad_rows == (2, 3, 4, 5, 8, 9)
    assert len(report.errors) == 6
    late, blank = report.grouped_errors
    assert (late.column, late.code, late.rows) == ("end", "F-04", (2, 3, 4, 5, 9))
    assert (late.rows_zh, late.rows_en) == ("第 2–5、9 行", "rows 2–5, 9")
    assert late.varies  # row 9 is later by more days; the message is row 2's
    assert late.message_zh == report.errors[0].message_zh
    assert (blank.column, blank.rows, blank.rows_zh, blank.varies) == ("sending_unit", (8,), "第 8 行", False)
    assert str(blank).startswith("第 8 行「来函单位 sending_unit」：必填")


def test_group_errors_keeps_different_problems_apart_and_shows_single_rows() -> None:
    errors = [
        RowError(2, "start", "不是有效日期：'2024-02-30'（应为 YYYY-MM-DD）", "not a date: '2024-02-30'"),
        RowError(3, "start", "不是有效日期：'someday'（应为 YYYY-MM-DD）", "not a date: 'someday'"),
        RowError(4, "start", "必填，不能为空", "required, must not be blank"),
        RowError(5, "meal_cost", "必填，不能为空", "required, must not be blank"),
        RowError(0, "", "表头重复", "duplicate header"),
    ]
    groups = group_errors(errors)
    assert [(g.column, g.rows) for g in groups] == [
        ("", (0,)),
        ("start", (2, 3)),
        ("start", (4,)),
        ("meal_cost", (5,)),
    ]
    assert groups[0].rows_zh == "文件"
    assert groups[1].varies
    assert "各行细节不同，此为第 2 行" in str(groups[1])
    assert ErrorGroup("x", "", "m", "m", (7,), False).rows_en == "row 7"


# -- the annual summary ------------------------------------------------------------------------------


def test_clean_history_rows_add_no_violations_to_the_annual_summary(engine: Engine, tmp_path: Path) -> None:
    """Even with the old workaround's explanation given for every row, nothing needed explaining,
    so nothing counts; only the claim that really was late does."""
    path = write_csv(tmp_path / "2024.csv", [past(1), past(2), past(3)])
    report = import_file(engine, path, ADMIN, history=True, explanations={"F-04": "历史记录补录"})
    assert report.ok, [str(e) for e in report.errors]
    [clean] = annual_summary(engine.store, 2024, engine=engine)
    assert (clean.host_unit, clean.batches, clean.violations, clean.flagged) == ("县政府办公室", 3, 0, 0)

    late = past(4, claimed_on="2024-06-01", explanations="F-04=经办人调离交接延误")
    assert import_file(engine, write_csv(tmp_path / "late.csv", [late]), ADMIN, history=True).ok
    [counted] = annual_summary(engine.store, 2024, engine=engine)
    assert (counted.batches, counted.violations, counted.flagged) == (4, 1, 1)  # the claim event


# -- through the command line ----------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """``jiedai init``: two approval levels and a one-month claim deadline in the sample standards."""
    return make_site(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, monkeypatch)


def test_jiedai_import_as_history_imports_past_receptions_dated_as_they_happened(site: Site) -> None:
    write_csv(site.path / "past.csv", [past(1, approvers="孙浩;李娜"), past(2, approvers="孙浩;李娜")])
    assert [e["code"] for e in as_json("import", "past.csv", "--as", "admin", code=2)["errors"]] == [
        "F-04",
        "F-04",
    ]
    done = as_json("import", "past.csv", "--as", "admin", "--as-history")
    assert (done["history"], done["errors"], done["grouped_errors"]) == (True, [], [])
    assert [i["state"] for i in done["imported"]] == ["archived", "archived"]
    events = as_json("history", done["imported"][0]["reception_id"])
    assert {e["at"][:4] for e in events} == {"2024"}
    assert "审计链完整" in jiedai("audit", "verify").output


def test_jiedai_import_as_history_prints_grouped_errors_without_a_traceback(site: Site) -> None:
    late = {"approvers": "孙浩;李娜", "claimed_on": "2024-06-01"}
    write_csv(site.path / "late.csv", [past(n, **late) for n in range(1, 5)])
    result = jiedai("import", "late.csv", "--as", "admin", "--as-history", code=2)
    assert "第 2–5 行" in result.output
    assert "共 4 行" in result.output
    assert result.output.count("报销逾期 56 天") == 1
    assert "未导入任何记录" in result.stdout
    assert "历史补录" in result.stdout

    data = as_json("import", "late.csv", "--as", "admin", "--as-history", code=2)
    assert len(data["errors"]) == 4
    [group] = data["grouped_errors"]
    assert (group["rows"], group["rows_zh"], group["code"], group["label"]) == (
        [2, 3, 4, 5],
        "第 2–5 行",
        "F-04",
        "结束日期 end",
    )
