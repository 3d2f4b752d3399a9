"""The national A rules (approval 审批) and the default approval chain by tier, run through the real
engine. A-01 (补办) has its own file, tests/test_retroactive.py."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from jiedai_flow import (
    Activity,
    Actor,
    Approval,
    ApprovalStep,
    Level,
    Lodging,
    Rank,
    ReceptionType,
    Role,
    RoomType,
    RuleViolationError,
    Severity,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.domain.records import Assignee, StepKind
from jiedai_flow.domain.standards import ApprovalTier
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jiedai_flow import Engine, Finding, OfficialLetter, Plan, Reception, Standards

JURISDICTION = "341502"
START = date(2026, 3, 10)
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]  # level 分管领导
DIRECTOR = ACTORS["director"]  # level 部门负责人


class LocalStandards:
    """A county plugin contributing one standards layer with ``changes``."""

    def __init__(self, **changes: Any) -> None:
        self.layer = StandardsLayer("测试县", Level.COUNTY, JURISDICTION, changes)

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


def engine_with(*plugins: object, **changes: Any) -> Engine:
    return make_engine(LocalStandards(**changes), *plugins)


def create(
    engine: Engine,
    letter: OfficialLetter | None = None,
    plan: Plan | None = None,
    reception_type: ReceptionType = ReceptionType.DOMESTIC,
    host_unit: str = "县政府办公室",
) -> str:
    result = engine.create_reception(
        letter or sample_letter(START),
        plan or sample_plan(START),
        handler=HANDLER,
        host_unit=host_unit,
        jurisdiction=JURISDICTION,
        reception_type=reception_type,
    )
    return result.reception.id


def found(findings: Iterable[Finding], rule_id: str) -> list[tuple[Severity, str]]:
    return [(f.severity, f.path) for f in findings if f.rule_id == rule_id]


def at_submit(engine: Engine, rid: str) -> tuple[Finding, ...]:
    return engine.check(rid, stages=["submit"]).by_stage["submit"]


# -- the default approval chain, by tier ---------------------------------------------------------

BASE = ApprovalTier(("部门负责人",), label="一般接待")
BUREAU = ApprovalTier(("部门负责人", "分管领导"), min_rank=Rank.BUREAU)
LARGE = ApprovalTier(("部门负责人", "分管领导", "主要领导"), min_headcount=8)


def chain_for(
    tiers: tuple[ApprovalTier, ...],
    letter: OfficialLetter | None = None,
    reception_type: ReceptionType = ReceptionType.DOMESTIC,
    **changes: Any,
) -> list[str]:
    """The chain a submission gets under ``tiers``; the plan feeds the letter's guests."""
    engine = engine_with(approval_tiers=tiers, **changes)
    letter = letter or sample_letter(START)
    rid = create(engine, letter, sample_plan(START, guests=letter.headcount), reception_type)
    return [s.level for s in engine.fire(rid, "submit", HANDLER).reception.approval_chain]


def ranked(*ranks: Rank) -> OfficialLetter:
    letter = sample_letter(START, guests=len(ranks))
    guests = zip(letter.personnel, ranks, strict=True)
    return attrs.evolve(letter, personnel=tuple(attrs.evolve(g, rank=r) for g, r in guests))


def test_chain_is_the_last_tier_whose_conditions_hold() -> None:
    tiers = (BASE, BUREAU, LARGE)
    assert chain_for(tiers, ranked(Rank.COUNTY, Rank.TOWNSHIP)) == ["部门负责人"]
    assert chain_for(tiers, ranked(Rank.BUREAU, Rank.TOWNSHIP)) == ["部门负责人", "分管领导"]
    assert chain_for(tiers, ranked(*[Rank.TOWNSHIP] * 8)) == [
        "部门负责人",
        "分管领导",
        "主要领导",
    ]


