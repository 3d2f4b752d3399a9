"""××县的插件：本县接待标准（TOML 写的一层）和一条本地规则 LA-01。"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from jiedai_flow import Citation, Finding, Rule, Severity, hookimpl
from jiedai_flow.domain.standards_toml import load_standards_text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow import RuleContext, StandardsLayer
    from jiedai_flow import RegisterRule

# 插件包里通常是单独的 standards.toml：load_standards_file(Path(__file__).with_name("standards.toml"))
STANDARDS_TOML = """
name = "××县（2026）"
level = "county"
jurisdiction = "341502"
effective_from = 2026-01-01
source = "《××县党政机关国内公务接待管理实施细则》（示例）"

[standards]
accepted_letters = ["公函", "邀请函", "通知", "电话记录"]
approval_levels = ["部门负责人", "分管领导"]
claim_deadline_months = 1
retroactive_window_days = 2

[[standards.meal_standards]]
amount = "60.00"
unit = "元/人·餐"
"""

COUNTY_LAYER = load_standards_text(STANDARDS_TOML, source="county_plugin.py")
LOCAL_MEASURES = Citation(COUNTY_LAYER.source, "第六条")
ADVANCE_DAYS = 1


def check_submitted_in_advance(ctx: RuleContext) -> Iterator[Finding]:
    """LA-01 提前报批：接待开始前 ADVANCE_DAYS 日提交审批，来不及的须书面说明。"""
    latest = ctx.reception.start - timedelta(days=ADVANCE_DAYS)
    if ctx.now.date() > latest:
        yield Finding(
            "LA-01",
            Severity.NEEDS_EXPLANATION,
            f"接待 {ctx.reception.start} 开始，应在 {latest} 前提交审批",
            f"the reception starts on {ctx.reception.start}; submit by {latest}",
            "$.start",
            LOCAL_MEASURES,
        )


@hookimpl
def jiedai_register_rules(register: RegisterRule) -> None:
    register(
        Rule(
            "LA-01",
            "提前报批",
            frozenset({"submit"}),  # 只在「提交审批」时检查
            check_submitted_in_advance,
            LOCAL_MEASURES,
            "submit in advance",
        )
    )


@hookimpl
def jiedai_standards_layers() -> tuple[StandardsLayer, ...]:
    # 钩子参数可以少取：jurisdiction、on 都不用，引擎只采用覆盖该地区、当日有效的层。
    return (COUNTY_LAYER,)
