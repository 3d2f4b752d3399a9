"""The reception lifecycle 接待流程 as data, and the adapter that runs it on ``transitions``.

States, triggers, the roles allowed to fire each trigger and the Chinese labels live in one
:class:`ProcessDefinition`. So does every behaviour the engine and its neighbours attach to a trigger
or a state: a trigger *declares* that it carries the plan, carries the list, opens an approval chain,
records an approval step, is a decision, runs a rule stage and whom it notifies; a state *declares* its
:class:`Phase`, from which reports, the budget ledger and deadlines know what it means. No other module
names a trigger or state of :data:`DEFAULT_PROCESS`.

:class:`CompiledProcess` validates a definition once and builds one ``transitions.Machine(model=None)``
for it; a reception is fired by handing a small slotted token to
``machine.events[name].trigger(token)`` — no machine per reception, no ``add_model``.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from transitions import Machine

from jiedai_flow.domain.model import Role
from jiedai_flow.errors import DefinitionError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


CREATE_LABEL = "登记公函"
"""What registering a reception is called (``create`` is the engine's own command, no process's
trigger, so no definition carries its label)."""


class Stage(StrEnum):
    """The rule stages 规则环节: the vocabulary rules register under (``Rule.stages``).

    A trigger declares the stage it runs (:attr:`TriggerDef.stage`), so a process whose triggers have
    other names still runs the national rules at the right moments.
    """

    CREATE = "create"
    """登记: a new reception from its letter."""
    EDIT = "edit"
    SUBMIT = "submit"
    """提交审批: the plan is judged in full."""
    WITHDRAW = "withdraw"
    APPROVE = "approve"
    """审批: each approval step."""
    RETURN = "return"
    REFUSE = "refuse"
    AMEND = "amend"
    """变更: a changed plan, judged again before re-approval."""
    START = "start"
    START_URGENT = "start_urgent"
    """紧急先行接待: the plan is judged and the 补办 window opens."""
    FINISH = "finish"
    CLAIM = "claim"
    """报销: the list and its vouchers are judged."""
    SETTLE = "settle"
    """结算: finance's final check."""
    ARCHIVE = "archive"
    CANCEL = "cancel"


class Operation(StrEnum):
    """The approval and task operations 审批操作 a trigger may declare (:attr:`TriggerDef.operation`).
    Each is a command on one reception: authorized, audited, idempotent, compare-and-set; see
    docs/approvals.md for who may do what."""

    CLAIM = "claim"
    """认领: a member of a pool takes its task."""
    TRANSFER = "transfer"
    """转办: the owner hands the task to someone who then owns it."""
    DELEGATE = "delegate"
    """委派: the owner asks someone for an opinion; the task comes back to the owner."""
    REPLY = "reply"
    """委派答复: the delegate gives the opinion and hands the task back."""
    ADD_SIGNERS = "add_signers"
    """加签: add approvers before, after or alongside oneself."""
    REMOVE_SIGNER = "remove_signer"
    """减签: remove an added approver who has not acted."""
    TAKE_BACK = "take_back"
    """拿回: take one's signature back while the next assignee has not acted."""
    SEND_BACK = "send_back"
    """驳回到环节: return to an earlier step; the steps after it are approved again."""
    AGAINST = "against"
    """票签 vote against."""
    JUMP = "jump"
    """跳转: an administrator moves the reception to a state or an earlier step the definition allows."""
    TERMINATE = "terminate"
    """终止: an administrator ends the reception."""
    URGE = "urge"
    """催办: remind the assignees now (rate-limited)."""
    COPY = "copy"
    """抄送: tell people without asking them to act (once per person and reception)."""
    READ = "read"
    """已阅: the owner of a task or a copied person has read it."""
    COMMENT = "comment"
    """沟通: a comment in the timeline, deciding nothing."""
    ASSIGN = "assign"
    """分派: hand the approved plan's items out as execution tasks."""
    COMPLETE = "complete"
    """完成: the owner of an execution task marks it done."""
    PROBLEM = "problem"
    """报告问题: the owner of an execution task reports a problem to the handler."""


class Phase(StrEnum):
    """Where in the life of a reception a state lies 阶段. Reports, the budget ledger, deadlines and
    the importer read a state's phase, never its name.

    ====================  ============  ==========  ==========  ==============================
    phase                 taken place   budget      settled     deadline that runs
    ====================  ============  ==========  ==========  ==============================
    ``drafting``          no            —           no          —
    ``pending``           no            —           no          approval 审批时限
    ``approved``          no            committed   no          —
    ``underway``          yes           committed   no          claim (after the end), 补办
    ``held``              yes           committed   no          claim 报销时限, 补办
    ``settling``          yes           committed   no          —
    ``settled``           yes           spent       yes         —
    ``refused``           no            —           no          —
    ``cancelled``         no            —           no          —
    ====================  ============  ==========  ==========  ==============================
    """

    DRAFTING = "drafting"
    """草拟: before submission."""
    PENDING = "pending"
    """待审批: waiting for an approval step (a review step of a county's process too)."""
    APPROVED = "approved"
    """已审批: planned, not yet held."""
    UNDERWAY = "underway"
    """接待中."""
    HELD = "held"
    """接待结束: held, the claim not yet filed."""
    SETTLING = "settling"
    """报销审核中: the claim is filed."""
    SETTLED = "settled"
    """已结算 (and what follows: follow-up, archive)."""
    REFUSED = "refused"
    """不予接待."""
    CANCELLED = "cancelled"
    """已撤销."""

    @property
    def taken_place(self) -> bool:
        """The reception took place 已发生 (counted as a 批次 by the annual summary)."""
        return self in _TAKEN_PLACE

    @property
    def settled(self) -> bool:
        """Settled 已结算 (counted by the 三公经费 disclosure, booked as spent)."""
        return self is Phase.SETTLED

    @property
    def commits_budget(self) -> bool:
        """The plan's total is committed against the budget once the approval is complete."""
        return self in _COMMITTING

    @property
    def awaits_approval(self) -> bool:
        """The approval deadline runs."""
        return self is Phase.PENDING

    @property
    def awaits_claim(self) -> bool:
        """The claim deadline (F-04) and the 补办 deadline can run."""
        return self in (Phase.UNDERWAY, Phase.HELD)

    @property
    def plan_frozen(self) -> bool:
        """The reception has begun: the plan can no longer change (record facts in the list)."""
        return self in _TAKEN_PLACE


_TAKEN_PLACE = frozenset({Phase.UNDERWAY, Phase.HELD, Phase.SETTLING, Phase.SETTLED})
_COMMITTING = frozenset({Phase.APPROVED, Phase.UNDERWAY, Phase.HELD, Phase.SETTLING})


@attrs.frozen
class StateDef:
    """One state: stable English name, Chinese label, its :class:`Phase`, whether the process ends
    there. Texts follow the one convention of the library: ``*_zh`` and ``*_en``."""

    name: str
    label_zh: str = attrs.field(alias="label")
    terminal: bool = False
    phase: Phase = Phase.DRAFTING
    label_en: str = ""
    """English label; "" shows the name."""

    @property
    def label(self) -> str:
        """The Chinese label (``label_zh``), under its earlier name."""
        return self.label_zh


