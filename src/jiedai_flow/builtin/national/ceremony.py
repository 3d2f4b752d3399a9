"""C rules: ceremony 迎送礼仪, accompanying staff 陪同, banned extras and gifts 禁止项目."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.builtin.national._common import EIGHT_POINTS, PLAN_STAGES, art, block
from jiedai_flow.findings import Citation
from jiedai_flow.model import ActivityKind
from jiedai_flow.rules import Rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow.findings import Finding
    from jiedai_flow.rules import RuleContext

_CEREMONY_LABELS = {
    "airport_welcome": "机场、车站、码头、辖区边界迎送",
    "cross_region_welcome": "跨地区迎送",
    "banners": "张贴悬挂标语横幅",
    "crowds": "安排群众迎送",
    "welcome_carpet": "铺设迎宾地毯",
    "flowers": "摆放花草",
    "main_leader_welcome": "主要负责人参加迎送",
}

_BANNED_ACTIVITIES = frozenset(
    {ActivityKind.SIGHTSEEING, ActivityKind.ENTERTAINMENT, ActivityKind.FITNESS, ActivityKind.PERFORMANCE}
)


def check_ceremony(ctx: RuleContext) -> Iterator[Finding]:
    """C-01/C-02 迎送礼仪: no welcome ceremonies, banners, crowds, carpets or flowers."""
    for flag in ctx.reception.plan.ceremony.violations:
        rule_id = "C-02" if flag == "main_leader_welcome" else "C-01"
        citation = Citation(EIGHT_POINTS) if flag == "flowers" else art("第八条")
        yield block(
            rule_id,
            f"不得{_CEREMONY_LABELS[flag]}",
            f"ceremony not allowed: {flag}",
            f"$.plan.ceremony.{flag}",
            citation,
        )


def check_extras(ctx: RuleContext) -> Iterator[Finding]:
    """C-04 禁止项目: no gifts of any kind; no sightseeing, entertainment, fitness or shows."""
    plan = ctx.reception.plan
    for i, gift in enumerate(plan.gifts):
        yield block(
            "C-04",
            f"不得赠送{gift.kind.label}：{gift.description}",
            f"no gifts: {gift.description}",
            f"$.plan.gifts[{i}]",
            art("第十五条"),
        )
    for i, activity in enumerate(plan.activities):
        if activity.kind in _BANNED_ACTIVITIES:
            yield block(
                "C-04",
                f"不得安排{activity.kind.label}活动：{activity.description}",
                f"activity not allowed ({activity.kind.value}): {activity.description}",
                f"$.plan.activities[{i}].kind",
                art("第十五条"),
            )


RULES: tuple[Rule, ...] = (
    Rule("C-01", "迎送礼仪", PLAN_STAGES, check_ceremony, art("第八条"), "ceremony bans"),
    Rule("C-04", "禁止项目", PLAN_STAGES, check_extras, art("第十五条"), "banned extras and gifts"),
)
