"""会签写在插件里：部门负责人之后，方案 3000 元以上加财政局与分管领导并行会签。"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from jiedai_flow import ApprovalStep, Assignee, StepKind, hookimpl

if TYPE_CHECKING:
    from jiedai_flow import Reception, Standards

JURISDICTION = "341502"  # 本县 this county


@hookimpl
def jiedai_approval_chain(reception: Reception, standards: Standards) -> list[ApprovalStep] | None:
    if reception.jurisdiction != JURISDICTION:
        return None  # 别的县的接待：不表态 / another county's reception: no opinion
    steps = [ApprovalStep("部门负责人", "部门负责人")]
    if reception.plan.planned_total >= Decimal(3000):
        both = (Assignee.unit("县财政局"), Assignee.level("分管领导"))
        steps.append(ApprovalStep("", "财政局、分管领导会签", kind=StepKind.PARALLEL, assignees=both))
    return steps
