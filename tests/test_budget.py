"""F-05 budget control 预算控制: the annual cap of a host unit is enforced through the ledger, atomically
with the command's save — on the memory store and on every SQL back end.

A county plugin sets the budget of 县政府办公室 for 2026 at 1000.00 元; each sample reception plans one
working meal (360.00 元 unless a test says otherwise) and states that as its budget. The ledger commits
a reception's plan (the larger of its stated budget and its itemised total, see
tests/test_budget_commitment.py) when its approval completes, releases it on cancellation or
amendment, and books the actual total of the list as spent on settlement.
"""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from jiedai_flow import (
    CommandResult,
    DocumentKind,
    Invoice,
    Level,
    Payment,
    PaymentMethod,
    Person,
    ReceptionList,
    RuleViolationError,
    Severity,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.domain.standards import Budget
from jiedai_flow.testing import ACTORS, make_engine, register_sample, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from jiedai_flow import AuditEvent, Engine, Reception
    from jiedai_flow.domain.records import BudgetUsage

JURISDICTION = "341502"
HOST_UNIT = "县政府办公室"
START = date(2026, 3, 10)
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]
FINANCE = ACTORS["finance"]
OFFICE = ACTORS["office"]


class CountyBudget:
    """A county plugin: the annual reception budget of 县政府办公室 for 2026."""

    def __init__(self, amount: str = "1000.00") -> None:
        budgets = (Budget(HOST_UNIT, 2026, amount),)
        self.layer = StandardsLayer("县公务接待费预算", Level.COUNTY, JURISDICTION, {"budgets": budgets})

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


@pytest.fixture
def engines(store_url: str) -> Iterator[Callable[..., Engine]]:
    """``engines(*plugins)``: an engine on the test's store; every store is closed afterwards."""
    made: list[Engine] = []

    def factory(*plugins: object) -> Engine:
        engine = make_engine(*plugins, url=store_url)
        made.append(engine)
        return engine

    yield factory
    for engine in made:
        engine.store.close()


def create(engine: Engine, cost: str = "360.00", start: date = START) -> Reception:
    """A reception planning one working meal of ``cost`` (4 guests, 2 companions), its budget."""
    plan = attrs.evolve(sample_plan(start, cost=Decimal(cost)), budget=Decimal(cost))
    return register_sample(
        engine, start=start, plan=plan, handler=HANDLER, host_unit=HOST_UNIT, jurisdiction=JURISDICTION
    )


def submitted(engine: Engine, cost: str = "360.00", start: date = START) -> str:
    rid = create(engine, cost, start).id
    engine.fire(rid, "submit", HANDLER)
    return rid


def approved(engine: Engine, cost: str = "360.00", start: date = START) -> str:
    rid = submitted(engine, cost, start)
    assert engine.fire(rid, "approve", APPROVER).reception.state == "approved"
    return rid


def usage(engine: Engine, year: int = 2026) -> tuple[str, str]:
    """(committed, spent) of 县政府办公室 in ``year``, in yuan."""
    found = engine.store.budget_usage(HOST_UNIT, year)
    return str(Decimal(found.committed_fen).scaleb(-2)), str(Decimal(found.spent_fen).scaleb(-2))


def complete_list(reception: Reception, total: str) -> ReceptionList:
    """A complete, signed list whose one working meal cost ``total``."""
    meal = attrs.evolve(reception.plan.meals[0], cost=Decimal(total))
    return ReceptionList(
        guests=reception.letter.personnel,
        meals=(meal,),
        invoices=(Invoice("No.0001", reception.start, "县机关食堂", Decimal(total)),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, Decimal(total), "公务卡尾号 1234"),),
        companions=(Person("王强", "县农业农村局局长"),),
        support_staff=(Person("张伟", "县政府办公室科员"),),
        signed_by="孙浩（县政府办公室主任）",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def claimed(engine: Engine, rid: str, total: str) -> Reception:
    """Start, finish and claim an approved reception with a list totalling ``total``; a total over
    the plan's budget comes with its F-07 情况说明."""
    engine.fire(rid, "start", HANDLER)
    reception = engine.fire(rid, "finish", HANDLER).reception
    listing = complete_list(reception, total)
    why = {"F-07": "来宾临时增加，经分管领导同意"}
    return engine.fire(rid, "claim", HANDLER, reception_list=listing, explanations=why).reception


def snapshot(engine: Engine, rid: str) -> tuple[Reception, tuple[AuditEvent, ...], BudgetUsage]:
    return engine.get(rid), tuple(engine.history(rid)), engine.store.budget_usage(HOST_UNIT, 2026)


# -- committing and refusing -----------------------------------------------------------------------


def test_submission_commits_nothing_and_approval_commits_the_planned_total(
    engines: Callable[..., Engine],
) -> None:
    engine = engines(CountyBudget())
    rid = submitted(engine)
    assert usage(engine) == ("0.00", "0.00")
    result = engine.fire(rid, "approve", APPROVER)
    assert result.reception.budget_committed_fen == 36000
    assert usage(engine) == ("360.00", "0.00")


