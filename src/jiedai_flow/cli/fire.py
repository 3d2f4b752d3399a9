"""Moving a reception along 推进流程: ``fire ID TRIGGER`` and a named command per trigger
(``jiedai approve ID --as li.na --reason 同意``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from jiedai_flow.cli import render
from jiedai_flow.cli.app import App, app_of, json_option, usage_problem
from jiedai_flow.cli.commands import trigger_help
from jiedai_flow.cli.inputs import (
    load_follow_up,
    load_list,
    load_plan_sections,
    parse_explanations,
    resolve_trigger,
)
from jiedai_flow.domain.model import Plan
from jiedai_flow.errors import TaskError, ValidationError
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS
from jiedai_flow.process.tasks import TaskCommand

if TYPE_CHECKING:
    from collections.abc import Callable

    from jiedai_flow.process.lifecycle import TriggerDef

F = TypeVar("F", bound="Callable[..., Any]")

SHORTCUTS = tuple(t.name for t in DEFAULT_PROCESS.triggers if t.operation is None)
"""Triggers that have a command of their own (``start_urgent`` as ``start-urgent``); ``fire`` reaches
every trigger of every process. On a county's process a shortcut fires the trigger that runs the
same rule stage."""


def _options(command: F) -> F:
    decorators: list[Callable[..., Any]] = [
        click.option(
            "--as",
            "actor_id",
            metavar="ACTOR",
            required=True,
            help="操作人（参与人文件中的 id）/ who acts: an actor id from the actors file.",
        ),
        click.option(
            "--reason", default="", help="理由或意见（退回、不予接待、变更、撤销必填）/ reason or opinion."
        ),
        click.option("--request-id", help="请求号：重试同一请求只执行一次 / idempotency key for retries."),
        click.option(
            "--expect-version",
            type=int,
            help="预期版本：记录已被他人修改则不执行（退出码 3）/ refuse if the version changed.",
        ),
        click.option(
            "--plan",
            "plan_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="修改后的完整接待方案（TOML/JSON），整个替换原方案；漏写原方案已有的部分会被拒绝，要清空就写明"
            "（如 meals = []）/ the whole revised plan file (edit, submit, amend): it replaces the plan, so "
            "leaving out a part the plan has is refused; write a part empty to empty it.",
        ),
        click.option(
            "--list",
            "list_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="接待清单（TOML/JSON）/ reception list file (claim, edit after the reception).",
        ),
        click.option(
            "--follow-up",
            "follow_up_file",
            type=click.Path(dir_okay=False, path_type=Path),
            help="跟踪记录（TOML/JSON：kind、summary、owner、due、done_on、outcome），"
            "用于有跟踪服务阶段的流程 / a follow-up entry, for a process with a follow-up stage.",
        ),
        click.option(
            "--explain",
            "explain",
            multiple=True,
            metavar="RULE=TEXT",
            help="情况说明，如 M-02=上级临时增加 2 人（可多次）/ written explanation for a finding.",
        ),
        click.option(
            "--task",
            metavar="TASK",
            help="任务 ID（前缀即可）：您有多个待办（如代理他人）时指明办理哪一个 / which of your tasks, "
            "when you hold several (e.g. standing in for someone).",
        ),
        json_option,
    ]
    for decorator in reversed(decorators):
        command = decorator(command)
    return command


def run(
    ctx: click.Context,
    reception_id: str,
    trigger: str,
    *,
    actor_id: str,
    reason: str,
    request_id: str | None,
    expect_version: int | None,
    plan_file: Path | None,
    list_file: Path | None,
    explain: tuple[str, ...],
    follow_up_file: Path | None = None,
    task: str | None = None,
) -> None:
    """Fire ``trigger`` and print the outcome (a refusal is printed by the group, with exit 1)."""
    app: App = app_of(ctx)
    app.options = {"$.reason": "--reason", "$.task": "--task"}
    explanations = parse_explanations(explain)
    engine = app.engine()
    actor = app.actor(actor_id)
    for definition in engine.processes:  # an unknown trigger is a usage error before any lookup
        try:
            resolve_trigger(definition, trigger)
            break
        except ValidationError:
            if definition is engine.processes[-1]:
                raise
    given = reception_id
    reception_id = engine.resolve(reception_id)  # the number or a short id is enough
    process = engine.process_of(engine.get(reception_id))
    name = resolve_trigger(process.definition, trigger)
    plan = None
    if plan_file is not None:
        plan, written = load_plan_sections(plan_file)
        _whole_plan(plan_file, written, engine.get(reception_id).plan)
    listing = load_list(list_file) if list_file is not None else None
    follow_up = load_follow_up(follow_up_file) if follow_up_file is not None else None
    try:
        result = engine.fire(
            reception_id,
            name,
            actor,
            reason=reason,
            request_id=request_id,
            expected_version=expect_version,
            plan=plan,
            reception_list=listing,
            explanations=explanations,
            follow_up=follow_up,
            command=TaskCommand(task=task.strip()) if task else None,
        )
    except TaskError:
        _elsewhere(process.trigger_defs.get(name), given, actor.id)
        raise
    if app.json:
        app.emit(render.result_json(result, process))
        return
    render.print_result(app.out, result, process)


def _elsewhere(declared: TriggerDef | None, reception: str, actor: str) -> None:
    """An approval operation fired as a plain trigger is refused by the engine (it needs its own
    command): point to that command instead — a usage error."""
    if declared is None or declared.operation is None:
        return
    from jiedai_flow.cli.tasks import command_line, command_name

    line = command_line(declared.operation, reception, actor, reason=declared.reason_required)
    help_line = f"jiedai {command_name(declared.operation)} --help"
    raise usage_problem(
        "TRIGGER",
        f"「{declared.label}」是审批操作，有它自己的命令：{line}（见 {help_line}）",
        f"{declared.name!r} is an approval operation with a command of its own: {line} (see {help_line})",
    ) from None


@click.command(
    short_help="执行一个操作 / fire any trigger on a reception.",
    help="对接待执行一个操作（操作名或中文名，如 approve 或 审批同意）。\n\n"
    "Fire a trigger on a reception as an actor; rule refusals print every finding (exit code 1).",
)
@click.argument("reception_id", metavar="ID")
@click.argument("trigger")
@_options
@click.pass_context
def fire(ctx: click.Context, /, reception_id: str, trigger: str, **options: Any) -> None:
    run(ctx, reception_id, trigger, **options)


def _shortcut(trigger: str) -> click.Command:
    definition = DEFAULT_PROCESS.trigger(trigger)

    def command(ctx: click.Context, /, reception_id: str, **options: Any) -> None:
        run(ctx, reception_id, trigger, **options)

    command.__name__ = f"{trigger}_command"
    return click.command(
        trigger.replace("_", "-"),
        help=trigger_help(definition),
    )(click.argument("reception_id", metavar="ID")(_options(click.pass_context(command))))


COMMANDS = (fire, *(_shortcut(t) for t in SHORTCUTS))


_SECTIONS = ("meals", "lodgings", "activities", "transport", "ceremony", "gifts", "companions", "budget")
"""The parts of a plan a revised plan file replaces, each emptied when the file leaves it out."""


def _whole_plan(path: Path, written: frozenset[str], current: Plan) -> None:
    """Refuse a revised plan file that leaves out a part the current plan has: the file replaces the
    whole plan, so a file holding only ``budget = "500.00"`` emptied the meals and the lodging, and
    the old plan is not kept. Writing the part empty (``meals = []``) says it is meant."""
    empty = Plan()
    left_out = [s for s in _SECTIONS if s not in written and getattr(current, s) != getattr(empty, s)]
    if left_out:
        names = "、".join(left_out)
        raise usage_problem(
            "--plan",
            f"方案文件 {path} 没有写 {names}：修改后的方案整个替换原方案，这些会被清空。"
            "请写出完整的方案（现有方案在 jiedai show --json 输出的 reception.plan 里）；"
            "确要清空就写明，如 meals = []",
            f"plan file {path} leaves out {', '.join(left_out)}: a revised plan replaces the whole plan, "
            "so these would be emptied. Write the whole plan (the current one is reception.plan in the "
            "output of jiedai show --json); to empty a part, write it empty (meals = [])",
        )
