"""Random commands by random people on several receptions never break the lifecycle's promises."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from jiedai_flow import (
    DEFAULT_PROCESS,
    ApprovalStep,
    DocumentKind,
    Invoice,
    JiedaiFlowError,
    Payment,
    PaymentMethod,
    Person,
    Reception,
    ReceptionList,
    RuleViolationError,
    hookimpl,
)
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from jiedai_flow.domain.standards import Standards

STATES = frozenset(s.name for s in DEFAULT_PROCESS.states)
TRIGGERS = tuple(t.name for t in DEFAULT_PROCESS.triggers)
EDGES = frozenset((t.source, t.trigger, t.dest) for t in DEFAULT_PROCESS.transitions)
FORWARD = frozenset({"submit", "approve", "start", "finish", "claim", "settle", "archive"})
DECIDING = frozenset({"approve", "refuse", "return", "settle"})
HANDLERS = ("handler", "handler2", "handler_approver")
START = date(2026, 3, 10)


class ChainByHandler:
    """Two approval steps for 赵敏's receptions; the built-in one-step chain for the others."""

    @hookimpl
    def jiedai_approval_chain(self, reception: Reception, standards: Standards) -> list[ApprovalStep] | None:
        del standards
        if reception.handler.id != ACTORS["handler2"].id:
            return None
        return [ApprovalStep("部门负责人", "部门负责人"), ApprovalStep("分管领导", "分管领导")]


def _listing(method: PaymentMethod) -> ReceptionList:
    plan = sample_plan(START)
    total = sum((m.cost for m in plan.meals), Decimal(0))
    return ReceptionList(
        guests=sample_letter(START).personnel,
        meals=plan.meals,
        invoices=(Invoice("No.0001", START, "县机关食堂", total),),
        payments=(Payment(method, total),),
        companions=plan.companions,
        support_staff=(Person("刘敏", "县政府办公室科员"),),
        signed_by="王强",
        signed_on=sample_letter(START).itinerary.end,
        documents=frozenset({DocumentKind.INVOICE, DocumentKind.LETTER, DocumentKind.LIST}),
    )


LISTS = (None, _listing(PaymentMethod.OFFICIAL_CARD), _listing(PaymentMethod.ON_ACCOUNT))


def test_the_clean_list_settles_and_the_list_on_account_is_refused_only_by_f03() -> None:
    """The machine below reaches settlement and the archive only if ``LISTS[1]`` passes every rule."""
    engine = make_engine()
    rid = engine.create_reception(
        sample_letter(START),
        sample_plan(START),
        handler=ACTORS["handler"],
        host_unit="县政府办公室",
        jurisdiction="341502",
    ).reception.id
    for trigger, actor in (
        ("submit", "handler"),
        ("approve", "approver"),
        ("start", "handler"),
        ("finish", "handler"),
    ):
        engine.fire(rid, trigger, ACTORS[actor])
    with pytest.raises(RuleViolationError) as caught:
        engine.fire(rid, "claim", ACTORS["handler"], reception_list=LISTS[2])
    assert [f.rule_id for f in caught.value.findings] == ["F-03"]
    assert engine.fire(rid, "claim", ACTORS["handler"], reception_list=LISTS[1]).findings == ()
    engine.fire(rid, "settle", ACTORS["finance"])
    assert engine.fire(rid, "archive", ACTORS["office"]).reception.state == "archived"


class ReceptionLifecycle(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = make_engine(ChainByHandler())
        self.ids = [
            self.engine.create_reception(
                sample_letter(START),
                sample_plan(START),
                handler=ACTORS[name],
                host_unit="县政府办公室",
                jurisdiction="341502",
            ).reception.id
            for name in HANDLERS
        ]

    def _fire(self, index: int, trigger: str, actor: str, reason: str, listing: ReceptionList | None) -> None:
        rid = self.ids[index]
        before, history = self.engine.get(rid), tuple(self.engine.history(rid))
        payload = listing if trigger in {"claim", "edit"} else None
        try:
            result = self.engine.fire(rid, trigger, ACTORS[actor], reason=reason, reception_list=payload)
        except JiedaiFlowError:
            assert self.engine.get(rid) == before
            assert tuple(self.engine.history(rid)) == history
            return
        after = self.engine.get(rid)
        assert result.reception == after
        assert after.version == before.version + 1
        assert (before.state, trigger, after.state) in EDGES

    @rule(
        index=st.integers(0, len(HANDLERS) - 1),
        trigger=st.sampled_from(TRIGGERS),
        actor=st.sampled_from(sorted(ACTORS)),
        reason=st.sampled_from(["", " ", "情况有变"]),
        listing=st.sampled_from(LISTS),
    )
    def fire_anything(
        self, index: int, trigger: str, actor: str, reason: str, listing: ReceptionList | None
    ) -> None:
        self._fire(index, trigger, actor, reason, listing)

    def _offers(self, index: int, triggers: frozenset[str] = frozenset(TRIGGERS)) -> list[tuple[str, str]]:
        rid = self.ids[index]
        return [
            (name, trigger)
            for name, actor in sorted(ACTORS.items())
            for trigger in self.engine.available_triggers(rid, actor)
            if trigger in triggers
        ]

    @rule(index=st.integers(0, len(HANDLERS) - 1), data=st.data())
    def fire_something_offered(self, index: int, data: st.DataObject) -> None:
        """A command someone is offered, with a reason and a clean list."""
        offers = self._offers(index)
        if offers:
            actor, trigger = data.draw(st.sampled_from(offers))
            self._fire(index, trigger, actor, "情况有变", LISTS[1])

    @rule(index=st.integers(0, len(HANDLERS) - 1), data=st.data())
    def fire_forward(self, index: int, data: st.DataObject) -> None:
        """A step along the main line, so receptions also reach settlement and the archive."""
        offers = self._offers(index, FORWARD)
        if offers:
            actor, trigger = data.draw(st.sampled_from(offers))
            self._fire(index, trigger, actor, "", LISTS[1])

    @invariant()
    def every_history_follows_the_definition_and_replays_to_the_state(self) -> None:
        for rid in self.ids:
            reception = self.engine.get(rid)
            events = self.engine.history(rid)
            assert reception.state in STATES
            assert len(events) == reception.version
            assert [e.seq for e in events] == list(range(1, reception.version + 1))
            assert (events[0].trigger, events[0].to_state) == ("create", DEFAULT_PROCESS.initial)
            state = DEFAULT_PROCESS.initial
            for event in events[1:]:
                assert event.from_state == state
                assert (event.from_state, event.trigger, event.to_state) in EDGES
                state = event.to_state
            assert state == reception.state

    @invariant()
    def nobody_decides_on_a_reception_they_handle(self) -> None:
        for rid in self.ids:
            handler = self.engine.get(rid).handler.id
            submitter = None
            for event in self.engine.history(rid):
                if event.trigger in {"submit", "amend"}:
                    submitter = event.actor_id
                if event.trigger in DECIDING:
                    assert event.actor_id not in {handler, submitter}, event


ReceptionLifecycle.TestCase.settings = settings(max_examples=75, stateful_step_count=30, deadline=None)
TestReceptionLifecycle = ReceptionLifecycle.TestCase
