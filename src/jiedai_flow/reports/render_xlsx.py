"""Excel workbooks 电子表格 (openpyxl): the 接待清单 in its printed layout, and report tables.

Money cells are numbers with the ``#,##0.00`` format (so Excel sums them), dates are dates,
headers are Chinese first with English. Sheets are set up for A4 printing, one page wide.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any

from openpyxl import Workbook  # type: ignore[import-untyped]  # why: openpyxl ships no type hints
from openpyxl.styles import (  # type: ignore[import-untyped]  # why: same
    Alignment,
    Border,
    Font,
    PatternFill,
    Side,
)
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]  # why: same

from jiedai_flow.reports.common import Column, cell_value, table_columns
from jiedai_flow.reports.listing import TITLE_EN, payment_payer

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from jiedai_flow.reports.common import TableRow
    from jiedai_flow.reports.listing import ListDocument

MONEY = "#,##0.00"
DATE = "yyyy-mm-dd"
PERCENT = "0.0"
"""Percentages are stored as numbers of percent (45.3), the way the headers say「（%）」."""
_THIN = Side(style="thin", color="000000")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", start_color="EEEEEE", end_color="EEEEEE")
_LABEL_FILL = PatternFill("solid", start_color="F6F6F6", end_color="F6F6F6")
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
_WIDTHS = (12, 14, 22, 22, 14, 30)
"""Columns A–F of the list sheet: date, time, activity, place, cost, note (the widest table)."""


_ACTIVITY_COLUMNS = (
    ("日期", "Date"),
    ("时间", "Time"),
    ("活动项目", "Activity"),
    ("场所", "Place"),
    ("费用（元）", "Cost (yuan)"),
    ("备注", "Note"),
)


def _put(ws: Any, row: int, column: int, value: Any) -> Any:
    """Write ``value`` into a cell as what it is: text that begins with ``=`` stays text (openpyxl
    would store it as a formula, which a clerk's ``=HYPERLINK(…)`` must never become)."""
    cell = ws.cell(row=row, column=column, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"
    return cell


class _Sheet:
    """A cursor over a worksheet that writes the list's blocks one under another."""

    def __init__(self, ws: Any, width: int) -> None:
        self.ws, self.width, self.row = ws, width, 1

    def cell(self, column: int, value: Any, *, kind: str = "", bold: bool = False, fill: Any = None) -> Any:
        cell = _put(self.ws, self.row, column, value)
        cell.border = _BOX
        cell.alignment = _WRAP
        if kind == "money":
            cell.number_format = MONEY
        elif kind == "date":
            cell.number_format = DATE
        elif kind == "percent":
            cell.number_format = PERCENT
        if bold:
            cell.font = Font(bold=True)
        if fill is not None:
            cell.fill = fill
        return cell

    def merged(self, first: int, last: int, value: Any, **style: Any) -> Any:
        cell = self.cell(first, value, **style)
        for column in range(first + 1, last + 1):
            self.ws.cell(row=self.row, column=column).border = _BOX
        if last > first:
            self.ws.merge_cells(start_row=self.row, start_column=first, end_row=self.row, end_column=last)
        return cell

    def title(self, text: str, size: int) -> None:
        cell = _put(self.ws, self.row, 1, text)
        cell.font = Font(size=size, bold=True)
        cell.alignment = _CENTER
        self.ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=self.width)
        self.row += 1

    def heading(self, zh: str, en: str) -> None:
        self.row += 1
        cell = _put(self.ws, self.row, 1, f"{zh} {en}")
        cell.font = Font(size=12, bold=True)
        self.ws.merge_cells(start_row=self.row, start_column=1, end_row=self.row, end_column=self.width)
        self.row += 1

    def header(self, labels: Sequence[tuple[str, str]]) -> None:
        for n, (zh, en) in enumerate(labels, 1):
            cell = self.cell(n, f"{zh}\n{en}", bold=True, fill=_HEAD_FILL)
            cell.alignment = _CENTER
        self.row += 1

    def line(self, values: Sequence[tuple[Any, str]]) -> None:
        for n, (value, kind) in enumerate(values, 1):
            self.cell(n, value, kind=kind)
        self.row += 1

    def table(self, labels: Sequence[tuple[str, str]], rows: Sequence[Sequence[tuple[Any, str]]]) -> None:
        self.header(labels)
        for values in rows:
            self.line(values)
        if not rows:
            self.merged(1, len(labels), "无 none")
            self.row += 1


def write_list_xlsx(doc: ListDocument, target: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write the 接待清单 as an Excel workbook to a path or a binary stream."""
    wb = Workbook()
    ws = wb.active
    ws.title = "接待清单"
    sheet = _Sheet(ws, len(_WIDTHS))
    sheet.title(doc.title, 18)
    sheet.title(f"{TITLE_EN} · 编号 No. {doc.number} · {doc.state}", 10)
    sheet.row += 1
    _info(sheet, doc)
    _list_tables(sheet, doc)
    for n, width in enumerate(_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(n)].width = width
    _print_setup(ws, landscape=False)
    wb.save(target)


def _info(sheet: _Sheet, doc: ListDocument) -> None:
    pairs = [
        ("接待单位 Host unit", doc.host_unit, ""),
        ("接待编号 Number", doc.number, ""),
        ("派出单位 Sending unit", doc.sending_unit, ""),
        (f"{doc.letter_kind}文号 Letter no.", doc.letter_number, ""),
        ("公函日期 Letter date", doc.letter_issued_on, "date"),
        ("公务事由 Purpose", doc.purpose, ""),
        ("接待类型 Type", doc.reception_type, ""),
        ("人数 Headcount", f"{doc.headcount}（公函 {doc.letter_headcount} 人）", ""),
        ("开始日期 Start", doc.start, "date"),
        ("结束日期 End", doc.end, "date"),
    ]
    for n in range(0, len(pairs), 2):
        for offset, (label, value, kind) in zip((1, 4), pairs[n : n + 2], strict=False):
            sheet.cell(offset, label, bold=True, fill=_LABEL_FILL)
            sheet.merged(offset + 1, offset + 2, value, kind=kind)
        sheet.row += 1
    sheet.cell(1, "公务内容 Content", bold=True, fill=_LABEL_FILL)
    sheet.merged(2, 6, doc.content)
    sheet.row += 1


def _list_tables(sheet: _Sheet, doc: ListDocument) -> None:
    sheet.heading("接待对象", "Guests")
    sheet.table(
        [("序号", "No."), ("单位", "Unit"), ("姓名", "Name"), ("职务", "Post")],
        [[(n, ""), (g.unit, ""), (g.name, ""), (g.post, "")] for n, g in enumerate(doc.guests, 1)],
    )
    sheet.heading("公务活动项目", "Activities")
    sheet.table(
        _ACTIVITY_COLUMNS,
        [
            [(a.on, "date"), (a.time, ""), (a.item, ""), (a.place, ""), (a.cost, "money"), (a.note, "")]
            for a in doc.activities
        ],
    )
    sheet.merged(1, 4, "合计 Total", bold=True)
    sheet.cell(5, doc.totals.total, kind="money", bold=True)
    sheet.cell(6, None)
    sheet.row += 1
    for zh, en, people in (
        ("陪同人员", "Companions", doc.companions),
        ("工作保障人员", "Support staff", doc.support_staff),
    ):
        sheet.heading(zh, en)
        sheet.table(
            [("序号", "No."), ("姓名", "Name"), ("职务", "Post")],
            [[(n, ""), (p.name, ""), (p.post, "")] for n, p in enumerate(people, 1)],
        )
    sheet.heading("发票", "Invoices")
    sheet.table(
        [("发票号码", "Number"), ("开票日期", "Date"), ("开票单位", "Issuer"), ("金额（元）", "Amount")],
        [[(i.number, ""), (i.issued_on, "date"), (i.issuer, ""), (i.amount, "money")] for i in doc.invoices],
    )
    sheet.heading("支付", "Payments")
    sheet.table(
        [("支付方式", "Method"), ("金额（元）", "Amount"), ("凭证/账号", "Reference"), ("付款单位", "Payer")],
        [
            [(p.method.label, ""), (p.amount, "money"), (p.reference, ""), (payment_payer(p), "")]
            for p in doc.payments
        ],
    )
    _totals(sheet, doc)
    _signatures(sheet, doc)


def _totals(sheet: _Sheet, doc: ListDocument) -> None:
    t = doc.totals
    sheet.heading("费用合计", "Totals")
    for label, value in (
        ("活动项目费用 Activities", t.items),
        ("用餐费用 Meals", t.meals),
        ("实际费用合计 Total", t.total),
        ("发票合计 Invoiced", t.invoiced),
        ("支付合计 Paid", t.paid),
        ("预计费用（方案）Planned", t.planned),
    ):
        sheet.merged(1, 2, label, bold=True, fill=_LABEL_FILL)
        sheet.cell(3, value, kind="money")
        sheet.row += 1
    sheet.merged(1, 2, "所附凭证 Documents", bold=True, fill=_LABEL_FILL)
    sheet.merged(3, 6, "、".join(doc.documents) or "无")
    sheet.row += 1


def _signatures(sheet: _Sheet, doc: ListDocument) -> None:
    s = doc.signatures
    sheet.heading("签字", "Signatures")
    sheet.header([("经办人", "Handler"), ("负责人", "Responsible person"), ("签字日期", "Signed on")])
    sheet.line([(s.handler, ""), (s.responsible, ""), (s.signed_on, "date")])
    sheet.ws.row_dimensions[sheet.row - 1].height = 36
    if s.approvals:
        sheet.heading("审批记录", "Approvals")
        sheet.table(
            [
                ("审批环节", "Step"),
                ("方式与结果", "Kind, result"),
                ("审批人", "Approver"),
                ("日期", "Date"),
                ("结论", "Outcome"),
                ("意见", "Opinion"),
            ],
            [
                [
                    (a.level, ""),
                    (f"{a.kind} {a.result}".strip(), ""),
                    (a.name, ""),
                    (a.at, "date"),
                    (a.outcome, ""),
                    ("\n".join((a.opinion, *a.notes)).strip(), ""),
                ]
                for a in s.approvals
            ],
        )
    if doc.returns:
        sheet.heading("退回记录", "Returns")
        sheet.table(
            [
                ("审批环节", "Step"),
                ("处理", "Action"),
                ("审批人", "Approver"),
                ("日期", "Date"),
                ("理由", "Reason"),
            ],
            [[(r.step, ""), (r.how, ""), (r.name, ""), (r.at, "date"), (r.reason, "")] for r in doc.returns],
        )
    if doc.execution:
        sheet.heading("接待执行", "Execution")
        sheet.table(
            [
                ("事项", "Item"),
                ("负责人", "Owner"),
                ("时间", "Time"),
                ("地点", "Place"),
                ("完成情况", "State"),
                ("完成人与日期", "Done by, on"),
            ],
            [
                [
                    (e.title, ""),
                    (e.owner, ""),
                    (e.when, ""),
                    (e.place, ""),
                    ("\n".join((e.state, *e.notes)), ""),
                    (f"{e.done_by} {e.done_on or ''}".strip(), ""),
                ]
                for e in doc.execution
            ],
        )


def _print_setup(ws: Any, *, landscape: bool) -> None:
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True


# -- report tables --------------------------------------------------------------------------------


def write_table_xlsx(
    rows: Sequence[TableRow],
    target: str | os.PathLike[str] | IO[bytes],
    *,
    title: str = "",
    row_type: type[TableRow] | None = None,
) -> None:
    """Write a report table (annual summary, disclosure, red flags) as an Excel workbook.

    Row 1 is the title (merged), row 2 the headers (Chinese, then English on a second line), then
    one row per report row, with a filter and frozen headers. ``row_type`` gives the columns when
    ``rows`` is empty.
    """
    columns = table_columns(rows, row_type)
    wb = Workbook()
    ws = wb.active
    ws.title = (title or "报表")[:31]  # Excel's sheet-name limit
    sheet = _Sheet(ws, len(columns))
    sheet.title(title or "报表 report", 14)
    sheet.header([(c.zh, c.en) for c in columns])
    first = sheet.row
    for row in rows:
        sheet.line([(cell_value(row, c), _kind(c)) for c in columns])
    ws.freeze_panes = ws.cell(row=first, column=1)
    ws.auto_filter.ref = f"A{first - 1}:{get_column_letter(len(columns))}{max(sheet.row - 1, first - 1)}"
    for n, column in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(n)].width = _width(column, rows)
    _print_setup(ws, landscape=True)
    wb.save(target)


def _kind(column: Column) -> str:
    return {"money": "money", "percent": "percent"}.get(column.kind, "")


def _width(column: Column, rows: Sequence[TableRow]) -> float:
    texts = [column.zh, column.en, *(str(cell_value(r, column) or "") for r in rows[:200])]
    return float(min(max(_display_width(t) for t in texts) + 2, 60))


def _display_width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)
