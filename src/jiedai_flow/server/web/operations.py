"""The approval operations on the reception page 审批操作表单: which forms the actor gets, what each
asks for, and the form read back into the operation's command value.

The forms are built from the command classes of :mod:`jiedai_flow.process.tasks`: each field of a command
(``to``, ``people``, ``position``, ``step``, ``state``, ``items``) has one widget, and the posted form
goes through the library's loader (:func:`~jiedai_flow.domain.loading.load`), so a bad value comes back
with its field path, in Chinese and English, as it would through the API.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from jiedai_flow.domain.loading import load
from jiedai_flow.domain.model import Role
from jiedai_flow.domain.records import AssigneeKind, StepKind, TaskKind
from jiedai_flow.errors import Problem, ValidationError
from jiedai_flow.process import tasks as task_ops
from jiedai_flow.process.lifecycle import Operation
from jiedai_flow.process.tasks import Position
from jiedai_flow.server.web.forms import whole

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.records import Reception, Task
    from jiedai_flow.server.models import OperationInfo

POSITIONS = {Position.BEFORE: "前加签", Position.AFTER: "后加签", Position.ALONGSIDE: "并加签"}

OUTCOMES = task_ops.OUTCOME_LABELS

FIELD_LABELS = {
    "to": "交给",
    "people": "人员",
    "position": "位置",
    "step": "环节",
    "state": "状态",
    "items": "事项",
    "task": "任务",
    "reason": "理由",
}
"""The Chinese label of each command field, as its widget shows it on the page."""


def labelled(message: str, path: str) -> str:
    """A problem of an operation's form said with the widget's label (「交给」 rather than the field's
    name 「to」) and its path: 缺少必填字段「交给」（$.to）."""
    field = path.removeprefix("$.").split(".", 1)[0].split("[", 1)[0]
    label = FIELD_LABELS.get(field)
    shown = message.replace(f"「{field}」", f"「{label}」") if label else message
    return f"{shown}（{path}）"


@attrs.frozen
class OperationForm:
    """One operation's form: what the process calls it and which fields its command has."""

    info: OperationInfo
    fields: tuple[str, ...]
    tasks: tuple[Task, ...]
    """The tasks the form offers to choose from (empty: the actor's own open task is meant)."""
    optional: frozenset[str] = frozenset()
    """Fields the command gives a default: the form may leave them empty."""
    task_required: bool = False
    """The command names its task itself (减签: whose task to remove)."""
    takes_reason: bool = True
    """The command carries a reason or opinion: the form has a box for it (已阅 has none)."""


def candidates(
    reception: Reception, me: Actor, actors: list[Actor], reply_roles: frozenset[Role]
) -> dict[str, list[Actor]]:
    """The people each operation's picker offers: never the actor; for 转办 and 加签 of an approval
    task never the handler and only those with a role that signs the current step (any role when
    the step names none); for 委派 never the handler and only those whose role may reply
    (``reply_roles``, from the process) — the engine refuses the others anyway. 抄送: anyone."""
    others = [a for a in actors if a.id != me.id]
    handlers = {reception.handler.id, reception.submitted_by}
    index = reception.current_step
    chain = reception.approval_chain
    roles = chain[index].roles if index < len(chain) else frozenset({Role.APPROVER})
    signing = [a for a in others if a.id not in handlers and (not roles or a.roles & roles)]
    # 转办 of an execution task (one's own, a principal's or an unclaimed pool's): anyone
    executing = any(t.kind is TaskKind.EXECUTION and t.live for t in reception.tasks)
    return {
        Operation.TRANSFER.value: others if executing else signing,
        Operation.ADD_SIGNERS.value: signing,
        Operation.DELEGATE.value: [
            a for a in others if a.id not in handlers and (not reply_roles or a.roles & reply_roles)
        ],
        Operation.COPY.value: others,
    }


def _step_kind(reception: Reception) -> StepKind:
    """How the current approval step decides (one approver when there is none: no 加签 then)."""
    index = reception.current_step
    chain = reception.approval_chain
    return chain[index].kind if index < len(chain) else StepKind.SINGLE


def positions(reception: Reception) -> dict[Position, str]:
    """The positions 加签's form offers, with their labels: those the current step takes (或签、票签:
    并加签 only, the engine refuses the others)."""
    return {p: POSITIONS[p] for p in task_ops.positions(_step_kind(reception))}


def default_position(reception: Reception) -> Position:
    """The position 加签's form has chosen: the current step's default, as the engine takes it when
    none is named (after the adder; alongside on a 或签 or 票签)."""
    return task_ops.default_position(_step_kind(reception))


