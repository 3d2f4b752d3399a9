"""Exports: the 接待清单 of a reception run through its whole life on each database, as Excel,
HTML and CSV, carries every field Art 7 and the 2025 list require; report tables render with
Chinese-first headers in the three formats; the rendered examples in docs/ are current."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from markupsafe import escape as markup_escape
from openpyxl import load_workbook  # type: ignore[import-untyped]  # why: openpyxl ships no type hints

from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.loading import dump
from jiedai_flow.domain.model import (
    DocumentKind,
    Guest,
    Invoice,
    ListItem,
    Payment,
    PaymentMethod,
    Person,
    Plan,
    Rank,
)
from jiedai_flow.reports import (
    AnnualSummaryRow,
    DisclosureRow,
    FlagKind,
    ListDocument,
    ListNotFiledError,
    RedFlag,
    examples,
    list_document,
    render_list_csv,
    render_list_html,
    render_table_csv,
    render_table_html,
    write_list_xlsx,
    write_table_xlsx,
)
from jiedai_flow.reports.examples import StepClock, complete_list, meal, run_lifecycle
from jiedai_flow.testing import make_engine, sample_letter

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.process.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
VISIT = date(2026, 3, 10)
DAY2 = date(2026, 3, 11)
SCRIPT = "<script>alert('x')</script>"
TRICKY_POST = '调研员, "特邀"'


@pytest.fixture
def engine(sql_url: str) -> Iterator[Engine]:
    engine = make_engine(url=sql_url, clock=StepClock())  # type: ignore[arg-type]
    engine.routes = {}  # the exports read no notifications: keep the outbox out of these tests
    yield engine
    engine.store.close()


def archived(engine: Engine) -> ListDocument:
    """A reception from its letter to its archive, with a complete 2025-style list: guests (one
    named like a script, one whose post needs CSV quoting), activity items and a meal, invoices,
    payments, companions, support staff, signed by the office head."""
    letter = sample_letter(VISIT)
    people = list(letter.personnel)
    people[1] = Guest(SCRIPT, "市农业农村局", "科长", Rank.COUNTY)
    people[2] = Guest("周明", "市农业农村局", TRICKY_POST, Rank.TOWNSHIP)
    letter = attrs.evolve(letter, personnel=tuple(people))
    plan = Plan(
        meals=(meal(VISIT, 4, 2, 55),),
        companions=(Person("王强", "县农业农村局局长"), Person("赵磊", "县政府办公室副主任")),
        budget=Decimal(1000),
    )
    items = (
        ListItem(VISIT, "高标准农田现场调研", "县农业产业园", Decimal("0.00"), "09:00-11:30"),
        ListItem(
            date(2026, 3, 11), "座谈会（含会场租用）", "县农业农村局会议室", Decimal("150.00"), "09:00-11:00"
        ),
    )
    listing = complete_list(letter, plan, invoice_numbers=["04512071"], items=items)
    listing = attrs.evolve(
        listing,
        invoices=(*listing.invoices, Invoice("04512072", date(2026, 3, 11), "县会议中心", Decimal("150.00"))),
        payments=(
            Payment(PaymentMethod.OFFICIAL_CARD, Decimal("330.00"), "公务卡尾号 6688"),
            Payment(PaymentMethod.TRANSFER, Decimal("150.00"), "转账凭证 2026031101"),
        ),
        support_staff=(Person("张伟", "县政府办公室科员"), Person("李司机", "县政府办公室驾驶员")),
        documents=frozenset(
            {DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST, DocumentKind.MENU}
        ),
    )
    reception = run_lifecycle(engine, engine.clock, letter, plan, listing=listing)  # type: ignore[arg-type]
    assert reception.state == "archived"
    return list_document(engine.get(reception.id))


def required_values(doc: ListDocument) -> list[str]:
    """Every value Art 7 (and the 2025 list) asks of a 接待清单, as text."""
    values = [doc.host_unit, doc.number, doc.sending_unit, doc.letter_number, doc.purpose, doc.content]
    values += [doc.start.isoformat(), doc.end.isoformat()]
    for g in doc.guests:
        values += [g.unit, g.name, g.post]
    for a in doc.activities:
        values += [a.on.isoformat(), a.time, a.item, a.place]
    for p in (*doc.companions, *doc.support_staff):
        values += [p.name, p.post]
    for i in doc.invoices:
        values += [i.number, i.issuer]
    for p in doc.payments:
        values += [p.method.label, p.reference]
    s = doc.signatures
    values += [s.handler, s.responsible, s.signed_on.isoformat() if s.signed_on else "<unsigned>"]
    return values


def money_values(doc: ListDocument) -> list[Decimal]:
    t = doc.totals
    return [
        *(a.cost for a in doc.activities),
        *(i.amount for i in doc.invoices),
        *(p.amount for p in doc.payments),
        t.items,
        t.meals,
        t.total,
        t.invoiced,
        t.paid,
    ]


def test_the_list_document_lays_out_the_filed_list(engine: Engine) -> None:
    doc = archived(engine)
    assert [g.name for g in doc.guests] == ["来宾1", SCRIPT, "周明", "来宾4"]
    assert [(a.on, a.time, a.place, a.cost) for a in doc.activities] == [
        (VISIT, "09:00-11:30", "县农业产业园", Decimal("0.00")),
        (VISIT, "午餐", "县机关食堂", Decimal("330.00")),
        (date(2026, 3, 11), "09:00-11:00", "县农业农村局会议室", Decimal("150.00")),
    ]
    assert (doc.totals.items, doc.totals.meals, doc.totals.total) == (
        Decimal(150),
        Decimal(330),
        Decimal(480),
    )
    assert doc.totals.invoiced == doc.totals.paid == Decimal(480)
    assert (doc.signatures.handler, doc.signatures.responsible) == ("张伟", "孙浩（县政府办公室主任）")
    assert doc.signatures.signed_on == date(2026, 3, 12)
    assert [a.name for a in doc.signatures.approvals] == ["李娜"]
    assert doc.documents == ("发票", "公函", "接待清单", "菜单")
    assert (doc.state, doc.purpose, doc.days) == ("已归档", "考察调研", 2)
    assert dump(doc)["guests"][1]["name"] == SCRIPT  # the CLI's --json output


def test_a_reception_without_its_list_has_no_list_document(engine: Engine) -> None:
    letter = sample_letter(VISIT)
    plan = Plan(meals=(meal(VISIT, 4, 2, 55),), budget=Decimal(1000))
    reception = run_lifecycle(engine, engine.clock, letter, plan, until="in_progress")  # type: ignore[arg-type]
    with pytest.raises(ListNotFiledError) as caught:
        list_document(reception)
    assert reception.number in str(caught.value)
    assert "尚未填报接待清单" in caught.value.message_zh


# -- Excel ----------------------------------------------------------------------------------------


def sheet_values(ws: Any) -> list[list[Any]]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def as_text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    return "" if value is None else str(value)


def test_the_list_workbook_holds_every_required_field_money_as_numbers(
    engine: Engine, tmp_path: Path
) -> None:
    doc = archived(engine)
    stream = io.BytesIO()
    write_list_xlsx(doc, stream)
    write_list_xlsx(doc, tmp_path / "qingdan.xlsx")
    for source in (io.BytesIO(stream.getvalue()), tmp_path / "qingdan.xlsx"):
        ws = load_workbook(source)["接待清单"]
        rows = sheet_values(ws)
        cells = {as_text(v) for row in rows for v in row}
        missing = [v for v in required_values(doc) if v not in cells]
        assert not missing
        assert rows[0][0] == "公务接待清单"
        assert "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
        for guest in doc.guests:  # unit, name, post side by side, numbered
            assert any(row[1:4] == [guest.unit, guest.name, guest.post] for row in rows)
        for a in doc.activities:
            found = [row for row in rows if row[2] == a.item and row[3] == a.place]
            assert len(found) == 1
            assert as_text(found[0][0]) == a.on.isoformat()
            assert (found[0][1], Decimal(str(found[0][4]))) == (a.time, a.cost)
        money_cells = [c for row in ws.iter_rows() for c in row if c.number_format == "#,##0.00"]
        assert all(isinstance(c.value, int | float) for c in money_cells if c.value is not None)
        amounts = {
            Decimal(str(c.value)).quantize(Decimal("0.01")) for c in money_cells if c.value is not None
        }
        assert set(money_values(doc)) <= amounts
        total_row = next(row for row in rows if row[0] == "合计 Total")
        assert Decimal(str(total_row[4])) == doc.totals.total
        assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4


# -- HTML -----------------------------------------------------------------------------------------


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        del attrs
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def test_the_list_html_shows_every_required_field_and_escapes_text(engine: Engine) -> None:
    doc = archived(engine)
    page = render_list_html(doc)
    missing = [v for v in required_values(doc) if str(markup_escape(v)) not in page]
    assert not missing
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    parsed = _Text()
    parsed.feed(page)
    assert "script" not in parsed.tags
    text = "".join(parsed.parts)
    assert SCRIPT in text
    for amount in money_values(doc):
        assert f"{amount:,.2f}" in text
    for heading in (
        "接待对象",
        "公务活动项目",
        "陪同人员",
        "工作保障人员",
        "发票",
        "支付",
        "费用合计",
        "签字",
    ):
        assert f"<h2>{heading}</h2>" in page  # Chinese only by default (lang="both" adds English)
    assert "size: A4 portrait;" in page
    assert '<meta charset="utf-8">' in page


# -- CSV ------------------------------------------------------------------------------------------


def sections(text: str) -> dict[str, list[list[str]]]:
    """{heading: rows after it} of the CSV list."""
    found: dict[str, list[list[str]]] = {}
    current: list[list[str]] | None = None
    for row in csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")):
        if not row:
            current = None
        elif current is None:
            current = found.setdefault(row[0], [])
        else:
            current.append(row)
    return found


def test_the_list_csv_is_excel_utf8_and_round_trips_through_the_csv_module(engine: Engine) -> None:
    doc = archived(engine)
    text = render_list_csv(doc)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    again = io.StringIO()
    csv.writer(again).writerows(rows)
    assert "\ufeff" + again.getvalue() == text
    found = sections(text)
    assert found["接待对象 guests"][1:] == [
        [str(n), g.unit, g.name, g.post] for n, g in enumerate(doc.guests, 1)
    ]
    assert TRICKY_POST in {row[3] for row in found["接待对象 guests"]}
    assert found["公务活动项目 activities"][1:] == [
        [a.on.isoformat(), a.time, a.item, a.place, f"{a.cost:.2f}", a.note] for a in doc.activities
    ]
    assert found["陪同人员 companions"][1:] == [
        [str(n), p.name, p.post] for n, p in enumerate(doc.companions, 1)
    ]
    assert found["工作保障人员 support staff"][1:] == [
        [str(n), p.name, p.post] for n, p in enumerate(doc.support_staff, 1)
    ]
    assert [row[0] for row in found["发票 invoices"][1:]] == [i.number for i in doc.invoices]
    assert dict(map(tuple, found["费用合计 totals"]))["实际费用合计 total"] == "480.00"
    assert dict(map(tuple, found["签字 signatures"])) == {
        "经办人 handler": "张伟",
        "负责人 responsible person": "孙浩（县政府办公室主任）",
        "签字日期 signed on": "2026-03-12",
    }
    basics = dict(map(tuple, found["基本信息 reception"]))
    assert basics["派出单位 sending unit"] == doc.sending_unit
    assert basics["公函文号 letter number"] == doc.letter_number


# -- report tables --------------------------------------------------------------------------------


def summary_rows() -> list[AnnualSummaryRow]:
    return [
        AnnualSummaryRow(
            2025, "341502", "县政府办公室<b>", 9, 30, 11, Decimal("2422.00"), Decimal("2302.00"),
            Decimal("20000.00"), Decimal("17698.00"), Decimal("11.5"), 2, 1,
        ),
        AnnualSummaryRow(
            2025, "341503", "县政府办公室", 1, 2, 1, Decimal("150.00"), Decimal(0), None, None, None, 0, 0
        ),
    ]  # fmt: skip


def flag_rows() -> list[RedFlag]:
    return [
        RedFlag(
            FlagKind.CONSECUTIVE_INVOICES, Severity.WARNING, "341502", "县政府办公室", ("a", "b"),
            ("341502-2025-00005", "341502-2025-00006"), "连号发票", "consecutive invoices",
            {"issuer": "县宾馆", "invoices": "No.1, No.2"},
        )
    ]  # fmt: skip


HEADER = re.compile(r"^[\u4e00-\u9fff（）%]+.* [A-Za-z(]")
"""Chinese first, then English: 「批次 batches」."""


@pytest.mark.parametrize(
    "rows", [summary_rows(), flag_rows(), [DisclosureRow(2025, 3, "341502", "单位", Decimal(1), 1, 4)]]
)
def test_report_tables_have_chinese_first_headers_in_every_format(rows: list[Any], tmp_path: Path) -> None:
    columns = type(rows[0]).COLUMNS
    headers = [c.header for c in columns]
    assert all(HEADER.match(h) for h in headers), headers
    parsed = list(csv.reader(io.StringIO(render_table_csv(rows).removeprefix("\ufeff"), newline="")))
    assert parsed[0] == headers
    assert len(parsed) == len(rows) + 1
    write_table_xlsx(rows, tmp_path / "t.xlsx", title="报表")
    ws = load_workbook(tmp_path / "t.xlsx").active
    assert [c.value for c in ws[2]] == [f"{c.zh}\n{c.en}" for c in columns]
    page = render_table_html(rows, "报表 <report>")
    assert "<title>报表 &lt;report&gt;</title>" in page
    for c in columns:
        assert f'<th>{escape(c.zh)}<span class="en">{escape(c.en)}</span></th>' in page


def test_summary_table_keeps_money_as_numbers_and_empty_budgets_empty(tmp_path: Path) -> None:
    rows = summary_rows()
    write_table_xlsx(rows, tmp_path / "s.xlsx", title="年度汇总")
    ws = load_workbook(tmp_path / "s.xlsx").active
    values = sheet_values(ws)
    assert values[0][0] == "年度汇总"
    first, second = values[2], values[3]
    assert first[:6] == [2025, "341502", "县政府办公室<b>", 9, 30, 11]
    assert [Decimal(str(v)) for v in first[6:10]] == [
        Decimal(2422),
        Decimal(2302),
        Decimal(20000),
        Decimal(17698),
    ]
    assert ws.cell(row=3, column=7).number_format == "#,##0.00"
    assert second[8:11] == [None, None, None]
    text = render_table_csv(rows)
    assert list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))[1][6:11] == [
        "2422.00", "2302.00", "20000.00", "17698.00", "11.5",
    ]  # fmt: skip
    assert "县政府办公室&lt;b&gt;" in render_table_html(rows, "年度汇总")


def test_red_flag_tables_show_labels_receptions_and_evidence() -> None:
    (line,) = list(csv.reader(io.StringIO(render_table_csv(flag_rows()).removeprefix("\ufeff"))))[1:]
    assert line[:5] == ["连号发票", "提醒", "341502", "县政府办公室", "341502-2025-00005、341502-2025-00006"]
    assert line[-1] == "issuer=县宾馆；invoices=No.1, No.2"


def test_empty_tables_still_have_their_headers(tmp_path: Path) -> None:
    text = render_table_csv([], row_type=RedFlag)
    assert next(csv.reader(io.StringIO(text.removeprefix("\ufeff")))) == [c.header for c in RedFlag.COLUMNS]
    assert "无 none" in render_table_html([], "空", row_type=DisclosureRow)
    write_table_xlsx([], tmp_path / "e.xlsx", row_type=AnnualSummaryRow)
    ws = load_workbook(tmp_path / "e.xlsx").active
    assert ws.cell(row=2, column=4).value == "批次\nbatches"


# -- the rendered examples in docs/ ---------------------------------------------------------------


def test_the_committed_examples_are_what_the_examples_module_renders_now(tmp_path: Path) -> None:
    """docs/examples/ is regenerated by ``python -m jiedai_flow.reports.examples``."""
    files = examples.generate(tmp_path)
    committed = ROOT / "docs" / "examples"
    # bytes, not read_text(): the CSV's CRLF line ends are part of what is committed
    stale = [name for name, text in files.items() if (committed / name).read_bytes().decode() != text]
    assert not stale, f"docs/examples is stale ({stale}); run: python -m jiedai_flow.reports.examples"


def test_docs_reports_quote_the_rendered_examples() -> None:
    page = (ROOT / "docs" / "reports.md").read_text(encoding="utf-8")
    assert "(examples/jiedai-qingdan.html)" in page
    for name in ("annual-summary.md", "red-flags.md"):
        table = (ROOT / "docs" / "examples" / name).read_text(encoding="utf-8")
        assert table in page, f"docs/reports.md does not quote docs/examples/{name}"


def test_text_that_looks_like_a_formula_stays_text_in_every_spreadsheet(tmp_path: Path) -> None:
    """A host unit (or a guest's post) typed as ``=HYPERLINK(…)`` or ``@SUM(…)`` is text in the
    workbook (never a formula cell) and is led by ``'`` in the CSV, which Excel and WPS read as text;
    negative money in the CSV is left as the number it is."""
    from jiedai_flow.reports.render_csv import inert

    evil = '=HYPERLINK("http://evil.example","x")'
    rows = [
        AnnualSummaryRow(
            2025, "341502", evil, 1, 2, 1, Decimal("150.00"), Decimal(0), None, None, None, 0, 0
        ),
        AnnualSummaryRow(
            2025, "341503", "@SUM(1+1)", 1, 2, 1, Decimal("150.00"), Decimal(0), None, None, None, 0, 0
        ),
    ]  # fmt: skip
    write_table_xlsx(rows, tmp_path / "s.xlsx", title="年度汇总")
    ws = load_workbook(tmp_path / "s.xlsx").active
    cells = [c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value[:1] in "=@"]
    assert {c.value for c in cells} == {evil, "@SUM(1+1)"}
    assert all(c.data_type == "s" for c in cells)
    parsed = list(csv.reader(io.StringIO(render_table_csv(rows).removeprefix("\ufeff"), newline="")))
    units = [line[2] for line in parsed[1:]]
    assert units == ["'" + evil, "'@SUM(1+1)"]
    assert [inert("-180.00"), inert("+3"), inert("-"), inert("\t=1")] == ["-180.00", "+3", "'-", "'\t=1"]
