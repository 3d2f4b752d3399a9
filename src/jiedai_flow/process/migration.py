"""Versions of a process and the receptions running on them 流程版本迁移.

Each reception keeps the ``name@version`` it started on, so a county can publish version 2 of its
process while last year's receptions finish on version 1. When a version must be retired, a
:class:`MigrationPlan` says where each state of the old version goes in the new one:

- :func:`plan_migration` is the dry run: every reception on the old version, its state before and
  after, and every reception that cannot move, with the reason. It reads the typed columns only
  (id, number, state, version), never a reception's document.
- :func:`apply_migration` moves them, one audited command per reception (``Engine.migrate``):
  authorized, compare-and-set on the version read by the plan, idempotent by a request id derived
  from the plan, and on the audit chain with the old and the new version.
- :func:`replay` checks a reception's audit trail against a definition: which of its steps the
  definition would not allow. This is how a county checks a new version against last year's
  receptions before it switches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import attrs

from jiedai_flow.errors import DefinitionError, JiedaiFlowError
from jiedai_flow.process.engine import MIGRATE, migration_refusal
from jiedai_flow.process.lifecycle import CompiledProcess

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from jiedai_flow.domain.model import Actor
    from jiedai_flow.domain.records import AuditEvent
    from jiedai_flow.process.engine import Engine
    from jiedai_flow.process.lifecycle import ProcessDefinition, Transition

__all__ = [
    "DefinitionDiff",
    "MigrationPlan",
    "MigrationReport",
    "Move",
    "ReplayReport",
    "ReplayStep",
    "apply_migration",
    "definition_diff",
    "plan_migration",
    "plan_mistakes",
    "replay",
    "unchanged",
]


def _frozen_map(value: Mapping[str, str] | None) -> Mapping[str, str]:
    return dict(value or {})


@attrs.frozen
class MigrationPlan:
    """Where the states (and, for replay, the triggers) of ``source`` go in ``target``.

    A state not in ``states`` keeps its name; a trigger not in ``triggers`` too.
    """

    source: str
    """The old version, ``name@version``."""
    target: str
    """The new version."""
    states: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)
    triggers: Mapping[str, str] = attrs.field(factory=dict, converter=_frozen_map)

    def state_in_target(self, state: str) -> str:
        return self.states.get(state, state)

    def trigger_in_target(self, trigger: str) -> str:
        return self.triggers.get(trigger, trigger)

    @property
    def key(self) -> str:
        """Names the plan in request ids: a second run of the same plan replays."""
        return f"{self.source}>{self.target}"


class Move(NamedTuple):
    """One reception of a migration: its state before and after, or why it cannot move."""

    reception_id: str
    number: str
    version: int
    before: str
    after: str | None
    """The state in the target, or None when it cannot move."""
    reason_zh: str = ""
    reason_en: str = ""


@attrs.frozen
class MigrationReport:
    """A dry run (``applied`` empty) or an applied migration."""

    plan: MigrationPlan
    moves: tuple[Move, ...]
    applied: tuple[str, ...] = ()
    """Receptions moved by this run (ids)."""
    already: tuple[str, ...] = ()
    """Receptions a previous run of the same plan had moved (its request replayed)."""
    refused: tuple[tuple[str, JiedaiFlowError], ...] = ()
    """Receptions whose command was refused (a stale version, say), with the error; unchanged."""

    @property
    def movable(self) -> tuple[Move, ...]:
        return tuple(m for m in self.moves if m.after is not None)

    @property
    def blocked(self) -> tuple[Move, ...]:
        return tuple(m for m in self.moves if m.after is None)


def _compiled(engine: Engine, key: str, what: str) -> CompiledProcess:
    loaded = [d.key for d in engine.processes]
    if key not in loaded:
        raise DefinitionError(
            f"{what}流程 {key} 未加载（已加载：{'、'.join(loaded)}）",
            f"process {key} is not loaded ({', '.join(loaded)})",
        )
    return engine.compiled(key)


def plan_migration(engine: Engine, plan: MigrationPlan) -> MigrationReport:
    """The dry run: every reception on ``plan.source`` with its state before and after.

    :raises DefinitionError: a version is not loaded, the plan would change nothing (:func:`unchanged`),
        or it maps a name a side does not have (:func:`plan_mistakes`).
    """
    source = _compiled(engine, plan.source, "源")
    target = _compiled(engine, plan.target, "目标")
    mistakes = unchanged(plan) or plan_mistakes(plan, source.definition, target.definition)
    if mistakes is not None:
        raise DefinitionError(*mistakes)
    decisions = {
        state.name: _decision(source, state.name, target, plan.state_in_target(state.name))
        for state in source.definition.states
    }
    new = tuple.__new__  # a Move without NamedTuple's keyword handling: 100,000s are made
    moves = tuple(
        new(Move, (rid, number, version, state, *decisions[state]))
        for rid, number, state, version in engine.store.process_members(plan.source)
    )
    return MigrationReport(plan, moves)


def unchanged(plan: MigrationPlan) -> tuple[str, str] | None:
    """Why migrating by ``plan`` would change nothing (Chinese, English), or None: the same version
    on both sides, where every reception would "move" to where it is, with an audit event each."""
    if plan.source != plan.target:
        return None
    return (
        f"源流程与目标流程都是 {plan.source}，迁移不会改变任何接待；请给出要迁往的另一个版本",
        f"source and target are both {plan.source}: migrating would change nothing; "
        "name the other version to migrate to",
    )


def plan_mistakes(
    plan: MigrationPlan, was: ProcessDefinition, will: ProcessDefinition
) -> tuple[str, str] | None:
    """What is wrong with the names ``plan`` maps between the definitions ``was`` and ``will``
    (Chinese, English), or None: a state or trigger that a side does not have (a misspelt name
    would otherwise be ignored). A command line reports it as the user's mistake."""
    zh: list[str] = []
    en: list[str] = []
    for side, what, names, known in (
        (("源流程", "the source"), ("状态", "state"), set(plan.states), was.state_names),
        (("目标流程", "the target"), ("状态", "state"), set(plan.states.values()), will.state_names),
        (("源流程", "the source"), ("操作", "trigger"), set(plan.triggers), was.trigger_names),
        (("目标流程", "the target"), ("操作", "trigger"), set(plan.triggers.values()), will.trigger_names),
    ):
        missing = sorted(names - known)
        if missing:
            zh.append(f"{side[0]}没有{what[0]} {'、'.join(missing)}")
            en.append(f"{side[1]} has no {what[1]} {', '.join(missing)}")
    if zh:
        return "迁移计划有误：" + "；".join(zh), "the migration plan is wrong: " + "; ".join(en)
    return None


