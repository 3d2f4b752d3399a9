"""F-05 budget commitment 预算占用: an approved plan commits the LARGER of its stated budget and its
itemised total — what a finance officer would hold — so the annual cap cannot be passed by leaving
items out; settlement replaces the commitment with the list's actual total. On the memory store and
on every SQL back end.

县政府办公室 has a 2026 cap set through a county standards layer; each plan below has one working meal
(the itemised total) and a stated budget, chosen per test.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow import (
    DocumentKind,
    Invoice,
    Level,
    Payment,
    PaymentMethod,
    Plan,
    ReceptionList,
    RuleViolationError,
    Severity,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.domain.budget import committed_fen
from jiedai_flow.domain.standards import Budget
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from jiedai_flow import Engine, Reception

JURISDICTION = "341502"
HOST_UNIT = "县政府办公室"
START = date(2026, 3, 10)
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]
FINANCE = ACTORS["finance"]


class Cap:
    """A county plugin: the 2026 reception budget of 县政府办公室."""

    def __init__(self, amount: str) -> None:
        budgets = (Budget(HOST_UNIT, 2026, amount),)
        self.layer = StandardsLayer("县公务接待费预算", Level.COUNTY, JURISDICTION, {"budgets": budgets})

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


@pytest.fixture
def engines(store_url: str) -> Iterator[Callable[..., Engine]]:
    """``engines(*plugins)``: an engine on the test's store; closed afterwards."""
    made: list[Engine] = []

    def factory(*plugins: object) -> Engine:
        engine = make_engine(*plugins, url=store_url)
        made.append(engine)
        return engine

    yield factory
    for engine in made:
        engine.store.close()


def plan(budget: str, meal: str | None = "360.00") -> Plan:
    """A plan stating ``budget``, itemising one working meal of ``meal`` (None: no items at all)."""
    if meal is None:
        return Plan(companions=sample_plan().companions, budget=Decimal(budget))
    return attrs.evolve(sample_plan(START, cost=Decimal(meal)), budget=Decimal(budget))


def submitted(engine: Engine, budget: str, meal: str | None = "360.00") -> str:
    letter = sample_letter(START)
    if meal is None:
        letter = attrs.evolve(letter, meal_requested=False)
    rid = engine.create_reception(
        letter, plan(budget, meal), handler=HANDLER, host_unit=HOST_UNIT, jurisdiction=JURISDICTION
    ).reception.id
    engine.fire(rid, "submit", HANDLER)
    return rid


def approve(engine: Engine, budget: str, meal: str | None = "360.00") -> Reception:
    reception = engine.fire(submitted(engine, budget, meal), "approve", APPROVER).reception
    assert reception.state == "approved"
    return reception


def usage(engine: Engine) -> tuple[str, str]:
    """(committed, spent) of 县政府办公室 in 2026, in yuan."""
    found = engine.store.budget_usage(HOST_UNIT, 2026)
    return str(Decimal(found.committed_fen).scaleb(-2)), str(Decimal(found.spent_fen).scaleb(-2))


def refused_for_budget(engine: Engine, rid: str) -> str:
    """Approve ``rid``, expecting the ledger's F-05 refusal; its Chinese message."""
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "approve", APPROVER)
    [finding] = [f for f in refused.value.findings if f.blocks]
    assert (finding.rule_id, finding.severity, finding.path) == ("F-05", Severity.BLOCKING, "$.plan")
    assert engine.get(rid).state == "submitted"
    return finding.message_zh


# -- what a plan commits ---------------------------------------------------------------------------


def test_the_commitment_is_the_larger_of_the_stated_budget_and_the_itemised_total() -> None:
    assert committed_fen(plan("6000.00", "600.00")) == 600000
    assert committed_fen(plan("300.00", "360.00")) == 36000
    assert committed_fen(plan("500.00", None)) == 50000
    assert committed_fen(plan("0", None)) == 0
    assert plan("6000.00", "600.00").planned_fen == 60000  # what reports call planned is unchanged


