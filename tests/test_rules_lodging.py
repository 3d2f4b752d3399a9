"""The national H and T rules (lodging 住宿, transport 交通), run through the real engine."""

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
    Level,
    Lodging,
    Payer,
    Rank,
    RoomType,
    RuleViolationError,
    Severity,
    StandardsLayer,
    Transport,
    hookimpl,
)
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from jiedai_flow import Engine, Finding, Reception

JURISDICTION = "341502"
START = date(2026, 3, 10)
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


def lodging(**fields: Any) -> Lodging:
    """Two standard rooms for one night at the county guest house, paid by the guests."""
    values: dict[str, Any] = {
        "hotel": "县宾馆",
        "room_type": RoomType.STANDARD,
        "rooms": 2,
        "nights": 1,
        "price_per_night": Decimal("260.00"),
        "guest_rank": Rank.COUNTY,
    }
    values.update(fields)
    return Lodging(**values)


def create(engine: Engine, *lodgings: Lodging, transport: Transport | None = None) -> Reception:
    plan = attrs.evolve(sample_plan(START), lodgings=lodgings, transport=transport or Transport())
    return engine.create_reception(
        sample_letter(START), plan, handler=HANDLER, host_unit="县政府办公室", jurisdiction=JURISDICTION
    ).reception


def found(engine: Engine, reception: Reception, rule_id: str) -> list[Finding]:
    """The findings of ``rule_id`` in a dry run of submit."""
    return [f for f in engine.check(reception, stages=["submit"]).findings if f.rule_id == rule_id]


def only(findings: list[Finding]) -> Finding:
    [finding] = findings
    return finding


def test_the_sample_plan_passes_every_h_and_t_rule() -> None:
    """A plan with no lodging and no vehicles has nothing for H or T to say."""
    engine = engine_with()
    report = engine.check(create(engine), stages=["submit"])
    assert [f for f in report.findings if f.rule_id[0] in "HT"] == []


# -- H-01 房型 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("rank", list(Rank))
def test_h01_standard_rooms_pass_for_every_rank(rank: Rank) -> None:
    """H-01: 标准间 is always fine."""
    engine = engine_with()
    assert found(engine, create(engine, lodging(guest_rank=rank)), "H-01") == []


def test_h01_an_ordinary_suite_passes_for_a_provincial_guest() -> None:
    """H-01: 普通套间 is allowed for 省部级."""
    engine = engine_with()
    suite = lodging(room_type=RoomType.SUITE, guest_rank=Rank.PROVINCIAL, rooms=1)
    assert found(engine, create(engine, suite), "H-01") == []


@pytest.mark.parametrize("rank", [Rank.BUREAU, Rank.COUNTY, Rank.TOWNSHIP, Rank.OTHER])
def test_h01_an_ordinary_suite_below_provincial_rank_is_refused(rank: Rank) -> None:
    """H-01: one rank below 省部级 (厅局级) already may not have a suite."""
    engine = engine_with()
    finding = only(found(engine, create(engine, lodging(room_type=RoomType.SUITE, guest_rank=rank)), "H-01"))
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == f"{rank.label}人员不得安排普通套间（县宾馆），普通套间仅限省部级"
    assert finding.path == "$.plan.lodgings[0].room_type"
    assert str(finding.citation) == "《党政机关国内公务接待管理规定》第九条"


def test_h01_a_luxury_suite_is_refused_even_for_a_provincial_guest() -> None:
    """H-01: 豪华套间 never."""
    engine = engine_with()
    luxury = lodging(room_type=RoomType.LUXURY_SUITE, guest_rank=Rank.PROVINCIAL)
    finding = only(found(engine, create(engine, lodging(), luxury), "H-01"))
    assert finding.message_zh == "不得安排豪华套间（县宾馆）：住房以标准间为主，省部级可安排普通套间"
    assert finding.path == "$.plan.lodgings[1].room_type"


def test_h01_a_luxury_suite_is_refused_on_submit() -> None:
    """H-01: a real submit with a luxury suite is refused and the reception stays a draft."""
    engine = engine_with()
    rid = create(engine, lodging(room_type=RoomType.LUXURY_SUITE)).id
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "submit", HANDLER)
    assert "H-01" in {f.rule_id for f in refused.value.findings if f.blocks}
    assert engine.get(rid).state == "draft"


# -- H-02 住宿费自付 ----------------------------------------------------------------------------


def test_h02_lodging_paid_by_the_guests_passes() -> None:
    """H-02: the guests' own unit pays (and claims it as travel)."""
    engine = engine_with()
    assert found(engine, create(engine, lodging(payer=Payer.GUEST)), "H-02") == []