@attrs.frozen
class TriggerDef:
    """One trigger 操作: its labels, whether the actor must give a reason, and what it means.

    The declarations are what the engine does; a county process sets them on its own triggers.
    """

    name: str
    label_zh: str = attrs.field(alias="label")
    label_en: str
    reason_required: bool = False
    stage: str | None = None
    """The rule stage it runs (:class:`Stage`); None: the stage named like the trigger, if any."""
    carries_plan: bool = False
    """May carry a revised plan 接待方案 (refused in a state whose phase has the plan frozen)."""
    carries_list: bool = False
    """May carry the reception list 接待清单."""
    carries_follow_up: bool = False
    """May carry a follow-up entry 跟踪记录 (``FollowUp``), for a follow-up stage after the reception."""
    opens_chain: bool = False
    """Asks ``jiedai_approval_chain`` for a new chain, records the submitter, resets approvals."""
    retroactive: bool = False
    """With ``opens_chain``: the reception starts before approval; the chain is signed afterwards (补办)."""
    records_approval: bool = False
    """Signs the pending step of the approval chain (one person, one step)."""
    resets_approvals: bool = False
    """Clears the signatures given so far (a change to re-approve). Reaching the initial state always
    clears them."""
    decision: bool = False
    """A decision on someone else's work 决定 (approve, settle): the reception's handler may never take
    it, whatever plugins say, and it accepts every written explanation still pending."""
    review: bool = False
    """A reviewer's answer (return, refuse): the handler may not give it either."""
    submitter_only: bool = False
    """Only whoever submitted may fire it (withdraw)."""
    notify: tuple[Role, ...] = ()
    """Who hears of it 通知对象 (a transition may say otherwise)."""
    action_zh: str = ""
    """What the reader of the notification must do next."""
    operation: Operation | None = None
    """An approval or task operation 审批操作 it performs (转办, 加签 …), carried by the command value
    given to :meth:`Engine.operate <jiedai_flow.process.engine.Engine.operate>`."""
    action_en: str = ""
    """``action_zh`` in English."""

    @property
    def label(self) -> str:
        """The Chinese label (``label_zh``), under its earlier name."""
        return self.label_zh

    @property
    def rule_stage(self) -> str:
        """The stage whose rules it runs."""
        return self.stage if self.stage is not None else self.name

    @property
    def guarded(self) -> bool:
        """Whether separation of duties or the task operations concern it: it decides, reviews,
        signs or operates on tasks (start, finish and the like do none of these)."""
        return bool(self.operation or self.records_approval or self.review or self.decision)


@attrs.frozen
class Transition:
    """``trigger`` moves ``source`` → ``dest`` for actors holding one of ``roles``.

    ``condition`` names a fact the engine establishes before firing (e.g. ``final_step``); the
    transition applies only when the fact holds, so one trigger can lead to different states.
    A handler acting as handler may fire it only on their own receptions (built-in roles plugin).
    """

    trigger: str
    source: str
    dest: str
    roles: frozenset[Role]
    condition: str | None = None
    notify: tuple[Role, ...] | None = None
    """Who hears of this transition; None: the trigger's :attr:`TriggerDef.notify`."""
    action_zh: str | None = None
    """What they must do; None: the trigger's :attr:`TriggerDef.action_zh`."""
    action_en: str | None = None
    """``action_zh`` in English; None: the trigger's :attr:`TriggerDef.action_en`."""


