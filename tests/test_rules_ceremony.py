"""The national C rules (ceremony 迎送礼仪, accompanying staff 陪同, gifts and extras 禁止项目), run
through the real engine with local standards layers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import pytest

from jiedai_flow import (
    Activity,
    ActivityKind,
    Ceremony,
    Gift,
    GiftKind,
    Level,
    Person,
    ReceptionType,
    RuleViolationError,
    Severity,
    StandardsLayer,
    hookimpl,
)
from jiedai_flow.testing import ACTORS, make_engine, register_sample, sample_plan

if TYPE_CHECKING:
    from jiedai_flow import Engine, Finding, Plan, Reception

JURISDICTION = "341502"
START = date(2026, 3, 10)
HANDLER = ACTORS["handler"]
APPROVER = ACTORS["approver"]


class LocalStandards:
    """A county plugin contributing one standards layer with ``changes``."""

    def __init__(self, **changes: Any) -> None:
        self.layer = StandardsLayer("测试县", Level.COUNTY, JURISDICTION, changes)

    @hookimpl
    def jiedai_standards_layers(self) -> tuple[StandardsLayer, ...]:
        return (self.layer,)


def engine_with(**changes: Any) -> Engine:
    return make_engine(LocalStandards(**changes))


def staff(n: int) -> tuple[Person, ...]:
    return tuple(Person(f"陪同{i + 1}", "县农业农村局干部") for i in range(n))


def create(engine: Engine, reception_type: ReceptionType = ReceptionType.DOMESTIC, **plan: Any) -> Reception:
    """A reception of the sample letter; ``plan`` replaces fields of the sample plan."""
    the_plan: Plan = attrs.evolve(sample_plan(START), **plan)
    return register_sample(
        engine,
        start=START,
        plan=the_plan,
        handler=HANDLER,
        jurisdiction=JURISDICTION,
        reception_type=reception_type,
    )


def found(engine: Engine, reception: Reception, rule_id: str, stage: str = "submit") -> list[Finding]:
    """The findings of ``rule_id`` in a dry run of ``stage``."""
    return [f for f in engine.check(reception, stages=[stage]).findings if f.rule_id == rule_id]


# -- C-01 / C-02 迎送礼仪 --------------------------------------------------------------------------


def test_c01_plan_without_ceremony_passes() -> None:
    """C-01: the sample plan has no welcome ceremony."""
    engine = engine_with()
    assert found(engine, create(engine), "C-01") == []


def test_c01_banners_and_flowers_are_blocked_with_their_sources() -> None:
    """C-01: banners break Art 8; flowers break the 八项规定 细则; each is its own finding."""
    engine = engine_with()
    reception = create(engine, ceremony=Ceremony(banners=True, flowers=True))
    banners, flowers = found(engine, reception, "C-01")
    assert (banners.path, banners.message_zh) == ("$.plan.ceremony.banners", "不得张贴悬挂标语横幅")
    assert banners.message_en == "no banners or slogans"
    assert str(banners.citation) == "《党政机关国内公务接待管理规定》第八条"
    assert (flowers.path, str(flowers.citation)) == ("$.plan.ceremony.flowers", "中央八项规定及其实施细则")


def test_c02_main_leader_at_the_welcome_is_blocked_under_c02() -> None:
    """C-02: the main leader may not take part in a welcome or see-off."""
    engine = engine_with()
    reception = create(engine, ceremony=Ceremony(main_leader_welcome=True))
    assert found(engine, reception, "C-01") == []
    [finding] = found(engine, reception, "C-02")
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == "地区、部门主要负责人不得参加迎送"
    assert finding.path == "$.plan.ceremony.main_leader_welcome"


# -- C-03 陪同人数 ---------------------------------------------------------------------------------


def test_c03_without_a_local_limit_any_number_of_staff_passes() -> None:
    """C-03: the 2013 rules name no number, so with ``accompanying_max`` unset nothing is checked."""
    engine = engine_with()
    assert found(engine, create(engine, companions=staff(12)), "C-03") == []


@pytest.mark.parametrize("stage", ["submit", "approve", "amend", "start_urgent"])
def test_c03_exactly_the_limit_passes_at_every_plan_stage(stage: str) -> None:
    """C-03: as many accompanying staff as the limit is allowed (boundary)."""
    engine = engine_with(accompanying_max=2)
    assert found(engine, create(engine, companions=staff(2)), "C-03", stage) == []


def test_c03_one_over_the_limit_is_blocked_naming_both_numbers() -> None:
    """C-03: one more than ``accompanying_max`` is blocked, naming the count, the staff and the limit."""
    engine = engine_with(accompanying_max=2)
    [finding] = found(engine, create(engine, companions=staff(3)), "C-03")
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == "陪同人员 3 人（陪同1、陪同2、陪同3），超过上限 2 人，不得层层多人陪同"
    assert finding.message_en == "3 accompanying staff exceed the limit of 2"
    assert finding.path == "$.plan.companions"
    assert str(finding.citation) == "《党政机关国内公务接待管理规定》第八条"


def test_c03_a_limit_of_one_as_for_city_and_county_visits() -> None:
    """C-03: 市/县 levels 「只安排1位负责同志陪同」: one passes, two are refused."""
    engine = engine_with(accompanying_max=1)
    assert found(engine, create(engine, companions=staff(1)), "C-03") == []
    assert len(found(engine, create(engine, companions=staff(2)), "C-03")) == 1


def test_c03_refuses_the_real_submit_and_changes_nothing() -> None:
    """C-03: a submit with too many accompanying staff is refused by fire; the draft stays."""
    engine = engine_with(accompanying_max=1)
    reception = create(engine, companions=staff(3))
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(reception.id, "submit", HANDLER)
    assert [f.rule_id for f in refused.value.findings if f.blocks] == ["C-03"]
    assert engine.get(reception.id) == reception


# -- C-04 禁止项目 ---------------------------------------------------------------------------------

SOUVENIR = Gift("县博物馆文创书签", GiftKind.SOUVENIR, Decimal("30.00"))
SPECIALTY = Gift("六安瓜片 一盒", GiftKind.SPECIALTY, Decimal("80.00"))
CASH = Gift("购物卡", GiftKind.CASH, Decimal("500.00"))
SECURITIES = Gift("消费券", GiftKind.SECURITIES, Decimal("200.00"))
OTHER = Gift("电子产品", GiftKind.OTHER, Decimal("300.00"))


def test_c04_any_gift_in_a_domestic_reception_is_blocked_with_its_value() -> None:
    """C-04: Art 15 bans every gift — 礼金、有价证券、纪念品、土特产品 — naming kind and value."""
    engine = engine_with()
    reception = create(engine, gifts=(SOUVENIR, CASH))
    souvenir, cash = found(engine, reception, "C-04")
    assert souvenir.severity is cash.severity is Severity.BLOCKING
    assert souvenir.message_zh == "不得赠送纪念品：县博物馆文创书签（30.00 元）"
    assert cash.message_zh == "不得赠送礼金：购物卡（500.00 元）"
    assert cash.message_en == "no gifts of any kind: 购物卡 (cash, 500.00 yuan)"
    assert (souvenir.path, cash.path) == ("$.plan.gifts[0]", "$.plan.gifts[1]")
    assert str(cash.citation) == "《党政机关国内公务接待管理规定》第十五条"


def test_c04_a_type_allowed_gifts_may_give_souvenirs_and_specialties_noted_for_the_record() -> None:
    """C-04: where the standards allow gifts for 商务接待, souvenirs and specialties pass as notes."""
    engine = engine_with(gifts_allowed_types=frozenset({ReceptionType.BUSINESS}))
    reception = create(engine, ReceptionType.BUSINESS, gifts=(SOUVENIR, SPECIALTY))
    findings = found(engine, reception, "C-04")
    assert [f.severity for f in findings] == [Severity.INFO, Severity.INFO]
    assert findings[1].message_zh == "商务/招商引资接待按本地标准可赠送土特产品：六安瓜片 一盒（80.00 元）"
    assert str(findings[1].citation) == "本地标准"


@pytest.mark.parametrize("gift", [CASH, SECURITIES, OTHER], ids=lambda g: g.kind.value)
def test_c04_a_type_allowed_gifts_may_still_never_give_cash_or_securities(gift: Gift) -> None:
    """C-04: the local allowance covers only 纪念品 and 土特产品: cash, securities, anything else blocks."""
    engine = engine_with(gifts_allowed_types=frozenset({ReceptionType.BUSINESS}))
    reception = create(engine, ReceptionType.BUSINESS, gifts=(gift,))
    [finding] = found(engine, reception, "C-04")
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == (
        f"商务/招商引资接待只可赠送纪念品、土特产品，不得赠送{gift.kind.label}：{gift.description}"
        f"（{gift.value} 元）"
    )
    assert finding.path == "$.plan.gifts[0].kind"


def test_c04_the_allowance_does_not_reach_other_reception_types() -> None:
    """C-04: allowing gifts for business receptions leaves domestic ones under the full ban."""
    engine = engine_with(gifts_allowed_types=frozenset({ReceptionType.BUSINESS}))
    [finding] = found(engine, create(engine, gifts=(SOUVENIR,)), "C-04")
    assert finding.message_zh == "不得赠送纪念品：县博物馆文创书签（30.00 元）"


@pytest.mark.parametrize(
    "kind",
    [ActivityKind.SIGHTSEEING, ActivityKind.ENTERTAINMENT, ActivityKind.FITNESS, ActivityKind.PERFORMANCE],
)
def test_c04_banned_activities_are_blocked_and_official_ones_pass(kind: ActivityKind) -> None:
    """C-04: tourism, entertainment, fitness and special shows are blocked; official visits pass."""
    engine = engine_with()
    visit = Activity(START, "县农业园区", "高标准农田调研", ActivityKind.VISIT)
    banned = Activity(START, "县景区", "参观游览", kind)
    [finding] = found(engine, create(engine, activities=(visit, banned)), "C-04")
    assert finding.path == "$.plan.activities[1].kind"
    assert finding.message_zh == f"不得安排{kind.label}活动：参观游览"


def test_c04_is_checked_again_at_approval() -> None:
    """C-04 runs at approval too: a submitted plan carrying a gift would not be approved."""
    engine = engine_with()
    reception = create(engine)
    engine.fire(reception.id, "submit", HANDLER)
    submitted = engine.get(reception.id)
    # a plan cannot change while submitted; judge the approval of a plan with a gift as a dry run
    with_gift = attrs.evolve(submitted, plan=attrs.evolve(submitted.plan, gifts=(SPECIALTY,)))
    assert [f.rule_id for f in engine.check(with_gift, stages=["approve"]).blocking] == ["C-04"]
