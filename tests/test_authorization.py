"""Who may fire what: the role table of the process definition, handler-only triggers,
separation of duties, and third-party ``jiedai_authorize`` plugins."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from jiedai_flow import (
    DEFAULT_PROCESS,
    Actor,
    ApprovalStep,
    DocumentKind,
    Engine,
    InvalidTransitionError,
    Invoice,
    NotAuthorizedError,
    Payment,
    PaymentMethod,
    Person,
    Reception,
    ReceptionList,
    Role,
    Transition,
    Verdict,
    hookimpl,
)
from jiedai_flow.domain.standards import Level, StandardsLayer
from jiedai_flow.process.lifecycle import (
    FACT_MORE_STEPS,
    FACT_RETRO_FINAL_STEP,
    FACT_RETRO_MORE_STEPS,
    FACT_RETRO_PENDING,
)
from jiedai_flow.testing import ACTORS, register_sample

if TYPE_CHECKING:
    from datetime import date

    from jiedai_flow.domain.standards import Standards

Factory = Callable[..., Engine]

HANDLER = ACTORS["handler"]
OTHER_HANDLER = ACTORS["handler2"]
APPROVER = ACTORS["approver"]
DIRECTOR = ACTORS["director"]
FINANCE = ACTORS["finance"]
OFFICE = ACTORS["office"]
MULTI = ACTORS["handler_approver"]
LEVELS = frozenset({"部门负责人", "分管领导"})

# The way to each state: (trigger, actor, state after). Approvers are never the handler here.
PATH: tuple[tuple[str, Actor, str], ...] = (
    ("submit", HANDLER, "submitted"),
    ("approve", APPROVER, "approved"),
    ("start", HANDLER, "in_progress"),
    ("finish", HANDLER, "completed"),
    ("claim", HANDLER, "settling"),
    ("settle", FINANCE, "settled"),
    ("archive", OFFICE, "archived"),
)
LIVE_STATES = ("draft", "submitted", "approved", "in_progress", "completed", "settling", "settled")
# The way of an urgent reception started before approval (补办).
URGENT_PATH: tuple[tuple[str, Actor, str], ...] = (
    ("start_urgent", HANDLER, "in_progress"),
    ("finish", HANDLER, "completed"),
)
RETROACTIVE = frozenset({FACT_RETRO_PENDING, FACT_RETRO_FINAL_STEP, FACT_RETRO_MORE_STEPS})
"""The conditions of a transition taken while a 补办 chain is signed (on the urgent path)."""


class TwoStepChain:
    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep]:
        del reception, standards
        return [ApprovalStep("部门负责人", "部门负责人"), ApprovalStep("分管领导", "分管领导")]


class UrgentAllowed:
    """A county whose standards allow 补办 within two days."""

    @hookimpl
    def jiedai_standards_layers(self, jurisdiction: str, on: date) -> list[StandardsLayer]:
        del jurisdiction, on
        return [StandardsLayer("某县", Level.COUNTY, "341502", {"retroactive_window_days": 2})]


class Permissive:
    """A deployment's permission system that says yes to everything."""

    @hookimpl
    def jiedai_authorize(self, actor: Actor, trigger: str, reception: Reception) -> bool:
        del actor, trigger, reception
        return True


class NoApprovals:
    """Says no to every approval, and has no opinion on anything else."""

    @hookimpl
    def jiedai_authorize(self, trigger: str) -> bool | None:
        return False if trigger == "approve" else None


def create(engine: Engine, handler: Actor = HANDLER) -> str:
    return register_sample(engine, handler=handler).id


