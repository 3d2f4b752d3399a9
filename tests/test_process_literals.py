"""No module of the package names a trigger or state of the default process, except the definition
module itself and the exceptions listed here, each with its reason. A new literal fails this test:
read the declaration instead (``TriggerDef``, ``StateDef.phase``, ``Stage``)."""

from __future__ import annotations

import ast
from pathlib import Path

from jiedai_flow import DEFAULT_PROCESS

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "jiedai_flow"
NAMES = frozenset({s.name for s in DEFAULT_PROCESS.states} | {t.name for t in DEFAULT_PROCESS.triggers})

DEFINITION = "process/lifecycle.py"
"""The definition module: where the names are defined."""

WHOLE_MODULES = {
    "cli/demo.py": "the demo is a script of the default process, typed as a user would type it",
    "reports/examples.py": "sample receptions for the report pages, walked through the default process",
    "testing.py": "the test kit's fixtures and state machine drive the default process by name",
}
"""Modules that script the default process on purpose."""

WORDS = {
    ("domain/workdays.py", "start"): "a holiday file's field (放假起始日), not the trigger",
    ("cli/workdays.py", "start"): "a holiday's JSON field",
    ("cli/render.py", "start"): "the reception's start date in JSON output",
    ("importer/columns.py", "start"): "the import column of the start date",
    ("importer/rows.py", "start"): "the start date's column and the itinerary's field",
    ("importer/template.py", "start"): "the example row's start-date column",
    ("reports/facts.py", "start"): "the start date's key in the stored JSON",
    ("storage/migrations/versions/0001_initial.py", "start"): "the start date's key in the stored JSON",
    ("notify/deadlines.py", "claim"): "DeadlineKind.CLAIM's value, a stable public value (remind:claim)",
    ("cli/processes.py", "refused"): "the JSON key of the migration commands that were refused",
    ("cli/delivery.py", "refused"): "the dispatcher's count and outbox status 拒发, not the state",
    ("notify/dispatch.py", "refused"): "the outbox status 拒发 of a row the trail disowns, not the state",
    (
        "cli/commands.py",
        "jump",
    ): "the command name of the 跳转 operation (it fires the operation's trigger)",
    ("cli/commands.py", "terminate"): "the command name of the 终止 operation",
    ("cli/commands.py", "urge"): "the command name of the 催办 operation",
    ("cli/commands.py", "comment"): "the command name of the 沟通 operation",
}
"""(module, literal) pairs where the word means something else."""


def _literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value in NAMES
        and id(node) not in docstrings
    }


def test_no_module_names_a_trigger_or_state_of_the_default_process() -> None:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module == DEFINITION or module in WHOLE_MODULES:
            continue
        named = {word for word in _literals(path) if (module, word) not in WORDS}
        if named:
            found[module] = sorted(named)
    assert found == {}, "read the process definition's declarations instead of naming these"


def test_every_exception_is_still_needed() -> None:
    """An allow-list entry whose literal is gone is removed, so the list stays honest."""
    for module in WHOLE_MODULES:
        assert _literals(PACKAGE / module), f"{module} no longer names the default process"
    for module, word in WORDS:
        assert word in _literals(PACKAGE / module), f"{module} no longer uses {word!r}"
