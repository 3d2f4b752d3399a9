"""按承办单位分级的审批链，替换内置的 jiedai.approval。

只按来宾级别、人数、金额分级的，不必写插件：在标准里写 approval_tiers 即可。
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow import ApprovalStep, Rank, hookimpl

if TYPE_CHECKING:
    from jiedai_flow import Reception, Standards

JURISDICTION = "341502"  # 本县 this county


@hookimpl
def jiedai_approval_chain(reception: Reception, standards: Standards) -> list[ApprovalStep] | None:
    del standards  # 本县的分级不看标准
    if reception.jurisdiction != JURISDICTION:
        return None  # 别的县的接待：不表态 / another county's reception: no opinion
    if reception.host_unit.endswith(("镇人民政府", "乡人民政府")):
        steps = [ApprovalStep("乡镇主要负责人", "乡镇主要负责人")]
    else:
        steps = [ApprovalStep("部门负责人", "承办部门负责人"), ApprovalStep("分管领导", "分管领导")]
    rank = reception.letter.highest_rank
    if rank is not None and rank >= Rank.BUREAU:  # 厅局级以上来宾，报主要领导
        steps.append(ApprovalStep("主要领导", "主要领导"))
    return steps