def listing(reception: Reception) -> ReceptionList:
    total = sum((m.cost for m in reception.plan.meals), Decimal(0))
    return ReceptionList(
        guests=reception.letter.personnel,
        meals=reception.plan.meals,
        invoices=(Invoice("No.0001", reception.start, "县机关食堂", total),),
        payments=(Payment(PaymentMethod.OFFICIAL_CARD, total),),
        companions=reception.plan.companions,
        support_staff=(Person("刘敏", "县政府办公室科员"),),
        signed_by="王强",
        signed_on=reception.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


def advance(
    engine: Engine, rid: str, state: str, path: tuple[tuple[str, Actor, str], ...] = PATH
) -> Reception:
    reception = engine.get(rid)
    sources = ["draft", *(dest for _, _, dest in path)]
    for trigger, actor, dest in path[sources.index(reception.state) :]:
        if reception.state == state:
            break
        payload = listing(reception) if trigger == "claim" else None
        reason = "紧急公务" if trigger == "start_urgent" else ""
        reception = engine.fire(rid, trigger, actor, reception_list=payload, reason=reason).reception
        assert reception.state == dest
    assert reception.state == state
    return reception


def fire(engine: Engine, rid: str, trigger: str, actor: Actor) -> None:
    """Fire with whatever payload the trigger needs, so only authorization can refuse it."""
    reception = engine.get(rid)
    payload = listing(reception) if trigger in {"claim", "edit"} and reception.state == "completed" else None
    engine.fire(rid, trigger, actor, reason="工作需要", reception_list=payload)


def actor_with(role: Role) -> Actor:
    """A one-role actor; the handler role goes to the reception's own handler."""
    if role is Role.HANDLER:
        return HANDLER
    return Actor(f"{role.value}.1", f"{role.label}甲", frozenset({role}), levels=LEVELS)


def _case_id(t: Transition, role: Role) -> str:
    condition = f"[{t.condition}]" if t.condition else ""
    return f"{t.trigger}:{t.source}->{t.dest}{condition}-{role.value}"


# The approval and task operations (转办, 加签 …) act on tasks and are tested in test_approvals.py.
DECLARED = [t for t in DEFAULT_PROCESS.transitions if DEFAULT_PROCESS.trigger(t.trigger).operation is None]
CASES = [(t, role) for t in DECLARED for role in Role]


@pytest.mark.parametrize(("transition", "role"), CASES, ids=[_case_id(t, r) for t, r in CASES])
def test_trigger_is_allowed_exactly_for_the_roles_of_its_transition(
    jiedai_engine_factory: Factory, transition: Transition, role: Role
) -> None:
    more_steps = transition.condition in (FACT_MORE_STEPS, FACT_RETRO_MORE_STEPS)
    engine = jiedai_engine_factory(*((TwoStepChain(),) if more_steps else ()), UrgentAllowed())
    path = URGENT_PATH if transition.condition in RETROACTIVE else PATH
    rid = advance(engine, create(engine), transition.source, path).id
    actor = actor_with(role)
    allowed = role in transition.roles

    assert (transition.trigger in engine.available_triggers(rid, actor)) == allowed
    if allowed:
        fire(engine, rid, transition.trigger, actor)
        assert engine.get(rid).state == transition.dest
        assert engine.history(rid)[-1].actor_id == actor.id
    else:
        with pytest.raises(NotAuthorizedError) as caught:
            fire(engine, rid, transition.trigger, actor)
        assert (caught.value.actor_id, caught.value.trigger) == (actor.id, transition.trigger)
        assert engine.get(rid).version == len(engine.history(rid))
        assert engine.get(rid).state == transition.source


HANDLER_TRANSITIONS = [t for t in DECLARED if Role.HANDLER in t.roles]


@pytest.mark.parametrize(
    "transition", HANDLER_TRANSITIONS, ids=[f"{t.trigger}:{t.source}" for t in HANDLER_TRANSITIONS]
)
def test_handler_triggers_are_fired_only_by_the_receptions_own_handler(
    jiedai_engine_factory: Factory, transition: Transition
) -> None:
    engine = jiedai_engine_factory(UrgentAllowed())
    path = URGENT_PATH if transition.condition in RETROACTIVE else PATH
    rid = advance(engine, create(engine), transition.source, path).id
    assert transition.trigger not in engine.available_triggers(rid, OTHER_HANDLER)
    with pytest.raises(NotAuthorizedError):
        fire(engine, rid, transition.trigger, OTHER_HANDLER)
    assert engine.get(rid).state == transition.source


def test_only_the_submitter_may_withdraw(jiedai_engine: Engine) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine), "submitted").id
    with pytest.raises(NotAuthorizedError):
        jiedai_engine.fire(rid, "withdraw", OTHER_HANDLER)
    assert jiedai_engine.fire(rid, "withdraw", HANDLER).reception.state == "draft"


# -- separation of duties ------------------------------------------------------------------------

MULTI_PATH: tuple[tuple[str, Actor, str], ...] = (
    ("submit", MULTI, "submitted"),
    ("approve", APPROVER, "approved"),
    ("start", MULTI, "in_progress"),
    ("finish", MULTI, "completed"),
    ("claim", MULTI, "settling"),
)


