"""补办 (A-01): an urgent reception starts before approval where the county allows it, and is approved
within the window; no claim until the approval is complete, a late one needs an explanation."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest

from jiedai_flow import (
    DocumentKind,
    InvalidTransitionError,
    Invoice,
    Level,
    Payment,
    PaymentMethod,
    Person,
    ReasonRequiredError,
    ReceptionList,
    RuleViolationError,
    Severity,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.domain import budget
from jiedai_flow.domain.records import BudgetUsage
from jiedai_flow.process.engine import CHINA_TZ
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, register_sample

if TYPE_CHECKING:
    from jiedai_flow import Engine, Reception

JURISDICTION = "341502"
HOST = "县政府办公室"
START = date(2026, 3, 10)  # the visit runs 03-10 to 03-11; approval is due by 03-12
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]
FINANCE = ACTORS["finance"]
REASON = "上级临时通知当日到达，来不及事前审批"


class UrgentCounty:
    """A county whose standards allow 补办 within ``days`` days of the start."""

    def __init__(self, days: int = 2, **changes: Any) -> None:
        self.layer = StandardsLayer(
            "某县补办规定", Level.COUNTY, JURISDICTION, {"retroactive_window_days": days, **changes}
        )

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=CHINA_TZ)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(at(10, 8))


@pytest.fixture
def engine(clock: FrozenClock) -> Engine:
    return make_engine(UrgentCounty(), clock=clock)


def create(engine: Engine) -> str:
    return register_sample(engine, start=START, handler=HANDLER, host_unit=HOST, jurisdiction=JURISDICTION).id


def listing(reception: Reception) -> ReceptionList:
    total = sum((m.cost for m in reception.plan.meals), Decimal(0))
    return ReceptionList(
        guests=reception.letter.personnel,
        meals=reception.plan.meals,
        invoices=(Invoice("No.0001", reception.start, "县机关食堂", total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total, "公务卡尾号 1234"),),
        companions=(Person("王强", "县农业农村局局长"),),
        support_staff=(Person("李明", "县政府办公室科员"),),
        signed_by="王强",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def started_urgently(engine: Engine) -> Reception:
    return engine.fire(create(engine), "start_urgent", HANDLER, reason=REASON).reception


def claim(engine: Engine, rid: str, **kw: Any) -> Reception:
    return engine.fire(rid, "claim", HANDLER, reception_list=listing(engine.get(rid)), **kw).reception


def a01(findings: Any) -> list[tuple[Severity, str]]:
    return [(f.severity, f.path) for f in findings if f.rule_id == "A-01"]


def test_full_retroactive_flow_starts_is_approved_in_progress_finishes_and_claims(
    engine: Engine, clock: FrozenClock
) -> None:
    rid = create(engine)
    started = engine.fire(rid, "start_urgent", HANDLER, reason=REASON)
    assert (started.reception.state, started.reception.retroactive) == ("in_progress", True)
    assert started.event.reason == REASON
    (noted,) = [f for f in started.findings if f.rule_id == "A-01"]
    assert (noted.severity, noted.path) == (Severity.INFO, "$.retroactive")
    assert (
        noted.message_zh
        == "补办：未经审批先行接待，须在接待开始（2026-03-10）后 2 日内（最迟 2026-03-12）补办审批"
    )

    clock.set(at(11, 16))
    approved = engine.fire(rid, "approve", APPROVER, reason="同意补办")
    assert approved.reception.state == "in_progress"
    assert approved.reception.approval_complete
    assert a01(approved.findings) == []
    assert "approve" not in engine.available_triggers(rid, APPROVER)

    assert engine.fire(rid, "finish", HANDLER).reception.state == "completed"
    clock.set(at(12))
    claimed = engine.fire(rid, "claim", HANDLER, reception_list=listing(engine.get(rid)))
    assert claimed.reception.state == "settling"
    assert a01(claimed.findings) == []
    assert engine.fire(rid, "settle", FINANCE).reception.state == "settled"


def test_starting_urgently_counts_as_a_submission(engine: Engine) -> None:
    """补办 opens the chain as a submission does: it is submission 1, and its tasks carry the number."""
    started = started_urgently(engine)
    assert started.submission == 1
    assert {t.submission for t in started.tasks} == {1}


def test_start_urgent_needs_a_reason(engine: Engine) -> None:
    with pytest.raises(ReasonRequiredError):
        engine.fire(create(engine), "start_urgent", HANDLER)


def test_claim_is_refused_while_the_retroactive_approval_is_incomplete(engine: Engine) -> None:
    rid = started_urgently(engine).id
    engine.fire(rid, "finish", HANDLER)
    with pytest.raises(RuleViolationError) as caught:
        claim(engine, rid)
    (refusal,) = [f for f in caught.value.findings if f.rule_id == "A-01"]
    assert (refusal.severity, refusal.path) == (Severity.BLOCKING, "$.approvals")
    assert refusal.message_zh == "补办审批未完成（已签 0/1 个环节），不能报销"
    assert engine.get(rid).state == "completed"

    assert engine.fire(rid, "approve", APPROVER).reception.state == "completed"  # approvable after finishing
    assert claim(engine, rid).state == "settling"


def test_a_partly_signed_chain_still_blocks_the_claim(clock: FrozenClock) -> None:
    engine = make_engine(UrgentCounty(approval_levels=("部门负责人", "分管领导")), clock=clock)
    rid = started_urgently(engine).id
    engine.fire(rid, "approve", ACTORS["director"])
    engine.fire(rid, "finish", HANDLER)
    with pytest.raises(RuleViolationError, match="已签 1/2 个环节"):
        claim(engine, rid)


@pytest.mark.parametrize(("day", "late"), [(10, 0), (12, 0), (13, 1), (15, 3)])
def test_approval_after_the_window_needs_an_explanation_at_claim(
    engine: Engine, clock: FrozenClock, day: int, late: int
) -> None:
    rid = started_urgently(engine).id
    engine.fire(rid, "finish", HANDLER)
    clock.set(at(day, 23))  # late evening still counts as that day (China Standard Time)
    approving = engine.fire(rid, "approve", APPROVER)
    assert a01(approving.findings) == ([(Severity.WARNING, "$.approvals")] if late else [])
    clock.set(at(16))
    if not late:
        assert claim(engine, rid).state == "settling"
        return
    with pytest.raises(RuleViolationError) as caught:
        claim(engine, rid)
    (finding,) = [f for f in caught.value.findings if f.rule_id == "A-01"]
    assert (finding.severity, finding.path) == (Severity.NEEDS_EXPLANATION, "$.approvals[0].at")
    assert f"补办审批于 2026-03-{day:02d} 完成，超过时限 2026-03-12" in finding.message_zh
    assert f"后 2 日）{late} 天，须书面说明" in finding.message_zh
    claimed = claim(engine, rid, explanations={"A-01": "分管领导外出学习，返岗后即补签"})
    assert claimed.state == "settling"
    (explained,) = claimed.explanations
    assert (explained.rule_id, explained.stage, explained.accepted) == ("A-01", "claim", False)
    settled = engine.fire(rid, "settle", FINANCE).reception
    assert settled.explanations[0].accepted_by == FINANCE.id


def test_start_urgent_is_unavailable_where_the_standards_do_not_allow_it(clock: FrozenClock) -> None:
    engine = make_engine(clock=clock)
    rid = create(engine)
    assert "start_urgent" not in engine.available_triggers(rid, HANDLER)
    with pytest.raises(InvalidTransitionError) as caught:
        engine.fire(rid, "start_urgent", HANDLER, reason=REASON)
    assert caught.value.trigger == "start_urgent"
    assert "start_urgent" not in caught.value.allowed
    assert engine.get(rid).state == "draft"


def test_start_urgent_is_available_from_draft_and_submitted_where_allowed(engine: Engine) -> None:
    rid = create(engine)
    assert "start_urgent" in engine.available_triggers(rid, HANDLER)
    engine.fire(rid, "submit", HANDLER)
    assert "start_urgent" in engine.available_triggers(rid, HANDLER)
    assert engine.fire(rid, "start_urgent", HANDLER, reason=REASON).reception.retroactive


def test_an_ordinary_reception_needs_nothing_from_a01(engine: Engine) -> None:
    rid = create(engine)
    events = [
        engine.fire(rid, "submit", HANDLER),
        engine.fire(rid, "approve", APPROVER),
        engine.fire(rid, "start", HANDLER),
        engine.fire(rid, "finish", HANDLER),
    ]
    events.append(engine.fire(rid, "claim", HANDLER, reception_list=listing(engine.get(rid))))
    assert all(a01(e.findings) == [] for e in events)
    assert not engine.get(rid).retroactive
    assert "A-01" not in {r.id for r in engine.rules.for_stage("start")}


def test_budget_is_committed_when_the_retroactive_approval_completes(engine: Engine) -> None:
    started = started_urgently(engine)
    committed = budget.committed_fen(started.plan)  # the larger of the stated budget and the items
    spent = int(started.plan.planned_total * 100)  # the list repeats the plan's meals
    assert engine.store.budget_usage(HOST, 2026) == BudgetUsage(0, 0)
    engine.fire(started.id, "approve", APPROVER)
    assert engine.store.budget_usage(HOST, 2026) == BudgetUsage(committed_fen=committed)
    assert engine.get(started.id).budget_committed_fen == committed
    engine.fire(started.id, "finish", HANDLER)
    claim(engine, started.id)
    engine.fire(started.id, "settle", FINANCE)
    assert engine.store.budget_usage(HOST, 2026) == BudgetUsage(committed_fen=0, spent_fen=spent)
