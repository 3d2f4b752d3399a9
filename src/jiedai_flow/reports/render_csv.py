"""CSV for Excel 逗号分隔文件: UTF-8 with a byte-order mark, so Excel opens Chinese text correctly.

The returned text starts with the BOM (U+FEFF); write it with ``encoding="utf-8"`` and
``newline=""``. Money is written as plain numbers with two places (``1234.50``, no thousands
separator) so it reads back as a number.
"""

from __future__ import annotations

import csv
import io
import re
from typing import TYPE_CHECKING, Any

from jiedai_flow.reports.common import cell_text, table_columns
from jiedai_flow.reports.listing import TITLE_EN, payment_payer

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import date

    from jiedai_flow.reports.common import TableRow
    from jiedai_flow.reports.listing import ListDocument

BOM = "\ufeff"


def _text(rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)  # excel dialect: quoted where needed, CRLF line ends
    writer.writerows([[inert(value) for value in row] for row in rows])
    return BOM + out.getvalue()


_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")


def inert(value: Any) -> Any:
    """``value`` as a spreadsheet shows it and never runs it: text a clerk typed that begins with
    ``=``, ``+``, ``-``, ``@`` or a tab or carriage return (``=HYPERLINK(…)``, ``@SUM(…)``) gets a
    leading ``'``, which Excel and WPS read as "text" and hide; a plain number (``-180.00``) is left
    as it is."""
    if isinstance(value, str) and value[:1] in _ACTIVE and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


_ACTIVE = frozenset("=+-@\t\r")


def _day(value: date | None) -> str:
    return value.isoformat() if value is not None else ""


def render_list_csv(doc: ListDocument) -> str:
    """The 接待清单 as CSV, one section after another: a heading row (「接待对象 guests」), the
    column headers, the lines, then an empty row. Field/value sections have two columns."""
    t, s = doc.totals, doc.signatures
    rows: list[list[Any]] = [[doc.title, TITLE_EN], []]
    rows += _fields(
        "基本信息 reception",
        [
            ("接待单位 host unit", doc.host_unit),
            ("接待编号 number", doc.number),
            ("状态 state", doc.state),
            ("派出单位 sending unit", doc.sending_unit),
            (f"{doc.letter_kind}文号 letter number", doc.letter_number),
            ("公函日期 letter date", _day(doc.letter_issued_on)),
            ("公务事由 purpose", doc.purpose),
            ("公务内容 content", doc.content),
            ("接待类型 type", doc.reception_type),
            ("开始日期 start", _day(doc.start)),
            ("结束日期 end", _day(doc.end)),
            ("公函人数 letter headcount", doc.letter_headcount),
        ],
    )
    rows += _section(
        "接待对象 guests",
        ["序号 no.", "单位 unit", "姓名 name", "职务 post"],
        [[n, g.unit, g.name, g.post] for n, g in enumerate(doc.guests, 1)],
    )
    rows += _section(
        "公务活动项目 activities",
        ["日期 date", "时间 time", "活动项目 activity", "场所 place", "费用（元）cost", "备注 note"],
        [[_day(a.on), a.time, a.item, a.place, f"{a.cost:.2f}", a.note] for a in doc.activities],
    )
    for heading, people in (
        ("陪同人员 companions", doc.companions),
        ("工作保障人员 support staff", doc.support_staff),
    ):
        rows += _section(
            heading,
            ["序号 no.", "姓名 name", "职务 post"],
            [[n, p.name, p.post] for n, p in enumerate(people, 1)],
        )
    rows += _section(
        "发票 invoices",
        ["发票号码 number", "开票日期 date", "开票单位 issuer", "金额（元）amount"],
        [[i.number, _day(i.issued_on), i.issuer, f"{i.amount:.2f}"] for i in doc.invoices],
    )
    rows += _section(
        "支付 payments",
        ["支付方式 method", "金额（元）amount", "凭证/账号 reference", "付款单位 payer"],
        [[p.method.label, f"{p.amount:.2f}", p.reference, payment_payer(p)] for p in doc.payments],
    )
    rows += _fields(
        "费用合计 totals",
        [
            ("活动项目费用 activities", f"{t.items:.2f}"),
            ("用餐费用 meals", f"{t.meals:.2f}"),
            ("实际费用合计 total", f"{t.total:.2f}"),
            ("发票合计 invoiced", f"{t.invoiced:.2f}"),
            ("支付合计 paid", f"{t.paid:.2f}"),
            ("预计费用 planned", f"{t.planned:.2f}"),
            ("所附凭证 documents", "、".join(doc.documents)),
        ],
    )
    rows += _fields(
        "签字 signatures",
        [
            ("经办人 handler", s.handler),
            ("负责人 responsible person", s.responsible),
            ("签字日期 signed on", _day(s.signed_on)),
        ],
    )
    if s.approvals:
        rows += _section(
            "审批记录 approvals",
            [
                "审批环节 step",
                "审批方式 kind",
                "环节结果 result",
                "审批人 approver",
                "日期 date",
                "结论 outcome",
                "意见 opinion",
                "委派意见 delegates' opinions",
            ],
            [
                [a.level, a.kind, a.result, a.name, _day(a.at), a.outcome, a.opinion, "；".join(a.notes)]
                for a in s.approvals
            ],
        )
    if doc.returns:
        rows += _section(
            "退回记录 returns",
            ["审批环节 step", "处理 action", "审批人 approver", "日期 date", "理由 reason"],
            [[r.step, r.how, r.name, _day(r.at), r.reason] for r in doc.returns],
        )
    if doc.execution:
        rows += _section(
            "接待执行 execution",
            [
                "事项 item",
                "负责人 owner",
                "时间 time",
                "地点 place",
                "完成情况 state",
                "完成人 done by",
                "完成日期 done on",
                "问题 problems",
            ],
            [
                [e.title, e.owner, e.when, e.place, e.state, e.done_by, _day(e.done_on), "；".join(e.notes)]
                for e in doc.execution
            ],
        )
    return _text(rows)


def _section(heading: str, header: list[str], lines: list[list[Any]]) -> list[list[Any]]:
    return [[heading], header, *lines, []]


def _fields(heading: str, pairs: list[tuple[str, Any]]) -> list[list[Any]]:
    return [[heading], *([label, value] for label, value in pairs), []]


def render_table_csv(rows: Sequence[TableRow], *, row_type: type[TableRow] | None = None) -> str:
    """A report table as CSV: one header row (Chinese first with English), one line per row.
    ``row_type`` gives the columns when ``rows`` is empty."""
    columns = table_columns(rows, row_type)
    lines: list[list[Any]] = [[c.header for c in columns]]
    lines += [[cell_text(getattr(row, c.key), c) for c in columns] for row in rows]
    return _text(lines)
