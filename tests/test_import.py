"""Bulk import: good rows walked through the engine (so the audit chain stays valid), every bad
row reported with its row number and column, nothing half-written, a second run changing nothing."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]  # why: openpyxl ships no type hints

from jiedai_flow import importer
from jiedai_flow.cli.app import StandardsFiles
from jiedai_flow.cli.starter import STANDARDS_TOML
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.samples import ACTORS
from jiedai_flow.domain.standards_toml import load_standards_text
from jiedai_flow.errors import StorageError, ValidationError
from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.importer import COLUMNS, column_of, import_file
from jiedai_flow.process.engine import Engine
from jiedai_flow.testing import make_engine
from tests.databases import private_database
from tests.test_cli import Site, as_json, jiedai, make_site

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from jiedai_flow.domain.records import AuditEvent, Notification, Reception

ADMIN = ACTORS["admin"]

BASE = {
    "letter_number": "市农函〔2024〕3号",
    "sending_unit": "市农业农村局",
    "purpose": "考察调研",
    "content": "春耕调研",
    "start": "2024-03-05",
    "end": "2024-03-06",
    "guests": "刘建国/副局长//厅局级; 陈晓华/科长",
    "host_unit": "县政府办公室",
    "jurisdiction": "341502",
    "handler": "张伟",
    "meal_venue": "县机关食堂",
    "meal_cost": "180.00",
    "companion_names": "王强/局长",
    "support_staff": "赵敏/科员",
    "approvers": "孙浩",
    "finance": "王芳",
    "invoice_number": "0001",
    "signed_by": "孙浩",
}


def row(**changes: str) -> dict[str, str]:
    return {**BASE, **changes}


def write_csv(
    path: Path, rows: list[dict[str, str]], *, labels: bool = False, encoding: str = "utf-8"
) -> Path:
    names = [c.name for c in COLUMNS if any(c.name in r for r in rows)]
    by_name = {c.name: c.label for c in COLUMNS}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([by_name[n] if labels else n for n in names])
    writer.writerows([[r.get(n, "") for n in names] for r in rows])
    path.write_text(out.getvalue(), encoding=encoding)
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a real database with the built-in plugins only (one approval step)."""
    for url in private_database(request.param, tmp_path):
        made = make_engine(url=url)
        yield made
        made.store.close()


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(url=f"sqlite:///{tmp_path / 'import.db'}")
    yield made
    made.store.close()


def receptions(engine: Engine) -> list[Reception]:
    from jiedai_flow.domain.records import ReceptionQuery

    return list(engine.query(ReceptionQuery(limit=1000)).items)


# -- the honest path --------------------------------------------------------------------------------


def test_rows_are_walked_through_the_engine_to_their_state(engine: Engine, tmp_path: Path) -> None:
    """Archived, approved, draft, refused and cancelled rows: each reaches its state by the
    engine's own steps, as import actors, with the file, row and operator in every reason."""
    path = write_csv(
        tmp_path / "past.csv",
        [
            row(),
            row(letter_number="市教函〔2024〕9号", state="已审批", meal_cost="", start="2024/4/10", end=""),
            row(letter_number="草稿1", state="draft"),
            row(letter_number="拒1", state="refused", reason="不属于公务接待范围"),
            row(letter_number="撤1", state="已撤销", reason="来访取消"),
        ],
    )
    report = import_file(engine, path, ADMIN)
    assert report.ok, report.errors
    assert report.written
    assert [(i.row, i.state, i.status) for i in report.imported] == [
        (2, "archived", "imported"),
        (3, "approved", "imported"),
        (4, "draft", "imported"),
        (5, "refused", "imported"),
        (6, "cancelled", "imported"),
    ]
    archived = engine.get(report.imported[0].reception_id)
    assert archived.handler.id == "import:张伟"
    assert archived.reception_list is not None
    assert archived.reception_list.total == Decimal("180.00")
    assert [g.unit for g in archived.letter.personnel] == ["市农业农村局", "市农业农村局"]
    events: list[AuditEvent] = list(engine.history(archived.id))
    assert [e.trigger for e in events] == [
        "create", "submit", "approve", "start", "finish", "claim", "settle", "archive",
    ]  # fmt: skip
    assert {e.actor_id for e in events} == {"import:张伟", "import:孙浩", "import:王芳"}
    assert all(e.request_id is not None and e.request_id.startswith("import:") for e in events)
    assert all("past.csv 第 2 行" in e.reason and ADMIN.id in e.reason for e in events[1:])
    refused = engine.get(report.imported[3].reception_id)
    assert engine.history(refused.id)[-1].reason.startswith("不属于公务接待范围")
    verify = engine.store.verify()  # type: ignore[attr-defined]
    assert verify.ok, verify.problem


