"""Routing 通知路由: who hears of what, and the outbox rows a committed command leaves.

The table maps ``trigger``, ``trigger:to`` or ``trigger:from>to`` to the roles told; for each
accepted command that has a route the engine writes one outbox row per notifier channel, in the
same transaction as the state change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jiedai_flow.findings import Severity
from jiedai_flow.model import Role
from jiedai_flow.records import Notification, new_id

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from jiedai_flow.lifecycle import CompiledProcess
    from jiedai_flow.model import Actor
    from jiedai_flow.records import AuditEvent, Reception

DEFAULT_ROUTES: Mapping[str, tuple[Role, ...]] = {
    "submit": (Role.APPROVER,),
    "withdraw": (Role.APPROVER,),
    "approve:submitted": (Role.APPROVER,),
    "approve:approved": (Role.HANDLER,),
    "approve:in_progress": (Role.HANDLER,),
    "approve:completed": (Role.HANDLER,),
    "return": (Role.HANDLER,),
    "refuse": (Role.HANDLER,),
    "refuse:in_progress>refused": (Role.HANDLER, Role.SUPERVISOR),
    "refuse:completed>refused": (Role.HANDLER, Role.SUPERVISOR),
    "amend": (Role.APPROVER,),
    "start_urgent": (Role.APPROVER, Role.SUPERVISOR),
    "claim": (Role.FINANCE,),
    "settle": (Role.FINANCE, Role.HANDLER),
    "cancel": (Role.APPROVER,),
    "cancel:approved>cancelled": (Role.HANDLER, Role.APPROVER, Role.SUPERVISOR),
}
"""Who hears of what: keys ``trigger:from>to``, ``trigger:to`` or ``trigger`` (most specific
first) to the roles told. Any finding that needed a written explanation (over standard) also
goes to the supervisor 纪检监察."""

DEFAULT_ACTIONS: Mapping[str, str] = {
    "submit": "请审批",
    "withdraw": "经办人已撤回，无需处理",
    "approve:submitted": "请审批下一环节",
    "approve:approved": "审批已通过，可按方案接待",
    "approve:in_progress": "补办审批已签署",
    "approve:completed": "补办审批已签署",
    "return": "请按退回意见修改后重新提交",
    "refuse": "不予接待，请告知派出单位",
    "amend": "方案已变更，请重新审批",
    "start_urgent": "已先行接待，请在时限内补办审批",
    "claim": "请审核报销凭证并结算",
    "settle": "已结算，请归档",
    "cancel": "接待已撤销，请知悉",
}
"""What the reader must do next, by the same keys as the routes."""


def route_keys(event: AuditEvent) -> tuple[str, str, str]:
    """The keys a route or action is looked up by, most specific first."""
    return (
        f"{event.trigger}:{event.from_state}>{event.to_state}",
        f"{event.trigger}:{event.to_state}",
        event.trigger,
    )


def lookup(table: Mapping[str, Any], event: AuditEvent) -> Any:
    """The most specific entry of ``table`` for ``event``, or None."""
    for key in route_keys(event):
        if key in table:
            return table[key]
    return None


def notifications(
    reception: Reception,
    event: AuditEvent,
    actor: Actor,
    process: CompiledProcess,
    routes: Mapping[str, Sequence[Role]] = DEFAULT_ROUTES,
    link_template: str = "",
) -> tuple[Notification, ...]:
    """The notification of one accepted command (none when its trigger has no route)."""
    recipients = tuple(lookup(routes, event) or ())
    if (
        any(f.severity is Severity.NEEDS_EXPLANATION for f in event.findings)
        and Role.SUPERVISOR not in recipients
    ):
        recipients += (Role.SUPERVISOR,)
    if not recipients:
        return ()
    label = process.trigger_defs[event.trigger].label
    state = process.label(event.to_state)
    reason = f"（理由：{event.reason}）" if event.reason else ""
    return (
        Notification(
            id=new_id(),
            reception_id=reception.id,
            event_id=event.id,
            topic=event.trigger,
            recipients=recipients,
            message_zh=f"接待 {reception.number}：{actor.name}「{label}」{reason}，当前状态「{state}」",
            message_en=f"reception {reception.number}: {actor.name} fired {event.trigger}; "
            f"now {event.to_state}",
            created_at=event.at,
            action_zh=lookup(DEFAULT_ACTIONS, event) or "",
            link=link_template.format(id=reception.id, number=reception.number) if link_template else "",
        ),
    )
