"""The national M rules (meals 用餐), run through the real engine with local standards layers."""

from __future__ import annotations

import functools
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jiedai_flow import (
    DocumentKind,
    Guest,
    Invoice,
    Level,
    Meal,
    MealFormat,
    MealKind,
    Payment,
    PaymentMethod,
    Rank,
    ReceptionList,
    ReceptionType,
    RuleViolationError,
    Severity,
    StandardsLayer,
    VenueType,
    hookimpl,
)
from jiedai_flow.domain.standards import CompanionPolicy, MealStandard, MealUnit, Origin
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from jiedai_flow import Engine, Finding, OfficialLetter, Reception

JURISDICTION = "341502"
START = date(2026, 3, 10)  # a Tuesday, under the 2025 rule pack
START_2013 = date(2024, 9, 10)  # a Tuesday, under the 2013 rule pack
HANDLER = ACTORS["handler"]


class LocalStandards:
    """A county plugin contributing one standards layer with ``changes``."""

    def __init__(self, **changes: Any) -> None:
        self.layer = StandardsLayer("测试县", Level.COUNTY, JURISDICTION, changes)

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


def engine_with(**changes: Any) -> Engine:
    return make_engine(LocalStandards(**changes))


def meal(guests: int = 4, companions: int = 2, cost: str | None = None, **fields: Any) -> Meal:
    """A working lunch at the canteen, 60 元 a head unless ``cost`` says otherwise."""
    values: dict[str, Any] = {
        "on": START,
        "kind": MealKind.LUNCH,
        "venue": "县机关食堂",
        "venue_type": VenueType.CANTEEN,
        "guests": guests,
        "companions": companions,
        "cost": Decimal(cost) if cost is not None else Decimal(60) * (guests + companions),
        "dishes": ("家常豆腐", "青菜", "米饭"),
    }
    values.update(fields)
    return Meal(**values)


def letter(
    ranks: tuple[Rank, ...] = (Rank.COUNTY,), sending_jurisdiction: str = "", start: date = START
) -> OfficialLetter:
    personnel = tuple(Guest(f"来宾{i + 1}", "市农业农村局", "调研员", r) for i, r in enumerate(ranks))
    base = sample_letter(start)
    return attrs.evolve(base, personnel=personnel, sending_jurisdiction=sending_jurisdiction)


def create(
    engine: Engine,
    *meals: Meal,
    the_letter: OfficialLetter | None = None,
    reception_type: ReceptionType = ReceptionType.DOMESTIC,
) -> Reception:
    if the_letter is None:  # as many guests in the letter as at the largest meal
        party = max((m.guests for m in meals), default=1)
        the_letter = letter((Rank.COUNTY,) * party, start=meals[0].on if meals else START)
    plan = attrs.evolve(sample_plan(the_letter.itinerary.start), meals=meals)
    return engine.create_reception(
        the_letter,
        plan,
        handler=HANDLER,
        host_unit="县政府办公室",
        jurisdiction=JURISDICTION,
        reception_type=reception_type,
    ).reception


def with_list(reception: Reception, *meals: Meal) -> Reception:
    total = sum((m.cost for m in meals), Decimal(0))
    listing = ReceptionList(
        guests=reception.letter.personnel,
        meals=meals,
        invoices=(Invoice("No.0001", reception.start, "县机关食堂", total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total, "公务卡尾号 1234"),),
        signed_by="王强",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )
    return attrs.evolve(reception, reception_list=listing)


def found(engine: Engine, reception: Reception, rule_id: str, stage: str = "submit") -> list[Finding]:
    """The findings of ``rule_id`` in a dry run of ``stage``."""
    return [f for f in engine.check(reception, stages=[stage]).findings if f.rule_id == rule_id]


def messages(findings: list[Finding]) -> list[str]:
    return [f.message_zh for f in findings]


# -- M-01 工作餐一次 -----------------------------------------------------------------------------


def test_m01_one_working_meal_passes_and_daily_meals_do_not_count() -> None:
    """M-01: one host-paid working meal is allowed; guests' own daily meals are not counted."""
    engine = engine_with()
    daily = meal(kind=MealKind.DINNER, working_meal=False)
    assert found(engine, create(engine, meal(), daily, daily), "M-01") == []


def test_m01_a_second_working_meal_is_refused() -> None:
    """M-01: two working meals in one reception are blocked, with both numbers."""
    engine = engine_with()
    [finding] = found(engine, create(engine, meal(), meal(kind=MealKind.DINNER)), "M-01")
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == "安排工作餐 2 次，超过上限 1 次"
    assert finding.path == "$.plan.meals"


