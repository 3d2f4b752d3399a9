"""Task lists and approval operations 待办与审批操作: ``jiedai tasks`` and one command per operation
(``transfer``, ``delegate``, ``reply``, ``add-signer``, ``remove-signer``, ``take-back``, ``send-back``,
``vote-against``, ``jump``, ``terminate``, ``urge``, ``cc``, ``read``, ``comment``, ``claim-task``,
``assign``, ``complete``, ``report-problem``) and ``proxy`` for stand-ins."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import click
from rich.table import Table

from jiedai_flow.cli import render
from jiedai_flow.cli.app import App, json_option, pass_app, usage_problem
from jiedai_flow.cli.common import label, say
from jiedai_flow.cli.inputs import to_date
from jiedai_flow.domain.loading import dump
from jiedai_flow.domain.records import Assignee, AssigneeKind, TaskState, TaskView, is_task_cursor
from jiedai_flow.process import tasks as task_ops
from jiedai_flow.process.lifecycle import Operation
from jiedai_flow.process.tasks import (
    OUTCOME_LABELS,
    AddSigners,
    Against,
    Assign,
    Claim,
    Comment,
    Complete,
    Copy,
    Delegate,
    ExecutionItem,
    Jump,
    MarkRead,
    Position,
    RemoveSigner,
    Reply,
    ReportProblem,
    SendBack,
    TakeBack,
    TaskCommand,
    Terminate,
    Transfer,
    Urge,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from jiedai_flow.domain.records import TaskPage, TaskRow
    from jiedai_flow.process.engine import Engine

_VIEWS = {"mine": TaskView.MINE, "done": TaskView.DONE, "cc": TaskView.CC, "started": TaskView.STARTED}
_VIEWS_EN = {
    TaskView.MINE: "open tasks",
    TaskView.DONE: "done",
    TaskView.CC: "copied to me",
    TaskView.STARTED: "started by me",
}


@click.command(
    short_help="待办、已办、抄送我的、我发起的 / task lists.",
    help="任务列表：--mine 待办（默认，含可认领的岗位、部门任务和代理的任务，按到期日排序）、--done 已办、"
    "--cc 抄送我的、--started 我发起的；--counts 只看各列表条数。\n\n"
    "Task lists of an actor: open tasks (default, pool tasks and stand-in tasks included, due first), "
    "done, copied to me, started by me; --counts prints how many each list has.",
)
@click.option("--as", "actor_id", metavar="ACTOR", required=True, help="谁的列表 / whose lists.")
@click.option("--mine", "view", flag_value="mine", default=True, help="待办 / open tasks (default).")
@click.option("--done", "view", flag_value="done", help="已办 / tasks acted on.")
@click.option("--cc", "view", flag_value="cc", help="抄送我的 / copied to me.")
@click.option("--started", "view", flag_value="started", help="我发起的 / receptions I handle.")
@click.option("--counts", is_flag=True, help="各列表条数 / counts of every list.")
@click.option(
    "--due-by",
    metavar="YYYY-MM-DD",
    callback=to_date,
    help="待办：到期日不晚于 / open tasks due by this day.",
)
@click.option("--jurisdiction", help="辖区代码 / jurisdiction code.")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=50, show_default=True, help="每页条数 / page size."
)
@click.option("--after", metavar="CURSOR", help="上一页给出的游标 / the cursor of the previous page.")
@json_option
@pass_app
def tasks(
    app: App,
    actor_id: str,
    view: str,
    counts: bool,
    due_by: date | None,
    jurisdiction: str | None,
    limit: int,
    after: str | None,
) -> None:
    if after is not None and not is_task_cursor(after):
        raise usage_problem(
            "--after",
            f"--after 游标无效：{after!r}（用上一页给出的游标）",
            f"--after: not a cursor of this list: {after!r} (give the one the previous page printed)",
        )
    engine = app.engine()
    actor = app.actor(actor_id)
    if counts:
        found = engine.task_counts(actor)
        if app.json:
            app.emit(dump(found))
            return
        unread = render.paren(f"{label('未读', 'unread')} {found.cc_unread}")
        app.out.print(
            f"{label('待办', 'open')} {found.mine} · {label('已办', 'done')} {found.done} · "
            f"{label('抄送', 'copied')} {found.cc}{unread} · "
            f"{label('我发起的', 'started')} {found.started}"
        )
        return
    chosen = _VIEWS[view]
    filters: dict[str, Any] = {"limit": limit, "after": after, "jurisdiction": jurisdiction}
    if due_by is not None:
        if chosen is not TaskView.MINE:
            raise usage_problem("--due-by", "--due-by 只用于待办", "--due-by applies to open tasks only")
        filters["due_by"] = due_by
    listing: Callable[..., TaskPage] = {
        TaskView.MINE: engine.tasks_for,
        TaskView.DONE: engine.done_by,
        TaskView.CC: engine.copied_to,
        TaskView.STARTED: engine.started_by,
    }[chosen]
    page = listing(actor, **filters)
    if app.json:
        app.emit({"items": [dump(r) for r in page.items], "next_cursor": page.next_cursor})
        return
    table = Table(
        title=f"{label(chosen.label, _VIEWS_EN[chosen])} — {actor.name}{render.paren(actor.id)}",
        show_lines=False,
    )
    item = {TaskView.STARTED: ("接待日期", "visit"), TaskView.CC: ("抄送人", "copied by")}
    for zh, en in (
        ("编号", "number"),
        ("任务", "task"),
        item.get(chosen, ("事项", "item")),
        ("状态", "state"),
    ):
        table.add_column(label(zh, en), overflow="fold")
    table.add_column(
        label("到期", "due") if chosen is TaskView.MINE else label("时间", "at"), overflow="fold"
    )
    labels = {t.name: label(t.label, t.label_en or t.name) for p in engine.processes for t in p.triggers}
    labels |= {s.name: label(s.label, s.label_en or s.name) for p in engine.processes for s in p.states}
    people = app.actors()
    for row in page.items:
        if chosen is TaskView.MINE:
            when = row.due.isoformat() if row.due else ""
        else:
            when = render.when(row.at) if row.at else ""
        title = row.title
        if chosen is TaskView.CC and row.owner in people:
            title = f"{people[row.owner].name}{render.paren(row.owner)}"
        table.add_row(row.number, row.task_id[:8] or "—", title, _status(row, labels), when)
    app.out.print(table)
    if not page.items:
        app.out.print(say("（无）", "(none)"))
    if page.next_cursor:
        app.out.print(f"{label('下一页', 'next page')}: --after '{page.next_cursor}'")


def _status(row: TaskRow, labels: Mapping[str, str]) -> str:
    """How the line stands, in this run's language: a task's state or how it ended (a reviewer's
    answer by its trigger's label); a reception's state (抄送、我发起的) as its process names it.
    English shows an outcome by its id (agree, transferred …)."""
    if row.outcome:
        if row.outcome in OUTCOME_LABELS:
            return label(OUTCOME_LABELS[row.outcome], row.outcome)
        return labels.get(row.outcome, row.outcome)
    if row.kind in ("cc", "started"):
        return labels.get(row.state, row.state)
    try:
        state = TaskState(row.state)
    except ValueError:
        return row.state
    return label(state.label, state.value)


COMMAND_NAMES = {
    Operation.CLAIM: "claim-task",  # `jiedai claim` files the reception list (报销)
    Operation.COPY: "cc",
    Operation.READ: "read",
    Operation.AGAINST: "vote-against",
    Operation.ADD_SIGNERS: "add-signer",
    Operation.PROBLEM: "report-problem",
}
"""Command names that differ from the operation's own name (``send_back`` → ``send-back``)."""

OPERATION_OPTIONS = {
    "$.reason": "--reason",
    "$.task": "--task",
    "$.to": "--to",
    "$.people": "--to",
    "$.position": "--position",
    "$.step": "--to-step",
    "$.state": "--state",
    "$.items": "--item",
}
"""The operation commands' options by the field of the operation they fill (see ``App.options``)."""


def command_name(operation: Operation) -> str:
    """The command of ``operation``: ``jiedai transfer``, ``jiedai claim-task`` …"""
    return COMMAND_NAMES.get(operation, operation.value.replace("_", "-"))


def command_line(operation: Operation, reception: str, actor: str, *, reason: bool = False) -> str:
    """The command line that runs ``operation`` on ``reception`` as ``actor``, its required options
    to fill in: ``jiedai transfer 341502-2026-00001 --as sun.hao --to …``."""
    name = command_name(operation)
    command = next(c for c in OPERATIONS if c.name == name)
    needed = [
        p.opts[0]
        for p in command.params
        if isinstance(p, click.Option) and p.required and p.name != "actor_id"
    ] + (["--reason"] if reason else [])
    return " ".join(["jiedai", name, reception, "--as", actor, *(f"{o} …" for o in needed)])


def _operation(
    operation: Operation,
    help_zh: str,
    help_en: str,
    build: Callable[..., TaskCommand],
    extra: tuple[Callable[[Any], Any], ...] = (),
) -> click.Command:
    """A command that builds an operation value from its options and runs :meth:`Engine.operate`;
    ``--reason`` only for an operation that takes one (not 已阅)."""
    name = command_name(operation)
    takes_reason = task_ops.COMMANDS[operation].takes_reason

    def command(
        app: App,
        reception_id: str,
        actor_id: str,
        request_id: str | None,
        expect_version: int | None,
        task: str,
        reason: str = "",
        **options: Any,
    ) -> None:
        app.options = OPERATION_OPTIONS
        engine = app.engine()
        actor = app.actor(actor_id)
        rid = engine.resolve(reception_id)
        value = build(task=task, **options)
        _known(engine, _named(value))
        result = engine.operate(
            rid, value, actor, reason=reason, request_id=request_id, expected_version=expect_version
        )
        process = engine.process_of(result.reception)
        if app.json:
            app.emit(render.result_json(result, process))
            return
        render.print_result(app.out, result, process)
        if result.event.note:
            app.out.print(f"  {result.event.note}")

    command.__name__ = name.replace("-", "_")
    decorated: Any = pass_app(command)
    decorated = json_option(decorated)
    for option in reversed(extra):
        decorated = option(decorated)
    decorated = click.option(
        "--task", default="", metavar="TASK", help="任务 ID 或前缀（只有一个待办时可省）/ task id or prefix."
    )(decorated)
    decorated = click.option("--expect-version", type=int, help="预期版本 / refuse if the version changed.")(
        decorated
    )
    decorated = click.option("--request-id", help="请求号 / idempotency key for retries.")(decorated)
    if takes_reason:
        decorated = click.option("--reason", default="", help="理由或意见 / reason or opinion.")(decorated)
    decorated = click.option("--as", "actor_id", metavar="ACTOR", required=True, help="操作人 / who acts.")(
        decorated
    )
    decorated = click.argument("reception_id", metavar="ID")(decorated)
    return click.command(name, short_help=f"{help_zh} / {help_en}.", help=f"{help_zh}。\n\n{help_en}.")(
        decorated
    )


def _named(value: TaskCommand) -> list[tuple[str, str]]:
    """The people an operation names, each with the option that named them."""
    found = [("--to", value.to)] if isinstance(value, (Transfer, Delegate)) else []
    found += [("--to", person) for person in getattr(value, "people", ())]
    if isinstance(value, Assign):
        found += [("--item", i.owner.ref) for i in value.items if i.owner.kind is AssigneeKind.PERSON]
    return found


def _known(engine: Engine, named: list[tuple[str, str]]) -> None:
    """Each person named on the command line is in the directory: an unknown id is a mistake on
    the command line (exit 2), as it is after ``--as``, not a refusal of the operation (exit 3).
    Whether a known person may take the task is still the operation's to judge."""
    directory = engine.directory
    if directory is None:  # no plugin keeps a directory: the host is trusted with ids
        return
    for option, person in named:
        if person.strip() and directory(person) is None:
            raise usage_problem(
                option, f"参与人名单里没有 {person}", f"{person} is not in the directory of actors"
            )


_to = click.option("--to", "to", required=True, metavar="ACTOR", help="交给谁 / to whom (actor id).")
_people = click.option(
    "--to",
    "people",
    required=True,
    multiple=True,
    metavar="ACTOR",
    help="人员（可多次）/ actor ids (repeat).",
)
_position = click.option(
    "--position",
    type=click.Choice([p.value for p in Position]),
    help="before 前加签、after 后加签、alongside 并加签；默认 after，或签、票签环节 alongside（只能并加签）"
    " / where the added approvers act; default after, alongside on an any-one or vote step.",
)


def _send_back_step(value: Any) -> Any:
    return click.option(
        "--to-step", "step", type=int, required=True, help="驳回到第几环节（从 1 起）/ step number, from 1."
    )(value)


def _jump_options(value: Any) -> Any:
    value = click.option(
        "--state", default="", help="跳转到的状态（与 --to-step 二选一）/ target state (or --to-step)."
    )(value)
    return click.option(
        "--to-step", "step", type=int, help="跳回审批链第几环节（从 1 起，与 --state 二选一）/ step, from 1."
    )(value)


def _items(value: Any) -> Any:
    return click.option(
        "--item",
        "items",
        multiple=True,
        required=True,
        metavar="TITLE=OWNER[@PLACE][#YYYY-MM-DD]",
        help="执行事项（可多次），OWNER 为人员 id 或 unit:部门 / an item, owner a person or unit:dept.",
    )(value)


def _parse_item(text: str) -> ExecutionItem:
    title, sep, rest = text.partition("=")
    if not sep or not title.strip() or not rest.strip():
        raise usage_problem(
            "--item", f"执行事项「{text}」应写成 事项=负责人", f"item {text!r} must read TITLE=OWNER"
        )
    due: date | None = None
    if "#" in rest:
        rest, _, day = rest.partition("#")
        try:
            due = date.fromisoformat(day.strip())
        except ValueError:
            raise usage_problem(
                "--item", f"日期「{day}」应为 YYYY-MM-DD", f"date {day!r} is not YYYY-MM-DD"
            ) from None
    owner, _, place = rest.partition("@")
    owner = owner.strip()
    assignee = (
        Assignee(AssigneeKind.UNIT, owner[5:], name=owner[5:])
        if owner.startswith("unit:")
        else Assignee.person(owner)
    )
    return ExecutionItem(title.strip(), assignee, place=place.strip(), due=due)


def _step(step: int) -> int:
    if step < 1:
        raise usage_problem("--to-step", "环节从 1 起编号", "steps are numbered from 1")
    return step - 1


def _jump(task: str, state: str, step: int | None) -> Jump:
    """One target: with both, the reception went to the state while the audit note said it jumped
    to the step."""
    if state and step is not None:
        raise usage_problem(
            "--state",
            "--state 与 --to-step 只能选一个：跳转到一个状态，或跳回审批链的某一环节",
            "give --state or --to-step, not both: jump to a state, or back to an approval step",
        )
    return Jump(state, None if step is None else _step(step), task=task)


claim_task = _operation(Operation.CLAIM, "认领岗位或部门的待办任务", "claim a pool task", Claim)

transfer = _operation(
    Operation.TRANSFER,
    "转办：任务交给他人办理",
    "transfer a task",
    lambda task, to: Transfer(to, task=task),
    (_to,),
)

delegate = _operation(
    Operation.DELEGATE,
    "委派：请他人提出意见，任务再回到自己",
    "delegate for an opinion",
    lambda task, to: Delegate(to, task=task),
    (_to,),
)

reply = _operation(
    Operation.REPLY,
    "委派答复：把意见交回委派人（--reason 写意见）",
    "reply to a delegation",
    Reply,
)

add_signer = _operation(
    Operation.ADD_SIGNERS,
    "加签：在自己之前、之后或并行增加审批人",
    "add approvers",
    lambda task, people, position: AddSigners(people, position, task=task),
    (_people, _position),
)

remove_signer = _operation(
    Operation.REMOVE_SIGNER,
    "减签：去掉尚未办理的加签人（--task 指明）",
    "remove an added approver",
    RemoveSigner,
)

take_back = _operation(
    Operation.TAKE_BACK,
    "拿回：下一环节尚未办理时拿回自己的签署",
    "take back a signature",
    TakeBack,
)

send_back = _operation(
    Operation.SEND_BACK,
    "驳回到环节：退回已通过的某一环节重新审批（须填 --reason）",
    "send back to an earlier step",
    lambda task, step: SendBack(_step(step), task=task),
    (_send_back_step,),
)

vote_against = _operation(Operation.AGAINST, "票签反对（须填 --reason）", "vote against", Against)

jump = _operation(
    Operation.JUMP,
    "跳转（管理员，须填 --reason）",
    "jump to a state or an earlier step (administrators)",
    lambda task, state, step: _jump(task, state, step),
    (_jump_options,),
)

terminate = _operation(
    Operation.TERMINATE,
    "终止（管理员，须填 --reason）",
    "terminate (administrators)",
    Terminate,
)

urge = _operation(
    Operation.URGE,
    "催办当前办理人（每个任务每小时一次）",
    "urge the assignees",
    Urge,
)

cc = _operation(
    Operation.COPY,
    "抄送（同一接待每人一次）",
    "copy to people",
    lambda task, people: Copy(people, task=task),
    (_people,),
)

read = _operation(
    Operation.READ,
    "已阅（不附意见；要说明什么用 jiedai comment）",
    "mark as read (it carries no text; to say something, comment)",
    MarkRead,
)

comment = _operation(
    Operation.COMMENT,
    "沟通意见（--reason 写内容）",
    "comment on the reception",
    Comment,
)

assign = _operation(
    Operation.ASSIGN,
    "分派执行任务（接站、工作餐、会议室、车辆、陪同、材料）",
    "assign execution tasks",
    lambda task, items: Assign([_parse_item(i) for i in items], task=task),
    (_items,),
)

complete = _operation(Operation.COMPLETE, "完成执行任务", "complete an execution task", Complete)

report_problem = _operation(
    Operation.PROBLEM,
    "执行任务报告问题（--reason 写问题）",
    "report a problem",
    ReportProblem,
)

OPERATIONS = (
    claim_task,
    transfer,
    delegate,
    reply,
    add_signer,
    remove_signer,
    take_back,
    send_back,
    vote_against,
    jump,
    terminate,
    urge,
    cc,
    read,
    comment,
    assign,
    complete,
    report_problem,
)


@click.group(
    short_help="代理：外出时指定代理人 / stand-ins while away.",
    help="代理 proxy：审批人外出期间由代理人办理其审批任务，签署记为「代 某某」。\n\n"
    "Stand-ins: while an approver is away, the stand-in acts on their approval tasks, recorded as on "
    "behalf of them.",
)
def proxy() -> None:
    """The ``jiedai proxy`` group."""


PROXY_OPTIONS = {
    "$.principal": "--for",
    "$.stand_in": "--stand-in",
    "$.start": "--from",
    "$.end": "--to",
    "$.reason": "--reason",
}
"""``proxy set``'s options by the field of :meth:`Engine.set_proxy` they fill."""


@proxy.command("set", help="设置代理 / name a stand-in for a period.")
@click.option("--as", "actor_id", metavar="ACTOR", required=True, help="操作人 / who sets it.")
@click.option(
    "--for", "principal", metavar="ACTOR", help="被代理人（默认本人）/ whose tasks (default: oneself)."
)
@click.option("--stand-in", metavar="ACTOR", required=True, help="代理人 / the stand-in.")
@click.option(
    "--from",
    "first",
    metavar="YYYY-MM-DD",
    callback=to_date,
    required=True,
    help="开始日期（不早于一年前）/ first day (at most a year back).",
)
@click.option(
    "--to",
    "last",
    metavar="YYYY-MM-DD",
    callback=to_date,
    required=True,
    help="结束日期（不晚于一年后）/ last day (at most a year ahead).",
)
@click.option("--reason", default="", help="原因 / why (出差、休假 …).")
@json_option
@pass_app
def proxy_set(
    app: App, actor_id: str, principal: str | None, stand_in: str, first: date, last: date, reason: str
) -> None:
    app.options = PROXY_OPTIONS
    engine = app.engine()
    actor = app.actor(actor_id)
    _known(engine, [("--for", principal or ""), ("--stand-in", stand_in)])
    result = engine.set_proxy(principal or actor.id, stand_in, first, last, actor, reason=reason)
    made = result.proxy
    if app.json:
        app.emit(dump(made))
        return
    if not result.created:  # the same form sent again: the designation in force is that one
        app.out.print(
            say(
                f"代理 {made.id[:8]} 已经设过：{made.stand_in} 代 {made.principal}，"
                f"{made.start} 至 {made.end}",
                f"stand-in {made.id[:8]} was set already: {made.stand_in} acts for {made.principal}, "
                f"{made.start} to {made.end}",
            )
        )
        return
    app.out.print(
        say(
            f"✓ 代理 {made.id[:8]}：{made.stand_in} 代 {made.principal} 办理审批，{made.start} 至 {made.end}",
            f"✓ stand-in {made.id[:8]}: {made.stand_in} acts for {made.principal}, "
            f"{made.start} to {made.end}",
        )
    )


@proxy.command("list", help="列出代理 / list stand-ins.")
@json_option
@pass_app
def proxy_list(app: App) -> None:
    found = app.engine().proxies()
    if app.json:
        app.emit([dump(p) for p in found])
        return
    table = Table(title=label("代理", "proxies"))
    table.add_column("ID", no_wrap=True)
    for zh, en in (("被代理人", "for"), ("代理人", "stand-in")):
        table.add_column(label(zh, en), overflow="fold")
    table.add_column(label("起止", "period"), no_wrap=True)
    for zh, en in (("原因", "reason"), ("状态", "state")):
        table.add_column(label(zh, en), overflow="fold")
    people = app.actors()

    def named(actor_id: str) -> str:
        return people[actor_id].name if actor_id in people else actor_id

    for p in found:
        table.add_row(
            p.id[:8],
            named(p.principal),
            named(p.stand_in),
            f"{p.start}～{p.end}",
            p.reason,
            say("已撤销", "revoked") if p.revoked else say("有效", "in force"),
        )
    app.out.print(table)


@proxy.command("revoke", help="撤销代理 / end a stand-in designation.")
@click.argument("proxy_id", metavar="PROXY")
@click.option("--as", "actor_id", metavar="ACTOR", required=True, help="操作人 / who revokes it.")
@json_option
@pass_app
def proxy_revoke(app: App, proxy_id: str, actor_id: str) -> None:
    engine = app.engine()
    already = engine.proxy(proxy_id).revoked
    revoked = engine.revoke_proxy(proxy_id, app.actor(actor_id))
    if app.json:
        app.emit(dump(revoked))
        return
    if already:
        app.out.print(say(f"代理 {revoked.id[:8]} 已撤销过", f"stand-in {revoked.id[:8]} already revoked"))
        return
    app.out.print(say(f"✓ 已撤销代理 {revoked.id[:8]}", f"✓ stand-in {revoked.id[:8]} revoked"))


COMMANDS: tuple[click.Command, ...] = (tasks, *OPERATIONS, proxy)
