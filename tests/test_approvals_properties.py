"""Random approval operations by random people on random chains, on the in-memory store and on
SQLite: after every step a reception still collecting approvals has an open task someone may act
on; no step counts as passed without the agreement its kind requires (recomputed here from the
signatures); a claimed task is in one person's 待办 (and their stand-in's) only; the SQL task index
and lists agree with the reception; the handler never sees an approval task of their own reception;
and a refused operation changes nothing."""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from jiedai_flow import Actor, ApprovalStep, JiedaiFlowError, Role, hookimpl
from jiedai_flow.domain.records import ENDED, Assignee, AssigneeKind, StepKind, TaskKind, TaskState
from jiedai_flow.errors import PluginError
from jiedai_flow.process.lifecycle import Operation
from jiedai_flow.process.tasks import (
    AddSigners,
    Against,
    Claim,
    Comment,
    Copy,
    Delegate,
    Jump,
    MarkRead,
    Position,
    RemoveSigner,
    Reply,
    SendBack,
    TakeBack,
    TaskCommand,
    Terminate,
    Transfer,
    Urge,
)
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from jiedai_flow import Engine, Reception
    from jiedai_flow.domain.standards import Standards

HEAD, LEADER, FINANCE = "部门负责人", "分管领导", "县财政局"
START = date(2026, 3, 16)


def approver(actor_id: str, levels: tuple[str, ...] = (), unit: str = "") -> Actor:
    return Actor(
        actor_id, f"审批人{actor_id}", frozenset({Role.APPROVER}), unit=unit, levels=frozenset(levels)
    )


PEOPLE = {
    p.id: p
    for p in (
        approver("a", (HEAD,), FINANCE),
        approver("b", (LEADER,)),
        approver("c", (), FINANCE),
        approver("d", (HEAD, LEADER)),
        approver("e"),
        approver("x"),  # stands in for a
        approver("y", (LEADER,)),
    )
}
HANDLERS = (ACTORS["handler"], ACTORS["handler2"])
"""The handlers of the two receptions of every run."""
HANDLER_APPROVER = Actor(
    HANDLERS[0].id,
    HANDLERS[0].name,
    frozenset({Role.HANDLER, Role.APPROVER}),
    unit=FINANCE,
    levels=frozenset({HEAD, LEADER}),
)
"""The first reception's handler, who is also an approver in every pool: may act on the second
reception's tasks, never on their own reception's."""
ADMIN = Actor("admin", "管理员", frozenset({Role.ADMIN}))
OFFICE = ACTORS["office"]
SUPERVISOR = Actor("jijian", "纪检组", frozenset({Role.SUPERVISOR}))
ACTING = (*PEOPLE.values(), HANDLER_APPROVER, HANDLERS[1], ADMIN, OFFICE, SUPERVISOR)
STAND_INS = {"a": "x"}
"""principal → stand-in, in force for the whole run."""
TARGETS = (*sorted(PEOPLE), HANDLERS[0].id, HANDLERS[1].id, OFFICE.id)
REASONS = ("", "请补充说明")

# -- random chains -------------------------------------------------------------------------------

people = st.sampled_from(["a", "b", "c", "d", "e", "y"])
POOLS = (
    Assignee.level(HEAD),
    Assignee.level(LEADER),
    Assignee(AssigneeKind.LEVEL, "", 1, "任一审批人"),
    Assignee.unit(FINANCE),
)
assignees = st.one_of(people.map(Assignee.person), st.sampled_from(POOLS))


def _pool_step(pool: Assignee) -> ApprovalStep:
    if pool.kind is AssigneeKind.LEVEL:
        return ApprovalStep(pool.ref, pool.shown)  # the classic step: one task for the level's pool
    return ApprovalStep("", pool.shown, assignees=(pool,))


def _step(kind: StepKind, label: str) -> Callable[[list[Assignee]], ApprovalStep]:
    return lambda who: ApprovalStep("", label, kind=kind, assignees=tuple(who))


