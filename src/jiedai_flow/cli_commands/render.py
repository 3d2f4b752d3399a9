"""How the commands show things 输出: rich tables for people, plain JSON-safe data for ``--json``.

User data goes into tables as :class:`rich.text.Text`, never as markup, so a letter number such as
``[2026] 12`` prints as written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli_commands.app import COMMAND_LINE
from jiedai_flow.clock import CHINA_TZ
from jiedai_flow.convert import dump
from jiedai_flow.errors import (
    InvalidTransitionError,
    JiedaiFlowError,
    RuleViolationError,
    ValidationError,
)
from jiedai_flow.findings import Severity
from jiedai_flow.lifecycle import (
    FACT_FINAL_STEP,
    FACT_MORE_STEPS,
    FACT_NO_APPROVALS,
    FACT_RETRO_PENDING,
    FACT_URGENT_ALLOWED,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from datetime import datetime

    from rich.console import Console

    from jiedai_flow.findings import Finding
    from jiedai_flow.lifecycle import CompiledProcess
    from jiedai_flow.records import AuditEvent, CommandResult, Reception

_STYLE = {
    Severity.BLOCKING: "bold red",
    Severity.NEEDS_EXPLANATION: "magenta",
    Severity.WARNING: "yellow",
    Severity.INFO: "dim",
}


SHORT_ID = 8
"""Digits of a reception id shown in tables; any command takes them (``Engine.resolve``)."""


def when(moment: datetime) -> str:
    """A moment in China Standard Time, to the minute."""
    local = moment.astimezone(CHINA_TZ) if moment.tzinfo is not None else moment
    return local.strftime("%Y-%m-%d %H:%M")


def findings_table(findings: Iterable[Finding], title: str = "检查结果 findings") -> Table:
    """Every finding: rule id, severity, message (Chinese, then English), path, citation."""
    table = Table(title=title, show_lines=True, title_justify="left")
    for column in ("规则 rule", "结果 severity", "说明 message", "位置 path", "出处 citation"):
        table.add_column(column, overflow="fold")
    for f in findings:
        message = Text(f.message_zh)
        message.append(f"\n{f.message_en}", style="dim")
        table.add_row(
            Text(f.rule_id, style="bold"),
            Text(f"{f.severity.label} {f.severity.value}", style=_STYLE[f.severity]),
            message,
            Text(f.path),
            Text(str(f.citation) if f.citation else "—"),
        )
    return table


def refusing(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that refuse a command: blocking, or needing a written explanation."""
    return [f for f in findings if f.severity in (Severity.BLOCKING, Severity.NEEDS_EXPLANATION)]


def print_error(console: Console, error: JiedaiFlowError) -> None:
    """The error's message on stderr; a rule refusal also prints every finding in a table."""
    if isinstance(error, RuleViolationError):
        console.print(
            f"[red]错误 / error:[/red] {escape(error.message_zh)} / {escape(error.message_en)}",
            soft_wrap=True,
        )
        console.print(findings_table(error.findings, f"「{error.trigger}」的检查结果 findings"))
        if any(f.severity is Severity.NEEDS_EXPLANATION for f in error.findings):
            console.print(
                "须书面说明的，可用 --explain 规则编号=说明 附情况说明 / "
                "attach a written explanation with --explain RULE=TEXT"
            )
        return
    if isinstance(error, ValidationError) and error.source == COMMAND_LINE:
        for p in error.problems:  # one mistake on the command line: say it plainly
            console.print(
                f"[red]错误 / error:[/red] {escape(p.message_zh)} / {escape(p.message_en)}", soft_wrap=True
            )
        return
    console.print(f"[red]错误 / error:[/red] {escape(str(error))}", soft_wrap=True)


