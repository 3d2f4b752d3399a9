"""Printable HTML 打印版 of the report tables and of one reception's timeline: landscape A4, inline
CSS, every text escaped.

One self-contained file each (no scripts, no external fonts or styles), so it prints the same from
a browser, an OA attachment or an e-mail. Headings are Chinese first with English beneath. The
printed forms (接待清单, 审批单) come from templates: :mod:`jiedai_flow.reports.forms`.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.reports.common import Column, cell_text, table_columns
from jiedai_flow.reports.forms import render_list_html

__all__ = ["render_list_html", "render_table_html", "render_timeline_html"]  # render_list_html: its old path

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from datetime import datetime
    from decimal import Decimal

    from jiedai_flow.domain.records import AuditEvent, Reception
    from jiedai_flow.process.lifecycle import ProcessDefinition
    from jiedai_flow.process.signoff import Signoff
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


# -- the timeline of one reception ----------------------------------------------------------------


def render_timeline_html(
    reception: Reception, events: Sequence[AuditEvent], definition: ProcessDefinition | None = None
) -> str:
    """One reception's timeline 时间线 as printable landscape A4 HTML: each approval step with its
    kind, result and signers (代签, 转办, 加签, 委派意见), the returns with their reasons, the open
    tasks with owner and due day, the execution items and who did them, then every audit event
    with its reason and note (``AuditEvent.note``).

    :param events: the reception's audit trail, oldest first (``engine.history(id)``).
    :param definition: its process, for the labels of states and triggers (default process if None).
    """
    from jiedai_flow.process.lifecycle import DEFAULT_PROCESS, Stage
    from jiedai_flow.process.signoff import names_of, signoff

    definition = definition or DEFAULT_PROCESS
    view = signoff(reception, definition=definition, names=names_of(reception, events))
    states = {s.name: s.label for s in definition.states}
    triggers = {Stage.CREATE.value: "登记公函"} | {t.name: t.label for t in definition.triggers}
    title = f"接待 {reception.number} 时间线"
    sub = (
        f"{reception.host_unit} · {reception.letter.sending_unit} · {reception.start} 至 {reception.end} · "
        f"{states.get(reception.state, reception.state)}"
    )
    body = [f"<h1>{_e(title)}</h1>\n", f'<p class="sub">{_e(sub)} · timeline</p>\n']
    body.append(_section("审批情况", "Approval steps", _steps_table(view)))
    if view.returns:
        body.append(_section("退回记录", "Returns", _returns_table(view)))
    body.append(_section("待办", "Open tasks", _open_table(view)))
    if view.execution:
        body.append(_section("接待执行", "Execution items", _execution_table(view)))
    body.append(_section("时间线", "Timeline", _events_table(events, states, triggers)))
    return _page(title, "".join(body), orientation="landscape")


def _section(zh: str, en: str, table: str) -> str:
    return f'<h2>{_e(zh)} <span class="en">{_e(en)}</span></h2>\n{table}'


def _table(columns: Sequence[tuple[str, str]], rows: str) -> str:
    return f"<table>\n{_head(columns)}<tbody>\n{rows or _empty(len(columns))}</tbody>\n</table>\n"


def _moment(value: datetime | None) -> str:
    if value is None:
        return ""
    return (value.astimezone(CHINA_TZ) if value.tzinfo is not None else value).strftime("%Y-%m-%d %H:%M")


def _lines(*texts: str) -> str:
    """Escaped texts, one per line (empty ones left out); notes in the smaller note style."""
    first, *rest = [t for t in texts if t] or [""]
    return _e(first) + "".join(f'<br><span class="note">{_e(t)}</span>' for t in rest)


def _steps_table(view: Signoff) -> str:
    rows = []
    for step in view.steps:
        signers = step.signers or ()
        head = [("", _e(f"{step.number}. {step.label}")), ("", _e(step.kind.label)), ("", _e(step.result))]
        if not signers:
            rows.append(_row([*head, ("", ""), ("", ""), ("", ""), ("", "")]))
        for n, s in enumerate(signers):
            cells = head if n == 0 else [("", ""), ("", ""), ("", "")]
            due = f"{s.due} 到期" if s.pending and s.due is not None else ""
            rows.append(
                _row(
                    [
                        *cells,
                        ("", _e(s.shown)),
                        ("", _e(s.outcome)),
                        ("", _e(_moment(s.at) or due)),
                        ("", _lines(s.opinion, *s.notes)),
                    ]
                )
            )
    columns = (
        ("审批环节", "step"),
        ("方式", "kind"),
        ("结果", "result"),
        ("签署人", "signer"),
        ("结论", "outcome"),
        ("时间", "time"),
        ("意见", "opinion"),
    )
    return _table(columns, "".join(rows))


def _returns_table(view: Signoff) -> str:
    rows = "".join(
        _row(
            [
                ("", _e(f"第 {r.step + 1} 环节「{r.step_label}」")),
                ("", _e(r.how)),
                ("", _e(r.who)),
                ("", _e(_moment(r.at))),
                ("", _e(r.reason)),
            ]
        )
        for r in view.returns
    )
    return _table(
        (("审批环节", "step"), ("处理", "action"), ("审批人", "by"), ("时间", "time"), ("理由", "reason")),
        rows,
    )


def _open_table(view: Signoff) -> str:
    rows = "".join(
        _row(
            [
                ("", _e(t.kind.label)),
                ("", _e(t.title)),
                ("", _e(t.owner + (f"（已委派 {t.delegated_to}）" if t.delegated_to else ""))),
                ("", _e(t.due or "")),
            ]
        )
        for t in view.open_tasks
    )
    return _table((("类型", "kind"), ("事项", "task"), ("办理人", "owner"), ("到期", "due")), rows)


def _execution_table(view: Signoff) -> str:
    rows = "".join(
        _row(
            [
                ("", _e(e.title)),
                ("", _e(e.owner)),
                ("", _e(_moment(e.at) or (f"{e.due} 前" if e.due else ""))),
                ("", _e(e.place)),
                ("", _lines(e.state, *e.notes)),
                ("", _e(f"{e.done_by} {_moment(e.done_at)}".strip())),
            ]
        )
        for e in view.execution
    )
    columns = (
        ("事项", "item"),
        ("负责人", "owner"),
        ("时间", "time"),
        ("地点", "place"),
        ("情况", "state"),
        ("完成", "done by"),
    )
    return _table(columns, rows)


def _events_table(
    events: Sequence[AuditEvent], states: Mapping[str, str], triggers: Mapping[str, str]
) -> str:
    rows = []
    for e in events:
        source = states.get(e.from_state, e.from_state) if e.from_state else "—"
        found = "、".join(f"{f.rule_id} {f.severity.label}" for f in e.findings)
        rows.append(
            _row(
                [
                    ("num", _e(e.seq)),
                    ("", _e(_moment(e.at))),
                    ("", _e(f"{e.actor_name}（{e.actor_id}）")),
                    ("", _e(triggers.get(e.trigger, e.trigger))),
                    ("", _e(f"{source} → {states.get(e.to_state, e.to_state)}")),
                    ("", _lines(e.reason, e.note)),
                    ("note", _e(found)),
                ]
            )
        )
    columns = (
        ("#", "seq"),
        ("时间", "time"),
        ("操作人", "actor"),
        ("操作", "action"),
        ("状态", "state"),
        ("理由与说明", "reason, note"),
        ("检查", "findings"),
    )
    return _table(columns, "".join(rows))