def _decision(
    source: CompiledProcess, state: str, target: CompiledProcess, into: str
) -> tuple[str | None, str, str]:
    refusal = migration_refusal(source, state, target, into)
    if refusal is None:
        return (into, "", "")
    return (None, *refusal)


def apply_migration(
    engine: Engine,
    plan: MigrationPlan,
    actor: Actor,
    *,
    reason: str,
    report: MigrationReport | None = None,
) -> MigrationReport:
    """Move every movable reception of the dry run, one audited command each, compare-and-set on
    the version the dry run read. A reception changed since (a stale version) is refused and left
    as it was; run the plan again to move it. Request ids derive from the plan, so a second run
    replays what the first moved instead of moving it twice.

    :param report: the dry run that was reviewed (default: a fresh one); its versions are the ones
        compared and set, so what changed after the review is refused, not moved blind.
    """
    if report is None or report.plan != plan:
        report = plan_migration(engine, plan)
    applied: list[str] = []
    already: list[str] = []
    refused: list[tuple[str, JiedaiFlowError]] = []
    for move in report.movable:
        assert move.after is not None
        try:
            result = engine.migrate(
                move.reception_id,
                plan.target,
                move.after,
                actor,
                reason=reason,
                request_id=f"{MIGRATE}:{plan.key}:{move.reception_id}@{move.version}",
                expected_version=move.version,
            )
        except JiedaiFlowError as error:  # a stale version (ConflictError) above all
            refused.append((move.reception_id, error))
            continue
        (already if result.replayed else applied).append(move.reception_id)
    return attrs.evolve(report, applied=tuple(applied), already=tuple(already), refused=tuple(refused))


@attrs.frozen
class ReplayStep:
    """A step of a trail that the definition would not allow."""

    reception_id: str
    seq: int
    trigger: str
    from_state: str
    to_state: str
    reason_zh: str
    reason_en: str


@attrs.frozen
class ReplayReport:
    """The trails replayed against one definition, and the steps it would not allow."""

    definition: str
    receptions: int
    steps: int
    refused: tuple[ReplayStep, ...]

    @property
    def ok(self) -> bool:
        return not self.refused


