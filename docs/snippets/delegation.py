"""委托审批：领导外出时把某一审批环节委托给他人代签；其余情况不表态，交给内置角色表。"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow import Role, Verdict, hookimpl

if TYPE_CHECKING:
    from jiedai_flow import Actor, ApprovalStep

# 受托人 → 可代签的审批环节（实际由 OA 的委托记录提供）
DELEGATIONS: dict[str, frozenset[str]] = {"sun.hao": frozenset({"分管领导"})}


@hookimpl
def jiedai_authorize(actor: Actor, trigger: str, step: ApprovalStep | None) -> Verdict | None:
    if trigger != "approve" or step is None or Role.APPROVER not in actor.roles:
        return None  # 无意见：继续问下一个实现，最后是内置角色表 jiedai.roles
    if step.level in DELEGATIONS.get(actor.id, frozenset()):
        return Verdict.allow()  # 放行即跳过内置角色表，所以上面自己核对了角色
    return None
