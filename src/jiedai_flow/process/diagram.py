"""Lifecycle diagrams 流程图: the process definition as Mermaid ``stateDiagram-v2`` text or Graphviz
DOT, with Chinese labels; for one reception, the states it passed through and the state it is in
are highlighted, each transition it took is numbered with its step, from its audit trail, and a note
beside the approval state lists the steps and who signed each (or is still to sign).

SVG is drawn by Graphviz's ``dot`` when it is installed (:func:`graphviz_available`); the DOT
text is built here, so nothing else is needed. Without ``dot``, :func:`svg` raises
:class:`GraphvizError` saying what to install.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import TYPE_CHECKING

import attrs

from jiedai_flow.process.lifecycle import (
    CONDITIONS,
    CREATE_LABEL,
    DEFAULT_PROCESS,
    JUMP_FACT_PREFIX,
    condition_labels,
)
from jiedai_flow.process.signoff import names_of, signoff

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from jiedai_flow.domain.records import AuditEvent, Reception
    from jiedai_flow.process.lifecycle import ProcessDefinition, Transition

__all__ = [
    "CONDITION_LABELS",
    "GraphvizError",
    "Trail",
    "dot",
    "graphviz_available",
    "mermaid",
    "svg",
    "trail",
]

CONDITION_LABELS: Mapping[str, str] = {fact: zh for fact, (zh, _en) in CONDITIONS.items()}
"""The Chinese label of each transition condition, shown after the trigger's label."""

_START = "[*]"

VISITED_STYLE = "fill:#e8f5e9,stroke:#2e7d32,color:#1b5e20"
CURRENT_STYLE = "fill:#fff3e0,stroke:#e65100,stroke-width:3px,color:#bf360c"
FONT = "Noto Sans CJK SC,Source Han Sans SC,WenQuanYi Micro Hei,Microsoft YaHei,PingFang SC,sans-serif"


class GraphvizError(RuntimeError):
    """SVG was asked for but Graphviz's ``dot`` is not installed, or failed; the message says
    what to do, Chinese first."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(f"{message_zh} / {message_en}")
        self.message_zh = message_zh
        self.message_en = message_en


@attrs.frozen
class Trail:
    """Where one reception has been: the states visited, the state it is in, the steps taken, and
    notes to show beside states (who signed which approval step)."""

    visited: frozenset[str]
    current: str | None
    steps: Mapping[tuple[str, str, str], tuple[int, ...]]
    """(trigger, from state, to state) → the ``seq`` of each audit event that took it."""
    notes: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    """State → the lines of a note beside it: the approval steps, their kind, result and signers."""


def trail(
    events: Sequence[AuditEvent],
    reception: Reception | None = None,
    definition: ProcessDefinition = DEFAULT_PROCESS,
) -> Trail:
    """The trail of a reception from its audit events (oldest first). With ``reception``, a note
    lists its approval steps — kind, result, who signed, who is still to sign — beside the state
    where it collects (or last collected) signatures."""
    visited: set[str] = set()
    steps: dict[tuple[str, str, str], tuple[int, ...]] = {}
    for event in events:
        visited.update(s for s in (event.from_state, event.to_state) if s)
        key = (event.trigger, event.from_state, event.to_state)
        steps[key] = (*steps.get(key, ()), event.seq)
    current = events[-1].to_state if events else None
    notes: dict[str, tuple[str, ...]] = {}
    if reception is not None and reception.approval_chain:
        lines = signoff(reception, definition=definition, names=names_of(reception, events)).lines()
        notes[_signing_state(definition, events, reception)] = lines
    return Trail(frozenset(visited), current, steps, notes)


def _signing_state(definition: ProcessDefinition, events: Sequence[AuditEvent], reception: Reception) -> str:
    """Where the note of the signatures goes: the reception's state while a step waits for it there,
    else the state of its last signature (an event of a trigger that records one), else the first
    state that awaits approval."""
    phase = definition.state(reception.state).phase
    if reception.next_step is not None and (phase.awaits_approval or reception.retroactive):
        return reception.state
    signing = {t.name for t in definition.triggers if t.records_approval}
    last = next((e for e in reversed(events) if e.trigger in signing), None)
    if last is not None:
        return last.from_state
    pending = definition.states_where(lambda p: p.awaits_approval)
    return pending[0] if pending else definition.initial


def _edge_label(definition: ProcessDefinition, t: Transition) -> str:
    label = definition.trigger(t.trigger).label
    if t.condition is not None and t.condition.startswith(JUMP_FACT_PREFIX):
        return label  # the edge itself shows where a jump goes
    if t.condition is not None:
        label += f"（{condition_labels(t.condition)[0]}）"
    return label


def _steps_text(seqs: Sequence[int]) -> str:
    return "【第 " + "、".join(str(s) for s in seqs) + " 步】"


def _edges(definition: ProcessDefinition, path: Trail | None) -> list[tuple[str, str, str, bool]]:
    """(source, dest, label, taken) of every edge: the start edge, each transition, each end."""
    taken = path.steps if path is not None else {}
    create = taken.get(("create", "", definition.initial), ())
    edges = [
        (_START, definition.initial, CREATE_LABEL + (_steps_text(create) if create else ""), bool(create))
    ]
    operations = {d.name for d in definition.triggers if d.operation is not None}
    for t in definition.transitions:
        seqs = taken.get((t.trigger, t.source, t.dest), ())
        if t.trigger in operations and t.source == t.dest and not seqs:
            continue  # 转办、加签、催办 …: work on tasks inside a state (listed in docs/approvals.md)
        label = _edge_label(definition, t) + (_steps_text(seqs) if seqs else "")
        edges.append((t.source, t.dest, label, bool(seqs)))
    edges += [(s.name, _START, "", False) for s in definition.states if s.terminal]
    return edges


def mermaid(definition: ProcessDefinition = DEFAULT_PROCESS, path: Trail | None = None) -> str:
    """The process as Mermaid ``stateDiagram-v2`` text; with ``path``, one reception's trail."""
    out = [
        "---",
        f"title: 公务接待流程 {definition.key}",
        "---",
        "stateDiagram-v2",
    ]
    out += [f'    state "{_mermaid_text(s.label)}" as {s.name}' for s in definition.states]
    for source, dest, label, _taken in _edges(definition, path):
        out.append(f"    {source} --> {dest}" + (f" : {_mermaid_text(label)}" if label else ""))
    for state, lines in path.notes.items() if path is not None else ():
        out.append(f"    note right of {state}")
        out += [f"        {_mermaid_text(line)}" for line in lines]
        out.append("    end note")
    if path is not None:
        out.append(f"    classDef visited {VISITED_STYLE}")
        out.append(f"    classDef current {CURRENT_STYLE}")
        visited = [s.name for s in definition.states if s.name in path.visited and s.name != path.current]
        if visited:
            out.append(f"    class {','.join(visited)} visited")
        if path.current is not None:
            out.append(f"    class {path.current} current")
    return "\n".join(out) + "\n"


