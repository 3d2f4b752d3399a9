"""Reports and exports 报表与导出: the 接待清单 document and the 审批单, the annual summary, the
三公经费 disclosure and audit red flags, as HTML, Excel and CSV. The printed forms come from
Jinja2 templates a county can replace (:mod:`jiedai_flow.reports.forms`).

The list document works on any :class:`~jiedai_flow.domain.records.Reception`; the reports read a
:class:`~jiedai_flow.storage.sql.SQLStore` (any other store raises :class:`ReportsNeedSQLError`).
See docs/reports.md.
"""

from __future__ import annotations

from jiedai_flow.reports.approval_form import ApprovalFormDocument, PlanLine, StepBox, approval_document
from jiedai_flow.reports.common import Column, FormTemplateError, ListNotFiledError, ReportsNeedSQLError
from jiedai_flow.reports.flags import FlagKind, FlagSettings, RedFlag, monday_to_friday, red_flags
from jiedai_flow.reports.forms import Lang, TemplateSource, render_approval_html, render_list_html
from jiedai_flow.reports.listing import (
    ActivityLine,
    ApprovalLine,
    ListDocument,
    Signatures,
    Totals,
    list_document,
)
from jiedai_flow.reports.render_csv import render_list_csv, render_table_csv
from jiedai_flow.reports.render_html import render_table_html, render_timeline_html
from jiedai_flow.reports.render_xlsx import write_list_xlsx, write_table_xlsx
from jiedai_flow.reports.summary import AnnualSummaryRow, DisclosureRow, annual_summary, disclosure

__all__ = [
    "ActivityLine",
    "AnnualSummaryRow",
    "ApprovalFormDocument",
    "ApprovalLine",
    "Column",
    "DisclosureRow",
    "FlagKind",
    "FlagSettings",
    "FormTemplateError",
    "Lang",
    "ListDocument",
    "ListNotFiledError",
    "PlanLine",
    "RedFlag",
    "ReportsNeedSQLError",
    "Signatures",
    "StepBox",
    "TemplateSource",
    "Totals",
    "annual_summary",
    "approval_document",
    "disclosure",
    "list_document",
    "monday_to_friday",
    "red_flags",
    "render_approval_html",
    "render_list_csv",
    "render_list_html",
    "render_table_csv",
    "render_table_html",
    "render_timeline_html",
    "write_list_xlsx",
    "write_table_xlsx",
]
