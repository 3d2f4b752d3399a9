"""Who signed each step and how 签署情况: one reading of a reception's approvals and tasks that every
view shows the same way — the printed 接待清单 and 审批单, ``jiedai show``, the HTML timeline and the
diagram.

:func:`signoff` gives, for each step of the approval chain, its kind and result (并行会签 3/3 同意,
票签 同意权重 5/7) and every signer with their opinion and time, 代 whom they signed for, who
transferred the task to them or added them, and the opinions of those they delegated to (委派意见);
then the returns with their reasons (驳回到环节, 退回, 不予接待), the open tasks with owner and due
day, and the execution items with who did them. Pure: it reads the reception (and, for names, the
audit events), nothing else.
"""

from __future__ import annotations

from datetime import date, datetime  # why: attrs resolves the field types at run time
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.domain.clock import CHINA_TZ
from jiedai_flow.domain.records import ENDED, ApprovalStep, StepKind, TaskKind, TaskState, step_verdict
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.records import Approval, AuditEvent, Reception, Task
    from jiedai_flow.process.lifecycle import ProcessDefinition

__all__ = [
    "ExecutionLine",
    "OpenTask",
    "ReturnLine",
    "Signer",
    "Signoff",
    "StepSignoff",
    "names_of",
    "signoff",
]

SENT_BACK = "returned"
"""The outcome :mod:`jiedai_flow.process.tasks` gives the task of an approver who sent the reception
back to an earlier step (驳回到环节)."""

_CLOSED_ZH = {
    "decided": "未签（本环节已决定）",
    "removed": "已减签",
    "closed": "已关闭",
    ENDED: "未签（接待已结束）",
    "jumped": "已关闭（跳转）",
    "taken_back": "已拿回",
}
_CLOSED_EN = {
    "decided": "not signed (the step was decided)",
    "removed": "removed",
    "closed": "closed",
    ENDED: "not signed (the reception ended)",
    "jumped": "closed (jump)",
    "taken_back": "taken back",
}
_EXECUTION_ZH = {TaskState.DONE: "已完成", TaskState.CLOSED: "已关闭", TaskState.WAITING: "未到"}
_EXECUTION_EN = {TaskState.DONE: "done", TaskState.CLOSED: "closed", TaskState.WAITING: "not yet"}
_OUTCOME_EN = {"同意": "agreed", "反对": "against", "待签": "to sign", "未到": "not yet"}


@attrs.frozen
class Signer:
    """One person's part in a step 签署人: what they said, when, and how they came to it."""

    who_zh: str
    """The name shown (the id when no name is known; a pool's name while nobody has claimed it)."""
    actor_id: str
    outcome_zh: str
    """同意, 反对, 待签, 未到, 不予接待, 已减签 …"""
    at: datetime | None = None
    opinion: str = ""
    on_behalf_of: str = ""
    """代签: the name of the approver a stand-in signed for."""
    weight: int = 1
    transferred_from: str = ""
    """转办: the name of who handed the task over."""
    added_by: str = ""
    """加签: the name of who added this signer."""
    notes: tuple[str, ...] = ()
    """委派意见: the opinions of those the signer delegated to, in order."""
    due: date | None = None
    """For a signer still to act: the task's due day."""
    signed: bool = False
    """Agreed or voted against (an :class:`~jiedai_flow.domain.records.Approval` of this step)."""
    pending: bool = False
    """Still to act (the task is open or waiting)."""
    outcome_en: str = ""
    """``outcome`` in English."""
    who_en: str = ""
    """``who`` in English where it differs (a pool's task nobody has claimed)."""

    @property
    def shown(self) -> str:
        """The signer with how they came to it: ``李娜（代 王五；由 赵六 转办）``."""
        extra = [f"代 {self.on_behalf_of}"] if self.on_behalf_of else []
        extra += [f"由 {self.transferred_from} 转办"] if self.transferred_from else []
        extra += [f"{self.added_by} 加签"] if self.added_by else []
        return self.who + (f"（{'；'.join(extra)}）" if extra else "")

    @property
    def shown_en(self) -> str:
        """:attr:`shown` in English: ``李娜 (for 王五; transferred by 赵六)``."""
        extra = [f"for {self.on_behalf_of}"] if self.on_behalf_of else []
        extra += [f"transferred by {self.transferred_from}"] if self.transferred_from else []
        extra += [f"added by {self.added_by}"] if self.added_by else []
        return (self.who_en or self.who) + (f" ({'; '.join(extra)})" if extra else "")

    @property
    def who(self) -> str:
        """:attr:`who_zh` under its earlier name."""
        return self.who_zh

    @property
    def outcome(self) -> str:
        """:attr:`outcome_zh` under its earlier name."""
        return self.outcome_zh