def test_m01_a_local_cap_of_two_allows_two_and_refuses_three() -> None:
    """M-01: the cap comes from the standards (``working_meals_max``)."""
    engine = engine_with(working_meals_max=2)
    two = (meal(), meal(kind=MealKind.DINNER))
    assert found(engine, create(engine, *two), "M-01") == []
    three = create(engine, *two, meal(on=date(2026, 3, 11)))
    assert messages(found(engine, three, "M-01")) == ["安排工作餐 3 次，超过上限 2 次"]


# -- M-02 陪餐人数 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("guests", "allowed"),
    [(1, 3), (9, 3), (10, 3), (11, 3), (12, 4), (14, 4), (15, 5), (29, 9), (30, 10)],
)
def test_m02_companion_cap_is_three_up_to_ten_guests_then_a_third(guests: int, allowed: int) -> None:
    """M-02: ≤3 companions up to 10 guests (inclusive), ⌊guests/3⌋ above; one more is blocked."""
    engine = engine_with()
    assert found(engine, create(engine, meal(guests, allowed)), "M-02") == []
    [finding] = found(engine, create(engine, meal(guests, allowed + 1)), "M-02")
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == f"陪餐 {allowed + 1} 人，超过上限 {allowed} 人（接待对象 {guests} 人）"
    assert finding.message_en == f"{allowed + 1} companions exceed the cap of {allowed} ({guests} guests)"
    assert finding.path == "$.plan.meals[0].companions"
    assert str(finding.citation) == "《党政机关国内公务接待管理规定》第十条"


def test_m02_four_companions_for_ten_guests_are_refused_on_submit() -> None:
    """M-02: a real submit with 4 companions for 10 guests is refused and nothing changes."""
    engine = engine_with()
    rid = create(engine, meal(10, 4)).id
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "submit", HANDLER)
    assert "陪餐 4 人，超过上限 3 人（接待对象 10 人）" in messages(list(refused.value.findings))
    assert engine.get(rid).state == "draft"


BUSINESS = CompanionPolicy(one_for_one_up_to=5, divisor=2)


@pytest.mark.parametrize(("guests", "allowed"), [(2, 2), (5, 5), (6, 5), (7, 6), (9, 7), (10, 7), (12, 8)])
def test_m02_business_reception_uses_its_override(guests: int, allowed: int) -> None:
    """M-02: business receptions: one companion per guest up to 5, then one per 2 extra guests."""
    engine = engine_with(companions_by_type={ReceptionType.BUSINESS: BUSINESS})
    kind = ReceptionType.BUSINESS
    ok = create(engine, meal(guests, allowed), reception_type=kind)
    assert found(engine, ok, "M-02") == []
    [finding] = found(engine, create(engine, meal(guests, allowed + 1), reception_type=kind), "M-02")
    assert finding.message_zh == (
        f"陪餐 {allowed + 1} 人，超过上限 {allowed} 人（接待对象 {guests} 人，按商务/招商引资接待标准）"
    )


def test_m02_the_business_override_leaves_domestic_receptions_on_the_national_ratio() -> None:
    """M-02: an override for business receptions does not loosen the domestic cap."""
    engine = engine_with(companions_by_type={ReceptionType.BUSINESS: BUSINESS})
    assert messages(found(engine, create(engine, meal(5, 4)), "M-02")) == [
        "陪餐 4 人，超过上限 3 人（接待对象 5 人）"
    ]


def test_m02_checks_the_meals_on_the_list_at_the_claim() -> None:
    """M-02: at the claim the companions who really ate (the list's meals) are checked."""
    engine = engine_with()
    reception = create(engine, meal(4, 2))
    assert found(engine, with_list(reception, meal(4, 3)), "M-02", "claim") == []
    [finding] = found(engine, with_list(reception, meal(4, 2), meal(4, 5)), "M-02", "claim")
    assert finding.path == "$.reception_list.meals[1].companions"
    assert finding.message_zh == "陪餐 5 人，超过上限 3 人（接待对象 4 人）"


def test_m02_a_claim_without_a_list_is_left_to_f01() -> None:
    """M-02 says nothing when the claim has no list (F-01 refuses that)."""
    engine = engine_with()
    assert found(engine, create(engine, meal(4, 2)), "M-02", "claim") == []


