"""The reception lifecycle 接待流程 as data, and the adapter that runs it on ``transitions``.

States, triggers, the roles allowed to fire each trigger and the Chinese labels live in one
:class:`ProcessDefinition`. :class:`CompiledProcess` validates a definition once and builds one
``transitions.Machine(model=None)`` for it; a reception is fired by handing a small slotted token to
``machine.events[name].trigger(token)`` — no machine per reception, no ``add_model``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, TypeVar

import attrs
from transitions import Machine

from jiedai_flow.errors import DefinitionError
from jiedai_flow.model import Role

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping


@attrs.frozen
class StateDef:
    """One state: stable English name, Chinese label, whether the process ends there."""

    name: str
    label: str
    terminal: bool = False


@attrs.frozen
class TriggerDef:
    """One trigger 操作: its labels and whether the actor must give a reason."""

    name: str
    label: str
    label_en: str
    reason_required: bool = False


@attrs.frozen
class Transition:
    """``trigger`` moves ``source`` → ``dest`` for actors holding one of ``roles``.

    ``condition`` names a fact the engine establishes before firing (e.g. ``final_step``); the
    transition applies only when the fact holds, so one trigger can lead to different states.
    A handler acting as handler may fire it only on their own receptions (built-in roles plugin).
    """

    trigger: str
    source: str
    dest: str
    roles: frozenset[Role]
    condition: str | None = None


@attrs.frozen
class ProcessDefinition:
    """A versioned process: states, triggers and transitions. Each reception records name@version."""

    name: str
    version: str
    initial: str
    states: tuple[StateDef, ...]
    triggers: tuple[TriggerDef, ...]
    transitions: tuple[Transition, ...]

    @property
    def key(self) -> str:
        return f"{self.name}@{self.version}"

    def state(self, name: str) -> StateDef:
        return _by_name(self.states, name, "state")

    def trigger(self, name: str) -> TriggerDef:
        return _by_name(self.triggers, name, "trigger")


_Named = TypeVar("_Named", StateDef, TriggerDef)


def _by_name(items: Iterable[_Named], name: str, what: str) -> _Named:
    for item in items:
        if item.name == name:
            return item
    raise DefinitionError(f"未定义的{what}：{name}", f"unknown {what}: {name}")


FACT_FINAL_STEP = "final_step"
"""The approval being recorded is the last step of the chain."""
FACT_MORE_STEPS = "more_steps"
"""Steps of the approval chain remain after this one."""
FACT_NO_APPROVALS = "no_approvals"
"""No approver has acted on the current submission (so the submitter may withdraw)."""

FACT_RETRO_PENDING = "retro_pending"
"""补办: the reception started before approval and its approval chain is not yet complete."""

FACT_URGENT_ALLOWED = "urgent_allowed"
"""补办: the reception's standards allow an urgent reception to start before approval."""

KNOWN_FACTS = frozenset(
    {FACT_FINAL_STEP, FACT_MORE_STEPS, FACT_NO_APPROVALS, FACT_RETRO_PENDING, FACT_URGENT_ALLOWED}
)

_H = frozenset({Role.HANDLER})
_A = frozenset({Role.APPROVER})
_F = frozenset({Role.FINANCE})


def _t(trigger: str, source: str, dest: str, roles: frozenset[Role], **kw: Any) -> Transition:
    return Transition(trigger, source, dest, roles, **kw)


