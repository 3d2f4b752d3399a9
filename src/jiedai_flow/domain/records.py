"""The reception aggregate 接待记录 and the records a command leaves behind.

:class:`Reception` is the unit every command loads, checks and saves with its ``version``.
:class:`AuditEvent` is the accountable trace of one accepted command; :class:`Notification` is an
outbox row written in the same atomic step. All frozen: a command builds new values, never edits.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import attrs

from jiedai_flow.domain.model import (
    Actor,
    FollowUpKind,
    InvalidValueError,
    LabelledEnum,
    OfficialLetter,
    Plan,
    ProjectOutcome,
    ReceptionList,
    ReceptionType,
    Role,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Sequence
    from datetime import date, datetime

    from jiedai_flow.domain.findings import Finding


class StepKind(LabelledEnum):
    """How the approvers of one step decide 审批方式."""

    SINGLE = "single", "单人审批"
    """One approver (a person, or one member of a pool) decides."""
    SEQUENTIAL = "sequential", "顺序会签"
    """Every assignee agrees, one after another in the order given."""
    PARALLEL = "parallel", "并行会签"
    """Every assignee agrees, all at the same time."""
    ANY = "any", "或签"
    """The first assignee to agree decides the step; the others' tasks close."""
    VOTE = "vote", "票签"
    """Assignees vote with weights; the step passes when agreeing weight exceeds ``threshold``
    percent of the total, and fails when it no longer can."""


class AssigneeKind(LabelledEnum):
    """Who a task goes to 办理人类型."""

    PERSON = "person", "个人"
    """One actor, by id."""
    LEVEL = "level", "岗位"
    """Any approver holding an approval level (``Actor.levels``, e.g. 分管领导): a pool, claimed."""
    UNIT = "unit", "部门"
    """Any approver of a department (``Actor.unit``): a pool, claimed 认领."""


@attrs.frozen
class Assignee:
    """Whom a step's task is for 办理人: a person, an approval level or a department pool."""

    kind: AssigneeKind
    ref: str
    """The actor id, the level or the department."""
    weight: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    """票签 weight."""
    name: str = ""
    """How to show it (the person's name, the department's) — display only."""

    @classmethod
    def person(cls, actor_id: str, weight: int = 1, name: str = "") -> Assignee:
        return cls(AssigneeKind.PERSON, actor_id, weight, name)

    @classmethod
    def level(cls, level: str, weight: int = 1) -> Assignee:
        return cls(AssigneeKind.LEVEL, level, weight, level)

    @classmethod
    def unit(cls, unit: str, weight: int = 1) -> Assignee:
        return cls(AssigneeKind.UNIT, unit, weight, unit)

    @property
    def shown(self) -> str:
        return self.name or self.ref

    def pools(self, actor: Actor) -> bool:
        """Whether ``actor`` belongs to this pool (never true of a person assignee)."""
        if self.kind is AssigneeKind.LEVEL:
            return not self.ref or self.ref in actor.levels
        return self.kind is AssigneeKind.UNIT and bool(actor.unit) and actor.unit == self.ref


@attrs.frozen
class ApprovalStep:
    """One step of an approval chain 审批环节, e.g. 部门负责人 → 分管领导 → 财政局与分管领导并行会签.

    With no ``assignees`` the step is one task for the pool of ``level`` (any approver holding it;
    an empty level accepts any approver). With assignees, ``kind`` says how they decide.
    """

    level: str
    label: str = ""
    roles: frozenset[Role] = frozenset({Role.APPROVER})
    kind: StepKind = StepKind.SINGLE
    assignees: tuple[Assignee, ...] = ()
    threshold: int = attrs.field(default=50, validator=[attrs.validators.ge(0), attrs.validators.lt(100)])
    """票签: the step passes when the agreeing weight exceeds this percentage of the total weight."""

    @property
    def who(self) -> tuple[Assignee, ...]:
        """The assignees, or the one pool of ``level`` when none are named."""
        return self.assignees or (Assignee(AssigneeKind.LEVEL, self.level, 1, self.label or self.level),)

    @property
    def shown(self) -> str:
        return self.label or self.level or "审批"