# -- M-03 用餐标准 -------------------------------------------------------------------------------

FLAT_90 = (MealStandard(Decimal("90.00")),)


def test_m03_no_standard_means_no_check() -> None:
    """M-03: the national layer sets no amount (Art 13: localities do), so nothing is checked."""
    engine = engine_with()
    assert found(engine, create(engine, meal(4, 2, "6000.00")), "M-03") == []


@pytest.mark.parametrize("unit", [MealUnit.PERSON_MEAL, MealUnit.PERSON_TIME])
def test_m03_per_meal_cost_exactly_at_the_standard_passes(unit: MealUnit) -> None:
    """M-03: 540.00 元 for 6 diners at 90 元/人 is exactly at the standard: no finding."""
    engine = engine_with(meal_standards=(MealStandard(Decimal("90.00"), unit),))
    assert found(engine, create(engine, meal(4, 2, "540.00")), "M-03") == []


@pytest.mark.parametrize("unit", [MealUnit.PERSON_MEAL, MealUnit.PERSON_TIME])
def test_m03_one_fen_over_the_per_meal_standard_needs_an_explanation(unit: MealUnit) -> None:
    """M-03: 540.01 元 for 6 diners is over; shown rounded up so it never reads "90.00"."""
    engine = engine_with(meal_standards=(MealStandard(Decimal("90.00"), unit),))
    [finding] = found(engine, create(engine, meal(4, 2, "540.01")), "M-03")
    assert finding.severity is Severity.NEEDS_EXPLANATION
    assert finding.message_zh == (
        f"2026-03-10 午餐人均 90.01 元，超过标准 90.00 {unit.label}（统一标准）：540.01 元 ÷ 6 人，"
        "本餐上限 540.00 元"
    )
    assert finding.path == "$.plan.meals[0].cost"


def test_m03_message_names_the_tier_used() -> None:
    """M-03: the message names the per-person cost, the standard, its unit and its tier."""
    row = MealStandard(Decimal("90.00"), meal_kind=MealKind.LUNCH, rank=Rank.COUNTY, origin=Origin.OUTSIDE)
    engine = engine_with(meal_standards=(row,))
    the_letter = letter((Rank.COUNTY, Rank.TOWNSHIP), sending_jurisdiction="420100")
    [finding] = found(engine, create(engine, meal(4, 2, "573.00"), the_letter=the_letter), "M-03")
    assert "人均 95.50 元，超过标准 90.00 元/人·餐（县处级，辖区外，午餐）" in finding.message_zh
    assert "95.50 yuan per person exceeds the standard of 90.00 yuan per person-meal" in finding.message_en


RANKED = (
    MealStandard(Decimal("110.00"), rank=Rank.BUREAU),
    MealStandard(Decimal("60.00"), rank=Rank.COUNTY),
    MealStandard(Decimal("50.00"), rank=Rank.TOWNSHIP),
)


@pytest.mark.parametrize(
    "ranks",
    [
        (Rank.TOWNSHIP, Rank.COUNTY, Rank.BUREAU),
        (Rank.BUREAU, Rank.TOWNSHIP, Rank.COUNTY),
        (Rank.COUNTY, Rank.BUREAU),
    ],
)
def test_m03_the_highest_rank_in_the_party_sets_the_tier(ranks: tuple[Rank, ...]) -> None:
    """M-03: one 厅局级 guest puts the whole party on the 110 元 tier, wherever listed."""
    engine = engine_with(meal_standards=RANKED)
    at_110 = create(engine, meal(4, 2, "660.00"), the_letter=letter(ranks))
    assert found(engine, at_110, "M-03") == []
    over = create(engine, meal(4, 2, "660.01"), the_letter=letter(ranks))
    assert "超过标准 110.00 元/人·餐（厅局级/司局级）" in messages(found(engine, over, "M-03"))[0]


def test_m03_without_the_senior_guest_the_lower_tier_applies() -> None:
    """M-03: a party of 县处级 and 科级 guests is held to the 县处级 60 元 tier."""
    engine = engine_with(meal_standards=RANKED)
    the_letter = letter((Rank.TOWNSHIP, Rank.COUNTY))
    [finding] = found(engine, create(engine, meal(4, 2, "660.00"), the_letter=the_letter), "M-03")
    assert finding.message_zh.startswith("2026-03-10 午餐人均 110.00 元，超过标准 60.00 元/人·餐（县处级）")