@attrs.frozen
class StepSignoff:
    """One step of the approval chain 审批环节 and how it stands."""

    index: int
    label: str
    kind: StepKind
    result_zh: str
    """How the signers decided: ``同意``, ``3/3 同意``, ``同意权重 5/7（须超过 50%）``, ``待签`` …"""
    verdict: str
    """``passed``, ``failed`` (a vote that can no longer pass) or ``open``."""
    signers: tuple[Signer, ...] = ()
    result_en: str = ""
    """``result`` in English: ``3/3 agreed``."""

    @property
    def number(self) -> int:
        """The step's number as people count, from 1."""
        return self.index + 1

    @property
    def line(self) -> str:
        """The step in one line: ``第 2 环节「财政局会签」并行会签 2/3 同意：王五 同意；…``."""
        people = "；".join(_signer_text(s) for s in self.signers)
        head = f"第 {self.number} 环节「{self.label}」{self.kind.label} {self.result}"
        return f"{head}：{people}" if people else head

    @property
    def result(self) -> str:
        """:attr:`result_zh` under its earlier name."""
        return self.result_zh


@attrs.frozen
class ReturnLine:
    """A return 退回记录: an approver sent the reception back (to an earlier step, to the applicant)
    or refused it, with the reason."""

    step: int
    step_label: str
    how_zh: str
    """驳回 (to an earlier step), or the reviewing trigger's label (退回, 不予接待)."""
    who: str
    at: datetime | None
    reason: str
    how_en: str = ""
    """``how`` in English (sent back, or the trigger's English label)."""

    @property
    def how(self) -> str:
        """:attr:`how_zh` under its earlier name."""
        return self.how_zh


@attrs.frozen
class OpenTask:
    """A task in someone's 待办 now: what, whose, due when."""

    task_id: str
    kind: TaskKind
    title: str
    """The approval step's label, or the execution item."""
    owner_zh: str
    """The owner's name, or the pool's with 「待认领」."""
    due: date | None = None
    delegated_to: str = ""
    owner_en: str = ""
    """``owner`` in English (``… (unclaimed)`` for a pool's task)."""

    @property
    def owner(self) -> str:
        """:attr:`owner_zh` under its earlier name."""
        return self.owner_zh


@attrs.frozen
class ExecutionLine:
    """An execution item 接待执行事项 of the approved plan and who did it."""

    title: str
    owner_zh: str
    at: datetime | None
    place: str
    due: date | None
    state_zh: str
    """待办, 有问题, 已完成, 已关闭."""
    done_by: str = ""
    done_at: datetime | None = None
    notes: tuple[str, ...] = ()
    """Problems reported, in order."""
    state_en: str = ""
    """``state`` in English."""
    owner_en: str = ""

    @property
    def owner(self) -> str:
        """:attr:`owner_zh` under its earlier name."""
        return self.owner_zh

    @property
    def state(self) -> str:
        """:attr:`state_zh` under its earlier name."""
        return self.state_zh


@attrs.frozen
class Signoff:
    """Everything the views show about who signed and who does what."""

    steps: tuple[StepSignoff, ...] = ()
    returns: tuple[ReturnLine, ...] = ()
    open_tasks: tuple[OpenTask, ...] = ()
    execution: tuple[ExecutionLine, ...] = ()

    def lines(self) -> tuple[str, ...]:
        """One line per step (for the diagram's note and plain text)."""
        return tuple(step.line for step in self.steps)


def names_of(
    reception: Reception,
    events: Iterable[AuditEvent] = (),
    directory: Callable[[str], Actor | None] | None = None,
) -> dict[str, str]:
    """Actor id → name, from what the reception and its audit trail record: the handler, the
    signatures, the named assignees and everyone who acted; ``directory`` (``Engine.directory``)
    names the task holders none of those do (a voter named by id who has not voted yet)."""
    names = {reception.handler.id: reception.handler.name}
    names.update((t.assignee.ref, t.assignee.name) for t in reception.tasks if t.assignee.name)
    names.update((e.actor_id, e.actor_name) for e in events)
    names.update((a.actor_id, a.actor_name) for a in reception.approvals)
    if directory is not None:
        for person in {t.owner for t in reception.tasks if t.owner} - names.keys():
            found = directory(person)
            if found is not None and found.name:
                names[person] = found.name
    return names


def signoff(
    reception: Reception,
    *,
    definition: ProcessDefinition | None = None,
    names: Mapping[str, str] | None = None,
) -> Signoff:
    """How ``reception`` stands: each step and its signers, the returns, the open tasks, the
    execution items.

    :param definition: its process, for the labels of reviewing triggers (退回, 不予接待); the
        default process when not given.
    :param names: actor id → name (:func:`names_of` with the audit events); ids show otherwise.
    """
    view = _View(
        reception, definition or DEFAULT_PROCESS, names if names is not None else names_of(reception)
    )
    chain = reception.approval_chain
    steps = [view.step(i, step) for i, step in enumerate(chain)]
    older = sorted({a.step for a in reception.approvals if a.step >= len(chain)})
    steps += [view.step(i, ApprovalStep(reception.step_approvals(i)[0].level, "")) for i in older]
    return Signoff(
        steps=tuple(steps),
        returns=view.returns(),
        open_tasks=view.open_tasks(),
        execution=view.execution(),
    )