def error_json(error: JiedaiFlowError, code: int) -> dict[str, Any]:
    """The error as data for ``--json``: code, messages, exit code and what a program needs."""
    data: dict[str, Any] = {
        "code": error.code,
        "exit_code": code,
        "message_zh": error.message_zh,
        "message_en": error.message_en,
    }
    if isinstance(error, RuleViolationError):
        data["findings"] = [dump(f) for f in error.findings]
    if isinstance(error, ValidationError):
        data["problems"] = [dump(p) for p in error.problems]
        data["source"] = error.source
    if isinstance(error, InvalidTransitionError):
        data["allowed"] = list(error.allowed)
    reception_id = getattr(error, "reception_id", None)
    if reception_id is not None:
        data["reception_id"] = reception_id
    return data


# -- receptions ----------------------------------------------------------------------------------


def summary(reception: Reception, process: CompiledProcess) -> dict[str, Any]:
    """One line of ``jiedai list`` as data."""
    listing = reception.reception_list
    return {
        "id": reception.id,
        "number": reception.number,
        "state": reception.state,
        "state_label": _label(process, reception.state),
        "version": reception.version,
        "jurisdiction": reception.jurisdiction,
        "host_unit": reception.host_unit,
        "type": reception.reception_type.value,
        "start": reception.start.isoformat(),
        "end": reception.end.isoformat(),
        "sending_unit": reception.letter.sending_unit,
        "guests": reception.letter.headcount,
        "planned_total": format(reception.plan.planned_total, "f"),
        "actual_total": format(listing.total, "f") if listing is not None else None,
    }


def receptions_table(items: Sequence[Reception], process_of: Callable[[Reception], CompiledProcess]) -> Table:
    table = Table(title="接待记录 receptions", title_justify="left")
    for column in (
        "编号 number",
        "ID",
        "状态 state",
        "日期 dates",
        "接待单位 host",
        "来函单位 from",
        "预计 planned",
    ):
        table.add_column(column, overflow="fold")
    for r in items:
        table.add_row(
            Text(r.number),
            Text(r.id[:SHORT_ID], style="dim"),  # enough to name it: commands take a unique prefix
            Text(_label(process_of(r), r.state)),
            Text(f"{r.start}～{r.end}" if r.end != r.start else str(r.start)),
            Text(r.host_unit),
            Text(r.letter.sending_unit),
            Text(format(r.plan.planned_total, "f"), justify="right"),
        )
    return table