def test_h02_lodging_paid_by_the_host_is_refused_with_the_amount() -> None:
    """H-02: a host-paid room is blocked; the message names the bill and the meeting-fee exception."""
    engine = engine_with()
    finding = only(found(engine, create(engine, lodging(payer=Payer.HOST, nights=2)), "H-02"))
    assert finding.severity is Severity.BLOCKING
    assert "住宿费（县宾馆，2 间 × 2 晚，合计 1040.00 元）" in finding.message_zh
    assert "会议费" in finding.message_zh
    assert "meeting-fee" in finding.message_en
    assert finding.path == "$.plan.lodgings[0].payer"


# -- H-03 住宿价格 ------------------------------------------------------------------------------

CAPS = {Rank.BUREAU: Decimal("480.00"), Rank.COUNTY: Decimal("400.00")}


def test_h03_no_caps_means_no_check() -> None:
    """H-03: the national layer has no 差旅住宿费 table, so nothing is checked."""
    engine = engine_with()
    assert found(engine, create(engine, lodging(price_per_night=Decimal("9999.00"))), "H-03") == []


def test_h03_a_price_exactly_at_the_cap_passes() -> None:
    """H-03: 400.00 元 for a 县处级 guest at a 400.00 cap passes."""
    engine = engine_with(lodging_price_caps=CAPS)
    assert found(engine, create(engine, lodging(price_per_night=Decimal("400.00"))), "H-03") == []


def test_h03_one_fen_over_the_cap_is_refused() -> None:
    """H-03: 400.01 元 is over; the message names the price, the rank and the cap."""
    engine = engine_with(lodging_price_caps=CAPS)
    finding = only(found(engine, create(engine, lodging(price_per_night=Decimal("400.01"))), "H-03"))
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == "住宿价格 400.01 元/间·夜（县宾馆），超过县处级标准 400.00 元"
    assert finding.path == "$.plan.lodgings[0].price_per_night"


def test_h03_the_cap_follows_the_guests_rank() -> None:
    """H-03: 450 元 is fine for 厅局级 (480) but not for 县处级 (400); no cap for 科级, no check."""
    engine = engine_with(lodging_price_caps=CAPS)
    price = Decimal("450.00")
    bureau = lodging(price_per_night=price, guest_rank=Rank.BUREAU)
    county = lodging(price_per_night=price, guest_rank=Rank.COUNTY)
    township = lodging(price_per_night=price, guest_rank=Rank.TOWNSHIP)
    findings = found(engine, create(engine, bureau, county, township), "H-03")
    assert [f.path for f in findings] == ["$.plan.lodgings[1].price_per_night"]


# -- H-04 不额外配发 ----------------------------------------------------------------------------


def test_h04_rooms_without_extras_pass() -> None:
    """H-04: nothing placed in the rooms, nothing to report."""
    engine = engine_with()
    assert found(engine, create(engine, lodging()), "H-04") == []


def test_h04_each_extra_is_refused() -> None:
    """H-04: toiletries, fruit and food placed in rooms are blocked one by one."""
    engine = engine_with()
    extras = ("洗漱用品", "果盘")
    findings = found(engine, create(engine, lodging(extras=extras)), "H-04")
    assert [(f.path, f.message_zh) for f in findings] == [
        ("$.plan.lodgings[0].extras[0]", "客房不得额外配发物品：洗漱用品（县宾馆）"),
        ("$.plan.lodgings[0].extras[1]", "客房不得额外配发物品：果盘（县宾馆）"),
    ]
    assert {f.severity for f in findings} == {Severity.BLOCKING}


# -- T-01 集中乘车 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("passengers", "capacity", "allowed"),
    [(0, 7, 1), (1, 7, 2), (7, 7, 2), (8, 7, 3), (14, 7, 3), (15, 7, 4), (14, 5, 4), (10, 5, 3)],
)
def test_t01_vehicles_up_to_what_the_passengers_need_plus_one(
    passengers: int, capacity: int, allowed: int
) -> None:
    """T-01: vehicles ≤ ⌈passengers / capacity⌉ + 1 passes; one more vehicle is a warning."""
    engine = engine_with(vehicle_capacity=capacity)
    ok = Transport(vehicles=allowed, passengers=passengers)
    assert found(engine, create(engine, transport=ok), "T-01") == []
    over = Transport(vehicles=allowed + 1, passengers=passengers)
    finding = only(found(engine, create(engine, transport=over), "T-01"))
    assert finding.severity is Severity.WARNING
    assert finding.message_zh == (
        f"用车 {allowed + 1} 辆，超过集中乘车所需 {allowed} 辆"
        f"（乘车 {passengers} 人，每车 {capacity} 座，另加 1 辆）"
    )
    assert finding.path == "$.plan.transport.vehicles"