def _mermaid_text(text: str) -> str:
    # why: Mermaid ends a label at ":" or a newline and reads "#…;" as an entity
    return text.replace(":", "：").replace("#", "＃").replace("\n", " ").replace('"', "'")


def dot(definition: ProcessDefinition = DEFAULT_PROCESS, path: Trail | None = None) -> str:
    """The process as Graphviz DOT text; with ``path``, one reception's trail highlighted."""
    out = [
        "digraph reception {",
        f'  graph [label="{_dot_text("公务接待流程 " + definition.key)}", labelloc=t, fontname="{FONT}"];',
        f'  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="{FONT}"];',
        f'  edge [fontname="{FONT}", fontsize=10, color="#78909c"];',
        '  "__start" [shape=point, width=0.15, label=""];',
        '  "__end" [shape=doublecircle, width=0.12, label="", style=filled, fillcolor="#000000"];',
    ]
    for s in definition.states:
        attributes = [f'label="{_dot_text(s.label)}\\n{s.name}"']
        if path is not None and s.name == path.current:
            attributes += ['fillcolor="#fff3e0"', 'color="#e65100"', "penwidth=3"]
        elif path is not None and s.name in path.visited:
            attributes += ['fillcolor="#e8f5e9"', 'color="#2e7d32"']
        out.append(f'  "{s.name}" [{", ".join(attributes)}];')
    for source, dest, label, taken in _edges(definition, path):
        tail = "__start" if source == _START else source
        head = "__end" if dest == _START else dest
        attributes = [f'label="{_dot_text(label)}"'] if label else []
        if taken:
            attributes += ['color="#2e7d32"', 'fontcolor="#1b5e20"', "penwidth=2.5"]
        out.append(f'  "{tail}" -> "{head}"' + (f" [{', '.join(attributes)}]" if attributes else "") + ";")
    for state, lines in path.notes.items() if path is not None else ():
        text = "".join(_dot_text(line) + "\\l" for line in lines)  # \l: each line left-aligned
        style = 'shape=note, style=filled, fillcolor="#fffde7", fontsize=10'
        out.append(f'  "__note_{state}" [{style}, label="{text}"];')
        out.append(f'  "{state}" -> "__note_{state}" [style=dashed, arrowhead=none, color="#9e9e9e"];')
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def graphviz_available() -> bool:
    """Whether Graphviz's ``dot`` is on the PATH."""
    return shutil.which("dot") is not None


def svg(dot_text: str, *, timeout: float = 60) -> str:
    """SVG drawn by Graphviz ``dot -Tsvg`` from DOT text."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizError(
            "画 SVG 需要 Graphviz 的 dot 命令，未找到；请安装 Graphviz（如 apt install graphviz、"
            "brew install graphviz），或改用 --format mermaid / dot",
            "SVG needs Graphviz's `dot`, which is not installed; install Graphviz "
            "(apt install graphviz, brew install graphviz …) or use --format mermaid / dot",
        )
    try:
        done = subprocess.run(
            [program, "-Tsvg"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GraphvizError(f"dot 运行失败：{exc}", f"running dot failed: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise GraphvizError(f"dot 运行失败：{message}", f"dot failed: {message}")
    return done.stdout.decode("utf-8")
