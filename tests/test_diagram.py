"""Lifecycle diagrams: Mermaid text with every Chinese label, one reception's path and current state
highlighted from its audit trail, DOT, and SVG through Graphviz when it is installed."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

import pytest

from jiedai_flow.domain.samples import ACTORS, sample_letter, sample_plan
from jiedai_flow.process import diagram
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS
from tests.test_cli import Site, as_json, jiedai, make_site

if TYPE_CHECKING:
    from pathlib import Path

    from jiedai_flow.domain.records import AuditEvent
    from jiedai_flow.process.engine import Engine

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")


def started(engine: Engine) -> tuple[str, list[AuditEvent]]:
    """A reception created, edited, submitted, approved and started; its id and audit trail."""
    handler = ACTORS["handler"]
    rid = engine.create_reception(
        sample_letter(), sample_plan(), handler=handler, host_unit="县政府办公室", jurisdiction="341502"
    ).reception.id
    engine.fire(rid, "edit", handler, plan=sample_plan(companions=1))
    engine.fire(rid, "submit", handler)
    engine.fire(rid, "approve", ACTORS["approver"])
    engine.fire(rid, "start", handler)
    return rid, list(engine.history(rid))


def test_mermaid_names_every_state_and_trigger_by_its_chinese_label() -> None:
    text = diagram.mermaid()
    assert text.startswith("---\ntitle: 公务接待流程 reception@1\n---\nstateDiagram-v2\n")
    for state in DEFAULT_PROCESS.states:
        assert f'state "{state.label}" as {state.name}' in text
    moving = {t.trigger for t in DEFAULT_PROCESS.transitions if t.source != t.dest}
    for trigger in DEFAULT_PROCESS.triggers:
        if trigger.operation is None or trigger.name in moving:  # task operations inside a state: hidden
            assert f": {trigger.label}" in text
    assert "[*] --> draft : 登记公函" in text
    for terminal in ("archived", "refused", "cancelled"):
        assert f"{terminal} --> [*]" in text
    assert "approve" not in text.split("stateDiagram-v2", 1)[1].replace("approved", "")  # labels, not ids
    assert "classDef" not in text  # nothing to highlight without a reception


def test_every_transition_is_one_edge_and_conditions_are_labelled() -> None:
    text = diagram.mermaid()
    edges = [line for line in text.splitlines() if "-->" in line]
    operations = {t.name for t in DEFAULT_PROCESS.triggers if t.operation is not None}
    shown = [t for t in DEFAULT_PROCESS.transitions if t.trigger not in operations or t.source != t.dest]
    assert (
        len(edges) == len(shown) + 1 + 4
    )  # + start + four terminal ends (task operations in a state hidden)
    assert "submitted --> approved : 审批同意（末级审批）" in text
    assert "submitted --> submitted : 审批同意（尚有后续审批环节）" in text
    assert "submitted --> draft : 撤回（尚无人审批）" in text


def test_a_receptions_path_and_current_state_are_highlighted(jiedai_engine: Engine) -> None:
    _, events = started(jiedai_engine)
    text = diagram.mermaid(DEFAULT_PROCESS, diagram.trail(events))
    assert "classDef visited" in text
    assert "classDef current" in text
    assert "class draft,submitted,approved visited" in text
    assert "class in_progress current" in text
    assert "[*] --> draft : 登记公函【第 1 步】" in text
    assert "draft --> draft : 修改【第 2 步】" in text
    assert "draft --> submitted : 提交审批【第 3 步】" in text
    assert "submitted --> approved : 审批同意（末级审批）【第 4 步】" in text
    assert "approved --> in_progress : 开始接待【第 5 步】" in text
    assert "approved --> cancelled : 撤销\n" in text  # not taken: no step


def test_a_step_taken_twice_lists_both_steps(jiedai_engine: Engine) -> None:
    handler = ACTORS["handler"]
    rid = jiedai_engine.create_reception(
        sample_letter(), sample_plan(), handler=handler, host_unit="县政府办公室", jurisdiction="341502"
    ).reception.id
    jiedai_engine.fire(rid, "edit", handler)
    jiedai_engine.fire(rid, "edit", handler)
    text = diagram.mermaid(path=diagram.trail(jiedai_engine.history(rid)))
    assert "draft --> draft : 修改【第 2、3 步】" in text
    assert "class draft current" in text
    assert "visited" not in text.split("classDef current", 1)[1]  # only the current state so far


def test_labels_cannot_break_the_mermaid_syntax() -> None:
    assert diagram._mermaid_text('a: b #1; "c"\nd') == "a： b ＃1; 'c' d"


def test_dot_names_every_state_and_highlights_the_path(jiedai_engine: Engine) -> None:
    _, events = started(jiedai_engine)
    text = diagram.dot(DEFAULT_PROCESS, diagram.trail(events))
    assert text.startswith("digraph reception {")
    for state in DEFAULT_PROCESS.states:
        assert f'"{state.name}" [label="{state.label}\\n{state.name}"' in text
    assert re.search(r'"in_progress" \[[^\]]*penwidth=3', text)
    assert re.search(r'"draft" -> "submitted" \[label="提交审批【第 3 步】", color="#2e7d32"', text)


@needs_dot
def test_svg_is_drawn_by_graphviz_with_the_chinese_labels(jiedai_engine: Engine) -> None:
    _, events = started(jiedai_engine)
    svg = diagram.svg(diagram.dot(DEFAULT_PROCESS, diagram.trail(events)))
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = {t.text for t in root.iter() if t.tag.endswith("text")}
    assert {s.label for s in DEFAULT_PROCESS.states} <= texts


def test_without_graphviz_svg_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert not diagram.graphviz_available()
    with pytest.raises(diagram.GraphvizError, match="apt install graphviz"):
        diagram.svg(diagram.dot())


# -- through the command line ---------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    return make_site(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, monkeypatch)


def test_jiedai_diagram_prints_the_lifecycle_and_a_receptions_path(site: Site) -> None:
    plain = jiedai("diagram").stdout
    assert plain == diagram.mermaid()
    reception_id = site.new()
    jiedai("submit", reception_id, "--as", "zhang.wei")
    path = jiedai("diagram", reception_id).stdout
    assert "class draft visited" in path
    assert "class submitted current" in path
    assert "draft --> submitted : 提交审批【第 2 步】" in path
    assert jiedai("diagram", "--format", "dot").stdout.startswith("digraph")


@needs_dot
def test_jiedai_diagram_writes_svg(site: Site) -> None:
    reception_id = site.new()
    jiedai("diagram", reception_id, "--format", "svg", "--output", "flow.svg")
    assert ET.parse(site.path / "flow.svg").getroot().tag.endswith("svg")
    assert as_json("diagram", "--format", "svg")["content"].lstrip().startswith("<?xml")


def test_jiedai_diagram_svg_without_graphviz_is_a_message_with_exit_2(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    del site
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    result = jiedai("diagram", "--format", "svg", code=2)
    assert "Graphviz" in result.output
