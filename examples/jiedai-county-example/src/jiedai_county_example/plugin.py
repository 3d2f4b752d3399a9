"""××县（示例）的 jiedai_flow 插件：本县接待标准（standards.toml）、一条本地规则 XX-01，
和本县打印文书的标题栏（templates/title.html）。

安装后由入口点自动加载（pyproject.toml 里 ``jiedai_flow`` 组的 ``xx_county``）。
"""

from __future__ import annotations

import functools
import re
from datetime import time
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from jiedai_flow import Citation, Finding, Rule, Severity, StandardsLayer, hookimpl
from jiedai_flow.domain.standards_toml import load_standards_text

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow import RegisterRule, RuleContext

LOCAL_MEASURES = Citation("《××县党政机关国内公务接待管理实施细则》（示例）", "第十二条")
NINE_PM = time(21, 0)
SIX_AM = time(6, 0)
PLAN_STAGES = frozenset({"submit", "approve", "amend"})  # 审批前后、变更时查方案
CLAIM_STAGES = frozenset({"claim"})  # 报销时查清单
_CLOCK = re.compile(r"(\d{1,2})[:：](\d{2})")


@functools.cache
def county_layer() -> StandardsLayer:
    """本县标准层，读自包内的 standards.toml（每个进程只读一次）。"""
    resource = files("jiedai_county_example").joinpath("standards.toml")
    return load_standards_text(resource.read_text(encoding="utf-8"), source=str(resource))


@functools.cache
def university_layer() -> StandardsLayer:
    """××大学的单位层，读自包内的 university.toml：只写 TOML，不需要代码。"""
    resource = files("jiedai_county_example").joinpath("university.toml")
    return load_standards_text(resource.read_text(encoding="utf-8"), source=str(resource))


def at_night(when: str) -> bool | None:
    """活动时间（如「19:30」「19:30-21:30」）是否有一刻落在 21:00 后、次日 6:00 前；读不出时间为 None。"""
    times = [time(int(h), int(m)) for h, m in _CLOCK.findall(when) if int(h) < 24 and int(m) < 60]
    if not times:
        return None
    return any(t > NINE_PM or t < SIX_AM for t in times)


def check_night_activities(ctx: RuleContext) -> Iterator[Finding]:
    """XX-01 晚上九点后不安排接待活动：方案里的活动不予通过；清单上已经发生的，报销时须附情况说明。

    只管本县的接待：规则对所有接待都会运行，所以先看辖区。
    """
    if not ctx.reception.jurisdiction.startswith(county_layer().jurisdiction):
        return
    if ctx.stage in CLAIM_STAGES:
        listing = ctx.reception.reception_list
        items = listing.items if listing is not None else ()
        entries = [(f"$.reception_list.items[{i}].time", it.time, it.item) for i, it in enumerate(items)]
        severity = Severity.NEEDS_EXPLANATION
    else:
        activities = ctx.reception.plan.activities
        entries = [(f"$.plan.activities[{i}].time", a.time, a.description) for i, a in enumerate(activities)]
        severity = Severity.BLOCKING
    for path, when, what in entries:
        if not when.strip():
            continue
        night = at_night(when)
        if night is None:
            yield Finding(
                "XX-01",
                Severity.WARNING,
                f"「{what}」的时间「{when}」无法识别，请写成 19:30 或 19:30-21:00",
                f"cannot read the time {when!r} of {what!r}; write it as 19:30 or 19:30-21:00",
                path,
                LOCAL_MEASURES,
            )
        elif night:
            yield Finding(
                "XX-01",
                severity,
                f"「{what}」安排在 {when}：晚上九点后不得安排接待活动",
                f"{what!r} at {when}: no reception activities after 21:00",
                path,
                LOCAL_MEASURES,
            )


XX_01 = Rule(
    "XX-01",
    "晚上九点后不安排接待活动",
    PLAN_STAGES | CLAIM_STAGES,
    check_night_activities,
    LOCAL_MEASURES,
    "no reception activities after 21:00",
)


@hookimpl
def jiedai_register_rules(register: RegisterRule) -> None:
    register(XX_01)


@hookimpl
def jiedai_standards_layers() -> list[StandardsLayer]:
    # 钩子参数可以少取：引擎只采用覆盖该辖区、当日有效、适用于该接待单位的层。
    return [county_layer(), university_layer()]


TEMPLATES = Path(__file__).parent / "templates"
"""本县的打印文书模板：只有标题栏 title.html，接待清单、审批单的其余部分用内置模板。"""


@hookimpl
def jiedai_templates() -> Path:
    # 目录里与内置模板同名的文件替换内置的；title.html 用 {% extends "jiedai/title.html" %} 只改抬头。
    return TEMPLATES
