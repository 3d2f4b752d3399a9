"""docs/lifecycle.md states, transitions, diagram and rule stages match DEFAULT_PROCESS and the engine."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from jiedai_flow import DEFAULT_PROCESS, Role
from jiedai_flow.testing import make_engine

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
        (ticked(name)[0], label, terminal == "是") for name, label, terminal in table(page, "状态 state")
    ]
    assert documented == [(s.name, s.label, s.terminal) for s in DEFAULT_PROCESS.states]


def test_transitions_table_matches_the_definition(page: str) -> None:
    rows = table(page, "操作 trigger")
    expected = []
    for t in DEFAULT_PROCESS.transitions:
        trigger = DEFAULT_PROCESS.trigger(t.trigger)
        expected.append(
            (
                t.trigger,
                trigger.label,
                (t.source, t.dest),
                t.roles,
                t.handler_only,
                t.condition,
                trigger.reason_required,
            )
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
                roles.startswith("本接待的"),
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
    )
    assert edges == expected
    assert f"[*] --> {DEFAULT_PROCESS.initial} :" in diagram
    for state in DEFAULT_PROCESS.states:
        assert (f"{state.name} --> [*]" in diagram) == state.terminal


def test_rule_stage_table_matches_the_built_in_rules(page: str) -> None:
    rules = make_engine().rules
    documented = {ticked(stage)[0]: ids.split(", ") for stage, ids in table(page, "阶段 stage")}
    assert documented == {stage: [r.id for r in rules.for_stage(stage)] for stage in rules.stages}
