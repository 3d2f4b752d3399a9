"""Default authorization: the role table of the process definition. Plugin name ``jiedai.roles``.

It answers last (``trylast``), so a deployment's permission plugin answers first. Separation of
duties is not here: the engine checks it before any plugin is asked
(:func:`jiedai_flow.process.engine.separation_of_duties`), so no plugin can let a handler decide on their own
reception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.domain.model import Role
from jiedai_flow.domain.records import TaskKind, Verdict
from jiedai_flow.hookspecs import hookimpl

if TYPE_CHECKING:
    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.records import ApprovalStep, Reception, Task
    from jiedai_flow.process.lifecycle import Transition, TriggerDef


@hookimpl(trylast=True)
def jiedai_authorize(
    actor: Actor,
    reception: Reception,
    transition: Transition,
    step: ApprovalStep | None,
    trigger_def: TriggerDef,
    task: Task | None = None,
) -> Verdict:
    acting_as = actor.roles & transition.roles
    if not acting_as:
        needed = "、".join(r.label for r in sorted(transition.roles))
        return Verdict.deny(
            f"需要角色：{needed}",
            "requires one of the roles: " + ", ".join(sorted(transition.roles)),
        )
    # A handler acts as handler only on their own receptions; an approver may also cancel. The
    # holder of a task (an execution item, a delegated opinion) acts on it whatever their role, and
    # so does their stand-in 代理: the engine hands over a task with an owner only when the actor
    # holds it or stands in for its holder (a pool's nobody holds is judged below, by membership).
    holds = task is not None and bool(task.owner)
    if acting_as == {Role.HANDLER} and actor.id != reception.handler.id and not holds:
        return Verdict.deny(
            f"只有本接待的经办人（{reception.handler.name}）可以操作",
            f"only the reception's handler ({reception.handler.id}) may do this",
        )
    if trigger_def.submitter_only and actor.id != reception.submitted_by:
        return Verdict.deny(
            f"只有提交人可以「{trigger_def.label}」", f"only the submitter may {trigger_def.label_en}"
        )
    if task is not None and not task.owner and not task.assignee.pools(actor):
        return Verdict.deny(
            f"当前审批环节为「{task.assignee.shown}」，您不在其中",
            f"the task is for the pool {task.assignee.ref!r}, which you are not in",
        )
    if step is not None and (task is None or (task.kind is TaskKind.APPROVAL and not task.owner)):
        if not actor.roles & step.roles:
            return Verdict.deny(f"不是「{step.label}」审批人", f"not an approver of step {step.level!r}")
        if step.level and step.level not in actor.levels:
            return Verdict.deny(
                f"当前审批环节为「{step.label or step.level}」",
                f"the pending step is {step.level!r}",
            )
    return Verdict.allow()