HUBEI_COUNTY = (
    MealStandard(Decimal("90.00"), meal_kind=MealKind.LUNCH, origin=Origin.OUTSIDE),
    MealStandard(Decimal("70.00"), meal_kind=MealKind.LUNCH, origin=Origin.INSIDE),
    MealStandard(Decimal("50.00"), meal_kind=MealKind.BREAKFAST, origin=Origin.OUTSIDE),
    MealStandard(Decimal("40.00"), meal_kind=MealKind.BREAKFAST, origin=Origin.INSIDE),
)


@pytest.mark.parametrize(
    ("sending", "standard", "tier"),
    [
        ("420100", "90.00", "辖区外"),  # another province
        ("341502", "70.00", "辖区内"),  # the county itself
        ("341503", "90.00", "辖区外"),  # a neighbouring county
        ("", "70.00", "辖区内"),  # unknown origin: the stricter row
    ],
)
def test_m03_origin_inside_or_outside_picks_the_row(sending: str, standard: str, tier: str) -> None:
    """M-03: the sending unit's area code against the reception's jurisdiction picks the row."""
    engine = engine_with(meal_standards=HUBEI_COUNTY)
    the_letter = letter(sending_jurisdiction=sending)
    at = Decimal(standard) * 6
    assert found(engine, create(engine, meal(4, 2, str(at)), the_letter=the_letter), "M-03") == []
    over = create(engine, meal(4, 2, str(at + Decimal("0.01"))), the_letter=the_letter)
    [finding] = found(engine, over, "M-03")
    assert f"超过标准 {standard} 元/人·餐（{tier}，午餐）" in finding.message_zh


def test_m03_the_meal_kind_picks_the_row() -> None:
    """M-03: breakfast and lunch have their own rows."""
    engine = engine_with(meal_standards=HUBEI_COUNTY)
    the_letter = letter(sending_jurisdiction="420100")
    breakfast = meal(4, 2, "300.01", kind=MealKind.BREAKFAST)
    [finding] = found(engine, create(engine, breakfast, the_letter=the_letter), "M-03")
    assert "超过标准 50.00 元/人·餐（辖区外，早餐）" in finding.message_zh


PER_DAY = (MealStandard(Decimal("150.00"), MealUnit.PERSON_DAY),)


def test_m03_per_day_working_meals_exactly_at_the_standard_pass() -> None:
    """M-03 per person-day: 90 + 60 元 a head on one day is exactly 150: no finding."""
    engine = engine_with(meal_standards=PER_DAY, working_meals_max=2)
    day = create(engine, meal(4, 2, "540.00"), meal(2, 2, "240.00", kind=MealKind.DINNER))
    assert found(engine, day, "M-03") == []


def test_m03_per_day_sums_exact_fractions() -> None:
    """M-03 per person-day: 100/3 + 350/3 is exactly 150 — no rounding makes it pass or fail."""
    engine = engine_with(meal_standards=PER_DAY, working_meals_max=2)
    thirds = create(engine, meal(2, 1, "100.00"), meal(2, 1, "350.00", kind=MealKind.DINNER))
    assert found(engine, thirds, "M-03") == []
    over = create(engine, meal(2, 1, "100.00"), meal(2, 1, "350.01", kind=MealKind.DINNER))
    assert len(found(engine, over, "M-03")) == 1


def test_m03_per_day_one_fen_over_needs_an_explanation() -> None:
    """M-03 per person-day: one fen over the day's standard is over; the message adds the meals up."""
    engine = engine_with(meal_standards=PER_DAY, working_meals_max=2)
    dinner = meal(2, 2, "240.01", kind=MealKind.DINNER)
    [finding] = found(engine, create(engine, dinner, meal(4, 2, "540.00")), "M-03")
    assert finding.severity is Severity.NEEDS_EXPLANATION
    assert finding.message_zh == (
        "2026-03-10 工作餐人均合计 150.01 元（午餐 540.00 元 ÷ 6 人 + 晚餐 240.01 元 ÷ 4 人），"
        "超过标准 150.00 元/人·天（统一标准）"
    )
    assert finding.path == "$.plan.meals[0,1]"