@pytest.mark.parametrize(
    ("highest", "steps"),
    [(Rank.PROVINCIAL, 2), (Rank.BUREAU, 2), (Rank.COUNTY, 1), (Rank.OTHER, 1)],
)
def test_rank_tier_applies_from_its_minimum_rank_up(highest: Rank, steps: int) -> None:
    assert len(chain_for((BASE, BUREAU), ranked(Rank.TOWNSHIP, highest))) == steps


@pytest.mark.parametrize(("guests", "steps"), [(7, 1), (8, 3), (9, 3)])
def test_headcount_tier_applies_at_its_threshold(guests: int, steps: int) -> None:
    assert len(chain_for((BASE, LARGE), ranked(*[Rank.TOWNSHIP] * guests))) == steps


@pytest.mark.parametrize(("threshold", "steps"), [("359.99", 2), ("360.00", 2), ("360.01", 1)])
def test_amount_tier_applies_when_the_planned_total_reaches_it(threshold: str, steps: int) -> None:
    major = ApprovalTier(("部门负责人", "分管领导"), min_amount=Decimal(threshold))
    assert sample_plan(START).planned_total == Decimal("360.00")
    assert len(chain_for((BASE, major), ranked(*[Rank.TOWNSHIP] * 4))) == steps


def test_a_tier_needs_all_its_conditions() -> None:
    both = ApprovalTier(("部门负责人", "分管领导"), min_rank=Rank.BUREAU, min_headcount=5)
    assert chain_for((BASE, both), ranked(Rank.BUREAU, *[Rank.TOWNSHIP] * 3)) == ["部门负责人"]
    five = ranked(Rank.BUREAU, *[Rank.TOWNSHIP] * 4)
    assert chain_for((BASE, both), five) == ["部门负责人", "分管领导"]


def test_a_tier_for_some_reception_types_skips_the_others() -> None:
    business = ApprovalTier(("招商办", "分管领导"), reception_types=frozenset({ReceptionType.BUSINESS}))
    investors = attrs.evolve(
        ranked(Rank.OTHER), personnel=(attrs.evolve(ranked(Rank.OTHER).personnel[0], state_employee=False),)
    )
    assert chain_for((BASE, business), investors, ReceptionType.BUSINESS) == ["招商办", "分管领导"]
    assert chain_for((BASE, business), ranked(Rank.OTHER)) == ["部门负责人"]


def test_without_a_matching_tier_the_chain_is_one_step_per_level() -> None:
    provincial = ApprovalTier(("主要领导",), min_rank=Rank.PROVINCIAL)
    assert chain_for((provincial,), approval_levels=("部门负责人", "分管领导")) == ["部门负责人", "分管领导"]


def test_a_tier_without_steps_is_refused_when_built() -> None:
    with pytest.raises(ValueError, match="steps"):
        ApprovalTier(())


def test_without_tiers_or_levels_any_approver_signs_the_single_step() -> None:
    engine = make_engine()
    submitted = engine.fire(create(engine), "submit", HANDLER).reception
    assert submitted.approval_chain == (ApprovalStep("", "审批"),)
    assert engine.fire(submitted.id, "approve", DIRECTOR).reception.state == "approved"


def test_a_county_chain_plugin_overrides_the_tiers() -> None:
    class OwnChain:
        @hookimpl
        def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
            del reception, standards
            return [ApprovalStep("主要领导", "主要领导")]

    engine = engine_with(OwnChain(), approval_tiers=(BASE,))
    submitted = engine.fire(create(engine), "submit", HANDLER).reception
    assert [s.level for s in submitted.approval_chain] == ["主要领导"]


def test_the_tier_chain_is_signed_in_order() -> None:
    engine = engine_with(approval_tiers=(BASE, BUREAU))
    rid = create(engine)  # the sample letter's first guest is 厅局级
    engine.fire(rid, "submit", HANDLER)
    assert engine.fire(rid, "approve", DIRECTOR).reception.state == "submitted"
    assert engine.fire(rid, "approve", APPROVER).reception.state == "approved"


# -- A-02 审批链 ----------------------------------------------------------------------------------

TWO_STEPS = (ApprovalStep("部门负责人", "部门负责人"), ApprovalStep("分管领导", "分管领导"))


