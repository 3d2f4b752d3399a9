"""The process definition as data: validation, the ``transitions`` adapter, labels and versions."""

from __future__ import annotations

import re
from collections import deque
from typing import TYPE_CHECKING

import attrs
import pytest

from jiedai_flow import (
    DEFAULT_PROCESS,
    DefinitionError,
    JiedaiFlowError,
    MemoryStore,
    ProcessDefinition,
    Role,
    StateDef,
    Transition,
    TriggerDef,
    make_plugin_manager,
)
from jiedai_flow.process.engine import Engine
from jiedai_flow.process.lifecycle import (
    FACT_FINAL_STEP,
    FACT_MORE_STEPS,
    FACT_NO_APPROVALS,
    FACT_RETRO_FINAL_STEP,
    FACT_RETRO_MORE_STEPS,
    FACT_RETRO_PENDING,
    KNOWN_FACTS,
    CompiledProcess,
    validate_definition,
)
from jiedai_flow.testing import ACTORS, FrozenClock, register_sample

if TYPE_CHECKING:
    from collections.abc import Callable

HANDLER = frozenset({Role.HANDLER})
CJK = re.compile(r"[\u4e00-\u9fff]")


def _reachable(definition: ProcessDefinition) -> set[str]:
    seen = {definition.initial}
    queue = deque([definition.initial])
    while queue:
        state = queue.popleft()
        for t in definition.transitions:
            if t.source == state and t.dest not in seen:
                seen.add(t.dest)
                queue.append(t.dest)
    return seen


def _with(
    *,
    states: tuple[StateDef, ...] = (),
    triggers: tuple[TriggerDef, ...] = (),
    transitions: tuple[Transition, ...] = (),
    initial: str = DEFAULT_PROCESS.initial,
) -> ProcessDefinition:
    """DEFAULT_PROCESS with extra states, triggers and transitions (and maybe another initial state)."""
    return attrs.evolve(
        DEFAULT_PROCESS,
        initial=initial,
        states=DEFAULT_PROCESS.states + states,
        triggers=DEFAULT_PROCESS.triggers + triggers,
        transitions=DEFAULT_PROCESS.transitions + transitions,
    )


def _rejected(definition: ProcessDefinition) -> DefinitionError:
    with pytest.raises(DefinitionError) as caught:
        validate_definition(definition)
    with pytest.raises(DefinitionError):
        CompiledProcess(definition)
    return caught.value


# -- the default process -------------------------------------------------------------------------


def test_default_process_validates_and_compiles() -> None:
    validate_definition(DEFAULT_PROCESS)
    compiled = CompiledProcess(DEFAULT_PROCESS)
    assert compiled.definition is DEFAULT_PROCESS


def test_every_state_of_the_default_process_is_reachable_from_draft() -> None:
    assert DEFAULT_PROCESS.initial == "draft"
    assert _reachable(DEFAULT_PROCESS) == {s.name for s in DEFAULT_PROCESS.states}


def test_only_terminal_states_lack_outgoing_transitions() -> None:
    """A terminal state has no way out; its one transition is 已阅 to itself (a copy may be read
    after the reception ended), which changes no state."""
    sources = {t.source for t in DEFAULT_PROCESS.transitions if t.source != t.dest}
    without_exit = {s.name for s in DEFAULT_PROCESS.states if s.name not in sources}
    terminal = {s.name for s in DEFAULT_PROCESS.states if s.terminal}
    assert without_exit == terminal == {"archived", "refused", "cancelled", "terminated"}
    from_terminal = {t.trigger for t in DEFAULT_PROCESS.transitions if t.source in terminal}
    assert from_terminal == {"mark_read"}


def test_every_transition_names_defined_states_triggers_roles_and_facts() -> None:
    states = {s.name for s in DEFAULT_PROCESS.states}
    triggers = {t.name for t in DEFAULT_PROCESS.triggers}
    for t in DEFAULT_PROCESS.transitions:
        assert {t.source, t.dest} <= states
        assert t.trigger in triggers
        assert t.roles
        assert t.condition is None or t.condition in KNOWN_FACTS or t.condition == f"to:{t.dest}"


def test_every_trigger_and_state_has_a_chinese_label() -> None:
    for trigger in DEFAULT_PROCESS.triggers:
        assert CJK.search(trigger.label), trigger
        assert trigger.label_en.strip(), trigger
    for state in DEFAULT_PROCESS.states:
        assert CJK.search(state.label), state