def test_t01_escort_vehicles_within_the_local_cap() -> None:
    """T-01: with a cap of 2 escort vehicles, 2 pass and 3 are blocked; without a cap, no check."""
    capped = engine_with(escort_vehicles_max=2)
    assert found(capped, create(capped, transport=Transport(escort_vehicles=2)), "T-01") == []
    finding = only(found(capped, create(capped, transport=Transport(escort_vehicles=3)), "T-01"))
    assert finding.severity is Severity.BLOCKING
    assert finding.message_zh == "随行车辆 3 辆，超过上限 2 辆"
    assert finding.path == "$.plan.transport.escort_vehicles"
    open_ended = engine_with()
    assert found(open_ended, create(open_ended, transport=Transport(escort_vehicles=5)), "T-01") == []


def test_t01_dedicated_cars_are_refused() -> None:
    """T-01: 不得安排专车接送."""
    engine = engine_with()
    finding = only(found(engine, create(engine, transport=Transport(dedicated_cars=True)), "T-01"))
    assert finding.severity is Severity.BLOCKING
    assert finding.path == "$.plan.transport.dedicated_cars"


# -- T-02 警车与交通管控 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "words", "citation"),
    [
        ("police_escort", "安排警车", "《党政机关国内公务接待管理规定》第十一条"),
        ("road_closure", "封路", "中央八项规定及其实施细则第五条"),
        ("venue_clearing", "清场闭馆", "中央八项规定及其实施细则第五条"),
    ],
)
def test_t02_police_escort_road_closure_and_venue_clearing_are_refused(
    flag: str, words: str, citation: str
) -> None:
    """T-02: each of the three is blocked on its own field, citing where it is banned (警车: Art 11 of
    the rules; 封路、清场闭馆: point 5 of the 八项规定)."""
    engine = engine_with()
    finding = only(found(engine, create(engine, transport=Transport(**{flag: True})), "T-02"))
    assert finding.severity is Severity.BLOCKING
    assert words in finding.message_zh
    assert finding.path == f"$.plan.transport.{flag}"
    assert str(finding.citation) == citation


def test_t02_all_three_are_reported_at_once_on_submit() -> None:
    """T-02: a real submit lists every security breach, not just the first."""
    engine = engine_with()
    transport = Transport(police_escort=True, road_closure=True, venue_clearing=True)
    rid = create(engine, transport=transport).id
    with pytest.raises(RuleViolationError) as refused:
        engine.fire(rid, "submit", HANDLER)
    paths = [f.path for f in refused.value.findings if f.rule_id == "T-02"]
    assert paths == [
        "$.plan.transport.police_escort",
        "$.plan.transport.road_closure",
        "$.plan.transport.venue_clearing",
    ]


def test_t02_a_plan_without_them_passes() -> None:
    """T-02: ordinary shared transport passes."""
    engine = engine_with()
    assert found(engine, create(engine, transport=Transport(vehicles=1, passengers=5)), "T-02") == []


# -- order does not matter -----------------------------------------------------------------------


@functools.cache
def order_engine() -> tuple[Engine, Reception]:
    engine = engine_with(lodging_price_caps=CAPS)
    return engine, create(engine)


lodgings_strategy = st.builds(
    lodging,
    room_type=st.sampled_from(list(RoomType)),
    guest_rank=st.sampled_from(list(Rank)),
    payer=st.sampled_from(list(Payer)),
    price_per_night=st.sampled_from([Decimal("300.00"), Decimal("400.01"), Decimal("470.00")]),
    extras=st.lists(st.sampled_from(["果盘", "洗漱用品"]), max_size=2).map(tuple),
)


@settings(max_examples=40, deadline=None)
@given(lodgings=st.lists(lodgings_strategy, min_size=1, max_size=4), data=st.data())
def test_findings_do_not_depend_on_the_order_of_lodgings(
    lodgings: list[Lodging], data: st.DataObject
) -> None:
    """H rules: permuting the plan's lodgings changes only the paths of the findings."""
    engine, base = order_engine()

    def outcome(order: list[Lodging]) -> set[tuple[str, str, str]]:
        reception = attrs.evolve(base, plan=attrs.evolve(base.plan, lodgings=tuple(order)))
        findings = engine.check(reception, stages=["submit"]).findings
        return {(f.rule_id, f.message_zh, f.message_en) for f in findings if f.rule_id[0] == "H"}

    assert outcome(lodgings) == outcome(data.draw(st.permutations(lodgings)))