@attrs.frozen
class Approval:
    """One signature 审批意见 of the current submission: agreement, or (票签) a vote against.

    ``on_behalf_of`` names the approver a stand-in 代理人 signed for; ``weight`` is the vote's.
    """

    step: int
    level: str
    actor_id: str
    actor_name: str
    at: datetime
    opinion: str = ""
    agree: bool = True
    on_behalf_of: str = ""
    weight: int = 1
    task_id: str = ""


class TaskKind(LabelledEnum):
    """What a task is for 任务类型."""

    APPROVAL = "approval", "审批"
    EXECUTION = "execution", "接待执行"
    """An item of the approved plan carried out by a department or person (注重细节管理, 强化团队协作)."""


class TaskState(LabelledEnum):
    """Where a task stands 任务状态. Only ``open`` tasks are in anyone's 待办."""

    WAITING = "waiting", "未到"
    """A later signer of a sequential countersign (or one who asked for a signer before them)."""
    OPEN = "open", "待办"
    DONE = "done", "已办"
    CLOSED = "closed", "已关闭"
    """Closed without its owner acting: decided by another (或签, 票签), removed (减签), taken back,
    returned, withdrawn, terminated."""


@attrs.frozen
class Task:
    """One task 任务: an approval step's work for one assignee, or an execution item of the plan.

    ``owner`` is who holds it now: a delegate while delegated 委派, the member who claimed a pool
    task 认领, else the assigned person ("" for an unclaimed pool task).
    """

    id: str
    kind: TaskKind
    step: int
    """The approval step's index (``-1`` for an execution task)."""
    assignee: Assignee
    created_at: datetime
    state: TaskState = TaskState.OPEN
    order: int = 0
    """Sequence within the step (within the lane): the lowest order not yet done is open; equal
    orders act together."""
    lane: int = 0
    """Parallel countersign 会签: each signer's own lane, so that an approver added before or after
    one signer (前加签, 后加签) waits for that signer alone; one lane for the other step kinds."""
    due: date | None = None
    """Due day on the working-day calendar 办理时限."""
    claimed_by: str = ""
    delegated_to: str = ""
    """委派: who was asked to give an opinion; the task comes back to the assignee afterwards."""
    delegated_by: str = ""
    done_by: str = ""
    done_at: datetime | None = None
    outcome: str = ""
    """``agree``, ``against``, ``returned``, ``done``, ``problem`` …; for a closed task, why."""
    opinion: str = ""
    on_behalf_of: str = ""
    added_by: str = ""
    """加签: who added this signer (减签 removes only added signers that have not acted)."""
    transferred_from: str = ""
    read_at: datetime | None = None
    urged_at: datetime | None = None
    title: str = ""
    """Execution task: what to do 事项 (meeting the guests, the working meal, the vehicles …)."""
    place: str = ""
    at: datetime | None = None
    """Execution task: when it is to happen."""
    notes: tuple[str, ...] = ()
    """Delegates' opinions 委派意见 and problem reports, in order."""
    current: bool = True
    """Part of the current submission; false once a return, a resubmission or a change superseded it
    (kept as history for 已办)."""
    submission: int = 0
    """The reception's :attr:`Reception.submission` when the task was created: a task a send back
    made history still belongs to its submission. 0 for tasks stored before submissions were counted."""

    @property
    def owner(self) -> str:
        return self.delegated_to or self.holder

    @property
    def holder(self) -> str:
        """Whose task it is, a delegation 委派 aside: who claimed it, or the person it names ("" for
        a pool's nobody claimed)."""
        if self.claimed_by:
            return self.claimed_by
        return self.assignee.ref if self.assignee.kind is AssigneeKind.PERSON else ""

    @property
    def live(self) -> bool:
        """Open or waiting: not yet finished either way."""
        return self.state in (TaskState.OPEN, TaskState.WAITING)


ENDED = "ended"
"""The outcome of a task closed because its reception ended (cancelled, terminated, refused) before
its owner acted: an approval task so closed still belongs to its step, undecided."""


def _of_the_submission(task: Task) -> bool:
    """An approval task of the current submission that still decides its step (see
    :meth:`Reception.step_tasks`)."""
    return (
        task.current
        and task.kind is TaskKind.APPROVAL
        and (task.state is not TaskState.CLOSED or task.outcome == ENDED)
    )


