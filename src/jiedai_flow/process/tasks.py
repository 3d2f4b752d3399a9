"""Approval operations and tasks 审批操作与待办: what each operation does to a reception's tasks.

Every function here is pure: it takes a reception and returns a new one (tasks, signatures and
copies changed; state and version are the engine's). The engine runs them inside the unit of work
of :meth:`Engine.operate <jiedai_flow.process.engine.Engine.operate>` — authorized, audited on the chain,
idempotent by request id, compare-and-set on the version — and calls :func:`normalize` after every
command, which is the one place tasks are opened, activated and closed:

- a step becomes current → its tasks are created, one per assignee (``ApprovalStep.who``);
- within the current step the lowest ``order`` not yet done is open, later ones wait (顺序会签);
- a step passed (或签's first agreement, 票签's majority) → its remaining tasks close;
- the reception leaves approval (approved, returned, refused, terminated) → every approval task
  still open closes.

So an operation only says what changed; no operation can leave a step with nobody to act.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import TYPE_CHECKING, ClassVar

import attrs

from jiedai_flow.domain.model import MAX_ACTOR_ID, MAX_HOST_UNIT, Role, check_text
from jiedai_flow.domain.records import (
    ENDED,
    Approval,
    ApprovalStep,
    Assignee,
    AssigneeKind,
    CarbonCopy,
    StepKind,
    Task,
    TaskKind,
    TaskState,
    new_id,
    step_verdict,
)
from jiedai_flow.errors import (
    InvalidValueError,
    JiedaiFlowError,
    NotAuthorizedError,
    Problem,
    RateLimitedError,
    ReasonRequiredError,
    TaskError,
)
from jiedai_flow.process.lifecycle import (
    FACT_FINAL_STEP,
    FACT_MORE_STEPS,
    FACT_STEP_FAILED,
    FACT_STEP_OPEN,
    JUMP_FACT_PREFIX,
    Operation,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Sequence
    from datetime import date

    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.records import Reception

URGE_INTERVAL = timedelta(hours=1)
"""催办 the same task at most once in this interval."""

RECALLED = "recalled"
"""The outcome of an execution task still open when its reception went back to approval or to draft
(拿回, 变更, 驳回 …): it is handed out again once approved."""

OUTCOME_LABELS = {
    "agree": "同意",
    "against": "反对",
    "returned": "驳回",
    "jumped": "跳转",
    "transferred": "已转办",
    "delegate_replied": "委派答复",
    "removed": "减签",
    "taken_back": "拿回",
    "done": "已完成",
    "problem": "报告问题",
    "closed": "已关闭",
    "decided": "他人已决定",
    RECALLED: "收回（重新审批）",
}
"""How a task ended (``Task.outcome``), in Chinese; a reviewer's answer (退回, 不予接待) is the name of
its trigger, shown by the trigger's label."""


class Position(StrEnum):
    """Where 加签 puts the added approvers, relative to whoever adds them."""

    BEFORE = "before"
    """前加签: they act first; the adder's task waits until they agreed."""
    AFTER = "after"
    """后加签: they act after the adder."""
    ALONGSIDE = "alongside"
    """并加签: they act at the same time as the adder."""


_ALONGSIDE_ONLY = frozenset({StepKind.ANY, StepKind.VOTE})
"""或签 and 票签 are decided by whoever acts (first, or by weight): added approvers join alongside."""


def positions(kind: StepKind) -> tuple[Position, ...]:
    """The positions 加签 may name on a step of ``kind``: 或签 and 票签 only alongside."""
    return (Position.ALONGSIDE,) if kind in _ALONGSIDE_ONLY else tuple(Position)


def default_position(kind: StepKind) -> Position:
    """Where 加签 naming no position puts the added approvers on a step of ``kind``: after the
    adder, or alongside on a 或签 or 票签 (which take nothing else)."""
    return Position.ALONGSIDE if kind in _ALONGSIDE_ONLY else Position.AFTER


# -- the command values ------------------------------------------------------------------------