def test_a_budget_only_plan_commits_its_budget(engines: Callable[..., Engine]) -> None:
    engine = engines(Cap("10000.00"))
    approved = approve(engine, "500.00", meal=None)
    assert approved.plan.planned_total == 0
    assert approved.budget_committed_fen == 50000
    assert usage(engine) == ("500.00", "0.00")


def test_a_6000_budget_with_600_of_items_commits_6000(engines: Callable[..., Engine]) -> None:
    engine = engines(Cap("10000.00"))
    approved = approve(engine, "6000.00", "600.00")
    assert approved.budget_committed_fen == 600000
    assert usage(engine) == ("6000.00", "0.00")


def test_items_above_the_stated_budget_commit_the_items(engines: Callable[..., Engine]) -> None:
    engine = engines(Cap("10000.00"))
    approved = approve(engine, "300.00", "360.00")
    assert approved.budget_committed_fen == 36000
    assert usage(engine) == ("360.00", "0.00")


# -- the cap's boundary ------------------------------------------------------------------------------


def test_a_stated_budget_exactly_at_the_cap_passes(engines: Callable[..., Engine]) -> None:
    engine = engines(Cap("1000.00"))
    approve(engine, "1000.00", "360.00")
    assert usage(engine) == ("1000.00", "0.00")


def test_a_stated_budget_one_fen_over_the_cap_is_refused_with_f05(engines: Callable[..., Engine]) -> None:
    """The items (360.00) fit easily; the budget the plan states (1000.01) does not."""
    engine = engines(Cap("1000.00"))
    rid = submitted(engine, "1000.01", "360.00")
    message = refused_for_budget(engine, rid)
    assert "剩余 1000.00 元，本次 1000.01 元，超出 0.01 元" in message
    assert usage(engine) == ("0.00", "0.00")


def test_budget_only_plans_fill_the_cap_to_the_fen_and_not_one_fen_more(
    engines: Callable[..., Engine],
) -> None:
    """Leaving the items out no longer slips past the cap: 600.00 + 400.00 fill 1000.00 exactly,
    and a further 0.01 is refused."""
    engine = engines(Cap("1000.00"))
    approve(engine, "600.00", meal=None)
    approve(engine, "400.00", meal=None)
    assert usage(engine) == ("1000.00", "0.00")
    message = refused_for_budget(engine, submitted(engine, "0.01", meal=None))
    assert "剩余 0.00 元，本次 0.01 元，超出 0.01 元" in message
    assert usage(engine) == ("1000.00", "0.00")


# -- settling --------------------------------------------------------------------------------------


def listing(reception: Reception, total: str) -> ReceptionList:
    """A complete, signed list whose one working meal cost ``total``."""
    meal = attrs.evolve(reception.plan.meals[0], cost=Decimal(total))
    return ReceptionList(
        guests=reception.letter.personnel,
        meals=(meal,),
        invoices=(Invoice("No.0001", reception.start, "县机关食堂", Decimal(total)),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, Decimal(total), "公务卡尾号 1234"),),
        companions=reception.plan.companions,
        support_staff=(sample_plan().companions[0],),
        signed_by="孙浩（县政府办公室主任）",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def test_settlement_replaces_the_commitment_with_the_actual_list_total(
    engines: Callable[..., Engine],
) -> None:
    engine = engines(Cap("10000.00"))
    rid = approve(engine, "6000.00", "600.00").id
    engine.fire(rid, "start", HANDLER)
    held = engine.fire(rid, "finish", HANDLER).reception
    engine.fire(rid, "claim", HANDLER, reception_list=listing(held, "580.00"))
    assert usage(engine) == ("6000.00", "0.00")  # still held while finance reviews the claim
    settled = engine.fire(rid, "settle", FINANCE).reception
    assert settled.budget_committed_fen == 0
    assert usage(engine) == ("0.00", "580.00")


def test_cancelling_releases_the_whole_stated_budget(engines: Callable[..., Engine]) -> None:
    engine = engines(Cap("10000.00"))
    rid = approve(engine, "6000.00", "600.00").id
    cancelled = engine.fire(rid, "cancel", HANDLER, reason="来访取消").reception
    assert cancelled.budget_committed_fen == 0
    assert usage(engine) == ("0.00", "0.00")