def local_day(moment: datetime | None) -> date | None:
    """The calendar day of ``moment`` in China (naive times are taken as local)."""
    if moment is None:
        return None
    return (moment.astimezone(CHINA_TZ) if moment.tzinfo is not None else moment).date()


def _signer_text(s: Signer) -> str:
    when = f" {local_day(s.at)}" if s.at is not None and s.signed else ""
    due = f"，{s.due} 到期" if s.pending and s.due is not None else ""
    return f"{s.shown} {s.outcome}{when}{due}"


class _View:
    """The reading of one reception (names and labels resolved once)."""

    def __init__(self, reception: Reception, definition: ProcessDefinition, names: Mapping[str, str]) -> None:
        self.reception = reception
        self.names = names
        reviewing = [t for t in definition.triggers if t.review and t.operation is None]
        self.reviews = {t.name: t.label for t in reviewing}
        self.reviews_en = {t.name: t.label_en or t.name for t in reviewing}
        # a signature the end of the reception left unmade says how it ended: 已终止, 不予接待, 已撤销 …
        ended = next((st for st in definition.states if st.name == reception.state), None)
        self.closed, self.closed_en = _CLOSED_ZH, _CLOSED_EN
        if ended is not None and ended.label:
            self.closed = {**_CLOSED_ZH, ENDED: f"未签（{ended.label}）"}
            self.closed_en = {**_CLOSED_EN, ENDED: f"not signed ({ended.label_en or ended.name})"}

    def who(self, actor_id: str) -> str:
        return self.names.get(actor_id, actor_id) if actor_id else ""

    def owner(self, task: Task) -> str:
        return self.who(task.owner) if task.owner else f"{task.assignee.shown}（待认领）"

    def owner_en(self, task: Task) -> str:
        return self.who(task.owner) if task.owner else f"{task.assignee.shown} (unclaimed)"

    def step(self, index: int, step: ApprovalStep) -> StepSignoff:
        r = self.reception
        tasks = [t for t in r.tasks if t.kind is TaskKind.APPROVAL and t.step == index and t.current]
        approvals = r.step_approvals(index)
        by_task = {a.task_id: a for a in approvals if a.task_id}
        signers = [
            self._signer(t, by_task.get(t.id))
            for t in tasks
            if not (t.state is TaskState.CLOSED and t.outcome == "transferred")  # its successor shows it
        ]
        known = {t.id for t in tasks}
        signers += [self._signed(a) for a in approvals if a.task_id not in known]  # signed outside a task
        verdict = step_verdict(step, r.step_tasks(index), approvals, r.handlers())
        result, result_en = self._result(index, step, verdict, approvals)
        return StepSignoff(index, step.shown, step.kind, result, verdict, tuple(signers), result_en)

    def _signed(self, a: Approval, task: Task | None = None) -> Signer:
        return Signer(
            who_zh=a.actor_name or self.who(a.actor_id),
            actor_id=a.actor_id,
            outcome_zh="同意" if a.agree else "反对",
            outcome_en="agreed" if a.agree else "against",
            at=a.at,
            opinion=a.opinion,
            on_behalf_of=self.who(a.on_behalf_of),
            weight=a.weight,
            transferred_from=self.who(task.transferred_from) if task is not None else "",
            added_by=self.who(task.added_by) if task is not None else "",
            notes=task.notes if task is not None else (),
            signed=True,
        )

    def _signer(self, task: Task, approval: Approval | None) -> Signer:
        if approval is not None:
            return self._signed(approval, task)
        if task.live:
            outcome = "待签" if task.state is TaskState.OPEN else "未到"
            outcome_en = _OUTCOME_EN[outcome]
            if task.delegated_to:
                outcome = f"已委派 {self.who(task.delegated_to)} 提出意见"
                outcome_en = f"delegated to {self.who(task.delegated_to)} for an opinion"
            who, actor_id, at = self.owner(task), task.owner, None
            who_en = self.owner_en(task)
        elif task.state is TaskState.DONE:  # a reviewer's answer on their own task (不予接待 …)
            outcome = self.reviews.get(task.outcome, task.outcome)
            outcome_en = self.reviews_en.get(task.outcome, task.outcome)
            who, actor_id, at = self.who(task.done_by), task.done_by, task.done_at
            who_en = who
        else:
            outcome = self.closed.get(task.outcome, "已关闭")
            outcome_en = self.closed_en.get(task.outcome, "closed")
            who, actor_id, at = self.owner(task), task.owner, None
            who_en = self.owner_en(task)
        return Signer(
            who_zh=who,
            actor_id=actor_id,
            outcome_zh=outcome,
            at=at,
            opinion=task.opinion,
            weight=task.assignee.weight,
            transferred_from=self.who(task.transferred_from),
            added_by=self.who(task.added_by),
            notes=task.notes,
            due=task.due if task.live else None,
            pending=task.live,
            outcome_en=outcome_en,
            who_en=who_en,
        )

    def _result(
        self, index: int, step: ApprovalStep, verdict: str, approvals: tuple[Approval, ...]
    ) -> tuple[str, str]:
        """The step's result in Chinese and in English."""
        agreed = [a for a in approvals if a.agree]
        decided = {"passed": "，通过", "failed": "，未通过"}.get(verdict, "")
        decided_en = {"passed": ", passed", "failed": ", failed"}.get(verdict, "")
        voters = self._voters(index)
        waiting = "待签" if index == self.reception.current_step else "未到"
        if not voters and not approvals:  # a step not opened yet: no count to give (not 「0/0」)
            return waiting, _OUTCOME_EN[waiting]
        if step.kind is StepKind.VOTE:
            total = sum(t.assignee.weight for t in voters) or sum(a.weight for a in approvals)
            yes = sum(a.weight for a in agreed)
            return (
                f"同意权重 {yes}/{total}（须超过 {step.threshold}%）{decided}",
                f"agreeing weight {yes}/{total} (over {step.threshold}% needed){decided_en}",
            )
        if step.kind in (StepKind.SEQUENTIAL, StepKind.PARALLEL):
            total = len(voters) or len(approvals)
            return f"{len(agreed)}/{total} 同意{decided}", f"{len(agreed)}/{total} agreed{decided_en}"
        if agreed:
            return "同意", "agreed"
        return waiting, _OUTCOME_EN[waiting]

    def _voters(self, index: int) -> list[Task]:
        """The step's tasks that count toward its result: every one of the current submission but
        those removed (减签), handed on (转办: the successor counts) or taken back."""
        gone = {"removed", "transferred", "taken_back"}
        return [
            t
            for t in self.reception.tasks
            if t.kind is TaskKind.APPROVAL and t.step == index and t.current and t.outcome not in gone
        ]

    def returns(self) -> tuple[ReturnLine, ...]:
        r = self.reception
        found = []
        for t in r.tasks:
            if t.kind is not TaskKind.APPROVAL or t.state is not TaskState.DONE:
                continue
            how = "驳回" if t.outcome == SENT_BACK else self.reviews.get(t.outcome)
            if how is None:
                continue
            how_en = "sent back" if t.outcome == SENT_BACK else self.reviews_en[t.outcome]
            label = r.approval_chain[t.step].shown if 0 <= t.step < len(r.approval_chain) else "审批"
            found.append(ReturnLine(t.step, label, how, self.who(t.done_by), t.done_at, t.opinion, how_en))
        return tuple(sorted(found, key=lambda line: (line.at is None, line.at or datetime.min)))

    def open_tasks(self) -> tuple[OpenTask, ...]:
        chain = self.reception.approval_chain
        found = []
        for t in self.reception.open_tasks():
            if t.kind is TaskKind.APPROVAL:
                title = chain[t.step].shown if 0 <= t.step < len(chain) else "审批"
            else:
                title = t.title
            found.append(
                OpenTask(
                    t.id, t.kind, title, self.owner(t), t.due, self.who(t.delegated_to), self.owner_en(t)
                )
            )
        return tuple(found)

    def execution(self) -> tuple[ExecutionLine, ...]:
        found = []
        for t in self.reception.tasks:
            if t.kind is not TaskKind.EXECUTION:
                continue
            state = _EXECUTION_ZH.get(t.state) or ("有问题" if t.outcome == "problem" else "待办")
            state_en = _EXECUTION_EN.get(t.state) or ("problem" if t.outcome == "problem" else "to do")
            holder = self.who(t.owner) or t.assignee.shown
            found.append(
                ExecutionLine(
                    title=t.title,
                    owner_zh=self.owner(t) if t.live else holder,
                    at=t.at,
                    place=t.place,
                    due=t.due,
                    state_zh=state,
                    done_by=self.who(t.done_by) if t.state is TaskState.DONE else "",
                    done_at=t.done_at if t.state is TaskState.DONE else None,
                    notes=t.notes,
                    state_en=state_en,
                    owner_en=self.owner_en(t) if t.live else holder,
                )
            )
        return tuple(found)


for _cls in (Signer, StepSignoff, ReturnLine, OpenTask, ExecutionLine, Signoff):
    attrs.resolve_types(_cls, globalns=globals())  # so convert.dump() can serialise a view
