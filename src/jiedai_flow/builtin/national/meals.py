"""M rules: working meals 工作餐 — count, companions, per-person standard, dishes, alcohol, venue."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import ECONOMY_2025, PLAN_STAGES, art, block
from jiedai_flow.findings import Citation
from jiedai_flow.rules import Rule
from jiedai_flow.model import MealKind
from jiedai_flow.standards import RULE_PACK_2013, AlcoholPolicy

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.findings import Finding
    from jiedai_flow.model import Meal
    from jiedai_flow.rules import RuleContext


def check_working_meals(ctx: RuleContext) -> Iterator[Finding]:
    """M-01 工作餐一次: at most ``working_meals_max`` host-paid working meals."""
    meals = [m for m in ctx.reception.plan.meals if m.working_meal]
    cap = ctx.standards.working_meals_max
    if len(meals) > cap:
        yield block(
            "M-01",
            f"安排工作餐 {len(meals)} 次，超过上限 {cap} 次",
            f"{len(meals)} working meals planned, at most {cap} allowed",
            "$.plan.meals",
            art("第十条"),
        )


def check_companions(ctx: RuleContext) -> Iterator[Finding]:
    """M-02 陪餐人数: ≤3 companions for up to 10 guests, else ≤⌊guests/3⌋."""
    kind = ctx.reception.reception_type
    for i, meal in enumerate(ctx.reception.plan.meals):
        cap = ctx.standards.companion_cap(meal.guests, kind)
        if meal.companions > cap:
            yield block(
                "M-02",
                f"陪餐 {meal.companions} 人，超过上限 {cap} 人（接待对象 {meal.guests} 人）",
                f"{meal.companions} companions exceed the cap of {cap} ({meal.guests} guests)",
                f"$.plan.meals[{i}].companions",
                art("第十条"),
            )


def check_dishes(ctx: RuleContext) -> Iterator[Finding]:
    """M-04 禁止菜品: no 鱼翅, 燕窝 or other banned dishes."""
    banned = ctx.standards.banned_dishes
    for i, meal in enumerate(ctx.reception.plan.meals):
        for j, dish in enumerate(meal.dishes):
            hits = sorted(b for b in banned if b in dish)
            if hits:
                yield block(
                    "M-04",
                    f"菜品「{dish}」含禁止菜肴：{'、'.join(hits)}",
                    f"dish {dish!r} contains banned items: {', '.join(hits)}",
                    f"$.plan.meals[{i}].dishes[{j}]",
                    art("第十条"),
                )


_STRICTNESS = {AlcoholPolicy.ALLOWED: 0, AlcoholPolicy.NO_PREMIUM: 1, AlcoholPolicy.NONE: 2}


def alcohol_policy(ctx: RuleContext) -> tuple[AlcoholPolicy, Citation]:
    """The alcohol policy for this reception: the stricter of its rule pack's (2013: no premium
    alcohol; 2025: none) and the local standards', unless its type is exempt locally (外事/招商)."""
    if ctx.reception.reception_type in ctx.standards.alcohol_exempt_types:
        return AlcoholPolicy.ALLOWED, Citation("本地标准")
    if ctx.reception.rule_pack == RULE_PACK_2013:
        pack = AlcoholPolicy.NO_PREMIUM, art("第十条")
    else:
        pack = AlcoholPolicy.NONE, Citation(ECONOMY_2025, "公务接待章")
    local = ctx.standards.alcohol, Citation("本地标准")
    return max(pack, local, key=lambda p: _STRICTNESS[p[0]])


def _weekday_lunch(meal: Meal) -> bool:
    return meal.kind is MealKind.LUNCH and meal.on.weekday() < 5


def check_tobacco_alcohol(ctx: RuleContext) -> Iterator[Finding]:
    """M-05 烟酒: no cigarettes; alcohol by the rule pack and the local policy; local weekday-lunch bans."""
    policy, citation = alcohol_policy(ctx)
    for i, meal in enumerate(ctx.reception.plan.meals):
        path = f"$.plan.meals[{i}]"
        if meal.cigarettes:
            yield block(
                "M-05",
                "工作餐不得提供香烟",
                "no cigarettes at working meals",
                f"{path}.cigarettes",
                art("第十条"),
            )
        if not meal.alcohol:
            continue
        if meal.working_meal and policy is AlcoholPolicy.NONE:
            where = "2025年修订条例" if citation.instrument == ECONOMY_2025 else "本地标准"
            yield block(
                "M-05", f"工作餐不上酒（{where}）", "no alcohol at working meals", f"{path}.alcohol", citation
            )
        elif meal.premium_alcohol and policy is AlcoholPolicy.NO_PREMIUM:
            yield block(
                "M-05", "工作餐不得提供高档酒水", "no premium alcohol", f"{path}.premium_alcohol", citation
            )
        elif ctx.standards.weekday_lunch_alcohol_ban and _weekday_lunch(meal):
            yield block(
                "M-05",
                f"工作日午餐不得饮酒（{meal.on.isoformat()}）",
                f"no alcohol at a weekday lunch ({meal.on.isoformat()})",
                f"{path}.alcohol",
                Citation("本地标准"),
            )


RULES: tuple[Rule, ...] = (
    Rule("M-01", "工作餐一次", PLAN_STAGES, check_working_meals, art("第十条"), "one working meal"),
    Rule("M-02", "陪餐人数", PLAN_STAGES, check_companions, art("第十条"), "companion cap"),
    Rule("M-04", "禁止菜品", PLAN_STAGES, check_dishes, art("第十条"), "banned dishes"),
    Rule("M-05", "烟酒", PLAN_STAGES, check_tobacco_alcohol, art("第十条"), "tobacco and alcohol"),
)