@pytest.mark.parametrize(
    ("state", "trigger"),
    [
        ("submitted", "approve"),
        ("submitted", "refuse"),
        ("submitted", "return"),
        ("settling", "settle"),
        ("settling", "return"),
    ],
)
def test_handler_holding_every_role_may_not_decide_on_their_own_reception(
    jiedai_engine: Engine, state: str, trigger: str
) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine, handler=MULTI), state, MULTI_PATH).id
    assert trigger not in jiedai_engine.available_triggers(rid, MULTI)
    with pytest.raises(NotAuthorizedError, match="不相容职务分离"):
        fire(jiedai_engine, rid, trigger, MULTI)
    assert jiedai_engine.get(rid).state == state


def test_handler_holding_every_role_may_approve_and_settle_another_handlers_reception(
    jiedai_engine: Engine,
) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine), "submitted").id
    assert jiedai_engine.fire(rid, "approve", MULTI).reception.state == "approved"
    advance(jiedai_engine, rid, "settling")
    assert jiedai_engine.fire(rid, "settle", MULTI).reception.state == "settled"


def test_submitter_counts_as_handler_for_separation_of_duties(jiedai_engine: Engine) -> None:
    rid = create(jiedai_engine, handler=MULTI)
    jiedai_engine.fire(rid, "submit", MULTI)
    with pytest.raises(NotAuthorizedError, match="不相容职务分离"):
        jiedai_engine.fire(rid, "approve", MULTI)
    assert jiedai_engine.fire(rid, "approve", APPROVER).reception.state == "approved"


@pytest.mark.parametrize("who", ["supervisor", "admin"])
@pytest.mark.parametrize("state", LIVE_STATES)
def test_supervisor_and_admin_can_fire_nothing(jiedai_engine: Engine, who: str, state: str) -> None:
    rid = advance(jiedai_engine, create(jiedai_engine), state).id
    actor = ACTORS[who]
    assert jiedai_engine.available_triggers(rid, actor) == ()
    for trigger in (t.name for t in DEFAULT_PROCESS.triggers if t.operation is None):
        with pytest.raises((NotAuthorizedError, InvalidTransitionError)):
            fire(jiedai_engine, rid, trigger, actor)
    assert len(jiedai_engine.history(rid)) == jiedai_engine.get(rid).version


# -- third-party authorization plugins -----------------------------------------------------------


def test_permissive_plugin_cannot_let_a_handler_approve_their_own_reception(
    jiedai_engine_factory: Factory,
) -> None:
    engine = jiedai_engine_factory(Permissive())
    for handler in (HANDLER, MULTI):
        rid = create(engine, handler=handler)
        engine.fire(rid, "submit", handler)
        with pytest.raises(NotAuthorizedError, match="不相容职务分离"):
            engine.fire(rid, "approve", handler)
        assert engine.get(rid).state == "submitted"


def test_permissive_plugin_overrides_the_role_table_for_others(jiedai_engine_factory: Factory) -> None:
    engine = jiedai_engine_factory(Permissive())
    rid = advance(engine, create(engine), "submitted").id
    assert engine.fire(rid, "approve", OFFICE).reception.state == "approved"


def test_plugin_returning_false_denies(jiedai_engine_factory: Factory) -> None:
    engine = jiedai_engine_factory(NoApprovals())
    rid = advance(engine, create(engine), "submitted").id
    assert engine.available_triggers(rid, APPROVER) == ("return", "refuse", "cancel")
    with pytest.raises(NotAuthorizedError, match="未获授权"):
        engine.fire(rid, "approve", APPROVER)
    assert engine.get(rid).version == 2


def test_plugin_verdict_reason_reaches_the_error(jiedai_engine_factory: Factory) -> None:
    class OutOfOffice:
        @hookimpl
        def jiedai_authorize(self, actor: Actor) -> Verdict | None:
            if actor.id == APPROVER.id:
                return Verdict.deny("审批人休假中", "the approver is on leave")
            return None

    engine = jiedai_engine_factory(OutOfOffice())
    rid = advance(engine, create(engine), "submitted").id
    with pytest.raises(NotAuthorizedError) as caught:
        engine.fire(rid, "approve", APPROVER)
    assert "审批人休假中" in caught.value.message_zh
    assert "the approver is on leave" in caught.value.message_en
    assert engine.fire(rid, "return", DIRECTOR, reason="请补充").reception.state == "draft"