DEFAULT_PROCESS = ProcessDefinition(
    name="reception",
    version="1",
    initial="draft",
    states=(
        StateDef("draft", "草拟"),
        StateDef("submitted", "待审批"),
        StateDef("approved", "已审批"),
        StateDef("in_progress", "接待中"),
        StateDef("completed", "接待结束（待报销）"),
        StateDef("settling", "报销审核中"),
        StateDef("settled", "已结算"),
        StateDef("archived", "已归档", terminal=True),
        StateDef("refused", "不予接待", terminal=True),
        StateDef("cancelled", "已撤销", terminal=True),
    ),
    triggers=(
        TriggerDef("edit", "修改", "edit"),
        TriggerDef("submit", "提交审批", "submit"),
        TriggerDef("withdraw", "撤回", "withdraw"),
        TriggerDef("approve", "审批同意", "approve"),
        TriggerDef("return", "退回", "return for correction", reason_required=True),
        TriggerDef("refuse", "不予接待", "refuse", reason_required=True),
        TriggerDef("amend", "变更", "amend", reason_required=True),
        TriggerDef("start", "开始接待", "start"),
        TriggerDef("start_urgent", "紧急先行接待（事后补办审批）", "start before approval (urgent)", True),
        TriggerDef("finish", "接待结束", "finish"),
        TriggerDef("claim", "报销（提交清单）", "claim"),
        TriggerDef("settle", "结算", "settle"),
        TriggerDef("archive", "归档", "archive"),
        TriggerDef("cancel", "撤销", "cancel", reason_required=True),
    ),
    transitions=(
        _t("edit", "draft", "draft", _H),
        _t("edit", "completed", "completed", _H),
        _t("submit", "draft", "submitted", _H),
        _t("withdraw", "submitted", "draft", _H, condition=FACT_NO_APPROVALS),
        _t("approve", "submitted", "approved", _A, condition=FACT_FINAL_STEP),
        _t("approve", "submitted", "submitted", _A, condition=FACT_MORE_STEPS),
        _t("return", "submitted", "draft", _A),
        _t("return", "settling", "completed", _F),
        _t("refuse", "submitted", "refused", _A),
        _t("amend", "approved", "submitted", _H),
        _t("start", "approved", "in_progress", _H),
        _t("start_urgent", "draft", "in_progress", _H, condition=FACT_URGENT_ALLOWED),
        _t("start_urgent", "submitted", "in_progress", _H, condition=FACT_URGENT_ALLOWED),
        _t("approve", "in_progress", "in_progress", _A, condition=FACT_RETRO_PENDING),
        _t("approve", "completed", "completed", _A, condition=FACT_RETRO_PENDING),
        _t("refuse", "in_progress", "refused", _A, condition=FACT_RETRO_PENDING),
        _t("refuse", "completed", "refused", _A, condition=FACT_RETRO_PENDING),
        _t("finish", "in_progress", "completed", _H),
        _t("claim", "completed", "settling", _H),
        _t("settle", "settling", "settled", _F),
        _t("archive", "settled", "archived", frozenset({Role.FINANCE, Role.OFFICE})),
        _t("cancel", "draft", "cancelled", _H),
        _t("cancel", "submitted", "cancelled", _H | _A),
        _t("cancel", "approved", "cancelled", _H | _A),
    ),
)
"""The default process of the design:
草拟 → 待审批 → 已审批 → 接待中 → 接待结束 → 报销审核中 → 已结算 → 已归档."""


@attrs.define(slots=True)
class _Token:
    """What ``transitions`` sees of a reception: its state."""

    state: str


def _fact_condition(fact: str) -> Callable[[frozenset[str]], bool]:
    """A transition's condition: ``fact`` holds among the facts the trigger was fired with."""

    def holds(facts: frozenset[str]) -> bool:
        return fact in facts

    holds.__name__ = f"fact_{fact}"
    return holds


