"""E rules: the execution items of an approved plan 接待执行 (接站、工作餐、会议室、车辆、陪同、材料),
handed out as tasks (:class:`~jiedai_flow.process.tasks.Assign`) to the people and departments who carry
them out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import art, warn
from jiedai_flow.domain.records import TaskKind
from jiedai_flow.process.lifecycle import Stage
from jiedai_flow.process.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.domain.findings import Finding
    from jiedai_flow.process.rules import RuleContext


def check_items_done(ctx: RuleContext) -> Iterator[Finding]:
    """E-01 执行事项办结: when the reception ends, every execution item handed out is done.

    One warning per item still open (or waiting), naming the item and its owner — the person
    who holds it, or the department whose pool nobody has claimed — and any problem reported on
    it. A warning, not a refusal: the handler may end the reception and settle the item after,
    but the 接待清单 filled in after the visit (Art 7) then records an item nobody closed.
    """
    for index, task in enumerate(ctx.reception.tasks):
        if task.kind is not TaskKind.EXECUTION or not task.live:
            continue
        if not task.owner:
            owner = f"{task.assignee.shown}（待认领）"
        else:  # the assigned person by name where the item names them, else whoever holds it
            owner = task.assignee.shown if task.owner == task.assignee.ref else task.owner
        problem = "，已报告问题" if task.outcome == "problem" else ""
        problem_en = ", a problem was reported" if problem else ""
        yield warn(
            "E-01",
            f"执行事项「{task.title}」尚未完成（负责人 {owner}{problem}）；接待结束前请确认办结",
            f"execution item {task.title!r} is still open (owner {owner}{problem_en}); "
            "confirm it is done before the reception ends",
            f"$.tasks[{index}]",
            art("第七条"),
        )


RULES: tuple[Rule, ...] = (
    Rule(
        "E-01",
        "执行事项办结",
        frozenset({Stage.FINISH}),
        check_items_done,
        art("第七条"),
        "execution items done",
    ),
)