def test_importing_the_same_file_again_changes_nothing(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "past.csv", [row(), row(letter_number="第二件", state="approved")])
    first = import_file(sqlite_engine, path, ADMIN)
    again = import_file(sqlite_engine, path, ADMIN)
    assert [i.status for i in again.imported] == ["already", "already"]
    assert not again.written
    assert [i.reception_id for i in again.imported] == [i.reception_id for i in first.imported]
    assert len(receptions(sqlite_engine)) == 2
    # the same rows from a renamed copy, a row above them added: the import note (file, row, run)
    # differs, the rows do not — each is one already imported, not a request id reused
    moved = write_csv(
        tmp_path / "past-copy.csv",
        [row(letter_number="新的一件"), row(), row(letter_number="第二件", state="approved")],
    )
    third = import_file(sqlite_engine, moved, ADMIN)
    assert [i.status for i in third.imported] == ["imported", "already", "already"]


def test_an_import_writes_no_notifications_and_its_rehearsal_calls_no_observer(
    tmp_path: Path,
) -> None:
    seen: list[str] = []

    class Observer:
        @hookimpl
        def jiedai_after_transition(self, reception: Reception, event: AuditEvent) -> None:
            seen.append(f"after:{event.trigger}")

        @hookimpl
        def jiedai_notify(self, notification: Notification, reception: Reception) -> None:
            seen.append(f"notify:{notification.topic}")

    engine = make_engine(Observer(), url=f"sqlite:///{tmp_path / 'n.db'}")
    try:
        path = write_csv(tmp_path / "past.csv", [row()])
        assert import_file(engine, path, ADMIN, dry_run=True).ok
        assert seen == []  # the rehearsal walked the whole row, and told nobody
        assert import_file(engine, path, ADMIN).written
        assert engine.store.pending_notifications() == ()
    finally:
        engine.store.close()


# -- bad rows ---------------------------------------------------------------------------------------


def test_a_bad_row_imports_nothing_and_every_problem_names_its_row_and_column(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path / "mixed.csv",
        [
            row(),
            row(start="2024-13-01", meal_cost="12.345", purpose="游山玩水", jurisdiction="34x", guests=""),
            row(state="flying", approvers="", finance=""),
            row(guests="只有名字/职务/单位/职级/多余"),
        ],
    )
    report = import_file(sqlite_engine, path, ADMIN)
    assert not report.written
    assert receptions(sqlite_engine) == []
    found = {(e.row, e.column) for e in report.errors}
    assert {(3, "start"), (3, "meal_cost"), (3, "purpose"), (3, "jurisdiction"), (3, "guests")} <= found
    assert (4, "state") in found
    assert (5, "guests") in found
    assert report.bad_rows == (3, 4, 5)
    assert all(str(e).startswith(f"第 {e.row} 行") for e in report.errors)


def test_skip_bad_imports_the_good_rows(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "mixed.csv", [row(), row(start="someday"), row(letter_number="第三件")])
    report = import_file(sqlite_engine, path, ADMIN, skip_bad=True)
    assert [i.row for i in report.imported] == [2, 4]
    assert report.bad_rows == (3,)
    assert len(receptions(sqlite_engine)) == 2


def test_a_rule_refusal_in_the_rehearsal_is_a_row_error_at_its_column(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "p.csv", [row(companions="6", meal_cost="900.00", guests="甲/科长")])
    report = import_file(sqlite_engine, path, ADMIN)
    assert not report.written
    assert receptions(sqlite_engine) == []
    m02 = [e for e in report.errors if e.message_zh.startswith("M-02")]
    assert m02
    assert m02[0].column == "companions"
    assert m02[0].label == "陪餐人数 companions"