def _vote(drawn: tuple[list[str], list[int], int]) -> ApprovalStep:
    ids, weights, threshold = drawn
    who = tuple(Assignee.person(p, w) for p, w in zip(ids, weights, strict=True))
    return ApprovalStep("", "票签", kind=StepKind.VOTE, threshold=threshold, assignees=who)


named = st.lists(people, min_size=2, max_size=3, unique=True).map(
    lambda ids: [Assignee.person(i) for i in ids]
)
steps = st.one_of(
    st.sampled_from(POOLS).map(_pool_step),
    people.map(lambda p: ApprovalStep("", f"{p} 审批", assignees=(Assignee.person(p),))),
    named.map(_step(StepKind.SEQUENTIAL, "顺序会签")),
    st.lists(assignees, min_size=2, max_size=4, unique_by=lambda a: (a.kind, a.ref)).map(
        _step(StepKind.PARALLEL, "并行会签")
    ),
    named.map(_step(StepKind.ANY, "或签")),
    st.tuples(
        st.lists(people, min_size=3, max_size=3, unique=True),
        st.lists(st.integers(1, 3), min_size=3, max_size=3),
        st.sampled_from([34, 50, 66]),
    ).map(_vote),
)


def _named_once(chain: list[ApprovalStep]) -> bool:
    """Nobody named on two steps: the engine refuses such a chain at submission (one signature a
    chain), tested in test_approvals.py."""
    named = [a.ref for step in chain for a in step.assignees if a.kind is AssigneeKind.PERSON]
    return len(named) == len(set(named))


chains = st.one_of(
    st.lists(steps, min_size=1, max_size=3).filter(_named_once),
    # pools only, overlapping (d is 部门负责人 and 分管领导, a is 部门负责人 in 县财政局): who signs one
    # pool decides who is left for the next
    st.lists(st.sampled_from(POOLS[:2] + POOLS[3:]).map(_pool_step), min_size=2, max_size=3),
)


class Directory:
    """The deployment's directory (``jiedai_actor``): everyone who acts in a run. With it, targets
    are checked and a stand-in's 待办 holds the principal's pool tasks."""

    @hookimpl
    def jiedai_actor(self, actor_id: str) -> Actor | None:
        return {a.id: a for a in (*ACTING, HANDLER_APPROVER)}.get(actor_id)

    @hookimpl
    def jiedai_actors(self) -> tuple[Actor, ...]:
        return EVERYONE


EVERYONE = tuple({a.id: a for a in (*ACTING, HANDLER_APPROVER)}.values())
"""Everyone the directory lists (``jiedai_actors``): pools must then be signable apart."""


class Chains:
    """The county plugin: each reception's chain, as drawn."""

    def __init__(self) -> None:
        self.by_handler: dict[str, list[ApprovalStep]] = {}

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del standards
        return self.by_handler[reception.handler.id]


# -- the SQLite database of each run: a copy of one migrated file ---------------------------------

_TEMPLATE: list[Path] = []


def sqlite_url() -> tuple[str, Path]:
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="jiedai-props-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        make_engine(url=f"sqlite:///{folder / 'template.db'}").store.close()
        _TEMPLATE.append(folder / "template.db")
    folder = Path(tempfile.mkdtemp(prefix="jiedai-props-"))
    shutil.copy(_TEMPLATE[0], folder / "run.db")
    return f"sqlite:///{folder / 'run.db'}", folder


# -- what must hold --------------------------------------------------------------------------------


def agreement_reached(reception: Reception, index: int) -> bool:
    """Step ``index`` passed, recomputed from the signatures: every signer of a (sequential,
    parallel, single) countersign agreed — the step's assignees and the signers added to it — one
    agreement for 或签, more than the threshold's share of the weight for 票签."""
    step = reception.approval_chain[index]
    yes = [a for a in reception.approvals if a.step == index and a.agree]
    added = [
        t
        for t in reception.tasks
        if t.current
        and t.kind is TaskKind.APPROVAL
        and t.step == index
        and t.added_by
        and (t.state is not TaskState.CLOSED or t.outcome in ("decided", ENDED))
    ]  # added signers still on the step (closed by its passing or its end included; removed ones not)
    if step.kind is StepKind.ANY:
        return bool(yes)
    if step.kind is StepKind.VOTE:
        total = sum(a.weight for a in step.who) + len(added)
        return sum(a.weight for a in yes) * 100 > step.threshold * total
    return len(yes) >= len(step.who) + len(added)