def step_verdict(
    step: ApprovalStep, tasks: Sequence[Task], approvals: Sequence[Approval], idle: Collection[str] = ()
) -> str:
    """``passed``, ``failed`` (a vote that can no longer pass) or ``open``, for one step of the
    current submission: its live and done tasks say who must decide, its signatures what they said.
    A step whose tasks are not opened yet is ``open``. ``idle``: people whose tasks nobody may act
    on (:meth:`Reception.handlers`): a vote does not wait for their weight."""
    agreed = [a for a in approvals if a.agree]
    if step.kind is StepKind.VOTE and tasks:
        total = sum(t.assignee.weight for t in tasks) or 1
        yes = sum(a.weight for a in agreed)
        undecided = sum(t.assignee.weight for t in tasks if t.live and t.owner not in idle)
        if yes * 100 > step.threshold * total:
            return "passed"
        return "failed" if (yes + undecided) * 100 <= step.threshold * total else "open"
    if step.kind is StepKind.ANY:
        return "passed" if agreed else "open"
    if not tasks:
        return "passed" if agreed else "open"
    return "passed" if all(t.state is TaskState.DONE and t.outcome == "agree" for t in tasks) else "open"


@attrs.frozen
class CarbonCopy:
    """抄送: someone told of a reception without acting on it (once per reception)."""

    actor_id: str
    by: str
    at: datetime
    read_at: datetime | None = None


@attrs.frozen
class Explanation:
    """A written explanation 情况说明 for a finding that needs one, and who accepted it."""

    rule_id: str
    path: str
    text: str
    stage: str
    by: str
    at: datetime
    finding: str = ""
    """The Chinese message of the finding explained: a changed finding needs a new explanation."""
    accepted_by: str = ""
    accepted_at: datetime | None = None

    @property
    def accepted(self) -> bool:
        return bool(self.accepted_by)


Member = tuple[str, str, str, int]
"""A reception as a process migration sees it: (id, number, state, version)."""


@attrs.frozen
class FollowUp:
    """One entry of the follow-up after a business reception 接待后跟踪: a contact with the investor,
    their stated intent, the project's progress, or feedback on the reception; with its owner and
    due day (reminded like any deadline) until it is done.

    Only a process whose trigger declares ``carries_follow_up`` records them (the 招商 process).
    """

    kind: FollowUpKind
    summary: str
    """What happened or is to be done 情况."""
    owner: str
    """Who carries it out (an actor id) 责任人."""
    due: date | None = None
    """The day it is due 完成时限 (working-day calendar reminders)."""
    done_on: date | None = None
    """The day it was done 完成日期; None while open."""
    outcome: ProjectOutcome | None = None
    """For progress entries: 签约, 落地 or 未成."""
    recorded_by: str = ""
    recorded_at: datetime | None = None

    @property
    def open(self) -> bool:
        """Due and not done yet."""
        return self.due is not None and self.done_on is None


@attrs.frozen
class LedgerEntry:
    """A change to a host unit's annual budget ledger 预算台账, applied with the command's save.

    Amounts in fen. When ``cap_fen`` is set and the change adds spending, the store refuses it
    (:class:`~jiedai_flow.errors.BudgetExceededError`) if committed + spent would pass the cap.
    """

    host_unit: str
    year: int
    committed_fen: int = 0
    spent_fen: int = 0
    cap_fen: int | None = None

    @property
    def key(self) -> str:
        return f"{self.year}|{self.host_unit}"


@attrs.frozen
class BudgetUsage:
    """What a host unit has committed (approved, not settled) and spent in a year, in fen."""

    committed_fen: int = 0
    spent_fen: int = 0


ONE_OF = "jiedai_flow.one_of"
"""The attrs field metadata key of a :class:`OneOf`."""


@attrs.frozen
class OneOf:
    """The values a ``str`` field takes (attrs field metadata under :data:`ONE_OF`): an ``enum`` in
    the OpenAPI document, for a client generated from it, while the field stays a plain ``str``
    (:class:`TaskRow`, filled straight from database rows). Only for a set the library fixes: a
    process's states are not one (a county's process may add states, and a client generated
    before would then refuse a whole answer), so a reception's ``state`` stays a string."""

    enums: tuple[type[LabelledEnum], ...] = ()
    values: tuple[str, ...] = ()

    def among(self) -> tuple[str, ...]:
        """The values: those of ``enums``, then ``values``."""
        found = [member.value for kind in self.enums for member in kind]
        found += [str(value) for value in self.values]
        return tuple(dict.fromkeys(found))


