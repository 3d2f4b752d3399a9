"""按来宾级别和预算分级的审批链，替换内置的单级审批 jiedai.approval。"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from jiedai_flow import ApprovalStep, Rank, hookimpl

if TYPE_CHECKING:
    from jiedai_flow import Reception, Standards

MAJOR_BUDGET = Decimal("3000.00")  # 示例阈值：预计费用超过此数报主要领导


@hookimpl
def jiedai_approval_chain(reception: Reception, standards: Standards) -> list[ApprovalStep]:
    del standards  # 本县的分级不看标准层
    steps = [
        ApprovalStep("部门负责人", "承办部门负责人"),
        ApprovalStep("分管领导", "分管领导"),
    ]
    rank = reception.letter.highest_rank
    if (rank is not None and rank >= Rank.BUREAU) or reception.plan.planned_total > MAJOR_BUDGET:
        steps.append(ApprovalStep("主要领导", "主要领导"))
    return steps
