"""The import template 导入模板: what ``jiedai import FILE --template`` writes.

A header row of Chinese labels, one filled example row (an archived reception of last week, dated
from the day the template is written), and — in the Excel workbook — a note on every header cell
saying what goes in the column, and drop-down lists for the columns that take one of a fixed set of
values. ``jiedai import`` reads the file unchanged: the example row imports as it stands, with the
default options and with ``--as-history`` alike, and a clerk replaces it with real rows.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.model import LetterKind, MealKind, PaymentMethod, ReceptionType, VenueType
from jiedai_flow.importer.columns import COLUMNS
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["choices", "example_row", "template_csv", "write_template_xlsx"]


def example_row(today: date | None = None) -> dict[str, str]:
    """The template's example row: a one-day reception a week before ``today`` (default: today in
    China) with one working lunch, approved (two levels, as the starter standards of ``jiedai
    init`` have), settled and archived. Dated from ``today`` so that it is always recent enough to
    import as it stands: with the default options (every step dated on the day of the import, the
    claim well within its deadline) and with ``--as-history`` (each step on its own day)."""
    start = (today or datetime.now(CHINA_TZ).date()) - timedelta(days=7)
    return {
        **_EXAMPLE,
        "letter_number": f"市农函〔{start.year}〕3号",
        "start": start.isoformat(),
        "end": start.isoformat(),
    }


_EXAMPLE: dict[str, str] = {
    "letter_number": "",
    "letter_kind": LetterKind.LETTER.label,
    "sending_unit": "市农业农村局",
    "sending_jurisdiction": "341500",
    "purpose": "考察调研",
    "content": "春耕备耕调研",
    "start": "",
    "end": "",
    "places": "县农业示范园",
    "guests": "刘建国/副局长//厅局级; 陈晓华/科长",
    "host_unit": "县政府办公室",
    "jurisdiction": "341502",
    "type": ReceptionType.DOMESTIC.label,
    "handler": "张伟",
    "meal_kind": MealKind.LUNCH.label,
    "meal_venue": "县机关食堂",
    "venue_type": VenueType.CANTEEN.label,
    "meal_cost": "180.00",
    "companion_names": "王强/局长",
    "approvers": "孙浩; 李娜",
    "finance": "王芳",
    "invoice_number": "0001",
    "payment_method": PaymentMethod.OFFICIAL_CARD.label,
    "signed_by": "孙浩",
}
"""The example row but its dates (:func:`example_row`)."""


def choices() -> dict[str, tuple[str, ...]]:
    """The columns that take one of a fixed set of values, with those values (Chinese labels,
    which the importer reads as readily as the English values)."""
    return {
        "letter_kind": tuple(k.label for k in LetterKind),
        "type": tuple(t.label for t in ReceptionType),
        "meal_kind": tuple(m.label for m in MealKind),
        "venue_type": tuple(v.label for v in VenueType),
        "payment_method": tuple(p.label for p in PaymentMethod),
        "state": tuple(s.label for s in DEFAULT_PROCESS.states),
    }


def template_csv(today: date | None = None) -> str:
    """The template as CSV text: the header row of Chinese labels (English names work as headers
    too) and the example row (:func:`example_row`)."""
    example = example_row(today)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.label for c in COLUMNS])
    writer.writerow([example.get(c.name, "") for c in COLUMNS])
    return out.getvalue()


def write_template_xlsx(path: Path, today: date | None = None) -> None:
    """The template as an Excel workbook at ``path``: header, example row (:func:`example_row`), a
    note per column and drop-down lists for enumerated columns (up to 1,000 rows)."""
    # why the ignores: openpyxl ships no type hints
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.comments import Comment  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]
    from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
    from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = "接待记录"
    sheet.append([c.label for c in COLUMNS])
    example = example_row(today)
    sheet.append([example.get(c.name, "") for c in COLUMNS])
    listed = choices()
    for index, column in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        cell = sheet.cell(row=1, column=index)
        cell.font = Font(bold=True, color="C00000" if column.required else "000000")
        mark = "必填 required. " if column.required else ""
        cell.comment = Comment(
            f"{mark}{column.help_zh}\n{column.help_en}\n（列名 column: {column.name}）", "jiedai"
        )
        sheet.column_dimensions[letter].width = max(10, min(28, len(column.label) * 2 + 4))
        values = listed.get(column.name)
        if values:
            rule = DataValidation(type="list", formula1='"' + ",".join(values) + '"', allow_blank=True)
            rule.error = f"请从下拉列表中选择 / choose one of: {'、'.join(values)}"
            rule.errorTitle = column.label
            rule.add(f"{letter}2:{letter}1000")
            sheet.add_data_validation(rule)
    sheet.freeze_panes = "A2"
    book.save(path)
