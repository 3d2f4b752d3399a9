"""Default authorization: the role table of the process definition. Plugin name ``jiedai.roles``.

It answers last (``trylast``), so a deployment's permission plugin answers first. Separation of
duties is not here: the engine checks it before any plugin is asked
(:func:`jiedai_flow.engine.separation_of_duties`), so no plugin can let a handler decide on their own
reception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.hookspecs import hookimpl
from jiedai_flow.model import Role
from jiedai_flow.records import Verdict

if TYPE_CHECKING:
    from jiedai_flow.lifecycle import Transition, TriggerDef
    from jiedai_flow.model import Actor
    from jiedai_flow.records import ApprovalStep, Reception


@hookimpl(trylast=True)
def jiedai_authorize(
    actor: Actor,
    reception: Reception,
    transition: Transition,
    step: ApprovalStep | None,
    trigger_def: TriggerDef,
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
    if trigger_def.submitter_only and actor.id != reception.submitted_by:
        return Verdict.deny(
            f"只有提交人可以「{trigger_def.label}」", f"only the submitter may {trigger_def.label_en}"
        )
    if step is not None:
        if not actor.roles & step.roles:
            return Verdict.deny(f"不是「{step.label}」审批人", f"not an approver of step {step.level!r}")
        if step.level and step.level not in actor.levels:
            return Verdict.deny(
                f"当前审批环节为「{step.label or step.level}」",
                f"the pending step is {step.level!r}",
            )
    return Verdict.allow()
