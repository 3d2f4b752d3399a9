"""××县的插件：本县接待标准（一层）和一条本地规则 LA-01。"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from jiedai_flow import (
    Citation,
    Finding,
    LetterKind,
    Level,
    Rule,
    Severity,
    StandardsLayer,
    hookimpl,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow import RuleContext
    from jiedai_flow.rules import RegisterRule

COUNTY = "341502"  # GB/T 2260 行政区划代码
LOCAL_MEASURES = Citation("《××县党政机关国内公务接待管理实施细则》（示例）", "第九条")

COUNTY_LAYER = StandardsLayer(
    name="××县（2026）",
    level=Level.COUNTY,
    jurisdiction=COUNTY,
    changes={
        "meal_cap_per_person": Decimal("60.00"),  # 工作餐人均上限（元）
        "accepted_letters": frozenset(LetterKind),  # 公函、邀请函、通知，另加电话记录
        "approval_levels": ("部门负责人", "分管领导"),  # 内置审批链按此逐级审批
    },
    effective_from=date(2026, 1, 1),
    source=LOCAL_MEASURES.instrument,
)


def check_meal_cap(ctx: RuleContext) -> Iterator[Finding]:
    """LA-01 人均餐费：每餐人均（来宾 + 陪餐）不超过本县上限。"""
    cap = ctx.standards.meal_cap_per_person
    if cap is None:
        return
    for i, meal in enumerate(ctx.reception.plan.meals):
        if meal.per_person > cap:
            yield Finding(
                "LA-01",
                Severity.BLOCKING,
                f"工作餐人均 {meal.per_person} 元，超过本县上限 {cap} 元",
                f"meal costs {meal.per_person} yuan per person, over the county cap of {cap}",
                f"$.plan.meals[{i}].cost",
                LOCAL_MEASURES,
            )


@hookimpl
def jiedai_register_rules(register: RegisterRule) -> None:
    register(
        Rule(
            "LA-01",
            "人均餐费上限",
            frozenset({"submit", "approve"}),  # 在这两个操作时检查
            check_meal_cap,
            LOCAL_MEASURES,
            "meal cost per person",
        )
    )


@hookimpl
def jiedai_standards_layers() -> tuple[StandardsLayer, ...]:
    # 钩子参数可以少取：jurisdiction、on 都不用，引擎只采用覆盖该地区、当日有效的层。
    return (COUNTY_LAYER,)
