"""docs/lifecycle.md states, transitions, diagram and rule stages match DEFAULT_PROCESS and the engine."""

from __future__ import annotations

import importlib
import re
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jiedai_flow import (
    DEFAULT_PROCESS,
    ApprovalStep,
    InvalidTransitionError,
    NotAuthorizedError,
    Role,
    hookimpl,
)
from jiedai_flow.process.diagram import mermaid
from jiedai_flow.testing import ACTORS, make_engine, sample_letter, sample_plan

if TYPE_CHECKING:
    from jiedai_flow import Engine

PAGE = Path(__file__).resolve().parents[1] / "docs" / "lifecycle.md"
TICKED = re.compile(r"`([^`]+)`")
NO = "—"


@pytest.fixture(scope="module")
def page() -> str:
    return PAGE.read_text(encoding="utf-8")


def table(page: str, first_header: str) -> list[list[str]]:
    """The body rows of the markdown table whose first header cell is ``first_header``."""
    lines = page.splitlines()
    for i, line in enumerate(lines):
        cells = _cells(line)
        if cells and cells[0] == first_header:
            rows = []
            for body in lines[i + 2 :]:
                if not body.startswith("|"):
                    break
                rows.append(_cells(body))
            return rows
    raise AssertionError(f"no table headed {first_header!r} in {PAGE.name}")


def _cells(line: str) -> list[str]:
    if not line.startswith("|"):
        return []
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def ticked(cell: str) -> list[str]:
    return TICKED.findall(cell)


def test_states_table_matches_the_definition(page: str) -> None:
    documented = [
        (ticked(name)[0], label, label_en, ticked(phase)[0], terminal == "是")
        for name, label, label_en, phase, terminal in table(page, "状态 state")
    ]
    assert documented == [
        (s.name, s.label, s.label_en, s.phase.value, s.terminal) for s in DEFAULT_PROCESS.states
    ]


def test_declarations_table_matches_the_definition(page: str) -> None:
    flags = (
        "carries_plan", "carries_list", "carries_follow_up", "opens_chain", "retroactive",
        "records_approval", "resets_approvals", "decision", "review", "submitter_only",
    )  # fmt: skip
    documented = [
        (ticked(name)[0], ticked(stage)[0], tuple(ticked(declared)), tuple(ticked(notify)), action)
        for name, stage, declared, notify, action in table(page, "声明 操作")
    ]
    assert documented == [
        (
            t.name,
            t.rule_stage,
            tuple(f for f in flags if getattr(t, f)),
            tuple(r.value for r in t.notify),
            t.action_zh or NO,
        )
        for t in DEFAULT_PROCESS.triggers
        if t.operation is None  # the approval operations are tabled in approvals.md
    ]


def test_the_county_process_diagram_is_generated_from_its_definition(page: str) -> None:
    snippets = PAGE.parent / "snippets"
    sys.path.insert(0, str(snippets))
    try:
        county = importlib.import_module("county_process")
    finally:
        sys.path.remove(str(snippets))
    diagram = page.split("```mermaid\n")[2].split("```", 1)[0]
    assert diagram == mermaid(county.county_process(DEFAULT_PROCESS))


def test_transitions_table_matches_the_definition(page: str) -> None:
    rows = table(page, "操作 trigger")
    expected = []
    for t in DEFAULT_PROCESS.transitions:
        trigger = DEFAULT_PROCESS.trigger(t.trigger)
        if trigger.operation is not None:
            continue  # tabled in approvals.md
        expected.append(
            (t.trigger, trigger.label, (t.source, t.dest), t.roles, t.condition, trigger.reason_required)
        )
    documented = []
    for name, label, move, roles, condition, reason in rows:
        source, dest = ticked(move)
        documented.append(
            (
                ticked(name)[0],
                label,
                (source, dest),
                frozenset(Role(r) for r in ticked(roles)),
                None if condition == NO else ticked(condition)[0],
                {"是": True, "否": False}[reason],
            )
        )
    assert documented == expected