@attrs.frozen
class Reception:
    """One reception 接待 from its letter to its archive.

    ``process`` and ``rule_pack`` are pinned at creation: the reception is judged by the process
    definition and the rule pack it started with, whatever is installed later.
    """

    id: str
    number: str
    jurisdiction: str
    host_unit: str
    reception_type: ReceptionType
    handler: Actor
    letter: OfficialLetter
    plan: Plan
    start: date
    end: date
    state: str
    version: int
    process: str
    rule_pack: str
    created_at: datetime
    updated_at: datetime
    reception_list: ReceptionList | None = None
    approval_chain: tuple[ApprovalStep, ...] = ()
    approvals: tuple[Approval, ...] = ()
    submitted_by: str | None = None
    submission: int = 0
    """How many times the approval chain was opened (submit, resubmit, change, 补办): the current
    submission's number, which each task created during it carries (:attr:`Task.submission`). 0
    before the first submission, and for a reception stored by a version that did not count them."""
    retroactive: bool = False
    """补办: started before approval under the local urgent-reception rule; approval follows."""
    explanations: tuple[Explanation, ...] = ()
    budget_committed_fen: int = 0
    """What this reception holds committed in its host unit's budget ledger."""
    follow_ups: tuple[FollowUp, ...] = ()
    """接待后跟踪 entries, for processes with a follow-up stage (empty otherwise)."""
    tasks: tuple[Task, ...] = ()
    """Every task of this reception, done or not (approval tasks of earlier submissions included)."""
    copies: tuple[CarbonCopy, ...] = ()
    """抄送: who was copied, by whom, and whether they have read it."""

    @property
    def approval_complete(self) -> bool:
        """Every step of the approval chain is decided in favour."""
        return bool(self.approval_chain) and self.current_step >= len(self.approval_chain)

    @property
    def current_step(self) -> int:
        """The index of the first step not yet passed (``len(approval_chain)`` when all are).

        One pass over the tasks: every command that moves budget or opens tasks asks. (Not a
        cached property: on a slotted class its first read costs more than this.)"""
        chain = self.approval_chain
        if not chain:
            return 0
        by_step: dict[int, list[Task]] = {}
        for t in self.tasks:
            if _of_the_submission(t):
                by_step.setdefault(t.step, []).append(t)
        for index, step in enumerate(chain):
            tasks = by_step.get(index, ())
            approvals = [a for a in self.approvals if a.step == index]
            if step_verdict(step, tasks, approvals, self.handlers()) != "passed":
                return index
        return len(chain)

    @property
    def next_step(self) -> ApprovalStep | None:
        """The approval step waiting for a decision, if the reception is awaiting approval."""
        index = self.current_step
        return self.approval_chain[index] if index < len(self.approval_chain) else None

    def step_approvals(self, index: int) -> tuple[Approval, ...]:
        """The signatures given at step ``index`` of the current submission."""
        return tuple(a for a in self.approvals if a.step == index)

    def step_tasks(self, index: int) -> tuple[Task, ...]:
        """The approval tasks of step ``index`` of the current submission (closed ones excluded, but
        for those closed undecided when the reception ended: a step of a cancelled or terminated
        reception does not pass for want of the signers who never acted)."""
        return tuple([t for t in self.tasks if t.step == index and _of_the_submission(t)])

    def signers(self) -> frozenset[str]:
        """Who signed the current submission's chain, themselves or through a stand-in 代签."""
        signed = {a.actor_id for a in self.approvals} | {a.on_behalf_of for a in self.approvals}
        return frozenset(signed - {""})

    def step_holders(self, index: int, *, besides: str = "") -> frozenset[str]:
        """Who holds a live task of approval step ``index`` — by name, claim or delegation, the
        delegator too (the task comes back to them to decide) — leaving out task ``besides``."""
        live = [t for t in self.step_tasks(index) if t.live and t.id != besides]
        held = {t.owner for t in live if t.owner} | {t.delegated_by for t in live if t.delegated_by}
        return frozenset(held)

    def handlers(self) -> frozenset[str]:
        """The handler and the submitter: neither acts on an approval task (separation of duties)."""
        return frozenset({self.handler.id, self.submitted_by or ""} - {""})

    def barred(self, task: Task) -> frozenset[str]:
        """Who may not take the unclaimed pool task ``task`` (a live approval task of the current
        submission): the handler and submitter, everyone who signed the chain (one signature a
        chain) and everyone who holds another task of its step; nobody for any other task, which is
        already someone's or no pool's. It is not in their 待办, and a stand-in 代理 does not take
        it for a principal when either is barred."""
        if (
            task.kind is not TaskKind.APPROVAL
            or task.owner
            or task.assignee.kind is AssigneeKind.PERSON
            or not task.current
            or not task.live
        ):
            return frozenset()
        return self.handlers() | self.signers() | self.step_holders(task.step, besides=task.id)

    def idle(self, task: Task) -> bool:
        """Whether nobody may act on approval ``task``: it is the handler's or submitter's own (a
        或签 or 票签 may name them; the others decide it) — not even a stand-in for them 代理."""
        return task.kind is TaskKind.APPROVAL and bool(task.owner) and task.owner in self.handlers()

    def task_title(self, task: Task) -> str:
        """What a task list shows as the task: the step's label (with its kind), or the execution item."""
        if task.kind is TaskKind.EXECUTION:
            return task.title
        step = self.approval_chain[task.step] if 0 <= task.step < len(self.approval_chain) else None
        if step is None:
            return task.assignee.shown
        return step.shown if step.kind is StepKind.SINGLE else f"{step.shown}（{step.kind.label}）"

    def open_tasks(self) -> tuple[Task, ...]:
        """The tasks in someone's 待办 now."""
        return tuple(t for t in self.tasks if t.state is TaskState.OPEN)

    def handled_by(self, actor_id: str) -> bool:
        """Whether ``actor_id`` handles this reception (经办) — they may not approve or settle it."""
        return actor_id in (self.handler.id, self.submitted_by)