def test_m03_per_day_counts_working_meals_of_the_same_day_only() -> None:
    """M-03 per person-day: guests' own meals and other days' meals are not added in."""
    engine = engine_with(meal_standards=PER_DAY, working_meals_max=2)
    reception = create(
        engine,
        meal(4, 2, "900.00"),  # 150 a head on the 10th
        meal(4, 2, "900.00", on=date(2026, 3, 11)),  # 150 a head on the 11th
        meal(4, 0, "400.00", kind=MealKind.DINNER, working_meal=False),  # guests' own dinner
    )
    assert found(engine, reception, "M-03") == []


def test_m03_over_the_standard_needs_an_explanation_to_submit() -> None:
    """M-03 (F-07): submitting an over-standard meal is refused without 情况说明, accepted with one."""
    engine = engine_with(meal_standards=FLAT_90)
    rid = create(engine, meal(4, 2, "573.00")).id
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "submit", HANDLER)
    assert [f.rule_id for f in refused.value.findings if f.severity is Severity.NEEDS_EXPLANATION] == ["M-03"]
    result = engine.fire(rid, "submit", HANDLER, explanations={"M-03": "省级检查组临时增加一道菜"})
    assert result.reception.state == "submitted"
    [explained] = result.reception.explanations
    assert (explained.rule_id, explained.path) == ("M-03", "$.plan.meals[0].cost")


def test_m03_checks_the_bill_on_the_list_at_the_claim() -> None:
    """M-03: at the claim the real bill on the list is held to the standard."""
    engine = engine_with(meal_standards=FLAT_90)
    reception = create(engine, meal(4, 2, "540.00"))
    assert found(engine, with_list(reception, meal(4, 2, "540.00")), "M-03", "claim") == []
    [finding] = found(engine, with_list(reception, meal(4, 2, "600.00")), "M-03", "claim")
    assert finding.path == "$.reception_list.meals[0].cost"
    assert "人均 100.00 元，超过标准 90.00 元/人·餐" in finding.message_zh


# -- M-04 禁止菜品 -------------------------------------------------------------------------------


def test_m04_home_style_dishes_pass() -> None:
    """M-04: 家常菜 pass."""
    engine = engine_with()
    assert found(engine, create(engine, meal()), "M-04") == []


def test_m04_banned_dishes_are_refused_each() -> None:
    """M-04: 鱼翅 and 燕窝 dishes are blocked, one finding per dish."""
    engine = engine_with()
    dishes = ("青菜", "红烧鱼翅", "冰糖燕窝")
    findings = found(engine, create(engine, meal(dishes=dishes)), "M-04")
    assert [(f.path, f.message_zh) for f in findings] == [
        ("$.plan.meals[0].dishes[1]", "菜品「红烧鱼翅」含禁止菜肴：鱼翅"),
        ("$.plan.meals[0].dishes[2]", "菜品「冰糖燕窝」含禁止菜肴：燕窝"),
    ]


def test_m04_local_additions_to_the_banned_list() -> None:
    """M-04: a province may add 鲍鱼、海参 (Hunan)."""
    engine = engine_with(banned_dishes=frozenset({"鱼翅", "燕窝", "野生", "鲍鱼", "海参"}))
    assert messages(found(engine, create(engine, meal(dishes=("葱烧海参",))), "M-04")) == [
        "菜品「葱烧海参」含禁止菜肴：海参"
    ]


def test_m04_the_banned_list_skips_phrases_that_do_not_mean_the_word() -> None:
    """M-04: 野生 on the list refuses 野生甲鱼 but not a 野生菌 soup (lexicon ``not_meant``)."""
    engine = engine_with(banned_dishes=frozenset({"鱼翅", "燕窝", "野生"}))
    assert found(engine, create(engine, meal(dishes=("野生菌汤",))), "M-04") == []
    assert messages(found(engine, create(engine, meal(dishes=("清蒸野生甲鱼",))), "M-04")) == [
        "菜品「清蒸野生甲鱼」含禁止菜肴：野生"
    ]


@pytest.mark.parametrize("fmt", [MealFormat.BUFFET, MealFormat.SET])
def test_m04_buffets_and_set_meals_are_capped_at_max_dishes(fmt: MealFormat) -> None:
    """M-04: with ``max_dishes`` = 4, a buffet or 份饭 of 4 dishes passes and 5 is blocked."""
    engine = engine_with(max_dishes=4)
    four = tuple(f"菜{i}" for i in range(4))
    assert found(engine, create(engine, meal(format=fmt, dishes=four)), "M-04") == []
    [finding] = found(engine, create(engine, meal(format=fmt, dishes=(*four, "菜5"))), "M-04")
    assert finding.message_zh == f"{fmt.label}菜品 5 道，超过上限 4 道"
    assert finding.path == "$.plan.meals[0].dishes"