def test_role_labels_in_the_transitions_table_are_the_role_labels(page: str) -> None:
    for row in table(page, "操作 trigger"):
        for name in ticked(row[3]):
            assert f"`{name}` {Role(name).label}" in row[3]


def test_mermaid_diagram_has_every_state_and_transition(page: str) -> None:
    diagram = page.split("```mermaid\n", 1)[1].split("```", 1)[0]
    declared = dict(
        (m["name"], m["label"]) for m in re.finditer(r'state "(?P<label>\S+) (?P<name>\w+)" as \w+', diagram)
    )
    assert declared == {s.name: s.label for s in DEFAULT_PROCESS.states}
    edges = Counter(
        (m["src"], m["dst"], m["trigger"], m["label"])
        for m in re.finditer(
            r"^\s*(?P<src>\w+) --> (?P<dst>\w+) : (?P<label>\S+) (?P<trigger>\w+)$", diagram, re.M
        )
    )
    expected = Counter(
        (t.source, t.dest, t.trigger, DEFAULT_PROCESS.trigger(t.trigger).label)
        for t in DEFAULT_PROCESS.transitions
        if DEFAULT_PROCESS.trigger(t.trigger).operation is None
    )
    assert edges == expected
    assert f"[*] --> {DEFAULT_PROCESS.initial} :" in diagram
    for state in DEFAULT_PROCESS.states:
        assert (f"{state.name} --> [*]" in diagram) == state.terminal


def test_rule_table_matches_the_built_in_rules_and_their_stages(page: str) -> None:
    rules = make_engine().rules.rules
    documented = {
        rule_id: (title, frozenset(ticked(stages))) for rule_id, title, stages in table(page, "规则 rule")
    }
    assert documented == {r.id: (r.title, r.stages) for r in rules.values()}


# -- claims the page makes in prose ----------------------------------------------------------------


def _submitted(engine: Engine) -> str:
    handler = ACTORS["handler"]
    created = engine.create_reception(
        sample_letter(), sample_plan(), handler=handler, host_unit="县政府办公室", jurisdiction="341502"
    )
    engine.fire(created.reception.id, "submit", handler)
    return created.reception.id


def test_a_handler_cancels_only_their_own_reception_an_approver_any() -> None:
    engine = make_engine()
    rid = _submitted(engine)
    with pytest.raises(NotAuthorizedError):
        engine.fire(rid, "cancel", ACTORS["handler2"], reason="重复登记")
    assert engine.fire(rid, "cancel", ACTORS["approver"], reason="重复登记").reception.state == "cancelled"


def test_withdraw_after_the_first_signature_is_an_invalid_transition() -> None:
    engine = make_engine(TwoSteps())
    rid = _submitted(engine)
    engine.fire(rid, "approve", ACTORS["director"])
    with pytest.raises(InvalidTransitionError):
        engine.fire(rid, "withdraw", ACTORS["handler"])


def test_returning_to_draft_clears_the_signatures() -> None:
    engine = make_engine(TwoSteps())
    rid = _submitted(engine)
    engine.fire(rid, "approve", ACTORS["director"])
    assert engine.fire(rid, "return", ACTORS["approver"], reason="补充材料").reception.approvals == ()


def test_a_person_may_not_sign_two_steps_nor_decide_on_their_own_reception() -> None:
    engine = make_engine(TwoSteps())
    rid = _submitted(engine)
    engine.fire(rid, "approve", ACTORS["director"])
    with pytest.raises(NotAuthorizedError, match="两个审批环节"):
        engine.fire(rid, "approve", ACTORS["director"])
    own = ACTORS["handler_approver"]
    created = engine.create_reception(
        sample_letter(), sample_plan(), handler=own, host_unit="县政府办公室", jurisdiction="341502"
    )
    engine.fire(created.reception.id, "submit", own)
    with pytest.raises(NotAuthorizedError, match="职务分离"):
        engine.fire(created.reception.id, "refuse", own, reason="不属公务")


class TwoSteps:
    @hookimpl
    def jiedai_approval_chain(self) -> list[ApprovalStep]:
        return [ApprovalStep("部门负责人", "部门负责人"), ApprovalStep("分管领导", "分管领导")]
