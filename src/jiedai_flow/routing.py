"""Routing 通知路由: who hears of what, and the outbox rows a committed command leaves.

The table maps ``trigger`` or ``trigger:destination`` to the roles told; the engine writes one
outbox row per accepted command that has a route, in the same transaction as the state change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiedai_flow.model import Role
from jiedai_flow.records import Notification, new_id

if TYPE_CHECKING:
    from collections.abc import Mapping

    from jiedai_flow.lifecycle import CompiledProcess
    from jiedai_flow.model import Actor
    from jiedai_flow.records import AuditEvent, Reception

DEFAULT_ROUTES: Mapping[str, tuple[Role, ...]] = {
    "submit": (Role.APPROVER,),
    "withdraw": (Role.APPROVER,),
    "approve:submitted": (Role.APPROVER,),
    "approve:approved": (Role.HANDLER,),
    "return": (Role.HANDLER,),
    "refuse": (Role.HANDLER, Role.SUPERVISOR),
    "amend": (Role.APPROVER, Role.SUPERVISOR),
    "claim": (Role.FINANCE,),
    "settle": (Role.HANDLER, Role.FINANCE),
    "cancel": (Role.HANDLER, Role.APPROVER, Role.SUPERVISOR),
}
"""Who hears of what, by ``trigger`` or ``trigger:destination``: outbox recipients' roles."""


def notifications(
    reception: Reception,
    event: AuditEvent,
    actor: Actor,
    process: CompiledProcess,
    routes: Mapping[str, tuple[Role, ...]] = DEFAULT_ROUTES,
) -> tuple[Notification, ...]:
    """The outbox rows of one accepted command (none when its trigger has no route)."""
    recipients = routes.get(f"{event.trigger}:{event.to_state}") or routes.get(event.trigger)
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
        ),
    )