class CompiledProcess:
    """A validated process definition with its single ``transitions`` machine.

    Built once per definition; :meth:`fire` is O(1) in the number of receptions.
    """

    def __init__(self, definition: ProcessDefinition) -> None:
        validate_definition(definition)
        self.definition = definition
        self._by_source: dict[str, tuple[Transition, ...]] = {}
        for t in definition.transitions:
            self._by_source[t.source] = (*self._by_source.get(t.source, ()), t)
        self._labels = {s.name: s.label for s in definition.states}
        self.trigger_defs = {t.name: t for t in definition.triggers}
        self._machine = Machine(
            model=None,
            states=[s.name for s in definition.states],
            transitions=[
                {
                    "trigger": t.trigger,
                    "source": t.source,
                    "dest": t.dest,
                    "conditions": [_fact_condition(t.condition)] if t.condition else [],
                }
                for t in definition.transitions
            ],
            initial=definition.initial,
            auto_transitions=False,
            send_event=False,  # conditions get the trigger's facts, not an EventData
        )

    def transitions_from(self, state: str) -> tuple[Transition, ...]:
        """Every transition leaving ``state``, in definition order."""
        return self._by_source.get(state, ())

    def candidates(self, state: str, trigger: str) -> tuple[Transition, ...]:
        return tuple(t for t in self.transitions_from(state) if t.trigger == trigger)

    def triggers_from(self, state: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions_from(state)))

    def label(self, state: str) -> str:
        return self._labels[state]

    def fire(self, state: str, trigger: str, facts: frozenset[str]) -> str | None:
        """Run ``trigger`` from ``state`` through the machine; the new state, or None if no
        transition's condition held. The caller has checked that the trigger exists from ``state``."""
        token = _Token(state)
        if not self._machine.events[trigger].trigger(token, facts):
            return None
        return token.state

    def applicable(self, state: str, trigger: str, facts: frozenset[str]) -> Transition | None:
        """The transition ``trigger`` would take from ``state`` given ``facts`` (no side effects)."""
        for t in self.candidates(state, trigger):
            if t.condition is None or t.condition in facts:
                return t
        return None


def validate_definition(definition: ProcessDefinition) -> None:
    """Refuse a definition with unknown names, unreachable states or dead ends."""
    problems: list[str] = []
    states = {s.name: s for s in definition.states}
    triggers = {t.name for t in definition.triggers}
    if len(states) != len(definition.states):
        problems.append("duplicate state names")
    if len(triggers) != len(definition.triggers):
        problems.append("duplicate trigger names")
    if definition.initial not in states:
        problems.append(f"initial state {definition.initial!r} is not defined")
    edges: dict[str, set[str]] = {name: set() for name in states}
    for t in definition.transitions:
        for end in (t.source, t.dest):
            if end not in states:
                problems.append(f"transition {t.trigger}: unknown state {end!r}")
        if t.trigger not in triggers:
            problems.append(f"transition uses undefined trigger {t.trigger!r}")
        if t.condition is not None and t.condition not in KNOWN_FACTS:
            problems.append(f"transition {t.trigger}: unknown condition {t.condition!r}")
        if not t.roles:
            problems.append(f"transition {t.trigger} from {t.source}: no role may fire it")
        if t.source in edges and t.dest in states:
            edges[t.source].add(t.dest)
    if not problems:
        problems.extend(_graph_problems(definition.initial, states, edges))
    if problems:
        raise DefinitionError(
            f"流程定义 {definition.key} 有误：" + "；".join(problems),
            f"process definition {definition.key} is invalid: " + "; ".join(problems),
        )


def _graph_problems(initial: str, states: Mapping[str, StateDef], edges: Mapping[str, set[str]]) -> list[str]:
    problems: list[str] = []
    reachable = _closure(initial, edges)
    for name in states:
        if name not in reachable:
            problems.append(f"state {name!r} is unreachable from {initial!r}")
    reverse: dict[str, set[str]] = {name: set() for name in states}
    for src, dests in edges.items():
        for dest in dests:
            reverse[dest].add(src)
    terminals = [name for name, s in states.items() if s.terminal]
    if not terminals:
        problems.append("no terminal state")
    can_finish: set[str] = set()
    for end in terminals:
        can_finish |= _closure(end, reverse)
    for name, state in states.items():
        if state.terminal and edges[name]:
            problems.append(f"terminal state {name!r} has outgoing transitions")
        if not state.terminal and name not in can_finish:
            problems.append(f"state {name!r} is a dead end (no path to a terminal state)")
    return problems


def _closure(start: str, edges: Mapping[str, set[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen
