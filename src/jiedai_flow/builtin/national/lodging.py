"""H and T rules: lodging 住宿 (Art 9) and transport and security 交通与安保 (Art 11).

Both are checked on the plan before approval (PLAN_STAGES): the reception list records lodging and
transport only as priced items, without room types, payers or vehicles, so there is nothing more
to check at the claim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import EIGHT_POINTS, PLAN_STAGES, art, block, warn
from jiedai_flow.domain.findings import Citation
from jiedai_flow.domain.model import Payer, Rank, RoomType
from jiedai_flow.process.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.domain.findings import Finding
    from jiedai_flow.process.rules import RuleContext


# --- H-01 房型 ---


def check_room_type(ctx: RuleContext) -> Iterator[Finding]:
    """H-01 房型: standard rooms 标准间; an ordinary suite 普通套间 only for 省部级; never a luxury suite."""
    for i, lodging in enumerate(ctx.reception.plan.lodgings):
        path = f"$.plan.lodgings[{i}].room_type"
        if lodging.room_type is RoomType.LUXURY_SUITE:
            yield block(
                "H-01",
                f"不得安排{RoomType.LUXURY_SUITE.label}（{lodging.hotel}）："
                "住房以标准间为主，省部级可安排普通套间",
                f"no luxury suites ({lodging.hotel}): standard rooms; "
                "ordinary suites for provincial rank only",
                path,
                art("第九条"),
            )
        elif lodging.room_type is RoomType.SUITE and lodging.guest_rank is not Rank.PROVINCIAL:
            yield block(
                "H-01",
                f"{lodging.guest_rank.label}人员不得安排{RoomType.SUITE.label}（{lodging.hotel}），"
                f"普通套间仅限{Rank.PROVINCIAL.label}",
                f"a suite for {lodging.guest_rank.value} rank ({lodging.hotel}): suites are for provincial "
                "rank only",
                path,
                art("第九条"),
            )


# --- H-02 住宿费由本人单位报销 ---


def check_lodging_payer(ctx: RuleContext) -> Iterator[Finding]:
    """H-02 住宿费自付: the guest's own unit pays for lodging and claims it as travel, not the host."""
    for i, lodging in enumerate(ctx.reception.plan.lodgings):
        if lodging.payer is Payer.HOST:
            yield block(
                "H-02",
                f"住宿费（{lodging.hotel}，{lodging.rooms} 间 × {lodging.nights} 晚，"
                f"合计 {lodging.total} 元）"
                "应由接待对象回所在单位按差旅费规定报销，接待单位不得支付"
                "（会议代表按会议费规定执行的除外，不在本规则内）",
                f"lodging ({lodging.hotel}, {lodging.rooms} rooms × {lodging.nights} nights, "
                f"{lodging.total} yuan) is paid by the guests' own unit, not the host (meeting delegates "
                "under the meeting-fee rules excepted)",
                f"$.plan.lodgings[{i}].payer",
                art("第九条"),
            )


# --- H-03 住宿价格 ---


def check_lodging_price(ctx: RuleContext) -> Iterator[Finding]:
    """H-03 住宿价格: the nightly price within the cap for the guest's rank, where a layer sets one."""
    caps = ctx.standards.lodging_price_caps
    for i, lodging in enumerate(ctx.reception.plan.lodgings):
        cap = caps.get(lodging.guest_rank)
        if cap is not None and lodging.price_per_night > cap:
            yield block(
                "H-03",
                f"住宿价格 {lodging.price_per_night} 元/间·夜（{lodging.hotel}），"
                f"超过{lodging.guest_rank.label}标准 {cap} 元",
                f"{lodging.price_per_night} yuan per room-night ({lodging.hotel}) exceeds the "
                f"{lodging.guest_rank.value} cap of {cap} yuan",
                f"$.plan.lodgings[{i}].price_per_night",
                ctx.standards.cite("lodging_price_caps", art("第九条")),
            )


# --- H-04 不额外配发 ---


def check_room_extras(ctx: RuleContext) -> Iterator[Finding]:
    """H-04 不额外配发: no extra toiletries, fruit, food or other items placed in the rooms."""
    for i, lodging in enumerate(ctx.reception.plan.lodgings):
        for j, extra in enumerate(lodging.extras):
            yield block(
                "H-04",
                f"客房不得额外配发物品：{extra}（{lodging.hotel}）",
                f"no extras in the rooms: {extra} ({lodging.hotel})",
                f"$.plan.lodgings[{i}].extras[{j}]",
                art("第九条"),
            )


# --- T-01 集中乘车 ---


def check_shared_transport(ctx: RuleContext) -> Iterator[Finding]:
    """T-01 集中乘车: vehicles ≤ ⌈passengers/capacity⌉ + 1; escort vehicles within the local cap;
    no dedicated car per guest 专车接送."""
    transport = ctx.reception.plan.transport
    capacity = ctx.standards.vehicle_capacity
    needed = -(-transport.passengers // capacity) + 1  # ceiling division, plus one spare
    if transport.vehicles > needed:
        yield warn(
            "T-01",
            f"用车 {transport.vehicles} 辆，超过集中乘车所需 {needed} 辆"
            f"（乘车 {transport.passengers} 人，每车 {capacity} 座，另加 1 辆）",
            f"{transport.vehicles} vehicles, more than the {needed} needed to travel together "
            f"({transport.passengers} passengers, {capacity} seats each, plus one)",
            "$.plan.transport.vehicles",
            ctx.standards.cite("vehicle_capacity", art("第十一条")),
        )
    most = ctx.standards.escort_vehicles_max
    if most is not None and transport.escort_vehicles > most:
        yield block(
            "T-01",
            f"随行车辆 {transport.escort_vehicles} 辆，超过上限 {most} 辆",
            f"{transport.escort_vehicles} escort vehicles, at most {most} allowed",
            "$.plan.transport.escort_vehicles",
            ctx.standards.cite("escort_vehicles_max", art("第十一条")),
        )
    if transport.dedicated_cars:
        yield block(
            "T-01",
            "不得安排专车接送，应集中乘车",
            "no dedicated car per guest; travel together",
            "$.plan.transport.dedicated_cars",
            art("第十一条"),
        )


# --- T-02 警车、交通管控、清场闭馆 ---

_SECURITY = (
    ("police_escort", "安排警车", "police escort", art("第十一条")),
    ("road_closure", "封路或违规交通管控", "road closure", Citation(EIGHT_POINTS, "第五条")),
    ("venue_clearing", "清场闭馆", "clearing a venue", Citation(EIGHT_POINTS, "第五条")),
)
"""What is banned, and where: 警车 by Art 11 of the rules, 封路/清场闭馆 by point 5 of the 八项规定."""


def check_security(ctx: RuleContext) -> Iterator[Finding]:
    """T-02 警车与交通管控: no police escort, road closure or venue clearing (Art 11; 八项规定 pt 5)."""
    transport = ctx.reception.plan.transport
    for flag, zh, en, citation in _SECURITY:
        if getattr(transport, flag):
            yield block(
                "T-02",
                f"不得{zh}（一般情况下不得封路、不清场闭馆）",
                f"not allowed: {en} (as a rule no road closures and no venue clearing)",
                f"$.plan.transport.{flag}",
                citation,
            )


RULES: tuple[Rule, ...] = (
    Rule("H-01", "房型", PLAN_STAGES, check_room_type, art("第九条"), "room type"),
    Rule("H-02", "住宿费自付", PLAN_STAGES, check_lodging_payer, art("第九条"), "guests pay for lodging"),
    Rule("H-03", "住宿价格", PLAN_STAGES, check_lodging_price, art("第九条"), "lodging price cap"),
    Rule("H-04", "不额外配发", PLAN_STAGES, check_room_extras, art("第九条"), "no extras in rooms"),
    Rule("T-01", "集中乘车", PLAN_STAGES, check_shared_transport, art("第十一条"), "shared transport"),
    Rule(
        "T-02",
        "警车与交通管控",
        PLAN_STAGES,
        check_security,
        art("第十一条"),
        "police escort and traffic control",
        also_cites=(Citation(EIGHT_POINTS, "第五条"),),
    ),
)