def test_a_row_with_more_cells_than_the_header_is_bad(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    write_csv(path, [row()])
    path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + ",surplus\n", encoding="utf-8")
    report = import_file(sqlite_engine, path, ADMIN)
    assert [(e.row, e.column) for e in report.errors] == [(2, "")]


@pytest.mark.parametrize(
    ("header", "says"),
    [
        ("letter_number,sending_unit,flavour", "flavour"),
        ("letter_number", "sending_unit"),
        ("公函编号,letter_number", "重复"),
    ],
)
def test_a_wrong_header_is_reported_before_any_row(
    sqlite_engine: Engine, tmp_path: Path, header: str, says: str
) -> None:
    path = tmp_path / "h.csv"
    path.write_text(header + "\nx,y,z\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=says) as raised:
        import_file(sqlite_engine, path, ADMIN)
    assert all(p.line == 1 for p in raised.value.problems)


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("empty.csv", b"", "空"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "xlsx"),
        ("old.xls", b"\xd0\xcf\x11\xe0", ".xlsx"),
        ("notes.md", b"# hi", "不支持"),
    ],
)
def test_an_unreadable_file_is_a_message(
    sqlite_engine: Engine, tmp_path: Path, name: str, content: bytes, says: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ValidationError, match=says):
        import_file(sqlite_engine, tmp_path / name, ADMIN)


# -- formats ----------------------------------------------------------------------------------------