def test_m04_max_dishes_leaves_table_meals_alone() -> None:
    """M-04: the dish cap is for buffets and 份饭 (Zhoukou), not table meals."""
    engine = engine_with(max_dishes=4)
    five = tuple(f"菜{i}" for i in range(5))
    assert found(engine, create(engine, meal(dishes=five)), "M-04") == []


def test_m04_checks_the_dishes_on_the_list_at_the_claim() -> None:
    """M-04: a banned dish that was really served is caught at the claim."""
    engine = engine_with()
    reception = with_list(create(engine, meal()), meal(dishes=("鱼翅羹",)))
    [finding] = found(engine, reception, "M-04", "claim")
    assert finding.path == "$.reception_list.meals[0].dishes[0]"


# -- M-05 烟酒 -----------------------------------------------------------------------------------


def test_m05_no_alcohol_and_no_cigarettes_pass() -> None:
    """M-05: a dry, smoke-free working meal passes."""
    engine = engine_with()
    assert found(engine, create(engine, meal()), "M-05") == []


def test_m05_cigarettes_are_refused() -> None:
    """M-05: cigarettes are blocked under any rule pack."""
    engine = engine_with()
    [finding] = found(engine, create(engine, meal(cigarettes=True)), "M-05")
    assert (finding.message_zh, finding.path) == ("工作餐不得提供香烟", "$.plan.meals[0].cigarettes")


def test_m05_the_2025_pack_bans_any_alcohol_at_working_meals() -> None:
    """M-05 (2025): 工作餐不上酒; the guests' own meals are not working meals."""
    engine = engine_with()
    [finding] = found(engine, create(engine, meal(alcohol=True)), "M-05")
    assert finding.message_zh == "工作餐不上酒（2025年修订条例）"
    own = meal(alcohol=True, working_meal=False)
    assert found(engine, create(engine, own), "M-05") == []


def test_m05_the_2013_pack_bans_premium_alcohol_only() -> None:
    """M-05 (2013): plain alcohol passes, 高档酒水 is blocked."""
    engine = engine_with()
    the_letter = letter(start=START_2013)
    plain = create(engine, meal(alcohol=True, on=START_2013), the_letter=the_letter)
    assert plain.rule_pack == "national-2013"
    assert found(engine, plain, "M-05") == []
    premium = create(engine, meal(alcohol=True, premium_alcohol=True, on=START_2013), the_letter=the_letter)
    assert messages(found(engine, premium, "M-05")) == ["工作餐不得提供高档酒水"]


def test_m05_a_local_weekday_lunch_ban_under_the_2013_pack() -> None:
    """M-05: 工作日中餐不上酒 (Hunan); a Saturday lunch or a weekday dinner passes."""
    engine = engine_with(weekday_lunch_alcohol_ban=True)
    the_letter = letter(start=START_2013)
    tuesday = create(engine, meal(alcohol=True, on=START_2013), the_letter=the_letter)
    assert messages(found(engine, tuesday, "M-05")) == ["工作日午餐不得饮酒（2024-09-10）"]
    saturday = create(engine, meal(alcohol=True, on=date(2024, 9, 14)), the_letter=the_letter)
    assert found(engine, saturday, "M-05") == []
    dinner = create(engine, meal(alcohol=True, kind=MealKind.DINNER, on=START_2013), the_letter=the_letter)
    assert found(engine, dinner, "M-05") == []


def test_m05_a_local_exemption_for_business_receptions() -> None:
    """M-05: Anhui exempts 招商引资 receptions from the alcohol ban; cigarettes stay banned."""
    engine = engine_with(alcohol_exempt_types=frozenset({ReceptionType.BUSINESS}))
    kind = ReceptionType.BUSINESS
    assert found(engine, create(engine, meal(alcohol=True), reception_type=kind), "M-05") == []
    smoky = create(engine, meal(alcohol=True, cigarettes=True), reception_type=kind)
    assert messages(found(engine, smoky, "M-05")) == ["工作餐不得提供香烟"]


def test_m05_checks_the_meals_on_the_list_at_the_claim() -> None:
    """M-05: alcohol that was really served is caught at the claim."""
    engine = engine_with()
    reception = with_list(create(engine, meal()), meal(alcohol=True))
    [finding] = found(engine, reception, "M-05", "claim")
    assert finding.path == "$.reception_list.meals[0].alcohol"