def expected_mine(reception: Reception, actor: Actor) -> set[str]:
    """The tasks of ``reception`` in ``actor``'s 待办, computed from the reception alone."""
    me = {actor.id} | {p for p, stand_in in STAND_INS.items() if stand_in == actor.id}
    principals = [PEOPLE[p] for p in me - {actor.id}]  # their pools are the stand-in's too 代理
    levels = set(actor.levels) | ({""} if Role.APPROVER in actor.roles else set())
    levels |= {level for p in principals for level in p.levels}
    units = {actor.unit, *(p.unit for p in principals)} - {""}
    found = set()
    for t in reception.tasks:
        if t.state is not TaskState.OPEN:
            continue
        if t.owner:
            if t.owner in me:
                found.add(t.id)
            continue
        pooled = (t.assignee.kind is AssigneeKind.LEVEL and t.assignee.ref in levels) or (
            t.assignee.kind is AssigneeKind.UNIT and t.assignee.ref in units
        )
        if not pooled or (t.kind is TaskKind.APPROVAL and reception.handler.id == actor.id):
            continue
        # listed only while someone the actor takes it for may: one signature a chain
        barred = reception.barred(t)
        own = t.assignee.pools(actor) and (t.assignee.ref or Role.APPROVER in actor.roles)
        takers = ([actor] if own else []) + [p for p in principals if _member(p, t.assignee)]
        if actor.id not in barred and any(p.id not in barred for p in takers):
            found.add(t.id)
    return found


def _member(principal: Actor, pool: Assignee) -> bool:
    """Whether a stand-in sees ``pool`` through ``principal`` (their levels and department; the
    any-approver pool is the stand-in's own)."""
    if pool.kind is AssigneeKind.LEVEL:
        return pool.ref in principal.levels
    return bool(pool.ref) and pool.ref == principal.unit


def signable_apart(reception: Reception) -> bool:
    """Whether every pool still to sign can get a signer of its own (see the invariant)."""
    chain = reception.approval_chain
    everyone_signs = [i for i, step in enumerate(chain) if step.kind not in (StepKind.ANY, StepKind.VOTE)]
    # a 或签 or 票签 task may close undecided: its holder is not bound to sign
    live = [
        t
        for t in reception.tasks
        if t.kind is TaskKind.APPROVAL and t.current and t.live and t.step in everyone_signs
    ]
    out = {reception.handler.id, reception.submitted_by} | {a.actor_id for a in reception.approvals}
    out |= {a.on_behalf_of for a in reception.approvals} | {t.delegated_by or t.owner for t in live}
    # a principal's task a stand-in delegated is still signed for the principal
    out |= {t.claimed_by or (t.assignee.ref if t.assignee.kind is AssigneeKind.PERSON else "") for t in live}
    pools: list[tuple[Assignee, ApprovalStep]] = []
    anyone: list[ApprovalStep] = []  # a 或签 with a pool, not yet open: any one of what it names
    for index in range(reception.current_step, len(chain)):
        step = chain[index]
        if step.kind is StepKind.ANY:
            opened_any = any(t.step == index and t.current and t.live for t in reception.tasks)
            if not opened_any and any(a.kind is not AssigneeKind.PERSON for a in step.who):
                anyone.append(step)
            continue
        if step.kind is StepKind.VOTE:
            continue
        opened = [t for t in live if t.step == index]
        if index > reception.current_step or not opened:
            out |= {
                a.ref
                for a in step.assignees
                if a.kind is AssigneeKind.PERSON and index > reception.current_step
            }
            pools += [(a, step) for a in step.who if a.kind is not AssigneeKind.PERSON]
        else:
            pools += [
                (t.assignee, step)
                for t in opened
                if not t.owner and t.assignee.kind is not AssigneeKind.PERSON
            ]
    options = [
        [p.id for p in EVERYONE if p.id not in out and p.roles & step.roles and pool.pools(p)]
        for pool, step in pools
    ]
    options += [
        [
            p.id
            for p in EVERYONE
            if p.id not in out
            and p.roles & step.roles
            and any(a.pools(p) or (a.kind is AssigneeKind.PERSON and a.ref == p.id) for a in step.who)
        ]
        for step in anyone
    ]
    return any(len(set(choice)) == len(choice) for choice in itertools.product(*options))