def replay(
    engine: Engine,
    definition: ProcessDefinition,
    reception_ids: Iterable[str],
    plan: MigrationPlan | None = None,
) -> ReplayReport:
    """Replay the audit trails of ``reception_ids`` against ``definition`` (names mapped through
    ``plan``): every step must be a transition of the definition, from and to the same states,
    that one of the roles the actor held may fire. Conditions (which depend on facts of the moment,
    like the position in the approval chain) are not re-judged; ``migrate`` steps are skipped.
    """
    compiled = CompiledProcess(definition)
    refused: list[ReplayStep] = []
    receptions = steps = 0
    for rid in reception_ids:
        receptions += 1
        trail = engine.history(rid)
        for event in trail[1:]:  # the first event registers the reception
            if event.trigger == MIGRATE:
                continue
            steps += 1
            problem = _replay_step(compiled, event, plan)
            if problem is not None:
                refused.append(
                    ReplayStep(rid, event.seq, event.trigger, event.from_state, event.to_state, *problem)
                )
    return ReplayReport(definition.key, receptions, steps, tuple(refused))


def _replay_step(
    compiled: CompiledProcess, event: AuditEvent, plan: MigrationPlan | None
) -> tuple[str, str] | None:
    trigger = plan.trigger_in_target(event.trigger) if plan else event.trigger
    source = plan.state_in_target(event.from_state) if plan else event.from_state
    dest = plan.state_in_target(event.to_state) if plan else event.to_state
    key = compiled.definition.key
    if trigger not in compiled.trigger_defs:
        return (f"{key} 没有操作「{trigger}」", f"{key} has no trigger {trigger!r}")
    found = compiled.transition(trigger, source, dest)
    if found is None:
        return (
            f"{key} 不允许「{trigger}」从「{source}」到「{dest}」",
            f"{key} has no {trigger}: {source} -> {dest}",
        )
    if not found.roles & frozenset(event.actor_roles):
        return (
            f"{key} 中「{trigger}」须由 {'、'.join(sorted(found.roles))} 执行，当时操作人是 "
            f"{'、'.join(event.actor_roles) or '无角色'}",
            f"{key}: {trigger} needs one of {sorted(found.roles)}; the actor held {list(event.actor_roles)}",
        )
    return None


@attrs.frozen
class DefinitionDiff:
    """What changed from one definition to another."""

    source: str
    target: str
    states_added: tuple[str, ...]
    states_removed: tuple[str, ...]
    states_changed: tuple[str, ...]
    triggers_added: tuple[str, ...]
    triggers_removed: tuple[str, ...]
    triggers_changed: tuple[str, ...]
    transitions_added: tuple[str, ...]
    transitions_removed: tuple[str, ...]

    @property
    def same(self) -> bool:
        return not any(
            (
                self.states_added,
                self.states_removed,
                self.states_changed,
                self.triggers_added,
                self.triggers_removed,
                self.triggers_changed,
                self.transitions_added,
                self.transitions_removed,
            )
        )


def definition_diff(source: ProcessDefinition, target: ProcessDefinition) -> DefinitionDiff:
    """States, triggers and transitions added, removed or changed from ``source`` to ``target``."""
    s_states = {s.name: s for s in source.states}
    t_states = {s.name: s for s in target.states}
    s_trig = {t.name: t for t in source.triggers}
    t_trig = {t.name: t for t in target.triggers}

    def edge(t: Transition) -> str:
        cond = f" [{t.condition}]" if t.condition else ""
        return f"{t.trigger}: {t.source} -> {t.dest}{cond} ({','.join(sorted(t.roles))})"

    s_edges = {edge(t) for t in source.transitions}
    t_edges = {edge(t) for t in target.transitions}
    return DefinitionDiff(
        source=source.key,
        target=target.key,
        states_added=tuple(sorted(t_states.keys() - s_states.keys())),
        states_removed=tuple(sorted(s_states.keys() - t_states.keys())),
        states_changed=tuple(
            sorted(n for n in s_states.keys() & t_states.keys() if s_states[n] != t_states[n])
        ),
        triggers_added=tuple(sorted(t_trig.keys() - s_trig.keys())),
        triggers_removed=tuple(sorted(s_trig.keys() - t_trig.keys())),
        triggers_changed=tuple(sorted(n for n in s_trig.keys() & t_trig.keys() if s_trig[n] != t_trig[n])),
        transitions_added=tuple(sorted(t_edges - s_edges)),
        transitions_removed=tuple(sorted(s_edges - t_edges)),
    )
