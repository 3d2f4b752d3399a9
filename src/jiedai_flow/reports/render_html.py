"""Printable HTML 打印版 of the report tables: landscape A4, inline CSS, every text escaped.

One self-contained file each (no scripts, no external fonts or styles), so it prints the same from
a browser, an OA attachment or an e-mail. Headings are Chinese first with English beneath. The
printed forms (接待清单, 审批单) come from templates: :mod:`jiedai_flow.reports.forms`.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from jiedai_flow.reports.common import Column, cell_text, table_columns
from jiedai_flow.reports.forms import render_list_html

__all__ = ["render_list_html", "render_table_html"]  # render_list_html: its old import path

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from decimal import Decimal

    from jiedai_flow.reports.common import TableRow

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


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


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