def fields_of(operation: Operation) -> tuple[str, ...]:
    """The command's own fields, the task reference left out (offered separately)."""
    command = task_ops.COMMANDS[operation]
    return tuple(f.name for f in attrs.fields(command) if f.name != "task")


NEEDS_A_TASK = frozenset({Operation.CLAIM, Operation.REMOVE_SIGNER, Operation.COMPLETE, Operation.PROBLEM})
"""Operations that work on a task the form lists: without one to list, the form is not offered."""


def forms(
    infos: tuple[OperationInfo, ...], choices: Callable[[Operation], tuple[Task, ...]]
) -> list[OperationForm]:
    """A form per operation the engine offers the actor (by role, state and something of theirs
    to act on: :meth:`~jiedai_flow.process.engine.Engine.available_operations`), each with the tasks
    it may name (``choices``: :meth:`~jiedai_flow.process.engine.Engine.task_choices`). A form that
    works on a listed task is left out when there is none to list. The engine decides."""
    found = []
    for info in infos:
        operation = Operation(info.operation)
        listed = choices(operation)
        if operation in NEEDS_A_TASK and not listed:
            continue
        command = task_ops.COMMANDS[operation]
        optional = frozenset(f.name for f in attrs.fields(command) if f.default is not attrs.NOTHING)
        found.append(
            OperationForm(
                info,
                fields_of(operation),
                listed,
                optional,
                task_required=operation is Operation.REMOVE_SIGNER,
                takes_reason=command.takes_reason,
            )
        )
    return found


def sent_back_to(reception: Reception) -> tuple[int, ...]:
    """The steps 驳回到环节 may name: those passed already (none at the first step)."""
    return tuple(range(min(reception.current_step, len(reception.approval_chain))))


def command(operation: Operation, form: Mapping[str, str]) -> task_ops.TaskCommand:
    """The command value the posted form asks for; ValidationError (with paths) when it cannot be."""
    plain: dict[str, Any] = {"task": form.get("task", "").strip()}
    for name in fields_of(operation):
        if name == "people":
            plain[name] = [k.split(":", 1)[1] for k, v in form.items() if k.startswith("people:") and v]
        elif name == "items":
            plain[name] = items(form.get("items", ""))
        elif name == "step":
            text = form.get("step", "").strip()
            if text or operation is not Operation.JUMP:
                plain[name] = whole(text)
        elif form.get(name, "").strip():
            plain[name] = form[name].strip()
    return load(task_ops.COMMANDS[operation], plain, source="表单")


def items(text: str) -> list[dict[str, Any]]:
    """Execution items, one a line: ``事项=负责人[@地点][#YYYY-MM-DD]``; the owner is an actor id or
    ``unit:部门``."""
    found: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for number, line in enumerate(filter(None, (x.strip() for x in text.splitlines()))):
        title, sep, rest = line.partition("=")
        if not sep or not title.strip() or not rest.strip():
            problems.append(
                Problem(
                    f"$.items[{number}]",
                    f"「{line}」应写成 事项=负责人",
                    f"{line!r} must read TITLE=OWNER",
                )
            )
            continue
        rest, _, day = rest.partition("#")
        owner, _, place = rest.partition("@")
        owner = owner.strip()
        unit = owner.startswith("unit:")
        ref = owner.removeprefix("unit:")
        item: dict[str, Any] = {
            "title": title.strip(),
            "owner": {"kind": (AssigneeKind.UNIT if unit else AssigneeKind.PERSON).value, "ref": ref},
            "place": place.strip(),
        }
        if day.strip():
            item["due"] = day.strip()
        found.append(item)
    if problems:
        raise ValidationError(problems, source="表单")
    return found


@attrs.frozen
class StepView:
    """One approval step as the page shows it: its label and way of deciding, its tasks now."""

    index: int
    label: str
    kind: str
    state: str
    """``passed``, ``current`` or ``later``."""
    tasks: tuple[Task, ...]


def steps(reception: Reception) -> list[StepView]:
    """The approval chain with each step's tasks of the current submission (closed ones too)."""
    current = reception.current_step
    shown = []
    for index, step in enumerate(reception.approval_chain):
        tasks = tuple(
            t for t in reception.tasks if t.step == index and t.current and t.kind is TaskKind.APPROVAL
        )
        state = "passed" if index < current else ("current" if index == current else "later")
        shown.append(StepView(index, step.shown, step.kind.label, state, tasks))
    return shown


def execution(reception: Reception) -> tuple[Task, ...]:
    """The execution tasks 接待执行任务 of the reception."""
    return tuple(t for t in reception.tasks if t.kind is TaskKind.EXECUTION)