def approved_twice(engine: Engine) -> Reception:
    rid = create(engine)
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", DIRECTOR)
    return engine.fire(rid, "approve", APPROVER).reception


def a02(engine: Engine, reception: Reception) -> list[tuple[Severity, str]]:
    report = engine.check(reception, stages=["claim", "settle"])
    assert found(report.by_stage["claim"], "A-02") == found(report.by_stage["settle"], "A-02")
    return found(report.by_stage["claim"], "A-02")


def test_a02_a_chain_signed_by_the_engine_passes() -> None:
    engine = engine_with(approval_levels=("部门负责人", "分管领导"))
    reception = approved_twice(engine)
    assert reception.approval_chain == TWO_STEPS
    assert a02(engine, reception) == []


def test_a02_signatures_out_of_order_are_refused() -> None:
    engine = engine_with(approval_levels=("部门负责人", "分管领导"))
    reception = approved_twice(engine)
    first, second = reception.approvals
    swapped = (attrs.evolve(second, step=0), attrs.evolve(first, step=1))
    assert a02(engine, attrs.evolve(reception, approvals=swapped)) == [
        (Severity.BLOCKING, "$.approvals[0].level"),
        (Severity.BLOCKING, "$.approvals[1].level"),
    ]
    renumbered = (attrs.evolve(first, step=1), attrs.evolve(second, step=0))
    assert a02(engine, attrs.evolve(reception, approvals=renumbered)) == [
        (Severity.BLOCKING, "$.approvals[0].step"),
        (Severity.BLOCKING, "$.approvals[1].step"),
    ]


def test_a02_same_signer_twice_handler_signing_and_extra_signatures_are_refused() -> None:
    engine = engine_with(approval_levels=("部门负责人", "分管领导"))
    reception = approved_twice(engine)
    first, second = reception.approvals
    twice = attrs.evolve(second, actor_id=first.actor_id, actor_name=first.actor_name)
    assert a02(engine, attrs.evolve(reception, approvals=(first, twice))) == [
        (Severity.BLOCKING, "$.approvals[1].actor_id")
    ]
    by_handler = attrs.evolve(second, actor_id=HANDLER.id, actor_name=HANDLER.name)
    assert a02(engine, attrs.evolve(reception, approvals=(first, by_handler))) == [
        (Severity.BLOCKING, "$.approvals[1].actor_id")
    ]
    extra = Approval(2, "主要领导", "qian.jun", "钱军", second.at)
    assert a02(engine, attrs.evolve(reception, approvals=(first, second, extra))) == [
        (Severity.BLOCKING, "$.approvals[2]")
    ]


def test_a02_a_later_step_signed_before_an_earlier_one_is_refused() -> None:
    engine = engine_with(approval_levels=("部门负责人", "分管领导"))
    reception = approved_twice(engine)
    first, second = reception.approvals
    earlier = attrs.evolve(second, at=first.at - timedelta(minutes=1))
    (finding,) = [
        f
        for f in engine.check(attrs.evolve(reception, approvals=(first, earlier)), stages=["claim"]).findings
        if f.rule_id == "A-02"
    ]
    assert (finding.path, finding.citation and str(finding.citation)) == (
        "$.approvals[1].at",
        "《党政机关国内公务接待管理规定》第七条",
    )
    same_moment = attrs.evolve(second, at=first.at)
    assert a02(engine, attrs.evolve(reception, approvals=(first, same_moment))) == []


def test_a02_refuses_the_claim_of_a_tampered_record() -> None:
    engine = engine_with(approval_levels=("部门负责人", "分管领导"))
    reception = approved_twice(engine)
    for trigger in ("start", "finish"):
        reception = engine.fire(reception.id, trigger, HANDLER).reception
    first, second = reception.approvals
    tampered = attrs.evolve(reception, approvals=(first, attrs.evolve(second, level="部门负责人")))
    event = engine.history(reception.id)[-1]
    engine.store.save(
        attrs.evolve(tampered, version=reception.version + 1),
        expected_version=reception.version,
        event=attrs.evolve(event, id="tamper", seq=reception.version + 1),
        outbox=(),
        record=None,
    )
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(reception.id, "claim", HANDLER)
    assert (Severity.BLOCKING, "$.approvals[1].level") in found(caught.value.findings, "A-02")