@attrs.frozen
class AuditEvent:
    """One accepted command, as evidence: who did what, from which state to which, and why.

    ``seq`` equals the reception's version after the command; replaying a reception's events in
    ``seq`` order gives its current state. ``prev_hash``/``hash`` are filled by back ends that
    chain events (see docs/architecture.md).
    """

    id: str
    reception_id: str
    seq: int
    trigger: str
    actor_id: str
    actor_name: str
    actor_roles: tuple[Role, ...]
    from_state: str
    to_state: str
    at: datetime
    process: str
    rule_pack: str
    reason: str = ""
    request_id: str | None = None
    findings: tuple[Finding, ...] = ()
    explanations: tuple[Explanation, ...] = ()
    """Explanations given or accepted by this command."""
    outbox_digest: str = ""
    """SM3 of the outbox rows this command wrote (``audit.outbox_digest``), so that a deleted or
    edited notification is caught by verify; "" when it wrote none."""
    note: str = ""
    """What an approval or task operation did 操作说明 (转办给 …, 代 … 签署, 抄送 …), for the timeline."""
    prev_hash: str = ""
    hash: str = ""
    hash_algorithm: str = ""
    auth_method: str = ""
    """How the actor was authenticated (``api-token:<id>``, ``jwt:<issuer>`` …; see
    :mod:`jiedai_flow.process.authn`); "" for an in-process call that did not say, and for events written
    before it was recorded."""


@attrs.frozen
class Notification:
    """An outbox row 待发通知: one notification for one channel, committed with the state change
    (or written by the reminder scan) and delivered after. ``id`` is the delivery's idempotency
    key: a receiver that sees it twice drops the second."""

    id: str
    reception_id: str
    event_id: str
    topic: str
    recipients: tuple[Role, ...]
    message_zh: str
    message_en: str
    created_at: datetime
    channel: str = ""
    """The notifier that delivers it (``log``, ``email``, ``dingtalk`` …)."""
    action_zh: str = ""
    """What the reader must do next 待办事项."""
    action_en: str = ""
    """``action_zh`` in English."""
    link: str = ""
    """Where the reader acts: the host application's link template filled in for the reception."""
    kind: str = "event"
    """``event`` for a committed command, ``reminder`` for a deadline reminder 催办."""
    people: tuple[str, ...] = ()
    """Actor ids addressed by name besides the roles: new task owners, the urged, the copied."""
    inline: bool = False
    """Delivered by its notifier right after the commit (the row is leased to it meanwhile)."""
    as_of: date | None = None
    """For a reminder: the day its deadline was judged on (the scan's ``today``), from which the
    dispatcher makes it again before sending."""