@attrs.frozen
class ProcessDefinition:
    """A versioned process: states, triggers and transitions. Each reception records name@version."""

    name: str
    version: str
    initial: str
    states: tuple[StateDef, ...]
    triggers: tuple[TriggerDef, ...]
    transitions: tuple[Transition, ...]
    origin: str = attrs.field(default="", eq=False)
    """The plugin that contributed it ("" for one built in code); errors name it."""

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def state(self, name: str) -> StateDef:
        return _by_name(self.states, name, "state")

    @property
    def state_names(self) -> frozenset[str]:
        """The names of its states."""
        return frozenset(s.name for s in self.states)

    @property
    def trigger_names(self) -> frozenset[str]:
        """The names of its triggers."""
        return frozenset(t.name for t in self.triggers)

    def trigger(self, name: str) -> TriggerDef:
        return _by_name(self.triggers, name, "trigger")

    # -- deriving a county's process from this one ----------------------------------------------

    def derive(self, name: str | None = None, version: str | None = None) -> ProcessDefinition:
        """A copy under another name and/or version (the steps below change it further)."""
        return attrs.evolve(self, name=name or self.name, version=version or self.version)

    def add(
        self,
        *,
        states: Iterable[StateDef] = (),
        triggers: Iterable[TriggerDef] = (),
        transitions: Iterable[Transition] = (),
    ) -> ProcessDefinition:
        """Add states, triggers and transitions (a new stage, a new side path)."""
        return attrs.evolve(
            self,
            states=(*self.states, *states),
            triggers=(*self.triggers, *triggers),
            transitions=(*self.transitions, *transitions),
        )

    def remove(self, *, triggers: Iterable[str] = (), states: Iterable[str] = ()) -> ProcessDefinition:
        """Remove triggers (with their transitions) and states (with every transition touching them):
        e.g. ``remove(triggers=["start_urgent"])`` for a county that allows no 先行接待. A name the
        process does not have is a DefinitionError: a misspelt removal would leave the path open."""
        gone_t, gone_s = set(triggers), set(states)
        self._known(gone_t, gone_s)
        return attrs.evolve(
            self,
            states=tuple(s for s in self.states if s.name not in gone_s),
            triggers=tuple(t for t in self.triggers if t.name not in gone_t),
            transitions=tuple(
                t
                for t in self.transitions
                if t.trigger not in gone_t and t.source not in gone_s and t.dest not in gone_s
            ),
        )

    def replace(
        self, *, states: Iterable[StateDef] = (), triggers: Iterable[TriggerDef] = ()
    ) -> ProcessDefinition:
        """Swap the declarations of existing states and triggers for new ones of the same name (a
        label, the roles notified, the rule stage …); the transitions stay as they are."""
        new_s = {s.name: s for s in states}
        new_t = {t.name: t for t in triggers}
        self._known(set(new_t), set(new_s))
        return attrs.evolve(
            self,
            states=tuple(new_s.get(s.name, s) for s in self.states),
            triggers=tuple(new_t.get(t.name, t) for t in self.triggers),
        )

    def _known(self, triggers: set[str], states: set[str]) -> None:
        """Refuse trigger or state names this process does not have, naming them and the known ones."""
        problems_zh: list[str] = []
        problems_en: list[str] = []
        for what_zh, what_en, names, known in (
            ("操作", "trigger", triggers, self.trigger_names),
            ("状态", "state", states, self.state_names),
        ):
            unknown = sorted(names - known)
            if unknown:
                problems_zh.append(f"没有{what_zh} {'、'.join(unknown)}（有：{'、'.join(sorted(known))}）")
                problems_en.append(f"no {what_en} {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        if problems_zh:
            raise DefinitionError(
                f"流程 {self.key} " + "；".join(problems_zh), f"process {self.key}: " + "; ".join(problems_en)
            )

    def insert_step(
        self,
        trigger: str,
        source: str,
        dest: str,
        *,
        state: StateDef,
        via: TriggerDef,
        roles: frozenset[Role],
        extra: Iterable[Transition] = (),
    ) -> ProcessDefinition:
        """Put a step between ``source`` and ``dest``: the transitions ``trigger`` took from ``source``
        to ``dest`` now end in ``state``, and ``via`` (fired by ``roles``) leads on from ``state`` to
        ``dest``. ``extra`` adds the step's side paths (return, refuse …)."""
        moved = tuple(
            attrs.evolve(t, dest=state.name)
            if (t.trigger, t.source, t.dest) == (trigger, source, dest)
            else t
            for t in self.transitions
        )
        if moved == self.transitions:
            raise DefinitionError(
                f"流程 {self.key} 没有 {trigger}：{source} → {dest}",
                f"process {self.key} has no {trigger}: {source} -> {dest}",
            )
        return attrs.evolve(
            self,
            states=(*self.states, state),
            triggers=(*self.triggers, via),
            transitions=(*moved, Transition(via.name, state.name, dest, roles), *extra),
        )

    def renamed(
        self,
        states: Mapping[str, str],
        triggers: Mapping[str, str],
        *,
        name: str | None = None,
        version: str | None = None,
    ) -> ProcessDefinition:
        """The same process with states and triggers renamed (names not in the maps stay; a name the
        process does not have is a DefinitionError)."""
        self._known(set(triggers), set(states))

        def st(n: str) -> str:
            return states.get(n, n)

        def tr(n: str) -> str:
            return triggers.get(n, n)

        return attrs.evolve(
            self,
            name=name or self.name,
            version=version or self.version,
            initial=st(self.initial),
            states=tuple(attrs.evolve(s, name=st(s.name)) for s in self.states),
            triggers=tuple(attrs.evolve(t, name=tr(t.name), stage=t.rule_stage) for t in self.triggers),
            transitions=tuple(
                attrs.evolve(
                    t,
                    trigger=tr(t.trigger),
                    source=st(t.source),
                    dest=st(t.dest),
                    condition=JUMP_FACT_PREFIX + st(t.dest)
                    if t.condition is not None and t.condition.startswith(JUMP_FACT_PREFIX)
                    else t.condition,
                )
                for t in self.transitions
            ),
        )

    # -- what the declarations say -------------------------------------------------------------

    def states_in(self, *phases: Phase) -> tuple[str, ...]:
        """The names of the states in any of ``phases``."""
        return tuple(s.name for s in self.states if s.phase in phases)

    def states_where(self, test: Callable[[Phase], bool]) -> tuple[str, ...]:
        """The names of the states whose phase passes ``test`` (e.g. ``lambda p: p.taken_place``)."""
        return tuple(s.name for s in self.states if test(s.phase))

    def path_to(self, state: str) -> tuple[str, ...]:
        """The triggers of the ordinary way from the initial state to ``state``: the fewest steps
        over transitions without a condition (or on the last approval step), no loops. Used to
        import a reception in a given state; ``()`` for the initial state."""
        if state == self.initial:
            return ()
        previous: dict[str, tuple[str, str]] = {}
        queue = deque([self.initial])
        seen = {self.initial}
        while queue:
            at = queue.popleft()
            for t in self.transitions:
                ordinary = t.condition in (None, FACT_FINAL_STEP)
                if t.source != at or t.dest in seen or not ordinary:
                    continue
                seen.add(t.dest)
                previous[t.dest] = (at, t.trigger)
                if t.dest == state:
                    path: list[str] = []
                    node = state
                    while node != self.initial:
                        node, trigger = previous[node]
                        path.append(trigger)
                    return tuple(reversed(path))
                queue.append(t.dest)
        raise DefinitionError(
            f"流程 {self.key} 中无法按常规路径到达「{state}」",
            f"state {state!r} of {self.key} cannot be reached by the ordinary path",
        )


_Named = TypeVar("_Named", StateDef, TriggerDef)


def _by_name(items: Iterable[_Named], name: str, what: str) -> _Named:
    for item in items:
        if item.name == name:
            return item
    raise DefinitionError(f"未定义的{what}：{name}", f"unknown {what}: {name}")


FACT_FINAL_STEP = "final_step"
"""The approval being recorded is the last step of the chain."""
FACT_MORE_STEPS = "more_steps"
"""Steps of the approval chain remain after this one."""
FACT_NO_APPROVALS = "no_approvals"
"""No approver has acted on the current submission (so the submitter may withdraw): nobody signed,
transferred, sent back, claimed, delegated or added signers since it was submitted
(:func:`jiedai_flow.process.tasks.approver_acted`)."""

FACT_RETRO_PENDING = "retro_pending"
"""补办: the reception started before approval and its approval chain is not yet complete."""
FACT_RETRO_FINAL_STEP = "retro_final_step"
"""补办: the approval being recorded is the last step of a chain still to be signed after the
reception started (:data:`FACT_RETRO_PENDING` and :data:`FACT_FINAL_STEP` both hold)."""
FACT_RETRO_MORE_STEPS = "retro_more_steps"
"""补办: steps of the retroactive chain remain after this approval (:data:`FACT_RETRO_PENDING` and
:data:`FACT_MORE_STEPS` both hold)."""

FACT_URGENT_ALLOWED = "urgent_allowed"
"""补办: the reception's standards allow an urgent reception to start before approval."""

FACT_STEP_FAILED = "step_failed"
"""票签: after this vote against, the step can no longer pass."""
FACT_STEP_OPEN = "step_open"
"""票签: after this vote against, the step can still pass."""
JUMP_FACT_PREFIX = "to:"
"""A jump transition 跳转 is conditioned on ``to:<its destination>``: the engine establishes the fact
for the state an administrator names."""

CONDITIONS: Mapping[str, tuple[str, str]] = {
    FACT_FINAL_STEP: ("末级审批", "the last approval step"),
    FACT_STEP_FAILED: ("票签已无法通过", "the vote can no longer pass"),
    FACT_STEP_OPEN: ("票签仍可通过", "the vote can still pass"),
    FACT_MORE_STEPS: ("尚有后续审批环节", "approval steps remain"),
    FACT_NO_APPROVALS: ("尚无人审批", "no approver has acted yet"),
    FACT_RETRO_PENDING: ("补办审批中", "retroactive approval under way"),
    FACT_RETRO_FINAL_STEP: ("补办末级审批", "the last step of the retroactive approval"),
    FACT_RETRO_MORE_STEPS: ("补办尚有后续审批环节", "retroactive approval steps remain"),
    FACT_URGENT_ALLOWED: ("本地允许紧急先行", "local standards allow an urgent start"),
}
"""What each transition condition means, in Chinese and English: the diagram labels a conditioned
transition with it, and a trigger refused for an unmet condition names it."""


def condition_labels(condition: str) -> tuple[str, str]:
    """The Chinese and English wording of ``condition`` (its name when the engine has none)."""
    if condition.startswith(JUMP_FACT_PREFIX):  # a jump 跳转 to a step is refused where it cannot go
        state = condition.removeprefix(JUMP_FACT_PREFIX)
        return f"指明跳转到 {state}", f"a jump that names {state}"
    return CONDITIONS.get(condition, (condition, condition))


def _decided_by_command(condition: str) -> bool:
    """Whether the command itself establishes ``condition`` (not the reception's state)."""
    return condition in (FACT_STEP_FAILED, FACT_STEP_OPEN) or condition.startswith(JUMP_FACT_PREFIX)


KNOWN_FACTS = frozenset(
    {
        FACT_FINAL_STEP,
        FACT_MORE_STEPS,
        FACT_NO_APPROVALS,
        FACT_RETRO_PENDING,
        FACT_RETRO_FINAL_STEP,
        FACT_RETRO_MORE_STEPS,
        FACT_URGENT_ALLOWED,
        FACT_STEP_FAILED,
        FACT_STEP_OPEN,
    }
)

_RETRO_FACTS = frozenset({FACT_RETRO_PENDING, FACT_RETRO_FINAL_STEP, FACT_RETRO_MORE_STEPS})
"""The conditions of a 补办 signature: a process may sign on the pending chain alone, or tell its
last step from the others."""
_RETRO_STEPS = frozenset({FACT_RETRO_FINAL_STEP, FACT_RETRO_MORE_STEPS})

_H = frozenset({Role.HANDLER})
_A = frozenset({Role.APPROVER})
_F = frozenset({Role.FINANCE})
_H_ = (Role.HANDLER,)
_A_ = (Role.APPROVER,)
_F_ = (Role.FINANCE,)


def _t(trigger: str, source: str, dest: str, roles: frozenset[Role], **kw: Any) -> Transition:
    return Transition(trigger, source, dest, roles, **kw)


_SUP = Role.SUPERVISOR


def _signed_afterwards(state: str) -> tuple[Transition, Transition]:
    """补办: an approval step signed in ``state``, which the reception stays in. Only the last step
    tells the handler the retroactive approval is signed; any other signature asks for the next
    step, as one before approval does."""
    return (
        _t(
            "approve",
            state,
            state,
            _A,
            condition=FACT_RETRO_FINAL_STEP,
            notify=_H_,
            action_zh="补办审批已签署",
            action_en="the retroactive approval is signed",
        ),
        _t(
            "approve",
            state,
            state,
            _A,
            condition=FACT_RETRO_MORE_STEPS,
            notify=_A_,
            action_zh="请审批下一环节",
            action_en="please approve the next step",
        ),
    )


_BASE_PROCESS = ProcessDefinition(
    name="reception",
    version="1",
    initial="draft",
    states=(
        StateDef("draft", "草拟", phase=Phase.DRAFTING, label_en="draft"),
        StateDef("submitted", "待审批", phase=Phase.PENDING, label_en="awaiting approval"),
        StateDef("approved", "已审批", phase=Phase.APPROVED, label_en="approved"),
        StateDef("in_progress", "接待中", phase=Phase.UNDERWAY, label_en="under way"),
        StateDef("completed", "接待结束（待报销）", phase=Phase.HELD, label_en="held (awaiting claim)"),
        StateDef("settling", "报销审核中", phase=Phase.SETTLING, label_en="claim under review"),
        StateDef("settled", "已结算", phase=Phase.SETTLED, label_en="settled"),
        StateDef("archived", "已归档", terminal=True, phase=Phase.SETTLED, label_en="archived"),
        StateDef("refused", "不予接待", terminal=True, phase=Phase.REFUSED, label_en="refused"),
        StateDef("cancelled", "已撤销", terminal=True, phase=Phase.CANCELLED, label_en="cancelled"),
    ),
    triggers=(
        TriggerDef("edit", "修改", "edit", carries_plan=True, carries_list=True),
        TriggerDef(
            "submit",
            "提交审批",
            "submit",
            carries_plan=True,
            opens_chain=True,
            notify=_A_,
            action_zh="请审批",
            action_en="please approve",
        ),
        TriggerDef(
            "withdraw",
            "撤回",
            "withdraw",
            submitter_only=True,
            notify=_A_,
            action_zh="经办人已撤回，无需处理",
            action_en="withdrawn by the handler; nothing to do",
        ),
        TriggerDef("approve", "审批同意", "approve", records_approval=True, decision=True),
        TriggerDef(
            "return",
            "退回",
            "return for correction",
            reason_required=True,
            review=True,
            notify=_H_,
            action_zh="请按退回意见修改后重新提交",
            action_en="revise as the reviewer says and submit again",
        ),
        TriggerDef(
            "refuse",
            "不予接待",
            "refuse",
            reason_required=True,
            review=True,
            notify=_H_,
            action_zh="不予接待，请告知派出单位",
            action_en="refused; tell the sending unit",
        ),
        TriggerDef(
            "amend",
            "变更",
            "amend",
            reason_required=True,
            carries_plan=True,
            opens_chain=True,
            resets_approvals=True,
            notify=_A_,
            action_zh="方案已变更，请重新审批",
            action_en="the plan changed; approve it again",
        ),
        TriggerDef("start", "开始接待", "start"),
        TriggerDef(
            "start_urgent",
            "紧急先行接待（事后补办审批）",
            "start before approval (urgent)",
            reason_required=True,
            opens_chain=True,
            retroactive=True,
            resets_approvals=True,
            notify=(Role.APPROVER, _SUP),
            action_zh="已先行接待，请在时限内补办审批",
            action_en="started before approval; approve it within the window",
        ),
        TriggerDef("finish", "接待结束", "finish"),
        TriggerDef(
            "claim",
            "报销（提交清单）",
            "claim",
            carries_list=True,
            notify=_F_,
            action_zh="请审核报销凭证并结算",
            action_en="check the vouchers and settle",
        ),
        TriggerDef(
            "settle",
            "结算",
            "settle",
            decision=True,
            notify=(Role.FINANCE, Role.HANDLER),
            action_zh="已结算，请归档",
            action_en="settled; archive it",
        ),
        TriggerDef("archive", "归档", "archive"),
        TriggerDef(
            "cancel",
            "撤销",
            "cancel",
            reason_required=True,
            notify=_A_,
            action_zh="接待已撤销，请知悉",
            action_en="the reception was cancelled",
        ),
    ),
    transitions=(
        _t("edit", "draft", "draft", _H),
        _t("edit", "completed", "completed", _H),
        _t("submit", "draft", "submitted", _H),
        _t("withdraw", "submitted", "draft", _H, condition=FACT_NO_APPROVALS),
        _t(
            "approve",
            "submitted",
            "approved",
            _A,
            condition=FACT_FINAL_STEP,
            notify=_H_,
            action_zh="审批已通过，可按方案接待",
            action_en="approved; receive the guests as planned",
        ),
        _t(
            "approve",
            "submitted",
            "submitted",
            _A,
            condition=FACT_MORE_STEPS,
            notify=_A_,
            action_zh="请审批下一环节",
            action_en="please approve the next step",
        ),
        _t("return", "submitted", "draft", _A),
        _t("return", "settling", "completed", _F),
        _t("refuse", "submitted", "refused", _A),
        _t("amend", "approved", "submitted", _H),
        _t("start", "approved", "in_progress", _H),
        _t("start_urgent", "draft", "in_progress", _H, condition=FACT_URGENT_ALLOWED),
        _t("start_urgent", "submitted", "in_progress", _H, condition=FACT_URGENT_ALLOWED),
        *_signed_afterwards("in_progress"),
        *_signed_afterwards("completed"),
        _t("refuse", "in_progress", "refused", _A, condition=FACT_RETRO_PENDING, notify=(Role.HANDLER, _SUP)),
        _t("refuse", "completed", "refused", _A, condition=FACT_RETRO_PENDING, notify=(Role.HANDLER, _SUP)),
        _t("finish", "in_progress", "completed", _H),
        _t("claim", "completed", "settling", _H),
        _t("settle", "settling", "settled", _F),
        _t("archive", "settled", "archived", frozenset({Role.FINANCE, Role.OFFICE})),
        _t("cancel", "draft", "cancelled", _H),
        _t("cancel", "submitted", "cancelled", _H | _A),
        _t("cancel", "approved", "cancelled", _H | _A, notify=(Role.HANDLER, Role.APPROVER, _SUP)),
    ),
)


_ALL_BUT_SUPERVISOR = frozenset(Role) - {Role.SUPERVISOR}
_OPERATION_TRIGGERS: tuple[tuple[TriggerDef, frozenset[Role]], ...] = (
    (TriggerDef("claim_task", "认领", "claim a pool task", operation=Operation.CLAIM), _A),
    (
        TriggerDef(
            "transfer_task",
            "转办",
            "transfer a task",
            reason_required=True,
            operation=Operation.TRANSFER,
            action_zh="请办理转来的审批",
            action_en="please handle the transferred approval",
        ),
        _A,
    ),
    (
        TriggerDef(
            "delegate_task",
            "委派",
            "delegate a task for an opinion",
            operation=Operation.DELEGATE,
            action_zh="请提出意见（委派）",
            action_en="please give your opinion (delegated)",
        ),
        _A,
    ),
    (
        TriggerDef(
            "reply_delegation",
            "委派答复",
            "reply to a delegation",
            reason_required=True,
            operation=Operation.REPLY,
            action_zh="委派意见已答复，请决定",
            action_en="the delegate replied; please decide",
        ),
        _ALL_BUT_SUPERVISOR,
    ),
    (
        TriggerDef(
            "add_signers",
            "加签",
            "add approvers",
            operation=Operation.ADD_SIGNERS,
            action_zh="请审批",
            action_en="please approve",
        ),
        _A,
    ),
    (
        TriggerDef("remove_signer", "减签", "remove an added approver", operation=Operation.REMOVE_SIGNER),
        _A | {Role.ADMIN},
    ),
    (
        TriggerDef(
            "send_back",
            "驳回到环节",
            "send back to an earlier step",
            reason_required=True,
            review=True,
            operation=Operation.SEND_BACK,
            action_zh="请重新审批",
            action_en="please approve again",
        ),
        _A,
    ),
    (
        TriggerDef(
            "vote_against",
            "反对（票签）",
            "vote against",
            reason_required=True,
            review=True,
            operation=Operation.AGAINST,
        ),
        _A,
    ),
    (
        TriggerDef(
            "urge",
            "催办",
            "urge the assignees",
            operation=Operation.URGE,
            action_zh="请尽快办理（催办）",
            action_en="please act soon (reminder)",
        ),
        frozenset({Role.HANDLER, Role.APPROVER, Role.OFFICE, Role.ADMIN}),
    ),
    (
        TriggerDef(
            "carbon_copy",
            "抄送",
            "copy to",
            operation=Operation.COPY,
            action_zh="请知悉（抄送）",
            action_en="for your information (copy)",
        ),
        frozenset({Role.HANDLER, Role.APPROVER, Role.OFFICE, Role.ADMIN}),
    ),
    # 纪检 too: it records that they read a copy sent to them, and changes nothing of the reception
    (TriggerDef("mark_read", "已阅", "mark as read", operation=Operation.READ), frozenset(Role)),
    (
        TriggerDef("comment", "沟通意见", "comment", reason_required=True, operation=Operation.COMMENT),
        _ALL_BUT_SUPERVISOR,
    ),
    (
        TriggerDef(
            "assign_items",
            "分派执行任务",
            "assign execution tasks",
            operation=Operation.ASSIGN,
            action_zh="请按时完成接待事项",
            action_en="please carry out your reception item on time",
        ),
        frozenset({Role.HANDLER, Role.OFFICE}),
    ),
    (
        TriggerDef(
            "complete_item", "完成执行任务", "complete an execution task", operation=Operation.COMPLETE
        ),
        _ALL_BUT_SUPERVISOR,
    ),
    (
        TriggerDef(
            "report_problem",
            "报告问题",
            "report a problem",
            reason_required=True,
            operation=Operation.PROBLEM,
            action_zh="执行任务报告了问题，请处理",
            action_en="an execution item reports a problem; please handle it",
        ),
        _ALL_BUT_SUPERVISOR,
    ),
)
_TAKE_BACK = TriggerDef(
    "take_back",
    "拿回",
    "take back a signature",
    operation=Operation.TAKE_BACK,
    action_zh="审批已被拿回，无需处理",
    action_en="the signature was taken back; nothing to do",
)
_TERMINATE = TriggerDef(
    "terminate",
    "终止",
    "terminate",
    reason_required=True,
    operation=Operation.TERMINATE,
    notify=(Role.HANDLER, Role.SUPERVISOR),
    action_zh="接待已被管理员终止，请知悉",
    action_en="the reception was terminated by an administrator",
)
_JUMP = TriggerDef(
    "jump",
    "跳转",
    "jump to a step",
    reason_required=True,
    operation=Operation.JUMP,
    notify=(Role.HANDLER, Role.APPROVER, Role.SUPERVISOR),
    action_zh="管理员已调整流程环节，请知悉",
    action_en="an administrator moved the reception to another step",
)


def told_as_declared(definition: ProcessDefinition) -> tuple[Transition, ...]:
    """The definition's transitions, each with who hears of it and what they are asked to do where
    it says nothing and the definition implies it: a vote against 票签反对 that refuses the reception
    is told as the definition's own refusing answer from the same state is (the handler; after a
    补办, 纪检 too), whatever a county's process says of that answer. The others as they are."""
    declared = {t.name: t for t in definition.triggers}
    refused = {s.name for s in definition.states if s.phase is Phase.REFUSED}
    answers: dict[tuple[str, str], Transition] = {}  # (source, dest): the first refusing answer
    for t in definition.transitions:
        answer = declared.get(t.trigger)
        if t.dest in refused and answer is not None and answer.review:
            answers.setdefault(
                (t.source, t.dest),
                attrs.evolve(
                    t,
                    notify=t.notify if t.notify is not None else answer.notify,
                    action_zh=t.action_zh if t.action_zh is not None else answer.action_zh,
                    action_en=t.action_en if t.action_en is not None else answer.action_en,
                ),
            )

    against = {t.name for t in definition.triggers if t.operation is Operation.AGAINST}

    def told(t: Transition) -> Transition:
        answer = answers.get((t.source, t.dest))
        if t.trigger not in against or t.notify is not None or answer is None:
            return t
        return attrs.evolve(t, notify=answer.notify, action_zh=answer.action_zh, action_en=answer.action_en)

    return tuple(map(told, definition.transitions))


def with_operations(
    definition: ProcessDefinition, *, terminated: StateDef | None = None
) -> ProcessDefinition:
    """``definition`` with the approval and task operations 审批操作 added where its declarations say
    they belong: the task operations in every state where an approval step is signed; 拿回 there and
    from the approved state back; 催办, 抄送 and comments in every state that is not terminal, 已阅 in
    every state (a copy may be read after the reception ended);
    execution tasks once approved until the reception is held; 终止 from every state that is not
    terminal to ``terminated``; 跳转 along the backward paths the definition already has (a return,
    a change) and to an earlier step of a pending chain. A county process derived from the default
    has them already; one written from scratch calls this."""
    phases = {s.name: s.phase for s in definition.states}
    defs = {t.name: t for t in definition.triggers}
    open_states = [s.name for s in definition.states if not s.terminal]
    signing: list[tuple[str, str | None]] = []
    for t in definition.transitions:
        declared = defs.get(t.trigger)
        if declared is not None and declared.records_approval:
            condition = FACT_RETRO_PENDING if t.condition in _RETRO_FACTS else None
            if (t.source, condition) not in signing:
                signing.append((t.source, condition))
    approved = [n for n in open_states if phases[n] is Phase.APPROVED]
    pending = [n for n, c in signing if c is None]
    executing = [n for n in open_states if phases[n] in (Phase.APPROVED, Phase.UNDERWAY, Phase.HELD)]
    end = terminated or StateDef(
        "terminated", "已终止", terminal=True, phase=Phase.CANCELLED, label_en="terminated"
    )
    refused = next((s.name for s in definition.states if s.phase is Phase.REFUSED and s.terminal), end.name)
    moves: list[Transition] = []
    for trigger, roles in _OPERATION_TRIGGERS:
        op = trigger.operation
        if op is Operation.AGAINST:  # a 补办 vote too: its failure refuses the retroactive approval
            for source in dict.fromkeys(source for source, _condition in signing):
                moves.append(Transition(trigger.name, source, source, roles, condition=FACT_STEP_OPEN))
                # told as a refusal from there is, when compiled: see told_as_declared
                moves.append(Transition(trigger.name, source, refused, roles, condition=FACT_STEP_FAILED))
        elif op is Operation.READ:  # a copy may be read after the reception ended
            moves += [Transition(trigger.name, n, n, roles) for n in dict.fromkeys((*phases, end.name))]
        elif op is Operation.REMOVE_SIGNER:  # removing the last one waited for passes the chain
            for source, condition in signing:
                passing = [
                    t
                    for t in definition.transitions
                    if t.source == source
                    and t.condition == FACT_FINAL_STEP
                    and defs[t.trigger].records_approval
                ]
                if condition is None and passing:
                    moves.append(attrs.evolve(passing[0], trigger=trigger.name, roles=roles))
                    moves.append(Transition(trigger.name, source, source, roles, condition=FACT_MORE_STEPS))
                else:
                    moves.append(Transition(trigger.name, source, source, roles, condition=condition))
        elif op in (Operation.URGE, Operation.COPY, Operation.COMMENT):
            moves += [Transition(trigger.name, n, n, roles) for n in open_states]
        elif op in (Operation.ASSIGN, Operation.COMPLETE, Operation.PROBLEM):
            states = (
                executing
                if op is not Operation.ASSIGN
                else [n for n in executing if phases[n] is not Phase.HELD]
            )
            moves += [Transition(trigger.name, n, n, roles) for n in states]
        else:
            moves += [Transition(trigger.name, n, n, roles, condition=c) for n, c in signing]
    moves += [Transition(_TAKE_BACK.name, n, n, _A) for n in pending]
    opening = {t.name for t in definition.triggers if t.opens_chain and not t.retroactive}
    for t in definition.transitions:
        if t.trigger in opening and t.source in approved and t.dest in pending:
            moves.append(Transition(_TAKE_BACK.name, t.source, t.dest, _A))
    admin = frozenset({Role.ADMIN})
    moves += [Transition(_TERMINATE.name, n, end.name, admin) for n in open_states]
    jumps: list[tuple[str, str]] = [(n, n) for n in pending]
    for t in definition.transitions:
        declared = defs.get(t.trigger)
        if declared is None or declared.retroactive or t.source == t.dest or t.dest not in phases:
            continue
        backward = declared.review or (declared.opens_chain and t.source in approved)
        if backward and phases[t.dest] is not Phase.REFUSED and (t.source, t.dest) not in jumps:
            jumps.append((t.source, t.dest))
    moves += [
        Transition(_JUMP.name, source, dest, admin, condition=JUMP_FACT_PREFIX + dest)
        for source, dest in jumps
    ]
    has_end = any(s.name == end.name for s in definition.states)
    return definition.add(
        states=() if has_end else (end,),
        triggers=(*(t for t, _ in _OPERATION_TRIGGERS), _TAKE_BACK, _TERMINATE, _JUMP),
        transitions=moves,
    )


DEFAULT_PROCESS = with_operations(_BASE_PROCESS)
"""The default process of the design:
草拟 → 待审批 → 已审批 → 接待中 → 接待结束 → 报销审核中 → 已结算 → 已归档, with the approval and
task operations of :func:`with_operations`."""


_Notice = tuple[tuple[Role, ...], str, str]
"""Whom a transition tells, and what it asks of them in Chinese and English."""


@attrs.define(slots=True)
class _Token:
    """What ``transitions`` sees of a reception: its state."""

    state: str


def _fact_condition(fact: str) -> Callable[[frozenset[str]], bool]:
    """A transition's condition: ``fact`` holds among the facts the trigger was fired with."""

    def holds(facts: frozenset[str]) -> bool:
        return fact in facts

    holds.__name__ = f"fact_{fact}"
    return holds


class CompiledProcess:
    """A validated process definition with its single ``transitions`` machine.

    Built once per definition; :meth:`fire` is O(1) in the number of receptions.
    """

    def __init__(self, definition: ProcessDefinition) -> None:
        validate_definition(definition)
        self.definition = definition
        self._by_source: dict[str, tuple[Transition, ...]] = {}
        self._by_pair: dict[tuple[str, str], tuple[Transition, ...]] = {}
        for t in definition.transitions:
            self._by_source[t.source] = (*self._by_source.get(t.source, ()), t)
            pair = (t.source, t.trigger)
            self._by_pair[pair] = (*self._by_pair.get(pair, ()), t)
        self._triggers_from = {
            source: tuple(dict.fromkeys(t.trigger for t in moves))
            for source, moves in self._by_source.items()
        }
        self._awaiting = frozenset(s.name for s in definition.states if s.phase.awaits_approval)
        self._labels = {s.name: s.label for s in definition.states}
        self._labels_en = {s.name: s.label_en or s.name for s in definition.states}
        self._phases = {s.name: s.phase for s in definition.states}
        self.trigger_defs = {t.name: t for t in definition.triggers}
        self.operations: dict[str, str] = {
            t.operation.value: t.name for t in definition.triggers if t.operation is not None
        }
        """The trigger that performs each operation 审批操作 the definition declares."""
        self._operation_roles = {
            operation: frozenset(
                role for t in definition.transitions if t.trigger == trigger for role in t.roles
            )
            for operation, trigger in self.operations.items()
        }
        self.terminal_states = frozenset(s.name for s in definition.states if s.terminal)
        self._sources: dict[str, frozenset[str]] = {}
        for t in definition.transitions:
            self._sources[t.trigger] = self._sources.get(t.trigger, frozenset()) | {t.source}
        self._told: dict[tuple[str, str, str], _Notice] = {}
        self._told_on: dict[tuple[str, str, str, str | None], _Notice] = {}
        for t in told_as_declared(definition):
            declared = self.trigger_defs.get(t.trigger)
            notify = t.notify if t.notify is not None else (declared.notify if declared else ())
            action = t.action_zh if t.action_zh is not None else (declared.action_zh if declared else "")
            action_en = t.action_en if t.action_en is not None else (declared.action_en if declared else "")
            self._told.setdefault((t.trigger, t.source, t.dest), (notify, action, action_en))
            self._told_on.setdefault((t.trigger, t.source, t.dest, t.condition), (notify, action, action_en))
        self.conditioned = frozenset(
            (t.source, t.trigger, t.condition) for t in definition.transitions if t.condition
        )
        """(state, trigger, condition) for every conditional transition: which facts a command needs."""
        self.conditional = frozenset((source, trigger) for source, trigger, _ in self.conditioned)
        """(state, trigger) pairs with a conditional transition: the others need no facts at all."""
        self._machine = Machine(
            model=None,
            states=[s.name for s in definition.states],
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": t.source,
                    "dest": t.dest,
                    "conditions": [_fact_condition(t.condition)] if t.condition else [],
                }
                for t in definition.transitions
            ],
            initial=definition.initial,
            auto_transitions=False,
            send_event=False,  # conditions get the trigger's facts, not an EventData
        )

    def operation_roles(self, operation: Operation) -> frozenset[Role]:
        """The roles that may perform ``operation`` from some state (its trigger's transitions)."""
        return self._operation_roles.get(operation.value, frozenset())

    def sources(self, trigger: str) -> frozenset[str]:
        """The states ``trigger`` has a transition from."""
        return self._sources.get(trigger, frozenset())

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        """Every transition leaving ``state``, in definition order."""
        return self._by_source.get(state, ())

    def candidates(self, state: str, trigger: str) -> tuple[Transition, ...]:
        """The transitions of ``trigger`` leaving ``state``, in definition order."""
        return self._by_pair.get((state, trigger), ())

    def possible(self, state: str, trigger: str, facts: frozenset[str]) -> tuple[Transition, ...]:
        """The transitions ``trigger`` may take from ``state`` given ``facts``, counting those whose
        condition the command itself decides (a vote against: whether the step can still pass; a
        jump: the state named)."""
        return tuple(
            t
            for t in self.candidates(state, trigger)
            if t.condition is None or t.condition in facts or _decided_by_command(t.condition)
        )

    def triggers_from(self, state: str) -> tuple[str, ...]:
        """The triggers with a transition leaving ``state``, each once, in definition order."""
        return self._triggers_from.get(state, ())

    def awaits_approval(self, state: str) -> bool:
        """Whether ``state``'s phase awaits approval 待审批."""
        return state in self._awaiting

    def label(self, state: str) -> str:
        return self._labels[state]

    def label_en(self, state: str) -> str:
        """The state's English label, its name when it declares none."""
        return self._labels_en[state]

    def phase(self, state: str) -> Phase:
        """The phase a state of this process declares."""
        return self._phases[state]

    def transition(self, trigger: str, source: str, dest: str) -> Transition | None:
        """The transition ``trigger`` took from ``source`` to ``dest`` (None for ``create`` or an
        unknown one)."""
        for t in self.transitions_from(source):
            if t.trigger == trigger and t.dest == dest:
                return t
        return None

    def recipients(
        self, trigger: str, source: str, dest: str, condition: str | None = None
    ) -> tuple[Role, ...]:
        """Who hears of the step: the transition's ``notify``, else the trigger's. ``condition``
        tells apart transitions of ``trigger`` from ``source`` to ``dest`` that tell differently (a
        补办 signature on its last step or not); without it, the first is meant."""
        return self._notice(trigger, source, dest, condition)[0]

    def action(self, trigger: str, source: str, dest: str, condition: str | None = None) -> str:
        """What the reader must do next: the transition's ``action_zh``, else the trigger's."""
        return self._notice(trigger, source, dest, condition)[1]

    def action_en(self, trigger: str, source: str, dest: str, condition: str | None = None) -> str:
        """:meth:`action` in English (``action_en``)."""
        return self._notice(trigger, source, dest, condition)[2]

    def _notice(self, trigger: str, source: str, dest: str, condition: str | None) -> _Notice:
        found = self._told_on.get((trigger, source, dest, condition))
        return found if found is not None else self._told.get((trigger, source, dest), ((), "", ""))

    def fire(self, state: str, trigger: str, facts: frozenset[str]) -> str | None:
        """Run ``trigger`` from ``state`` through the machine; the new state, or None if no
        transition's condition held. The caller has checked that the trigger exists from ``state``."""
        token = _Token(state)
        if not self._machine.events[trigger].trigger(token, facts):
            return None
        return token.state

    def applicable(self, state: str, trigger: str, facts: frozenset[str]) -> Transition | None:
        """The transition ``trigger`` would take from ``state`` given ``facts`` (no side effects)."""
        for t in self.candidates(state, trigger):
            if t.condition is None or t.condition in facts:
                return t
        return None