class Countersign:
    """部门负责人, then a parallel countersign of three named people, then 加签 is possible."""

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        people = tuple(Assignee.person(i) for i in ("b", "c", "d"))
        return [
            ApprovalStep("部门负责人", "部门负责人"),
            ApprovalStep("", "会签", kind=StepKind.PARALLEL, assignees=people),
        ]


def countersigned(engine: Engine) -> Reception:
    rid = create(engine)
    engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "approve", DIRECTOR)
    for person in "bcd":
        reception = engine.fire(rid, "approve", Actor(person, f"审批人{person}", frozenset({Role.APPROVER})))
    return reception.reception


def test_a02_a_countersigned_step_takes_one_signature_from_each_signer() -> None:
    """A 会签 step's three signatures in a row pass (each records its signer's id as the level);
    a second signature on a single step, or one put back in an earlier step, does not."""
    engine = make_engine(Countersign())
    reception = countersigned(engine)
    assert [a.step for a in reception.approvals] == [0, 1, 1, 1]
    assert a02(engine, reception) == []
    first, *others = reception.approvals
    doubled = (first, attrs.evolve(others[0], step=0, level="部门负责人"), *others[1:])
    assert a02(engine, attrs.evolve(reception, approvals=doubled)) == [
        (Severity.BLOCKING, "$.approvals[1].step")
    ]
    twice = (first, *others[:2], attrs.evolve(others[2], actor_id="b"))
    assert a02(engine, attrs.evolve(reception, approvals=twice)) == [
        (Severity.BLOCKING, "$.approvals[3].actor_id")
    ]


# -- A-03 审批单字段 ------------------------------------------------------------------------------


def test_a03_a_complete_form_passes() -> None:
    engine = make_engine()
    assert found(engine.fire(create(engine), "submit", HANDLER).findings, "A-03") == []


def test_a03_a_budget_of_zero_for_a_plan_with_costs_is_refused() -> None:
    engine = make_engine()
    rid = create(engine, plan=attrs.evolve(sample_plan(START), budget=Decimal(0)))
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(rid, "submit", HANDLER)
    (finding,) = [f for f in caught.value.findings if f.rule_id == "A-03"]
    assert (finding.severity, finding.path) == (Severity.BLOCKING, "$.plan.budget")
    assert finding.message_zh == "审批单预算为 0 元，但方案预计费用 360.00 元"


def test_a03_a_budget_of_zero_for_a_plan_without_costs_passes() -> None:
    engine = make_engine()
    free = attrs.evolve(sample_plan(START), meals=(), budget=Decimal(0))
    letter = attrs.evolve(sample_letter(START), meal_requested=False)
    assert found(at_submit(engine, create(engine, letter, free)), "A-03") == []


@pytest.mark.parametrize(("budget", "warned"), [("359.99", True), ("360.00", False), ("1000.00", False)])
def test_a03_a_budget_below_the_planned_costs_is_warned_of(budget: str, warned: bool) -> None:
    engine = make_engine()
    rid = create(engine, plan=attrs.evolve(sample_plan(START), budget=Decimal(budget)))
    result = engine.fire(rid, "submit", HANDLER)
    a03 = [f for f in result.findings if f.rule_id == "A-03"]
    assert [(f.severity, f.path) for f in a03] == ([(Severity.WARNING, "$.plan.budget")] if warned else [])
    if warned:
        assert a03[0].message_zh == "方案预计费用 360.00 元超过审批单预算 359.99 元（超出 0.01 元）"


