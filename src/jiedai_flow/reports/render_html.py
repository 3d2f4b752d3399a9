"""Printable HTML 打印版: the 接待清单 on A4 and report tables, inline CSS, every text escaped.

One self-contained file each (no scripts, no external fonts or styles), so it prints the same from
a browser, an OA attachment or an e-mail. Headings are Chinese first with English beneath.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from jiedai_flow.reports.common import Column, cell_text, table_columns
from jiedai_flow.reports.listing import TITLE_EN, payment_payer

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from datetime import date
    from decimal import Decimal

    from jiedai_flow.model import Person
    from jiedai_flow.reports.common import TableRow
    from jiedai_flow.reports.listing import ListDocument

_CSS = """
@page { size: A4 %(orientation)s; margin: 15mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", "Source Han Serif SC", serif;
       font-size: 10.5pt; color: #000; margin: 0; }
h1 { text-align: center; font-size: 18pt; letter-spacing: 0.4em; margin: 0 0 1mm; }
.sub { text-align: center; font-size: 9pt; color: #444; margin: 0 0 4mm; }
h2 { font-size: 11.5pt; margin: 4mm 0 1.5mm; }
.en { font-weight: normal; font-size: 8pt; color: #555; }
table { width: 100%%; border-collapse: collapse; margin: 0 0 2mm; }
th, td { border: 0.6pt solid #000; padding: 1.2mm 1.8mm; vertical-align: top; }
th { background: #eee; font-weight: bold; text-align: center; }
th .en { display: block; }
td.label { background: #f6f6f6; width: 16%%; font-weight: bold; }
table.narrow { width: 60%%; }
table.narrow td.label { width: 50%%; }
td.num, td.money { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr { page-break-inside: avoid; }
tfoot td { font-weight: bold; }
.sign td { height: 16mm; }
.note { font-size: 8.5pt; color: #333; }
.empty { color: #666; text-align: center; }
"""


def _page(title: str, body: str, orientation: str = "portrait") -> str:
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>{_CSS % {'orientation': orientation}}</style>\n"
        f"</head>\n<body>\n{body}</body>\n</html>\n"
    )


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _h2(zh: str, en: str) -> str:
    return f'<h2>{_e(zh)} <span class="en">{_e(en)}</span></h2>\n'


def _head(columns: Iterable[tuple[str, str]]) -> str:
    cells = "".join(f'<th>{_e(zh)}<span class="en">{_e(en)}</span></th>' for zh, en in columns)
    return f"<thead><tr>{cells}</tr></thead>\n"


def _row(cells: Iterable[tuple[str, str]]) -> str:
    """``cells``: (css class, already escaped html)."""
    return (
        "<tr>"
        + "".join(f'<td class="{cls}">{text}</td>' if cls else f"<td>{text}</td>" for cls, text in cells)
        + "</tr>\n"
    )


def _empty(span: int) -> str:
    return f'<tr><td class="empty" colspan="{span}">无 none</td></tr>\n'


# -- the 接待清单 ---------------------------------------------------------------------------------


def render_list_html(doc: ListDocument) -> str:
    """The 接待清单 as one printable A4 HTML page (inline CSS, text escaped)."""
    parts = [
        f"<h1>{_e(doc.title)}</h1>\n",
        f'<p class="sub">{_e(TITLE_EN)} · 编号 No. {_e(doc.number)} · {_e(doc.state)}</p>\n',
        _info(doc),
        _h2("接待对象", "Guests"),
        _people_table(
            [("序号", "No."), ("单位", "Unit"), ("姓名", "Name"), ("职务", "Post")],
            [(g.unit, g.name, g.post) for g in doc.guests],
        ),
        _h2("公务活动项目", "Activities"),
        _activities(doc),
        _h2("陪同人员", "Companions"),
        _persons(doc.companions),
        _h2("工作保障人员", "Support staff"),
        _persons(doc.support_staff),
        _h2("发票", "Invoices"),
        _invoices(doc),
        _h2("支付", "Payments"),
        _payments(doc),
        _h2("费用合计", "Totals"),
        _totals(doc),
        _h2("签字", "Signatures"),
        _signatures(doc),
    ]
    return _page(f"{doc.title} {doc.number}", "".join(parts))


def _info(doc: ListDocument) -> str:
    pairs = [
        ("接待单位", "Host unit", doc.host_unit),
        ("接待编号", "Number", doc.number),
        ("派出单位", "Sending unit", doc.sending_unit),
        (f"{doc.letter_kind}文号", "Letter no.", f"{doc.letter_number}（{_day(doc.letter_issued_on)}）"),
        ("公务事由", "Purpose", doc.purpose),
        ("接待类型", "Type", doc.reception_type),
        ("接待日期", "Dates", f"{_day(doc.start)} 至 {_day(doc.end)}（{doc.days} 天）"),
        ("人数", "Headcount", f"{doc.headcount}（公函 {doc.letter_headcount} 人）"),
    ]
    rows = []
    for n in range(0, len(pairs), 2):
        cells = []
        for zh, en, value in pairs[n : n + 2]:
            cells.append(
                f'<td class="label">{_e(zh)}<span class="en"> {_e(en)}</span></td><td>{_e(value)}</td>'
            )
        rows.append(f"<tr>{''.join(cells)}</tr>\n")
    rows.append(
        f'<tr><td class="label">公务内容<span class="en"> Content</span></td>'
        f'<td colspan="3">{_e(doc.content)}</td></tr>\n'
    )
    return f'<table class="info">\n{"".join(rows)}</table>\n'


def _people_table(columns: list[tuple[str, str]], rows: Sequence[tuple[str, ...]]) -> str:
    body = "".join(
        _row([("num", str(n))] + [("", _e(v)) for v in values]) for n, values in enumerate(rows, 1)
    )
    return f"<table>\n{_head(columns)}<tbody>\n{body or _empty(len(columns))}</tbody>\n</table>\n"


def _persons(people: Sequence[Person]) -> str:
    return _people_table(
        [("序号", "No."), ("姓名", "Name"), ("职务", "Post")], [(p.name, p.post) for p in people]
    )


def _activities(doc: ListDocument) -> str:
    columns = [
        ("日期", "Date"),
        ("时间", "Time"),
        ("活动项目", "Activity"),
        ("场所", "Place"),
        ("费用（元）", "Cost (yuan)"),
        ("备注", "Note"),
    ]
    body = "".join(
        _row(
            [
                ("", _day(a.on)),
                ("", _e(a.time)),
                ("", _e(a.item)),
                ("", _e(a.place)),
                ("money", _money(a.cost)),
                ("note", _e(a.note)),
            ]
        )
        for a in doc.activities
    )
    foot = (
        f'<tfoot><tr><td colspan="4">合计 Total</td><td class="money">{_money(doc.totals.total)}</td>'
        "<td></td></tr></tfoot>\n"
    )
    return f"<table>\n{_head(columns)}<tbody>\n{body or _empty(6)}</tbody>\n{foot}</table>\n"


def _invoices(doc: ListDocument) -> str:
    columns = [("发票号码", "Number"), ("开票日期", "Date"), ("开票单位", "Issuer"), ("金额（元）", "Amount")]
    body = "".join(
        _row([("", _e(i.number)), ("", _day(i.issued_on)), ("", _e(i.issuer)), ("money", _money(i.amount))])
        for i in doc.invoices
    )
    return f"<table>\n{_head(columns)}<tbody>\n{body or _empty(4)}</tbody>\n</table>\n"


def _payments(doc: ListDocument) -> str:
    columns = [
        ("支付方式", "Method"),
        ("金额（元）", "Amount"),
        ("凭证/账号", "Reference"),
        ("付款单位", "Payer"),
    ]
    body = "".join(
        _row(
            [
                ("", _e(p.method.label)),
                ("money", _money(p.amount)),
                ("", _e(p.reference)),
                ("", _e(payment_payer(p))),
            ]
        )
        for p in doc.payments
    )
    return f"<table>\n{_head(columns)}<tbody>\n{body or _empty(4)}</tbody>\n</table>\n"


def _totals(doc: ListDocument) -> str:
    t = doc.totals
    pairs = [
        ("活动项目费用", "Activities", t.items),
        ("用餐费用", "Meals", t.meals),
        ("实际费用合计", "Total", t.total),
        ("发票合计", "Invoiced", t.invoiced),
        ("支付合计", "Paid", t.paid),
        ("预计费用（方案）", "Planned", t.planned),
    ]
    rows = "".join(
        f'<tr><td class="label">{_e(zh)}<span class="en"> {_e(en)}</span></td>'
        f'<td class="money">{_money(v)}</td></tr>\n'
        for zh, en, v in pairs
    )
    docs = "、".join(doc.documents) or "无"
    rows += f'<tr><td class="label">所附凭证<span class="en"> Documents</span></td><td>{_e(docs)}</td></tr>\n'
    return f'<table class="narrow">\n{rows}</table>\n'


def _signatures(doc: ListDocument) -> str:
    s = doc.signatures
    head = _head([("经办人", "Handler"), ("负责人", "Responsible person"), ("签字日期", "Signed on")])
    sign = (
        f'<tbody class="sign"><tr><td>{_e(s.handler)}</td><td>{_e(s.responsible)}</td>'
        f"<td>{_day(s.signed_on)}</td></tr></tbody>\n"
    )
    approvals = ""
    if s.approvals:
        lines = "".join(
            _row([("", _e(a.level)), ("", _e(a.name)), ("", _day(a.at)), ("", _e(a.opinion))])
            for a in s.approvals
        )
        approvals = (
            _h2("审批记录", "Approvals")
            + "<table>\n"
            + _head([("审批环节", "Step"), ("审批人", "Approver"), ("日期", "Date"), ("意见", "Opinion")])
            + f"<tbody>\n{lines}</tbody>\n</table>\n"
        )
    return f"<table>\n{head}{sign}</table>\n{approvals}"


# -- report tables --------------------------------------------------------------------------------


def render_table_html(
    rows: Sequence[TableRow], title: str, *, row_type: type[TableRow] | None = None, note: str = ""
) -> str:
    """A report table (annual summary, disclosure, red flags) as printable landscape A4 HTML.

    Headers are Chinese first with English; ``row_type`` gives the columns when ``rows`` is empty.
    """
    columns = table_columns(rows, row_type)
    head = _head((c.zh, c.en) for c in columns)
    body = "".join(_row(_table_cell(row, c) for c in columns) for row in rows)
    sub = f'<p class="sub">{_e(note)}</p>\n' if note else ""
    table = f"<table>\n{head}<tbody>\n{body or _empty(len(columns))}</tbody>\n</table>\n"
    return _page(title, f"<h1>{_e(title)}</h1>\n{sub}{table}", orientation="landscape")


def _table_cell(row: object, column: Column) -> tuple[str, str]:
    value = getattr(row, column.key)
    if value is None:
        return ("", "")
    if column.kind == "money":
        return ("money", _money(value))
    if column.kind in ("int", "percent"):
        return ("num", _e(value))
    return ("", _e(cell_text(value, column)))
