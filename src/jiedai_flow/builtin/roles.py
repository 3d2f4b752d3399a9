"""Default authorization: the role table of the process definition, and separation of duties.

Plugin names: ``jiedai.roles``. The role check answers last (``trylast``); the separation-of-duties
wrapper wraps every answer, so even a permissive plugin cannot let a handler approve or settle
their own reception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.model import Role
from jiedai_flow.records import Verdict

if TYPE_CHECKING:
    from collections.abc import Generator

    from jiedai_flow.lifecycle import Transition
    from jiedai_flow.model import Actor
    from jiedai_flow.records import ApprovalStep, Reception

DECIDING_TRIGGERS = frozenset({"approve", "refuse", "return", "settle"})
"""Triggers that decide on someone else's work: the reception's handler may not fire them."""


@hookimpl(trylast=True)
def jiedai_authorize(
    actor: Actor,
    trigger: str,
    reception: Reception,
    transition: Transition,
    step: ApprovalStep | None,
) -> Verdict:
    acting_as = actor.roles & transition.roles
    if not acting_as:
        needed = "、".join(r.label for r in sorted(transition.roles))
        return Verdict.deny(
            f"需要角色：{needed}",
            "requires one of the roles: " + ", ".join(sorted(transition.roles)),
        )
    # A handler acts as handler only on their own receptions; an approver may also cancel.
    if acting_as == {Role.HANDLER} and actor.id != reception.handler.id:
        return Verdict.deny(
            f"只有本接待的经办人（{reception.handler.name}）可以操作",
            f"only the reception's handler ({reception.handler.id}) may do this",
        )
    if trigger == "withdraw" and actor.id != reception.submitted_by:
        return Verdict.deny("只有提交人可以撤回", "only the submitter may withdraw")
    if step is not None:
        if not actor.roles & step.roles:
            return Verdict.deny(f"不是「{step.label}」审批人", f"not an approver of step {step.level!r}")
        if step.level and step.level not in actor.levels:
            return Verdict.deny(
                f"当前审批环节为「{step.label or step.level}」",
                f"the pending step is {step.level!r}",
            )
    return Verdict.allow()


@hookimpl(specname="jiedai_authorize", wrapper=True, tryfirst=True)
def separation_of_duties(
    actor: Actor,
    trigger: str,
    reception: Reception,
) -> Generator[None, Verdict | bool | None, Verdict | bool | None]:
    verdict = yield
    if trigger not in DECIDING_TRIGGERS:
        return verdict
    if reception.handled_by(actor.id):
        return Verdict.deny(
            "经办人不能审批、退回或结算自己经办的接待（不相容职务分离）",
            "separation of duties: the handler may not approve, return or settle their own reception",
        )
    if trigger == "approve" and any(a.actor_id == actor.id for a in reception.approvals):
        return Verdict.deny("同一人不能签署两个审批环节", "one person may not sign two approval steps")
    return verdict
