"""Routing 通知路由: who hears of what, and the outbox rows a committed command leaves.

Who is told and what they must do are declared on the process definition (``TriggerDef.notify`` and
``action_zh``, overridden per ``Transition``). A deployment may instead give a table, by
``jiedai_routes`` or ``Engine(routes=…)``, from ``trigger``, ``trigger:to``, ``trigger:from>to`` or
``trigger:from>to[condition]`` to the roles told. For each accepted command that reaches someone
the engine writes one outbox row per notifier channel, in the same transaction as the state change.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from jiedai_flow.domain.findings import Severity
from jiedai_flow.domain.model import Role
from jiedai_flow.domain.records import Notification, StepKind, TaskKind, new_id
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS, told_as_declared

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.records import AuditEvent, Reception
    from jiedai_flow.process.lifecycle import CompiledProcess, ProcessDefinition, Transition


def routes_of(definition: ProcessDefinition) -> dict[str, tuple[Role, ...]]:
    """The definition's declarations as a routing table: ``trigger`` for what a trigger declares,
    ``trigger:from>to`` for a transition that says otherwise, ``trigger:from>to[condition]`` where
    the trigger has several transitions from ``from`` to ``to`` (a 补办 signature: the last step or
    not). A starting point for a county's own."""
    table: dict[str, tuple[Role, ...]] = {t.name: t.notify for t in definition.triggers if t.notify}
    for key, t in _keyed(definition):
        if t.notify is not None:
            table[key] = t.notify
    return table


def actions_of(definition: ProcessDefinition) -> dict[str, str]:
    """What the reader must do next, by the same keys as :func:`routes_of`."""
    table = {t.name: t.action_zh for t in definition.triggers if t.action_zh}
    for key, t in _keyed(definition):
        if t.action_zh is not None:
            table[key] = t.action_zh
    return table


def _keyed(definition: ProcessDefinition) -> list[tuple[str, Transition]]:
    """Each transition as told (:func:`told_as_declared`) with its key: the condition joins the key
    of a transition that shares its trigger and states with another."""
    told = told_as_declared(definition)
    shared = Counter((t.trigger, t.source, t.dest) for t in told)
    keyed = []
    plain: set[tuple[str, str, str]] = set()
    for t in told:
        moved = (t.trigger, t.source, t.dest)
        if shared[moved] > 1:
            keyed.append((_key(*moved, t.condition), t))
        # the first declared also under the plain key: a process that signs on another condition
        # (补办 on retro_pending alone) falls back to it
        if moved not in plain:
            plain.add(moved)
            keyed.append((_key(*moved, None), t))
    return keyed


def _key(trigger: str, source: str, dest: str, condition: str | None) -> str:
    return f"{trigger}:{source}>{dest}" + (f"[{condition}]" if condition else "")


DEFAULT_ROUTES: Mapping[str, tuple[Role, ...]] = routes_of(DEFAULT_PROCESS)
"""The default process's declarations as a table (:func:`routes_of`). Any finding that needed a
written explanation (over standard) also goes to the supervisor 纪检监察."""


def route_keys(event: AuditEvent, condition: str | None = None) -> tuple[str, ...]:
    """The keys a route or action is looked up by, most specific first; ``condition`` is that of
    the transition the event took."""
    moved = (event.trigger, event.from_state, event.to_state)
    keys = (_key(*moved, None), f"{event.trigger}:{event.to_state}", event.trigger)
    return keys if condition is None else (_key(*moved, condition), *keys)


def lookup(table: Mapping[str, Any], event: AuditEvent, condition: str | None = None) -> Any:
    """The most specific entry of ``table`` for ``event``, or None."""
    for key in route_keys(event, condition):
        if key in table:
            return table[key]
    return None


def still_open(reception: Reception) -> tuple[str, str]:
    """What a signature that leaves its step open says, in Chinese and English, instead of asking
    for the next step: the step awaits the others — how many signatures where each task must be
    signed (会签), a 票签 its threshold. It asks nobody to act: the others hold their tasks already."""
    step = reception.next_step
    if step is not None and step.kind is StepKind.VOTE:  # how many votes remain depends on who votes
        return (
            "本环节票签尚未达到通过票数，尚待其他审批人投票",
            "this step's vote has not reached its threshold yet: it awaits other votes",
        )
    tasks = reception.step_tasks(reception.current_step) if step is not None else ()
    left = sum(1 for t in tasks if t.kind is TaskKind.APPROVAL and t.live)
    if not left:
        return "本环节尚待其他审批人签署", "this step still awaits other signatures"
    signatures = "signature" if left == 1 else "signatures"
    if left > 1 and step is not None and step.kind is StepKind.SEQUENTIAL:
        return (
            f"本环节尚待其他 {left} 位审批人依次签署",
            f"this step still awaits {left} more {signatures}, in turn",
        )
    return f"本环节尚待其他 {left} 位审批人签署", f"this step still awaits {left} more {signatures}"


def notifications(
    reception: Reception,
    event: AuditEvent,
    actor: Actor,
    process: CompiledProcess,
    routes: Mapping[str, Sequence[Role]] | None = None,
    link_template: str = "",
    people: Sequence[str] = (),
    *,
    condition: str | None = None,
    step_open: bool = False,
) -> tuple[Notification, ...]:
    """The notification of one accepted command (none when nobody is to hear of it).

    :param routes: a table that overrides the definition's declarations, or None.
    :param people: actor ids the command addresses by name (new task owners, the urged, the
        copied): the notification names them besides the roles.
    :param condition: the condition of the transition taken, which tells apart transitions of one
        trigger between the same states (a 补办 signature on its last step or not).
    :param step_open: the command is a signature that left its step open (a 会签 or 票签 still
        waiting on others): told to whom the transition tells, but as :func:`still_open` says
        instead of what the transition asks (its ``more_steps`` asks for the next step, which is
        not there yet).
    """
    moved = (event.trigger, event.from_state, event.to_state, condition)
    if routes is None:
        recipients = process.recipients(*moved)
    else:
        recipients = tuple(lookup(routes, event, condition) or ())
    if (
        any(f.severity is Severity.NEEDS_EXPLANATION for f in event.findings)
        and Role.SUPERVISOR not in recipients
    ):
        recipients += (Role.SUPERVISOR,)
    if not recipients and not people:
        return ()
    label = process.trigger_defs[event.trigger].label
    state = process.label(event.to_state)
    reason = f"（理由：{event.reason}）" if event.reason else ""
    if step_open:
        action_zh, action_en = still_open(reception)
    else:
        action_zh, action_en = process.action(*moved), process.action_en(*moved)
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
            action_zh=action_zh,
            action_en=action_en,
            link=link_template.format(id=reception.id, number=reception.number) if link_template else "",
            people=tuple(people),
        ),
    )