def test_every_state_of_the_default_process_has_an_english_label() -> None:
    """--lang en shows a state by its English label: the default process declares one for each state
    (the one with_operations adds too), plain words rather than the id it falls back to."""
    compiled = CompiledProcess(DEFAULT_PROCESS)
    for state in DEFAULT_PROCESS.states:
        assert state.label_en.strip(), state
        assert not CJK.search(state.label_en), state
        assert "_" not in state.label_en, state  # an id such as in_progress, not words
        assert compiled.label_en(state.name) == state.label_en
    english = [s.label_en for s in DEFAULT_PROCESS.states]
    assert len(set(english)) == len(english), english
    assert compiled.label_en("in_progress") == "under way"
    assert compiled.label_en("submitted") == "awaiting approval"


def test_return_refuse_amend_cancel_and_urgent_start_require_a_reason() -> None:
    needs_reason = {t.name for t in DEFAULT_PROCESS.triggers if t.reason_required and t.operation is None}
    assert needs_reason == {"return", "refuse", "amend", "cancel", "start_urgent"}


def test_version_key_is_name_at_version() -> None:
    assert DEFAULT_PROCESS.key == "reception@1"


def test_lookup_of_an_unknown_state_or_trigger_raises_definition_error() -> None:
    assert DEFAULT_PROCESS.state("settled").label == "已结算"
    assert DEFAULT_PROCESS.trigger("approve").label == "审批同意"
    with pytest.raises(DefinitionError, match="unknown state: nowhere"):
        DEFAULT_PROCESS.state("nowhere")
    with pytest.raises(DefinitionError, match="unknown trigger: teleport"):
        DEFAULT_PROCESS.trigger("teleport")


# -- validation rejects malformed definitions ----------------------------------------------------


def test_unreachable_state_is_rejected() -> None:
    error = _rejected(
        _with(
            states=(StateDef("limbo", "悬置"),),
            transitions=(Transition("cancel", "limbo", "cancelled", HANDLER),),
        )
    )
    assert "state 'limbo' is unreachable from 'draft'" in error.message_en
    assert "limbo" in error.message_zh
    assert error.code == "definition"


def test_dead_end_non_terminal_state_is_rejected() -> None:
    error = _rejected(
        _with(
            states=(StateDef("stuck", "卡住"),),
            transitions=(Transition("edit", "draft", "stuck", HANDLER),),
        )
    )
    assert "state 'stuck' is a dead end" in error.message_en


def test_terminal_state_with_an_outgoing_transition_is_rejected() -> None:
    error = _rejected(_with(transitions=(Transition("edit", "archived", "draft", HANDLER),)))
    assert "terminal state 'archived' has outgoing transitions" in error.message_en


def test_transition_to_an_unknown_state_is_rejected() -> None:
    error = _rejected(_with(transitions=(Transition("edit", "draft", "nowhere", HANDLER),)))
    assert "unknown state 'nowhere'" in error.message_en


def test_transition_from_an_unknown_state_is_rejected() -> None:
    error = _rejected(_with(transitions=(Transition("edit", "nowhere", "draft", HANDLER),)))
    assert "unknown state 'nowhere'" in error.message_en


def test_transition_with_an_undefined_trigger_is_rejected() -> None:
    error = _rejected(_with(transitions=(Transition("teleport", "draft", "settled", HANDLER),)))
    assert "undefined trigger 'teleport'" in error.message_en


def test_transition_with_an_unknown_condition_is_rejected() -> None:
    error = _rejected(
        _with(transitions=(Transition("edit", "draft", "draft", HANDLER, condition="full_moon"),))
    )
    assert "unknown condition 'full_moon'" in error.message_en


def test_transition_with_no_roles_is_rejected() -> None:
    error = _rejected(_with(transitions=(Transition("start", "draft", "in_progress", frozenset()),)))
    assert "transition start from draft: no role may fire it" in error.message_en


def test_undefined_initial_state_is_rejected() -> None:
    error = _rejected(_with(initial="nowhere"))
    assert "initial state 'nowhere' is not defined" in error.message_en


def test_duplicate_state_and_trigger_names_are_rejected() -> None:
    error = _rejected(
        _with(
            states=(StateDef("draft", "草稿"),),
            triggers=(TriggerDef("edit", "改", "e"),),
        )
    )
    assert "state declared twice: draft" in error.message_en
    assert "trigger declared twice: edit" in error.message_en


def test_definition_without_terminal_state_is_rejected() -> None:
    states = tuple(attrs.evolve(s, terminal=False) for s in DEFAULT_PROCESS.states)
    error = _rejected(attrs.evolve(DEFAULT_PROCESS, states=states))
    assert "no terminal state" in error.message_en


def test_every_problem_of_a_definition_is_reported_at_once() -> None:
    error = _rejected(
        _with(
            transitions=(
                Transition("teleport", "draft", "draft", HANDLER),
                Transition("edit", "draft", "draft", frozenset(), condition="full_moon"),
            )
        )
    )
    for problem in ("undefined trigger 'teleport'", "unknown condition 'full_moon'", "no role may fire it"):
        assert problem in error.message_en
        assert problem in error.message_zh
    assert error.message_zh.startswith("流程定义 reception@1 有误")


# -- the transitions adapter ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def compiled() -> CompiledProcess:
    return CompiledProcess(DEFAULT_PROCESS)


def test_approve_of_the_last_step_moves_to_approved(compiled: CompiledProcess) -> None:
    assert compiled.fire("submitted", "approve", frozenset({FACT_FINAL_STEP})) == "approved"


def test_approve_with_more_steps_stays_submitted(compiled: CompiledProcess) -> None:
    assert compiled.fire("submitted", "approve", frozenset({FACT_MORE_STEPS})) == "submitted"


def test_trigger_whose_condition_does_not_hold_does_not_move(compiled: CompiledProcess) -> None:
    assert compiled.fire("submitted", "approve", frozenset()) is None
    assert compiled.fire("submitted", "withdraw", frozenset()) is None
    assert compiled.fire("submitted", "withdraw", frozenset({FACT_NO_APPROVALS})) == "draft"


def test_fire_follows_every_transition_of_the_definition(compiled: CompiledProcess) -> None:
    for t in DEFAULT_PROCESS.transitions:
        facts = frozenset({t.condition}) if t.condition else frozenset()
        assert compiled.fire(t.source, t.trigger, facts) == t.dest, t


def test_applicable_picks_the_transition_whose_condition_holds(compiled: CompiledProcess) -> None:
    final = compiled.applicable("submitted", "approve", frozenset({FACT_FINAL_STEP}))
    more = compiled.applicable("submitted", "approve", frozenset({FACT_MORE_STEPS}))
    assert final is not None
    assert final.dest == "approved"
    assert more is not None
    assert more.dest == "submitted"
    assert compiled.applicable("in_progress", "cancel", frozenset()) is None


def test_triggers_from_lists_each_trigger_once_in_definition_order(compiled: CompiledProcess) -> None:
    declared = [t for t in compiled.triggers_from("submitted") if compiled.trigger_defs[t].operation is None]
    assert declared == ["withdraw", "approve", "return", "refuse", "start_urgent", "cancel"]
    assert compiled.triggers_from("archived") == ("mark_read",)  # a copy may be read after the end


def test_one_machine_serves_every_reception_without_adding_models(compiled: CompiledProcess) -> None:
    machine = compiled._machine
    sources = [t for t in DEFAULT_PROCESS.transitions if t.condition is None]
    for i in range(1000):
        t = sources[i % len(sources)]
        assert compiled.fire(t.source, t.trigger, frozenset()) == t.dest
    assert compiled._machine is machine
    assert machine.models == []


# -- versions are recorded on receptions ---------------------------------------------------------


def _engine(store: MemoryStore, *processes: ProcessDefinition) -> Engine:
    return Engine(store, make_plugin_manager(autoload=False), clock=FrozenClock(), processes=processes)


def _create(engine: Engine) -> str:
    return register_sample(engine).id


def test_reception_and_its_events_record_the_process_version_key(
    jiedai_engine_factory: Callable[..., Engine],
) -> None:
    engine = jiedai_engine_factory()
    rid = _create(engine)
    engine.fire(rid, "submit", ACTORS["handler"])
    assert engine.get(rid).process == "reception@1"
    assert {e.process for e in engine.history(rid)} == {"reception@1"}


def test_receptions_stay_on_the_process_version_they_started_on() -> None:
    store = MemoryStore()
    old = _create(_engine(store, DEFAULT_PROCESS))
    v2 = attrs.evolve(DEFAULT_PROCESS, version="2")
    engine = _engine(store, v2, DEFAULT_PROCESS)
    new = _create(engine)
    engine.fire(old, "submit", ACTORS["handler"])
    assert engine.get(old).process == "reception@1"
    assert engine.history(old)[-1].process == "reception@1"
    assert engine.get(new).process == "reception@2"


def test_reception_on_a_process_version_not_loaded_is_refused() -> None:
    store = MemoryStore()
    rid = _create(_engine(store, DEFAULT_PROCESS))
    engine = _engine(store, attrs.evolve(DEFAULT_PROCESS, version="2"))
    with pytest.raises(JiedaiFlowError, match="reception@1"):
        engine.fire(rid, "submit", ACTORS["handler"])
    assert engine.get(rid).version == 1


# -- declarations that cannot work ---------------------------------------------------------------


def test_a_trigger_named_like_an_engine_command_is_rejected() -> None:
    error = _rejected(
        _with(
            triggers=(TriggerDef("migrate", "迁移", "Migrate"),),
            transitions=(Transition("migrate", "draft", "draft", HANDLER),),
        )
    )
    assert "trigger migrate: the name is the engine's own command" in error.message_en


def test_a_trigger_carrying_the_plan_without_a_rule_stage_is_rejected() -> None:
    error = _rejected(
        _with(
            triggers=(TriggerDef("touch_up", "润色", "Touch up", carries_plan=True),),
            transitions=(Transition("touch_up", "draft", "draft", HANDLER),),
        )
    )
    assert "trigger touch_up carries the plan or list or opens a chain but runs no rule stage" in (
        error.message_en
    )


def test_a_trigger_that_opens_and_signs_a_chain_at_once_is_rejected() -> None:
    error = _rejected(
        _with(
            triggers=(
                TriggerDef(
                    "rubber_stamp", "一键盖章", "Rubber stamp", stage="submit", opens_chain=True,
                    records_approval=True,
                ),
            ),
            transitions=(Transition("rubber_stamp", "draft", "approved", HANDLER),),
        )
    )  # fmt: skip
    assert "trigger rubber_stamp: opens a chain and signs it at once" in error.message_en


def test_a_signing_step_out_of_a_pending_state_needs_both_step_facts() -> None:
    error = _rejected(
        _with(
            triggers=(TriggerDef("sign", "签", "Sign", records_approval=True),),
            transitions=(Transition("sign", "submitted", "approved", frozenset({Role.APPROVER})),),
        )
    )
    assert "trigger sign from 'submitted' signs an approval step" in error.message_en
    assert FACT_FINAL_STEP in error.message_en


def test_a_retroactive_signature_telling_its_last_step_apart_needs_a_transition_for_the_others() -> None:
    """补办: a process whose approval in 接待中 has a transition for the chain's last step and none
    for the others would refuse every signature but the last: it is rejected, naming both facts.
    Signing on ``retro_pending`` alone, as processes did before, stays valid."""
    only_last = attrs.evolve(
        DEFAULT_PROCESS,
        transitions=tuple(
            t
            for t in DEFAULT_PROCESS.transitions
            if (t.source, t.condition) != ("in_progress", FACT_RETRO_MORE_STEPS)
        ),
    )
    error = _rejected(only_last)
    assert "trigger approve from 'in_progress' signs a retroactive step" in error.message_en
    assert f"one on {FACT_RETRO_MORE_STEPS!r}" in error.message_en
    pending_alone = attrs.evolve(
        DEFAULT_PROCESS,
        transitions=tuple(
            attrs.evolve(t, condition=FACT_RETRO_PENDING) if t.condition == FACT_RETRO_FINAL_STEP else t
            for t in DEFAULT_PROCESS.transitions
            if t.condition != FACT_RETRO_MORE_STEPS
        ),
    )
    validate_definition(pending_alone)


def test_only_the_last_retroactive_signature_of_the_default_process_tells_the_handler() -> None:
    """The default process's 补办 signatures stay where they are (接待中, 接待结束): the last step's
    tells the handler it is signed, the others' ask for the next step — in the compiled process
    and in the routing tables, which key the two by their condition."""
    from jiedai_flow.notify.routing import actions_of, routes_of

    compiled = CompiledProcess(DEFAULT_PROCESS)

    def told(condition: str) -> tuple[tuple[Role, ...], str, str]:
        moved = ("approve", "in_progress", "in_progress", condition)
        return compiled.recipients(*moved), compiled.action(*moved), compiled.action_en(*moved)

    assert told(FACT_RETRO_FINAL_STEP) == (
        (Role.HANDLER,),
        "补办审批已签署",
        "the retroactive approval is signed",
    )
    assert told(FACT_RETRO_MORE_STEPS) == ((Role.APPROVER,), "请审批下一环节", "please approve the next step")
    routes, actions = routes_of(DEFAULT_PROCESS), actions_of(DEFAULT_PROCESS)
    assert routes["approve:completed>completed[retro_final_step]"] == (Role.HANDLER,)
    assert routes["approve:completed>completed[retro_more_steps]"] == (Role.APPROVER,)
    assert actions["approve:completed>completed[retro_final_step]"] == "补办审批已签署"
    assert routes["approve:completed>completed"] == (Role.HANDLER,)  # the fallback: the first declared


def test_transitions_of_one_trigger_between_the_same_states_are_told_by_their_condition() -> None:
    """Two transitions of one trigger from 待审批 back to it, on different conditions, tell
    differently: the compiled process reads each by its condition (without one, the first is
    meant), and the routing tables key them by it — a transition alone between its states keeps
    its key."""
    from jiedai_flow.notify.routing import actions_of, routes_of

    approvers = frozenset({Role.APPROVER})
    definition = _with(
        triggers=(TriggerDef("remind", "提醒", "remind"),),
        transitions=(
            Transition("remind", "submitted", "submitted", approvers, condition=FACT_FINAL_STEP,
                       notify=(Role.HANDLER,), action_zh="末级在办", action_en="the last step is under way"),
            Transition("remind", "submitted", "submitted", approvers, condition=FACT_MORE_STEPS,
                       notify=(Role.APPROVER,), action_zh="请审批", action_en="please approve"),
        ),
    )  # fmt: skip
    compiled = CompiledProcess(definition)

    def told(condition: str | None = None) -> tuple[tuple[Role, ...], str, str]:
        moved = ("remind", "submitted", "submitted", condition)
        return compiled.recipients(*moved), compiled.action(*moved), compiled.action_en(*moved)

    assert told(FACT_FINAL_STEP) == ((Role.HANDLER,), "末级在办", "the last step is under way")
    assert told(FACT_MORE_STEPS) == ((Role.APPROVER,), "请审批", "please approve")
    assert told() == told(FACT_FINAL_STEP)
    routes, actions = routes_of(definition), actions_of(definition)
    assert routes["remind:submitted>submitted[more_steps]"] == (Role.APPROVER,)
    assert actions["remind:submitted>submitted[final_step]"] == "末级在办"
    # the first declared under the plain key too: a process telling them apart by another
    # condition (or none) falls back to it
    assert routes["remind:submitted>submitted"] == (Role.HANDLER,)
    assert routes["approve:submitted>submitted"] == (Role.APPROVER,)


def test_a_failed_vote_is_told_as_the_process_tells_a_refusal_from_there() -> None:
    """A county that tells 纪检 of every refusal, by its own 不予接待, has a failed 票签 told the
    same: the vote's notice is read from the process as compiled, not copied from the default."""
    from jiedai_flow.notify.routing import actions_of, routes_of
    from jiedai_flow.process.lifecycle import CompiledProcess

    refuse = DEFAULT_PROCESS.trigger("refuse")
    county = DEFAULT_PROCESS.derive("county_refusals").replace(
        triggers=[
            attrs.evolve(
                refuse,
                notify=(Role.HANDLER, Role.SUPERVISOR),
                action_zh="不予接待，请告知派出单位并报纪检",
                action_en="refused; tell the sending unit and 纪检",
            )
        ]
    )
    compiled, default = CompiledProcess(county), CompiledProcess(DEFAULT_PROCESS)
    assert compiled.recipients("vote_against", "submitted", "refused") == (Role.HANDLER, Role.SUPERVISOR)
    assert compiled.action("vote_against", "submitted", "refused") == "不予接待，请告知派出单位并报纪检"
    assert default.recipients("vote_against", "submitted", "refused") == (Role.HANDLER,)
    assert default.recipients("vote_against", "submitted", "submitted") == ()  # the vote goes on
    assert routes_of(county)["vote_against:submitted>refused"] == (Role.HANDLER, Role.SUPERVISOR)
    assert actions_of(county)["vote_against:submitted>refused"] == "不予接待，请告知派出单位并报纪检"
