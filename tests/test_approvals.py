"""Approval operations and task lists 审批操作与待办, scenario by scenario, on the in-memory store and
on SQLite, PostgreSQL and MariaDB: countersign, any-one, vote, return to a chosen step, delegate and
transfer, take back, add and remove signers, claim, urge, copy, read, comment, terminate, jump and
stand-ins — each checked through the task lists people work from."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow import Actor, ApprovalStep, Engine, Level, Role, StandardsLayer, hookimpl
from jiedai_flow.domain.records import Assignee, StepKind, TaskKind, TaskState
from jiedai_flow.errors import (
    InvalidTransitionError,
    NotAuthorizedError,
    RateLimitedError,
    ReasonRequiredError,
    TaskError,
    ValidationError,
)
from jiedai_flow.notify.routing import DEFAULT_ROUTES
from jiedai_flow.process.tasks import (
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
from jiedai_flow.testing import (
    ACTORS,
    FrozenClock,
    NotificationCapture,
    make_engine,
    sample_letter,
    sample_plan,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from jiedai_flow import Reception
    from jiedai_flow.domain.records import TaskRow
    from jiedai_flow.domain.standards import Standards

HANDLER = ACTORS["handler"]
OFFICE = ACTORS["office"]
ADMIN = Actor("admin", "管理员", frozenset({Role.ADMIN}))
SUPERVISOR = Actor("jijian", "纪检组", frozenset({Role.SUPERVISOR}))
START = date(2026, 3, 16)
REFUSED = (TaskError, NotAuthorizedError, InvalidTransitionError)


def approver(actor_id: str, *, levels: Sequence[str] = (), unit: str = "") -> Actor:
    return Actor(
        actor_id, f"审批人{actor_id}", frozenset({Role.APPROVER}), unit=unit, levels=frozenset(levels)
    )


A, B, C, D, E, X, Y = (approver(n) for n in ("a", "b", "c", "d", "e", "x", "y"))
PEOPLE = {p.id: p for p in (A, B, C, D, E, X, Y)}


class Chain:
    """The approval chain the county plugin gives every submission (set per test)."""

    def __init__(self, *steps: ApprovalStep) -> None:
        self.steps = list(steps)

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        return self.steps


def person(*ids: str) -> tuple[Assignee, ...]:
    return tuple(Assignee.person(i) for i in ids)


SINGLE_A = ApprovalStep("", "办公室主任", assignees=person("a"))
PARALLEL_BCD = ApprovalStep(
    "", "财政局、公安局、分管领导会签", kind=StepKind.PARALLEL, assignees=person("b", "c", "d")
)
SINGLE_E = ApprovalStep("", "县长", assignees=person("e"))


_OPEN: list[Engine] = []


@pytest.fixture(params=["memory", "sqlite", "postgresql", "mysql"])
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "memory":
        yield "memory://"
    else:
        from tests.databases import private_database

        yield from _closing(private_database(request.param, tmp_path_factory.mktemp("db")))
    while _OPEN:
        _OPEN.pop().store.close()


def _closing(urls: Iterator[str]) -> Iterator[str]:
    for found in urls:
        try:
            yield found
        finally:
            while _OPEN:  # close every engine before the database is dropped
                _OPEN.pop().store.close()


def engine_for(
    url: str,
    *steps: ApprovalStep,
    clock: FrozenClock | None = None,
    capture: NotificationCapture | None = None,
) -> Engine:
    engine = make_engine(Chain(*steps), *((capture,) if capture else ()), url=url, clock=clock)
    _OPEN.append(engine)
    return engine


def drafted(engine: Engine, handler: Actor = HANDLER) -> str:
    """A new reception's id, in draft."""
    return engine.create_reception(
        sample_letter(START),
        sample_plan(START),
        handler=handler,
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id


def submitted(engine: Engine, handler: Actor = HANDLER) -> str:
    rid = drafted(engine, handler)
    engine.fire(rid, "submit", handler)
    return rid


def mine(engine: Engine, actor: Actor) -> list[str]:
    """The reception numbers in ``actor``'s 待办 (one entry per task)."""
    return [row.reception_id for row in engine.tasks_for(actor).items]


def approve(engine: Engine, rid: str, actor: Actor, opinion: str = "同意") -> Reception:
    return engine.fire(rid, "approve", actor, reason=opinion).reception


def verified(engine: Engine) -> None:
    verify = getattr(engine.store, "verify", None)
    if verify is not None:
        report = verify()
        assert report.ok, report.problem


# -- the scenarios of the issue ----------------------------------------------------------------


def test_parallel_countersign_sent_back_to_a_chosen_step_is_approved_again_from_there(url: str) -> None:
    engine = engine_for(url, SINGLE_A, PARALLEL_BCD, SINGLE_E)
    rid = submitted(engine)
    assert mine(engine, A) == [rid]
    assert mine(engine, B) == []
    approve(engine, rid, A)
    assert {p: mine(engine, PEOPLE[p]) for p in "bcd"} == {"b": [rid], "c": [rid], "d": [rid]}
    approve(engine, rid, B)
    assert mine(engine, B) == []
    assert engine.get(rid).current_step == 1  # C and D still to agree
    engine.operate(rid, SendBack(0), C, reason="人数与公函不符，请办公室重审")
    after = engine.get(rid)
    assert (after.state, after.current_step, after.approvals) == ("submitted", 0, ())
    assert mine(engine, A) == [rid]
    assert mine(engine, B) == mine(engine, C) == mine(engine, D) == []
    approve(engine, rid, A, "已核对")
    for p in (B, C, D):  # the later step is approved again: B too
        assert mine(engine, p) == [rid]
        approve(engine, rid, p)
    assert mine(engine, E) == [rid]
    assert approve(engine, rid, E).state == "approved"
    done_c = engine.done_by(C).items
    assert sorted(r.outcome for r in done_c) == ["agree", "returned"]
    verified(engine)


def test_vote_of_weights_3_2_2_passes_above_half(url: str) -> None:
    vote = ApprovalStep(
        "", "党组会票签", kind=StepKind.VOTE, threshold=50,
        assignees=(Assignee.person("b", 3), Assignee.person("c", 2), Assignee.person("d", 2)),
    )  # fmt: skip
    engine = engine_for(url, vote)
    rid = submitted(engine)
    assert approve(engine, rid, B).state == "submitted"  # 3 of 7 is not more than half
    assert approve(engine, rid, C).state == "approved"  # 5 of 7 is
    reception = engine.get(rid)
    closed = [t for t in reception.tasks if t.assignee.ref == "d"]
    assert [t.state for t in closed] == [TaskState.CLOSED]
    assert mine(engine, D) == []
    verified(engine)


def test_vote_is_refused_once_the_weights_in_favour_can_no_longer_pass(url: str) -> None:
    """The vote that can no longer pass refuses the reception, and the handler is told as of any
    refusal (to tell the sending unit)."""
    vote = ApprovalStep(
        "", "党组会票签", kind=StepKind.VOTE, threshold=50,
        assignees=(Assignee.person("b", 3), Assignee.person("c", 2), Assignee.person("d", 2)),
    )  # fmt: skip
    told = NotificationCapture()
    engine = engine_for(url, vote, capture=told)
    rid = submitted(engine)
    assert engine.operate(rid, Against(), B, reason="标准偏高").reception.state == "submitted"  # 4 of 7 left
    told.clear()
    assert engine.operate(rid, Against(), C, reason="不必要").reception.state == "refused"  # 2 of 7 left
    [refusal] = told.delivered
    assert (refusal.recipients, refusal.action_zh) == ((Role.HANDLER,), "不予接待，请告知派出单位")
    assert mine(engine, D) == []
    other = engine_for("memory://", SINGLE_A)
    rid2 = submitted(other)
    with pytest.raises(TaskError, match="票签"):
        other.operate(rid2, Against(), A, reason="不同意")


def test_one_voter_cannot_refuse_a_vote_alone(url: str) -> None:
    """不予接待 by one voter would end a 票签 on one person's say, bypassing the vote: it is refused,
    naming 反对（票签）, and offered to no voter nor their stand-in — the reception is refused once the
    votes against leave it unable to pass. 退回 stays a voter's (it asks the applicant for a
    correction; the vote is held again on resubmission). 或签 (the first decides) and 并行会签 (a
    veto) keep 不予接待."""
    clock = FrozenClock()
    engine = engine_for(url, VOTE_BCD, clock=clock)
    rid = submitted(engine)
    today = clock.now().date()
    engine.set_proxy(C.id, X.id, today, today, C)
    for voter in (B, X):  # X stands in for C
        assert "refuse" not in engine.available_triggers(rid, voter)
        assert "return" in engine.available_triggers(rid, voter)
        with pytest.raises(TaskError, match=r"「党组会票签」是票签环节，一人不能决定不予接待.*反对（票签）"):
            engine.fire(rid, "refuse", voter, reason="标准偏高")
    assert engine.get(rid).state == "submitted"
    assert engine.operate(rid, Against(), B, reason="标准偏高").reception.state == "submitted"
    assert engine.operate(rid, Against(), X, reason="不必要").reception.state == "refused"  # 2 of 7 left
    verified(engine)

    engine = engine_for(url, VOTE_BCD)
    rid = submitted(engine)
    approve(engine, rid, B)
    assert engine.fire(rid, "return", C, reason="请补充公函").reception.state == "draft"

    for step in (ApprovalStep("", "或签", kind=StepKind.ANY, assignees=person("b", "c")), PARALLEL_BCD):
        engine = engine_for(url, step)
        rid = submitted(engine)
        assert "refuse" in engine.available_triggers(rid, B)
        assert engine.fire(rid, "refuse", B, reason="超标准").reception.state == "refused"


def test_a_voter_who_cannot_vote_is_pointed_to_transfer_not_to_a_vote_against() -> None:
    """A voter named on a later step may not vote here (one signature a chain): refused 不予接待,
    they are told to hand the task on, not to vote against — which would be refused too."""
    engine = engine_for("memory://", VOTE_BCD, ApprovalStep("", "县长", assignees=person("b")))
    rid = submitted(engine)
    with pytest.raises(TaskError, match=r"您也不能在这里投票（您还要签第 2 环节.*请转办给别人"):
        engine.fire(rid, "refuse", B, reason="不必接待")
    with pytest.raises(TaskError, match="您还要签第 2 环节"):
        engine.operate(rid, Against(), B, reason="不必接待")
    assert engine.operate(rid, Transfer(to="x"), B, reason="我还要签县长一级").reception.state == "submitted"


def test_a_retroactive_vote_is_decided_by_its_votes_too(url: str) -> None:
    """补办 of a reception already under way: its 票签 voters vote against as before approval — the
    weight against that leaves the step unable to pass refuses the retroactive approval (the state
    不予接待, which 纪检 is told of) — and one voter's 不予接待 is refused, naming the vote against."""
    clock = FrozenClock(datetime(2026, 3, 16, 8, 0, tzinfo=UTC))
    told = NotificationCapture()
    engine = make_engine(Chain(VOTE_BCD), Urgent(), told, url=url, clock=clock)
    _OPEN.append(engine)
    rid = drafted(engine)
    assert engine.fire(rid, "start_urgent", HANDLER, reason="上级临时通知").reception.state == "in_progress"
    assert "vote_against" in engine.available_operations(rid, C)
    assert "refuse" not in engine.available_triggers(rid, C)
    with pytest.raises(TaskError, match="一人不能决定不予接待"):
        engine.fire(rid, "refuse", C, reason="事后看不必要")
    assert engine.operate(rid, Against(), C, reason="事后看不必要").reception.state == "in_progress"
    told.clear()
    assert engine.operate(rid, Against(), D, reason="超标准").reception.state == "refused"  # 3 of 7 left
    [refusal] = told.delivered  # told as a refusal from there is: the handler, and 纪检 after a 补办
    assert set(refusal.recipients) == {Role.HANDLER, Role.SUPERVISOR}
    assert refusal.action_zh == "不予接待，请告知派出单位"
    verified(engine)


def test_any_one_sign_is_decided_by_the_first_and_the_others_tasks_close(url: str) -> None:
    anyone = ApprovalStep("", "副主任（或签）", kind=StepKind.ANY, assignees=person("b", "c", "d"))
    engine = engine_for(url, anyone)
    rid = submitted(engine)
    assert all(mine(engine, p) == [rid] for p in (B, C, D))
    assert approve(engine, rid, C).state == "approved"
    assert mine(engine, B) == mine(engine, D) == []
    states = {t.assignee.ref: (t.state, t.outcome) for t in engine.get(rid).tasks}
    assert states == {
        "b": (TaskState.CLOSED, "decided"),
        "c": (TaskState.DONE, "agree"),
        "d": (TaskState.CLOSED, "decided"),
    }
    verified(engine)


def test_delegation_comes_back_to_the_delegator_and_transfer_does_not(url: str) -> None:
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    engine.operate(rid, Delegate(to="x"), A, reason="请财务科看一下餐费")
    assert mine(engine, A) == []
    assert mine(engine, X) == [rid]
    with pytest.raises(NotAuthorizedError, match="委派"):
        approve(engine, rid, X)  # a delegate gives an opinion; the delegator decides
    engine.operate(rid, Reply(), X, reason="餐费在标准内")
    assert mine(engine, A) == [rid]
    assert mine(engine, X) == []
    task = next(t for t in engine.get(rid).tasks if t.assignee.ref == "a" and t.state is TaskState.OPEN)
    assert any("餐费在标准内" in n for n in task.notes)
    assert [r.outcome for r in engine.done_by(X).items] == ["delegate_replied"]
    approve(engine, rid, A)
    engine.operate(rid, Transfer(to="y"), E, reason="县长出差，请常务副县长办理")
    assert mine(engine, E) == []
    assert mine(engine, Y) == [rid]
    assert approve(engine, rid, Y).state == "approved"  # transferred: Y decides, E never gets it back
    assert mine(engine, E) == []
    assert [r.outcome for r in engine.done_by(E).items] == ["transferred"]
    verified(engine)


def test_take_back_is_refused_once_the_next_assignee_has_acted(url: str) -> None:
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    approve(engine, rid, A)
    assert mine(engine, E) == [rid]
    engine.operate(rid, TakeBack(), A)
    assert mine(engine, A) == [rid]
    assert mine(engine, E) == []
    assert engine.get(rid).approvals == ()
    approve(engine, rid, A, "再次同意")
    approve(engine, rid, E)
    with pytest.raises(REFUSED):
        engine.operate(rid, TakeBack(), A)
    assert engine.get(rid).state == "approved"


def test_take_back_of_a_step_whose_next_assignee_acted_is_refused_while_pending(url: str) -> None:
    engine = engine_for(url, SINGLE_A, PARALLEL_BCD, SINGLE_E)
    rid = submitted(engine)
    approve(engine, rid, A)
    approve(engine, rid, B)
    with pytest.raises(TaskError, match="下一环节或下一位办理人已经办理"):
        engine.operate(rid, TakeBack(), A)


def test_take_back_is_refused_once_the_next_assignee_delegated_or_added_signers(url: str) -> None:
    """Acting is more than signing: once the next assignee delegated their task (and had the
    opinion back) or added a signer before or after themself, their work would be lost to a take
    back — refused, and not offered. Urging, reading or commenting is not acting on the task."""
    for act in (
        lambda engine, rid: engine.operate(rid, Delegate(to="x"), E, reason="请x提意见"),
        lambda engine, rid: engine.operate(rid, AddSigners(["y"], Position.BEFORE), E, reason="请y先看"),
        lambda engine, rid: engine.operate(rid, AddSigners(["y"], Position.AFTER), E, reason="请y再看"),
    ):
        engine = engine_for(url, SINGLE_A, SINGLE_E)
        rid = submitted(engine)
        approve(engine, rid, A)
        act(engine, rid)
        assert "take_back" not in engine.available_operations(rid, A)
        with pytest.raises(TaskError, match="下一环节或下一位办理人已经办理"):
            engine.operate(rid, TakeBack(), A)
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    approve(engine, rid, A)
    engine.operate(rid, Urge(), HANDLER)
    engine.operate(rid, Comment(), E, reason="我看一下")
    assert engine.operate(rid, TakeBack(), A).reception.current_step == 0


def test_what_the_next_assignee_did_in_an_earlier_round_does_not_stop_a_take_back(url: str) -> None:
    """E delegated (and had the reply) or added a signer, then sent the reception back or returned
    it; in the new round A signs again and E has done nothing yet: A may take it back."""
    rounds = (
        lambda engine, rid: (
            engine.operate(rid, Delegate(to="x"), E, reason="请x提意见"),
            engine.operate(rid, Reply(), X, reason="可以"),
            engine.operate(rid, SendBack(step=0), E, reason="请a重看"),
        ),
        lambda engine, rid: (
            engine.operate(rid, AddSigners(["y"], Position.AFTER), E, reason="请y再看"),
            engine.fire(rid, "return", E, reason="改一下"),
            engine.fire(rid, "submit", HANDLER),
        ),
        lambda engine, rid: (
            engine.operate(rid, Delegate(to="x"), E, reason="请x提意见"),
            engine.operate(rid, Reply(), X, reason="可以"),
            engine.fire(rid, "return", E, reason="改一下"),
            engine.fire(rid, "submit", HANDLER),
        ),
    )
    for earlier in rounds:
        engine = engine_for(url, SINGLE_A, SINGLE_E)
        rid = submitted(engine)
        approve(engine, rid, A)
        earlier(engine, rid)
        approve(engine, rid, A, "再次同意")
        assert "take_back" in engine.available_operations(rid, A)
        assert engine.operate(rid, TakeBack(), A).reception.current_step == 0


def test_the_last_signer_takes_an_approved_reception_back_before_it_starts(url: str) -> None:
    engine = engine_for(url, SINGLE_A)
    rid = submitted(engine)
    assert approve(engine, rid, A).state == "approved"
    assert engine.operate(rid, TakeBack(), A).reception.state == "submitted"
    assert mine(engine, A) == [rid]


# -- withdraw 撤回: only while no approver has acted on this submission ---------------------------

POOL = ApprovalStep("分管领导", "分管领导")
LEADER = approver("l1", levels=["分管领导"])

ACTED_WITHOUT_SIGNING = {
    "transfer": (
        (SINGLE_A, SINGLE_E),
        lambda engine, rid: engine.operate(rid, Transfer(to="x"), A, reason="请x办理"),
    ),
    "send back to the first step": (
        (SINGLE_A, SINGLE_E),
        lambda engine, rid: (
            approve(engine, rid, A),
            engine.operate(rid, SendBack(0), E, reason="请a重看"),
        ),
    ),
    "claim": ((POOL, SINGLE_E), lambda engine, rid: engine.operate(rid, Claim(), LEADER)),
    "delegate": (
        (SINGLE_A, SINGLE_E),
        lambda engine, rid: engine.operate(rid, Delegate(to="x"), A, reason="请x提意见"),
    ),
    "add a signer": (
        (SINGLE_A, SINGLE_E),
        lambda engine, rid: engine.operate(rid, AddSigners(["y"], Position.AFTER), A, reason="请y再看"),
    ),
    "take back": (
        (SINGLE_A, SINGLE_E),
        lambda engine, rid: (approve(engine, rid, A), engine.operate(rid, TakeBack(), A)),
    ),
}


@pytest.mark.parametrize("act", list(ACTED_WITHOUT_SIGNING))
def test_withdraw_is_refused_once_an_approver_acted_even_without_a_signature(url: str, act: str) -> None:
    """Acting on the submission is more than a signature on record: a transfer, a send back to the
    first step (which clears the signatures), a claim, a delegation, an added signer or a take back
    leaves none, yet the submitter may no longer withdraw — nor is withdraw offered, by the engine or
    as the command line's next step — and the refusal says which condition does not hold."""
    from jiedai_flow.cli.render import possible_triggers

    steps, acting = ACTED_WITHOUT_SIGNING[act]
    engine = engine_for(url, *steps)
    rid = submitted(engine)
    acting(engine, rid)
    reception = engine.get(rid)
    assert (reception.state, reception.approvals) == ("submitted", ())
    assert "withdraw" not in engine.available_triggers(rid, HANDLER)
    assert "withdraw" not in possible_triggers(engine.process_of(reception), reception)
    unmet = "不能执行「撤回」（须「尚无人审批」，现在不是）"
    with pytest.raises(InvalidTransitionError, match=unmet) as refused:
        engine.fire(rid, "withdraw", HANDLER)
    assert "(it needs: no approver has acted yet; not so now)" in refused.value.message_en
    assert refused.value.unmet == (("尚无人审批", "no approver has acted yet"),)
    assert engine.get(rid).version == reception.version


def test_withdraw_counts_only_what_approvers_did_in_this_submission(url: str) -> None:
    """Urging, reading and commenting are not acting: withdraw stays open. What an approver did in an
    earlier submission does not count once the reception is returned and submitted again — told by
    the submission's number, not by time: the kit's frozen clock puts every command at one moment."""
    engine = engine_for(url, SINGLE_A, SINGLE_E, clock=FrozenClock())
    rid = submitted(engine)
    engine.operate(rid, Urge(), HANDLER)
    engine.operate(rid, MarkRead(), A)
    engine.operate(rid, Comment(), A, reason="我看一下")
    assert "withdraw" in engine.available_triggers(rid, HANDLER)
    engine.operate(rid, Transfer(to="x"), A, reason="请x办理")
    assert "withdraw" not in engine.available_triggers(rid, HANDLER)
    engine.fire(rid, "return", X, reason="请补充行程")
    engine.fire(rid, "submit", HANDLER)
    again = engine.get(rid)
    assert again.submission == 2
    assert {t.submission for t in again.tasks if t.current} == {2}
    assert "withdraw" in engine.available_triggers(rid, HANDLER)
    assert engine.fire(rid, "withdraw", HANDLER).reception.state == "draft"
    verified(engine)


def test_a_reception_stored_without_its_submission_number_still_withdraws_as_far_as_can_be_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reception stored by a version that did not count submissions reads back with 0 and its
    trail still verifies; its signatures and current tasks still tell whether an approver acted
    (a transfer, a claim), and with nobody acting it may be withdrawn."""
    from jiedai_flow.storage import codec
    from jiedai_flow.storage.sql import store

    def as_before(reception: Reception) -> str:
        plain = json.loads(codec.encode(reception))
        plain.pop("submission", None)
        for task in plain["tasks"]:
            task.pop("submission", None)
        return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))

    url = f"sqlite:///{tmp_path / 'j.db'}"
    with monkeypatch.context() as earlier:
        earlier.setattr(store, "encode", as_before)
        engine = engine_for(url, SINGLE_A, SINGLE_E)
        untouched, transferred = submitted(engine), submitted(engine)
        engine.operate(transferred, Transfer(to="x"), A, reason="请x办理")
    engine = engine_for(url, SINGLE_A, SINGLE_E)  # the upgraded version, reading what was stored
    verified(engine)
    assert "withdraw" not in engine.available_triggers(transferred, HANDLER)
    with pytest.raises(InvalidTransitionError):
        engine.fire(transferred, "withdraw", HANDLER)
    assert engine.fire(untouched, "withdraw", HANDLER).reception.state == "draft"
    assert engine.get(transferred).submission == 0
    verified(engine)


def test_add_signers_before_and_after_and_remove_one_who_has_not_acted(url: str) -> None:
    engine = engine_for(url, SINGLE_A)
    rid = submitted(engine)
    engine.operate(rid, AddSigners(["b"], Position.BEFORE), A, reason="请财政局先审")
    assert mine(engine, A) == []
    assert mine(engine, B) == [rid]
    approve(engine, rid, B)
    assert mine(engine, A) == [rid]
    engine.operate(rid, AddSigners(["c", "d"], Position.AFTER), A, reason="请分管领导和县长在我之后审")
    assert approve(engine, rid, A).state == "submitted"
    assert mine(engine, C) == mine(engine, D) == [rid]  # added together, after A
    d_task = next(t for t in engine.get(rid).tasks if t.assignee.ref == "d")
    engine.operate(rid, RemoveSigner(task=d_task.id), A, reason="县长不必审")
    assert mine(engine, D) == []
    c_task = next(t for t in engine.get(rid).tasks if t.assignee.ref == "c")
    assert approve(engine, rid, C).state == "approved"
    with pytest.raises(REFUSED):
        engine.operate(rid, RemoveSigner(task=c_task.id), A, reason="晚了")
    verified(engine)


def test_add_signers_naming_no_position_adds_after_or_alongside_as_the_step_takes_them(url: str) -> None:
    """加签 naming no position 位置 adds after the adder on an ordinary step, and alongside on a 或签
    or 票签, which take added approvers alongside only (docs/approvals.md): the default was after on
    every step, so there the command as typed was always refused."""
    z = approver("z")
    anyone = ApprovalStep("", "或签", kind=StepKind.ANY, assignees=person("b", "c"))
    vote = ApprovalStep("", "票签", kind=StepKind.VOTE, threshold=50, assignees=person("d", "e"))
    engine = engine_for(url, SINGLE_A, anyone, vote)
    rid = submitted(engine)
    engine.operate(rid, AddSigners(["x"]), A, reason="请 x 在我之后审")
    assert mine(engine, X) == []  # after a
    approve(engine, rid, A)
    assert mine(engine, X) == [rid]
    approve(engine, rid, X)
    for adder, added in ((B, Y), (D, z)):
        with pytest.raises(TaskError, match="只能并加签"):  # named, any other position is still refused
            engine.operate(rid, AddSigners([added.id], Position.AFTER), adder, reason="请再看")
        engine.operate(rid, AddSigners([added.id]), adder, reason="请也看")
        assert mine(engine, added) == [rid]  # alongside: at once
        assert mine(engine, adder) == [rid]
        approve(engine, rid, added)
    assert approve(engine, rid, D).state == "approved"  # d and z: 2 of 3
    verified(engine)


def test_remove_signer_who_already_acted_is_refused(url: str) -> None:
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    engine.operate(rid, AddSigners(["b"], Position.BEFORE), A)
    approve(engine, rid, B)
    b_task = next(t for t in engine.get(rid).tasks if t.assignee.ref == "b")
    with pytest.raises(TaskError, match="已经办理"):
        engine.operate(rid, RemoveSigner(task=b_task.id), A)


def test_the_handler_can_never_be_reached_through_any_operation(url: str) -> None:
    engine = engine_for(url, SINGLE_A, PARALLEL_BCD)
    rid = submitted(engine)
    for command in (
        Transfer(to=HANDLER.id),
        Delegate(to=HANDLER.id),
        AddSigners([HANDLER.id], Position.AFTER),
        AddSigners([HANDLER.id], Position.BEFORE),
        AddSigners([HANDLER.id], Position.ALONGSIDE),
    ):
        with pytest.raises(TaskError, match="经办人"):
            engine.operate(rid, command, A, reason="试")
    approve(engine, rid, A)
    with pytest.raises(TaskError, match="已在本审批链上"):
        engine.operate(rid, Transfer(to="a"), B, reason="转回")  # A signed this chain
    with pytest.raises(TaskError, match="已在本审批链上"):
        engine.operate(rid, Transfer(to="c"), B, reason="转给会签人")  # C is on this step already
    assert engine.get(rid).current_step == 1


def test_a_chain_naming_the_handler_or_someone_twice_is_refused_at_submission(url: str) -> None:
    """A step naming the handler, or one person on two steps, would open a task nobody may sign:
    the submission is refused, nothing saved, naming the step."""
    from jiedai_flow.errors import PluginError

    for steps, why in (
        ((ApprovalStep("", "会签", kind=StepKind.PARALLEL, assignees=person("a", HANDLER.id)),), "经办人"),
        ((SINGLE_A, ApprovalStep("", "复核", assignees=person("a"))), "一人在一条审批链上只签一次"),
    ):
        engine = engine_for(url, *steps)
        rid = drafted(engine)
        with pytest.raises(PluginError, match=why):
            engine.fire(rid, "submit", HANDLER)
        assert engine.get(rid).state == "draft"
        assert engine.get(rid).tasks == ()


class Listed:
    """A directory that can list everyone (``jiedai_actors``), as the command line's actors file."""

    def __init__(self, *people: Actor) -> None:
        self.people = {p.id: p for p in (*people, HANDLER)}

    @hookimpl
    def jiedai_actor(self, actor_id: str) -> Actor | None:
        return self.people.get(actor_id)

    @hookimpl
    def jiedai_actors(self) -> tuple[Actor, ...]:
        return tuple(self.people.values())


def test_a_pool_nobody_can_sign_is_refused_at_submission_with_the_nearest_name() -> None:
    """With a directory that lists everyone, a department or level nobody belongs to (a misspelt
    name in a countersign) would open a task nobody can ever claim: the submission is refused,
    naming the step and the nearest name; so is a pool whose only member handles the reception. A
    或签 with such a pool passes while the others can decide."""
    from jiedai_flow.errors import PluginError

    cz = Actor("cz", "财政局长", frozenset({Role.APPROVER}), unit="县财政局", levels=frozenset({"分管领导"}))
    clerk = Actor("clerk", "财政局科员", frozenset({Role.HANDLER}), unit="县财政局")
    directory = Listed(cz, clerk, B)
    misspelt = ApprovalStep("", "财政局会签", kind=StepKind.PARALLEL, assignees=(Assignee.unit("县财政厅"),))
    for step, says in (
        (misspelt, "参与人名单里没有部门「县财政厅」的人，是不是「县财政局」？"),
        (ApprovalStep("分管领到", "分管领导"), "参与人名单里没有岗位「分管领到」的人，是不是「分管领导」？"),
        (
            ApprovalStep("", "科员", assignees=(Assignee.unit("县财政局"),), roles=frozenset({Role.HANDLER})),
            "「县财政局」里没有能签这一环节的人",
        ),
    ):
        engine = make_engine(Chain(step), directory, clock=FrozenClock())
        rid = drafted(engine, handler=clerk if "科员" in step.label else HANDLER)
        with pytest.raises(PluginError) as caught:
            engine.fire(rid, "submit", clerk if "科员" in step.label else HANDLER)
        assert says in caught.value.message_zh, caught.value.message_zh
        assert "审批链第 1 环节" in caught.value.message_zh
        assert engine.get(rid).state == "draft"
    either = ApprovalStep(
        "", "或签", kind=StepKind.ANY, assignees=(Assignee.unit("县财政厅"), Assignee.person("b"))
    )
    engine = make_engine(Chain(either), directory, clock=FrozenClock())
    assert approve(engine, submitted(engine), B).state == "approved"
    right = ApprovalStep("", "财政局会签", kind=StepKind.PARALLEL, assignees=(Assignee.unit("县财政局"),))
    engine = make_engine(Chain(right), directory, clock=FrozenClock())
    assert engine.fire(submitted(engine), "approve", cz, command=Claim()).reception.state == "approved"


def test_pools_are_signed_apart_so_no_later_pool_is_left_with_nobody(url: str) -> None:
    """Nobody signs a chain twice, so each pool needs a signer of its own. p is the only 二级 and
    also a 一级: with r (一级) in the directory the chain can be signed — r step 1, p step 2 — but
    not if p takes step 1, which is refused naming the pool it would leave empty (a claim too, and
    nothing that keeps it to sign is offered: approve, claim, delegate, add a signer) — while what
    signs nothing (a transfer to r, a return) stays p's to do; nor may r, named on step 1, transfer
    it or add p to it. Without r, no one is left for one of the pools: refused at submission."""
    from jiedai_flow.errors import PluginError

    p_ = Actor("p", "审批人p", frozenset({Role.APPROVER}), levels=frozenset({"一级", "二级"}))
    r_ = Actor("r", "审批人r", frozenset({Role.APPROVER}), levels=frozenset({"一级"}))
    steps = (ApprovalStep("一级", "一级"), ApprovalStep("二级", "二级"))
    engine = make_engine(Chain(*steps), Listed(p_, r_), url=url, clock=FrozenClock())
    _OPEN.append(engine)
    rid = submitted(engine)
    for act in (
        lambda: engine.fire(rid, "approve", p_, reason="同意"),
        lambda: engine.operate(rid, Claim(), p_),
    ):
        with pytest.raises(TaskError, match="第 2 环节「二级」的「二级」就没有人能签了"):
            act()
    offered = engine.available_operations(rid, p_)
    assert not {"claim_task", "delegate_task", "add_signers"} & set(offered)
    assert "approve" not in engine.available_triggers(rid, p_)
    with pytest.raises(TaskError, match="第 2 环节「二级」的「二级」就没有人能签了"):
        engine.operate(rid, Delegate(to="r"), p_, reason="请r看看")
    # what signs nothing stays p's to do: hand it to r, or return it to the handler
    assert "transfer_task" in offered
    assert "return" in engine.available_triggers(rid, p_)
    assert "approve" in engine.available_triggers(rid, r_)
    assert {"claim_task", "delegate_task", "add_signers"} <= set(engine.available_operations(rid, r_))
    engine.operate(rid, Transfer(to="r"), p_, reason="请r审")
    assert approve(engine, rid, r_).current_step == 1
    assert approve(engine, rid, p_).state == "approved"
    verified(engine)

    named = make_engine(
        Chain(ApprovalStep("", "r 审批", assignees=person("r")), steps[1]), Listed(p_, r_), url=url
    )
    _OPEN.append(named)
    first = submitted(named)
    for command in (Transfer(to="p"), AddSigners(["p"], Position.BEFORE)):  # nor handed to p
        with pytest.raises(TaskError, match="若由 审批人p（p） 签署或接手这项任务，第 2 环节「二级」"):
            named.operate(first, command, r_, reason="请p审")
    assert approve(named, first, r_).current_step == 1

    alone = make_engine(Chain(*steps), Listed(p_), url=url, clock=FrozenClock())
    _OPEN.append(alone)
    draft = drafted(alone)
    with pytest.raises(PluginError, match="一人在一条审批链上只签一次，这一环节没有人能签") as caught:
        alone.fire(draft, "submit", HANDLER)
    assert "审批链第 2 环节「二级」" in caught.value.message_zh
    assert alone.get(draft).state == "draft"


def test_keeping_a_task_counts_whoever_will_sign_it(url: str) -> None:
    """Claiming a 或签 pool task, or a pool task for a principal one stands in for, is keeping it to
    sign: refused when the claimer (or the stand-in, who signs too) is the only one left for a later
    pool. A 或签 whose only possible signer is the only 二级 is refused at submission."""
    from jiedai_flow.errors import PluginError

    p_ = Actor("p", "审批人p", frozenset({Role.APPROVER}), levels=frozenset({"一级", "二级"}))
    r_ = Actor("r", "审批人r", frozenset({Role.APPROVER}), levels=frozenset({"一级"}))
    either = ApprovalStep("", "一级或签", kind=StepKind.ANY, assignees=(Assignee.level("一级"),))
    second = ApprovalStep("二级", "二级")
    engine = make_engine(Chain(either, second), Listed(p_, r_), url=url, clock=FrozenClock())
    _OPEN.append(engine)
    rid = submitted(engine)
    for act in (lambda: engine.operate(rid, Claim(), p_), lambda: approve(engine, rid, p_)):
        with pytest.raises(TaskError, match="第 2 环节「二级」的「二级」就没有人能签了"):
            act()
    assert approve(engine, rid, r_).current_step == 1
    assert approve(engine, rid, p_).state == "approved"

    s_ = Actor("s", "审批人s", frozenset({Role.APPROVER}), levels=frozenset({"二级"}))
    q_ = Actor("q", "审批人q", frozenset({Role.APPROVER}), levels=frozenset({"一级"}))
    clock = FrozenClock()
    proxied = make_engine(
        Chain(ApprovalStep("一级", "一级"), second), Listed(r_, s_, q_), url=url, clock=clock
    )
    _OPEN.append(proxied)
    rid = submitted(proxied)
    proxied.set_proxy(q_.id, s_.id, clock.now().date(), clock.now().date(), q_)
    with pytest.raises(TaskError, match="若由 审批人s（s） 签署或接手这项任务，第 2 环节「二级」"):
        proxied.operate(rid, Claim(), s_)  # for q: s would sign step 1 on q's behalf
    assert approve(proxied, rid, r_).current_step == 1

    alone = make_engine(Chain(either, second), Listed(p_), url=url, clock=FrozenClock())
    _OPEN.append(alone)
    with pytest.raises(PluginError, match="这一环节没有人能签"):
        alone.fire(drafted(alone), "submit", HANDLER)


def test_nobody_acts_on_the_handlers_own_task_not_even_their_stand_in(url: str) -> None:
    """A 或签 or 票签 may name the handler (the others decide it). Nobody acts on the handler's own
    task: not the handler, not their stand-in 代理 — it is in nobody's 待办 and no signature is
    offered on it. A 票签 does not wait for the handler's weight: 3/2/2 at 50 % with the handler's
    3 fails once one of the others votes against."""
    h_ = Actor(HANDLER.id, HANDLER.name, frozenset({Role.HANDLER, Role.APPROVER}), unit=HANDLER.unit)
    s_ = approver("s")
    either = ApprovalStep("", "分管领导或签", kind=StepKind.ANY, assignees=person(h_.id, "a"))
    weights = (Assignee.person(h_.id, 3), Assignee.person("a", 2), Assignee.person("b", 2))
    vote = ApprovalStep("", "党组会票签", kind=StepKind.VOTE, threshold=50, assignees=weights)
    for step in (either, vote):
        clock = FrozenClock()
        engine = engine_for(url, step, clock=clock)
        rid = submitted(engine, h_)
        today = clock.now().date()
        engine.set_proxy(h_.id, s_.id, today, today, h_)
        assert mine(engine, s_) == []
        assert "approve" not in engine.available_triggers(rid, s_)
        with pytest.raises(NotAuthorizedError, match=r"经办人 .* 本人的审批任务，谁也不能代办"):
            approve(engine, rid, s_)
        assert engine.get(rid).approvals == ()
        if step is either:
            assert approve(engine, rid, A).state == "approved"
        else:
            assert approve(engine, rid, A).state == "submitted"  # 2 of 7: the handler's 3 never comes
            engine.operate(rid, Against(), B, reason="超标准")
            assert engine.get(rid).state == "refused"
        verified(engine)


def test_a_stand_in_signs_as_themself_and_as_the_principal(url: str) -> None:
    """Signing for a principal is signing for both: refused when the stand-in is named on a later
    step (they could never sign it), or holds a task of this step of their own. Nor is a task
    handed to someone who will decide a delegated task of the step, nor claimed by someone named on
    a later step."""
    clock = FrozenClock()
    first = ApprovalStep("", "一级", assignees=person("a"))
    engine = engine_for(url, first, ApprovalStep("", "二级", assignees=person("e")), clock=clock)
    rid = submitted(engine)
    today = clock.now().date()
    engine.set_proxy(A.id, E.id, today, today, A)
    assert "approve" not in engine.available_triggers(rid, E)
    with pytest.raises(TaskError, match="您还要签第 2 环节「二级」"):
        approve(engine, rid, E)
    assert approve(engine, rid, A).current_step == 1

    both = ApprovalStep("", "会签", kind=StepKind.PARALLEL, assignees=person("a", "s"))
    s_ = approver("s")
    engine = engine_for(url, both, clock=clock)
    rid = submitted(engine)
    engine.set_proxy(A.id, s_.id, today, today, A)
    theirs = next(t.id for t in engine.get(rid).tasks if t.owner == A.id)
    with pytest.raises(TaskError, match="s 已有本环节的任务，请签自己的任务"):
        engine.fire(rid, "approve", s_, reason="同意", command=TaskCommand(task=theirs))

    x_ = approver("x", unit="县财政局")
    shared = ApprovalStep(
        "", "会签", kind=StepKind.PARALLEL, assignees=(Assignee.unit("县财政局"), Assignee.person("b"))
    )
    engine = make_engine(Chain(shared), Listed(x_, B, D), url=url, clock=clock)
    _OPEN.append(engine)
    rid = submitted(engine)
    pool = next(t.id for t in engine.get(rid).tasks if not t.owner)
    engine.operate(rid, Claim(task=pool), x_)
    engine.operate(rid, Delegate(task=pool, to="d"), x_, reason="请提意见")
    for command in (Transfer(to="x"), AddSigners(["x"], Position.ALONGSIDE)):  # x decides the pool's
        with pytest.raises(TaskError, match="x（x） 已在本审批链上"):
            engine.operate(rid, command, B, reason="请x办")

    q_ = approver("q", levels=["一级"])
    p_ = approver("p", levels=["一级"])
    pooled = ApprovalStep("一级", "一级")
    engine = make_engine(
        Chain(pooled, ApprovalStep("", "二级", assignees=person("p"))), Listed(p_, q_), url=url, clock=clock
    )
    _OPEN.append(engine)
    rid = submitted(engine)
    assert "claim_task" not in engine.available_operations(rid, p_)
    with pytest.raises(TaskError, match="还要签第 2 环节「二级」"):
        engine.operate(rid, Claim(), p_)
    assert mine(engine, q_) == [rid]
    assert approve(engine, rid, q_).current_step == 1
    assert approve(engine, rid, p_).state == "approved"
    verified(engine)


class ByBudget:
    """A countersign only for a plan of 1,000 yuan or more: the chain is rebuilt at each submission."""

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del standards
        if reception.plan.budget >= 1000:
            return [SINGLE_A, PARALLEL_BCD]
        return [SINGLE_A]


def test_task_rows_follow_a_chain_rebuilt_at_resubmission(url: str) -> None:
    """Returned from a countersign, the plan lowered under the countersign's threshold and submitted
    again: the old countersign task's step is gone from the chain, so its title changes — its index
    row is rewritten with it (已办 reads the same on every store, and the audit check finds no row
    edited behind the library's back)."""
    import attrs

    engine = make_engine(ByBudget(), url=url, clock=FrozenClock())
    _OPEN.append(engine)
    rid = submitted(engine)
    approve(engine, rid, A)
    engine.fire(rid, "return", B, reason="预算偏高，请压减")
    lowered = attrs.evolve(engine.get(rid).plan, budget=Decimal(800))
    engine.fire(rid, "edit", HANDLER, plan=lowered)
    engine.fire(rid, "submit", HANDLER)
    assert [(row.title, row.outcome) for row in engine.done_by(B).items] == [("b", "return")]
    verified(engine)


def test_a_later_any_or_vote_step_keeps_who_it_cannot_pass_without(url: str) -> None:
    """A later 或签 naming only p, or a 票签 whose 二级 pool (p alone) it cannot pass without, needs p:
    p, also a 一级, may not take step 1 — r signs it, then p the later step. Adding a signer to the
    一级 pool task is p keeping it, and the refusal names p."""
    p_ = Actor("p", "审批人p", frozenset({Role.APPROVER}), levels=frozenset({"一级", "二级"}))
    r_ = Actor("r", "审批人r", frozenset({Role.APPROVER}), levels=frozenset({"一级"}))
    x_ = Actor("x", "审批人x", frozenset({Role.APPROVER}))
    first = ApprovalStep("一级", "一级")
    later = (
        ApprovalStep("", "p或签", kind=StepKind.ANY, assignees=person("p")),
        ApprovalStep("", "二级票签", kind=StepKind.VOTE, threshold=50, assignees=(Assignee.level("二级"),)),
    )
    for step in later:
        engine = make_engine(Chain(first, step), Listed(p_, r_, x_), url=url, clock=FrozenClock())
        _OPEN.append(engine)
        rid = submitted(engine)
        says = f"若由 审批人p（p） 签署或接手这项任务，第 2 环节「{step.label}」"
        for command in (Claim(), AddSigners(["x"], Position.BEFORE)):
            with pytest.raises(TaskError, match=says):
                engine.operate(rid, command, p_, reason="请x先审")
        with pytest.raises(TaskError, match=says):
            approve(engine, rid, p_)
        assert approve(engine, rid, r_).current_step == 1
        assert approve(engine, rid, p_).state == "approved"


def test_an_any_or_vote_step_may_name_someone_who_cannot_sign_while_the_others_decide(url: str) -> None:
    """或签 and 票签 pass without one person: naming the handler, or someone who must sign a later step,
    is accepted while the others can still decide — and that person is refused on this step."""
    from jiedai_flow.errors import PluginError

    any_ab = ApprovalStep("", "或签", kind=StepKind.ANY, assignees=person("a", "b"))
    engine = engine_for(url, any_ab, SINGLE_A)
    rid = submitted(engine)
    with pytest.raises(TaskError, match="您还要签第 2 环节"):
        approve(engine, rid, A)
    approve(engine, rid, B)
    assert approve(engine, rid, A).state == "approved"

    engine = engine_for(url, ApprovalStep("", "或签", kind=StepKind.ANY, assignees=person(HANDLER.id, "b")))
    assert approve(engine, submitted(engine), B).state == "approved"

    votes = (Assignee.person(HANDLER.id, 3), Assignee.person("b", 1), Assignee.person("c", 1))
    engine = engine_for(url, ApprovalStep("", "票签", kind=StepKind.VOTE, threshold=50, assignees=votes))
    rid = drafted(engine)
    with pytest.raises(PluginError, match="经办人"):  # 2 of 5 without the handler: cannot pass
        engine.fire(rid, "submit", HANDLER)


def test_a_holder_of_the_step_cannot_sign_its_pool_task_too() -> None:
    """Someone with a task of their own on a parallel step signs that one, not the pool's: the pool
    task stays for the rest of the pool."""
    step = ApprovalStep(
        "", "会签", kind=StepKind.PARALLEL, assignees=(Assignee.person(VICE.id), Assignee.level("常务副县长"))
    )
    engine = make_engine(Chain(step), TwoLevels(), clock=FrozenClock())
    rid = submitted(engine)
    pool = next(t for t in engine.get(rid).tasks if not t.owner)
    with pytest.raises(TaskError, match="已有本环节的任务"):
        engine.fire(rid, "approve", VICE, reason="同意", command=TaskCommand(task=pool.id))
    assert approve(engine, rid, VICE).state == "submitted"
    assert approve(engine, rid, EXEC).state == "approved"


def test_take_back_after_removing_an_added_signer(url: str) -> None:
    """减签 is the adder's own doing: it does not count as the next signer acting."""
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    engine.operate(rid, AddSigners(["b"], Position.AFTER), A, reason="请 b 在我之后审")
    approve(engine, rid, A)
    added = next(t for t in engine.get(rid).tasks if t.assignee.ref == "b")
    engine.operate(rid, RemoveSigner(task=added.id), A, reason="不必了")
    assert "take_back" in engine.available_operations(rid, A)
    engine.operate(rid, TakeBack(), A)
    assert mine(engine, A) == [rid]


def test_a_delegate_may_be_someone_named_on_a_later_step(url: str) -> None:
    """A delegate only gives an opinion: being named on a later step does not bar them."""
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    engine.operate(rid, Delegate(to="e"), A, reason="请县长先看看")
    engine.operate(rid, Reply(), E, reason="可以")
    approve(engine, rid, A)
    assert approve(engine, rid, E).state == "approved"


def test_a_transfer_or_added_signer_never_reaches_someone_named_on_a_later_step(url: str) -> None:
    """Having signed this step they could never sign theirs: the later step would stick."""
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    for command in (Transfer(to="e"), AddSigners(["e"], Position.AFTER), AddSigners(["e"], Position.BEFORE)):
        with pytest.raises(TaskError, match="已在本审批链上"):
            engine.operate(rid, command, A, reason="试")
    assert mine(engine, A) == [rid]


def test_someone_who_signed_the_chain_or_holds_a_task_of_the_step_cannot_claim() -> None:
    """A pool task claimed by someone who may never sign it would be lost to the rest of the pool:
    p signed step 1, so q signs step 2; a stand-in for both claims the second task for q."""
    clock = FrozenClock()
    chain = Chain(
        ApprovalStep("分管副县长", "分管副县长"),
        ApprovalStep(
            "",
            "县长会签",
            kind=StepKind.PARALLEL,
            assignees=(Assignee.level("常务副县长"), Assignee.level("常务副县长")),
        ),
    )
    engine = make_engine(chain, TwoLevels(), clock=clock)
    rid = submitted(engine)
    approve(engine, rid, VICE)
    assert "claim_task" not in engine.available_operations(rid, VICE)
    first, second = (t for t in engine.get(rid).tasks if t.live)
    with pytest.raises(TaskError, match="已签署本审批链"):
        engine.operate(rid, Claim(task=first.id), VICE)
    today = clock.now().date()
    for principal in (VICE, EXEC):
        engine.set_proxy(principal.id, DEPUTY.id, today, today, principal)
    engine.operate(rid, Claim(task=first.id), DEPUTY)  # for EXEC: VICE signed step 1
    assert engine.get(rid).tasks[-2].owner == EXEC.id
    with pytest.raises(REFUSED):  # EXEC holds a task of the step, VICE signed: nobody to claim for
        engine.operate(rid, Claim(task=second.id), DEPUTY)
    assert [t.owner for t in engine.get(rid).tasks if t.live] == [EXEC.id, ""]


def test_someone_who_signed_the_chain_cannot_take_the_next_pool_task_by_any_operation(url: str) -> None:
    """Acting on an unclaimed pool task takes it, as a claim does: a 分管领导 who signed step 1 is
    in step 2's pool, but may not transfer, delegate, add a signer to, send back, return or refuse
    it — else the first signer would choose who signs the next step — and is offered none of it.
    Another member of the pool still can."""
    signed = Actor("a", "审批人a", frozenset({Role.APPROVER}), levels=frozenset({"分管领导"}))
    other = Actor("b", "审批人b", frozenset({Role.APPROVER}), levels=frozenset({"分管领导"}))
    engine = engine_for(url, SINGLE_A, ApprovalStep("分管领导", "分管领导"))
    rid = submitted(engine)
    approve(engine, rid, signed)
    offered = set(engine.available_operations(rid, signed))
    assert not offered & {"claim_task", "transfer_task", "delegate_task", "add_signers", "send_back"}
    for command in (
        Claim(),
        Transfer(to="x"),
        Delegate(to="x"),
        AddSigners(["x"], Position.BEFORE),
        SendBack(step=0),
    ):
        with pytest.raises(TaskError, match="已签署本审批链"):
            engine.operate(rid, command, signed, reason="换人审")
    for trigger in ("return", "refuse"):
        with pytest.raises(TaskError, match="已签署本审批链"):
            engine.fire(rid, trigger, signed, reason="不同意")
    pool_task = next(t for t in engine.get(rid).tasks if t.live)
    assert pool_task.owner == ""  # nothing was taken on the way
    assert mine(engine, signed) == []  # nor listed for them
    assert engine.task_counts(signed).mine == 0
    assert mine(engine, other) == [rid]
    assert engine.task_counts(other).mine == 1
    assert "transfer_task" in engine.available_operations(rid, other)
    engine.operate(rid, Transfer(to="x"), other, reason="出差")
    assert approve(engine, rid, X).state == "approved"
    verified(engine)


class People:
    """A directory of the approvers below (stand-ins need one to find their principals' pools)."""

    def __init__(self, *people: Actor) -> None:
        self.people = {p.id: p for p in (*people, HANDLER)}

    @hookimpl
    def jiedai_actor(self, actor_id: str) -> Actor | None:
        return self.people.get(actor_id)


def pool_world(url: str, chain: Chain, *people: Actor) -> tuple[Engine, str, date]:
    """An engine on ``url`` with ``chain`` and a directory of ``people`` (closed after the test), a
    reception submitted on it, and the day of its clock (for stand-in designations)."""
    clock = FrozenClock()
    engine = make_engine(chain, People(*people), url=url, clock=clock)
    _OPEN.append(engine)
    return engine, submitted(engine), clock.now().date()


def test_a_stand_in_who_signed_the_chain_cannot_act_on_the_next_step_for_a_principal() -> None:
    """s signed step 1 and stands in for p, who signs step 2 (in its pool, or named): s may not
    claim, hand on, send back, return or refuse p's step for p — else the first signer would choose
    who signs next — and is offered none of it. A stand-in who has not signed may."""
    s_ = Actor("s", "审批人s", frozenset({Role.APPROVER}), levels=frozenset({"一级"}))
    p_ = Actor("p", "审批人p", frozenset({Role.APPROVER}), levels=frozenset({"二级"}))
    t_ = Actor("t", "审批人t", frozenset({Role.APPROVER}))
    for second in (ApprovalStep("二级", "二级"), ApprovalStep("", "二级", assignees=person("p"))):
        clock = FrozenClock()
        engine = make_engine(Chain(ApprovalStep("一级", "一级"), second), People(s_, p_, t_, X), clock=clock)
        rid = submitted(engine)
        approve(engine, rid, s_)
        today = clock.now().date()
        engine.set_proxy(p_.id, s_.id, today, today, p_)
        engine.set_proxy(p_.id, t_.id, today, today, p_)
        offered = set(engine.available_operations(rid, s_))
        assert not offered & {"claim_task", "transfer_task", "delegate_task", "add_signers", "send_back"}
        commands: list[TaskCommand] = [Transfer(to="x"), Delegate(to="x"), SendBack(step=0)]
        if second.level:
            commands.append(Claim())
        for command in commands:
            with pytest.raises(TaskError, match="已签署本审批链"):
                engine.operate(rid, command, s_, reason="换人审")
        for trigger in ("return", "refuse"):
            with pytest.raises(TaskError, match="已签署本审批链"):
                engine.fire(rid, trigger, s_, reason="不同意")
        assert "transfer_task" in engine.available_operations(rid, t_)
        engine.operate(rid, Transfer(to="x"), t_, reason="李娜出差")
        assert approve(engine, rid, X).state == "approved"


def test_a_stand_in_who_delegated_a_principals_task_may_still_hand_it_on() -> None:
    """s stands in for p, delegates p's task and has the reply: the task is still the one s acts
    on — holding it is no reason to refuse s acting on it (a delegator holds *this* task)."""
    s_ = Actor("s", "审批人s", frozenset({Role.APPROVER}))
    p_ = Actor("p", "审批人p", frozenset({Role.APPROVER}))
    clock = FrozenClock()
    engine = make_engine(
        Chain(ApprovalStep("", "二级", assignees=person("p"))), People(s_, p_, X, D), clock=clock
    )
    rid = submitted(engine)
    today = clock.now().date()
    engine.set_proxy(p_.id, s_.id, today, today, p_)
    engine.operate(rid, Delegate(to="d"), s_, reason="请提意见")
    engine.operate(rid, Reply(), D, reason="可以")
    assert {"transfer_task", "add_signers"} <= set(engine.available_operations(rid, s_))
    engine.operate(rid, Transfer(to="x"), s_, reason="李娜出差")
    assert approve(engine, rid, X).state == "approved"


S_ = Actor("s", "审批人s", frozenset({Role.APPROVER}), levels=frozenset({"二级"}))
T_ = Actor("t", "审批人t", frozenset({Role.APPROVER}))
Y_ = Actor("y", "审批人y", frozenset({Role.APPROVER}), levels=frozenset({"二级"}))
CANNOT_SIGN_LATER = (
    (ApprovalStep("", "二级", assignees=person("s")), "您还要签第 2 环节「二级」"),  # s is named on step 2
    (  # s is all of step 2's pool
        ApprovalStep("二级", "二级"),
        "若由 审批人s（s） 签署或接手这项任务，第 2 环节「二级」",
    ),
)
"""Second steps after SINGLE_A that S_ could not sign a's task before, and why."""


def a_away(second: ApprovalStep, *others: Actor) -> tuple[Engine, str]:
    """A reception submitted to SINGLE_A then ``second``; a is away today and S_ stands in, and T_
    too unless ``others`` (people of the directory, no stand-ins) are given."""
    clock = FrozenClock()
    stand_ins = (S_,) if others else (S_, T_)
    engine = make_engine(Chain(SINGLE_A, second), Listed(A, *stand_ins, *others, X), clock=clock)
    rid = submitted(engine)
    today = clock.now().date()
    for stand_in in stand_ins:
        engine.set_proxy(A.id, stand_in.id, today, today, A)
    return engine, rid


def test_a_stand_in_adds_signers_only_to_a_principals_task_they_could_then_sign() -> None:
    """加签 keeps the task for the adder to sign after (or alongside) those added. A stand-in who
    could not sign the principal's task — named on a later step, or the only one left to sign a
    later pool — was offered 加签 on it, the add accepted, and then their signature refused: now it
    is neither offered nor accepted, saying why. A stand-in who could sign it adds and signs."""
    s_, t_ = S_, T_
    for second, why in CANNOT_SIGN_LATER:
        engine, rid = a_away(second)
        assert "approve" not in engine.available_triggers(rid, s_)
        assert "add_signers" not in engine.available_operations(rid, s_)
        for position in Position:
            with pytest.raises(TaskError, match=f"加签后这项任务仍要由您签署，而您签不了：{why}"):
                engine.operate(rid, AddSigners(["x"], position), s_, reason="请 x 也看")
        assert engine.get(rid).current_step == 0
        assert "add_signers" in engine.available_operations(rid, t_)
        engine.operate(rid, AddSigners(["x"], Position.AFTER), t_, reason="请 x 也看")
        assert approve(engine, rid, t_).approvals[-1].on_behalf_of == A.id
        approve(engine, rid, X)
        assert approve(engine, rid, s_).state == "approved"

    # s could sign a's task, but not once y, the other one of step 2's pool, is added before them
    engine, rid = a_away(ApprovalStep("二级", "二级"), Y_)
    assert "add_signers" in engine.available_operations(rid, s_)
    with pytest.raises(TaskError, match="第 2 环节「二级」的「二级」就没有人能签了"):
        engine.operate(rid, AddSigners(["y"], Position.BEFORE), s_, reason="请 y 先看")
    engine.operate(rid, AddSigners(["x"], Position.BEFORE), s_, reason="请 x 先看")
    approve(engine, rid, X)
    assert approve(engine, rid, s_).approvals[-1].on_behalf_of == A.id
    assert approve(engine, rid, Y_).state == "approved"


def test_on_an_any_one_or_vote_step_one_who_cannot_sign_may_still_add_or_ask() -> None:
    """A 或签 or 票签 is decided by the others: its holder who cannot sign (named on a later step) is
    not stuck with the task, and may add signers alongside or delegate — those added
    may well decide it. Only a step that needs every signer holds the adder to sign after."""
    for first in (
        ApprovalStep("", "或签", kind=StepKind.ANY, assignees=person("b", "c")),
        ApprovalStep("", "票签", kind=StepKind.VOTE, threshold=50, assignees=person("b", "c", "d")),
    ):
        engine = make_engine(Chain(first, ApprovalStep("", "二级", assignees=person("b"))))
        rid = submitted(engine)
        with pytest.raises(TaskError, match="您还要签第 2 环节"):
            approve(engine, rid, B)
        assert {"add_signers", "delegate_task"} <= set(engine.available_operations(rid, B))
        engine.operate(rid, AddSigners(["x"], Position.ALONGSIDE), B, reason="请 x 也看")
        approve(engine, rid, C)
        if first.kind is StepKind.VOTE:  # c, d and x: 3 of 4
            approve(engine, rid, D)
            approve(engine, rid, X)
        assert approve(engine, rid, B).state == "approved"


def test_a_stand_in_delegates_only_a_principals_task_they_could_then_sign() -> None:
    """委派 brings the task back to the delegator to sign after the reply. A stand-in who could not
    sign the principal's task — the only one left to sign a later pool, or named on a later step —
    was offered 委派 on it and the delegation accepted; after the reply the task was back with
    someone whose signature is refused, and the step stuck. Now it is neither offered nor accepted,
    saying why. A stand-in who could sign it delegates — to someone of that later pool, even — and
    signs after the reply."""
    s_, t_ = S_, T_
    for second, why in CANNOT_SIGN_LATER:
        engine, rid = a_away(second)
        assert "approve" not in engine.available_triggers(rid, s_)
        assert "delegate_task" not in engine.available_operations(rid, s_)
        with pytest.raises(TaskError, match=f"委派后这项任务仍要由您签署，而您签不了：{why}"):
            engine.operate(rid, Delegate(to="x"), s_, reason="请 x 提意见")
        assert all(not t.delegated_to for t in engine.get(rid).tasks)
        assert "delegate_task" in engine.available_operations(rid, t_)
        engine.operate(rid, Delegate(to="x"), t_, reason="请 x 提意见")
        engine.operate(rid, Reply(), X, reason="可以")
        assert approve(engine, rid, t_).approvals[-1].on_behalf_of == A.id
        assert approve(engine, rid, s_).state == "approved"

    # y, the other one of step 2's pool, only gives an opinion: s still signs a's task, y step 2
    engine, rid = a_away(ApprovalStep("二级", "二级"), Y_)
    assert "delegate_task" in engine.available_operations(rid, s_)
    engine.operate(rid, Delegate(to="y"), s_, reason="请 y 提意见")
    engine.operate(rid, Reply(), Y_, reason="可以")
    assert approve(engine, rid, s_).approvals[-1].on_behalf_of == A.id
    assert approve(engine, rid, Y_).state == "approved"


def test_a_task_a_stand_in_delegated_still_counts_its_principal_as_signing() -> None:
    """s stands in for a and delegates a's task of a parallel countersign: after the reply it is
    signed for a, so a — in step 2's pool with y alone — still counts as signing step 1. b's 加签
    of y, which would leave step 2 with nobody, is refused as it is without the delegation; it was
    accepted, and then neither s nor a could sign a's task."""
    a_ = Actor("a", "审批人a", frozenset({Role.APPROVER}), levels=frozenset({"二级"}))
    y_ = Actor("y", "审批人y", frozenset({Role.APPROVER}), levels=frozenset({"二级"}))
    s_ = Actor("s", "审批人s", frozenset({Role.APPROVER}))
    first = ApprovalStep("", "会签", kind=StepKind.PARALLEL, assignees=person("a", "b"))
    for delegated in (False, True):
        clock = FrozenClock()
        engine = make_engine(
            Chain(first, ApprovalStep("二级", "二级")), Listed(a_, B, s_, y_, X), clock=clock
        )
        rid = submitted(engine)
        today = clock.now().date()
        engine.set_proxy(a_.id, s_.id, today, today, a_)
        if delegated:
            engine.operate(rid, Delegate(to="x"), s_, reason="请 x 提意见")
            engine.operate(rid, Reply(), X, reason="可以")
        with pytest.raises(TaskError, match="第 2 环节「二级」的「二级」就没有人能签了"):
            engine.operate(rid, AddSigners(["y"], Position.BEFORE), B, reason="请 y 先看")
        approve(engine, rid, B)
        assert approve(engine, rid, s_).approvals[-1].on_behalf_of == a_.id
        assert approve(engine, rid, y_).state == "approved"


def test_todo_leaves_out_a_pool_task_nobody_it_is_listed_for_may_take(url: str) -> None:
    """待办 lists a pool task only while the actor may take it (for themselves, or as a stand-in for
    a principal in the pool): p signed step 1, so step 2's pool is not in p's 待办 nor in that of
    s, who sees it only through p; q of the same level sees it. In a parallel countersign of a
    department and a level, x (in both) claims the department's task: the level's task leaves x's
    待办 — x holds a task of the step — and stays in y's. The index rows the claim and the signature
    change are rewritten with them (verify recomputes them)."""
    p_ = Actor("p", "审批人p", frozenset({Role.APPROVER}), levels=frozenset({"一级", "二级"}))
    q_ = Actor("q", "审批人q", frozenset({Role.APPROVER}), levels=frozenset({"二级"}))
    s_ = Actor("s", "审批人s", frozenset({Role.APPROVER}))
    x_ = Actor("x", "审批人x", frozenset({Role.APPROVER}), unit="县财政局", levels=frozenset({"分管领导"}))
    y_ = Actor("y", "审批人y", frozenset({Role.APPROVER}), levels=frozenset({"分管领导"}))
    both = (Assignee.unit("县财政局"), Assignee.level("分管领导"))
    chain = Chain(
        ApprovalStep("一级", "一级"),
        ApprovalStep("二级", "二级"),
        ApprovalStep("", "财政局、分管领导会签", kind=StepKind.PARALLEL, assignees=both),
    )
    engine, rid, today = pool_world(url, chain, p_, q_, s_, x_, y_)
    engine.set_proxy(p_.id, s_.id, today, today, p_)
    assert mine(engine, s_) == [rid]  # step 1's pool, through p
    approve(engine, rid, p_)
    assert mine(engine, p_) == mine(engine, s_) == []
    assert engine.task_counts(p_).mine == engine.task_counts(s_).mine == 0
    assert mine(engine, q_) == [rid]
    approve(engine, rid, q_)
    unit_task, level_task = (t for t in engine.get(rid).tasks if t.live)
    assert sorted(mine(engine, x_)) == [rid, rid]
    assert mine(engine, y_) == [rid]
    engine.operate(rid, Claim(task=unit_task.id), x_)
    assert [r.task_id for r in engine.tasks_for(x_).items] == [unit_task.id]
    assert [r.task_id for r in engine.tasks_for(y_).items] == [level_task.id]
    verified(engine)
    approve(engine, rid, y_)
    assert approve(engine, rid, x_).state == "approved"
    verified(engine)


def test_a_pools_approval_task_is_listed_only_for_those_who_may_sign_it(url: str) -> None:
    """A department pool's approval task is in the 待办 (and the count) of its members who hold the
    approver role, not of 王芳 (财务) of the same department, who can never claim or sign it; an
    execution item for the department is in every member's. As a stand-in the same: through an
    approver the pool's approval task reaches an approver, through 王芳 only the item. A level pool
    too: 办公室 holding the level sees no approval task of it."""
    cz = approver("cz", unit="县财政局")
    clerk = Actor("wang.fang", "王芳", frozenset({Role.FINANCE}), unit="县财政局")
    s_, t_ = approver("s", unit="县发改委"), approver("t", unit="县发改委")  # for cz, for 王芳
    head = Actor("chen.jie", "陈洁", frozenset({Role.OFFICE}), levels=frozenset({"部门负责人"}))
    director = approver("sun.hao", levels=["部门负责人"])
    unit_step = ApprovalStep("", "财政局会签", kind=StepKind.PARALLEL, assignees=(Assignee.unit("县财政局"),))
    chain = Chain(ApprovalStep("部门负责人", "部门负责人"), unit_step)
    engine, rid, today = pool_world(url, chain, cz, clerk, s_, t_, head, director)
    engine.set_proxy(cz.id, s_.id, today, today, cz)
    engine.set_proxy(clerk.id, t_.id, today, today, clerk)
    assert mine(engine, head) == []
    assert engine.task_counts(head).mine == 0
    assert mine(engine, director) == [rid]
    approve(engine, rid, director)
    for nobody in (clerk, t_, head):
        assert mine(engine, nobody) == [], nobody.id
        assert engine.task_counts(nobody).mine == 0, nobody.id
        assert engine.tasks_for(nobody, kind=TaskKind.APPROVAL).items == (), nobody.id
    with pytest.raises(NotAuthorizedError, match="审批人"):
        engine.operate(rid, Claim(), clerk)
    # nor through a stand-in: 王芳 could not sign it, so nobody signs it on her behalf
    with pytest.raises(NotAuthorizedError):
        engine.operate(rid, Claim(), t_)
    with pytest.raises(NotAuthorizedError):
        approve(engine, rid, t_)
    assert not engine.get(rid).approvals[1:]
    for signer in (cz, s_):
        assert mine(engine, signer) == [rid], signer.id
        assert engine.task_counts(signer).mine == 1, signer.id
    assert approve(engine, rid, cz).state == "approved"
    engine.operate(rid, Assign((ExecutionItem("会场", Assignee.unit("县财政局")),)), HANDLER)
    for member in (clerk, cz, s_, t_):
        assert [r.title for r in engine.tasks_for(member).items] == ["会场"], member.id
        assert engine.task_counts(member).mine == 1, member.id
    verified(engine)


def test_a_delegator_still_holds_the_delegated_task() -> None:
    """x holds the department's task of a parallel countersign (x is in both pools) and delegates
    it: x still holds a task of the step, so may not take the level's pool task too — else, after
    the reply, x would hold a task they could never sign and the step would stick."""
    x_ = Actor("x", "审批人x", frozenset({Role.APPROVER}), unit="县财政局", levels=frozenset({"分管领导"}))
    both = (Assignee.unit("县财政局"), Assignee.level("分管领导"))
    engine = make_engine(
        Chain(ApprovalStep("", "财政局、分管领导会签", kind=StepKind.PARALLEL, assignees=both)),
        People(x_, D),
        clock=FrozenClock(),
    )
    rid = submitted(engine)
    unit_task, level_task = (t for t in engine.get(rid).tasks if t.live)
    engine.operate(rid, Delegate(task=unit_task.id, to="d"), x_, reason="请提意见")
    with pytest.raises(TaskError, match="已有本环节的任务"):
        engine.operate(rid, Claim(task=level_task.id), x_)
    with pytest.raises(TaskError, match="已有本环节的任务"):
        engine.fire(rid, "approve", x_, reason="同意", command=Claim(task=level_task.id))
    assert "claim_task" not in engine.available_operations(rid, x_)


def test_take_back_in_a_sequential_countersign_is_refused_once_the_next_signer_acted(url: str) -> None:
    """顺序会签 a then b: b's task opened because a agreed; once b acted, a cannot take it back."""
    sequential = ApprovalStep("", "顺序会签", kind=StepKind.SEQUENTIAL, assignees=person("a", "b"))
    engine = engine_for(url, sequential, SINGLE_E)
    rid = submitted(engine)
    approve(engine, rid, A)
    assert "take_back" in engine.available_operations(rid, A)
    approve(engine, rid, B)
    assert "take_back" not in engine.available_operations(rid, A)
    with pytest.raises(TaskError, match="下一位办理人已经办理"):
        engine.operate(rid, TakeBack(), A)
    assert [a.actor_id for a in engine.get(rid).approvals] == ["a", "b"]


def test_added_before_or_after_one_parallel_signer_waits_for_that_signer_alone(url: str) -> None:
    """前加签 in a parallel countersign holds back only the adder; 后加签 waits only for the adder."""
    engine = engine_for(url, PARALLEL_BCD)
    rid = submitted(engine)
    engine.operate(rid, AddSigners(["x"], Position.BEFORE), B, reason="请先核")
    assert mine(engine, B) == []
    assert mine(engine, X) == mine(engine, C) == mine(engine, D) == [rid]
    approve(engine, rid, C)
    engine.operate(rid, AddSigners(["y"], Position.AFTER), D, reason="请在我之后审")
    assert mine(engine, Y) == []
    approve(engine, rid, D)
    assert mine(engine, Y) == [rid]  # D signed: y opens, whoever else is still to sign
    approve(engine, rid, X)
    assert mine(engine, B) == [rid]
    approve(engine, rid, Y)
    assert approve(engine, rid, B).state == "approved"
    verified(engine)


def test_removing_the_last_added_signer_of_the_last_step_approves_the_reception(url: str) -> None:
    capture = NotificationCapture()
    engine = engine_for(url, SINGLE_A, capture=capture)
    rid = submitted(engine)
    engine.operate(rid, AddSigners(["b"], Position.AFTER), A, reason="请财政局在我之后审")
    approve(engine, rid, A)
    added = next(t for t in engine.get(rid).tasks if t.assignee.ref == "b")
    assert "remove_signer" in engine.available_operations(rid, A)
    result = engine.operate(rid, RemoveSigner(task=added.id), A, reason="不必再审")
    assert result.reception.state == "approved"
    assert mine(engine, B) == []
    told = [n for n in capture.delivered if n.event_id == result.event.id]
    assert any(Role.HANDLER in n.recipients and n.action_zh == "审批已通过，可按方案接待" for n in told)
    verified(engine)


class Urgent:
    """Standards that allow 补办 (start before approval, sign within two days)."""

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (StandardsLayer("补办", Level.COUNTY, "341502", {"retroactive_window_days": 2}),)


def test_removing_the_last_added_signer_of_a_retroactive_chain_tells_the_handler() -> None:
    """补办: a reception started before approval, whose last step's added signer is removed, has
    its chain signed by the removal — the handler hears of it as of the signature itself."""
    capture = NotificationCapture()
    engine = make_engine(Chain(SINGLE_A), Urgent(), capture, clock=FrozenClock())
    rid = drafted(engine)
    engine.fire(rid, "start_urgent", HANDLER, reason="上级临时通知当日到达")
    engine.operate(rid, AddSigners(["b"], Position.AFTER), A, reason="请财政局在我之后审")
    approve(engine, rid, A)
    added = next(t for t in engine.get(rid).tasks if t.assignee.ref == "b")
    result = engine.operate(rid, RemoveSigner(task=added.id), A, reason="不必再审")
    assert result.reception.state == "in_progress"
    assert result.reception.approval_complete
    assert mine(engine, B) == []
    told = [n for n in capture.delivered if n.event_id == result.event.id]
    assert any(HANDLER.id in n.people for n in told), told
    verified(engine)


def test_removing_a_signer_of_a_retroactive_chain_not_yet_done_tells_nobody_it_is_signed() -> None:
    """补办 a → e: a adds b before themselves and removes b before anyone signed — the chain is not
    done, and the handler is not told so."""
    capture = NotificationCapture()
    engine = make_engine(Chain(SINGLE_A, SINGLE_E), Urgent(), capture, clock=FrozenClock())
    rid = drafted(engine)
    engine.fire(rid, "start_urgent", HANDLER, reason="上级临时通知当日到达")
    engine.operate(rid, AddSigners(["b"], Position.BEFORE), A, reason="请财政局先看")
    added = next(t for t in engine.get(rid).tasks if t.assignee.ref == "b")
    result = engine.operate(rid, RemoveSigner(task=added.id), A, reason="不必了")
    assert not result.reception.approval_complete
    told = [n for n in capture.delivered if n.event_id == result.event.id]
    assert not any(HANDLER.id in n.people or Role.HANDLER in n.recipients for n in told), told


Told = list[tuple[tuple[Role, ...], str, tuple[str, ...]]]
"""What one command told: for each notification, the roles, the request 待办 and the people named."""


def signed_and_told(engine: Engine, told: NotificationCapture, rid: str, *signers: Actor) -> list[Told]:
    """Each signer approves in turn; what each signature told."""
    heard = []
    for signer in signers:
        told.clear()
        approve(engine, rid, signer)
        heard.append([(n.recipients, n.action_zh, n.people) for n in told.delivered])
    return heard


def started_urgently(engine: Engine) -> str:
    """A new reception's id, started before approval (补办)."""
    rid = drafted(engine)
    engine.fire(rid, "start_urgent", HANDLER, reason="上级临时通知当日到达")
    return rid


NEXT_STEP = "请审批下一环节"
APPROVED = "审批已通过，可按方案接待"


def awaiting(left: int) -> str:
    """What a signature that leaves its 会签 step open asks: nothing, ``left`` signatures remain."""
    return f"本环节尚待其他 {left} 位审批人签署"


VOTE_OPEN = "本环节票签尚未达到通过票数，尚待其他审批人投票"


@pytest.mark.parametrize(
    ("kind", "signers"),
    [("countersign", (B, C, D)), ("vote", (B, C))],  # the last passes the step (the vote: 5 of 7)
)
def test_a_retroactive_chain_tells_the_handler_it_is_signed_only_after_its_last_step(
    url: str, kind: str, signers: tuple[Actor, ...]
) -> None:
    """补办 of a 并行会签 (or a 票签) of b, c, d, then 县长 e: the handler is told 「补办审批已签署」
    by e's signature alone. A signature that leaves its step waiting tells what it tells in an
    ordinary chain (that it awaits the others); the one that passes the step tells the next step
    to approve, naming e."""
    step = {"countersign": PARALLEL_BCD, "vote": VOTE_BCD}[kind]
    told = NotificationCapture()
    engine = make_engine(Chain(step, SINGLE_E), Urgent(), told, url=url, clock=FrozenClock())
    _OPEN.append(engine)
    rid = started_urgently(engine)
    heard = signed_and_told(engine, told, rid, *signers, E)
    waiting = {
        "countersign": [[((Role.APPROVER,), awaiting(2), ())], [((Role.APPROVER,), awaiting(1), ())]],
        "vote": [[((Role.APPROVER,), VOTE_OPEN, ())]],
    }[kind]
    expected = [
        *waiting,
        [((Role.APPROVER,), NEXT_STEP, ("e",))],
        [((Role.HANDLER,), "补办审批已签署", ())],
    ]
    assert heard == expected
    assert told.delivered[0].action_en == "the retroactive approval is signed"
    assert engine.get(rid).state == "in_progress"

    plain = NotificationCapture()
    ordinary = engine_for(url, step, SINGLE_E, capture=plain)
    rid = submitted(ordinary)
    assert signed_and_told(ordinary, plain, rid, *signers, E)[:-1] == expected[:-1]
    verified(engine)


def test_the_last_retroactive_signature_tells_the_handler_in_either_state_it_is_signed(url: str) -> None:
    """补办 of one step, signed while the reception is under way, and of two steps, signed after it
    ended (接待结束): the last signature tells the handler 「补办审批已签署」, the first of two the
    next step."""
    told = NotificationCapture()
    engine = make_engine(Chain(SINGLE_A), Urgent(), told, url=url, clock=FrozenClock())
    _OPEN.append(engine)
    rid = started_urgently(engine)
    assert signed_and_told(engine, told, rid, A) == [[((Role.HANDLER,), "补办审批已签署", ())]]

    engine = make_engine(Chain(SINGLE_A, SINGLE_E), Urgent(), told, url=url, clock=FrozenClock())
    _OPEN.append(engine)
    rid = started_urgently(engine)
    engine.fire(rid, "finish", HANDLER)
    assert signed_and_told(engine, told, rid, A, E) == [
        [((Role.APPROVER,), NEXT_STEP, ("e",))],
        [((Role.HANDLER,), "补办审批已签署", ())],
    ]
    assert engine.get(rid).state == "completed"
    verified(engine)


class CountyRoutes:
    """A county that routes by its own table: the default one, with 办公室 told of every 补办 too."""

    @hookimpl
    def jiedai_routes(self, jurisdiction: str) -> dict[str, tuple[Role, ...]]:
        del jurisdiction
        return {**DEFAULT_ROUTES, "start_urgent": (Role.APPROVER, Role.SUPERVISOR, Role.OFFICE)}


def test_a_county_routing_table_from_the_default_tells_a_retroactive_chain_as_the_process_does() -> None:
    """The default table keys the two 补办 signatures by their condition, so a county's table made
    from it tells the handler only of the last signature, and the approvers of the others."""
    told = NotificationCapture()
    engine = make_engine(Chain(PARALLEL_BCD, SINGLE_E), Urgent(), CountyRoutes(), told, clock=FrozenClock())
    rid = started_urgently(engine)
    assert [n.recipients for n in told.delivered] == [(Role.APPROVER, Role.SUPERVISOR, Role.OFFICE)]
    assert signed_and_told(engine, told, rid, B, C, D, E) == [
        [((Role.APPROVER,), awaiting(2), ())],
        [((Role.APPROVER,), awaiting(1), ())],
        [((Role.APPROVER,), NEXT_STEP, ("e",))],
        [((Role.HANDLER,), "补办审批已签署", ())],
    ]


@pytest.mark.parametrize(
    ("kind", "signers"),
    [("countersign", (B, C, D)), ("vote", (B, C))],  # the last passes the step (the vote: 5 of 7)
)
def test_a_signature_that_leaves_its_step_open_asks_for_no_next_step(
    kind: str, signers: tuple[Actor, ...]
) -> None:
    """A 并行会签 of b, c, d (or a 票签 b 3, c 2, d 2, passed by more than half), then 县长 e: a
    signature the step still waits on others after asks nobody for the next step — it says how
    the step stands and names nobody (the others hold their tasks already); the one that passes
    the step asks for the next, naming e; e's passes the chain."""
    step = {"countersign": PARALLEL_BCD, "vote": VOTE_BCD}[kind]
    told = NotificationCapture()
    engine = make_engine(Chain(step, SINGLE_E), told, clock=FrozenClock())
    rid = submitted(engine)
    told.clear()
    first = engine.fire(rid, "approve", B, reason="同意")
    assert first.reception.current_step == 0
    [notice] = told.delivered
    says = {
        "countersign": (awaiting(2), "this step still awaits 2 more signatures"),
        "vote": (VOTE_OPEN, "this step's vote has not reached its threshold yet: it awaits other votes"),
    }[kind]
    assert (notice.action_zh, notice.action_en) == says
    assert notice.recipients == (Role.APPROVER,)
    assert notice.people == ()
    assert NEXT_STEP not in notice.action_zh
    waiting = {"countersign": [[((Role.APPROVER,), awaiting(1), ())]], "vote": []}[kind]
    assert signed_and_told(engine, told, rid, *signers[1:], E) == [
        *waiting,
        [((Role.APPROVER,), NEXT_STEP, ("e",))],
        [((Role.HANDLER,), APPROVED, ())],
    ]
    assert told.delivered[0].action_en == "approved; receive the guests as planned"
    assert engine.get(rid).state == "approved"


def test_a_signature_of_the_last_step_left_open_does_not_say_the_chain_passed() -> None:
    """会签 as the last step: b's and c's signatures leave it open (they say so); d's passes the
    chain and tells the handler, as before."""
    told = NotificationCapture()
    engine = make_engine(Chain(SINGLE_A, PARALLEL_BCD), told, clock=FrozenClock())
    rid = submitted(engine)
    assert signed_and_told(engine, told, rid, A, B, C, D) == [
        [((Role.APPROVER,), NEXT_STEP, ("b", "c", "d"))],
        [((Role.APPROVER,), awaiting(2), ())],
        [((Role.APPROVER,), awaiting(1), ())],
        [((Role.HANDLER,), APPROVED, ())],
    ]


def test_a_sequential_countersign_names_the_next_signer_of_the_step_it_leaves_open() -> None:
    """顺序会签 b → c → d: b's signature leaves the step open and opens c's task — c is named, and
    the notice says the step awaits c and d in turn, not a next step; c's names d."""
    step = ApprovalStep("", "依次会签", kind=StepKind.SEQUENTIAL, assignees=person("b", "c", "d"))
    told = NotificationCapture()
    engine = make_engine(Chain(step, SINGLE_E), told, clock=FrozenClock())
    rid = submitted(engine)
    assert signed_and_told(engine, told, rid, B, C, D) == [
        [((Role.APPROVER,), "本环节尚待其他 2 位审批人依次签署", ("c",))],
        [((Role.APPROVER,), awaiting(1), ("d",))],
        [((Role.APPROVER,), NEXT_STEP, ("e",))],
    ]
    assert told.delivered[0].action_en == "please approve the next step"


def test_a_county_process_keeps_its_recipients_of_a_signature_that_leaves_its_step_open() -> None:
    """A county's own process tells 办公室 too of a signature before the last step, in its own
    words: a signature that leaves a 会签 open still reaches whom it declares, but says the step
    awaits the others; one that passes the step says what the county wrote."""
    from jiedai_flow import open_engine
    from jiedai_flow.process.lifecycle import DEFAULT_PROCESS, FACT_MORE_STEPS

    own = attrs.evolve(
        DEFAULT_PROCESS,
        transitions=tuple(
            attrs.evolve(t, notify=(Role.APPROVER, Role.OFFICE), action_zh="请下一级领导审批")
            if t.trigger == "approve" and t.condition == FACT_MORE_STEPS
            else t
            for t in DEFAULT_PROCESS.transitions
        ),
    )
    told = NotificationCapture()
    engine = open_engine(
        "memory://",
        autoload=False,
        plugins=[Chain(PARALLEL_BCD, SINGLE_E), told],
        clock=FrozenClock(),
        processes=(own,),
    )
    rid = submitted(engine)
    assert signed_and_told(engine, told, rid, B, C, D)[1:] == [
        [((Role.APPROVER, Role.OFFICE), awaiting(1), ())],
        [((Role.APPROVER, Role.OFFICE), "请下一级领导审批", ("e",))],
    ]


class Directory:
    """The deployment's directory of people (``jiedai_actor``): the approvers, the office and the
    supervisor; anyone else is unknown."""

    @hookimpl
    def jiedai_actor(self, actor_id: str) -> Actor | None:
        return {**PEOPLE, OFFICE.id: OFFICE, SUPERVISOR.id: SUPERVISOR, HANDLER.id: HANDLER}.get(actor_id)


def test_people_handed_a_task_are_shown_by_name_before_they_act() -> None:
    """With a directory, a transferred or added signer's task carries their name: the timeline
    and the sign-off (接待清单, ``jiedai show``) show 「姓名」 while they have not acted yet; taking a
    signature back reopens the signer's own task and says nothing of a transfer."""
    from jiedai_flow.process.signoff import names_of, signoff

    engine = make_engine(Chain(SINGLE_A, SINGLE_E), Directory(), clock=FrozenClock())
    rid = submitted(engine)
    added = engine.operate(rid, AddSigners(["x"], Position.AFTER), A, reason="请 x 在我之后审")
    assert "加签 审批人x（x）" in added.event.note
    moved = engine.operate(rid, Transfer(to="b"), A, reason="出差")
    assert "转办给 审批人b（b）" in moved.event.note
    reception = engine.get(rid)
    line = signoff(reception, names=names_of(reception, engine.history(rid))).steps[0].line
    assert "审批人x" in line, line
    approve(engine, rid, B)
    back = engine.operate(rid, TakeBack(), B)
    assert "转办给" not in back.event.note


def test_with_a_directory_no_task_goes_to_someone_unknown_or_unable_to_sign() -> None:
    """A task handed to a misspelt id or to someone without the approver role would sit in a 待办
    nobody can act on: refused, and the step keeps its way forward. Without a directory the engine
    cannot tell (the host checks), as before."""
    engine = make_engine(Chain(SINGLE_A, SINGLE_E), Directory(), clock=FrozenClock())
    rid = submitted(engine)
    refusals = {
        Transfer(to="nobody.x"): "参与人名单里没有 nobody.x",
        Delegate(to="nobody.x"): "参与人名单里没有 nobody.x",
        Transfer(to=OFFICE.id): r"没有办理这项任务的角色（需要：审批人）",
        AddSigners([SUPERVISOR.id], Position.ALONGSIDE): "没有办理这项任务的角色",
        Delegate(to=SUPERVISOR.id): "没有办理这项任务的角色",  # 纪检 reads only: could never reply
        AddSigners(["x", "nobody.y"], Position.BEFORE): "参与人名单里没有 nobody.y",
        Copy(["nobody.z"]): "参与人名单里没有 nobody.z",
    }
    for command, says in refusals.items():
        with pytest.raises(TaskError, match=says):
            engine.operate(rid, command, A, reason="试")
    assert mine(engine, A) == [rid]  # nothing moved
    engine.operate(rid, Copy([SUPERVISOR.id]), A)  # a copy is for reading: any known person
    with pytest.raises(TaskError, match="没有办理这项任务的角色"):
        engine.set_proxy("a", OFFICE.id, START, START, A)
    with pytest.raises(TaskError, match="参与人名单里没有 nobody"):
        engine.set_proxy("nobody", "x", START, START, OFFICE)
    engine.operate(rid, Delegate(to=OFFICE.id), A, reason="请办公室核对人数")  # an opinion: office may reply
    engine.operate(rid, Reply(), OFFICE, reason="人数与公函一致")
    engine.operate(rid, Transfer(to="x"), A, reason="出差")
    assert approve(engine, rid, X).current_step == 1

    open_door = make_engine(Chain(SINGLE_A, SINGLE_E), clock=FrozenClock())
    assert open_door.directory is None
    rid = submitted(open_door)
    open_door.operate(rid, Transfer(to="nobody.x"), A, reason="宿主系统已核对")
    assert mine(open_door, A) == []


def test_someone_without_the_role_is_refused_before_targets_and_reasons_are_judged() -> None:
    """An operation's refusal of its target («参与人名单里没有 X»), of its jump («从这里可跳转到：…»)
    or of a missing reason would tell someone who may not use it at all which ids and states exist:
    they are refused as not authorized first. Those who hold the role still hear what was wrong."""
    finance = ACTORS["finance"]
    engine = make_engine(Chain(SINGLE_A, SINGLE_E), Directory(), clock=FrozenClock())
    rid = submitted(engine)
    version = engine.get(rid).version
    for command, who in (
        (Transfer(to="nobody.x"), finance),
        (Transfer(to=A.id), finance),
        (Jump(state="nowhere"), A),
        (Jump(step=0), A),
        (Terminate(), A),
    ):
        with pytest.raises(NotAuthorizedError):
            engine.operate(rid, command, who, reason="试")
        with pytest.raises(NotAuthorizedError):
            engine.operate(rid, command, who)  # no reason either
    with pytest.raises(TaskError, match=r"参与人名单里没有 nobody\.x"):
        engine.operate(rid, Transfer(to="nobody.x"), A, reason="试")
    with pytest.raises(TaskError, match="从这里可跳转到"):
        engine.operate(rid, Jump(state="nowhere"), ADMIN, reason="试")
    with pytest.raises(ReasonRequiredError):
        engine.operate(rid, Terminate(), ADMIN)
    assert engine.get(rid).version == version  # nothing saved


def test_with_a_directory_a_chain_naming_someone_unknown_is_refused_at_submission() -> None:
    """A misspelt id in a county's countersign (``people = ["li.nna"]``) opened a task nobody
    could sign; with a directory the submission is refused, naming the step, and nothing is saved."""
    from jiedai_flow.errors import PluginError

    typo = ApprovalStep("", "财政局会签", kind=StepKind.PARALLEL, assignees=person("b", "b.typo"))
    engine = make_engine(Chain(SINGLE_A, typo), Directory(), clock=FrozenClock())
    created = engine.create_reception(
        sample_letter(START),
        sample_plan(START),
        handler=HANDLER,
        host_unit="县政府办公室",
        jurisdiction="341502",
    )
    with pytest.raises(PluginError, match=r"审批链第 2 环节「财政局会签」：参与人名单里没有 b\.typo"):
        engine.fire(created.reception.id, "submit", HANDLER)
    assert engine.get(created.reception.id).state == "draft"
    office = ApprovalStep("", "办公室会签", kind=StepKind.PARALLEL, assignees=person("b", OFFICE.id))
    engine = make_engine(Chain(office), Directory(), clock=FrozenClock())
    with pytest.raises(PluginError, match="没有办理这项任务的角色"):
        submitted(engine)


def test_a_pool_task_is_claimed_and_leaves_the_others_lists(url: str) -> None:
    pool = ApprovalStep("分管领导", "分管领导")
    engine = engine_for(url, pool)
    rid = submitted(engine)
    leader1 = approver("l1", levels=["分管领导"])
    leader2 = approver("l2", levels=["分管领导"])
    handler_leader = Actor(
        HANDLER.id, HANDLER.name, frozenset({Role.HANDLER, Role.APPROVER}), levels=frozenset({"分管领导"})
    )
    assert mine(engine, leader1) == mine(engine, leader2) == [rid]
    assert mine(engine, handler_leader) == []  # the handler never sees their own reception's approval
    engine.operate(rid, Claim(), leader1)
    assert mine(engine, leader1) == [rid]
    assert mine(engine, leader2) == []
    with pytest.raises(TaskError, match="任务已经是您的"):  # not 「没有待办（当前由 l1 办理）」
        engine.operate(rid, Claim(), leader1)
    with pytest.raises(TaskError, match="已由 l1 认领"):  # lost to a colleague, not 「无权」
        approve(engine, rid, leader2)
    assert approve(engine, rid, leader1).state == "approved"


def test_a_pool_task_a_colleague_claimed_first_is_refused_naming_them(url: str) -> None:
    """Losing a pool task to a colleague (both clicked, or 待办 was stale) is a refusal saying who
    claimed it (``TaskError``: HTTP 422, exit code 3), whatever one tried — claim, sign, answer,
    hand on, with or without the task's id; 「无权」 stays for whoever is not in the pool."""
    engine = engine_for(url, POOL, SINGLE_E)
    rid = submitted(engine)
    first, second = approver("l1", levels=["分管领导"]), approver("l2", levels=["分管领导"])
    engine.operate(rid, Claim(), first)
    task = engine.get(rid).tasks[0].id[:8]
    lost = {
        "claim": lambda: engine.operate(rid, Claim(), second),
        "claim the task": lambda: engine.operate(rid, Claim(task=task), second),
        "approve": lambda: approve(engine, rid, second),
        "approve the task": lambda: engine.fire(
            rid, "approve", second, reason="同意", command=TaskCommand(task=task)
        ),
        "return": lambda: engine.fire(rid, "return", second, reason="请补充公函"),
        "transfer": lambda: engine.operate(rid, Transfer(to="x"), second, reason="出差"),
    }
    for what, act in lost.items():
        with pytest.raises(TaskError, match=r"不能「.+」：「分管领导」的任务已由 l1 认领") as refused:
            act()
        assert refused.value.code == "task_refused", what
        assert "claimed by l1" in refused.value.message_en, what
    for outsider in (approver("l9", levels=["部门负责人"]), OFFICE):
        with pytest.raises(NotAuthorizedError):
            engine.operate(rid, Claim(), outsider)
        with pytest.raises(NotAuthorizedError):
            engine.operate(rid, Claim(task=task), outsider)  # named by its id too
        with pytest.raises(NotAuthorizedError):
            approve(engine, rid, outsider)
    assert approve(engine, rid, first).current_step == 1


def test_a_stand_in_for_one_who_could_never_sign_is_not_told_a_colleague_was_first(url: str) -> None:
    """A stand-in for 王芳 (财务 of 县财政局, who can never sign its approval task) is not
    authorized before the task is claimed, and stays not authorized after a colleague claimed it:
    not refused as one who lost the task to a colleague (HTTP 422, exit code 3) is."""
    cz = approver("cz", unit="县财政局")
    clerk = Actor("wang.fang", "王芳", frozenset({Role.FINANCE}), unit="县财政局")
    t_ = approver("t", unit="县发改委")
    chain = Chain(ApprovalStep("", "财政局审批", assignees=(Assignee.unit("县财政局"),)))
    engine, rid, today = pool_world(url, chain, cz, clerk, t_)
    engine.set_proxy(clerk.id, t_.id, today, today, clerk)
    with pytest.raises(NotAuthorizedError):
        approve(engine, rid, t_)
    engine.operate(rid, Claim(), cz)
    for act in (lambda: approve(engine, rid, t_), lambda: engine.operate(rid, Claim(), t_)):
        with pytest.raises(NotAuthorizedError):
            act()


def test_whatever_a_stand_in_does_with_a_principals_task_is_on_their_behalf(url: str) -> None:
    """Not only a signature: a stand-in 代理 who transfers, sends back, returns or delegates the
    principal's task does it on their behalf — the task says so (``on_behalf_of``) and the audit
    note begins 「代 p」."""
    p_, s_ = approver("p"), approver("s")
    acts = {
        "transfer": lambda engine, rid: engine.operate(rid, Transfer(to="x"), s_, reason="p 出差"),
        "send back": lambda engine, rid: engine.operate(rid, SendBack(step=0), s_, reason="请重审"),
        "return": lambda engine, rid: engine.fire(rid, "return", s_, reason="请修改"),
        "delegate": lambda engine, rid: engine.operate(rid, Delegate(to="x"), s_, reason="请提意见"),
    }
    for what, act in acts.items():
        clock = FrozenClock()
        engine = engine_for(url, SINGLE_A, ApprovalStep("", "二级", assignees=person("p")), clock=clock)
        rid = submitted(engine)
        approve(engine, rid, A)
        engine.set_proxy(p_.id, s_.id, clock.now().date(), clock.now().date(), p_)
        result = act(engine, rid)
        assert result.event.note.startswith("代 p"), (what, result.event.note)
        theirs = next(t for t in result.reception.tasks if t.assignee.ref == "p")
        assert theirs.on_behalf_of == ("" if what == "delegate" else "p"), what
        assert theirs.delegated_by == ("s" if what == "delegate" else ""), what


def test_remove_signer_is_offered_only_where_a_removal_would_be_accepted(url: str) -> None:
    """a adds x to a 票签 of a and b (50 %); b votes against. Removing x would leave the vote unable
    to pass — refused, so 减签 is not offered either; before b's vote it is."""
    vote = ApprovalStep("", "票签", kind=StepKind.VOTE, threshold=50, assignees=person("a", "b"))
    engine = engine_for(url, vote)
    rid = submitted(engine)
    engine.operate(rid, AddSigners(["x"], Position.ALONGSIDE), A, reason="请 x 也投票")
    assert "remove_signer" in engine.available_operations(rid, A)
    engine.operate(rid, Against(), B, reason="不同意")
    assert "remove_signer" not in engine.available_operations(rid, A)
    added = next(t.id for t in engine.get(rid).tasks if t.assignee.ref == "x")
    with pytest.raises(TaskError, match="票数不能通过"):
        engine.operate(rid, RemoveSigner(task=added), A, reason="不必了")


def test_urge_names_anyones_task_and_skips_those_urged_lately(url: str) -> None:
    """催办 reminds someone else: the handler, the office or another approver names b's task and it
    is urged. Naming none urges every open task not urged within the hour (c and d, not b again);
    only when all were is it refused, and then a named one too."""
    clock = FrozenClock()
    engine = engine_for(url, PARALLEL_BCD, clock=clock)
    rid = submitted(engine)
    b_task = next(t.id for t in engine.get(rid).tasks if t.owner == "b")
    assert "催办 b" in engine.operate(rid, Urge(task=b_task[:8]), HANDLER).event.note
    event = engine.operate(rid, Urge(), OFFICE).event
    assert "催办 c" in event.note
    assert "催办 d" in event.note
    assert "催办 b" not in event.note
    for command in (Urge(), Urge(task=b_task)):
        with pytest.raises(RateLimitedError, match="分钟后再催") as caught:
            engine.operate(rid, command, C)
        assert ": cannot urge: " in caught.value.message_en  # the operation's name, not 催办
    with pytest.raises(TaskError, match="没有对应「zzz」的待办任务"):
        engine.operate(rid, Urge(task="zzz"), HANDLER)
    clock.advance(hours=1, minutes=1)
    assert "催办 b" in engine.operate(rid, Urge(task=b_task), C).event.note


def test_urge_copy_read_comment_and_counts(url: str) -> None:
    clock = FrozenClock()
    engine = engine_for(url, SINGLE_A, clock=clock)
    rid = submitted(engine)
    engine.operate(rid, Urge(), HANDLER)
    with pytest.raises(RateLimitedError, match="分钟后再催") as again:
        engine.operate(rid, Urge(), HANDLER)
    assert again.value.message_zh.startswith(f"接待记录 {engine.get(rid).number} ")  # the number, not the id
    clock.advance(hours=1, minutes=1)
    event = engine.operate(rid, Urge(), HANDLER).event
    assert "催办 a" in event.note
    engine.operate(rid, Copy(["x", "y"]), HANDLER)
    with pytest.raises(TaskError, match=r"^接待记录 .* 不能「抄送」：x 已经抄送过"):
        engine.operate(rid, Copy(["x"]), A)  # nobody is copied twice on one reception
    assert [r.reception_id for r in engine.copied_to(X).items] == [rid]
    assert engine.task_counts(X).cc_unread == 1
    engine.operate(rid, MarkRead(), X)
    assert engine.task_counts(X).cc_unread == 0
    assert engine.copied_to(X).items[0].read
    engine.operate(rid, MarkRead(), A)
    assert engine.tasks_for(A).items[0].read
    engine.operate(rid, Comment(), A, reason="请补充来访人员名单")
    assert engine.history(rid)[-1].reason == "请补充来访人员名单"
    with pytest.raises(NotAuthorizedError):
        engine.operate(rid, Comment(), SUPERVISOR, reason="纪检只读")
    counts = engine.task_counts(A)
    assert (counts.mine, counts.done) == (1, 0)
    assert engine.task_counts(HANDLER).started == 1
    assert [r.reception_id for r in engine.started_by(HANDLER).items] == [rid]


def test_every_list_keeps_to_the_jurisdiction_asked_for(url: str) -> None:
    """A jurisdiction filter holds on every list, 抄送我的 too (the SQL stores listed every copy
    whatever county was asked for), and in a store's counts of a query that carries one."""
    from jiedai_flow.domain.records import TaskCounts
    from jiedai_flow.storage.base import TaskStore

    engine = engine_for(url, SINGLE_A)
    rid = submitted(engine)
    engine.operate(rid, Copy(["x"]), HANDLER)
    approve(engine, rid, A)
    lists = ((engine.copied_to, X), (engine.done_by, A), (engine.started_by, HANDLER))
    for listing, actor in lists:
        assert [r.reception_id for r in listing(actor, jurisdiction="341502").items] == [rid], actor.id
        assert listing(actor, jurisdiction="110101").items == (), actor.id
    store = engine.store
    assert isinstance(store, TaskStore)
    assert store.task_counts(engine.task_query(X, jurisdiction="110101")) == TaskCounts()
    here = store.task_counts(engine.task_query(X, jurisdiction="341502"))
    assert (here.cc, here.cc_unread) == (1, 1)


def test_a_copy_to_nobody_says_nobody_was_named_at_the_field(url: str) -> None:
    """抄送 with nobody named (an empty list, blank names, the web form with nobody ticked) says so
    at ``$.people``, not 「这些人 已经抄送过」 nor 「参与人名单里没有 」 with an empty name; one blank
    or unknown name among others is pointed at by its place in the list."""
    for directory in ((), (Directory(),)):
        engine = make_engine(Chain(SINGLE_A), *directory, url=url, clock=FrozenClock())
        _OPEN.append(engine)
        rid = submitted(engine)
        for people in ([], [""], ["  ", ""]):
            with pytest.raises(TaskError, match=r"不能「抄送」：未给出抄送人 /") as refused:
                engine.operate(rid, Copy(people), HANDLER)
            assert refused.value.message_en.endswith("nobody named to copy to")
            assert [p.path for p in refused.value.problems] == ["$.people"]
        with pytest.raises(TaskError, match="第 2 位抄送人为空") as blank:
            engine.operate(rid, Copy(["x", ""]), HANDLER)
        assert [p.path for p in blank.value.problems] == ["$.people[1]"]
        engine.operate(rid, Copy(["x"]), HANDLER)
        with pytest.raises(TaskError, match=r"x）? 已经抄送过") as again:
            engine.operate(rid, Copy(["x"]), HANDLER)
        assert [p.path for p in again.value.problems] == ["$.people"]
    with pytest.raises(TaskError, match=r"参与人名单里没有 nobody\.x") as unknown:
        engine.operate(rid, Copy(["y", "nobody.x"]), HANDLER)
    assert [p.path for p in unknown.value.problems] == ["$.people[1]"]


def test_a_missing_reason_names_the_reason_field(url: str) -> None:
    """「必须填写理由」 carries the field it is about (``$.reason``), for HTTP problem details and
    for the command line to name its ``--reason``."""
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    for act in (
        lambda: engine.operate(rid, Transfer(to="x"), A),
        lambda: engine.fire(rid, "return", A),
        lambda: engine.operate(rid, Comment(), A),
    ):
        with pytest.raises(ReasonRequiredError, match="必须填写理由") as missing:
            act()
        [problem] = missing.value.problems
        assert (problem.path, problem.message_zh, problem.message_en) == (
            "$.reason",
            "必须填写理由",
            "a reason is required",
        )


def test_a_copy_can_be_read_after_the_reception_ended(url: str) -> None:
    """A copy made during approval and read only after the reception was refused (or cancelled,
    archived) stayed 未读 in 抄送我的 for ever: 已阅 is offered and works in terminal states too."""
    engine = engine_for(url, SINGLE_A)
    rid = submitted(engine)
    engine.operate(rid, Copy(["x"]), A)
    engine.fire(rid, "refuse", A, reason="无公函依据")
    process = engine.process_of(engine.get(rid))
    assert engine.get(rid).state in process.terminal_states
    assert engine.task_counts(X).cc_unread == 1
    assert "mark_read" in engine.available_operations(rid, X)
    engine.operate(rid, MarkRead(), X)
    assert engine.task_counts(X).cc_unread == 0
    with pytest.raises(InvalidTransitionError):
        engine.operate(rid, Comment(), A, reason="终止后不再沟通")


def test_the_supervisor_marks_a_copy_read_and_nothing_else(url: str) -> None:
    """纪检 is copied (a cancellation after approval, say) and may mark that copy read — it records
    that they read it and changes nothing of the reception, and carries no text (refused with one);
    any other operation stays refused."""
    engine = engine_for(url, SINGLE_A)
    rid = submitted(engine)
    assert "mark_read" not in engine.available_operations(rid, SUPERVISOR)  # nothing sent to them
    engine.operate(rid, Copy([SUPERVISOR.id]), HANDLER)
    assert engine.task_counts(SUPERVISOR).cc_unread == 1
    assert engine.available_operations(rid, SUPERVISOR) == ("mark_read",)
    before = engine.get(rid)
    with pytest.raises(TaskError, match="已阅不附意见"):  # a receipt says nothing: 纪检 writes nothing
        engine.operate(rid, MarkRead(), SUPERVISOR, reason="纪检意见：同意报销")
    assert engine.get(rid) == before
    engine.operate(rid, MarkRead(), SUPERVISOR)
    after = engine.get(rid)
    assert engine.task_counts(SUPERVISOR).cc_unread == 0
    assert engine.history(rid)[-1].reason == ""
    assert (after.state, after.tasks, after.approvals) == (before.state, before.tasks, before.approvals)
    for command in (Comment(), Urge(), Copy(["x"])):
        with pytest.raises(NotAuthorizedError):
            engine.operate(rid, command, SUPERVISOR, reason="纪检只读")


def test_a_supervisor_standing_in_marks_only_their_own_copy_read(url: str) -> None:
    """Named as someone's stand-in, 纪检 still marks nothing of theirs read."""
    clock = FrozenClock()
    engine = engine_for(url, SINGLE_A, clock=clock)
    rid = submitted(engine)
    today = clock.now().date()
    engine.set_proxy("a", SUPERVISOR.id, today, today, A)
    assert "mark_read" not in engine.available_operations(rid, SUPERVISOR)
    with pytest.raises(TaskError):
        engine.operate(rid, MarkRead(), SUPERVISOR)
    assert all(t.read_at is None for t in engine.get(rid).tasks)


def test_terminate_and_jump_are_for_administrators_and_audited(url: str) -> None:
    capture = NotificationCapture()
    engine = engine_for(url, SINGLE_A, SINGLE_E, capture=capture)
    rid = submitted(engine)
    approve(engine, rid, A)
    with pytest.raises(NotAuthorizedError):
        engine.operate(rid, Jump(step=0), HANDLER, reason="重审")
    after = engine.operate(rid, Jump(step=0), ADMIN, reason="办公室主任需重审").reception
    assert after.current_step == 0
    assert mine(engine, A) == [rid]
    assert mine(engine, E) == []
    with pytest.raises(TaskError, match="不能从「待审批」跳转到「已审批」；从这里可跳转到：「草拟」"):
        engine.operate(rid, Jump(state="approved"), ADMIN, reason="跳过审批")  # not a jump the process allows
    with pytest.raises(TaskError, match="流程没有状态「aproved」"):
        engine.operate(rid, Jump(state="aproved"), ADMIN, reason="跳")
    with pytest.raises(TaskError, match="须指明跳转到的状态或审批环节"):
        engine.operate(rid, Jump(), ADMIN, reason="跳")  # it recorded an empty jump
    with pytest.raises(ReasonRequiredError, match="「跳转」必须填写理由"):
        engine.operate(rid, Jump(step=0), ADMIN)
    back = engine.operate(rid, Jump(state="draft"), ADMIN, reason="退回经办人").reception
    assert back.state == "draft"
    assert mine(engine, A) == []
    engine.fire(rid, "submit", HANDLER)
    with pytest.raises(ReasonRequiredError):  # the same error, and exit code, as 退回 without one
        engine.operate(rid, Terminate(), ADMIN)
    ended = engine.operate(rid, Terminate(), ADMIN, reason="来访取消")
    assert ended.reception.state == "terminated"
    assert mine(engine, A) == []
    told = [n for n in capture.delivered if n.event_id == ended.event.id]
    assert told
    assert all(Role.SUPERVISOR in n.recipients for n in told)
    assert [e.trigger for e in engine.history(rid)][-4:] == ["jump", "jump", "submit", "terminate"]
    verified(engine)


def test_a_stand_in_signs_on_behalf_of_the_absent_approver(url: str) -> None:
    clock = FrozenClock()
    engine = engine_for(url, SINGLE_A, clock=clock)
    rid = submitted(engine)
    today = clock.now().date()
    first = engine.set_proxy("a", "x", today, today + timedelta(days=3), A, reason="出差")
    again = engine.set_proxy("a", "x", today, today + timedelta(days=3), A, reason="出差")  # sent twice
    assert (first.created, again.created) == (True, False)
    assert again.proxy == first.proxy
    assert [p.id for p in engine.proxies()] == [first.proxy.id]
    assert mine(engine, X) == [rid]
    result = approve(engine, rid, X)
    signed = result.approvals[-1]
    assert (signed.actor_id, signed.on_behalf_of) == ("x", "a")
    assert "代 a" in engine.history(rid)[-1].note
    with pytest.raises(NotAuthorizedError):
        engine.set_proxy("b", "x", today, today, A)  # only for oneself


def test_a_stand_in_period_lies_within_a_year_of_today_either_way(url: str) -> None:
    """A mistyped year (0001, 9999) is a validation error at ``$.start`` / ``$.end``, both at once,
    and nothing is set; a year back and a year ahead (366 days, the engine clock's China day) pass."""
    clock = FrozenClock(datetime(2026, 3, 1, 23, 30, tzinfo=UTC))  # already 2026-03-02 in China
    engine = engine_for(url, SINGLE_A, clock=clock)
    today = date(2026, 3, 2)
    for start, end, paths in (
        (date(1, 1, 1), today, ["$.start"]),
        (today, date(9999, 12, 31), ["$.end"]),
        (date(1, 1, 1), date(9999, 12, 31), ["$.start", "$.end"]),
        (today - timedelta(days=367), today + timedelta(days=367), ["$.start", "$.end"]),
    ):
        with pytest.raises(ValidationError) as refused:
            engine.set_proxy("a", "x", start, end, A)
        assert [p.path for p in refused.value.problems] == paths
    with pytest.raises(ValidationError) as refused:
        engine.set_proxy("a", "x", date(2024, 3, 1), today, A)
    [problem] = refused.value.problems
    assert problem.message_zh == (
        "开始日期 2024-03-01 早于今天（2026-03-02）超过一年：代理期间最早从 2025-03-01 开始"
    )
    assert problem.message_en == (
        "start 2024-03-01 is more than a year before today (2026-03-02): a stand-in period starts on "
        "2025-03-01 at the earliest"
    )
    assert list(engine.proxies()) == []
    widest = engine.set_proxy("a", "x", today - timedelta(days=366), today + timedelta(days=366), A)
    assert (widest.proxy.start, widest.proxy.end) == (date(2025, 3, 1), date(2027, 3, 3))


def test_one_designation_sent_twice_at_once_is_one_stand_in_and_created_once(url: str) -> None:
    """Threads sending one form at once make one row, and one of them is told it made it; revoked,
    the same designation set again is a new one."""
    clock = FrozenClock(datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    engine = engine_for(url, SINGLE_A, clock=clock)
    today = date(2026, 3, 2)
    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(lambda _: engine.set_proxy("a", "x", today, today, A), range(8)))
    assert len({m.proxy.id for m in made}) == 1
    assert [m.created for m in made].count(True) == 1
    [kept] = engine.proxies()
    assert engine.stand_in_for("x") == frozenset({"a"})
    engine.revoke_proxy(kept.id, A)
    assert [p.revoked for p in engine.proxies()] == [True]
    assert engine.stand_in_for("x") == frozenset()
    again = engine.set_proxy("a", "x", today, today, A)
    assert again.created
    assert again.proxy.id != kept.id


HEAD = approver("head", levels=["县长"], unit="县政府")
DEPUTY = approver("deputy", unit="县发改委")
"""The county head (the only member of the level 县长) and who stands in while they are away."""


class LevelDirectory:
    """A directory that knows the county head's level and department (``jiedai_actor``)."""

    @hookimpl
    def jiedai_actor(self, actor_id: str) -> Actor | None:
        return {HEAD.id: HEAD, DEPUTY.id: DEPUTY, HANDLER.id: HANDLER, **PEOPLE}.get(actor_id)


@pytest.mark.parametrize(
    "step",
    [
        ApprovalStep("县长", "县长"),
        ApprovalStep(
            "", "县政府会签", kind=StepKind.PARALLEL, assignees=(Assignee.unit("县政府"), *person("b"))
        ),
    ],
    ids=["level", "department"],
)
def test_a_stand_in_covers_the_principals_pool_tasks(url: str, step: ApprovalStep) -> None:
    """Chains of levels are what ``jiedai init`` writes: a proxy that covered only tasks assigned
    by name left the absent head's pool step stuck. With a directory the stand-in sees the pool
    task in 待办 and signs it on the head's behalf; the task is claimed for the head."""
    clock = FrozenClock()
    engine = make_engine(Chain(step), LevelDirectory(), url=url, clock=clock)
    _OPEN.append(engine)
    rid = submitted(engine)
    assert mine(engine, DEPUTY) == []
    with pytest.raises(NotAuthorizedError):
        engine.fire(rid, "approve", DEPUTY)
    today = clock.now().date()
    engine.set_proxy(HEAD.id, DEPUTY.id, today, today + timedelta(days=3), HEAD, reason="出差")
    assert mine(engine, DEPUTY) == [rid]
    assert engine.task_counts(DEPUTY).mine == 1
    assert "approve" in engine.available_triggers(rid, DEPUTY)
    engine.fire(rid, "approve", DEPUTY, reason="同意")
    signed = engine.get(rid).approvals[-1]
    assert (signed.actor_id, signed.on_behalf_of) == (DEPUTY.id, HEAD.id)
    assert "代 审批人head（head）" in engine.history(rid)[-1].note  # the name from the directory
    assert mine(engine, DEPUTY) == []
    assert [r.task_id for r in engine.done_by(DEPUTY).items] == [signed.task_id]


def test_a_stand_in_claims_a_pool_task_for_the_principal(url: str) -> None:
    """认领 by a stand-in claims the pool task for the principal: it is theirs when they are back."""
    clock = FrozenClock()
    engine = make_engine(Chain(ApprovalStep("县长", "县长")), LevelDirectory(), url=url, clock=clock)
    _OPEN.append(engine)
    rid = submitted(engine)
    today = clock.now().date()
    engine.set_proxy(HEAD.id, DEPUTY.id, today, today, HEAD)
    engine.operate(rid, Claim(), DEPUTY)
    assert "审批人deputy（deputy） 代 审批人head（head） 认领" in engine.history(rid)[-1].note
    [task] = [t for t in engine.get(rid).tasks if t.live]
    assert task.owner == HEAD.id
    with pytest.raises(TaskError, match=r"已由 审批人head（head） 认领"):  # named from the directory
        engine.operate(rid, Claim(task=task.id), DEPUTY)
    clock.advance(days=2)  # the proxy has ended: the head signs their own task
    assert mine(engine, DEPUTY) == []
    assert mine(engine, HEAD) == [rid]
    assert approve(engine, rid, HEAD).approvals[-1].on_behalf_of == ""


VICE = approver("vice", levels=["分管副县长", "常务副县长"])
EXEC = approver("exec", levels=["常务副县长"])
MANAGER = Actor(
    "zhou.lei", "周磊", frozenset({Role.HANDLER, Role.APPROVER}), levels=frozenset({"常务副县长"})
)


class TwoLevels:
    """A directory of two principals of one level, one of whom also holds the level before it."""

    @hookimpl
    def jiedai_actor(self, actor_id: str) -> Actor | None:
        return {p.id: p for p in (VICE, EXEC, DEPUTY, MANAGER, HANDLER)}.get(actor_id)


def test_a_stand_in_never_signs_for_a_principal_who_signed_or_handles_the_reception() -> None:
    """With two principals in a pool, the stand-in signs for one who may sign: not for one who
    signed an earlier step (one signature per chain), never for the reception's handler; a handler
    standing in for someone cannot claim an approval task of their own reception for them."""
    clock = FrozenClock()
    chain = Chain(ApprovalStep("分管副县长", "分管副县长"), ApprovalStep("常务副县长", "常务副县长"))
    engine = make_engine(chain, TwoLevels(), clock=clock)
    rid = submitted(engine)
    approve(engine, rid, VICE)  # the first step: VICE has signed this chain
    today = clock.now().date()
    for principal in (VICE, EXEC):
        engine.set_proxy(principal.id, DEPUTY.id, today, today, principal)
    engine.operate(rid, Claim(), DEPUTY)
    [task] = [t for t in engine.get(rid).tasks if t.live]
    assert task.owner == EXEC.id  # not VICE, who signed step 1
    signed = approve(engine, rid, DEPUTY).approvals[-1]
    assert signed.on_behalf_of == EXEC.id

    engine = make_engine(Chain(ApprovalStep("常务副县长", "常务副县长")), TwoLevels(), clock=clock)
    rid = submitted(engine, MANAGER)
    engine.set_proxy(EXEC.id, MANAGER.id, today, today, EXEC)
    [pool] = [t for t in engine.get(rid).tasks if t.live]
    with pytest.raises(NotAuthorizedError, match="不相容职务分离"):
        engine.operate(rid, Claim(task=pool.id), MANAGER)
    with pytest.raises(NotAuthorizedError):
        engine.fire(rid, "approve", MANAGER)
    assert [t.owner for t in engine.get(rid).tasks if t.live] == [""]  # still the pool's


def test_a_handler_standing_in_never_sees_an_approval_task_of_their_own_reception(url: str) -> None:
    """Standing in for the approver named on their own reception, the handler's 待办 leaves the
    task out (they could never act on it), in every store."""
    clock = FrozenClock()
    chain = Chain(ApprovalStep("", "常务副县长", assignees=person(EXEC.id)))
    engine = make_engine(chain, url=url, clock=clock)
    _OPEN.append(engine)
    rid = submitted(engine, MANAGER)
    today = clock.now().date()
    engine.set_proxy(EXEC.id, MANAGER.id, today, today, EXEC)
    assert engine.tasks_for(MANAGER).items == ()
    assert engine.task_counts(MANAGER).mine == 0
    assert mine(engine, EXEC) == [rid]


def test_the_forms_list_every_execution_item_of_the_actors_department() -> None:
    """完成 and 报告问题 list the actor's own items and every unclaimed item of their department's
    pool, as the operations accept them (the page listed only one pool item)."""
    from jiedai_flow.process.lifecycle import Operation

    engine = engine_for("memory://", SINGLE_A)
    rid = submitted(engine)
    approve(engine, rid, A)
    office = Actor("chen.jie", "陈洁", frozenset({Role.OFFICE}), unit="县政府办公室")
    items = (
        ExecutionItem("接站", Assignee.unit("县政府办公室")),
        ExecutionItem("用餐", Assignee.unit("县政府办公室")),
        ExecutionItem("会场", Assignee.unit("县财政局")),
        ExecutionItem("车辆", Assignee.person("chen.jie")),
    )
    engine.operate(rid, Assign(items), HANDLER)
    for operation in (Operation.COMPLETE, Operation.PROBLEM):
        listed = engine.task_choices(engine.get(rid), office, operation)
        assert sorted(t.title for t in listed) == ["接站", "用餐", "车辆"]


def test_a_stand_in_is_offered_the_principals_tasks_to_choose() -> None:
    """``task_choices`` (the pages' task lists) finds tasks as the operations do: a stand-in may
    claim the absent head's pool task and complete the head's execution item."""
    from jiedai_flow.process.lifecycle import Operation

    clock = FrozenClock()
    engine = make_engine(Chain(ApprovalStep("县长", "县长")), LevelDirectory(), clock=clock)
    rid = submitted(engine)
    today = clock.now().date()
    assert engine.task_choices(engine.get(rid), DEPUTY, Operation.CLAIM) == ()
    engine.set_proxy(HEAD.id, DEPUTY.id, today, today + timedelta(days=5), HEAD)
    [pool] = engine.task_choices(engine.get(rid), DEPUTY, Operation.CLAIM)
    assert pool.owner == HEAD.id  # claimed for the head when the stand-in claims it
    engine.fire(rid, "approve", DEPUTY)
    engine.operate(rid, Assign((ExecutionItem("接站", Assignee.person(HEAD.id)),)), HANDLER)
    [item] = engine.task_choices(engine.get(rid), DEPUTY, Operation.COMPLETE)
    assert item.title == "接站"
    assert "complete_item" in engine.available_operations(rid, DEPUTY)
    engine.operate(rid, Complete(task=item.id), DEPUTY, reason="已接到")
    assert engine.task_choices(engine.get(rid), DEPUTY, Operation.COMPLETE) == ()


def test_execution_tasks_are_handed_out_done_and_problems_reach_the_handler(url: str) -> None:
    engine = engine_for(url, SINGLE_A)
    rid = submitted(engine)
    approve(engine, rid, A)
    driver = Actor("zhao.driver", "赵师傅", frozenset({Role.OFFICE}))
    items = (
        ExecutionItem("接站", Assignee.person("zhao.driver"), place="高铁站"),
        ExecutionItem("工作餐", Assignee.unit("机关食堂")),
    )
    engine.operate(rid, Assign(items), HANDLER)
    assert mine(engine, driver) == [rid]
    engine.operate(rid, ReportProblem(), driver, reason="车辆临时检修，改派 2 号车")
    assert any("车辆临时检修" in n for t in engine.get(rid).tasks for n in t.notes)
    engine.operate(rid, Complete(), driver, reason="已接到")
    assert mine(engine, driver) == []
    assert [r.title for r in engine.done_by(driver).items] == ["接站"]


@pytest.mark.parametrize("edit", ["delete", "owner", "insert"])
def test_verify_names_a_task_index_row_edited_straight_in_the_database(
    edit: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Hiding a task from someone's 待办 (or adding one) in the database is caught by verify."""
    import sqlalchemy as sa

    from jiedai_flow.storage import schema

    db = f"sqlite:///{tmp_path_factory.mktemp('db') / 'j.db'}"
    engine = engine_for(db, PARALLEL_BCD)
    rid = submitted(engine)
    verified(engine)
    number = engine.get(rid).number
    raw = sa.create_engine(db)
    T = schema.tasks
    with raw.begin() as conn:
        task_id = conn.execute(sa.select(T.c.id).where(T.c.assignee == "c")).scalar_one()
        if edit == "delete":
            conn.execute(T.delete().where(T.c.id == task_id))
        elif edit == "owner":
            conn.execute(T.update().where(T.c.id == task_id).values(owner="x"))
        else:
            row = dict(conn.execute(sa.select(T).where(T.c.id == task_id)).mappings().one())
            conn.execute(T.insert().values({**row, "id": "f" * 32, "owner": "x"}))
    raw.dispose()
    report = engine.store.verify()  # type: ignore[attr-defined]
    assert not report.ok
    assert report.problem.number == number
    assert "任务" in report.problem.reason_zh
    assert "task index" in report.problem.reason_en
    if edit == "owner":
        assert "owner" in report.problem.reason_zh
        assert "'x'" in report.problem.reason_zh


def test_the_county_countersign_example_builds_the_chain_from_its_standards(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """docs/snippets/county_countersign.toml: a plan of 3000 yuan or more gets the parallel
    countersign of 财政局 and 分管领导, 10000 or more the party group's 3/2/2 vote."""
    from decimal import Decimal
    from pathlib import Path

    import attrs

    from jiedai_flow.domain.model import Activity
    from jiedai_flow.domain.standards_toml import load_standards_file

    snippet = Path(__file__).resolve().parents[1] / "docs" / "snippets" / "county_countersign.toml"
    layer = load_standards_file(snippet)

    class Layers:
        @hookimpl
        def jiedai_standards_layers(self, jurisdiction: str, on: date) -> list[object]:
            del jurisdiction, on
            return [layer]

    engine = make_engine(Layers())
    _OPEN.append(engine)
    plan = sample_plan(START)
    hall = Activity(START, "县会展中心", "项目推介会场地", cost=Decimal("11000"))
    big = attrs.evolve(plan, activities=(*plan.activities, hall), budget=Decimal("12000"))
    rid = engine.create_reception(
        sample_letter(START), big, handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502"
    ).reception.id
    chain = engine.fire(rid, "submit", HANDLER).reception.approval_chain
    assert [(s.shown, s.kind) for s in chain] == [
        ("部门负责人", StepKind.SINGLE),
        ("财政局、分管领导会签", StepKind.PARALLEL),
        ("党组会票签", StepKind.VOTE),
    ]
    assert [a.weight for a in chain[2].assignees] == [3, 2, 2]
    head = approver("dept", levels=["部门负责人"])
    finance = approver("fin", unit="县财政局")
    leader = approver("lead", levels=["分管领导"])
    approve(engine, rid, head)
    assert mine(engine, finance) == mine(engine, leader) == [rid]  # a department pool and a level pool
    approve(engine, rid, finance)
    approve(engine, rid, leader)
    approve(engine, rid, approver("county.head"))
    assert approve(engine, rid, approver("deputy.1")).state == "approved"  # 5 of 7


def test_sequential_countersign_opens_each_signer_in_turn(url: str) -> None:
    chain = ApprovalStep(
        "", "办公室→财务→分管领导", kind=StepKind.SEQUENTIAL, assignees=person("b", "c", "d")
    )
    engine = engine_for(url, chain)
    rid = submitted(engine)
    assert (mine(engine, B), mine(engine, C), mine(engine, D)) == ([rid], [], [])
    with pytest.raises(NotAuthorizedError):
        approve(engine, rid, C)  # not C's turn yet
    approve(engine, rid, B)
    assert (mine(engine, B), mine(engine, C), mine(engine, D)) == ([], [rid], [])
    approve(engine, rid, C)
    assert approve(engine, rid, D).state == "approved"
    verified(engine)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mysql"])
def test_two_approvers_of_one_parallel_step_act_at_once_from_two_processes(
    backend: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """B and C sign the same parallel step of ten receptions at the same moment, each from its own
    process and engine: both signatures count on every one, none is lost or applied twice."""
    import multiprocessing

    from tests import _approval_worker
    from tests.databases import private_database

    for db in private_database(backend, tmp_path_factory.mktemp("db")):
        engine = make_engine(_approval_worker.ParallelChain(), url=db)
        _OPEN.append(engine)
        rids = [submitted(engine) for _ in range(10)]
        ctx = multiprocessing.get_context("spawn")
        ready, go, results = ctx.Queue(), ctx.Event(), ctx.Queue()
        workers = [
            ctx.Process(target=_approval_worker.sign, args=(db, who, rids, ready, go, results), daemon=True)
            for who in ("b", "c")
        ]
        for worker in workers:
            worker.start()
        try:
            for _ in workers:
                ready.get(timeout=60)
            go.set()
            outcomes = dict(results.get(timeout=120) for _ in workers)
        finally:
            for worker in workers:
                worker.join(timeout=10)
                if worker.is_alive():
                    worker.kill()
        assert not [o for found in outcomes.values() for o in found if o.startswith("error")], outcomes
        for rid in rids:
            reception = engine.get(rid)
            assert reception.state == "approved"
            assert sorted(a.actor_id for a in reception.approvals) == ["b", "c"]
            assert [e.trigger for e in engine.history(rid)] == ["create", "submit", "approve", "approve"]
        verified(engine)
        while _OPEN:
            _OPEN.pop().store.close()


def _lists_script(url: str) -> tuple[Engine, dict[str, Actor]]:
    """Receptions on several days with a parallel step of a person, a level pool and a department
    pool; two approved, with execution items for a — one without a due day; x stands in for a."""
    clock = FrozenClock()
    step = ApprovalStep(
        "", "办公室、分管领导、财政局会签", kind=StepKind.PARALLEL,
        assignees=(Assignee.person("a"), Assignee.level("分管领导"), Assignee.unit("县财政局")),
    )  # fmt: skip
    engine = engine_for(url, step, clock=clock)
    leader, finance = approver("l1", levels=["分管领导"]), approver("f1", unit="县财政局")
    rids = []
    for _ in range(6):
        rids.append(submitted(engine))
        clock.advance(days=1, hours=1)
    for rid in rids[:2]:
        for who in (A, leader, finance):
            approve(engine, rid, who)
        items = (
            ExecutionItem("接站", Assignee.person("a"), place="高铁站"),
            ExecutionItem("会议室", Assignee.person("a"), due=START),
        )
        engine.operate(rid, Assign(items), HANDLER)
    engine.operate(rids[2], Claim(), leader)
    today = clock.now().date()
    engine.set_proxy("a", "x", today, today + timedelta(days=3), A, reason="出差")
    both = approver("y", levels=["分管领导"], unit="县财政局")
    return engine, {"a": A, "x": X, "leader": approver("l2", levels=["分管领导"]), "both": both}


def _shown(rows: Sequence[TaskRow]) -> list[tuple[object, ...]]:
    """What a line shows; the moment in UTC (the SQL stores give it naive UTC, the memory store aware)."""
    return [(r.number, r.kind, r.assignee, r.owner, r.due, _utc(r.at), r.title) for r in rows]


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def test_task_lists_page_and_filter_alike_on_every_store(url: str) -> None:
    """待办 and 已办 read page by page (keyset cursor, two lines a page) give the whole list in order —
    due day first, tasks without one last — filters keep exactly their lines, and every store
    answers as the in-memory store does, stand-ins and pools included."""
    from jiedai_flow.domain.records import TaskKind

    engine, people = _lists_script(url)
    reference, _ = _lists_script("memory://") if url != "memory://" else (engine, people)
    far = date(9999, 12, 31)
    for name, actor in people.items():
        whole = engine.tasks_for(actor, limit=1000).items
        assert whole, name
        assert [(r.due or far, r.at) for r in whole] == sorted((r.due or far, r.at) for r in whole)
        paged, after = [], None
        while True:
            page = engine.tasks_for(actor, limit=2, after=after)
            paged += page.items
            if page.next_cursor is None:
                break
            after = page.next_cursor
        assert paged == list(whole), name
        assert engine.task_counts(actor).mine == len(whole)
        kinds = engine.tasks_for(actor, kind=TaskKind.EXECUTION, limit=1000).items
        assert kinds == tuple(r for r in whole if r.kind == "execution")
        soon = engine.tasks_for(actor, due_by=START + timedelta(days=1), limit=1000).items
        assert soon == tuple(r for r in whole if r.due is not None and r.due <= START + timedelta(days=1))
        assert engine.tasks_for(actor, jurisdiction="110101").items == ()
        same = reference.tasks_for(people[name], limit=1000).items  # ties are ordered by random task ids
        assert sorted(_shown(whole), key=str) == sorted(_shown(same), key=str), name
        done, after = [], None
        while True:
            page = engine.done_by(actor, limit=1, after=after)
            done += page.items
            if page.next_cursor is None:
                break
            after = page.next_cursor
        assert done == list(engine.done_by(actor, limit=1000).items), name
    assert any(r.due is None for r in engine.tasks_for(A, limit=1000).items)  # 接站 has no due day
    assert {r.owner for r in engine.tasks_for(X, limit=1000).items} == {"a"}  # x stands in for a


# -- found by tests/test_approvals_properties.py -------------------------------------------------


@pytest.mark.parametrize("end", ["cancel", "terminate"])
def test_a_countersign_cut_short_by_the_end_of_the_reception_does_not_count_as_passed(
    url: str, end: str
) -> None:
    """B agreed, C and D never acted: once the reception is cancelled or terminated their tasks close,
    and the step still is not passed — approval is not complete."""
    engine = engine_for(url, PARALLEL_BCD)
    rid = submitted(engine)
    approve(engine, rid, B)
    if end == "cancel":
        ended = engine.fire(rid, "cancel", HANDLER, reason="来访取消").reception
    else:
        ended = engine.operate(rid, Terminate(), ADMIN, reason="来访取消").reception
    assert [t.state for t in ended.tasks] == [TaskState.DONE, TaskState.CLOSED, TaskState.CLOSED]
    assert (ended.current_step, ended.approval_complete) == (0, False)
    assert engine.get(rid).approval_complete is False
    assert mine(engine, C) == mine(engine, D) == []


def test_a_jump_from_approved_back_into_approval_must_name_the_step(url: str) -> None:
    """An approved reception jumped back to 待审批 without a step would await nobody's signature: refused,
    nothing changes; with the step, that step is approved again."""
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    approve(engine, rid, A)
    before = approve(engine, rid, E)
    assert before.state == "approved"
    with pytest.raises(TaskError, match="须指明重新审批的环节"):
        engine.operate(rid, Jump(state="submitted"), ADMIN, reason="重审")
    assert engine.get(rid) == before
    with pytest.raises(InvalidTransitionError, match="须「指明跳转到 submitted」") as caught:
        engine.operate(rid, Jump(step=1), ADMIN, reason="县长重审")  # a step, but from here a state too
    assert caught.value.unmet == (("指明跳转到 submitted", "a jump that names submitted"),)
    after = engine.operate(rid, Jump(state="submitted", step=1), ADMIN, reason="县长重审").reception
    assert (after.state, after.current_step) == ("submitted", 1)
    assert mine(engine, E) == [rid]


def test_taking_back_the_vote_that_passed_a_vote_step_reopens_it_for_the_others(url: str) -> None:
    """B and C pass a 1/1/1 vote at more than a third; D's task closes. C takes the vote back: one of
    three is not more than a third, so the step is open again and D may vote."""
    vote = ApprovalStep("", "党组会票签", kind=StepKind.VOTE, threshold=34, assignees=person("b", "c", "d"))
    engine = engine_for(url, vote, SINGLE_A)
    rid = submitted(engine)
    approve(engine, rid, B)
    approve(engine, rid, C)
    assert engine.get(rid).current_step == 1
    assert mine(engine, D) == []
    after = engine.operate(rid, TakeBack(), C).reception
    assert (after.state, after.current_step) == ("submitted", 0)
    assert mine(engine, C) == mine(engine, D) == [rid]
    assert mine(engine, A) == []
    approve(engine, rid, D)
    assert mine(engine, A) == [rid]
    verified(engine)


def test_taking_back_the_vote_that_passed_the_last_step_reopens_it_from_approved(url: str) -> None:
    """The same on the last step: C's vote approved the reception; C takes it back before anything
    starts, so the reception awaits approval again with C's and D's tasks open (found by the
    property test: the others' tasks stayed closed and nobody could act)."""
    vote = ApprovalStep("", "党组会票签", kind=StepKind.VOTE, threshold=34, assignees=person("b", "c", "d"))
    engine = engine_for(url, vote)
    rid = submitted(engine)
    approve(engine, rid, B)
    assert approve(engine, rid, C).state == "approved"
    after = engine.operate(rid, TakeBack(), C).reception
    assert (after.state, after.current_step) == ("submitted", 0)
    assert mine(engine, C) == mine(engine, D) == [rid]
    assert approve(engine, rid, D).state == "approved"
    assert mine(engine, C) == []
    verified(engine)


def test_an_earlier_countersigner_takes_back_their_own_signature(url: str) -> None:
    """拿回 is not only the last signer's: B signed the parallel countersign before C and D completed
    it; while E (the next step) has not acted, B takes back B's own signature — the step reopens
    for B alone and C's and D's signatures stand. The same for a 票签 voter after the vote passed:
    B's vote is taken back, C's stands, and D may vote again."""
    engine = engine_for(url, SINGLE_A, PARALLEL_BCD, SINGLE_E)
    rid = submitted(engine)
    approve(engine, rid, A)
    for signer in (B, C, D):
        approve(engine, rid, signer)
    assert mine(engine, E) == [rid]
    after = engine.operate(rid, TakeBack(), B).reception
    assert (after.state, after.current_step) == ("submitted", 1)
    assert [(a.step, a.actor_id) for a in after.approvals] == [(0, "a"), (1, "c"), (1, "d")]
    assert mine(engine, B) == [rid]
    assert mine(engine, C) == mine(engine, D) == mine(engine, E) == []
    with pytest.raises(REFUSED):  # C's signature stands: nothing to sign again
        approve(engine, rid, C)
    approve(engine, rid, B, "再次同意")
    assert mine(engine, E) == [rid]
    verified(engine)

    vote = ApprovalStep("", "党组会票签", kind=StepKind.VOTE, threshold=50, assignees=person("b", "c", "d"))
    engine = engine_for(url, vote, SINGLE_A)
    rid = submitted(engine)
    approve(engine, rid, B)
    approve(engine, rid, C)  # 2 of 3: passed; D's vote closes
    assert (engine.get(rid).current_step, mine(engine, D)) == (1, [])
    after = engine.operate(rid, TakeBack(), B).reception
    assert (after.state, after.current_step) == ("submitted", 0)
    assert [a.actor_id for a in after.approvals] == ["c"]
    assert mine(engine, B) == mine(engine, D) == [rid]
    assert mine(engine, C) == mine(engine, A) == []
    approve(engine, rid, D)
    assert mine(engine, A) == [rid]
    verified(engine)


def test_an_approver_outside_a_pool_cannot_hand_its_task_on(url: str) -> None:
    """Found through the HTTP service: transferring, delegating or adding signers to a pool task
    claims it first, and only a member of the pool may claim it."""
    engine = engine_for(url, ApprovalStep("部门负责人", "部门负责人"))
    rid = submitted(engine)
    outsider = approver("l9", levels=["分管领导"])
    for command in (Transfer(to="x"), Delegate(to="x"), AddSigners(["x"], Position.AFTER)):
        with pytest.raises(NotAuthorizedError, match="部门负责人"):
            engine.operate(rid, command, outsider, reason="代转")
    member = approver("d1", levels=["部门负责人"])
    engine.operate(rid, Transfer(to="x"), member, reason="转办")
    assert mine(engine, X) == [rid]


def test_only_who_holds_the_step_returns_or_refuses_it(url: str) -> None:
    """Found through the HTTP service: 分管领导 could return or refuse at the 部门负责人 step. An
    answer, like a signature, is for the step's pool or the person holding its task (a transferee
    of another level included)."""
    engine = engine_for(url, ApprovalStep("部门负责人", "部门负责人"), SINGLE_E)
    rid = submitted(engine)
    outsider = approver("l9", levels=["分管领导"])
    for trigger in ("return", "refuse"):
        with pytest.raises(NotAuthorizedError, match="当前审批环节为「部门负责人」") as refused:
            engine.fire(rid, trigger, outsider, reason="越级")
        assert "执行「退回」" in str(refused.value) or "执行「不予接待」" in str(refused.value)
    member = approver("d1", levels=["部门负责人"])
    engine.operate(rid, Transfer(to="l9"), member, reason="出差")
    assert engine.fire(rid, "return", outsider, reason="请补充公函").reception.state == "draft"


# -- what each actor is offered: available_operations ----------------------------------------------

VOTE_BCD = ApprovalStep(
    "", "党组会票签", kind=StepKind.VOTE,
    assignees=(Assignee.person("b", 3), Assignee.person("c", 2), Assignee.person("d", 2)),
)  # fmt: skip


def test_a_voter_is_offered_a_vote_against_and_an_outsider_only_what_needs_no_task(url: str) -> None:
    """available_operations lists what this actor can usefully do now: the voter holding an open
    task of a 票签 step may vote against; an approver with no task here may only urge, copy and
    comment."""
    engine = engine_for(url, VOTE_BCD)
    rid = submitted(engine)
    voter = engine.available_operations(rid, B)
    assert "vote_against" in voter
    assert {"transfer_task", "delegate_task", "add_signers", "mark_read"} <= set(voter)
    assert not {"claim_task", "reply_delegation", "remove_signer", "send_back", "take_back"} & set(voter)
    assert engine.available_operations(rid, X) == ("urge", "carbon_copy", "comment")
    assert engine.operate(rid, Against(), B, reason="标准偏高").reception.state == "submitted"
    with pytest.raises(REFUSED):
        engine.operate(rid, Against(), X, reason="不同意")
    assert "vote_against" not in engine.available_operations(rid, B)  # voted: nothing left to vote
    assert "take_back" in engine.available_operations(rid, B)


def test_an_administrator_is_offered_jump_but_not_reply_or_remove_signer_with_nothing_to_act_on(
    url: str,
) -> None:
    """Found through the HTTP service: 答复 and 减签 were listed for an administrator with nothing
    delegated or added, and 跳转, an administrator's operation, never was."""
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    offered = engine.available_operations(rid, ADMIN)
    assert {"jump", "terminate"} <= set(offered)
    assert not {"reply_delegation", "remove_signer"} & set(offered)
    engine.operate(rid, AddSigners(["y"], Position.AFTER), A, reason="请办公室副主任也看")
    assert "remove_signer" in engine.available_operations(rid, ADMIN)
    assert "remove_signer" in engine.available_operations(rid, A)
    assert "remove_signer" not in engine.available_operations(rid, E)
    approve(engine, rid, A)
    after = engine.operate(rid, Jump(step=0), ADMIN, reason="办公室主任需重审").reception
    assert after.current_step == 0
    assert "jump" not in engine.available_operations(rid, A)  # by role: administrators only


def test_a_delegate_is_offered_a_reply_and_not_the_delegators_decisions(url: str) -> None:
    engine = engine_for(url, SINGLE_A, SINGLE_E)
    rid = submitted(engine)
    assert "reply_delegation" not in engine.available_operations(rid, X)
    engine.operate(rid, Delegate(to="x"), A, reason="请看一下餐费")
    offered = engine.available_operations(rid, X)
    assert "reply_delegation" in offered
    assert not {"transfer_task", "delegate_task", "add_signers"} & set(offered)
    assert "delegate_task" not in engine.available_operations(rid, A)  # delegated already
    engine.operate(rid, Reply(), X, reason="餐费在标准内")
    assert "reply_delegation" not in engine.available_operations(rid, X)


def test_a_handler_delegated_an_opinion_on_anothers_reception_replies(url: str) -> None:
    """The delegate answers the delegated task whatever their role: a handler (经办人) asked for an
    opinion on a colleague's reception is offered 委派答复 and replies, and nothing more."""
    colleague = ACTORS["handler2"]
    engine = engine_for(url, SINGLE_A)
    rid = submitted(engine)
    engine.operate(rid, Delegate(to=colleague.id), A, reason="请看一下行程")
    assert engine.available_operations(rid, colleague) == ("reply_delegation",)
    engine.operate(rid, Reply(), colleague, reason="行程可行")
    assert engine.available_operations(rid, colleague) == ()
    assert mine(engine, A) == [rid]


def test_sending_back_a_pool_step_is_for_its_members(url: str) -> None:
    """An approver outside the pool of the current step is neither offered 驳回到环节 nor allowed it."""
    engine = engine_for(url, ApprovalStep("部门负责人", "部门负责人"), ApprovalStep("分管领导", "分管领导"))
    rid = submitted(engine)
    approve(engine, rid, approver("d1", levels=["部门负责人"]))
    outsider, member = approver("c9", levels=["处长"]), approver("l1", levels=["分管领导"])
    assert "send_back" not in engine.available_operations(rid, outsider)
    with pytest.raises(NotAuthorizedError, match="分管领导"):
        engine.operate(rid, SendBack(0), outsider, reason="重审")
    assert "send_back" in engine.available_operations(rid, member)
    assert engine.operate(rid, SendBack(0), member, reason="重审").reception.current_step == 0


def test_adding_a_signer_to_a_pool_task_claims_it_for_the_adder(url: str) -> None:
    """加签 on a pool task nobody claimed takes it, as acting on a pool task does: the adder holds
    it, and another member of the pool is offered nothing to sign."""
    m_ = Actor("m", "审批人m", frozenset({Role.APPROVER}), levels=frozenset({"分管领导"}))
    q_ = Actor("q", "审批人q", frozenset({Role.APPROVER}), levels=frozenset({"分管领导"}))
    engine = engine_for(url, ApprovalStep("分管领导", "分管领导"))
    rid = submitted(engine)
    engine.operate(rid, AddSigners(["x"], Position.AFTER), m_, reason="请 x 在我之后审")
    [pool_task] = [t for t in engine.get(rid).tasks if t.assignee.ref == "分管领导"]
    assert pool_task.owner == "m"
    assert "approve" not in engine.available_triggers(rid, q_)
    assert approve(engine, rid, m_).state == "submitted"
    assert approve(engine, rid, X).state == "approved"


def test_a_countersign_step_not_yet_open_says_so_rather_than_zero_of_zero() -> None:
    from jiedai_flow.process.signoff import signoff

    engine = engine_for("memory://", SINGLE_A, PARALLEL_BCD)
    rid = submitted(engine)
    steps = signoff(engine.get(rid)).steps
    assert [s.result for s in steps] == ["待签", "未到"]
    approve(engine, rid, A)
    assert [s.result for s in signoff(engine.get(rid)).steps] == ["同意", "0/3 同意"]


def test_every_task_list_tells_its_moments_in_china_time_as_the_records_do(url: str) -> None:
    """A list read from the task index (naive UTC in SQL) gives each moment at +08:00, as the
    reception's own records do — the same instant, written the same way on every store."""
    engine = engine_for(url, SINGLE_A)
    rid = submitted(engine)
    engine.operate(rid, Copy([SUPERVISOR.id]), HANDLER)
    task = next(t for t in engine.get(rid).tasks if t.owner == A.id or t.assignee.ref == A.id)
    (row,) = engine.tasks_for(A).items
    assert row.at == task.created_at
    approve(engine, rid, A)
    lists = (
        engine.tasks_for(A).items or engine.done_by(A).items,
        engine.copied_to(SUPERVISOR).items,
        engine.started_by(HANDLER).items,
    )
    moments = [row.at for rows in lists for row in rows]
    assert len(moments) == 3
    china = timedelta(hours=8)
    assert [m.utcoffset() if m is not None else None for m in moments] == [china] * 3