@attrs.frozen
class DeliveryOutcome:
    """How one delivery ended: ``delivered``; ``pending`` again from ``next_attempt_at``; or
    ``dead`` (a dead letter, kept for inspection)."""

    notification_id: str
    status: str
    attempts: int
    next_attempt_at: datetime | None = None
    error: str = ""


@attrs.frozen
class Delivery:
    """A claimed outbox row and how many delivery attempts it has had."""

    notification: Notification
    attempts: int = 0


@attrs.frozen
class CommandResult:
    """What a command returns: the reception after it, its audit event, every finding.

    ``replayed`` is True when the request id had been seen and this is the first result again.
    """

    reception: Reception
    event: AuditEvent
    findings: tuple[Finding, ...] = ()
    replayed: bool = False


@attrs.frozen
class Numbering:
    """How a store numbers a new reception 编号, inside the creating transaction: the next value
    of counter ``key``, formatted."""

    key: str
    format: Callable[[int], str] = attrs.field(eq=False)


@attrs.frozen
class CommandRecord:
    """An idempotency record: request id → the command it named and its first result."""

    request_id: str
    reception_id: str
    trigger: str
    actor_id: str
    result: CommandResult
    said: str = ""
    """A digest of what the command said (its reason, plan, list, task command …): the same request
    id with other words is another command, refused; "" for a record kept before it was kept."""


