"""Written explanations 情况说明: a finding that needs one refuses the command until it is given; it is
recorded on the reception and in the audit trail, and the next decider (approver, finance) accepts it."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow import (
    DocumentKind,
    Guest,
    Invoice,
    Payment,
    PaymentMethod,
    Person,
    Purpose,
    ReceptionList,
    RuleViolationError,
    Severity,
)
from jiedai_flow.domain.records import Explanation
from jiedai_flow.process.engine import CHINA_TZ
from jiedai_flow.testing import ACTORS, FrozenClock, make_engine, register_sample, sample_letter, sample_plan

if TYPE_CHECKING:
    from jiedai_flow import Engine, Reception

START = date(2026, 3, 10)
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]
FINANCE = ACTORS["finance"]
WHY = "省里统一部署的农田建设督导，属执行任务性质，公函事由勾选有误"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CHINA_TZ)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def engine(clock: FrozenClock) -> Engine:
    return make_engine(clock=clock)


def create(engine: Engine, purpose: Purpose = Purpose.OTHER) -> str:
    letter = attrs.evolve(sample_letter(START), purpose=purpose)
    return register_sample(engine, start=START, letter=letter, handler=HANDLER).id


def listing(reception: Reception, extra_guests: int = 0) -> ReceptionList:
    total = sum((m.cost for m in reception.plan.meals), Decimal(0))
    extra = tuple(Guest(f"随员{i + 1}", "市农业农村局", "科员") for i in range(extra_guests))
    return ReceptionList(
        guests=(*reception.letter.personnel, *extra),
        meals=reception.plan.meals,
        invoices=(Invoice("No.0001", reception.start, "县机关食堂", total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total, "公务卡尾号 1234"),),
        companions=(Person("王强", "县农业农村局局长"),),
        support_staff=(Person("李明", "县政府办公室科员"),),
        signed_by="王强",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def test_a_finding_that_needs_an_explanation_refuses_the_command_without_one(engine: Engine) -> None:
    rid = create(engine)
    for given in (None, {"S-01": "   "}, {"L-03": WHY}):
        with pytest.raises(RuleViolationError) as caught:
            engine.fire(rid, "submit", HANDLER, explanations=given)
        (finding,) = [f for f in caught.value.findings if f.rule_id == "S-01"]
        assert (finding.severity, finding.path, finding.stage) == (
            Severity.NEEDS_EXPLANATION,
            "$.letter.purpose",
            "submit",
        )
        assert "S-01" in str(caught.value)
        assert not any(f.blocks for f in caught.value.findings)  # refused only for want of a text
    reception = engine.get(rid)
    assert (reception.state, reception.version, reception.explanations) == ("draft", 1, ())


def test_the_explanation_is_recorded_on_the_reception_and_in_the_audit_event(engine: Engine) -> None:
    rid = create(engine)
    result = engine.fire(rid, "submit", HANDLER, explanations={"S-01": f"  {WHY} "})
    (finding,) = [f for f in result.event.findings if f.rule_id == "S-01"]
    expected = Explanation("S-01", "$.letter.purpose", WHY, "submit", HANDLER.id, T0, finding.message_zh)
    assert result.reception.state == "submitted"
    assert result.reception.explanations == (expected,)
    assert result.event.explanations == (expected,)
    assert engine.history(rid)[-1].explanations == (expected,)
    assert [f.rule_id for f in result.event.findings if f.severity is Severity.NEEDS_EXPLANATION] == ["S-01"]
    assert not expected.accepted


def test_the_next_approver_accepts_the_explanation_by_approving(engine: Engine, clock: FrozenClock) -> None:
    rid = create(engine)
    engine.fire(rid, "submit", HANDLER, explanations={"S-01": WHY})
    later = clock.advance(hours=3)
    approved = engine.fire(rid, "approve", APPROVER)
    assert approved.reception.state == "approved"
    (accepted,) = approved.reception.explanations
    assert (accepted.rule_id, accepted.text, accepted.by) == ("S-01", WHY, HANDLER.id)
    assert (accepted.accepted_by, accepted.accepted_at, accepted.accepted) == (APPROVER.id, later, True)
    assert approved.event.explanations == (accepted,)
    # the approver sees what they accept: S-01 runs at approval too, explained by the handler
    assert [f.rule_id for f in approved.findings if f.severity is Severity.NEEDS_EXPLANATION] == ["S-01"]


def test_an_official_purpose_needs_no_explanation(engine: Engine) -> None:
    rid = create(engine, Purpose.TASK)
    result = engine.fire(rid, "submit", HANDLER)
    assert result.reception.explanations == ()
    assert result.event.explanations == ()


def test_finance_accepts_claim_stage_explanations_at_settlement(engine: Engine, clock: FrozenClock) -> None:
    rid = create(engine, Purpose.RESEARCH)
    for trigger, actor in (
        ("submit", HANDLER),
        ("approve", APPROVER),
        ("start", HANDLER),
        ("finish", HANDLER),
    ):
        engine.fire(rid, trigger, actor)
    more = listing(engine.get(rid), extra_guests=1)
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(rid, "claim", HANDLER, reception_list=more)
    assert {f.rule_id for f in caught.value.findings if f.severity is Severity.NEEDS_EXPLANATION} == {"L-03"}

    clock.set(datetime(2026, 3, 12, 10, 0, tzinfo=CHINA_TZ))
    text = "派出单位临时增派随员一名，已电话确认"
    claimed = engine.fire(rid, "claim", HANDLER, reception_list=more, explanations={"L-03": text})
    assert claimed.reception.state == "settling"
    noted = claimed.event.explanations
    assert [(e.rule_id, e.path, e.stage, e.text) for e in noted] == [
        ("L-03", "$.reception_list.guests[4].name", "claim", text),
        ("L-03", "$.reception_list.guests", "claim", text),
    ]
    assert not any(e.accepted for e in claimed.reception.explanations)

    settled_at = clock.advance(days=1)
    settled = engine.fire(rid, "settle", FINANCE)
    assert settled.reception.state == "settled"
    assert {(e.accepted_by, e.accepted_at) for e in settled.reception.explanations} == {
        (FINANCE.id, settled_at)
    }
    assert [e.path for e in settled.event.explanations] == [e.path for e in noted]


def test_an_amended_plan_needs_a_new_explanation_when_the_finding_changes(engine: Engine) -> None:
    letter = sample_letter(START)
    rid = engine.create_reception(
        letter, sample_plan(START, guests=5), handler=HANDLER, host_unit="县政府办公室", jurisdiction="341502"
    ).reception.id
    engine.fire(rid, "submit", HANDLER, explanations={"A-03": "司机一名随同就餐"})
    engine.fire(rid, "approve", APPROVER)
    with pytest.raises(RuleViolationError):
        engine.fire(rid, "amend", HANDLER, reason="再增加一人", plan=sample_plan(START, guests=6))