def test_approval_beyond_what_remains_is_refused_naming_every_number_and_saves_nothing(
    engines: Callable[..., Engine],
) -> None:
    """F-05: cap 1000.00, committed 720.00, spent 0.00, remaining 280.00 — a 360.00 plan is refused."""
    engine = engines(CountyBudget())
    approved(engine)
    approved(engine)
    rid = submitted(engine)
    before = snapshot(engine, rid)
    pending = tuple(engine.store.pending_notifications())

    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "approve", APPROVER)

    [finding] = [f for f in refused.value.findings if f.blocks]
    assert (finding.rule_id, finding.severity, finding.path) == ("F-05", Severity.BLOCKING, "$.plan")
    assert finding.message_zh == (
        "县政府办公室 2026 年度接待预算 1000.00 元，已承诺 720.00 元、已支出 0.00 元，剩余 280.00 元，"
        "本次 360.00 元，超出 80.00 元"
    )
    for number in ("1000.00", "720.00", "0.00", "280.00", "360.00"):
        assert number in finding.message_en
    assert str(finding.citation) == "《党政机关国内公务接待管理规定》第十二条"
    assert refused.value.trigger == "approve"
    assert snapshot(engine, rid) == before  # state, version, history and ledger unchanged
    assert before[0].state == "submitted"
    assert tuple(engine.store.pending_notifications()) == pending


def test_exactly_what_remains_may_be_committed_and_not_a_fen_more(engines: Callable[..., Engine]) -> None:
    engine = engines(CountyBudget())
    approved(engine)
    approved(engine)
    approved(engine, "280.00")
    assert usage(engine) == ("1000.00", "0.00")
    rid = submitted(engine, "0.01")
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "approve", APPROVER)
    assert "剩余 0.00 元，本次 0.01 元，超出 0.01 元" in refused.value.findings[-1].message_zh


def test_a_plan_larger_than_the_whole_budget_is_refused_at_approval(engines: Callable[..., Engine]) -> None:
    """The dry run warns (F-05 sees no ledger, only the cap); the approval itself is refused."""
    engine = engines(CountyBudget("300.00"))
    rid = submitted(engine)
    [warning] = [f for f in engine.check(rid, stages=["approve"]).findings if f.rule_id == "F-05"]
    assert warning.severity is Severity.WARNING
    with pytest.raises(RuleViolationError):
        engine.fire(rid, "approve", APPROVER)
    assert engine.get(rid).state == "submitted"


# -- releasing -------------------------------------------------------------------------------------


def test_cancellation_after_approval_releases_the_commitment(engines: Callable[..., Engine]) -> None:
    engine = engines(CountyBudget())
    rid = approved(engine, "800.00")
    assert usage(engine) == ("800.00", "0.00")
    cancelled = engine.fire(rid, "cancel", HANDLER, reason="来访取消").reception
    assert (cancelled.state, cancelled.budget_committed_fen) == ("cancelled", 0)
    assert usage(engine) == ("0.00", "0.00")
    approved(engine, "1000.00")  # the whole budget is free again


def test_amendment_releases_and_reapproval_commits_the_new_plan(engines: Callable[..., Engine]) -> None:
    engine = engines(CountyBudget())
    rid = approved(engine)
    smaller = attrs.evolve(sample_plan(START, cost=Decimal("300.00")), budget=Decimal("300.00"))
    amended = engine.fire(rid, "amend", HANDLER, reason="来宾减少", plan=smaller).reception
    assert (amended.state, amended.budget_committed_fen) == ("submitted", 0)
    assert usage(engine) == ("0.00", "0.00")
    engine.fire(rid, "approve", APPROVER)
    assert usage(engine) == ("300.00", "0.00")
    assert engine.get(rid).budget_committed_fen == 30000


# -- settling --------------------------------------------------------------------------------------


def test_settlement_moves_the_planned_total_out_of_committed_and_books_the_actual_spent(
    engines: Callable[..., Engine],
) -> None:
    engine = engines(CountyBudget())
    rid = approved(engine)
    claimed(engine, rid, "330.00")
    assert usage(engine) == ("360.00", "0.00")  # still committed while finance reviews
    settled = engine.fire(rid, "settle", FINANCE).reception
    assert settled.budget_committed_fen == 0
    assert usage(engine) == ("0.00", "330.00")
    engine.fire(rid, "archive", OFFICE)
    assert usage(engine) == ("0.00", "330.00")


def test_spending_counts_against_the_cap_of_later_approvals(engines: Callable[..., Engine]) -> None:
    engine = engines(CountyBudget())
    first = approved(engine, "600.00")
    claimed(engine, first, "600.00")
    engine.fire(first, "settle", FINANCE)
    rid = submitted(engine, "400.01")
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "approve", APPROVER)
    assert (
        "已承诺 0.00 元、已支出 600.00 元，剩余 400.00 元，本次 400.01 元"
        in refused.value.findings[-1].message_zh
    )