def details_table(reception: Reception, process: CompiledProcess) -> Table:
    """``jiedai show``: the reception's fields, one per row."""
    r, letter = reception, reception.letter
    table = Table(show_header=False, title=f"接待 {r.number}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    guests = "；".join(f"{g.name}（{g.unit} {g.post}）" for g in letter.personnel)
    rows = [
        ("ID", r.id),
        ("状态 state", f"{_label(process, r.state)}（{r.state}，v{r.version}）"),
        ("类型 type", r.reception_type.label),
        ("辖区 jurisdiction", r.jurisdiction),
        ("接待单位 host unit", r.host_unit),
        ("经办人 handler", f"{r.handler.name}（{r.handler.id}）"),
        ("日期 dates", f"{r.start} ～ {r.end}"),
        ("来函 letter", f"{letter.kind.label} {letter.number}，{letter.sending_unit}，{letter.issued_on}"),
        ("事由 purpose", f"{letter.purpose.label}：{letter.content}"),
        (f"来宾 guests（{letter.headcount}）", guests or "—"),
        ("方案 plan", _plan_line(r)),
        ("审批 approvals", _approvals_line(r)),
    ]
    if r.reception_list is not None:
        rows.append(
            ("清单 list", f"实际费用 {r.reception_list.total} 元，签字 {r.reception_list.signed_by or '—'}")
        )
    for e in r.explanations:
        accepted = f"，{e.accepted_by} 已接受" if e.accepted else "，待接受"
        rows.append((f"情况说明 {e.rule_id}", f"{e.text}（{e.by}{accepted}）"))
    rows.append(("规则包 / 流程", f"{r.rule_pack} · {r.process}"))
    for field, value in rows:
        table.add_row(field, Text(value))
    return table


def _plan_line(r: Reception) -> str:
    plan = r.plan
    return (
        f"用餐 {len(plan.meals)} 次，住宿 {len(plan.lodgings)} 项，活动 {len(plan.activities)} 项；"
        f"预计 {plan.planned_total} 元，预算 {plan.budget} 元"
    )


def _approvals_line(r: Reception) -> str:
    if not r.approval_chain:
        return "—"
    parts = []
    for i, step in enumerate(r.approval_chain):
        signed = r.approvals[i] if i < len(r.approvals) else None
        who = f"✓ {signed.actor_name} {when(signed.at)}" if signed else "待签 pending"
        parts.append(f"{step.label or step.level or '审批'}：{who}")
    return "；".join(parts)


def timeline_table(events: Sequence[AuditEvent], process: CompiledProcess) -> Table:
    """The audit trail: when, who, what, from which state to which, why, and its findings."""
    table = Table(title="时间线 timeline", title_justify="left")
    for column in (
        "#",
        "时间 time",
        "操作人 actor",
        "操作 trigger",
        "状态 state",
        "理由 reason",
        "检查 findings",
    ):
        table.add_column(column, overflow="fold")
    for e in events:
        source = _label(process, e.from_state) if e.from_state else "—"
        table.add_row(
            str(e.seq),
            when(e.at),
            Text(f"{e.actor_name}（{e.actor_id}）"),
            Text(trigger_label(process, e.trigger)),
            Text(f"{source} → {_label(process, e.to_state)}"),
            Text(e.reason or ""),
            Text(", ".join(f"{f.rule_id}:{f.severity.label}" for f in e.findings) or "—"),
        )
    return table


def result_json(result: CommandResult, process: CompiledProcess) -> dict[str, Any]:
    """A command's outcome as data (``jiedai new``, ``jiedai fire`` … with ``--json``)."""
    r = result.reception
    return {
        "id": r.id,
        "number": r.number,
        "trigger": result.event.trigger,
        "from_state": result.event.from_state,
        "state": r.state,
        "state_label": _label(process, r.state),
        "version": r.version,
        "replayed": result.replayed,
        "findings": [dump(f) for f in result.findings],
        "event": dump(result.event),
        "next_triggers": list(possible_triggers(process, r)),
    }


def print_result(console: Console, result: CommandResult, process: CompiledProcess) -> None:
    """One line for an accepted command, its findings, and what may follow."""
    r, e = result.reception, result.event
    source = _label(process, e.from_state) if e.from_state else "—"
    again = "（重复请求，返回首次结果 replayed）" if result.replayed else ""
    console.print(
        Text.assemble(
            ("✓ ", "green"),
            f"{trigger_label(process, e.trigger)} {e.trigger} — {e.actor_name}（{e.actor_id}）："
            f"{source} → 「{_label(process, r.state)}」{again}",
        )
    )
    console.print(Text(f"  编号 number {r.number} · ID {r.id} · v{r.version}", style="dim"))
    if result.findings:
        console.print(findings_table(result.findings))
    following = possible_triggers(process, r)
    if following:
        console.print(
            Text("  下一步 next: " + " · ".join(f"{t} {trigger_label(process, t)}" for t in following), "dim")
        )


def possible_triggers(process: CompiledProcess, reception: Reception) -> tuple[str, ...]:
    """The triggers that may follow from the reception's state (by someone; conditions that
    only hold for 补办 or before anyone approved are checked, authorization is not)."""
    facts = {FACT_FINAL_STEP, FACT_MORE_STEPS, FACT_URGENT_ALLOWED}
    if not reception.approvals:
        facts.add(FACT_NO_APPROVALS)
    if reception.retroactive and not reception.approval_complete:
        facts.add(FACT_RETRO_PENDING)
    return tuple(
        t
        for t in process.triggers_from(reception.state)
        if process.trigger_defs[t].operation is None
        and process.applicable(reception.state, t, frozenset(facts))
    )


def trigger_label(process: CompiledProcess, trigger: str) -> str:
    found = process.trigger_defs.get(trigger)
    return found.label if found is not None else ("登记公函" if trigger == "create" else trigger)


def _label(process: CompiledProcess, state: str) -> str:
    try:
        return process.label(state)
    except KeyError:
        return state