def may_act(reception: Reception, task_owner: str, pool: Assignee) -> bool:
    """Someone other than the reception's handler and submitter may act on an open task."""
    handlers = {reception.handler.id, reception.submitted_by}
    if task_owner:
        return task_owner not in handlers
    return any(pool.pools(a) and a.id not in handlers for a in PEOPLE.values()) or (
        pool.kind is AssigneeKind.LEVEL and pool.ref == ""
    )


class Approvals(RuleBasedStateMachine):
    """Two receptions (two handlers), each with its own random chain, submitted; then anything."""

    url = "memory://"

    def __init__(self) -> None:
        super().__init__()
        self.folder: Path | None = None
        url = self.url
        if url == "sqlite":
            url, self.folder = sqlite_url()
        self.clock = FrozenClock()
        self.chains = Chains()
        self.engine: Engine = make_engine(self.chains, Directory(), url=url, clock=self.clock)
        self.ids: list[str] = []

    def teardown(self) -> None:
        self.engine.store.close()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    @initialize(first=chains, second=chains)
    def submit_both(self, first: list[ApprovalStep], second: list[ApprovalStep]) -> None:
        today = self.clock.now().date()
        for principal, stand_in in STAND_INS.items():
            self.engine.set_proxy(principal, stand_in, today, today + timedelta(days=60), PEOPLE[principal])
        for handler, chain in zip(HANDLERS, (first, second), strict=True):
            self.chains.by_handler[handler.id] = chain
            rid = self.engine.create_reception(
                sample_letter(START),
                sample_plan(START),
                handler=handler,
                host_unit="县政府办公室",
                jurisdiction="341502",
            ).reception.id
            try:
                self.engine.fire(rid, "submit", handler)
            except PluginError:  # pools nobody can sign apart (one level twice, say): stays a draft
                event("chain refused at submission")
                assert self.engine.get(rid).state == "draft"
            self.ids.append(rid)

    # -- one command, checked whether it is accepted or refused ---------------------------------

    def _do(self, index: int, command: Callable[[str], object]) -> None:
        rid = self.ids[index]
        before = self.engine.get(rid)
        events = len(self.engine.history(rid))
        try:
            command(rid)
        except JiedaiFlowError as refused:
            event(f"refused: {type(refused).__name__}")
            after = self.engine.get(rid)
            assert after == before, "a refused operation changed the reception"
            assert len(self.engine.history(rid)) == events
            return
        after = self.engine.get(rid)
        event(f"accepted, now {after.state}")
        assert after.version == before.version + 1
        assert len(self.engine.history(rid)) == events + 1

    def _operate(self, index: int, command: Any, who: Actor, reason: str = "") -> None:
        self._do(index, lambda rid: self.engine.operate(rid, command, who, reason=reason))

    def _fire(self, index: int, trigger: str, who: Actor, reason: str = "") -> None:
        self._do(index, lambda rid: self.engine.fire(rid, trigger, who, reason=reason))

    # -- the operations ----------------------------------------------------------------------------

    index = st.integers(0, 1)

    def _someone(self, index: int, data: st.DataObject) -> Actor:
        """Half the time someone holding an open task of the reception (if anyone does), else anyone."""
        reception = self.engine.get(self.ids[index])
        holders = [a for a in (*PEOPLE.values(), HANDLER_APPROVER) if expected_mine(reception, a)]
        if holders and data.draw(st.booleans()):
            return data.draw(st.sampled_from(holders))
        return data.draw(st.sampled_from(ACTING))

    @rule(index=index, data=st.data(), reason=st.sampled_from(("同意", "")))
    def approve(self, index: int, data: st.DataObject, reason: str) -> None:
        who = self._someone(index, data)
        self._fire(index, "approve", who, reason)

    @rule(index=index, data=st.data())
    def a_holder_agrees(self, index: int, data: st.DataObject) -> None:
        """Someone holding an open approval task signs it: receptions also get through their chains."""
        self.a_holder_decides(index, data, against=False)

    @rule(index=index, data=st.data(), against=st.booleans())
    def a_holder_decides(self, index: int, data: st.DataObject, against: bool) -> None:
        """Someone holding an open approval task of the current step signs it (or votes against)."""
        reception = self.engine.get(self.ids[index])
        holders = [
            (t.id, a)
            for t in reception.open_tasks()
            if t.kind is TaskKind.APPROVAL
            for a in (*PEOPLE.values(), HANDLER_APPROVER)
            if t.id in expected_mine(reception, a)
        ]
        if not holders:
            return
        task, actor = data.draw(st.sampled_from(holders))
        if against:
            self._operate(index, Against(task=task), actor, "不同意")
        else:
            named = TaskCommand(task=task)  # which of their tasks they sign
            self._do(index, lambda rid: self.engine.fire(rid, "approve", actor, reason="同意", command=named))

    @rule(index=index, data=st.data(), reason=st.sampled_from(REASONS))
    def vote_against(self, index: int, data: st.DataObject, reason: str) -> None:
        who = self._someone(index, data)
        self._operate(index, Against(), who, reason)

    @rule(index=index, data=st.data(), step=st.integers(0, 2), reason=st.sampled_from(REASONS))
    def send_back(self, index: int, data: st.DataObject, step: int, reason: str) -> None:
        who = self._someone(index, data)
        self._operate(index, SendBack(step), who, reason)

    @rule(
        index=index,
        data=st.data(),
        trigger=st.sampled_from(("return", "refuse")),
        reason=st.sampled_from(REASONS),
    )
    def return_or_refuse(self, index: int, data: st.DataObject, trigger: str, reason: str) -> None:
        who = self._someone(index, data)
        self._fire(index, trigger, who, reason)

    @rule(index=index, data=st.data(), to=st.sampled_from(TARGETS), delegate=st.booleans())
    def hand_over(self, index: int, data: st.DataObject, to: str, delegate: bool) -> None:
        who = self._someone(index, data)
        command = Delegate(to=to) if delegate else Transfer(to=to)
        self._operate(index, command, who, "请办理")

    @rule(index=index, data=st.data(), reason=st.sampled_from(REASONS))
    def reply(self, index: int, data: st.DataObject, reason: str) -> None:
        who = self._someone(index, data)
        self._operate(index, Reply(), who, reason)

    @rule(
        index=index,
        data=st.data(),
        to=st.lists(st.sampled_from(TARGETS), min_size=1, max_size=2),
        position=st.sampled_from(list(Position)),
    )
    def add_signers(self, index: int, data: st.DataObject, to: list[str], position: Position) -> None:
        who = self._someone(index, data)
        self._operate(index, AddSigners(to, position), who, "请会签")

    @rule(index=index, data=st.data())
    def remove_signer(self, index: int, data: st.DataObject) -> None:
        who = self._someone(index, data)
        tasks = [t.id for t in self.engine.get(self.ids[index]).tasks if t.kind is TaskKind.APPROVAL]
        if not tasks:  # a draft: its chain was refused at submission
            return
        self._operate(index, RemoveSigner(task=data.draw(st.sampled_from(tasks))), who, "不必会签")

    @rule(index=index, data=st.data())
    def take_back(self, index: int, data: st.DataObject) -> None:
        who = self._someone(index, data)
        self._operate(index, TakeBack(), who)

    @rule(index=index, data=st.data())
    def claim(self, index: int, data: st.DataObject) -> None:
        who = self._someone(index, data)
        self._operate(index, Claim(), who)

    @rule(index=index, data=st.data(), what=st.sampled_from(("claim_task", "approve", "return", "refuse")))
    def what_is_offered_is_done(self, index: int, data: st.DataObject, what: str) -> None:
        """A signature or an answer (退回, 不予接待 — never one voter's on a 票签) offered to someone
        (``available_triggers``) is accepted when made — on one of their tasks, when they hold
        several and a form (or ``--task``) asks which —, and so is a claim of any task the claim
        form lists (``available_operations``, ``task_choices``)."""
        rid = self.ids[index]
        who = self._someone(index, data)
        if what == "claim_task" and what in self.engine.available_operations(rid, who):
            listed = self.engine.task_choices(self.engine.get(rid), who, Operation.CLAIM)
            chosen = Claim(task=data.draw(st.sampled_from(listed)).id)
            act: Callable[[], object] = lambda: self.engine.operate(rid, chosen, who)  # noqa: E731
        elif what != "claim_task" and what in self.engine.available_triggers(rid, who):
            # their open tasks when they hold several (their own and a principal's): the form's list
            several = self.engine.task_choices(self.engine.get(rid), who, Operation.TRANSFER)
            act = partial(self._on_one_of, rid, what, who, [TaskCommand(task=t.id) for t in several])
        else:
            return
        version = self.engine.get(rid).version
        try:
            act()
        except JiedaiFlowError as refused:
            raise AssertionError(f"offered to {who.id}, then refused: {refused}") from refused
        event("offered and done")
        assert self.engine.get(rid).version == version + 1

    def _on_one_of(self, rid: str, trigger: str, who: Actor, named: list[TaskCommand]) -> object:
        """Fire ``trigger`` naming each of ``named`` in turn (none: naming no task) until one is
        accepted; the first refusal when none is (a refusal changes nothing)."""
        refusals: list[JiedaiFlowError] = []
        for command in named or [None]:
            try:
                return self.engine.fire(rid, trigger, who, reason="请核对", command=command)
            except JiedaiFlowError as refused:
                refusals.append(refused)
        raise refusals[0]

    @rule(index=index, data=st.data())
    def urge(self, index: int, data: st.DataObject) -> None:
        who = self._someone(index, data)
        self._operate(index, Urge(), who)

    @rule(index=index, data=st.data(), to=st.lists(st.sampled_from(TARGETS), min_size=1, max_size=2))
    def copy(self, index: int, data: st.DataObject, to: list[str]) -> None:
        who = self._someone(index, data)
        self._operate(index, Copy(to), who)

    @rule(index=index, data=st.data(), comment=st.booleans())
    def read_or_comment(self, index: int, data: st.DataObject, comment: bool) -> None:
        who = self._someone(index, data)
        self._operate(index, Comment() if comment else MarkRead(), who, "请核对人数")

    @rule(
        index=index,
        who=st.sampled_from((ADMIN, ADMIN, ADMIN, OFFICE, PEOPLE["a"])),
        step=st.one_of(st.none(), st.integers(0, 2)),
        state=st.sampled_from(("", "draft", "submitted", "approved")),
        reason=st.sampled_from(("流程调整", "")),
    )
    def jump(self, index: int, who: Actor, step: int | None, state: str, reason: str) -> None:
        self._operate(index, Jump(state=state, step=step), who, reason)

    @rule(
        index=index,
        who=st.sampled_from((ADMIN, OFFICE, PEOPLE["b"])),
        reason=st.sampled_from(("来访取消", "")),
    )
    def terminate(self, index: int, who: Actor, reason: str) -> None:
        self._operate(index, Terminate(), who, reason)

    @rule(index=index, trigger=st.sampled_from(("submit", "submit", "withdraw", "cancel")), own=st.booleans())
    def handler_acts(self, index: int, trigger: str, own: bool) -> None:
        who = HANDLERS[index] if own else HANDLERS[1 - index]
        self._fire(index, trigger, who, "情况有变")

    @rule(minutes=st.integers(1, 90))
    def time_passes(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)

    # -- the invariants ----------------------------------------------------------------------------

    def _receptions(self) -> Iterator[Reception]:
        for rid in self.ids:
            yield self.engine.get(rid)

    @invariant()
    def every_pool_still_to_sign_keeps_a_signer_of_its_own(self) -> None:
        """Nobody signs a chain twice: the pools still to sign (those of steps that need everyone)
        can each be given a different person who may sign — checked by brute force, apart from the
        engine's matching."""
        for r in self._receptions():
            if r.state == "submitted":
                assert signable_apart(r), (r.current_step, r.approval_chain, r.tasks, r.approvals)

    @invariant()
    def a_reception_collecting_approvals_has_a_way_forward(self) -> None:
        for r in self._receptions():
            if r.state != "submitted":
                continue
            assert r.current_step < len(r.approval_chain), "awaiting approval with every step passed"
            current = [
                t
                for t in r.open_tasks()
                if t.kind is TaskKind.APPROVAL and t.current and t.step == r.current_step
            ]
            assert any(may_act(r, t.owner, t.assignee) for t in current), (r.current_step, r.tasks)

    @invariant()
    def no_step_passes_without_the_agreement_its_kind_requires(self) -> None:
        for r in self._receptions():
            signers = [a.on_behalf_of or a.actor_id for a in r.approvals]
            assert len(signers) == len(set(signers)), "someone signed twice"
            assert not {r.handler.id, r.submitted_by} & set(signers), "the handler signed"
            tasks = {t.id: t for t in r.tasks}
            for a in r.approvals:
                task = tasks[a.task_id]
                assert (task.step, task.state, task.outcome) == (
                    a.step,
                    TaskState.DONE,
                    "agree" if a.agree else "against",
                )
            for index in range(min(r.current_step, len(r.approval_chain))):
                assert agreement_reached(r, index), (index, r.approval_chain[index], r.approvals)
            if r.state in ("approved", "in_progress", "completed"):
                assert r.current_step == len(r.approval_chain)

    @invariant()
    def a_vote_is_refused_by_its_votes_alone(self) -> None:
        """No one voter's 不予接待 ends a 票签: a reception refused on a vote step got there by the
        vote against that left it unable to pass."""
        for r in self._receptions():
            step = r.next_step
            if r.state == "refused" and step is not None and step.kind is StepKind.VOTE:
                assert self.engine.history(r.id)[-1].trigger == "vote_against", r.approvals

    @invariant()
    def task_lists_agree_with_the_receptions(self) -> None:
        receptions = list(self._receptions())
        ids = {r.id for r in receptions}
        listed: dict[str, set[str]] = {}
        for actor in (*PEOPLE.values(), HANDLER_APPROVER, HANDLERS[1], OFFICE):
            page = self.engine.tasks_for(actor, limit=1000)
            mine = {row.task_id for row in page.items if row.reception_id in ids}
            assert mine == set().union(*(expected_mine(r, actor) for r in receptions)), actor.id
            listed[actor.id] = mine
        assert self.engine.task_counts(PEOPLE["x"]).mine == len(self.engine.tasks_for(PEOPLE["x"]).items)
        for r in receptions:
            for t in r.open_tasks():
                holders = {who for who, mine in listed.items() if t.id in mine}
                if t.owner:  # claimed, or a person's: theirs (and their stand-in's) only
                    assert holders <= {t.owner, STAND_INS.get(t.owner)}, (t, holders)
                if t.kind is TaskKind.APPROVAL:
                    assert t.owner not in {r.handler.id, r.submitted_by}
        own = {t.id for t in receptions[0].tasks if t.kind is TaskKind.APPROVAL}
        assert not listed[HANDLER_APPROVER.id] & own, (
            "the handler sees an approval task of their own reception"
        )

    @invariant()
    def the_sql_index_is_the_hashed_record(self) -> None:
        verify = getattr(self.engine.store, "verify", None)
        if verify is not None and self.ids:
            report = verify()
            assert report.ok, report.problem


class ApprovalsOnSQLite(Approvals):
    url = "sqlite"


Approvals.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
ApprovalsOnSQLite.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestApprovalsInMemory = Approvals.TestCase
TestApprovalsOnSQLite = ApprovalsOnSQLite.TestCase