def test_settling_more_than_planned_past_the_cap_is_refused(engines: Callable[..., Engine]) -> None:
    """The overspend grows the ledger at settlement, so it meets the cap too (Art 12 总额控制)."""
    engine = engines(CountyBudget("400.00"))
    rid = approved(engine)
    claimed(engine, rid, "450.00")
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "settle", FINANCE)
    assert "本次 90.00 元，超出 50.00 元" in refused.value.findings[-1].message_zh
    assert engine.get(rid).state == "settling"
    assert usage(engine) == ("360.00", "0.00")


# -- no budget configured ---------------------------------------------------------------------------


def test_without_a_budget_nothing_is_refused_but_the_ledger_is_kept(engines: Callable[..., Engine]) -> None:
    engine = engines()
    rid = approved(engine, "5000.00")
    approved(engine, "7000.00")
    assert usage(engine) == ("12000.00", "0.00")
    claimed(engine, rid, "4800.00")
    engine.fire(rid, "settle", FINANCE)
    assert usage(engine) == ("7000.00", "4800.00")


def test_a_budget_for_another_year_does_not_cap_this_one(engines: Callable[..., Engine]) -> None:
    engine = engines(CountyBudget("100.00"))
    approved(engine, "900.00", start=date(2027, 3, 9))
    assert usage(engine, 2027) == ("900.00", "0.00")
    assert usage(engine, 2026) == ("0.00", "0.00")


# -- two engines racing ------------------------------------------------------------------------------


class Gate:
    """Holds each approval just before its save until both engines are there: a true race."""

    def __init__(self, barrier: threading.Barrier) -> None:
        self.barrier = barrier

    @hookimpl
    def jiedai_before_transition(self, before: Any, after: Any, event: AuditEvent) -> None:
        del before, after
        if event.trigger == "approve":
            self.barrier.wait()


def race(url: str, rids: list[str]) -> list[object]:
    """Approve ``rids[i]`` on engine ``i``, both released together just before saving."""
    barrier = threading.Barrier(len(rids), timeout=60)
    racers = [make_engine(CountyBudget(), Gate(barrier), url=url) for _ in rids]
    results: list[object] = [None] * len(rids)

    def approve(i: int) -> None:
        try:
            results[i] = racers[i].fire(rids[i], "approve", APPROVER)
        except Exception as error:  # why: any outcome is what the test inspects
            results[i] = error

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(len(rids))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        for racer in racers:
            racer.store.close()
    return results


@pytest.mark.parametrize("already", ["360.00", None], ids=["ledger-row-exists", "empty-ledger"])
def test_two_engines_racing_for_the_last_of_a_budget_let_only_one_approval_pass(
    sql_url: str, already: str | None
) -> None:
    """Two engines on one database approve 600.00 each against 1000.00 (less what is committed):
    both pass their rules, both reach the save together, and only one commits."""
    setup = make_engine(CountyBudget(), url=sql_url)
    try:
        if already is not None:
            approved(setup, already)
        rids = [submitted(setup, "600.00"), submitted(setup, "600.00")]
    finally:
        setup.store.close()

    results = race(sql_url, rids)

    passed = [r for r in results if isinstance(r, CommandResult)]
    refused = [r for r in results if isinstance(r, RuleViolationError)]
    assert (len(passed), len(refused)) == (1, 1), results
    assert refused[0].findings[-1].rule_id == "F-05"
    check = make_engine(CountyBudget(), url=sql_url)
    try:
        committed = Decimal(already or 0) + Decimal("600.00")
        assert usage(check) == (str(committed.quantize(Decimal("0.01"))), "0.00")
        assert sorted(check.get(rid).state for rid in rids) == ["approved", "submitted"]
        loser = next(rid for rid in rids if check.get(rid).state == "submitted")
        assert [e.trigger for e in check.history(loser)] == ["create", "submit"]
    finally:
        check.store.close()


def test_a_budget_refusal_does_not_count_a_finding_already_explained() -> None:
    """M-03 explained at submission, then the approval passes the budget (F-05): one finding
    refuses, and M-03 is reported as explained — the clerk is not sent to explain it again."""
    from jiedai_flow.domain.standards import MealStandard

    county = CountyBudget("100.00")
    county.layer = attrs.evolve(
        county.layer, changes={**county.layer.changes, "meal_standards": (MealStandard("60.00"),)}
    )
    engine = make_engine(county)
    reception = create(engine, "2000.00")
    needing = [
        f.rule_id
        for f in engine.check(reception, ["submit"]).findings
        if f.severity is Severity.NEEDS_EXPLANATION
    ]
    assert needing, "the dear meal needs a written explanation"
    engine.fire(reception.id, "submit", HANDLER, explanations=dict.fromkeys(needing, "上级检查组临时增加"))
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(reception.id, "approve", APPROVER)
    assert "有 1 项检查结果未通过" in refused.value.message_zh
    assert {f.rule_id for f in refused.value.explained} == set(needing)