# -- M-06 场所 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("venue_type", [VenueType.PRIVATE_CLUB, VenueType.HIGH_END])
def test_m06_private_clubs_and_high_spend_venues_are_refused(venue_type: VenueType) -> None:
    """M-06: no 私人会所 or 高消费场所."""
    engine = engine_with()
    [finding] = found(engine, create(engine, meal(venue="云顶会所", venue_type=venue_type)), "M-06")
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == f"不得在{venue_type.label}用餐：云顶会所"
    assert finding.path == "$.plan.meals[0].venue_type"


def test_m06_restaurants_pass_where_no_venues_are_designated() -> None:
    """M-06: without a designated list any ordinary restaurant passes."""
    engine = engine_with()
    restaurant = meal(venue="城关饭店", venue_type=VenueType.RESTAURANT)
    assert found(engine, create(engine, restaurant), "M-06") == []


@pytest.mark.parametrize(
    ("venue", "venue_type", "ok"),
    [
        ("县宾馆", VenueType.DESIGNATED, True),
        ("县机关食堂", VenueType.CANTEEN, True),
        ("城关镇公务灶", VenueType.TOWNSHIP_CANTEEN, True),
        ("城关饭店", VenueType.RESTAURANT, False),
        ("城关饭店", VenueType.DESIGNATED, False),  # called designated, but not on the list
    ],
)
def test_m06_designated_venues_or_a_canteen_only(venue: str, venue_type: VenueType, ok: bool) -> None:
    """M-06: where the county lists 定点 venues, only those or a canteen."""
    engine = engine_with(designated_venues=frozenset({"县宾馆", "县政府招待所"}))
    findings = found(engine, create(engine, meal(venue=venue, venue_type=venue_type)), "M-06")
    if ok:
        assert findings == []
    else:
        [finding] = findings
        assert finding.message_zh == f"「{venue}」不是定点接待场所（定点：县宾馆、县政府招待所；或机关食堂）"
        assert finding.path == "$.plan.meals[0].venue"


# -- M-07 自行用餐收费 ---------------------------------------------------------------------------

DAILY_50 = (MealStandard(Decimal("50.00")),)


def own_dinner(guests: int = 4, charged: str = "0.00", **fields: Any) -> Meal:
    """The guests' own dinner 自行用餐, arranged by the host, 40 元 a head."""
    values: dict[str, Any] = {
        "kind": MealKind.DINNER,
        "working_meal": False,
        "companions": 0,
        "cost": Decimal(40) * guests,
        "charged_to_guests": Decimal(charged),
    }
    values.update(fields)
    return meal(guests, **values)


def test_m07_guests_charged_the_standard_pass() -> None:
    """M-07: 4 guests × 50 元 = 200.00 collected: no finding."""
    engine = engine_with(meal_standards=DAILY_50)
    assert found(engine, create(engine, own_dinner(charged="200.00")), "M-07") == []


def test_m07_one_fen_short_is_a_warning() -> None:
    """M-07: 199.99 collected for 4 guests at 50 元 is a warning with the numbers."""
    engine = engine_with(meal_standards=DAILY_50)
    [finding] = found(engine, create(engine, own_dinner(charged="199.99")), "M-07")
    assert finding.severity is Severity.WARNING
    assert (
        finding.message_zh
        == "晚餐为接待对象自行用餐，应收伙食费不少于 200.00 元（50.00 元/人·餐 × 4 人），实收 199.99 元"
    )
    assert finding.path == "$.plan.meals[0].charged_to_guests"


def test_m07_working_meals_and_meals_without_a_standard_are_not_charged() -> None:
    """M-07: the host's working meal is not charged; without a standard there is nothing to charge."""
    engine = engine_with(meal_standards=DAILY_50)
    assert found(engine, create(engine, meal()), "M-07") == []
    bare = engine_with()
    assert found(bare, create(bare, own_dinner()), "M-07") == []


def test_m07_a_per_day_standard_is_owed_once_per_day() -> None:
    """M-07 per person-day: the day's own meals together collect standard × guests."""
    engine = engine_with(meal_standards=PER_DAY)
    breakfast = own_dinner(kind=MealKind.BREAKFAST, charged="200.00")
    enough = create(engine, breakfast, own_dinner(charged="400.00"))
    assert found(engine, enough, "M-07") == []
    short = create(engine, breakfast, own_dinner(charged="399.99"))
    [finding] = found(engine, short, "M-07")
    assert finding.message_zh == (
        "2026-03-10 接待对象自行用餐，应收伙食费不少于 600.00 元（150.00 元/人·天 × 4 人），实收 599.99 元"
    )


