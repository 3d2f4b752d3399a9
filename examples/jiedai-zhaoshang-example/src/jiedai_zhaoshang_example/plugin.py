"""××县（示例）招商引资接待插件：招商流程 ``zhaoshang@1``、流程选择和招商局审核的权限。

安装后由入口点自动加载（pyproject.toml 里 ``jiedai_flow`` 组的 ``zhaoshang_example``）。三个钩子：

- ``jiedai_processes``：提供由默认流程派生的 ``zhaoshang@1``（见 :mod:`jiedai_zhaoshang_example.process`）；
- ``jiedai_choose_process``：本县（辖区代码以 ``341598`` 开头）的招商引资接待用 ``zhaoshang@1``；
- ``jiedai_authorize``：招商局审核（同意、退回、不予接待）只能由 ``levels`` 含「招商局」的人办理。

The ××县 investment-reception plugin: contributes ``zhaoshang@1``, chooses it for the county's
business receptions, and lets only the investment bureau take the review step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow import ReceptionType, Verdict, hookimpl
from jiedai_zhaoshang_example.process import (
    PROCESS_KEY,
    PROCESS_NAME,
    REVIEW_STATE,
    REVIEW_TRIGGER,
    zhaoshang_process,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from jiedai_flow import Actor, ProcessDefinition, Reception, Transition

COUNTY = "341598"
"""本县 GB/T 2260 代码前缀（虚构）/ the county's code prefix (fictional)."""
BUREAU = "招商局"
"""招商局审核人的 ``Actor.levels`` 里须有这一项 / the level an investment-bureau reviewer holds."""


@hookimpl
def jiedai_processes(default: ProcessDefinition) -> list[ProcessDefinition]:
    """提供招商流程，由引擎的第一个流程派生（引擎在建立时校验它，出错时报出本插件名）。"""
    return [zhaoshang_process(default)]


@hookimpl
def jiedai_choose_process(
    reception_type: ReceptionType, jurisdiction: str, processes: Sequence[str]
) -> str | None:
    """本县的招商引资接待走 ``zhaoshang@1``；其余不表态（引擎用第一个流程）。

    钩子参数可以少取：``host_unit``、``amount`` 这里用不到。
    """
    ours = reception_type is ReceptionType.BUSINESS and jurisdiction.startswith(COUNTY)
    # 流程未加载时不选它（选了未加载的流程，登记会抛 DefinitionError）
    return PROCESS_KEY if ours and PROCESS_KEY in processes else None


def bureau_step(reception: Reception, transition: Transition) -> bool:
    """这一步是否是招商局审核：``investment_approve``，或在 ``investment_review`` 里退回、不予接待。

    撤销（``cancel``）不算：经办人、审批人照常可以撤销，由内置角色表决定。
    """
    if reception.process.partition("@")[0] != PROCESS_NAME:
        return False  # 别的流程里同名的状态、操作不归本插件管
    if transition.trigger == REVIEW_TRIGGER:
        return True
    return transition.source == REVIEW_STATE and transition.trigger in ("return", "refuse")


@hookimpl
def jiedai_authorize(actor: Actor, reception: Reception, transition: Transition) -> Verdict | None:
    """招商局审核只能由招商局的人办理；其余一概不表态，由内置角色表（``jiedai.roles``）决定。

    招商局的人这里也返回 None：角色表接着检查他是否持有流转要求的角色（审批人）。经办人不能审核
    自己经办的接待，这一条引擎在问本钩子之前已经检查（不相容职务分离）。
    """
    if not bureau_step(reception, transition) or BUREAU in actor.levels:
        return None
    return Verdict.deny(
        f"招商局审核须由{BUREAU}人员办理（{actor.name} 不是{BUREAU}审核人）",
        f"the investment review is for the investment bureau ({actor.id} is not one of its reviewers)",
    )