def _ids(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


@attrs.frozen
class TaskCommand:
    """Base of the operation commands. ``task`` is a task id or a unique prefix of one; empty means
    the acting person's own open task on the reception (there must be exactly one)."""

    operation: ClassVar[Operation]
    takes_reason: ClassVar[bool] = True
    """Whether the command carries a reason or opinion 理由或意见 (the ``reason`` given to
    :meth:`Engine.operate <jiedai_flow.process.engine.Engine.operate>`): the forms and commands ask
    for one only then. 已阅 takes none, and refuses one."""
    task: str = attrs.field(default="", kw_only=True)


@attrs.frozen
class Claim(TaskCommand):
    """认领 a pool task (a level's or a department's): the others stop seeing it."""

    operation = Operation.CLAIM


@attrs.frozen
class Transfer(TaskCommand):
    """转办: the task goes to ``to``, who then owns it."""

    operation = Operation.TRANSFER
    to: str


@attrs.frozen
class Delegate(TaskCommand):
    """委派: ``to`` gives an opinion (:class:`Reply`); the task then comes back to its owner."""

    operation = Operation.DELEGATE
    to: str


@attrs.frozen
class Reply(TaskCommand):
    """委派答复: the delegate's opinion (the command's reason) goes back to the delegator."""

    operation = Operation.REPLY


@attrs.frozen
class AddSigners(TaskCommand):
    """加签: ``people`` (actor ids) join the step, before, after or alongside whoever adds them.
    ``position`` left out (None) is the step's :func:`default_position`: after the adder, or
    alongside on a 或签 or 票签."""

    operation = Operation.ADD_SIGNERS
    people: tuple[str, ...] = attrs.field(converter=_ids)
    position: Position | None = attrs.field(default=None, converter=attrs.converters.optional(Position))


@attrs.frozen
class RemoveSigner(TaskCommand):
    """减签: the added approver's task (``task``) is removed; refused once they acted."""

    operation = Operation.REMOVE_SIGNER


@attrs.frozen
class TakeBack(TaskCommand):
    """拿回: the last signer takes their signature back while nobody after them has acted."""

    operation = Operation.TAKE_BACK


@attrs.frozen
class SendBack(TaskCommand):
    """驳回到环节 ``step`` (0-based; the previous step is ``current - 1``). The steps from there on are
    approved again. To send it back to the applicant, fire the process's return trigger."""

    operation = Operation.SEND_BACK
    step: int


@attrs.frozen
class Against(TaskCommand):
    """票签: vote against (the reason is the opinion)."""

    operation = Operation.AGAINST


@attrs.frozen
class Jump(TaskCommand):
    """跳转 (administrators): to ``state`` by a jump transition of the definition, and/or back to an
    earlier approval ``step`` of the pending chain."""

    operation = Operation.JUMP
    state: str = ""
    step: int | None = None


@attrs.frozen
class Terminate(TaskCommand):
    """终止 (administrators): end the reception at any step; the supervisor is told."""

    operation = Operation.TERMINATE


@attrs.frozen
class Urge(TaskCommand):
    """催办: remind the owners of the open tasks (or of ``task``) now; once an hour per task."""

    operation = Operation.URGE


@attrs.frozen
class Copy(TaskCommand):
    """抄送 ``people``: told without acting; nobody is copied twice on one reception."""

    operation = Operation.COPY
    people: tuple[str, ...] = attrs.field(converter=_ids)


@attrs.frozen
class MarkRead(TaskCommand):
    """已阅: the owner of a task, or a copied person, has read the reception.
    It says nothing: a reason is refused (to say something, comment 沟通)."""

    operation = Operation.READ
    takes_reason = False


@attrs.frozen
class Comment(TaskCommand):
    """沟通: a comment (the reason) in the timeline; decides nothing."""

    operation = Operation.COMMENT


@attrs.frozen
class ExecutionItem:
    """One item of the approved plan to carry out 接待执行事项: meeting the guests, the working
    meal, the meeting room, vehicles, accompanying staff, materials."""

    title: str
    owner: Assignee
    at: datetime | None = None
    place: str = ""
    due: date | None = None


def _items(values: Iterable[ExecutionItem]) -> tuple[ExecutionItem, ...]:
    return tuple(values)


@attrs.frozen
class Assign(TaskCommand):
    """分派: hand items of the approved plan out as execution tasks."""

    operation = Operation.ASSIGN
    items: tuple[ExecutionItem, ...] = attrs.field(converter=_items)


@attrs.frozen
class Complete(TaskCommand):
    """完成 an execution task (its owner)."""

    operation = Operation.COMPLETE


@attrs.frozen
class ReportProblem(TaskCommand):
    """报告问题 on an execution task (its owner): the reason goes to the handler."""

    operation = Operation.PROBLEM


COMMANDS: dict[Operation, type[TaskCommand]] = {
    cls.operation: cls
    for cls in (
        Claim, Transfer, Delegate, Reply, AddSigners, RemoveSigner, TakeBack, SendBack, Against, Jump,
        Terminate, Urge, Copy, MarkRead, Comment, Assign, Complete, ReportProblem,
    )
}  # fmt: skip
"""The command value of each operation."""


@attrs.frozen
class Worked:
    """What an operation did: the reception with its tasks changed, the facts its transition is
    chosen by, and the people to tell (new owners, urged, copied, the handler of a problem)."""

    reception: Reception
    facts: frozenset[str] = frozenset()
    people: tuple[str, ...] = ()
    task: Task | None = None
    """The task the actor acted on (given to ``jiedai_authorize``), if any."""


@attrs.frozen
class Context:
    """What an operation needs besides the reception: who acts, for whom they stand in, when, the
    reason they gave, whether the reception is collecting approvals, and the due day of a new task."""

    actor: Actor
    now: datetime
    reason: str = ""
    stand_ins: Callable[[], frozenset[str]] = frozenset
    """Asks whom the actor stands in for today 代理 (see :attr:`principals`): asked only by an
    operation that looks for the actor's tasks, so a command that needs no task asks no store."""
    collecting: bool = False
    due: Callable[[datetime], date | None] = attrs.field(default=lambda _: None)
    admin: bool = False
    trigger: str = ""
    label: str = ""
    operation: Operation | None = None
    ending: bool = False
    """The command ends the reception (a terminal state): open execution tasks close too."""
    executing: bool = True
    """Execution items 执行任务 may be worked in the state (approved and after); in drafting and
    pending their open tasks are recalled (:data:`RECALLED`)."""
    directory: Callable[[str], Actor | None] | None = None
    """Looks a person up (``jiedai_actor``); None when no plugin keeps a directory."""
    reply_roles: frozenset[Role] = frozenset()
    """The roles that may answer a delegation 委派答复 in this process (its delegate must hold one)."""
    members: Callable[[], Members | None] = attrs.field(default=lambda: None)
    """Everyone who may act (``jiedai_actors``) as :class:`Members`, None when no directory can list
    them: asked when a task is kept to sign or handed to someone while pools remain to sign, so that
    no later pool is left with nobody who may sign it (:func:`_starving`)."""

    @property
    def principals(self) -> frozenset[str]:
        """The approvers the actor stands in for today 代理 (their tasks are the actor's to act on)."""
        return self.stand_ins()

    def shown(self, person: str) -> str:
        """``person`` as a message shows them: 「姓名（id）」 when the directory knows them."""
        return shown(self.directory, person)

    def principal_in(self, assignee: Assignee, barred: Collection[str] = (), *, signing: bool = False) -> str:
        """The principal the actor stands in for who belongs to the pool ``assignee`` (looked up in
        the directory; the first by id), or "" — none, or no directory to know it by. ``barred``:
        people who may not be acted for here (the reception's handlers, who signed the chain).
        ``signing``: the task is an approval task, so only a principal who could sign it counts —
        one holding the approver role; nobody signs on behalf of a colleague who never could."""
        if self.directory is None or assignee.kind is AssigneeKind.PERSON:
            return ""
        for principal in sorted(self.principals - {self.actor.id, *barred}):
            found = self.directory(principal)
            if found is not None and assignee.pools(found) and (not signing or Role.APPROVER in found.roles):
                return principal
        return ""


def shown(directory: Callable[[str], Actor | None] | None, person: str) -> str:
    """``person`` as messages and audit notes show them: 「姓名（id）」 when ``directory`` knows their
    name, else the id."""
    found = directory(person) if directory is not None and person else None
    if found is None or not found.name or found.name == person:
        return person
    return f"{found.name}（{person}）"


# -- signing -----------------------------------------------------------------------------------


def sign(reception: Reception, ctx: Context, *, agree: bool = True, task_ref: str = "") -> Worked:
    """The actor's signature on the current step: agreement, or (票签) a vote against. Facts:
    ``final_step`` when the chain is then passed, else ``more_steps``; a vote against adds
    ``step_failed`` or ``step_open``."""
    reception = normalize(reception, ctx)
    index = reception.current_step
    if index >= len(reception.approval_chain):
        raise _refused(reception, ctx, "审批链已全部通过", "the approval chain is already passed")
    step = reception.approval_chain[index]
    if not agree and step.kind is not StepKind.VOTE:
        raise _refused(
            reception,
            ctx,
            f"「{step.shown}」不是票签环节；不同意请退回或驳回",
            f"step {step.shown!r} is not a vote; return or send back instead",
        )
    task = pick(reception, ctx, task_ref, steps=(index,))
    principal = task.owner if task.owner and task.owner != ctx.actor.id else ""
    _refuse_if(reception, ctx, _signature_problem(reception, ctx, task))
    approval = Approval(
        step=index,
        level=step.level or task.assignee.ref,
        actor_id=ctx.actor.id,
        actor_name=ctx.actor.name,
        at=ctx.now,
        opinion=ctx.reason,
        agree=agree,
        on_behalf_of=principal,
        weight=task.assignee.weight,
        task_id=task.id,
    )
    done = attrs.evolve(
        task,
        state=TaskState.DONE,
        done_by=ctx.actor.id,
        done_at=ctx.now,
        outcome="agree" if agree else "against",
        opinion=ctx.reason,
        on_behalf_of=principal,
        claimed_by=task.claimed_by or (ctx.actor.id if not task.owner else ""),
    )
    tasks = tuple(done if t.id == done.id else t for t in reception.tasks)
    after = normalize(attrs.evolve(reception, approvals=(*reception.approvals, approval), tasks=tasks), ctx)
    facts = {FACT_FINAL_STEP if after.current_step >= len(after.approval_chain) else FACT_MORE_STEPS}
    if not agree:
        verdict = _verdict(after, index)
        facts.add(FACT_STEP_FAILED if verdict == "failed" else FACT_STEP_OPEN)
    return Worked(after, frozenset(facts), _new_owners(reception, after), task)


_Refusal = tuple["Callable[[Reception, Context, str, str], Exception]", str, str]
"""A problem with the error to raise for it (a refusal, or a denial), in Chinese and English."""


def _refuse_if(reception: Reception, ctx: Context, problem: _Refusal | None) -> None:
    """Raise ``problem``'s error, if there is one."""
    if problem is not None:
        refusal, zh, en = problem
        raise refusal(reception, ctx, zh, en)


def _signature_problem(reception: Reception, ctx: Context, task: Task) -> _Refusal | None:
    """Why the actor may not sign ``task`` of the current step now — the error to raise (a refusal,
    or a denial for signing the chain twice), Chinese, English — or None. Besides who may take it
    (:func:`_barred`, :func:`_taking_problem`): one task of a step each, one signature a chain, a
    later step that cannot pass without them, a later pool nobody else may sign
    (:func:`_starving`). :func:`sign` raises it; :func:`holding` offers a signature only where
    there is none."""
    index = task.step
    principal = task.owner if task.owner and task.owner != ctx.actor.id else ""
    if ctx.actor.id in reception.step_holders(index, besides=task.id):
        # a pool task, or a principal's, signed by someone whose own task of the step would then stick
        return (
            _refused,
            f"{ctx.shown(ctx.actor.id)} 已有本环节的任务，请签自己的任务",
            f"{ctx.actor.id} holds a task of this step already; sign that one",
        )
    if _signed_already(reception, ctx, task):
        return (_denied, "同一人不能签署两个审批环节", "one person may not sign two approval steps")
    later = _named_later(reception, index, principal, ctx.actor.id)
    if later is not None:  # 或签, 票签: the others decide this one
        return (
            _refused,
            f"您还要签第 {later + 1} 环节「{reception.approval_chain[later].shown}」，"
            "一人在一条审批链上只签一次，本环节请由其他人办理",
            f"you are to sign step {later + 1} as well (one signature a chain); "
            "let the others decide this one",
        )
    signing = _replace(reception, attrs.evolve(task, claimed_by=task.owner or ctx.actor.id))
    # signed here, they could not sign a later pool nobody else may
    starving = _starving(reception, ctx, signing, {ctx.actor.id, principal} - {""}, by=(ctx.actor.id,))
    return None if starving is None else (_refused, *starving)


def _signed_already(reception: Reception, ctx: Context, task: Task) -> bool:
    """Whether the actor, or whom they sign ``task`` for, signed this chain already."""
    principal = task.owner if task.owner and task.owner != ctx.actor.id else ""
    signers = reception.signers()
    return ctx.actor.id in signers or bool(principal and principal in signers)


def finish_own_task(
    reception: Reception,
    ctx: Context,
    outcome: str,
    task_ref: str = "",
    *,
    against: tuple[str, str] | None = None,
) -> Worked:
    """A reviewer's answer (退回, 不予接待) completes their own open task of the current step (the
    one ``task_ref`` names, when they hold several), so it shows in their 已办. The task is given to
    ``jiedai_authorize`` as a signature's is: a pool's task is for its members. ``against``: for an
    answer that refuses the reception, the trigger a voter votes against with instead (label,
    name) — on a 票签 step the answer is then refused (:func:`_vote_problem`)."""
    reception = normalize(reception, ctx)
    index = reception.current_step
    if index >= len(reception.approval_chain) or not reception.step_tasks(index):
        return Worked(reception)
    task = pick(reception, ctx, task_ref, steps=(index,))
    _may_take(reception, ctx, task)
    problem = _vote_problem(reception, ctx, against, task)
    if problem is not None:
        raise _refused(reception, ctx, *problem)
    done = attrs.evolve(
        task,
        state=TaskState.DONE,
        done_by=ctx.actor.id,
        done_at=ctx.now,
        outcome=outcome,
        opinion=ctx.reason,
        claimed_by=task.claimed_by or (ctx.actor.id if not task.owner else ""),
        on_behalf_of=_for_whom(ctx, task),
    )
    return Worked(_replace(reception, done), task=task)


def _vote_problem(
    reception: Reception, ctx: Context, against: tuple[str, str] | None, task: Task | None = None
) -> tuple[str, str] | None:
    """Why one voter may not refuse the reception 不予接待 on the current step (Chinese, English), or
    None: a 票签 is decided by its weights, refused once the votes against (``against``: the
    trigger's label and name) leave it unable to pass — one voter's answer would bypass the vote.
    A voter who could not vote on ``task`` either is pointed to handing it on instead."""
    step = reception.next_step
    if against is None or step is None or step.kind is not StepKind.VOTE:
        return None
    label, name = against
    answer = ctx.label or "不予接待"
    trigger = f" ({ctx.trigger})" if ctx.trigger else ""
    cannot = _signature_problem(reception, ctx, task) if task is not None else None
    if cannot is not None:  # no vote of theirs counts here: 转办 hands the task to one whose does
        _refusal, zh, en = cannot
        return (
            f"「{step.shown}」是票签环节，一人不能决定{answer}；您也不能在这里投票（{zh}），请转办给别人",
            f"step {step.shown!r} is a weighted vote: one voter cannot refuse the reception alone{trigger}, "
            f"and you cannot vote here either ({en}): transfer the task",
        )
    return (
        f"「{step.shown}」是票签环节，一人不能决定{answer}；不同意请用「{label}」（{name}），"
        f"反对的权重使本环节已不可能通过时即{answer}",
        f"step {step.shown!r} is a weighted vote: one voter cannot refuse the reception alone"
        f"{trigger}; vote against ({name}) instead, and it is refused once the vote can no longer pass",
    )


def _for_whom(ctx: Context, task: Task) -> str:
    """The principal the actor acts for on ``task`` as their stand-in 代理 (its holder), or ""."""
    owner = task.owner
    return owner if owner and owner != ctx.actor.id and owner in ctx.principals else ""


# -- the operations ----------------------------------------------------------------------------


def apply(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    """Do ``command`` on ``reception`` (pure); :class:`TaskError` or :class:`NotAuthorizedError`
    when it cannot be done as asked."""
    reception = normalize(reception, ctx)
    handler = _HANDLERS[command.operation]
    worked = handler(reception, command, ctx)
    if not ctx.collecting:
        # outside approval normalize only closes, and the engine normalizes again in the state
        # the command leads to: closing here would undo what an operation reopens for that state
        # (taking back the vote that approved the reception, say)
        return worked
    return attrs.evolve(worked, reception=normalize(worked.reception, ctx))


def _claim(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    task = _task(reception, ctx, command.task, pool_only=True)
    _not_delegate(reception, ctx, task)  # the handler claims no approval task of their reception
    stored = next(t for t in reception.tasks if t.id == task.id)
    if stored.claimed_by:
        if stored.claimed_by not in {ctx.actor.id, *ctx.principals} and not _lost(reception, ctx, stored):
            raise _denied(  # outside the pool, or unable to sign it: not a lost race
                reception,
                ctx,
                f"不是「{stored.assignee.shown}」的成员，不能认领这项任务",
                f"not a member of pool {stored.assignee.ref!r}, so not this task's to claim",
            )
        raise _refused(reception, ctx, *_claimed_already(ctx, stored))
    if stored.owner:  # named by its id: a person's own task
        raise _refused(
            reception,
            ctx,
            f"任务由 {ctx.shown(stored.owner)} 办理，不是待认领的池任务",
            f"the task is {stored.owner}'s, not a pool task to claim",
        )
    _in_pool(reception, ctx, task)
    problem = _keeping(reception, ctx, task)  # for oneself, or for a principal one stands in for 代理
    if problem is not None:
        raise _refused(reception, ctx, *problem)
    if task.owner:  # claimed for the principal
        return Worked(_replace(reception, task))
    return Worked(_replace(reception, attrs.evolve(task, claimed_by=ctx.actor.id)))


def _transfer(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    assert isinstance(command, Transfer)
    task = _owned(reception, ctx, command.task)
    _check_target(reception, ctx, command.to, task)
    closed = attrs.evolve(
        task,
        state=TaskState.CLOSED,
        outcome="transferred",
        done_by=ctx.actor.id,
        done_at=ctx.now,
        opinion=ctx.reason,
        on_behalf_of=_for_whom(ctx, task),
    )
    moved = attrs.evolve(
        task,
        id=new_id(),
        assignee=_person(ctx, command.to, task.assignee.weight),
        claimed_by="",
        delegated_to="",
        delegated_by="",
        transferred_from=ctx.actor.id,
        created_at=ctx.now,
        read_at=None,
        urged_at=None,
        notes=(),
        added_by=task.added_by,
    )
    after = _insert(_replace(reception, closed), moved, after=closed.id)
    return Worked(after, people=(command.to,))


def _delegate(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    assert isinstance(command, Delegate)
    task = _owned(reception, ctx, command.task)
    if task.delegated_to:
        raise _refused(
            reception, ctx, f"已委派给 {ctx.shown(task.delegated_to)}", f"delegated to {task.delegated_to}"
        )
    _refuse_if(reception, ctx, _signing_after_problem(reception, ctx, task, Operation.DELEGATE))
    _check_target(reception, ctx, command.to, task)
    delegated = attrs.evolve(task, delegated_to=command.to, delegated_by=ctx.actor.id)
    return Worked(_replace(reception, delegated), people=(command.to,))


def _reply(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    task = _task(reception, ctx, command.task, where=lambda t: t.delegated_to == ctx.actor.id)
    if not ctx.reason.strip():
        raise ReasonRequiredError(ctx.trigger, ctx.label)
    note = f"{ctx.actor.name}（{ctx.actor.id}）委派意见：{ctx.reason.strip()}"
    back = attrs.evolve(task, delegated_to="", notes=(*task.notes, note))
    record = Task(
        id=new_id(),
        kind=TaskKind.APPROVAL,
        step=task.step,
        assignee=Assignee.person(ctx.actor.id, name=ctx.actor.name),
        created_at=ctx.now,
        state=TaskState.CLOSED,
        order=task.order,
        done_by=ctx.actor.id,
        done_at=ctx.now,
        outcome="delegate_replied",
        opinion=ctx.reason.strip(),
        delegated_by=task.delegated_by,
        current=False,
        submission=task.submission,
    )
    after = _insert(_replace(reception, back), record, after=task.id)
    return Worked(after, people=(task.delegated_by,) if task.delegated_by else (), task=task)


def _add_signers(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    assert isinstance(command, AddSigners)
    if not command.people:
        raise _refused(reception, ctx, "未给出加签人", "no approvers to add", path="$.people")
    task = _owned(reception, ctx, command.task, kind=TaskKind.APPROVAL)
    step = reception.approval_chain[task.step]
    position = default_position(step.kind) if command.position is None else command.position
    if position not in positions(step.kind):
        raise _refused(
            reception,
            ctx,
            f"「{step.kind.label}」环节只能并加签",
            f"a {step.kind} step only takes approvers alongside",
        )
    if len(set(command.people)) != len(command.people):
        raise _refused(reception, ctx, "加签人重复", "an approver is listed twice")
    _refuse_if(reception, ctx, _signing_after_problem(reception, ctx, task, Operation.ADD_SIGNERS))
    for person in command.people:
        _check_target(reception, ctx, person, task)
    before = reception
    reception = _replace(reception, task)  # a pool task is the adder's from now on (claimed)
    offset = {Position.BEFORE: -1, Position.AFTER: 1, Position.ALONGSIDE: 0}[position]
    # before or after the adder: in the adder's lane (a parallel countersign's other signers do not
    # wait); alongside a parallel signer: lanes of their own
    step_tasks = reception.step_tasks(task.step)
    lanes = [task.lane] * len(command.people)
    if step.kind is StepKind.PARALLEL and position is Position.ALONGSIDE:
        top = max((t.lane for t in step_tasks), default=0)
        lanes = [top + 1 + i for i in range(len(command.people))]
    keyed = {t.id: t.order * 4 for t in step_tasks}
    added = [
        Task(
            id=new_id(),
            kind=TaskKind.APPROVAL,
            step=task.step,
            assignee=_person(ctx, person),
            created_at=ctx.now,
            state=TaskState.WAITING,
            lane=lane,
            due=ctx.due(ctx.now),
            added_by=ctx.actor.id,
            submission=reception.submission,
        )
        for person, lane in zip(command.people, lanes, strict=True)
    ]
    for new in added:
        keyed[new.id] = task.order * 4 + offset * 2
    ranks = {key: rank for rank, key in enumerate(sorted(set(keyed.values())))}
    tasks = [attrs.evolve(t, order=ranks[keyed[t.id]]) if t.id in keyed else t for t in reception.tasks]
    tasks += [attrs.evolve(t, order=ranks[keyed[t.id]]) for t in added]
    after = attrs.evolve(reception, tasks=tuple(tasks))
    # the adder signs it after them (a pool's task is theirs now, a principal's is signed for both):
    # counted with those added, all at once; their own task of a step that needs everyone counts already
    adder = {ctx.actor.id, task.owner} - {""} if _held_by(before, task.id) != ctx.actor.id else set()
    starving = _starving(before, ctx, after, {*command.people, *adder}, by=command.people)
    if starving is not None:
        raise _refused(before, ctx, *starving)
    return Worked(after, people=_new_owners(before, normalize(after, ctx)))


_SIGNED_AFTER = {
    Operation.ADD_SIGNERS: ("加签", "adding signers"),
    Operation.DELEGATE: ("委派", "the delegation"),
}
"""The operations after which the actor still signs the task: how their refusal names them."""


def _signing_after_problem(
    reception: Reception, ctx: Context, task: Task, operation: Operation
) -> _Refusal | None:
    """Why the actor could not sign ``task`` (as :func:`_owned` finds it: a pool's claimed, a
    principal's as it is) after ``operation`` on it, or None. Whoever adds signers 加签 or
    delegates 委派 keeps the task to sign after those added, or after the reply; so what would
    refuse their signature (:func:`_signature_problem`) refuses the operation now — a stand-in 代理
    named on a later step, or needed for a later pool, would hold a task they could never sign.
    Only an approval task is signed, and only a step that needs every signer holds its signers to
    it: a 或签 or 票签 is decided by the others, whom adding or asking may well bring."""
    if task.kind is not TaskKind.APPROVAL:
        return None
    if reception.approval_chain[task.step].kind in (StepKind.ANY, StepKind.VOTE):
        return None
    problem = _signature_problem(reception, ctx, task)
    if problem is None:
        return None
    refusal, zh, en = problem
    return (
        refusal,
        f"{_SIGNED_AFTER[operation][0]}后这项任务仍要由您签署，而您签不了：{zh}",
        f"after {_SIGNED_AFTER[operation][1]} you still sign this task, and you could not: {en}",
    )


def _remove_signer(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    if not command.task:
        raise _refused(reception, ctx, "须指明要减签的任务", "name the added approver's task")
    found = [t for t in reception.tasks if t.id.startswith(command.task) and t.kind is TaskKind.APPROVAL]
    if len(found) != 1:
        raise _refused(
            reception, ctx, f"没有唯一对应「{command.task}」的任务", f"no unique task {command.task!r}"
        )
    task = found[0]
    if not task.added_by:
        raise _refused(reception, ctx, "只能减去加签的审批人", "only an added approver can be removed")
    if task.added_by != ctx.actor.id and not ctx.admin:
        raise _denied(
            reception,
            ctx,
            f"只有加签人 {ctx.shown(task.added_by)} 可以减签",
            f"only {task.added_by}, who added them",
        )
    if not task.live:
        raise _refused(
            reception,
            ctx,
            f"{task.assignee.shown} 已经办理，不能减签",
            f"{task.assignee.ref} has already acted",
        )
    removed = attrs.evolve(
        task, state=TaskState.CLOSED, outcome="removed", done_by=ctx.actor.id, done_at=ctx.now
    )
    after = _replace(reception, removed)
    index = task.step
    if 0 <= index < len(after.approval_chain):
        step = after.approval_chain[index]
        if _verdict(after, index) == "failed":
            # a vote the removal leaves short: the step is decided by a return, not by a removal
            raise _refused(
                reception,
                ctx,
                f"减去 {task.assignee.shown} 后「{step.shown}」的票数不能通过，请退回或驳回",
                f"without {task.assignee.ref} the vote of this step cannot pass; return or send back",
            )
    final = after.current_step >= len(after.approval_chain)
    # a 补办 chain stays in its state when done: the handler, waiting for it, is told by name
    told = (after.handler.id,) if final and after.retroactive else ()
    return Worked(after, frozenset({FACT_FINAL_STEP if final else FACT_MORE_STEPS}), told)


def approver_acted(reception: Reception) -> bool:
    """Whether an approver has acted on the current submission — then its submitter may no longer
    withdraw it 撤回 (:data:`~jiedai_flow.process.lifecycle.FACT_NO_APPROVALS` does not hold).

    Acting is a signature on record, or a task of the submission that someone finished (signed,
    sent back, transferred, answered a delegation, removed an added signer), claimed, delegated or
    added. The engine's own closing of tasks leaves no ``done_by``; urging, reading and commenting
    leave no mark on a task."""
    if reception.approvals:
        return True
    number = reception.submission
    for t in reception.tasks:
        # why the number and not ``current``: a send back 驳回到环节 or a take back 拿回 makes this
        # submission's tasks history too; a reception stored before submissions were counted (0)
        # can tell only its current tasks
        ours = t.submission == number if number else t.current
        if (
            ours
            and t.kind is TaskKind.APPROVAL
            and (t.done_by or t.claimed_by or t.delegated_by or t.added_by)
        ):
            return True
    return False


def _last_signature(reception: Reception, ctx: Context) -> Approval | None:
    """The actor's last signature on the current submission, if they gave one."""
    return next((a for a in reversed(reception.approvals) if a.actor_id == ctx.actor.id), None)


def _acted_since(reception: Reception, signed: Approval) -> bool:
    """Whether someone after ``signed`` has acted (then it cannot be taken back): on a later step,
    or later in the same step's sequence (会签 in order: the next signer's task opened because of
    this signature) — signed, handed on, claimed, delegated (or answered a delegation), or added
    signers (signers added by whoever held the task before, are not the next assignee acting)."""
    mine = next((t for t in reception.tasks if t.id == signed.task_id), None)
    order = mine.order if mine is not None else -1

    def after(t: Task) -> bool:
        return t.step > signed.step or (
            t.step == signed.step and mine is not None and t.lane == mine.lane and t.order > order
        )

    later = [t for t in reception.tasks if t.kind is TaskKind.APPROVAL and after(t)]
    now = [t for t in later if t.current]  # this round's: an earlier round's acts are history
    holders = {t.owner for t in now if t.owner} - {signed.actor_id}
    delegators = {(t.step, t.delegated_by) for t in now if t.delegated_by}
    return (
        any(a.step > signed.step for a in reception.approvals)
        or any(
            (t.done_by and t.outcome != "removed")  # 减签 is the adder's doing
            or (t.live and bool(t.claimed_by or t.delegated_to or t.delegated_by))
            or t.added_by in holders  # added by the next assignee, not before them
            for t in now
        )
        or any(  # a reply record is never current: it is this round's while its delegator's task is
            t.outcome == "delegate_replied" and (t.step, t.delegated_by) in delegators for t in later
        )
    )


def _take_back(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    signed = _last_signature(reception, ctx)
    if signed is None:
        raise _denied(reception, ctx, "本次提交中没有您的签署可拿回", "nothing you signed to take back")
    if _acted_since(reception, signed):
        raise _refused(
            reception,
            ctx,
            "下一环节或下一位办理人已经办理，不能拿回",
            "the next step or the next approver has already acted",
        )
    task = next((t for t in reception.tasks if t.id == signed.task_id), None)
    approvals = tuple(a for a in reception.approvals if a is not signed)
    tasks = []
    for t in reception.tasks:
        after_mine = t.current and t.kind is TaskKind.APPROVAL and t.step > signed.step and t.live
        if after_mine or (task is not None and t.id == task.id):
            t = attrs.evolve(t, state=TaskState.CLOSED, outcome="taken_back", current=False)
        elif _decided_at(t, signed.step):  # the step is open again: so are the votes its passing closed
            t = attrs.evolve(t, state=TaskState.WAITING, outcome="")
        tasks.append(t)
    if task is not None:
        again = attrs.evolve(
            task,
            id=new_id(),
            state=TaskState.OPEN,
            created_at=ctx.now,
            done_by="",
            done_at=None,
            outcome="",
            opinion="",
            on_behalf_of="",
            read_at=None,
            urged_at=None,
            current=True,
        )
        tasks.append(again)
    return Worked(attrs.evolve(reception, approvals=approvals, tasks=tuple(tasks)))


def _decided_at(task: Task, step: int) -> bool:
    """A task of ``step`` closed because the step passed without it (或签, 票签)."""
    return (
        task.current
        and task.kind is TaskKind.APPROVAL
        and task.step == step
        and task.state is TaskState.CLOSED
        and task.outcome == "decided"
    )


def _send_back(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    assert isinstance(command, SendBack)
    current = reception.current_step
    if not 0 <= command.step < current:
        # people count steps from 1 (第 1 环节); the API's step is the index, from 0
        passed = "、".join(
            f"第 {i + 1} 环节「{step.label or step.level}」"
            for i, step in enumerate(reception.approval_chain[:current])
        )
        raise _refused(
            reception,
            ctx,
            f"只能驳回到已通过的环节（{passed}），收到第 {command.step + 1} 环节"
            if passed
            else "还没有已通过的环节，不能驳回到环节（可以退回经办人）",
            f"only a step already passed (index 0-{current - 1}), got index {command.step}"
            if passed
            else "no step has passed yet (return it to the handler instead)",
        )
    if not ctx.reason.strip():
        raise ReasonRequiredError(ctx.trigger, ctx.label)
    own = pick(reception, ctx, command.task, steps=(current,))
    _may_take(reception, ctx, own)
    # the task goes to jiedai_authorize: only a member of a pool may send its step back
    return Worked(_back_to(reception, ctx, command.step, own, "returned"), task=own)


def _back_to(reception: Reception, ctx: Context, index: int, own: Task | None, outcome: str) -> Reception:
    """Steps ``index`` and later are approved again: their signatures go, their tasks become
    history; ``own`` (the returning approver's task) is done with ``outcome``."""
    tasks = []
    for t in reception.tasks:
        if own is not None and t.id == own.id:
            t = attrs.evolve(
                t,
                state=TaskState.DONE,
                outcome=outcome,
                done_by=ctx.actor.id,
                done_at=ctx.now,
                opinion=ctx.reason,
                current=False,
                on_behalf_of=_for_whom(ctx, t),
            )
        elif t.kind is TaskKind.APPROVAL and t.current and t.step >= index:
            t = attrs.evolve(
                t, state=TaskState.CLOSED if t.live else t.state, outcome=t.outcome or outcome, current=False
            )
        tasks.append(t)
    approvals = tuple(a for a in reception.approvals if a.step < index)
    return attrs.evolve(reception, approvals=approvals, tasks=tuple(tasks))


def _against(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    return sign(reception, ctx, agree=False, task_ref=command.task)


def _jump(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    assert isinstance(command, Jump)
    if not ctx.reason.strip():
        raise ReasonRequiredError(ctx.trigger, ctx.label)
    if not command.state and command.step is None:
        raise _refused(
            reception, ctx, "须指明跳转到的状态或审批环节", "name the state or the approval step to jump to"
        )
    facts = {JUMP_FACT_PREFIX + (command.state or reception.state)}
    if command.step is not None:
        current = min(reception.current_step, len(reception.approval_chain) - 1)
        if not 0 <= command.step <= current:
            reached = "、".join(
                f"第 {i + 1} 环节「{step.label or step.level}」"
                for i, step in enumerate(reception.approval_chain[: current + 1])
            )
            raise _refused(
                reception,
                ctx,
                f"只能跳转到已到达的审批环节（{reached}），收到第 {command.step + 1} 环节"
                if reached
                else "没有审批环节可以跳转",
                f"an approval step already reached (index 0-{current}), got index {command.step}"
                if reached
                else "no approval step to jump to",
            )
        reception = _back_to(reception, ctx, command.step, None, "jumped")
    return Worked(reception, frozenset(facts))


def _terminate(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    if not ctx.reason.strip():
        raise ReasonRequiredError(ctx.trigger, ctx.label)
    return Worked(reception)


def _urge(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    """催办 the open task ``command.task`` names — whoever holds it: urging is reminding someone
    else — or, naming none, every open task not urged within ``URGE_INTERVAL``; refused (rate
    limited) when every one it would urge was."""
    open_ = list(reception.open_tasks())
    if command.task:
        open_ = [t for t in open_ if t.id.startswith(command.task)]
        if len(open_) != 1:
            raise _refused(
                reception,
                ctx,
                f"没有{'唯一' if open_ else ''}对应「{command.task}」的待办任务",
                f"no {'unique ' if open_ else ''}open task matches {command.task!r}",
            )
    if not open_:
        raise _refused(reception, ctx, "没有待办任务可催办", "no open task to urge")
    chosen = [t for t in open_ if t.urged_at is None or ctx.now - t.urged_at >= URGE_INTERVAL]
    if not chosen:
        task = min(open_, key=lambda t: t.urged_at or ctx.now)
        assert task.urged_at is not None
        minutes = int((URGE_INTERVAL - (ctx.now - task.urged_at)).total_seconds() // 60) + 1
        urged = ctx.shown(task.owner) if task.owner else task.assignee.shown
        raise RateLimitedError(
            reception.id,
            ctx.label or "催办",
            f"{urged} 刚被催办过，请 {minutes} 分钟后再催",
            f"{task.owner or task.assignee.ref} was urged recently; try again in {minutes} min",
            number=reception.number,
            operation_en=ctx.trigger,
        )
    after = reception
    for task in chosen:
        after = _replace(after, attrs.evolve(task, urged_at=ctx.now))
    people = tuple(dict.fromkeys(t.owner for t in chosen if t.owner))
    return Worked(after, people=people)


def _copy(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    assert isinstance(command, Copy)
    if not any(p.strip() for p in command.people):  # an empty list, or the web form with nobody ticked
        raise _refused(reception, ctx, "未给出抄送人", "nobody named to copy to", path="$.people")
    for i, person in enumerate(command.people):
        where = f"$.people[{i}]"
        if not person.strip():
            raise _refused(
                reception, ctx, f"第 {i + 1} 位抄送人为空", f"person {i + 1} to copy to is blank", path=where
            )
        _storable_id(reception, ctx, person, path=where)
        problem = None if ctx.directory is None else target_problem(ctx.directory, person)
        if problem is not None:
            raise _refused(reception, ctx, *problem, path=where)
    already = {c.actor_id for c in reception.copies}
    named = list(dict.fromkeys(command.people))
    new = [p for p in named if p not in already]
    if not new:
        raise _refused(
            reception,
            ctx,
            f"{'、'.join(map(ctx.shown, named))} 已经抄送过",
            f"{', '.join(named)} was copied already",
            path="$.people",
        )
    copies = (*reception.copies, *(CarbonCopy(p, ctx.actor.id, ctx.now) for p in new))
    return Worked(attrs.evolve(reception, copies=copies), people=tuple(new))


def _readers(ctx: Context) -> set[str]:
    """Whose tasks the actor marks read: their own and their principals'; the read-only supervisor
    only ever their own (standing in gives 纪检 nothing to do on another's task)."""
    if Role.SUPERVISOR in ctx.actor.roles:
        return {ctx.actor.id}
    return {ctx.actor.id, *ctx.principals}


def _read(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    if ctx.reason.strip():  # a receipt says nothing; the supervisor, who may only read, writes nothing
        raise _refused(
            reception,
            ctx,
            "已阅不附意见；要说明什么请用「沟通」",
            "a read receipt carries no text; use a comment to say something",
        )
    me = _readers(ctx)
    after = reception
    mine = [
        t
        for t in reception.tasks
        if t.live
        and t.read_at is None
        and (t.owner in me or (command.task and t.id.startswith(command.task)))
    ]
    for task in mine:
        if task.owner in me:
            after = _replace(after, attrs.evolve(task, read_at=ctx.now))
    copies = tuple(
        attrs.evolve(c, read_at=ctx.now) if c.actor_id == ctx.actor.id and c.read_at is None else c
        for c in after.copies
    )
    if after is reception and copies == reception.copies:
        raise _refused(reception, ctx, "没有您未读的待办或抄送", "nothing unread for you here")
    return Worked(attrs.evolve(after, copies=copies))


def _comment(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    if not ctx.reason.strip():
        raise ReasonRequiredError(ctx.trigger, ctx.label)
    return Worked(reception)


def _assign(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    assert isinstance(command, Assign)
    if not command.items:
        raise _refused(reception, ctx, "没有要分派的事项", "no items to assign")
    new = []
    for i, item in enumerate(command.items):
        if not item.title.strip():
            raise _refused(reception, ctx, "事项名称不能为空", "an item needs a title")
        try:
            check_text(item.title, field="title", max_length=MAX_HOST_UNIT)
            check_text(item.owner.ref, field="owner", max_length=MAX_HOST_UNIT)
            check_text(item.place, field="place")
        except InvalidValueError as error:
            raise _refused(reception, ctx, error.message_zh, error.message_en) from None
        # as transfer and cc check theirs: a task for someone unknown is one nobody can complete
        directory = ctx.directory if item.owner.kind is AssigneeKind.PERSON else None
        problem = None if directory is None else target_problem(directory, item.owner.ref)
        if problem is not None:
            raise _refused(reception, ctx, *problem, path=f"$.items[{i}].owner")
        new.append(
            Task(
                id=new_id(),
                kind=TaskKind.EXECUTION,
                step=-1,
                assignee=item.owner,
                created_at=ctx.now,
                due=item.due or (item.at.date() if item.at is not None else None),
                title=item.title.strip(),
                place=item.place,
                at=item.at,
                added_by=ctx.actor.id,
                submission=reception.submission,
            )
        )
    after = attrs.evolve(reception, tasks=(*reception.tasks, *new))
    return Worked(after, people=tuple(dict.fromkeys(t.owner for t in new if t.owner)))


def _complete(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    task = _owned(reception, ctx, command.task, kind=TaskKind.EXECUTION)
    done = attrs.evolve(
        task,
        state=TaskState.DONE,
        outcome="done",
        done_by=ctx.actor.id,
        done_at=ctx.now,
        opinion=ctx.reason,
        claimed_by=task.claimed_by or (ctx.actor.id if not task.owner else ""),
    )
    return Worked(_replace(reception, done), task=task)


def _problem(reception: Reception, command: TaskCommand, ctx: Context) -> Worked:
    if not ctx.reason.strip():
        raise _refused(reception, ctx, "请写明问题", "describe the problem as the reason")
    task = _owned(reception, ctx, command.task, kind=TaskKind.EXECUTION)
    note = f"{ctx.actor.name}（{ctx.actor.id}）报告问题：{ctx.reason.strip()}"
    reported = attrs.evolve(task, outcome="problem", notes=(*task.notes, note))
    return Worked(_replace(reception, reported), people=(reception.handler.id,), task=task)


_HANDLERS: dict[Operation, Callable[[Reception, TaskCommand, Context], Worked]] = {
    Operation.CLAIM: _claim,
    Operation.TRANSFER: _transfer,
    Operation.DELEGATE: _delegate,
    Operation.REPLY: _reply,
    Operation.ADD_SIGNERS: _add_signers,
    Operation.REMOVE_SIGNER: _remove_signer,
    Operation.TAKE_BACK: _take_back,
    Operation.SEND_BACK: _send_back,
    Operation.AGAINST: _against,
    Operation.JUMP: _jump,
    Operation.TERMINATE: _terminate,
    Operation.URGE: _urge,
    Operation.COPY: _copy,
    Operation.READ: _read,
    Operation.COMMENT: _comment,
    Operation.ASSIGN: _assign,
    Operation.COMPLETE: _complete,
    Operation.PROBLEM: _problem,
}


# -- what the actor can use now ------------------------------------------------------------------


@attrs.frozen
class Offer:
    """An operation the actor has something to act on with now. ``task``: the task the operation
    would hand ``jiedai_authorize`` (a vote against, a send-back, an execution item, a delegated
    task to answer), else None."""

    task: Task | None = None


def offer(reception: Reception, operation: Operation, ctx: Context) -> Offer | None:
    """Whether ``operation`` has something for the actor to act on now — their task or their
    pool's, a task delegated to them, a signer they added, a signature to take back, something
    unread — or None when it would fail for want of one. What the actor has yet to choose (to
    whom, which step, the reason) is not judged, nor are role and state: those are the engine's."""
    ctx = attrs.evolve(ctx, operation=operation)
    return _OFFERS[operation](normalize(reception, ctx), ctx)


def _always(reception: Reception, ctx: Context) -> Offer | None:
    return Offer()


def _held(reception: Reception, ctx: Context, kind: TaskKind | None = None) -> list[Task]:
    """The open tasks the actor may hand on or complete, each as :func:`_owned` finds it when it is
    named: their own, a pool's they are in, a principal's — every one, not only the first a command
    naming none would take (an approval task they may not take must not hide an execution task)."""
    open_ = [
        t
        for t in reception.tasks
        if t.state is TaskState.OPEN
        and (kind is None or t.kind is kind)
        and (t.kind is not TaskKind.APPROVAL or t.current)
    ]
    each = partial(_open_for, ctx, pool_only=False, allow_pool=True, reception=reception)
    found = [x for t in open_ for x in each([t])]
    return [
        t
        for t in found
        if (t.owner or t.assignee.pools(ctx.actor))
        and _takes(reception, ctx, t)
        and _barred(reception, ctx, t) is None
    ]


def _takes(reception: Reception, ctx: Context, task: Task) -> bool:
    """Whether the actor may act on ``task`` as far as :func:`_may_take` is concerned."""
    return _taking_problem(reception, ctx, task) is None


def holding(
    reception: Reception, ctx: Context, *, to_sign: bool = False, against: tuple[str, str] | None = None
) -> tuple[bool, Task | None]:
    """Whether the actor holds the current step — a review would find their task (as :func:`pick`
    picks it, a principal's pool task claimed for the principal), and with ``to_sign`` a signature
    could be made on it (:func:`_signature_problem`) — or there is no step with tasks to hold; and
    that task. An answer refusing the reception (``against``, as :func:`finish_own_task` takes
    it) is nobody's on a 票签 step."""
    if not ctx.collecting:
        return True, None
    reception = normalize(reception, ctx)
    index = reception.current_step
    if index >= len(reception.approval_chain) or not reception.step_tasks(index):
        return True, None
    if _vote_problem(reception, ctx, against) is not None:
        return False, None
    task = _signing(reception, ctx, to_sign=to_sign)
    return task is not None, task


def _signing(reception: Reception, ctx: Context, *, to_sign: bool = False) -> Task | None:
    """The task of the current step the actor would answer on (as :func:`pick` finds it), or with
    ``to_sign`` the first one they could sign."""
    index = reception.current_step
    open_ = [
        t
        for t in reception.tasks
        if t.state is TaskState.OPEN and t.kind is TaskKind.APPROVAL and t.step == index and t.current
    ]
    found = _open_for(ctx, open_, pool_only=False, allow_pool=True, reception=reception)
    return next(
        (
            t
            for t in found
            if _barred(reception, ctx, t) is None
            and _takes(reception, ctx, t)
            and not (to_sign and _signature_problem(reception, ctx, t))
        ),
        None,
    )


def _offered(found: object) -> Offer | None:
    return Offer() if found else None


def _claimable(reception: Reception, ctx: Context) -> list[Task]:
    """The unclaimed pool tasks the actor may claim: their pools', or a principal's (claimed for
    the principal), none that :func:`_barred` keeps from them."""
    open_ = [t for t in reception.tasks if t.state is TaskState.OPEN]
    found = _open_for(ctx, open_, pool_only=True, allow_pool=False, reception=reception)
    return [t for t in found if _barred(reception, ctx, t) is None and _keeping(reception, ctx, t) is None]


def _removable(reception: Reception, ctx: Context) -> list[Task]:
    """The added signers 加签 the actor may remove 减签: those they added (an administrator: any)."""
    return [
        t
        for t in reception.tasks
        if t.kind is TaskKind.APPROVAL and t.live and t.added_by and (t.added_by == ctx.actor.id or ctx.admin)
    ]


def _offer_claim(reception: Reception, ctx: Context) -> Offer | None:
    return _offered(_claimable(reception, ctx))


def _offer_delegate(reception: Reception, ctx: Context) -> Offer | None:
    """Their task not delegated yet, which comes back to them after the reply — an approval task
    one they could then sign (:func:`_signing_after_problem`)."""
    held = [t for t in _held(reception, ctx) if not t.delegated_to]
    return _offered(
        [t for t in held if _signing_after_problem(reception, ctx, t, Operation.DELEGATE) is None]
    )


def _offer_add_signers(reception: Reception, ctx: Context) -> Offer | None:
    """Their approval task, which they keep to sign after those they add (a pool's: claimed) —
    one they could sign (:func:`_signing_after_problem`)."""
    held = _held(reception, ctx, TaskKind.APPROVAL)
    return _offered(
        [t for t in held if _signing_after_problem(reception, ctx, t, Operation.ADD_SIGNERS) is None]
    )


def _offer_reply(reception: Reception, ctx: Context) -> Offer | None:
    delegated = [t for t in reception.open_tasks() if t.delegated_to == ctx.actor.id]
    return Offer(delegated[0]) if delegated else None


def _offer_remove_signer(reception: Reception, ctx: Context) -> Offer | None:
    """An added signer the actor may remove now — one whose removal is not refused (a vote it would
    leave unable to pass, say)."""
    return _offered(any(_removes(reception, ctx, t) for t in _removable(reception, ctx)))


def _removes(reception: Reception, ctx: Context, task: Task) -> bool:
    try:
        _remove_signer(reception, RemoveSigner(task=task.id), ctx)
    except JiedaiFlowError:
        return False
    return True


def _offer_take_back(reception: Reception, ctx: Context) -> Offer | None:
    signed = _last_signature(reception, ctx)
    return _offered(signed is not None and not _acted_since(reception, signed))


def _offer_send_back(reception: Reception, ctx: Context) -> Offer | None:
    task = _signing(reception, ctx) if reception.current_step > 0 else None
    return Offer(task) if task is not None else None


def _offer_against(reception: Reception, ctx: Context) -> Offer | None:
    step = reception.next_step
    task = _signing(reception, ctx, to_sign=True) if step is not None and step.kind is StepKind.VOTE else None
    return Offer(task) if task is not None else None


def _offer_item(reception: Reception, ctx: Context) -> Offer | None:
    """An execution item the actor holds (their own, their department's, a principal's), as
    completing it hands it to ``jiedai_authorize`` — a pool's claimed (:func:`_owned`): its holder
    acts on it whatever their role, so it is judged with the item, not as if they had none."""
    held = _held(reception, ctx, TaskKind.EXECUTION)
    return Offer(_claimed(ctx, held[0])) if held else None


def _offer_read(reception: Reception, ctx: Context) -> Offer | None:
    me = _readers(ctx)
    unread = any(t.live and t.read_at is None and t.owner in me for t in reception.tasks)
    return _offered(unread or any(c.actor_id == ctx.actor.id and c.read_at is None for c in reception.copies))


_OFFERS: dict[Operation, Callable[[Reception, Context], Offer | None]] = {
    Operation.CLAIM: _offer_claim,
    Operation.TRANSFER: lambda r, ctx: _offered(_held(r, ctx)),
    Operation.DELEGATE: _offer_delegate,
    Operation.REPLY: _offer_reply,
    Operation.ADD_SIGNERS: _offer_add_signers,
    Operation.REMOVE_SIGNER: _offer_remove_signer,
    Operation.TAKE_BACK: _offer_take_back,
    Operation.SEND_BACK: _offer_send_back,
    Operation.AGAINST: _offer_against,
    Operation.JUMP: _always,
    Operation.TERMINATE: _always,
    Operation.URGE: lambda r, ctx: _offered(r.open_tasks()),
    Operation.COPY: _always,
    Operation.READ: _offer_read,
    Operation.COMMENT: _always,
    Operation.ASSIGN: _always,
    Operation.COMPLETE: _offer_item,
    Operation.PROBLEM: _offer_item,
}


def choices(reception: Reception, operation: Operation, ctx: Context) -> tuple[Task, ...]:
    """The tasks a form for ``operation`` lets the actor choose among, found as the operation finds
    them: the pool tasks they may claim (their pools', or a principal's 代理), the execution tasks
    they hold (their own or a principal's), the added signers they may remove, or — for the other
    operations — their open tasks when they hold more than one (with one, it is meant). Empty when
    there is nothing to choose."""
    ctx = attrs.evolve(ctx, operation=operation)
    reception = normalize(reception, ctx)
    if operation is Operation.CLAIM:
        return tuple(_claimable(reception, ctx))
    if operation is Operation.REMOVE_SIGNER:
        return tuple(t for t in _removable(reception, ctx) if t.current)
    me = {ctx.actor.id, *ctx.principals}
    if operation in (Operation.COMPLETE, Operation.PROBLEM):  # theirs, and every pool item they may take
        items = [t for t in reception.tasks if t.kind is TaskKind.EXECUTION and t.state is TaskState.OPEN]
        taken = [_taken(reception, ctx, t) for t in items]
        return tuple(
            t
            for t in taken
            if (t.owner in me or (not t.owner and t.assignee.pools(ctx.actor)))
            and _barred(reception, ctx, t) is None
        )
    mine = tuple(t for t in reception.tasks if t.current and t.state is TaskState.OPEN and t.owner in me)
    return mine if len(mine) > 1 else ()


# -- opening, activating and closing -----------------------------------------------------------


def normalize(reception: Reception, ctx: Context) -> Reception:
    """Open the current step's tasks, activate its next signers, close what no longer waits.

    Idempotent; the one place tasks open and close, so no operation leaves a step nobody can act
    on while approvals are being collected."""
    if not reception.tasks and not ctx.collecting:
        return reception
    tasks = list(reception.tasks)
    if not ctx.executing:  # back to approval or to draft: what was handed out waits for approval again
        tasks = [_closed(t, RECALLED) if t.kind is TaskKind.EXECUTION and t.live else t for t in tasks]
    if not ctx.collecting:
        why = ENDED if ctx.ending else "closed"
        tasks = [_closed(t, why) if _approval_live(t) or (ctx.ending and t.live) else t for t in tasks]
        return _with(reception, tasks)
    current = reception.current_step
    tasks = [_closed(t, "decided") if _approval_live(t) and t.step < current else t for t in tasks]
    reception = _with(reception, tasks)
    if current >= len(reception.approval_chain):
        return reception
    step = reception.approval_chain[current]
    if _verdict(reception, current) == "failed":
        return reception
    mine = reception.step_tasks(current)
    if not mine and not reception.step_approvals(current):
        sequential = step.kind is StepKind.SEQUENTIAL
        parallel = step.kind is StepKind.PARALLEL
        new = tuple(
            Task(
                id=new_id(),
                kind=TaskKind.APPROVAL,
                step=current,
                assignee=who,
                created_at=ctx.now,
                state=TaskState.WAITING,
                order=i if sequential else 0,
                lane=i if parallel else 0,
                due=ctx.due(ctx.now),
                submission=reception.submission,
            )
            for i, who in enumerate(step.who)
        )
        reception = attrs.evolve(reception, tasks=(*reception.tasks, *new))
        mine = reception.step_tasks(current)
    live = [t for t in mine if t.live]
    if not live:
        return reception
    first: dict[int, int] = {}  # each lane's lowest order not yet done
    for t in live:
        first[t.lane] = min(first.get(t.lane, t.order), t.order)
    changed = []
    for t in reception.tasks:
        if t in live:
            wanted = TaskState.OPEN if t.order == first[t.lane] else TaskState.WAITING
            if t.state is not wanted:
                due = t.due if wanted is not TaskState.OPEN or t.state is TaskState.OPEN else ctx.due(ctx.now)
                t = attrs.evolve(t, state=wanted, due=due or t.due)
        changed.append(t)
    return _with(reception, changed)


def supersede(reception: Reception, outcome: str) -> Reception:
    """The current submission's approval tasks become history (a resubmission, a change, a return
    to the applicant): open ones close with ``outcome``."""
    tasks = tuple(
        attrs.evolve(
            t,
            state=TaskState.CLOSED if t.live else t.state,
            outcome=t.outcome or (outcome if t.live else ""),
            current=False,
        )
        if t.kind is TaskKind.APPROVAL and t.current
        else t
        for t in reception.tasks
    )
    return attrs.evolve(reception, tasks=tasks) if tasks != reception.tasks else reception


def pick(reception: Reception, ctx: Context, ref: str, *, steps: Iterable[int]) -> Task:
    """The open approval task of ``steps`` the actor acts on: their own (or a principal's, as a
    stand-in), else an unclaimed pool task they belong to."""
    wanted = set(steps)
    return _task(
        reception,
        ctx,
        ref,
        where=lambda t: t.kind is TaskKind.APPROVAL and t.step in wanted and t.current,
        allow_pool=True,
    )


# -- helpers -----------------------------------------------------------------------------------


def _task(
    reception: Reception,
    ctx: Context,
    ref: str,
    *,
    where: Callable[[Task], bool] | None = None,
    pool_only: bool = False,
    allow_pool: bool = False,
) -> Task:
    """The task ``ref`` names (id or unique prefix) among those ``where`` accepts; with no ``ref``,
    the actor's one open task among them."""
    me = {ctx.actor.id, *ctx.principals}
    test = where or (lambda _t: True)
    if ref:
        found = [t for t in reception.tasks if t.id.startswith(ref) and test(t)]
        if len(found) != 1:
            raise _refused(
                reception,
                ctx,
                f"没有{'唯一' if found else ''}对应「{ref}」的任务",
                f"no {'unique ' if found else ''}task matches {ref!r}",
            )
        task = found[0]
        if task.state is not TaskState.OPEN:
            raise _refused(
                reception, ctx, f"任务{task.state.label}，不能再办理", f"the task is {task.state}, not open"
            )
        if pool_only:
            return _taken(reception, ctx, task)
        _not_delegate(reception, ctx, task)
        if task.owner in me:
            return task
        if allow_pool and not task.owner:
            # a pool's membership is decided by jiedai_authorize (the role table by default)
            return _taken(reception, ctx, task)
        if _lost(reception, ctx, task):
            raise _refused(reception, ctx, *_claimed_already(ctx, task))
        raise _denied(reception, ctx, "不是您的待办", "not your task")
    open_ = [t for t in reception.tasks if t.state is TaskState.OPEN and test(t)]
    found = _open_for(ctx, open_, pool_only=pool_only, allow_pool=allow_pool, reception=reception)
    if len(found) == 1:
        _not_delegate(reception, ctx, found[0])
        return found[0]
    if not found and pool_only and not any(not t.owner for t in open_) and any(t.owner in me for t in open_):
        raise _refused(
            reception, ctx, "任务已经是您的，不必认领", "the task is yours already; nothing to claim"
        )
    lost = next((t for t in open_ if _lost(reception, ctx, t)), None) if not found else None
    if lost is not None:  # a colleague was first (or the list was stale): not a lack of rights
        raise _refused(reception, ctx, *_claimed_already(ctx, lost))
    if not found:
        holders = "、".join(dict.fromkeys(ctx.shown(t.owner) if t.owner else t.assignee.shown for t in open_))
        ids = ", ".join(dict.fromkeys(t.owner or t.assignee.ref for t in open_))
        raise _denied(
            reception,
            ctx,
            f"您在本接待没有相应的待办（当前由「{holders}」办理）" if holders else "您在本接待没有相应的待办",
            f"you hold no such open task here (held by {ids})" if holders else "you hold no such task",
        )
    shown = "、".join(t.id[:8] for t in found)
    raise _refused(
        reception, ctx, f"您有多个待办（{shown}），请指明任务", f"several open tasks ({shown}); name one"
    )


def _open_for(
    ctx: Context, open_: Sequence[Task], *, pool_only: bool, allow_pool: bool, reception: Reception
) -> list[Task]:
    """Of ``open_``, the tasks the actor acts on when they name none: their own (or a principal's);
    with ``allow_pool`` and none of those, one pool task (theirs first, then a principal's;
    jiedai_authorize decides the rest); with ``pool_only``, the unclaimed tasks of the pools they
    are in or stand in for. A principal's pool task comes claimed for the principal (see
    :func:`_taken`)."""
    pools = [t for t in open_ if not t.owner]
    if pool_only:
        taken = [_taken(reception, ctx, t) for t in pools]
        return [t for t in taken if t.owner or t.assignee.pools(ctx.actor)]
    me = {ctx.actor.id, *ctx.principals}
    found = [t for t in open_ if t.owner in me]
    if not found and allow_pool and pools:
        found = [t for t in pools if t.assignee.pools(ctx.actor)][:1]
        if not found:
            found = [t for t in map(partial(_taken, reception, ctx), pools) if t.owner][:1] or pools[:1]
    return found


def _lost(reception: Reception, ctx: Context, task: Task) -> bool:
    """Whether ``task`` is a pool task someone else claimed that the actor could have taken — a
    member of the pool (or standing in for one), and for an approval task able to sign it, as
    :func:`_taken` asks: they lost it to a colleague, or acted on a stale 待办 (a refusal, HTTP 422).
    Anyone else is not authorized (403)."""
    if not task.claimed_by or task.claimed_by in {ctx.actor.id, *ctx.principals}:
        return False
    if task.kind is TaskKind.APPROVAL and Role.APPROVER not in ctx.actor.roles:
        return False
    return task.assignee.pools(ctx.actor) or bool(_principal_taking(reception, ctx, task))


def _claimed_already(ctx: Context, task: Task) -> tuple[str, str]:
    """What a refusal says of a pool task claimed already (Chinese, English)."""
    pool = f"「{task.assignee.shown}」的" if task.assignee.shown else ""
    return (
        f"{pool}任务已由 {ctx.shown(task.holder)} 认领",
        f"the {task.assignee.ref + ' ' if task.assignee.ref else ''}pool's task was claimed by "
        f"{task.holder} already",
    )


def _taken(reception: Reception, ctx: Context, task: Task) -> Task:
    """An unclaimed pool task as the actor acts on it: as it is when they are in the pool (or in no
    way); claimed for the principal they stand in for 代理 who is in it, so that it is signed on
    the principal's behalf — as a principal's own task is."""
    if task.owner or task.assignee.pools(ctx.actor):
        return task
    principal = _principal_taking(reception, ctx, task)
    return attrs.evolve(task, claimed_by=principal) if principal else task


def _principal_taking(reception: Reception, ctx: Context, task: Task) -> str:
    """The principal the actor stands in for 代理 through whom they may take pool ``task``: one in
    its pool, never the handler nor one who signed this chain already, and for an approval task one
    who signs (:meth:`Context.principal_in`); "" when there is none."""
    return ctx.principal_in(
        task.assignee, barred=reception.barred(task), signing=task.kind is TaskKind.APPROVAL
    )


def _not_delegate(reception: Reception, ctx: Context, task: Task) -> None:
    barred = _barred(reception, ctx, task)
    if barred is not None:
        raise _denied(reception, ctx, *barred)


def _barred(reception: Reception, ctx: Context, task: Task) -> tuple[str, str] | None:
    """Why the actor may not act on ``task`` whoever holds it: the handler never acts on an
    approval task; a delegate only replies 委派答复. None when neither applies."""
    if task.kind is TaskKind.APPROVAL and ctx.actor.id in reception.handlers():
        return (
            "经办人不能办理本接待的审批任务（不相容职务分离）",
            "the handler may not act on an approval task of their own reception",
        )
    if reception.idle(task):
        return (
            f"这是经办人 {ctx.shown(task.owner)} 本人的审批任务，谁也不能代办（不相容职务分离），"
            "由本环节其他人决定",
            f"this approval task is the handler {task.owner}'s own: nobody acts on it, not even a stand-in"
            " (separation of duties); the others of the step decide",
        )
    if task.delegated_to == ctx.actor.id and ctx.operation is not Operation.REPLY:
        return (
            "委派给您的任务请答复意见，由委派人决定",
            "a delegate replies with an opinion; the delegator decides",
        )
    return None


def _person(ctx: Context, person: str, weight: int = 1) -> Assignee:
    """A task's assignee handed to ``person``, with their name when the directory knows it (the
    timeline and the 接待清单 then show them by name before they act)."""
    found = ctx.directory(person) if ctx.directory is not None else None
    return Assignee.person(person, weight, found.name if found is not None and found.name != person else "")


def _verdict(reception: Reception, index: int) -> str:
    """:func:`step_verdict` of step ``index`` of the current submission."""
    tasks, approvals = reception.step_tasks(index), reception.step_approvals(index)
    return step_verdict(reception.approval_chain[index], tasks, approvals, reception.handlers())


def _named_later(reception: Reception, index: int, *people: str) -> int | None:
    """The later step that cannot pass without one of ``people`` (named on a single, sequential or
    parallel step), or None: a stand-in signing for a principal signs for both."""
    chain = reception.approval_chain
    wanted = set(people) - {""}
    return next(
        (
            i
            for i in range(index + 1, len(chain))
            if chain[i].kind not in (StepKind.ANY, StepKind.VOTE)
            and any(a.kind is AssigneeKind.PERSON and a.ref in wanted for a in chain[i].assignees)
        ),
        None,
    )


def _held_by(reception: Reception, task_id: str) -> str:
    """Who holds task ``task_id`` as stored (before an operation claims it), or ""."""
    return next((t.owner for t in reception.tasks if t.id == task_id), "")


def _engaged(reception: Reception, ctx: Context, person: str, task: Task) -> tuple[str, str] | None:
    """Why ``person`` may not take the pool task ``task`` (Chinese, English), or None: they signed
    this chain already, or hold another task of its step — the task would then stay with someone
    who can never sign it, and the others of the pool could no longer take it."""
    if task.kind is not TaskKind.APPROVAL:
        return None
    if person in reception.signers():
        return (
            f"{ctx.shown(person)} 已签署本审批链，一人在一条审批链上只签一次，不能再接手本链的任务",
            f"{person} signed this approval chain already (one signature a chain), so may not take its tasks",
        )
    if person in reception.step_holders(task.step, besides=task.id):
        return (
            f"{ctx.shown(person)} 已有本环节的任务，不能再接手本环节的另一个任务",
            f"{person} already holds a task of this step, so may not take another one of it",
        )
    return None


def _keeping(reception: Reception, ctx: Context, task: Task) -> tuple[str, str] | None:
    """Why the actor may not claim ``task`` to sign it, or None: :func:`_taking_problem`, or (a
    pool task nobody holds yet) taking it would leave a later pool with nobody who may sign it
    (:func:`_starving`). The actor, and a principal it is claimed for, then count as signing here.
    An operation that hands the task on and keeps it checks all a signature would
    (:func:`_signing_after_problem`)."""
    problem = _taking_problem(reception, ctx, task)
    if problem is not None or task.kind is not TaskKind.APPROVAL:
        return problem
    later = _named_later(reception, task.step, ctx.actor.id, task.owner)
    if later is not None:  # kept, it could only be signed by someone the later step cannot do without
        return (
            f"{ctx.shown(task.owner or ctx.actor.id)} 还要签第 {later + 1} 环节"
            f"「{reception.approval_chain[later].shown}」，一人在一条审批链上只签一次，本环节请交给别人办理",
            f"{task.owner or ctx.actor.id} is to sign step {later + 1} as well (one signature a chain); "
            "hand this one to someone else",
        )
    if _held_by(reception, task.id):
        return None
    taken = attrs.evolve(task, claimed_by=task.owner or ctx.actor.id)
    also = {ctx.actor.id, task.owner} - {""}
    return _starving(reception, ctx, _replace(reception, taken), also, by=(ctx.actor.id,))


def _starving(
    before: Reception, ctx: Context, after: Reception, also: Collection[str], *, by: Sequence[str]
) -> tuple[str, str] | None:
    """Why a change that makes ``after`` of ``before`` (a task kept to sign, a task handed to
    someone, signers added) may not be made (Chinese, English), or None: it would leave a pool still
    to sign with nobody who may sign it. Each such pool — the unclaimed pool tasks of the current
    step, and what the steps after it need (:func:`step_slots`) — needs a signer of its own, since
    nobody signs a chain twice: a matching of pools to distinct people (:func:`unmatched`), ``also``
    counted as signing after the change. Only with a directory that lists everyone; a chain already
    short of signers before the change is not this change's doing."""
    slots = _pool_slots(after)
    if not slots:
        return None
    members = ctx.members()
    if members is None:
        return None
    missing = unmatched(members.of(slots, _engaged_people(after) | set(also)))
    if missing is None:
        return None
    if unmatched(members.of(_pool_slots(before), _engaged_people(before))) is not None:
        return None
    index, pool, _roles = slots[missing]
    step = after.approval_chain[index]
    shown = "、".join(a.shown for a in pool)
    return (
        f"若由 {'、'.join(map(ctx.shown, by))} 签署或接手这项任务，"
        f"第 {index + 1} 环节「{step.shown}」的「{shown}」就没有人能签了"
        "（一人在一条审批链上只签一次），请由别人办理",
        f"if {', '.join(by)} signed or took this task, nobody could sign {', '.join(a.ref for a in pool)} "
        f"of step {index + 1} (one signature a chain); let someone else take it",
    )


Slot = tuple[int, tuple[Assignee, ...], frozenset[Role]]
"""A pool that still needs a signer of its own: (step, whom it may be — a pool or a person, or for
a 或签 any of what it names —, the roles that may sign the step)."""


def step_slots(index: int, step: ApprovalStep) -> list[Slot]:
    """What a step not yet opened needs signers of its own for: each pool of a step that needs
    everyone (the people it names are kept for it apart); a 或签, one of all it names; a 票签, each
    pool or person it cannot pass without."""
    if step.kind is StepKind.ANY:
        return [(index, step.who, step.roles)]
    if step.kind is StepKind.VOTE:
        total = sum(a.weight for a in step.who) or 1
        needed = [a for a in step.who if (total - a.weight) * 100 <= step.threshold * total]
        return [(index, (a,), step.roles) for a in needed]
    return [(index, (a,), step.roles) for a in step.who if a.kind is not AssigneeKind.PERSON]


def _pool_slots(reception: Reception) -> list[Slot]:
    """The pools of ``reception`` still to be signed by someone each (see :func:`_starving`)."""
    chain = reception.approval_chain
    current = reception.current_step
    slots: list[Slot] = []
    for index in range(current, len(chain)):
        step = chain[index]
        tasks = reception.step_tasks(index) if index == current else ()
        if not tasks:
            slots += step_slots(index, step)
        elif step.kind not in (StepKind.ANY, StepKind.VOTE):  # an open 或签 is decided by whoever signs
            pools = [t.assignee for t in tasks if t.live and not t.owner]
            slots += [(index, (pool,), step.roles) for pool in pools if pool.kind is not AssigneeKind.PERSON]
    return slots


def _engaged_people(reception: Reception) -> set[str]:
    """Who cannot sign a pool of the chain: the handler and submitter, who signed, who holds a live
    task of a step that needs everyone (a 或签 or 票签 task may close undecided; a delegated task is
    its delegator's, and still the principal's a stand-in delegated it for), and who is named on a
    later such step."""
    chain = reception.approval_chain

    def needs_all(index: int) -> bool:
        return 0 <= index < len(chain) and chain[index].kind not in (StepKind.ANY, StepKind.VOTE)

    named = {
        a.ref
        for index in range(reception.current_step + 1, len(chain))
        if needs_all(index)
        for a in chain[index].assignees
        if a.kind is AssigneeKind.PERSON
    }
    held = {  # who will sign each: the delegator, not a delegate 委派 (who only gives an opinion),
        # and whose task it is (a stand-in 代理 who delegated a principal's task signs it for them)
        who
        for t in reception.tasks
        if t.kind is TaskKind.APPROVAL and t.current and t.live and needs_all(t.step)
        for who in (t.delegated_by or t.owner, t.holder)
    } - {""}
    return set(reception.handlers() | reception.signers()) | named | held


class Members:
    """Who of ``everyone`` may sign each kind of slot (its pools and named people, holding one of
    its roles), from an index of everyone by department and level built once for one check."""

    def __init__(self, everyone: Sequence[Actor]) -> None:
        self.everyone = everyone
        self._by: dict[tuple[AssigneeKind, str], list[Actor]] | None = None
        self._known: dict[tuple[tuple[Assignee, ...], frozenset[Role]], list[str]] = {}

    def _in(self, whom: Assignee) -> list[Actor]:
        """Everyone in ``whom`` (a pool, or the person it names)."""
        by = self._by
        if by is None:  # built whole before it is shared: threads may ask at once
            by = {}
            for p in self.everyone:
                by.setdefault((AssigneeKind.PERSON, p.id), []).append(p)
                if p.unit:
                    by.setdefault((AssigneeKind.UNIT, p.unit), []).append(p)
                for level in p.levels:
                    by.setdefault((AssigneeKind.LEVEL, level), []).append(p)
            self._by = by
        if whom.kind is AssigneeKind.LEVEL and not whom.ref:
            return list(self.everyone)  # any approver's pool: the roles decide
        return by.get((whom.kind, whom.ref), [])

    def may_sign(self, whom: tuple[Assignee, ...], roles: frozenset[Role]) -> list[str]:
        found = self._known.get((whom, roles))
        if found is None:
            people = {p.id: p for a in whom for p in self._in(a)}
            found = self._known[(whom, roles)] = [i for i, p in people.items() if p.roles & roles]
        return found

    def of(self, slots: Sequence[Slot], barred: Collection[str]) -> list[list[str]]:
        """Each slot's candidates but ``barred``."""
        return [[p for p in self.may_sign(whom, roles) if p not in barred] for _i, whom, roles in slots]


def unmatched(candidates: Sequence[Sequence[str]]) -> int | None:
    """The first slot left without a signer when each gets a different one of its ``candidates``
    — a maximum bipartite matching by augmenting paths (Kuhn's algorithm; a chain has a few
    pools) — or None when every slot gets one."""
    signer_of: dict[str, int] = {}

    def augment(slot: int, seen: set[str]) -> bool:
        for person in candidates[slot]:
            if person in seen:
                continue
            seen.add(person)
            if person not in signer_of or augment(signer_of[person], seen):
                signer_of[person] = slot
                return True
        return False

    return next((slot for slot in range(len(candidates)) if not augment(slot, set())), None)


def _owned(reception: Reception, ctx: Context, ref: str, kind: TaskKind | None = None) -> Task:
    task = _task(
        reception,
        ctx,
        ref,
        where=lambda t: (kind is None or t.kind is kind) and (t.kind is not TaskKind.APPROVAL or t.current),
        allow_pool=True,
    )
    _in_pool(reception, ctx, task)  # acting on a pool task claims it first
    _may_take(reception, ctx, task)  # for oneself, or claimed for a principal one stands in for
    return _claimed(ctx, task)


def _claimed(ctx: Context, task: Task) -> Task:
    """``task`` as the actor acts on it: a pool task nobody holds is claimed by them first."""
    return task if task.owner else attrs.evolve(task, claimed_by=ctx.actor.id)


def _in_pool(reception: Reception, ctx: Context, task: Task) -> None:
    """A pool task nobody holds (nor claimed for a principal) is taken only by a member of the pool."""
    if not task.owner and not task.assignee.pools(ctx.actor):
        raise _denied(
            reception,
            ctx,
            f"不是「{task.assignee.shown}」的成员，不能办理这项任务",
            f"not a member of pool {task.assignee.ref!r}, so not this task's to take or hand on",
        )


def _may_take(reception: Reception, ctx: Context, task: Task) -> None:
    """Acting on a task that is not one's own — a pool task nobody holds (taking it, as a claim
    does, for oneself or for a principal), or a principal's task as their stand-in 代理 — is
    refused to an actor :func:`_engaged` keeps from it: else someone who signed the chain (or holds
    a task of the step) could hand the next step to whom they choose, send it back or answer it."""
    problem = _taking_problem(reception, ctx, task)
    if problem is not None:
        raise _refused(reception, ctx, *problem)


def _taking_problem(reception: Reception, ctx: Context, task: Task) -> tuple[str, str] | None:
    """Why the actor may not act on ``task`` unless it is their own: :func:`_engaged`."""
    if _held_by(reception, task.id) == ctx.actor.id:
        return None
    return _engaged(reception, ctx, ctx.actor.id, task)


def _storable_id(reception: Reception, ctx: Context, person: str, *, path: str = "") -> None:
    """An actor id the task index can hold (64 characters, no NUL or lone surrogate); ``path``:
    the field it was given in, for the refusal."""
    try:
        check_text(person, field="actor id", max_length=MAX_ACTOR_ID)
    except InvalidValueError as error:
        raise _refused(reception, ctx, error.message_zh, error.message_en, path=path) from None


def target_problem(
    directory: Callable[[str], Actor | None], person: str, roles: frozenset[Role] = frozenset()
) -> tuple[str, str] | None:
    """Why ``person`` cannot be handed a task (Chinese, English), or None: the directory does not
    know them, or they hold none of ``roles`` (when given), the roles that can act on the task —
    a task for someone who could never act on it would leave the step with no way forward."""
    return person_problem(directory(person), person, roles)


PROXY_REACH = timedelta(days=366)
"""How far from today a stand-in period may reach, either way: a year, leap day included. A period
that began up to a year ago is still recorded (an absence the office writes down late); one beyond
it, or ending more than a year ahead, is a mistyped year (0001, 9999, 2062 for 2026)."""


def proxy_period_problems(start: date, end: date, today: date) -> list[Problem]:
    """What is wrong with a stand-in period ``start``..``end`` set on ``today`` (China day): a start
    more than :data:`PROXY_REACH` back, an end more than that ahead; each at its field."""
    earliest, latest = today - PROXY_REACH, today + PROXY_REACH
    problems = []
    if start < earliest:
        problems.append(
            Problem(
                "$.start",
                f"开始日期 {start} 早于今天（{today}）超过一年：代理期间最早从 {earliest} 开始",
                f"start {start} is more than a year before today ({today}): a stand-in period "
                f"starts on {earliest} at the earliest",
            )
        )
    if end > latest:
        problems.append(
            Problem(
                "$.end",
                f"结束日期 {end} 晚于今天（{today}）超过一年：代理期间最迟到 {latest} 结束",
                f"end {end} is more than a year after today ({today}): a stand-in period ends "
                f"on {latest} at the latest",
            )
        )
    return problems


def person_problem(
    found: Actor | None, person: str, roles: frozenset[Role] = frozenset()
) -> tuple[str, str] | None:
    """:func:`target_problem` of a person already looked up (``found``, None when unknown)."""
    if found is None:
        return (f"参与人名单里没有 {person}", f"{person} is not in the directory of actors")
    if roles and not found.roles & roles:
        zh = "、".join(r.label for r in sorted(roles))
        en = ", ".join(sorted(roles))
        return (
            f"{found.name}（{person}）没有办理这项任务的角色（需要：{zh}）",
            f"{found.name} ({person}) holds none of the roles that can act on it ({en})",
        )
    return None


def _check_target(reception: Reception, ctx: Context, person: str, task: Task) -> None:
    """Nobody can hand a task to the handler, to themselves, to someone already on the chain (on
    the step, signed, or named on a later step), or (with a directory) to someone unknown or without
    a role that can act on the task."""
    if not person.strip():
        raise _refused(reception, ctx, "未给出接收人", "no person given")
    _storable_id(reception, ctx, person)
    if person in reception.handlers():
        raise _refused(
            reception,
            ctx,
            f"{ctx.shown(person)} 是本接待的经办人，不能办理审批（不相容职务分离）",
            f"{person} handles this reception and may not approve it (separation of duties)",
        )
    if person == ctx.actor.id:
        raise _refused(reception, ctx, "不能交给自己", "not to oneself")
    on_step = {t.owner for t in reception.step_tasks(task.step)} | {
        t.assignee.ref for t in reception.step_tasks(task.step) if t.assignee.kind is AssigneeKind.PERSON
    }
    on_step |= reception.step_holders(task.step)  # a delegator, whom the task comes back to
    later = {  # named on a later step: having signed this one, they could never sign that (a
        # delegate only gives an opinion and signs nothing)
        a.ref
        for step in reception.approval_chain[task.step + 1 :]
        for a in step.assignees
        if a.kind is AssigneeKind.PERSON and ctx.operation is not Operation.DELEGATE
    }
    chained = person in on_step or person in reception.signers() or person in later
    if task.kind is TaskKind.APPROVAL and chained:
        raise _refused(
            reception,
            ctx,
            f"{ctx.shown(person)} 已在本审批链上",
            f"{person} is already on this approval chain",
        )
    if ctx.directory is not None:  # last: separation of duties is the reason that matters most
        problem = target_problem(ctx.directory, person, _acting_roles(reception, ctx, task))
        if problem is not None:
            raise _refused(reception, ctx, *problem)
    if task.kind is TaskKind.APPROVAL and ctx.operation is Operation.TRANSFER:  # 加签 checks all at once
        handed = attrs.evolve(
            task, assignee=Assignee.person(person), claimed_by="", delegated_to="", delegated_by=""
        )
        problem = _starving(reception, ctx, _replace(reception, handed), {person}, by=(person,))
        if problem is not None:
            raise _refused(reception, ctx, *problem)


def _acting_roles(reception: Reception, ctx: Context, task: Task) -> frozenset[Role]:
    """The roles a person handed ``task`` by this operation needs: one of its step's roles to sign
    an approval task (approver, unless a county's chain says otherwise), a role that may reply to
    give an opinion on a delegated one; none: anyone known."""
    if ctx.operation is Operation.DELEGATE:
        return ctx.reply_roles
    if task.kind is TaskKind.APPROVAL and 0 <= task.step < len(reception.approval_chain):
        return reception.approval_chain[task.step].roles
    return frozenset()


def _approval_live(task: Task) -> bool:
    return task.kind is TaskKind.APPROVAL and task.live


def _closed(task: Task, outcome: str) -> Task:
    return attrs.evolve(task, state=TaskState.CLOSED, outcome=task.outcome or outcome)


def _with(reception: Reception, tasks: Sequence[Task]) -> Reception:
    tasks = tuple(tasks)
    return reception if tasks == reception.tasks else attrs.evolve(reception, tasks=tasks)


def _replace(reception: Reception, task: Task) -> Reception:
    return attrs.evolve(reception, tasks=tuple(task if t.id == task.id else t for t in reception.tasks))


def _insert(reception: Reception, task: Task, *, after: str) -> Reception:
    tasks: list[Task] = []
    for t in reception.tasks:
        tasks.append(t)
        if t.id == after:
            tasks.append(task)
    return attrs.evolve(reception, tasks=tuple(tasks))


def _new_owners(before: Reception, after: Reception) -> tuple[str, ...]:
    """People whose task opened with this command (they are told to act)."""
    was_open = {t.id for t in before.tasks if t.state is TaskState.OPEN}
    return tuple(
        dict.fromkeys(
            t.owner for t in after.tasks if t.state is TaskState.OPEN and t.id not in was_open and t.owner
        )
    )


def _refused(reception: Reception, ctx: Context, zh: str, en: str, *, path: str = "") -> TaskError:
    """The operation refused; ``path``: the field of the command it is about (``$.people``)."""
    return TaskError(
        reception.id,
        ctx.label or ctx.trigger,
        zh,
        en,
        number=reception.number,
        operation_en=ctx.trigger,
        path=path,
    )


def _denied(reception: Reception, ctx: Context, zh: str, en: str) -> NotAuthorizedError:
    return NotAuthorizedError(
        reception.id, ctx.trigger, ctx.actor.id, zh, en, number=reception.number, label=ctx.label
    )


def changed_tasks(before: Reception | None, after: Reception) -> tuple[Task, ...]:
    """The tasks a command added or changed (the rows to write)."""
    if before is None:
        return after.tasks
    if _row_facts(before) != _row_facts(after):  # every row repeats them
        return after.tasks
    old = set(before.tasks)
    # a task whose row the reception shapes is rewritten too when that changed: whom 待办 leaves it
    # out for (a signature elsewhere, a claim of another task of its step), its title (a chain
    # rebuilt at a new submission names an old task's step differently)
    return tuple(
        t
        for t in after.tasks
        if t not in old or before.barred(t) != after.barred(t) or before.task_title(t) != after.task_title(t)
    )


def _row_facts(reception: Reception) -> tuple[str, ...]:
    """What of the reception every task index row repeats (see ``sql.tasks.task_row``)."""
    return (reception.number, reception.jurisdiction, reception.host_unit, reception.handler.id)


def changed_copies(before: Reception | None, after: Reception) -> tuple[CarbonCopy, ...]:
    if before is None:
        return after.copies
    old = set(before.copies)
    return tuple(c for c in after.copies if c not in old)


# -- what the audit trail and the notifications say ---------------------------------------------


def describe(
    before: Reception,
    after: Reception,
    trigger: object,
    command: TaskCommand | None,
    actor: Actor,
    names: Callable[[str], str] = str,
) -> str:
    """A short Chinese account of what a command did to the tasks, for the audit event's ``note``
    (the timeline shows it): who got a task, who signed for whom, who was copied. ``names`` shows a
    person by id (the engine gives 「姓名（id）」 from its directory)."""
    parts: list[str] = []
    old = {t.id: t for t in before.tasks}

    def who(assignee: Assignee) -> str:
        if assignee.kind is not AssigneeKind.PERSON:
            return assignee.shown
        shown = names(assignee.ref)
        return f"{assignee.name}（{assignee.ref}）" if shown == assignee.ref and assignee.name else shown

    for a in after.approvals[len(before.approvals) :] if len(after.approvals) > len(before.approvals) else ():
        how = "同意" if a.agree else "反对"
        behalf = f"（代 {names(a.on_behalf_of)}）" if a.on_behalf_of else ""
        step = after.approval_chain[a.step] if a.step < len(after.approval_chain) else None
        kind = f"，{step.kind.label}" if step is not None and step.kind is not StepKind.SINGLE else ""
        parts.append(f"第 {a.step + 1} 环节「{step.shown if step else a.level}」{how}{behalf}{kind}")
    for t in after.tasks:
        was = old.get(t.id)
        if was is None:
            if isinstance(command, TakeBack):
                continue  # the signer's own task reopened, not a new assignment
            if t.transferred_from:
                parts.append(f"转办给 {who(t.assignee)}")
            elif t.added_by and t.kind is TaskKind.APPROVAL:
                parts.append(f"加签 {who(t.assignee)}")
            elif t.kind is TaskKind.EXECUTION:
                parts.append(f"执行任务「{t.title}」交 {who(t.assignee)}")
            elif t.outcome == "delegate_replied":
                parts.append(f"{who(t.assignee)} 答复委派")
            continue
        if t.claimed_by and not was.claimed_by and t.state is TaskState.OPEN:
            by = (
                names(t.claimed_by)
                if t.claimed_by == actor.id
                else f"{names(actor.id)} 代 {names(t.claimed_by)}"
            )
            parts.append(f"{by} 认领「{t.assignee.shown}」任务")
        if t.delegated_to and not was.delegated_to:
            parts.append(f"委派 {names(t.delegated_to)} 提出意见")
        if t.state is TaskState.CLOSED and was.state is not TaskState.CLOSED and t.outcome == "removed":
            parts.append(f"减签 {who(t.assignee)}")
        if t.kind is TaskKind.EXECUTION and t.state is TaskState.DONE and was.state is not TaskState.DONE:
            parts.append(f"执行任务「{t.title}」完成")
        if t.kind is TaskKind.EXECUTION and t.outcome == RECALLED and was.live:
            parts.append(f"执行任务「{t.title}」收回（重新审批）")
        if t.urged_at is not None and t.urged_at != was.urged_at:
            parts.append(f"催办 {names(t.owner) if t.owner else t.assignee.shown}")
    acted_for: list[str] = []  # a stand-in's act on a principal's task 代理 (a signature says it itself)
    for t in after.tasks if len(after.approvals) <= len(before.approvals) else ():
        was = old.get(t.id)
        if was is None:
            continue
        if t.on_behalf_of and not was.on_behalf_of:
            acted_for.append(t.on_behalf_of)
        elif t.delegated_to and not was.delegated_to and was.owner and t.delegated_by not in ("", was.owner):
            acted_for.append(was.owner)
    if acted_for:
        parts.insert(0, "代 " + "、".join(names(p) for p in dict.fromkeys(acted_for)))
    copied = [names(c.actor_id) for c in after.copies[len(before.copies) :]]
    if copied:
        parts.append("抄送 " + "、".join(copied))
    if isinstance(command, SendBack):
        parts.append(f"驳回到第 {command.step + 1} 环节")
    if isinstance(command, Jump) and command.step is not None:
        parts.append(f"跳转到第 {command.step + 1} 环节")
    if isinstance(command, TakeBack):
        parts.append("拿回签署")
    return "；".join(dict.fromkeys(parts))


def told(before: Reception, after: Reception, worked: Worked | None) -> tuple[str, ...]:
    """The people a command addresses by name: the owners of tasks it opened, and whom the operation
    names (the urged, the copied, the delegator a reply goes back to)."""
    people = list(_new_owners(before, after))
    if worked is not None:
        people += worked.people
    return tuple(p for p in dict.fromkeys(people) if p)
