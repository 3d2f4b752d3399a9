"""Standards by host unit 单位标准, rank tiers, weekday rules on the working-day calendar, and the
scope of banned dishes (issue: domain fidelity, round 2)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import attrs
import pytest

from jiedai_flow import (
    Guest,
    Level,
    MealKind,
    MealStandard,
    Rank,
    StandardsLayer,
    ValidationError,
    hookimpl,
)
from jiedai_flow.builtin.national import NATIONAL_LAYERS
from jiedai_flow.domain.standards import DishScope, UnitKind, WeekdayMeaning, resolve
from jiedai_flow.domain.standards_toml import load_standards_text
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

COUNTY = "341502"
ON = date(2026, 3, 10)
AREA = StandardsLayer(
    "某县",
    Level.COUNTY,
    COUNTY,
    {"meal_standards": (MealStandard(Decimal(50)),), "unit_kinds": {"某大学": UnitKind.UNIVERSITY}},
    source="《某县办法》",
)
UNIVERSITIES = StandardsLayer(
    "本县高校",
    Level.UNIT,
    COUNTY,
    {"meal_standards": (MealStandard(Decimal(90)),)},
    unit_kinds=frozenset({UnitKind.UNIVERSITY}),
    source="《某县高校公务接待办法》",
    articles={"meal_standards": "第三条"},
)


def test_a_unit_layer_applies_by_kind_and_replaces_the_table_for_its_units_only() -> None:
    layers = (*NATIONAL_LAYERS, AREA, UNIVERSITIES)
    university = resolve(COUNTY, ON, layers, "某大学")
    office = resolve(COUNTY, ON, layers, "县政府办公室")
    assert university.unit_kind is UnitKind.UNIVERSITY
    assert [r.amount for r in university.meal_standards] == [Decimal(90)]
    assert [r.amount for r in office.meal_standards] == [Decimal(50)]
    assert university.layers[-1] == "本县高校"
    assert str(university.cite("meal_standards", None)) == "《某县高校公务接待办法》第三条"  # type: ignore[arg-type]
    assert str(office.cite("meal_standards", None)) == "《某县办法》"  # type: ignore[arg-type]


def test_a_unit_layer_by_name() -> None:
    mine = attrs.evolve(UNIVERSITIES, unit_kinds=frozenset(), host_units=frozenset({"某中学"}))
    assert resolve(COUNTY, ON, (AREA, mine), "某中学").layers == ("某县", "本县高校")
    assert resolve(COUNTY, ON, (AREA, mine), "某大学").layers == ("某县",)


def test_the_engine_asks_for_layers_with_the_host_unit_and_caches_per_unit() -> None:
    asked: list[str] = []

    class Layers:
        @hookimpl
        def jiedai_standards_layers(self, host_unit: str) -> tuple[StandardsLayer, ...]:
            asked.append(host_unit)
            return (AREA, UNIVERSITIES)

    engine = make_engine(Layers())
    created = engine.create_reception(
        sample_letter(ON), sample_plan(ON), handler=ACTORS["handler"], host_unit="某大学", jurisdiction=COUNTY
    )
    assert engine.standards_of(created.reception).unit_kind is UnitKind.UNIVERSITY
    engine.standards_of(created.reception)
    assert asked.count("某大学") == 1


TIERS = (
    MealStandard(Decimal(60)),
    MealStandard(Decimal(100), rank_at_least=Rank.COUNTY),
    MealStandard(Decimal(120), rank_at_least=Rank.BUREAU),
    MealStandard(Decimal(200), rank=Rank.PROVINCIAL),  # exactly 省部级
)


@pytest.mark.parametrize(
    ("ranks", "amount"),
    [
        ((Rank.TOWNSHIP,), 60),
        ((Rank.COUNTY, Rank.TOWNSHIP), 100),
        ((Rank.BUREAU,), 120),
        ((Rank.PROVINCIAL, Rank.COUNTY), 200),
    ],
)
def test_rank_tiers_at_least_and_exactly(ranks: tuple[Rank, ...], amount: int) -> None:
    standards = resolve(COUNTY, ON, (attrs.evolve(AREA, changes={"meal_standards": TIERS}),))
    letter = attrs.evolve(
        sample_letter(ON), personnel=tuple(Guest(f"来宾{i}", "市局", "", r) for i, r in enumerate(ranks))
    )
    meal = sample_plan(ON).meals[0]
    row = standards.meal_standard(
        meal, letter, COUNTY, attrs.evolve(letter).kind and __import__("jiedai_flow").ReceptionType.DOMESTIC
    )
    assert row is not None
    assert row.amount == Decimal(amount)


def test_a_toml_unit_layer_needs_its_units_and_reads_tiers() -> None:
    with pytest.raises(ValidationError, match="host_units"):
        load_standards_text('name = "u"\nlevel = "单位"\njurisdiction = "341502"\n')
    layer = load_standards_text(
        'name = "u"\nlevel = "unit"\njurisdiction = "341502"\nunit_kinds = ["高校"]\nsource = "《办法》"\n'
        '[articles]\nmeal_standards = "第五条"\n'
        '[[standards.meal_standards]]\namount = "120.00"\nrank_at_least = "厅局级"\n'
    )
    assert layer.level is Level.UNIT
    assert layer.unit_kinds == {UnitKind.UNIVERSITY}
    assert layer.changes["meal_standards"][0].rank_at_least is Rank.BUREAU
    assert layer.articles == {"meal_standards": "第五条"}


# -- weekday rules and the calendar ------------------------------------------------------------------


def _lunch_alcohol(on: date, weekdays: WeekdayMeaning) -> list[str]:
    layer = StandardsLayer(
        "某县",
        Level.COUNTY,
        COUNTY,
        {"weekday_lunch_alcohol_ban": True, "weekdays": weekdays},
        source="《某县》",
    )

    class Layers:
        @hookimpl
        def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
            return (layer,)

    engine = make_engine(Layers())
    start = date(2024, 10, 1) if on.year == 2024 else on
    plan = sample_plan(start)
    lunch = attrs.evolve(plan.meals[0], on=on, kind=MealKind.LUNCH, alcohol=True)
    letter = sample_letter(start)
    created = engine.create_reception(
        letter,
        attrs.evolve(plan, meals=(lunch,)),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction=COUNTY,
    )
    found = engine.check(created.reception, ["submit"]).findings
    return [f.message_zh for f in found if f.rule_id == "M-05" and "工作日午餐" in f.message_zh]


def test_statutory_weekdays_follow_the_calendar() -> None:
    """2024 (rule pack 2013: alcohol otherwise allowed). 10-01 is a Tuesday holiday; 10-12 a 调休
    Saturday worked."""
    holiday, makeup = date(2024, 10, 1), date(2024, 10, 12)
    assert _lunch_alcohol(holiday, WeekdayMeaning.MONDAY_TO_FRIDAY)
    assert not _lunch_alcohol(holiday, WeekdayMeaning.STATUTORY)
    assert not _lunch_alcohol(makeup, WeekdayMeaning.MONDAY_TO_FRIDAY)
    assert _lunch_alcohol(makeup, WeekdayMeaning.STATUTORY)


# -- the scope of banned dishes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "blocked"), [(DishScope.ALL_MEALS, True), (DishScope.HOST_PAID_WORKING_MEALS, False)]
)
def test_a_banned_dish_at_a_meal_the_guests_pay_for(scope: DishScope, blocked: bool) -> None:
    layer = StandardsLayer(
        "某县",
        Level.COUNTY,
        COUNTY,
        {"banned_dishes": frozenset({"甲鱼"}), "banned_dishes_scope": scope},
        source="《某县》",
    )

    class Layers:
        @hookimpl
        def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
            return (layer,)

    engine = make_engine(Layers())
    plan = sample_plan(ON)
    own = attrs.evolve(
        plan.meals[0], working_meal=False, charged_to_guests=plan.meals[0].cost, dishes=("清蒸甲鱼",)
    )
    created = engine.create_reception(
        sample_letter(ON),
        attrs.evolve(plan, meals=(own,)),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction=COUNTY,
    )
    found = [f for f in engine.check(created.reception, ["submit"]).findings if f.rule_id == "M-04"]
    assert bool(found) is blocked


def test_a_local_rule_reuses_a_national_check_through_the_rulekit() -> None:
    """A county rule judges a second table with the national M-03 check, without importing internals."""
    from jiedai_flow import RuleContext
    from jiedai_flow.process import rulekit

    engine = make_engine()
    created = engine.create_reception(
        sample_letter(ON),
        sample_plan(ON),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction=COUNTY,
    )
    standards = attrs.evolve(
        engine.standards_of(created.reception), meal_standards=(MealStandard(Decimal(10)),)
    )
    ctx = RuleContext(created.reception, standards, "submit", None, engine.clock.now())
    (over,) = rulekit.check_meal_standard(ctx)
    assert over.rule_id == "M-03"
    assert set(rulekit.__all__) <= set(dir(rulekit))


def test_two_layers_of_one_rank_that_disagree_are_refused_not_guessed() -> None:
    """Two county layers of one date (a plugin's and a file's) that set one field differently:
    which holds would depend on the order plugins answer in — a ValidationError naming both and
    the field. Agreeing on it, or setting different fields, they fold as one."""
    other = attrs.evolve(AREA, name="某县（文件）", changes={"meal_standards": (MealStandard(Decimal(60)),)})
    with pytest.raises(ValidationError) as caught:
        resolve(COUNTY, ON, (*NATIONAL_LAYERS, AREA, other))
    [problem] = caught.value.problems
    assert problem.path == "$.standards.meal_standards"
    assert "「某县」与「某县（文件）」同级、同辖区（341502）、同日" in problem.message_zh
    same = attrs.evolve(other, changes={"meal_standards": AREA.changes["meal_standards"]})
    assert resolve(COUNTY, ON, (*NATIONAL_LAYERS, AREA, same)).meal_standards[0].amount == Decimal(50)
    apart = attrs.evolve(other, changes={"claim_deadline_days": 30})
    folded = resolve(COUNTY, ON, (*NATIONAL_LAYERS, AREA, apart))
    assert (folded.meal_standards[0].amount, folded.claim_deadline_days) == (Decimal(50), 30)
    later = attrs.evolve(other, effective_from=date(2026, 2, 1))
    assert resolve(COUNTY, ON, (*NATIONAL_LAYERS, AREA, later)).meal_standards[0].amount == Decimal(60)


def test_on_one_date_a_layer_for_named_units_comes_after_one_for_their_kind() -> None:
    """All 高校 and ××大学 itself, same date, different deadlines: not a tie — the layer naming the
    university is the more specific and holds for it; other universities keep the kind's."""
    kind = StandardsLayer(
        "本县高校",
        Level.UNIT,
        COUNTY,
        {"claim_deadline_days": 30},
        unit_kinds=frozenset({UnitKind.UNIVERSITY}),
    )
    named = StandardsLayer(
        "某大学", Level.UNIT, COUNTY, {"claim_deadline_days": 20}, host_units=frozenset({"某大学"})
    )
    both = (*NATIONAL_LAYERS, AREA, named, kind)
    assert resolve(COUNTY, ON, both, "某大学").claim_deadline_days == 20