def validate_definition(definition: ProcessDefinition) -> None:
    """Refuse a definition with unknown names, unreachable states, dead ends, unknown roles, or a
    trigger that carries the list where no approval chain has been opened yet. The error names the
    plugin that contributed the definition."""
    problems: list[str] = []
    states = {s.name: s for s in definition.states}
    triggers = {t.name for t in definition.triggers}
    for trigger_def in definition.triggers:
        problems.extend(f"trigger {trigger_def.name}: {p}" for p in _role_problems(trigger_def.notify))
        if trigger_def.retroactive and not trigger_def.opens_chain:
            problems.append(f"trigger {trigger_def.name}: retroactive without opens_chain")
    for state in definition.states:
        if not isinstance(state.phase, Phase):
            problems.append(f"state {state.name}: unknown phase {state.phase!r}")
    problems.extend(_trigger_problems(definition))
    for what, names in (
        ("state", [s.name for s in definition.states]),
        ("trigger", [t.name for t in definition.triggers]),
    ):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            problems.append(f"{what} declared twice: {', '.join(twice)}")
    if definition.initial not in states:
        problems.append(f"initial state {definition.initial!r} is not defined")
    edges: dict[str, set[str]] = {name: set() for name in states}
    receipts = {t.name for t in definition.triggers if t.operation is Operation.READ}
    for t in definition.transitions:
        for end in (t.source, t.dest):
            if end not in states:
                problems.append(f"transition {t.trigger}: unknown state {end!r}")
        if t.trigger not in triggers:
            problems.append(f"transition uses undefined trigger {t.trigger!r}")
        jump_to = t.condition is not None and t.condition == JUMP_FACT_PREFIX + t.dest
        if t.condition is not None and t.condition not in KNOWN_FACTS and not jump_to:
            problems.append(f"transition {t.trigger}: unknown condition {t.condition!r}")
        if not t.roles:
            problems.append(f"transition {t.trigger} from {t.source}: no role may fire it")
        for p in (*_role_problems(t.roles), *_role_problems(t.notify or ())):
            problems.append(f"transition {t.trigger} from {t.source}: {p}")
        receipt = t.source == t.dest and t.trigger in receipts
        if t.source in edges and t.dest in states and not receipt:  # 已阅 changes no state: not an exit
            edges[t.source].add(t.dest)
    if not problems:
        problems.extend(_graph_problems(definition.initial, states, edges))
        problems.extend(_list_before_plan(definition))
    if problems:
        origin = f"（插件 {definition.origin} 提供）" if definition.origin else ""
        origin_en = f" (from plugin {definition.origin})" if definition.origin else ""
        raise DefinitionError(
            f"流程定义 {definition.key}{origin} 有误：" + "；".join(problems),
            f"process definition {definition.key}{origin_en} is invalid: " + "; ".join(problems),
        )


