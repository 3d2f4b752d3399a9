"""Deadlines and reminders 超时催办: approval 审批时限, claim 报销时限, 补办 时限 and execution items.

:func:`deadlines` says what a reception owes and by when: each open task of a pending approval
step by its due day, ``standards.approval_deadline_workdays`` working days after it opened (a step
without tasks, from the submission or the step before), to the task's owner — or, for a pool's task
nobody has claimed, to the step's roles; the claim within the local reimbursement limit (F-04); the
retroactive approval of an urgent reception within ``standards.retroactive_window_days`` of its
start (A-01); each open execution item by its due day, to its owner. Working days come from the
engine's calendar (``jiedai_calendar``, by default the Chinese statutory one).

:func:`remind` writes a reminder per deadline that is overdue or soon due into the outbox, one row
per notifier channel, each with an id derived from the deadline: a second scan writes nothing new.
Delivery is the dispatcher's job (``Dispatcher(engine).run_once()``), inline notifiers included.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.domain.clock import china_day
from jiedai_flow.domain.model import LabelledEnum, Role
from jiedai_flow.domain.records import Notification, ReceptionQuery, TaskKind, TaskState
from jiedai_flow.domain.standards import claim_deadline, retroactive_deadline
from jiedai_flow.domain.workdays import add_workdays, unknown_years, workdays_between
from jiedai_flow.process.lifecycle import Operation, Phase

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from datetime import date, datetime

    from jiedai_flow.domain.records import ApprovalStep, Reception, Task
    from jiedai_flow.domain.standards import Standards
    from jiedai_flow.domain.workdays import WorkCalendar
    from jiedai_flow.process.engine import Engine

__all__ = [
    "Deadline",
    "DeadlineKind",
    "DeadlineStatus",
    "calendar_of",
    "deadlines",
    "due_states",
    "find_due",
    "remind",
    "reminder_id",
]


class DeadlineKind(LabelledEnum):
    """What is due 时限类别."""

    APPROVAL = "approval", "审批时限"
    CLAIM = "claim", "报销时限"
    RETROACTIVE = "retroactive", "补办时限"
    FOLLOW_UP = "follow_up", "跟踪时限"
    EXECUTION = "execution", "执行时限"
    """An execution item of the approved plan (接站、工作餐 …) by its due day."""


ACTIONS_EN = {
    DeadlineKind.APPROVAL: "please approve the pending step",
    DeadlineKind.CLAIM: "please file the reception list and the vouchers",
    DeadlineKind.RETROACTIVE: "please complete the retroactive approval",
    DeadlineKind.FOLLOW_UP: "please complete the follow-up entry",
    DeadlineKind.EXECUTION: "please carry out the execution item",
}
"""What a reminder asks, in English, by kind (``Deadline.action_en`` unless a deadline says more)."""


class DeadlineStatus(LabelledEnum):
    """Where a deadline stands on a given day 时限状态."""

    OK = "ok", "未到期"
    SOON = "soon", "即将到期"
    OVERDUE = "overdue", "已逾期"


def due_states(engine: Engine) -> frozenset[str]:
    """The states, across the engine's processes, in which something can be due: their phase awaits
    an approval (审批时限) or the claim (报销时限, 补办), a trigger leaving them records follow-up
    entries (跟踪时限), or execution items can be completed there (执行时限)."""
    found: set[str] = set()
    for definition in engine.processes:
        found.update(definition.states_where(lambda p: p.awaits_approval or p.awaits_claim))
        following = {t.name for t in definition.triggers if t.carries_follow_up}
        completing = {t.name for t in definition.triggers if t.operation is Operation.COMPLETE}
        found.update(t.source for t in definition.transitions if t.trigger in following | completing)
    return frozenset(found)


_PAGE = 200


@attrs.frozen
class Deadline:
    """One deadline of one reception, and where it stands on ``today``."""

    kind: DeadlineKind
    reception_id: str
    number: str
    due: date
    """The last day: acting on it is in time, the day after is late."""
    counts_from: date
    basis: str
    """The standards field the limit comes from, e.g. ``approval_deadline_workdays``."""
    limit: int
    """Its value (working days, days or calendar months, as the field says)."""
    basis_zh: str
    """The limit in words, e.g. 「分管领导」环节自 2026-09-30 起 3 个工作日内审批."""
    today: date
    status: DeadlineStatus
    workdays_left: int
    """Working days after ``today`` up to and including ``due`` (0 once overdue)."""
    days_late: int
    """Calendar days past ``due`` (0 unless overdue)."""
    roles: tuple[Role, ...]
    """Who must act 催办对象."""
    action_zh: str
    """What they must do 待办事项."""
    step: int | None = None
    """For an approval: the index of the step waiting for a signature."""
    people: tuple[str, ...] = ()
    """Who must act, by actor id 催办对象: the owner of the task (then ``roles`` is empty, unless the
    task is a pool's that nobody has claimed, whose members are reached through ``roles``)."""
    task_id: str = ""
    """The task the deadline is of ("" for a deadline of the reception)."""
    unknown_years: tuple[int, ...] = ()
    """Years between ``counts_from``, ``today`` and ``due`` whose holidays the calendar does not know:
    their working days were counted Monday–Friday, so ``due`` may be wrong (load the year's holiday
    file, see ``jiedai calendar``)."""
    basis_en: str = ""
    """``basis_zh`` in English."""
    action_en: str = ""
    """``action_zh`` in English."""

    @property
    def calendar_note_zh(self) -> str:
        """A warning when the calendar did not know a year it counted in, else empty."""
        if not self.unknown_years:
            return ""
        years = "、".join(str(y) for y in self.unknown_years)
        return f"{years} 年放假安排未载入，工作日按周一至周五计算，到期日可能不准"

    @property
    def calendar_note_en(self) -> str:
        """The English of :attr:`calendar_note_zh`."""
        if not self.unknown_years:
            return ""
        years = ", ".join(str(y) for y in self.unknown_years)
        return f"holidays of {years} not loaded: working days counted Monday-Friday, the due day may be wrong"

    @property
    def due_now(self) -> bool:
        """Overdue or soon due: worth a reminder."""
        return self.status is not DeadlineStatus.OK

    @property
    def key(self) -> str:
        """What makes two reminders the same: the reception, the deadline (and step), the due day
        and the status. A signed step, a new submission or a later status is a new reminder."""
        kind = self.kind.value if self.step is None else f"{self.kind.value}#{self.step}"
        if self.task_id:  # one reminder per task: a transferred or reclaimed task is a new one
            kind = f"{kind}@{self.task_id}"
        return f"{self.reception_id}|{kind}|{self.due.isoformat()}|{self.status.value}"

    @property
    def standing_zh(self) -> str:
        """How late or how soon, in words."""
        if self.status is DeadlineStatus.OVERDUE:
            return f"已逾期 {self.days_late} 天"
        if self.due <= self.today:
            return "今天到期"
        return f"还剩 {self.workdays_left} 个工作日"

    @property
    def standing_en(self) -> str:
        if self.status is DeadlineStatus.OVERDUE:
            return f"{self.days_late} day(s) overdue"
        if self.due <= self.today:
            return "due today"
        return f"{self.workdays_left} working day(s) left"


def calendar_of(engine: Engine) -> WorkCalendar:
    """The engine's working-day calendar: a plugin's through ``jiedai_calendar``, else China's."""
    return engine.calendar


def deadlines(
    engine: Engine,
    reception: Reception,
    *,
    today: date | None = None,
    soon_days: int = 2,
    calendar: WorkCalendar | None = None,
) -> list[Deadline]:
    """Every deadline ``reception`` runs against now, with its status on ``today``.

    :param today: the day to judge by (default: the engine clock's date in China).
    :param soon_days: a deadline within this many working days is ``soon``.
    :param calendar: the working-day calendar (default: :func:`calendar_of` the engine).
    """
    now = engine.clock.now()
    judge = _Judge(today or china_day(now), soon_days, calendar or calendar_of(engine))
    standards = engine.standards_of(reception)
    phase = engine.process_of(reception).phase(reception.state)
    return [
        *_approval(engine, reception, phase, standards, judge),
        *_claim(reception, phase, standards, judge, now),
        *_retroactive(reception, phase, standards, judge),
        *_follow_ups(engine, reception, judge),
        *_execution(reception, judge),
    ]


def find_due(
    engine: Engine,
    today: date,
    *,
    soon_days: int = 2,
    query: ReceptionQuery | None = None,
) -> list[Deadline]:
    """The deadlines overdue or due within ``soon_days`` working days on ``today``.

    Receptions are read page by page (``query.limit`` a page, default 200) in the states where
    something can be due; ``query`` narrows them (jurisdiction, host unit, type, start dates).
    """
    return [d for _reception, due in _scan(engine, today, soon_days, query) for d in due]


def remind(
    engine: Engine,
    today: date,
    *,
    soon_days: int = 2,
    query: ReceptionQuery | None = None,
) -> int:
    """Write reminders 催办 for the deadlines overdue or soon due into the outbox; how many are new.

    One row per deadline and notifier channel, with a :func:`reminder_id` derived from the
    deadline: running again the same day (or while the status stays the same) writes nothing; a
    deadline that turns from soon to overdue is reminded once more. Nothing is delivered here —
    run the dispatcher afterwards (``Dispatcher(engine).run_once()``), inline notifiers included.
    """
    channels = tuple(engine.notifiers)
    if not channels:
        return 0
    written = 0
    now = engine.clock.now()
    for page in _pages(_scan(engine, today, soon_days, query)):
        rows = [
            row
            for reception, due in page
            for row in _reminders(
                engine, reception, due, channels, now, _last_event(engine, reception), today
            )
        ]
        if rows:
            written += engine.store.enqueue(rows)
    return written


def reminders_on(
    engine: Engine,
    reception: Reception,
    day: date,
    channels: Sequence[str],
    *,
    event_id: str,
    created_at: datetime,
) -> dict[str, Notification]:
    """The reminders a scan on ``day`` writes for ``reception`` as it stands now, by outbox id,
    whatever ``soon_days`` the scan took (each deadline soon or overdue on ``day``), on
    ``channels``, attached to ``event_id`` and made at ``created_at``. The dispatcher sends these
    in place of the stored rows: a reminder says nothing its reception does not."""
    due = [d for d in deadlines(engine, reception, today=day, soon_days=_ANY_SOON) if d.due_now]
    return {n.id: n for n in _reminders(engine, reception, due, channels, created_at, event_id, day)}


_ANY_SOON = 100_000
"""A ``soon_days`` no scan goes beyond: every deadline not yet overdue is soon."""


def reminder_id(deadline: Deadline, channel: str) -> str:
    """The outbox id of a deadline's reminder on ``channel``: 32 hex digits, the same every scan."""
    return hashlib.sha256(f"{deadline.key}|{channel}".encode()).hexdigest()[:32]


# -- the deadlines ------------------------------------------------------------------------------


@attrs.frozen
class _Judge:
    """Builds deadlines judged on one day, in one calendar."""

    today: date
    soon_days: int
    calendar: WorkCalendar

    def deadline(
        self,
        kind: DeadlineKind,
        reception: Reception,
        *,
        due: date,
        counts_from: date,
        basis: str,
        limit: int,
        basis_zh: str,
        roles: tuple[Role, ...],
        action_zh: str,
        step: int | None = None,
        people: tuple[str, ...] = (),
        task_id: str = "",
        basis_en: str = "",
        action_en: str = "",
    ) -> Deadline:
        late = (self.today - due).days
        left = workdays_between(self.calendar, self.today, due)
        if late > 0:
            status = DeadlineStatus.OVERDUE
        elif left <= self.soon_days:
            status = DeadlineStatus.SOON
        else:
            status = DeadlineStatus.OK
        return Deadline(
            kind=kind,
            reception_id=reception.id,
            number=reception.number,
            due=due,
            counts_from=counts_from,
            basis=basis,
            limit=limit,
            basis_zh=basis_zh,
            today=self.today,
            status=status,
            workdays_left=left,
            days_late=max(late, 0),
            roles=roles,
            action_zh=action_zh,
            step=step,
            people=people,
            task_id=task_id,
            unknown_years=unknown_years(self.calendar, counts_from, self.today, due),
            basis_en=basis_en or f"{basis} = {limit}, counted from {counts_from}",
            action_en=action_en or ACTIONS_EN[kind],
        )


def _approval(
    engine: Engine, reception: Reception, phase: Phase, standards: Standards, judge: _Judge
) -> Iterator[Deadline]:
    """审批时限: the pending step counts from the submission, or from the step signed before it."""
    limit = standards.approval_deadline_workdays
    step = reception.next_step
    if not phase.awaits_approval or limit is None:
        return
    if step is None:  # the chain is signed: a review step of the process (招商局审核, say) waits
        yield from _review(engine, reception, limit, judge)
        return
    tasks = [t for t in reception.step_tasks(reception.current_step) if t.state is TaskState.OPEN and t.due]
    if tasks:  # each open task of the step, to its owner
        for task in tasks:
            yield _task_deadline(reception, step, task, limit, judge)
        return
    start = china_day(reception.approvals[-1].at) if reception.approvals else _submitted_on(engine, reception)
    label = step.label or step.level or "审批"
    yield judge.deadline(
        DeadlineKind.APPROVAL,
        reception,
        due=add_workdays(judge.calendar, start, limit),
        counts_from=start,
        basis="approval_deadline_workdays",
        limit=limit,
        basis_zh=f"「{label}」环节自 {start} 起 {limit} 个工作日内审批",
        roles=tuple(sorted(step.roles)),
        action_zh=f"请审批「{label}」环节",
        step=len(reception.approvals),
    )


def _task_deadline(
    reception: Reception, step: ApprovalStep, task: Task, limit: int, judge: _Judge
) -> Deadline:
    """审批时限 of one open approval task: to its owner, or to the step's roles while a pool's task
    waits to be claimed; counted from the day it opened."""
    assert task.due is not None  # only tasks with a due day are asked for
    label = step.label or step.level or "审批"
    start = _opened_on(judge.calendar, task, limit)
    delegated = bool(task.delegated_to)
    return judge.deadline(
        DeadlineKind.APPROVAL,
        reception,
        due=task.due,
        counts_from=start,
        basis="approval_deadline_workdays",
        limit=limit,
        basis_zh=f"「{label}」环节自 {start} 起 {limit} 个工作日内审批",
        roles=() if task.owner else tuple(sorted(step.roles)),
        action_zh=f"请对「{label}」环节提出意见（委派）" if delegated else f"请审批「{label}」环节",
        step=task.step,
        people=(task.owner,) if task.owner else (),
        task_id=task.id,
    )


def _opened_on(calendar: WorkCalendar, task: Task, limit: int) -> date:
    """The day a task's working days count from: the day it was created, or — for a signer whose
    turn came later (顺序会签, 加签) — the first day whose limit ends on its due day."""
    assert task.due is not None
    created = china_day(task.created_at)
    if add_workdays(calendar, created, limit) == task.due:
        return created
    day = task.due
    found = created
    while day > created:
        if add_workdays(calendar, day, limit) == task.due:
            found = day
        elif found != created:
            break
        day -= timedelta(days=1)
    return found


def _execution(reception: Reception, judge: _Judge) -> Iterator[Deadline]:
    """执行时限: each open execution item with a due day, to its owner; an item of a department's
    pool nobody has claimed, to the handler who handed it out (a pool of a department has no role
    of its own to reach)."""
    for task in reception.tasks:
        if task.kind is not TaskKind.EXECUTION or task.state is not TaskState.OPEN or task.due is None:
            continue
        since = china_day(task.created_at)
        when = f"，{china_day(task.at)}" if task.at is not None else ""
        where = f"，{task.place}" if task.place else ""
        if task.owner:
            action = f"请完成执行事项「{task.title}」"
        else:
            action = f"执行事项「{task.title}」尚无人认领，请督促「{task.assignee.shown}」认领办理"
        yield judge.deadline(
            DeadlineKind.EXECUTION,
            reception,
            due=task.due,
            counts_from=min(since, task.due),
            basis="execution.due",
            limit=max((task.due - since).days, 0),
            basis_zh=f"执行事项「{task.title}」（{task.assignee.shown}{when}{where}）于 {task.due} 前完成",
            roles=() if task.owner else (Role.HANDLER,),
            action_zh=action,
            people=(task.owner,) if task.owner else (),
            task_id=task.id,
        )


def _review(engine: Engine, reception: Reception, limit: int, judge: _Judge) -> Iterator[Deadline]:
    """审批时限 of a review state after the approval chain: from the day the reception entered it,
    for the roles that may take a decision out of it."""
    process = engine.process_of(reception)
    state = reception.state
    deciders = sorted(
        {
            role
            for t in process.transitions_from(state)
            if process.trigger_defs[t.trigger].decision and t.dest != state
            for role in t.roles
        }
    )
    if not deciders:
        return
    entered = next(
        (e for e in reversed(engine.history(reception.id)) if e.to_state == state and e.from_state != state),
        None,
    )
    start = china_day(entered.at if entered is not None else reception.updated_at)
    label = process.label(state)
    yield judge.deadline(
        DeadlineKind.APPROVAL,
        reception,
        due=add_workdays(judge.calendar, start, limit),
        counts_from=start,
        basis="approval_deadline_workdays",
        limit=limit,
        basis_zh=f"「{label}」自 {start} 起 {limit} 个工作日内办理",
        roles=tuple(deciders),
        action_zh=f"请办理「{label}」",
        step=len(reception.approvals),
    )


def _submitted_on(engine: Engine, reception: Reception) -> date:
    """The day of the last submission (a trigger that opens the approval chain) in the audit trail."""
    triggers = engine.process_of(reception).trigger_defs
    for event in reversed(engine.history(reception.id)):
        found = triggers.get(event.trigger)
        if found is not None and found.opens_chain:
            return china_day(event.at)
    return china_day(reception.updated_at)  # no trail of it (imported data): the last change


def _claim(
    reception: Reception, phase: Phase, standards: Standards, judge: _Judge, now: datetime
) -> Iterator[Deadline]:
    """报销时限 (F-04): once the reception has ended, until the claim is filed."""
    underway = phase is Phase.UNDERWAY
    if not (phase is Phase.HELD or (underway and judge.today > reception.end)):
        return
    found = claim_deadline(reception, standards)
    if found is None:
        return
    start, last, path = found
    basis, limit, span_zh = _claim_basis(standards, start, last)
    origin = "接待结束" if path == "$.end" else "发票日期"
    finish = "结束接待并" if underway else ""
    yield judge.deadline(
        DeadlineKind.CLAIM,
        reception,
        due=last,
        counts_from=start,
        basis=basis,
        limit=limit,
        basis_zh=f"自{origin} {start} 起 {span_zh}内报销",
        roles=(Role.HANDLER,),
        action_zh=f"请{finish}提交接待清单和报销凭证",
    )


def _follow_ups(engine: Engine, reception: Reception, judge: _Judge) -> Iterator[Deadline]:
    """跟踪时限: each open follow-up entry, by the day its owner was given, while the reception is in
    its follow-up stage (a state a follow-up trigger leaves); closing the stage ends them."""
    process = engine.process_of(reception)
    following = any(
        process.trigger_defs[t.trigger].carries_follow_up for t in process.transitions_from(reception.state)
    )
    if not following:
        return
    for index, entry in enumerate(reception.follow_ups):
        if not entry.open or entry.due is None:
            continue
        since = china_day(entry.recorded_at) if entry.recorded_at is not None else entry.due
        yield judge.deadline(
            DeadlineKind.FOLLOW_UP,
            reception,
            due=entry.due,
            counts_from=min(since, entry.due),
            basis="follow_up.due",
            limit=max((entry.due - since).days, 0),
            basis_zh=f"跟踪事项「{entry.summary}」（{entry.kind.label}）由 {entry.owner} "
            f"于 {entry.due} 前完成",
            roles=(Role.HANDLER,),
            action_zh=f"请 {entry.owner} 完成跟踪事项「{entry.summary}」",
            step=index,
        )


def _claim_basis(standards: Standards, start: date, last: date) -> tuple[str, int, str]:
    """Which limit gave the last day (the earlier one, when both days and months are set)."""
    days, months = standards.claim_deadline_days, standards.claim_deadline_months
    if days is not None and (months is None or (last - start).days == days):
        return "claim_deadline_days", days, f"{days} 天"
    assert months is not None  # claim_deadline() found a limit, and it is not the days
    return "claim_deadline_months", months, f"{months} 个月"


def _retroactive(
    reception: Reception, phase: Phase, standards: Standards, judge: _Judge
) -> Iterator[Deadline]:
    """补办时限 (A-01): an urgent reception's approval within the window after its start."""
    if not reception.retroactive or reception.approval_complete or not phase.awaits_claim:
        return
    due = retroactive_deadline(reception, standards)
    window = standards.retroactive_window_days
    if due is None or window is None:
        return
    step = reception.next_step
    label = (step.label or step.level) if step is not None else ""
    owners = tuple(
        dict.fromkeys(
            t.owner
            for t in reception.step_tasks(reception.current_step)
            if t.owner and t.state is TaskState.OPEN
        )
    )
    yield judge.deadline(
        DeadlineKind.RETROACTIVE,
        reception,
        due=due,
        counts_from=reception.start,
        basis="retroactive_window_days",
        limit=window,
        basis_zh=f"自接待开始 {reception.start} 起 {window} 日内补办审批",
        roles=tuple(sorted(step.roles)) if step is not None else (Role.APPROVER,),
        action_zh=f"已先行接待，请补办「{label}」环节审批" if label else "已先行接待，请补办审批",
        step=len(reception.approvals),
        people=owners,
    )


# -- the scan and the reminders -----------------------------------------------------------------


def _scan(
    engine: Engine, today: date, soon_days: int, query: ReceptionQuery | None
) -> Iterator[tuple[Reception, list[Deadline]]]:
    """(reception, its deadlines due now) for each matching reception, one page in memory at a time."""
    base = query or ReceptionQuery(limit=_PAGE)
    scanned = due_states(engine)
    states = base.states & scanned if base.states else scanned
    if not states:
        return
    calendar = calendar_of(engine)
    page_query = attrs.evolve(base, states=states, after=None)
    while True:
        page = engine.query(page_query)
        for reception in page.items:
            found = deadlines(engine, reception, today=today, soon_days=soon_days, calendar=calendar)
            due = [d for d in found if d.due_now]
            if due:
                yield reception, due
        if page.next_cursor is None:
            return
        page_query = attrs.evolve(page_query, after=page.next_cursor)


def _pages(
    found: Iterator[tuple[Reception, list[Deadline]]], size: int = _PAGE
) -> Iterator[list[tuple[Reception, list[Deadline]]]]:
    """Batches of the scan, so reminders are written a batch per transaction."""
    batch: list[tuple[Reception, list[Deadline]]] = []
    for item in found:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reminders(
    engine: Engine,
    reception: Reception,
    due: Sequence[Deadline],
    channels: Sequence[str],
    now: datetime,
    event_id: str,
    today: date,
) -> Iterator[Notification]:
    template = engine.link_template
    link = template.format(id=reception.id, number=reception.number) if template else ""
    for deadline in due:
        kind = deadline.kind
        if deadline.status is DeadlineStatus.OVERDUE:
            headline = f"已超过{kind.label}"
        else:
            headline = f"{kind.label}即将到期"
        message_zh = (
            f"接待 {reception.number}：{headline}——{deadline.basis_zh}，"
            f"最迟 {deadline.due}，{deadline.standing_zh}"
        )
        message_en = (
            f"reception {reception.number}: {kind.value} deadline {deadline.due} "
            f"({deadline.basis} = {deadline.limit} from {deadline.counts_from}), {deadline.standing_en}"
        )
        if deadline.unknown_years:
            message_zh += f"（注意：{deadline.calendar_note_zh}）"
            message_en += f" (note: {deadline.calendar_note_en})"
        for channel in channels:
            yield Notification(
                id=reminder_id(deadline, channel),
                reception_id=reception.id,
                event_id=event_id,
                topic=f"remind:{kind.value}",
                recipients=deadline.roles,
                message_zh=message_zh,
                message_en=message_en,
                created_at=now,
                channel=channel,
                action_zh=deadline.action_zh,
                action_en=deadline.action_en,
                link=link,
                kind="reminder",
                people=deadline.people,
                as_of=today,
            )


def _last_event(engine: Engine, reception: Reception) -> str:
    """The id of the reception's latest audit event, which its reminders are attached to."""
    history = engine.history(reception.id)
    return history[-1].id if history else ""