def test_a03_meals_or_rooms_the_letter_did_not_ask_for_are_warned_of() -> None:
    engine = make_engine()
    rooms = Lodging("县委党校招待所", RoomType.STANDARD, 2, 1, Decimal("260.00"))
    plan = attrs.evolve(sample_plan(START), lodgings=(rooms,))
    unasked = attrs.evolve(sample_letter(START), meal_requested=False)
    assert found(at_submit(engine, create(engine, unasked, plan)), "A-03") == [
        (Severity.WARNING, "$.letter.meal_requested"),
        (Severity.WARNING, "$.letter.lodging_requested"),
    ]
    asked = attrs.evolve(unasked, meal_requested=True, lodging_requested=True)
    assert found(at_submit(engine, create(engine, asked, plan)), "A-03") == []


@pytest.mark.parametrize(
    ("guests", "expected"),
    [
        (4, None),
        (5, Severity.NEEDS_EXPLANATION),
        (6, Severity.NEEDS_EXPLANATION),
        (7, Severity.BLOCKING),
    ],
)
def test_a03_a_meal_for_more_guests_than_the_letter_names(guests: int, expected: Severity | None) -> None:
    engine = make_engine()
    plan = sample_plan(START, guests=guests, companions=2)
    findings = found(at_submit(engine, create(engine, plan=plan)), "A-03")
    assert findings == ([] if expected is None else [(expected, "$.plan.meals[0].guests")])


def test_a03_extra_meal_guests_pass_with_an_explanation_accepted_by_the_approver() -> None:
    engine = make_engine()
    rid = create(engine, plan=sample_plan(START, guests=5, companions=2))
    with pytest.raises(RuleViolationError):
        engine.fire(rid, "submit", HANDLER)
    engine.fire(rid, "submit", HANDLER, explanations={"A-03": "司机一名随同就餐"})
    approved = engine.fire(rid, "approve", APPROVER).reception
    (explained,) = approved.explanations
    assert (explained.rule_id, explained.path, explained.accepted_by) == (
        "A-03",
        "$.plan.meals[0].guests",
        APPROVER.id,
    )


@pytest.mark.parametrize(
    ("day", "inside"),
    [(START, True), (START + timedelta(days=1), True), (START + timedelta(days=2), False)],
)
def test_a03_plan_dates_fall_within_the_reception(day: date, inside: bool) -> None:
    engine = make_engine()
    visit = Activity(day, "县农业园区", "高标准农田现场调研")
    plan = attrs.evolve(sample_plan(START, on=day), activities=(visit,))
    expected = (
        []
        if inside
        else [(Severity.BLOCKING, "$.plan.meals[0].on"), (Severity.BLOCKING, "$.plan.activities[0].on")]
    )
    assert found(at_submit(engine, create(engine, plan=plan)), "A-03") == expected


def test_a03_a_blank_host_unit_is_refused() -> None:
    engine = make_engine()
    assert found(at_submit(engine, create(engine, host_unit=" ")), "A-03") == [
        (Severity.BLOCKING, "$.host_unit")
    ]


def test_a03_runs_again_at_approval_where_the_handlers_explanation_stands() -> None:
    engine = make_engine()
    rid = create(engine, plan=sample_plan(START, guests=5, companions=2))
    engine.fire(rid, "submit", HANDLER, explanations={"A-03": "司机一名随同就餐"})
    approving = engine.fire(rid, "approve", APPROVER)
    assert found(approving.findings, "A-03") == [(Severity.NEEDS_EXPLANATION, "$.plan.meals[0].guests")]
    assert [(e.rule_id, e.accepted_by) for e in approving.event.explanations] == [("A-03", APPROVER.id)]


def test_the_tiers_step_names_are_the_levels_approvers_must_hold() -> None:
    engine = engine_with(approval_tiers=(BUREAU,))
    rid = create(engine)
    engine.fire(rid, "submit", HANDLER)
    stranger = Actor("wu.gang", "吴刚", frozenset({Role.APPROVER}))
    assert "approve" not in engine.available_triggers(rid, stranger)
    assert "approve" in engine.available_triggers(rid, DIRECTOR)