_RESERVED = frozenset({Stage.CREATE.value, "migrate"})
"""Names of the engine's own commands (登记, 迁移): no process may define a trigger by them."""
_STAGES = frozenset(s.value for s in Stage)


def _trigger_problems(definition: ProcessDefinition) -> list[str]:
    """Declarations that cannot work: reserved names, a payload or chain trigger that runs no rule
    stage, a trigger that both opens and signs a chain, approval steps out of a pending state
    that cannot tell the last signature from the others, and 补办 signatures with a transition for
    the last step and none for the others, or the reverse."""
    problems: list[str] = []
    phases = {s.name: s.phase for s in definition.states}
    for t in definition.triggers:
        if t.name in _RESERVED:
            problems.append(f"trigger {t.name}: the name is the engine's own command")
        if (t.opens_chain or t.carries_plan or t.carries_list) and t.rule_stage not in _STAGES:
            problems.append(
                f"trigger {t.name} carries the plan or list or opens a chain but runs no rule stage "
                f"({t.rule_stage!r}); declare stage=Stage.…"
            )
        if t.opens_chain and t.records_approval:
            problems.append(f"trigger {t.name}: opens a chain and signs it at once")
        if t.operation is not None and (
            t.opens_chain or t.records_approval or t.carries_plan or t.carries_list
        ):
            problems.append(f"trigger {t.name}: an operation ({t.operation}) carries nothing else")
    operations = [t.operation for t in definition.triggers if t.operation is not None]
    for twice in sorted({o for o in operations if operations.count(o) > 1}):
        problems.append(f"operation {twice} is declared by two triggers")
    signing = {t.name for t in definition.triggers if t.records_approval}
    by_source: dict[tuple[str, str], set[str | None]] = {}
    for move in definition.transitions:
        if move.trigger in signing and phases.get(move.source) is Phase.PENDING:
            by_source.setdefault((move.source, move.trigger), set()).add(move.condition)
    for (source, trigger), conditions in by_source.items():
        if conditions != {FACT_FINAL_STEP, FACT_MORE_STEPS}:
            problems.append(
                f"trigger {trigger} from {source!r} signs an approval step: it needs one transition on "
                f"{FACT_FINAL_STEP!r} and one on {FACT_MORE_STEPS!r} (found {sorted(map(str, conditions))})"
            )
    retro: dict[tuple[str, str], set[str]] = {}
    for move in definition.transitions:
        if move.trigger in signing and move.condition in _RETRO_STEPS:
            retro.setdefault((move.source, move.trigger), set()).add(move.condition)
    for (source, trigger), found in retro.items():
        if found != _RETRO_STEPS:  # one alone would refuse the chain's other signatures
            problems.append(
                f"trigger {trigger} from {source!r} signs a retroactive step: it needs one transition on "
                f"{FACT_RETRO_FINAL_STEP!r} and one on {FACT_RETRO_MORE_STEPS!r}, or one on "
                f"{FACT_RETRO_PENDING!r} (found {sorted(found)})"
            )
    return problems


