"""××县的招商接待流程：由默认流程派生，加一步招商局审核，去掉先行接待，加可选的跟踪服务阶段。

插件用两个钩子提供并选用它；完整的插件包见 examples/jiedai-zhaoshang-example。
"""

from __future__ import annotations

from decimal import Decimal

from jiedai_flow import (
    Phase,
    ProcessDefinition,
    ReceptionType,
    Role,
    StateDef,
    Transition,
    TriggerDef,
    hookimpl,
)

H, A = frozenset({Role.HANDLER}), frozenset({Role.APPROVER})


def county_process(default: ProcessDefinition) -> ProcessDefinition:
    """招商接待流程 ``zhaoshang@1``，由 ``default`` 派生：默认流程改了什么，这里也跟着改。"""
    review = StateDef("investment_review", "招商局审核", phase=Phase.PENDING)
    passed = TriggerDef("investment_approve", "招商局审核同意", "investment bureau approves", decision=True)
    return (
        default.derive(name="zhaoshang", version="1")
        .remove(triggers=["start_urgent"])  # 先行接待会绕过招商局审核
        .insert_step(
            "approve",  # 末级审批签字后不再直接「已审批」，先到招商局审核
            "submitted",
            "approved",
            state=review,
            via=passed,
            roles=A,
            extra=[
                Transition("return", "investment_review", "draft", A),
                Transition("refuse", "investment_review", "refused", A),
            ],
        )
        .add(
            states=[StateDef("following_up", "跟踪服务", phase=Phase.SETTLED)],
            triggers=[
                TriggerDef("begin_follow_up", "开始跟踪服务", "begin follow-up", carries_follow_up=True),
                TriggerDef("record_follow_up", "记录跟踪情况", "record follow-up", carries_follow_up=True),
                TriggerDef("close_follow_up", "结束跟踪", "close follow-up"),
            ],
            transitions=[
                Transition("begin_follow_up", "settled", "following_up", H),
                Transition("record_follow_up", "following_up", "following_up", H),
                Transition("close_follow_up", "following_up", "archived", H),
            ],
        )
    )


class CountyProcess:
    """提供招商接待流程，并让本县的招商接待用它。"""

    @hookimpl
    def jiedai_processes(self, default: ProcessDefinition) -> list[ProcessDefinition]:
        return [county_process(default)]

    @hookimpl
    def jiedai_choose_process(
        self,
        reception_type: ReceptionType,
        jurisdiction: str,
        host_unit: str,
        amount: Decimal,
        processes: list[str],
    ) -> str | None:
        del host_unit, amount
        chosen = reception_type is ReceptionType.BUSINESS and jurisdiction.startswith("341598")
        return "zhaoshang@1" if chosen and "zhaoshang@1" in processes else None