def _hex_prefix(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not (isinstance(value, str) and 1 <= len(value) <= 32 and all(c in "0123456789abcdef" for c in value)):
        raise InvalidValueError(
            f"「{attribute.name}」应为 1–32 位小写十六进制数字，收到 {value!r}",
            f"{attribute.name} must be 1 to 32 lowercase hexadecimal digits, got {value!r}",
            field=attribute.name,
        )


@attrs.frozen
class ReceptionQuery:
    """Filters for listing receptions; results are ordered by (start, id) and paged by cursor."""

    states: frozenset[str] = frozenset()
    jurisdiction: str | None = None
    host_unit: str | None = None
    reception_type: ReceptionType | None = None
    start_from: date | None = None
    start_to: date | None = None
    number: str | None = None
    """The reception number 接待编号 (341502-2026-00001), exactly."""
    id_prefix: str | None = attrs.field(default=None, validator=attrs.validators.optional(_hex_prefix))
    """The start of the reception id: 1 to 32 lowercase hexadecimal digits."""
    limit: int = attrs.field(default=50, validator=attrs.validators.in_(range(1, 10_001)))
    after: str | None = None
    """Opaque cursor: the ``next_cursor`` of the previous page."""


@attrs.frozen
class Page:
    """One page of receptions and the cursor of the next page (None at the end)."""

    items: tuple[Reception, ...]
    next_cursor: str | None = None


class TaskView(LabelledEnum):
    """The task lists people work from 任务列表."""

    MINE = "mine", "待办"
    """Open tasks the actor may act on: their own, their principals' (代理), and pool tasks of their
    levels and department not yet claimed."""
    DONE = "done", "已办"
    """Tasks the actor acted on (signed, returned, transferred, completed …), newest first."""
    CC = "cc", "抄送我的"
    """Receptions copied to the actor, newest first."""
    STARTED = "started", "我发起的"
    """Receptions the actor handles, newest first."""


def is_task_cursor(text: str) -> bool:
    """Whether ``text`` has the shape of a task list's ``next_cursor``: ``due-day|moment|id``."""
    from datetime import date, datetime

    parts = text.split("|")
    if len(parts) != 3 or not parts[2]:
        return False
    try:
        if parts[0]:
            date.fromisoformat(parts[0])
        datetime.fromisoformat(parts[1])
    except ValueError:
        return False
    return True


def _strings(values: Iterable[str]) -> frozenset[str]:
    """A set of names as a query keeps it: hashable, whatever collection was given."""
    return frozenset(values)


def _stand_in_pools(
    values: Iterable[tuple[AssigneeKind, str, tuple[str, ...]]],
) -> tuple[tuple[AssigneeKind, str, tuple[str, ...]], ...]:
    return tuple((kind, ref, tuple(who)) for kind, ref, who in values)


def _signing_pools(
    values: Iterable[tuple[AssigneeKind, str]] | None,
) -> frozenset[tuple[AssigneeKind, str]] | None:
    return None if values is None else frozenset(values)


@attrs.frozen
class TaskQuery:
    """One task list of one actor, filtered and paged by cursor. Sorted by due day (no due day last),
    then creation, for 待办; newest first for the others."""

    actor_id: str
    view: TaskView = TaskView.MINE
    levels: frozenset[str] = attrs.field(factory=frozenset, converter=_strings)
    """The approval levels whose pool tasks the actor sees ("" for any approver's)."""
    unit: str = ""
    """The department whose pool tasks the actor sees."""
    principals: frozenset[str] = attrs.field(factory=frozenset, converter=_strings)
    """Whom the actor stands in for today 代理: their tasks are in the actor's 待办 too."""
    units: frozenset[str] = attrs.field(factory=frozenset, converter=_strings)
    """More departments whose pool tasks the actor sees: those of the principals they stand in for
    (with :attr:`levels`, the principals' levels; the engine adds both when a directory knows them)."""
    kind: TaskKind | None = None
    jurisdiction: str | None = None
    due_by: date | None = None
    """待办 only: due on or before this day (overdue and due soon)."""
    limit: int = attrs.field(default=50, validator=attrs.validators.in_(range(1, 10_001)))
    after: str | None = None
    """Opaque cursor: the ``next_cursor`` of the previous page."""
    stand_ins_on: date | None = None
    """待办 only: also the tasks of everyone the actor stands in for 代理 on this (China) day, looked
    up by the store in the same query as the list (for stores that declare ``resolves_stand_ins``)."""
    principal_pools: tuple[tuple[AssigneeKind, str, tuple[str, ...]], ...] = attrs.field(
        default=(), converter=_stand_in_pools
    )
    """The pools of :attr:`levels` and :attr:`units` the actor sees only as a stand-in: (kind, pool,
    the principals in it — of a pool in :attr:`approval_pools`, those who may sign). A pool task
    there is listed while one of those principals may take it (:meth:`Reception.barred`); every
    other pool is the actor's own."""
    approval_pools: frozenset[tuple[AssigneeKind, str]] | None = attrs.field(
        default=None, converter=_signing_pools
    )
    """The pools of :attr:`levels`, :attr:`unit` and :attr:`units` whose approval tasks are listed:
    those the actor may sign for — they hold the approver role, and for a pool seen only as a
    stand-in so does a principal in it. Every other pool lists its execution items only: 办公室、
    财务、纪检 of a department can never claim or sign its approval task. :meth:`Engine.task_query`
    always says; None (a query made by hand) lists every pool's approval tasks, as before the
    field was added — a task store must honour it (:meth:`signs_in`)."""

    def signs_in(self, kind: AssigneeKind, ref: str) -> bool:
        """Whether the pool ``(kind, ref)`` lists its approval tasks (:attr:`approval_pools`)."""
        return self.approval_pools is None or (kind, ref) in self.approval_pools


@attrs.frozen(slots=False)
class TaskRow:
    """One line of a task list, read from the task index without loading the reception.

    Frozen like every record, but not slotted: a page builds one line per row, and a frozen
    slotted class pays a method call per field to build (about twice the time of the whole line)."""

    reception_id: str
    number: str
    task_id: str
    """"" for a line of 抄送我的 or 我发起的 (the reception itself)."""
    kind: str = attrs.field(metadata={ONE_OF: OneOf((TaskKind,), (TaskView.CC, TaskView.STARTED))})
    """``approval``, ``execution``, ``cc`` or ``started``."""
    title: str
    """The step's label or the execution item; the state for 我发起的."""
    state: str
    """The task's state; the reception's state for 抄送我的 and 我发起的."""
    assignee: str = ""
    owner: str = ""
    step: int = -1
    due: date | None = None
    at: datetime | None = None
    """Created (待办), acted (已办), copied (抄送) or registered (我发起的)."""
    outcome: str = ""
    host_unit: str = ""
    read: bool = False


@attrs.frozen
class TaskPage:
    """One page of a task list and the cursor of the next page (None at the end)."""

    items: tuple[TaskRow, ...]
    next_cursor: str | None = None


@attrs.frozen
class TaskCounts:
    """How many lines each task list of an actor has 待办/已办/抄送/发起 (``cc_unread``: not yet read)."""

    mine: int = 0
    done: int = 0
    cc: int = 0
    cc_unread: int = 0
    started: int = 0


@attrs.frozen
class Proxy:
    """代理 while away: ``stand_in`` acts on ``principal``'s approval tasks from ``start`` to ``end``
    (both included, China time); their signatures are recorded as on behalf of the principal."""

    id: str
    principal: str
    stand_in: str
    start: date
    end: date
    reason: str
    set_by: str
    at: datetime
    revoked: bool = False

    def covers(self, day: date) -> bool:
        """In force on ``day``."""
        return not self.revoked and self.start <= day <= self.end

    def same_request(self, again: Proxy) -> bool:
        """Whether ``again``, sent under this designation's request id, asks what it asked — the
        same designation, reason and setter (a retry) — not another under a reused key."""
        return _asked(self) == _asked(again)


def _asked(proxy: Proxy) -> tuple[str, str, date, date, str, str]:
    return (proxy.principal, proxy.stand_in, proxy.start, proxy.end, proxy.reason, proxy.set_by)


@attrs.frozen
class ProxyResult:
    """What setting a stand-in returns 设置代理的结果: the designation in force, and whether this call
    made it (``created``) or found it — the same designation set already, or what the same request
    id made the first time."""

    proxy: Proxy
    created: bool


@attrs.frozen
class ProxyQuery:
    """One page of stand-in designations 代理, the latest set first (``at``, then id), paged by
    keyset cursor. Each filter given narrows the page; None filters nothing."""

    party: str | None = None
    """Only those this person is the principal or the stand-in of: who may read which (the engine
    sets it for everyone but the office, administrators and the supervisor)."""
    principal: str | None = None
    stand_in: str | None = None
    active_on: date | None = None
    """Only those in force on this (China) day: not revoked, the day within their period."""
    limit: int = attrs.field(default=50, validator=attrs.validators.in_(range(1, 10_001)))
    after: str | None = None
    """Opaque cursor: the ``next_cursor`` of the previous page (see :func:`proxy_cursor`)."""


@attrs.frozen
class ProxyPage:
    """One page of stand-ins 代理, the latest set first, and the cursor of the next page (None at
    the end)."""

    items: tuple[Proxy, ...]
    next_cursor: str | None = None


def proxy_cursor(text: str) -> tuple[datetime, str] | None:
    """The place a stand-in list's ``next_cursor`` names — ``moment|id`` of the last designation of
    the previous page, the moment with its offset — or None when ``text`` is no such cursor."""
    from datetime import UTC, datetime

    moment, sep, last_id = text.partition("|")
    try:
        at = datetime.fromisoformat(moment)
        if at.tzinfo is not None:
            at.astimezone(UTC)  # 0001-01-01T00:00+14:00 parses but has no moment in UTC
    except (ValueError, OverflowError):
        return None
    if at.tzinfo is None or not sep or not findable(last_id) or "|" in last_id:
        return None
    return at, last_id


def findable(text: str) -> bool:
    """Whether a store could hold ``text`` as a name or an id to look for: not empty, at most 256
    characters, no control character, NUL or lone surrogate (PostgreSQL refuses a NUL outright, and
    a lone surrogate cannot be encoded) — a lookup of anything else finds nothing without asking."""
    return 0 < len(text) <= MAX_FINDABLE and text.isprintable()


MAX_FINDABLE = 256


def cursor_after(proxy: Proxy) -> str:
    """The ``next_cursor`` of a page that ends with ``proxy``."""
    return f"{proxy.at.isoformat()}|{proxy.id}"


@attrs.frozen
class Verdict:
    """An authorization answer with its reason, for ``jiedai_authorize`` (a plain bool works too)."""

    allowed: bool
    reason_zh: str = ""
    reason_en: str = ""

    @classmethod
    def allow(cls) -> Verdict:
        return _ALLOWED

    @classmethod
    def deny(cls, reason_zh: str, reason_en: str) -> Verdict:
        return cls(False, reason_zh, reason_en)


_ALLOWED = Verdict(True)


def new_id() -> str:
    """A new random id: 32 hex digits, like ``uuid4().hex`` at a quarter of the cost."""
    return os.urandom(16).hex()


def numbered(
    reception: Reception, record: CommandRecord | None, number: str
) -> tuple[Reception, CommandRecord | None]:
    """The reception (and its idempotency record) with the number a store gave it."""
    reception = attrs.evolve(reception, number=number)
    if record is not None:
        record = attrs.evolve(record, result=attrs.evolve(record.result, reception=reception))
    return reception, record
