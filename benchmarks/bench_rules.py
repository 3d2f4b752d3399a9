"""Rule checking against the engine's per-transition cost, measured in one run.

    python benchmarks/bench_rules.py [--quick]

Measures, on the in-memory store with the built-in plugins and a county standards layer:

* one rule-free engine command (start/finish pairs) — the per-transition cost;
* checking one realistic reception with the full national pack and the county layer
  (``engine.check(reception, stages="all")``: every rule of every stage);
* resolving standards cold (every layer folded, cache cleared) and warm (cached per jurisdiction
  and date, as commands use them).

Last line: ``RATIO rules/transition = X`` (full check of one reception ÷ one rule-free command).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import attrs

from jiedai_flow import (
    DocumentKind,
    Invoice,
    Level,
    ListItem,
    Payment,
    PaymentMethod,
    Person,
    ReceptionList,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.domain.standards import MealStandard, MealUnit, Origin
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from collections.abc import Callable

    from jiedai_flow import Engine, Reception

START = date(2026, 3, 10)
COUNTY = StandardsLayer(
    "某县（基准）",
    Level.COUNTY,
    "341502",
    {
        "meal_standards": (
            MealStandard(Decimal("90.00"), MealUnit.PERSON_MEAL, origin=Origin.OUTSIDE),
            MealStandard(Decimal("70.00"), MealUnit.PERSON_MEAL, origin=Origin.INSIDE),
        ),
        "claim_deadline_months": 1,
        "banned_dishes": frozenset({"鱼翅", "燕窝", "野生", "鲍鱼", "海参"}),
        "weekday_lunch_alcohol_ban": True,
    },
)


class County:
    @hookimpl
    def jiedai_standards_layers(self, jurisdiction: str, on: date) -> list[StandardsLayer]:
        del jurisdiction, on
        return [COUNTY]


def realistic(engine: Engine) -> Reception:
    """A reception of 8 guests with a meal, activities and a filed list."""
    letter = sample_letter(START, guests=8)
    plan = sample_plan(START, guests=8, companions=3)
    rid = engine.create_reception(
        letter, plan, handler=ACTORS["handler"], host_unit="县政府办公室", jurisdiction="341502"
    ).reception.id
    reception = engine.get(rid)
    total = sum((m.cost for m in plan.meals), Decimal(0))
    listing = ReceptionList(
        guests=letter.personnel,
        items=(ListItem(START, "调研座谈", "县农业农村局会议室", Decimal(0), "14:30"),),
        meals=plan.meals,
        invoices=(Invoice("0451207", START, "县机关食堂", total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total),),
        companions=(Person("王强", "局长"),),
        support_staff=(Person("张伟", "科员"),),
        signed_by="孙浩",
        signed_on=START + timedelta(days=1),
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )
    return attrs.evolve(reception, reception_list=listing)


def per_call(fn: Callable[[], object], n: int, repeats: int = 5) -> float:
    """Median seconds per call over ``repeats`` runs of ``n`` calls (gc off while timing)."""
    runs = []
    for _ in range(repeats):
        gc.disable()
        t0 = time.perf_counter_ns()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter_ns() - t0) / n / 1e9)
        gc.enable()
    return statistics.median(runs)


def command_cost(engine: Engine, n: int) -> float:
    """Median cost of one rule-free command (start then finish on approved receptions)."""
    ids = []
    for _ in range(n):
        rid = engine.create_reception(
            sample_letter(START), sample_plan(START), handler=ACTORS["handler"],
            host_unit="县政府办公室", jurisdiction="341502",
        ).reception.id  # fmt: skip
        engine.fire(rid, "submit", ACTORS["handler"])
        engine.fire(rid, "approve", ACTORS["approver"])
        ids.append(rid)
    handler = ACTORS["handler"]
    gc.disable()
    t0 = time.perf_counter_ns()
    for rid in ids:
        engine.fire(rid, "start", handler)
        engine.fire(rid, "finish", handler)
    elapsed = (time.perf_counter_ns() - t0) / (2 * n) / 1e9
    gc.enable()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    args = parser.parse_args()
    n = 300 if args.quick else 3000

    engine = make_engine(County())
    reception = realistic(engine)
    report = engine.check(reception, stages="all")
    rules = len(engine.rules.rules)
    findings = len(report.findings)

    command_cost(engine, 100)  # warm-up
    transition = statistics.median(command_cost(engine, n) for _ in range(3))
    check = per_call(lambda: engine.check(reception, stages="all"), n)

    def cold() -> None:
        engine._standards.clear()  # measure the fold itself, not the cache
        engine.standards_for("341502", START)

    resolve_cold = per_call(cold, n)
    resolve_warm = per_call(lambda: engine.standards_for("341502", START), n)

    print(f"rules registered: {rules}; stages: {', '.join(engine.rules.stages)}")
    print(f"findings on the realistic reception (all stages): {findings}")
    print(f"{'measure':<52}{'µs':>10}")
    for name, seconds in (
        ("engine command on a rule-free stage (start/finish)", transition),
        ("check one reception, full national pack + county", check),
        ("resolve standards, cold (fold every layer)", resolve_cold),
        ("resolve standards, warm (cached per jurisdiction+date)", resolve_warm),
    ):
        print(f"{name:<52}{seconds * 1e6:>10.1f}")
    print(f"RATIO rules/transition = {check / transition:.2f}")


if __name__ == "__main__":
    main()
