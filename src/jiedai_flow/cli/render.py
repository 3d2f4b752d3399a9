"""How the commands show things 输出: rich tables for people, plain JSON-safe data for ``--json``.

User data goes into tables as :class:`rich.text.Text`, never as markup, so a letter number such as
``[2026] 12`` prints as written.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import attrs
from rich.cells import cell_len
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from jiedai_flow.cli.app import COMMAND_LINE
from jiedai_flow.cli.common import current_lang, error_prefix, heading, label, say
from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.loading import dump
from jiedai_flow.errors import (
    InvalidTransitionError,
    JiedaiFlowError,
    RuleViolationError,
    ValidationError,
)
from jiedai_flow.process.lifecycle import (
    FACT_FINAL_STEP,
    FACT_MORE_STEPS,
    FACT_NO_APPROVALS,
    FACT_RETRO_FINAL_STEP,
    FACT_RETRO_MORE_STEPS,
    FACT_RETRO_PENDING,
    FACT_URGENT_ALLOWED,
)
from jiedai_flow.process.tasks import approver_acted

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
    from datetime import datetime

    from rich.console import Console

    from jiedai_flow.domain.findings import Finding
    from jiedai_flow.domain.model import Actor, LabelledEnum
    from jiedai_flow.domain.records import AuditEvent, CommandResult, Reception
    from jiedai_flow.process.lifecycle import CompiledProcess
    from jiedai_flow.process.signoff import Signoff

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


def findings_table(
    findings: Iterable[Finding], title: str | None = None, explained: Collection[Finding] = ()
) -> Table:
    """Every finding in full, two columns to fit 80: the rule and its severity (「已说明」 for one of
    ``explained``); the message (in this run's language), its path and its citation."""
    table = Table(
        title=title or label("检查结果", "findings"), show_lines=True, title_justify="left", expand=False
    )
    table.add_column(label("规则", "rule"), overflow="fold", no_wrap=False)
    table.add_column(label("说明", "message"), overflow="fold", ratio=1)
    for f in findings:
        severity = label(f.severity.label, f.severity.value)
        if f in explained:
            severity = label(f"{f.severity.label}（已说明）", f"{f.severity.value} (explained)")
        message = Text(say(f.message_zh, f.message_en) if current_lang() != "both" else f.message_zh)
        if current_lang() == "both":
            message.append(f"\n{f.message_en}", style="dim")
        message.append(f"\n{label('位置', 'path')} {f.path}", style="dim")
        if f.citation:
            message.append(f"\n{label('出处', 'citation')} {f.citation}", style="dim")
        table.add_row(
            Text.assemble((f.rule_id, "bold"), "\n", (severity, _STYLE[f.severity])),
            message,
        )
    return table


def finding_line(f: Finding) -> Text:
    """A finding in one line: its rule, its severity and its message (info findings, which refuse
    nothing and need nothing done)."""
    return Text.assemble(
        ("  · ", "dim"),
        (f.rule_id, "bold"),
        " ",
        (label(f.severity.label, f.severity.value), _STYLE[f.severity]),
        " ",
        say(f.message_zh, f.message_en),
    )


def print_findings(
    console: Console,
    findings: Sequence[Finding],
    title: str | None = None,
    explained: Collection[Finding] = (),
) -> None:
    """Findings that matter in a full table (blocking, needing an explanation, warnings); info
    findings one line each below it."""
    full = [f for f in findings if f.severity is not Severity.INFO]
    brief = [f for f in findings if f.severity is Severity.INFO]
    if full:
        console.print(findings_table(full, title, explained))
    if brief:
        if not full:
            console.print(Text(title or label("检查结果", "findings"), style="italic"))
        for f in brief:
            console.print(finding_line(f))


def refusing(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that refuse a command: blocking, or needing a written explanation."""
    return [f for f in findings if f.severity in (Severity.BLOCKING, Severity.NEEDS_EXPLANATION)]


def print_error(console: Console, error: JiedaiFlowError, options: Mapping[str, str] | None = None) -> None:
    """The error's message on stderr; a rule refusal also prints every finding (the refusing ones
    in full, info ones one line each); a refusal about a field names the option of ``options``
    (the command's, by the field they fill) that gives it."""
    prefix = error_prefix()
    if isinstance(error, RuleViolationError):
        console.print(
            f"[red]{prefix}[/red]{escape(say(error.message_zh, error.message_en))}",
            soft_wrap=True,
        )
        print_findings(
            console,
            error.findings,
            say(f"「{error.label}」的检查结果", f"findings of {error.trigger!r}"),
            error.explained,
        )
        if any(f.severity is Severity.NEEDS_EXPLANATION and f not in error.explained for f in error.findings):
            console.print(
                say(
                    "须书面说明的，可用 --explain 规则编号=说明 附情况说明",
                    "attach a written explanation with --explain RULE=TEXT",
                )
            )
        return
    if isinstance(error, ValidationError) and error.source == COMMAND_LINE:
        for p in error.problems:  # one mistake on the command line: say it plainly
            console.print(f"[red]{prefix}[/red]{escape(say(p.message_zh, p.message_en))}", soft_wrap=True)
        return
    if isinstance(error, ValidationError):
        where = f"{error.source}: " if error.source else ""
        console.print(
            f"[red]{prefix}[/red]{escape(where)}"
            + escape(
                say(f"数据有 {len(error.problems)} 处错误", f"{len(error.problems)} problem(s) in data")
            ),
            soft_wrap=True,
        )
        colon = ": " if current_lang() == "en" else "："
        for p in error.problems:
            shown = {"zh": f"（第 {p.line} 行）", "en": f" (line {p.line})"}
            line = shown.get(current_lang(), f"（第 {p.line} 行 line {p.line}）") if p.line else ""
            console.print(
                f"  - {escape(option_of(p.path, options))}{escape(line)}{colon}"
                f"{escape(say(p.message_zh, p.message_en))}",
                soft_wrap=True,
            )
        return
    zh, en = getattr(error, "message_zh", None), getattr(error, "message_en", None)
    text = say(zh, en) if isinstance(zh, str) and isinstance(en, str) else str(error)
    given = [
        o for o in dict.fromkeys(option_of(p.path, options) for p in error.problems) if o.startswith("-")
    ]
    if given and isinstance(zh, str) and isinstance(en, str):
        text = say(f"{zh}（选项 {'、'.join(given)}）", f"{en} (option {', '.join(given)})")
    console.print(f"[red]{prefix}[/red]{escape(text)}", soft_wrap=True)


def option_of(path: str, options: Mapping[str, str] | None) -> str:
    """The command-line option that fills the field ``path`` (``$.people[1]`` → ``--to``), or
    ``path`` itself when the command has none."""
    found = (options or {}).get(path) or (options or {}).get(_INDEX.sub("", path))
    return found or path


_INDEX = re.compile(r"\[\d+\]$")


def error_json(error: JiedaiFlowError, code: int, options: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The error as data for ``--json``: code, messages, exit code and what a program needs; the
    path of a problem about a field the command fills by an option is that option (``--reason``)."""
    data: dict[str, Any] = {
        "code": error.code,
        "exit_code": code,
        "message_zh": error.message_zh,
        "message_en": error.message_en,
    }
    if isinstance(error, RuleViolationError):
        data["findings"] = [dump(f) for f in error.findings]
        data["explained"] = list(error.explained_ids)
        data["unused_explanations"] = error.unused
    if error.problems or isinstance(error, ValidationError):  # a field the command fills: its option
        data["problems"] = [dump(attrs.evolve(p, path=option_of(p.path, options))) for p in error.problems]
    if isinstance(error, ValidationError):
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


def receptions_table(
    items: Sequence[Reception],
    process_of: Callable[[Reception], CompiledProcess],
    width: int | None = None,
) -> Table:
    """``jiedai list``: the number, ID, dates and amount never wrap (a user copies them); the state
    and the units fold, two cells at least (one CJK character). ``width``: the terminal's, which
    the units share what the rest leave of (else the table is cut at its right edge)."""
    # no outer edge: the two columns it saves let the units keep a few characters a line at 80
    table = Table(title=label("接待记录", "receptions"), title_justify="left", show_edge=False)
    amounts = [format(r.plan.planned_total, "f") for r in items]

    def whole(header: str, values: Iterable[str]) -> int:
        """The width that keeps a column's values and its header's words whole (a narrow terminal
        shrinks every column down to its min_width, no_wrap ones too)."""
        return max((cell_len(w) for v in (header, *values) for w in v.split()), default=1)

    for header, values in (
        (heading("编号", "number"), [r.number for r in items]),
        ("ID", [r.id[:SHORT_ID] for r in items]),
    ):
        table.add_column(header, no_wrap=True, min_width=whole(header, values))
    states = [_state_cell(process_of(r), r.state) for r in items]
    widest = max((cell_len(w) for s in states for w in s.split()), default=4)
    table.add_column(heading("状态", "state"), overflow="fold", min_width=min(widest, 12))
    table.add_column(heading("日期", "dates"), no_wrap=True, min_width=10)
    planned = heading("预计", "planned")
    planned_width = whole(planned, amounts)
    units_width = None
    if width is not None:
        # the five whole columns, and for all seven a cell of padding each side and a rule
        # between them (no outer edge)
        taken = sum(c.min_width or 0 for c in table.columns) + planned_width + 7 * 2 + 6
        units_width = max(4, (width - taken) // 2)
    for header in (heading("接待单位", "host"), heading("来函单位", "from")):
        table.add_column(header, overflow="fold", min_width=4, max_width=units_width)
    table.add_column(planned, no_wrap=True, justify="right", min_width=planned_width)
    for r, state, amount in zip(items, states, amounts, strict=True):
        table.add_row(
            Text(r.number),
            Text(r.id[:SHORT_ID], style="dim"),  # enough to name it: commands take a unique prefix
            Text(state),
            Text(f"{r.start}\n{r.end}" if r.end != r.start else str(r.start)),  # each day whole
            Text(r.host_unit),
            Text(r.letter.sending_unit),
            Text(amount),
        )
    return table


def _state_cell(process: CompiledProcess, state: str) -> str:
    """A state in a narrow column: its label (报销审核中), its English label (claim under review), or
    one over the other."""
    return heading(_label(process, state), _label_en(process, state))


def details_table(
    reception: Reception,
    process: CompiledProcess,
    events: Sequence[AuditEvent] = (),
    directory: Callable[[str], Actor | None] | None = None,
) -> Table:
    """``jiedai show``: the reception's fields, one per row; each approval step with its kind, result
    and signers, the returns, the open tasks with owner and due day, and the execution items.
    ``events`` (its audit trail) give the names of everyone who acted, ``directory`` of the rest."""
    from jiedai_flow.process.signoff import names_of, signoff

    r, letter = reception, reception.letter
    view = signoff(r, definition=process.definition, names=names_of(r, events, directory))
    en = current_lang() == "en"
    table = Table(show_header=False, title=f"{label('接待', 'reception')} {r.number}", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    guests = ("; " if en else "；").join(f"{g.name}{paren(f'{g.unit} {g.post}')}" for g in letter.personnel)
    state = state_label(process, r.state)
    if not en:
        state += f"（{r.state}，v{r.version}）"
    elif state != r.state:
        state += f" ({r.state}, v{r.version})"
    else:
        state += f" (v{r.version})"
    rows = [
        ("ID", r.id),
        (label("状态", "state"), state),
        (label("类型", "type"), _enum(r.reception_type)),
        (label("辖区", "jurisdiction"), r.jurisdiction),
        (label("接待单位", "host unit"), r.host_unit),
        (label("经办人", "handler"), f"{r.handler.name}{paren(r.handler.id)}"),
        (label("日期", "dates"), f"{r.start} {'to' if en else '～'} {r.end}"),
        (
            label("来函", "letter"),
            f"{_enum(letter.kind)} {letter.number}, {letter.sending_unit}, {letter.issued_on}"
            if en
            else f"{_enum(letter.kind)} {letter.number}，{letter.sending_unit}，{letter.issued_on}",
        ),
        (label("事由", "purpose"), f"{_enum(letter.purpose)}{': ' if en else '：'}{letter.content}"),
        (f"{label('来宾', 'guests')}{paren(str(letter.headcount))}", guests or "—"),
        (label("方案", "plan"), _plan_line(r)),
    ]
    rows += _signoff_rows(view)
    if r.reception_list is not None:
        listing = r.reception_list
        signed = listing.signed_by or "—"
        rows.append(
            (
                label("清单", "list"),
                say(
                    f"实际费用 {listing.total} 元，签字 {signed}",
                    f"actual cost {listing.total} yuan, signed by {signed}",
                ),
            )
        )
    for e in r.explanations:
        if e.accepted:
            status = say(f"{e.by}，{e.accepted_by} 已接受", f"{e.by}, accepted by {e.accepted_by}")
        else:
            status = say(f"{e.by}，待接受", f"{e.by}, not yet accepted")
        rows.append((f"{label('情况说明', 'explanation')} {e.rule_id}", f"{e.text}{paren(status)}"))
    rows.append((label("规则包 / 流程", "rule pack / process"), f"{r.rule_pack} · {r.process}"))
    for field, value in rows:
        table.add_row(field, Text(value))
    return table


def _plan_line(r: Reception) -> str:
    plan = r.plan
    return say(
        f"用餐 {len(plan.meals)} 次，住宿 {len(plan.lodgings)} 项，活动 {len(plan.activities)} 项；"
        f"预计 {plan.planned_total} 元，预算 {plan.budget} 元",
        f"{len(plan.meals)} meal(s), {len(plan.lodgings)} lodging(s), {len(plan.activities)} "
        f"activity(ies); planned {plan.planned_total} yuan, budget {plan.budget} yuan",
    )


def _signoff_rows(view: Signoff) -> list[tuple[str, str]]:
    """The approval steps (kind, result, each signer), returns, open tasks and execution items."""
    en = current_lang() == "en"
    rows = []
    for step in view.steps:
        lines = [f"{_enum(step.kind)} {say(step.result, step.result_en)}"]
        for s in step.signers:
            mark = "✓" if s.signed and s.outcome == "同意" else ("✗" if s.signed else "·")
            when = f" {when_local(s.at)}" if s.at is not None else ""
            due = paren(say(f"{s.due} 到期", f"due {s.due}")) if s.pending and s.due is not None else ""
            opinion = f"{': ' if en else '：'}{s.opinion}" if s.opinion else ""
            shown = s.shown_en if en else s.shown
            lines.append(f"{mark} {shown} {say(s.outcome, s.outcome_en)}{when}{due}{opinion}")
            lines += [f"    {note}" for note in s.notes]
        rows.append(
            (
                f"{label('审批', 'step')} {step.number}"
                + (f' "{step.label}"' if en else f"「{step.label}」"),
                "\n".join(lines),
            )
        )
    if not view.steps:
        rows.append((label("审批", "approvals"), "—"))
    for back in view.returns:
        when = f" {when_local(back.at)}" if back.at is not None else ""
        rows.append(
            (
                label("退回", "returned"),
                say(
                    f"第 {back.step + 1} 环节「{back.step_label}」{back.how}：{back.who}{when}，"
                    f"理由：{back.reason}",
                    f"step {back.step + 1} 「{back.step_label}」 {back.how_en}: {back.who}{when}, "
                    f"reason: {back.reason}",
                ),
            )
        )
    for task in view.open_tasks:
        due = say(f"，{task.due} 到期", f", due {task.due}") if task.due is not None else ""
        asked = paren(say(f"已委派 {task.delegated_to}", f"delegated to {task.delegated_to}"))
        owner = task.owner_en if en else task.owner
        rows.append(
            (
                label("待办", "open task"),
                f"{task.title} — {owner}{asked if task.delegated_to else ''}{due}{paren(task.task_id[:8])}",
            )
        )
    for item in view.execution:
        when = f"{when_local(item.at)} " if item.at is not None else ""
        done = (
            say(
                f"，{item.done_by} {when_local(item.done_at)} 完成",
                f", done by {item.done_by} {when_local(item.done_at)}",
            )
            if item.done_at is not None
            else ""
        )
        notes = "".join(f"\n    {n}" for n in item.notes)
        where = f"{', ' if en else '，'}{when}{item.place}" if when or item.place else ""
        owner = item.owner_en if en else item.owner
        state = say(item.state, item.state_en)
        rows.append(
            (label("执行", "execution"), f"{item.title} — {owner}{where}{paren(state + done)}{notes}")
        )
    return rows


def paren(text: str) -> str:
    """``text`` in brackets after a word: （…） in Chinese, `` (…)`` in English."""
    return f" ({text})" if current_lang() == "en" else f"（{text}）"


def _enum(member: LabelledEnum | Severity) -> str:
    """A labelled enum member in this run's language: 公函, letter, or 公函 letter."""
    return label(member.label, member.value)


def when_local(moment: datetime | None) -> str:
    """:func:`when`, or "" for None."""
    return when(moment) if moment is not None else ""


def timeline_table(events: Sequence[AuditEvent], process: CompiledProcess) -> Table:
    """The audit trail: when, who, what, from which state to which, why, and its findings."""
    table = Table(title=label("时间线", "timeline"), title_justify="left")
    for column in (
        "#",
        label("时间", "time"),
        label("操作人", "actor"),
        label("操作", "trigger"),
        label("状态", "state"),
        label("理由与说明", "reason, note"),
        label("检查", "findings"),
    ):
        table.add_column(column, overflow="fold")
    for e in events:
        source = state_label(process, e.from_state) if e.from_state else "—"
        why = Text(e.reason or "")
        if e.note:  # what an approval or task operation did: 代签, 转办, 加签, 驳回到第 N 环节 …
            why.append(("\n" if e.reason else "") + e.note, style="cyan")
        table.add_row(
            str(e.seq),
            when(e.at),
            Text(f"{e.actor_name}{paren(e.actor_id)}"),
            Text(trigger_label(process, e.trigger)),
            Text(f"{source} → {state_label(process, e.to_state)}"),
            why,
            Text(", ".join(f"{f.rule_id}:{_enum(f.severity)}" for f in e.findings) or "—"),
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
    """One line for an accepted command, its findings (info ones one line each), and what may
    follow; each line short enough for 80 columns where the names allow."""
    r, e = result.reception, result.event
    source = state_label(process, e.from_state) if e.from_state else "—"
    again = say("（重复请求，返回首次结果）", " (replayed: the first result)") if result.replayed else ""
    colon = ": " if current_lang() == "en" else "："
    console.print(
        Text.assemble(
            ("✓ ", "green"),
            f"{_command(process, e.trigger)} — {e.actor_name}{paren(e.actor_id)}{colon}"
            f"{source} → 「{state_label(process, r.state)}」{again}",
        )
    )
    number = label("编号", "number")
    console.print(Text(f"  {number} {r.number} · ID {r.id[:SHORT_ID]} · v{r.version}", style="dim"))
    if result.findings:
        print_findings(console, result.findings)
    following = possible_triggers(process, r)
    if following:
        # the id beside the label is the command that fires it: 撤回（withdraw） → jiedai withdraw;
        # then who may: the next step is often someone else's (审批同意 is the approver's)
        steps = " · ".join(_next_step(process, r.state, t) for t in following)
        console.print(Text(f"  {label('下一步', 'next')}: {steps}", "dim"))


def _next_step(process: CompiledProcess, state: str, trigger: str) -> str:
    """A trigger that may follow, with its command and who may fire it: 撤回（withdraw，经办人）;
    in English the command only where the label is not it: withdraw (handler)."""
    who = _who_may(process, state, trigger)
    if current_lang() != "en":  # the command is the English beside the Chinese label
        return f"{process.trigger_defs[trigger].label}（{trigger}，{who}）"
    found = process.trigger_defs.get(trigger)
    shown = found.label_en if found is not None and found.label_en else trigger
    return f"{shown} ({who})" if shown.replace(" ", "_") == trigger else f"{shown} ({trigger}, {who})"


def _who_may(process: CompiledProcess, state: str, trigger: str) -> str:
    """The roles that may fire ``trigger`` from ``state``, in this run's language."""
    roles = sorted(
        {role for t in process.transitions_from(state) if t.trigger == trigger for role in t.roles}
    )
    return label("、".join(r.label for r in roles), ", ".join(r.value for r in roles))


def possible_triggers(process: CompiledProcess, reception: Reception) -> tuple[str, ...]:
    """The triggers that may follow from the reception's state (by someone; conditions that
    only hold for 补办 or before an approver acted are checked, authorization is not)."""
    facts = {FACT_FINAL_STEP, FACT_MORE_STEPS, FACT_URGENT_ALLOWED}
    if not approver_acted(reception):
        facts.add(FACT_NO_APPROVALS)
    if reception.retroactive and not reception.approval_complete:
        facts |= {FACT_RETRO_PENDING, FACT_RETRO_FINAL_STEP, FACT_RETRO_MORE_STEPS}
    return tuple(
        t
        for t in process.triggers_from(reception.state)
        if process.trigger_defs[t].operation is None
        and process.applicable(reception.state, t, frozenset(facts))
    )


def trigger_label(process: CompiledProcess, trigger: str) -> str:
    """A trigger's label in this run's language (登记公函 register for ``create``)."""
    found = process.trigger_defs.get(trigger)
    if found is None:
        return label("登记公函", "register") if trigger == "create" else trigger
    return label(found.label, found.label_en or trigger)


def _command(process: CompiledProcess, trigger: str) -> str:
    """A trigger with the command that fires it: 提交审批（submit）; in English the label alone
    when it is the command (submit), else with it (return for correction (return))."""
    found = process.trigger_defs.get(trigger)
    if found is not None:
        zh, en = found.label, found.label_en or trigger
    else:
        zh, en = ("登记公函", "register") if trigger == "create" else (trigger, trigger)
    if current_lang() != "en":
        return f"{zh}（{trigger}）"
    return en if en.replace(" ", "_") == trigger else f"{en} ({trigger})"


def state_label(process: CompiledProcess, state: str) -> str:
    """A state's label in this run's language: 已结算, settled, or 已结算 settled."""
    try:
        return label(process.label(state), process.label_en(state))
    except KeyError:
        return state


def _label(process: CompiledProcess, state: str) -> str:
    try:
        return process.label(state)
    except KeyError:
        return state


def _label_en(process: CompiledProcess, state: str) -> str:
    try:
        return process.label_en(state)
    except KeyError:
        return state