def _role_problems(roles: Iterable[object]) -> list[str]:
    known = {r.value for r in Role}
    return [f"unknown role {r!r}" for r in roles if not isinstance(r, Role) and r not in known]


def _list_before_plan(definition: ProcessDefinition) -> list[str]:
    """A trigger that carries only the list, reachable before any trigger opened an approval chain:
    the list would be filed for a plan nobody judged."""
    defs = {t.name: t for t in definition.triggers}
    before = {definition.initial}
    queue = deque([definition.initial])
    problems: list[str] = []
    while queue:
        at = queue.popleft()
        for t in definition.transitions:
            if t.source != at:
                continue
            trigger = defs[t.trigger]
            if trigger.carries_list and not trigger.carries_plan:
                problems.append(
                    f"trigger {t.trigger} carries the list from {at!r}, before any trigger opens an "
                    "approval chain"
                )
            if not trigger.opens_chain and t.dest not in before:
                before.add(t.dest)
                queue.append(t.dest)
    return problems


def _graph_problems(initial: str, states: Mapping[str, StateDef], edges: Mapping[str, set[str]]) -> list[str]:
    problems: list[str] = []
    reachable = _closure(initial, edges)
    for name in states:
        if name not in reachable:
            problems.append(f"state {name!r} is unreachable from {initial!r}")
    reverse: dict[str, set[str]] = {name: set() for name in states}
    for src, dests in edges.items():
        for dest in dests:
            reverse[dest].add(src)
    terminals = [name for name, s in states.items() if s.terminal]
    if not terminals:
        problems.append("no terminal state")
    can_finish: set[str] = set()
    for end in terminals:
        can_finish |= _closure(end, reverse)
    for name, state in states.items():
        if state.terminal and edges[name]:
            problems.append(f"terminal state {name!r} has outgoing transitions")
        if not state.terminal and name not in can_finish:
            problems.append(f"state {name!r} is a dead end (no path to a terminal state)")
    return problems


def _closure(start: str, edges: Mapping[str, set[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