# -- M-08 桌餐/自助 ------------------------------------------------------------------------------


def test_m08_is_off_unless_a_threshold_is_set() -> None:
    """M-08: nationally buffets are only encouraged: no threshold, no finding."""
    engine = engine_with()
    assert found(engine, create(engine, meal(30, 10)), "M-08") == []


@pytest.mark.parametrize(
    ("guests", "companions", "fmt", "warned"),
    [
        (23, 7, MealFormat.TABLE, False),  # 30 diners: at the threshold
        (24, 7, MealFormat.TABLE, True),  # 31 diners
        (24, 7, MealFormat.BUFFET, False),
        (24, 7, MealFormat.SET, False),
    ],
)
def test_m08_above_the_threshold_serve_a_buffet(
    guests: int, companions: int, fmt: MealFormat, warned: bool
) -> None:
    """M-08: over 30 diners (Jiayu) a table meal draws a warning."""
    engine = engine_with(buffet_above=30)
    findings = found(engine, create(engine, meal(guests, companions, format=fmt)), "M-08")
    if warned:
        [finding] = findings
        assert finding.severity is Severity.WARNING
        assert finding.message_zh == "就餐 31 人，超过 30 人宜安排自助餐，不宜桌餐"
    else:
        assert findings == []


# -- order does not matter -----------------------------------------------------------------------

EVERYTHING = {
    "meal_standards": (
        *RANKED,
        MealStandard(Decimal("150.00"), MealUnit.PERSON_DAY, venue_types=frozenset({VenueType.DESIGNATED})),
    ),
    "working_meals_max": 2,
    "max_dishes": 2,
    "buffet_above": 12,
    "designated_venues": frozenset({"县宾馆"}),
    "weekday_lunch_alcohol_ban": True,
}


@functools.cache
def order_engine() -> tuple[Engine, Reception]:
    engine = engine_with(**EVERYTHING)
    return engine, create(engine, meal())


meals_strategy = st.builds(
    meal,
    guests=st.integers(1, 14),
    companions=st.integers(0, 6),
    cost=st.integers(0, 2000).map(lambda n: f"{n}.{n % 100:02d}"),
    on=st.sampled_from([START, date(2026, 3, 11)]),
    kind=st.sampled_from(list(MealKind)),
    venue=st.sampled_from(["县机关食堂", "县宾馆", "城关饭店"]),
    venue_type=st.sampled_from([VenueType.CANTEEN, VenueType.DESIGNATED, VenueType.RESTAURANT]),
    working_meal=st.booleans(),
    alcohol=st.booleans(),
    dishes=st.lists(st.sampled_from(["青菜", "豆腐", "鱼翅羹"]), max_size=3).map(tuple),
    format=st.sampled_from(list(MealFormat)),
    charged_to_guests=st.sampled_from([Decimal(0), Decimal(200)]),
)


def outcome(engine: Engine, reception: Reception) -> set[tuple[str, str, str, str]]:
    report = engine.check(reception, stages=["submit", "claim"])
    return {(f.stage, f.rule_id, f.message_zh, f.message_en) for f in report.findings if f.rule_id[0] == "M"}


@settings(max_examples=60, deadline=None)
@given(
    meals=st.lists(meals_strategy, min_size=1, max_size=5),
    ranks=st.lists(st.sampled_from(list(Rank)), min_size=1, max_size=4),
    data=st.data(),
)
def test_findings_do_not_depend_on_the_order_of_meals_or_guests(
    meals: list[Meal], ranks: list[Rank], data: st.DataObject
) -> None:
    """M rules: permuting the plan's meals, the list's meals and the guests changes only paths."""
    engine, base = order_engine()

    def build(meal_order: list[Meal], rank_order: list[Rank]) -> Reception:
        the_letter = letter(tuple(rank_order))
        plan = attrs.evolve(base.plan, meals=tuple(meal_order))
        return with_list(attrs.evolve(base, letter=the_letter, plan=plan), *meal_order)

    shuffled_meals = data.draw(st.permutations(meals))
    shuffled_ranks = data.draw(st.permutations(ranks))
    assert outcome(engine, build(meals, ranks)) == outcome(engine, build(shuffled_meals, shuffled_ranks))