def test_chinese_headers_and_a_gbk_csv_from_excel_are_read(sqlite_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", [row()], labels=True, encoding="gb18030")
    report = import_file(sqlite_engine, path, ADMIN)
    assert report.ok, report.errors
    assert engine_of(sqlite_engine, report).letter.sending_unit == "市农业农村局"


def engine_of(engine: Engine, report: importer.ImportReport) -> Reception:
    return engine.get(report.imported[0].reception_id)


def test_an_xlsx_with_typed_cells_imports_dates_money_and_counts(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    values: dict[str, Any] = {
        **BASE,
        "start": datetime(2024, 3, 5),
        "end": date(2024, 3, 6),
        "meal_cost": 180.5,
        "companions": 1,
        "invoice_number": 1001,
    }
    sheet.append([f"{c.label} {c.name}" for c in COLUMNS if c.name in values])
    sheet.append([values[c.name] for c in COLUMNS if c.name in values])
    book.save(tmp_path / "past.xlsx")
    report = import_file(sqlite_engine, tmp_path / "past.xlsx", ADMIN)
    assert report.ok, report.errors
    reception = engine_of(sqlite_engine, report)
    assert (reception.start, reception.end) == (date(2024, 3, 5), date(2024, 3, 6))
    assert reception.plan.meals[0].cost == Decimal("180.50")
    assert reception.plan.meals[0].companions == 1
    assert reception.reception_list is not None
    assert reception.reception_list.invoices[0].number == "1001"


def test_progress_is_reported_for_checking_then_importing(sqlite_engine: Engine, tmp_path: Path) -> None:
    calls: list[tuple[str, int, int]] = []
    path = write_csv(tmp_path / "p.csv", [row(), row(letter_number="二")])
    import_file(sqlite_engine, path, ADMIN, progress=lambda *args: calls.append(args))
    assert calls == [("check", 1, 2), ("check", 2, 2), ("import", 1, 2), ("import", 2, 2)]


def test_model_paths_map_to_the_columns_they_come_from() -> None:
    assert column_of("$.plan.meals[0].companions") == "companions"
    assert column_of("$.reception_list.invoices[1].amount") == "invoice_number"
    assert column_of("$.letter.itinerary") == "end"
    assert column_of("$.letter.personnel[2].name") == "guests"
    assert column_of("$.nowhere") == ""


# -- nothing half-written ---------------------------------------------------------------------------


def test_a_row_the_database_stops_half_way_leaves_nothing_and_a_rerun_imports_all(
    sqlite_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The rehearsal cannot foresee a database failure; the file is one transaction, so the row
    stopped half-way — and the rows before it — are rolled back, and the same file run again
    imports everything once."""
    real_fire = Engine.fire

    def failing(self: Engine, reception_id: str, trigger: str, *args: Any, **kwargs: Any) -> Any:
        if trigger == "settle" and type(self) is Engine:  # the real run, not the rehearsal
            raise StorageError("数据库连接中断", "database connection lost")
        return real_fire(self, reception_id, trigger, *args, **kwargs)

    path = write_csv(tmp_path / "past.csv", [row(), row(letter_number="第二件")])
    monkeypatch.setattr(Engine, "fire", failing)
    stopped = import_file(sqlite_engine, path, ADMIN)
    assert not stopped.written
    assert stopped.imported == ()
    assert receptions(sqlite_engine) == []

    monkeypatch.setattr(Engine, "fire", real_fire)
    finished = import_file(sqlite_engine, path, ADMIN)
    assert [(i.status, i.state) for i in finished.imported] == [("imported", "archived")] * 2
    events = sqlite_engine.history(finished.imported[0].reception_id)
    assert [e.seq for e in events] == list(range(1, 9))  # no step twice
    assert sqlite_engine.store.verify().ok  # type: ignore[attr-defined]


def test_a_budget_cap_counts_the_ledger_and_the_rows_before(tmp_path: Path) -> None:
    """With a 500-yuan cap, a 300-yuan row fits; a second one in the same file does not, so the
    file imports nothing; once the first is in, a file with the second alone fails too."""
    layer = load_standards_text(
        'name = "cap"\nlevel = "county"\njurisdiction = "341502"\neffective_from = 2024-01-01\n'
        '[standards]\n[[standards.budgets]]\nhost_unit = "县政府办公室"\nyear = 2024\namount = "500.00"\n'
    )
    engine = make_engine(StandardsFiles([layer]), url=f"sqlite:///{tmp_path / 'b.db'}")
    try:
        first, second = row(meal_cost="300.00"), row(letter_number="第二件", meal_cost="300.00")
        both = import_file(engine, write_csv(tmp_path / "both.csv", [first, second]), ADMIN)
        assert not both.written
        assert [e.row for e in both.errors if "F-05" in e.message_zh] == [3]
        assert import_file(engine, write_csv(tmp_path / "one.csv", [first]), ADMIN).written
        alone = import_file(engine, write_csv(tmp_path / "two.csv", [second]), ADMIN)
        assert not alone.written
        assert any("F-05" in e.message_zh for e in alone.errors)
    finally:
        engine.store.close()


# -- through the command line ---------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """``jiedai init``: two approval levels and a one-month claim deadline in the sample standards."""
    assert "approval_levels" in STANDARDS_TOML
    return make_site(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, monkeypatch)


def test_jiedai_import_reports_bad_rows_and_imports_nothing_by_default(site: Site) -> None:
    two_steps = {"approvers": "孙浩;李娜", "explanations": "F-04=历史记录补录"}
    write_csv(site.path / "past.csv", [row(**two_steps), row(start="2024-02-30", **two_steps)])
    refused = jiedai("import", "past.csv", "--as", "admin", code=2)
    assert "未导入任何记录" in refused.stdout
    assert "开始日期 start" in refused.output
    assert "2024-02-30" in refused.output
    assert as_json("list")["items"] == []

    data = as_json("import", "past.csv", "--as", "admin", "--skip-bad", code=2)
    assert [i["row"] for i in data["imported"]] == [2]
    assert [(e["row"], e["column"], e["label"]) for e in data["errors"]] == [(3, "start", "开始日期 start")]
    assert len(as_json("list")["items"]) == 1
    assert "审计链完整" in jiedai("audit", "verify").output


def test_jiedai_import_needs_every_approver_of_the_chain_and_an_explanation_for_a_late_claim(
    site: Site,
) -> None:
    write_csv(site.path / "past.csv", [row()])
    short = as_json("import", "past.csv", "--as", "admin", "--dry-run", code=2)
    assert [(e["column"], e["message_zh"][:6]) for e in short["errors"]] == [("approvers", "审批链有 2")]

    write_csv(site.path / "past.csv", [row(approvers="孙浩;李娜")])
    late = as_json("import", "past.csv", "--as", "admin", "--dry-run", code=2)
    assert [e["message_zh"][:4] for e in late["errors"]] == ["F-04"]
    assert "情况说明" in late["errors"][0]["message_zh"]

    dry = as_json("import", "past.csv", "--as", "admin", "--dry-run", "--explain", "F-04=历史记录补录")
    assert (dry["errors"], dry["written"]) == ([], False)
    assert as_json("list")["items"] == []
    done = as_json("import", "past.csv", "--as", "admin", "--explain", "F-04=历史记录补录")
    assert [i["state"] for i in done["imported"]] == ["archived"]
    history = as_json("history", done["imported"][0]["reception_id"])
    assert [e["actor_id"] for e in history if e["trigger"] == "approve"] == ["import:孙浩", "import:李娜"]


def test_jiedai_import_writes_a_template_whose_header_it_reads(site: Site) -> None:
    jiedai("import", "template.csv", "--template")
    lines = (site.path / "template.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].split(",") == [c.label for c in COLUMNS]
    rows, errors = importer.read_rows(site.path / "template.csv")
    assert (len(rows), errors) == (1, [])  # the example row


@pytest.mark.parametrize("name", ["template.csv", "template.xlsx"])
@pytest.mark.parametrize("options", [[], ["--as-history"]])
def test_the_template_imports_unchanged(site: Site, name: str, options: list[str]) -> None:
    """A clerk opens the template, sees a filled example (a reception of last week, archived), and
    the file imports as it stands: with the default options, and as history."""
    jiedai("import", name, "--template")
    assert "1" in jiedai("import", name, "--as", "admin", *options, "--dry-run").output
    done = as_json("import", name, "--as", "admin", *options)
    (imported,) = done["imported"]
    year = (date.today() - timedelta(days=7)).year  # the example's start; Dec 31/Jan 1 aside
    assert imported["state"] == "archived"
    assert imported["number"] in {f"341502-{y}-00001" for y in (year, year + 1)}


@pytest.mark.parametrize(
    "today", [date(2026, 3, 2), date(2026, 2, 24), date(2025, 10, 8), date(2026, 1, 4), date(2027, 1, 1)]
)
@pytest.mark.parametrize("history", [False, True])
def test_the_template_row_imports_whatever_day_it_is_written(
    tmp_path: Path, today: date, history: bool
) -> None:
    """The example row is dated from the day the template is written (after holidays, on a weekend,
    at New Year too), so it never grows too old to import."""
    from jiedai_flow.importer.template import template_csv
    from jiedai_flow.testing import FrozenClock

    path = tmp_path / "template.csv"
    path.write_text(template_csv(today), encoding="utf-8-sig")
    clock = FrozenClock(datetime.combine(today, time(10, 0), tzinfo=CHINA_TZ))
    engine = make_engine(StandardsFiles([load_standards_text(STANDARDS_TOML)]), clock=clock)
    report = import_file(engine, path, ADMIN, history=history)
    assert [(r.row, r.state) for r in report.imported] == [(2, "archived")], report.errors


def test_the_xlsx_template_is_a_workbook_with_notes_and_drop_down_lists(site: Site) -> None:
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    from jiedai_flow.importer.template import choices

    jiedai("import", "template.xlsx", "--template")
    sheet = load_workbook(site.path / "template.xlsx").active
    assert [c.value for c in sheet[1]] == [c.label for c in COLUMNS]
    assert all(c.comment is not None and c.comment.text for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    validated = {
        next(iter(dv.sqref.ranges)).coord.split(":")[0].rstrip("0123456789"): dv.formula1
        for dv in sheet.data_validations.dataValidation
    }
    by_letter = {sheet.cell(row=1, column=i + 1).column_letter: c.name for i, c in enumerate(COLUMNS)}
    lists = {by_letter[letter]: formula.strip('"').split(",") for letter, formula in validated.items()}
    assert lists == {name: list(values) for name, values in choices().items()}


def test_jiedai_import_refuses_an_operator_who_is_neither_admin_nor_office(site: Site) -> None:
    write_csv(site.path / "past.csv", [row()])
    assert "不能批量导入" in jiedai("import", "past.csv", "--as", "li.na", code=2).output
    assert "--as" in jiedai("import", "past.csv", code=2).output
