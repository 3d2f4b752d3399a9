"""The package tree shows the architecture and stays that way: no import cycle between modules, no
loose module at the top beyond the few that are entry points, errors only in errors.py, and the
import paths of earlier versions still work (with a warning) but are used by nothing here."""

from __future__ import annotations

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

import jiedai_flow
from jiedai_flow import _moved
from jiedai_flow.errors import JiedaiFlowError

PACKAGE = Path(jiedai_flow.__file__).resolve().parent
ROOT = PACKAGE.parents[1]

TOP_LEVEL = {
    "__init__.py": "the facade: re-exports the public names",
    "_moved.py": "old import paths, for code written against earlier versions",
    "errors.py": "every error class, in one place",
    "hookspecs.py": "the plugin contract (pluggy hook specifications)",
    "plugins.py": "the plugin manager factory and the typed hook facade",
    "testing.py": "the pytest plugin for county plugin authors (entry point jiedai_flow.testing)",
    "docgen.py": "the generator of docs/*.md (python -m jiedai_flow.docgen)",
}
"""The only modules at the top of the package, and why each is there."""


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules ``name`` imports when it is imported (not under TYPE_CHECKING, not in functions)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                found.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)
                visit(node.orelse)
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {m for m in found if m in modules and m != name}


def test_no_import_cycle() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    cycles = []
    state: dict[str, int] = {}
    trail: list[str] = []

    def walk(node: str) -> None:
        state[node] = 1
        trail.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt)
        trail.pop()
        state[node] = 2

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in state:
            walk(node)
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_only_the_entry_modules_are_loose_at_the_top() -> None:
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert loose == set(TOP_LEVEL), "put a new module in the package of its layer (domain, process, notify …)"


def test_every_error_class_is_defined_in_errors_py() -> None:
    for name in sorted(_modules()):
        if name.startswith("jiedai_flow.server") and importlib.util.find_spec("litestar") is None:
            continue
        if name == "jiedai_flow.cli.__main__" or name == "jiedai_flow.storage.migrations.env":
            continue  # scripts: run, not imported
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # a dependency's own, at import
            module = importlib.import_module(name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, JiedaiFlowError) and value.__module__ == name:
                assert name == "jiedai_flow.errors", f"{value.__name__} is defined in {name}"


@pytest.mark.parametrize("old", sorted(_moved.MOVED))
def test_an_old_import_path_still_works_with_a_warning(old: str) -> None:
    with pytest.warns(DeprecationWarning, match="moved to"):
        module = importlib.import_module(old) if old not in sys.modules else _reimport(old)
    assert module is importlib.import_module(_moved.MOVED[old])


def _reimport(old: str) -> object:
    del sys.modules[old]
    return importlib.import_module(old)


def test_nothing_in_the_repository_uses_an_old_path() -> None:
    """Code, tests, examples and docs name the modules where they are now."""
    olds = sorted(_moved.MOVED, key=len, reverse=True)
    offenders = []
    for base in ("src", "tests", "benchmarks", "examples", "docs"):
        for path in (ROOT / base).rglob("*"):
            if (
                path.suffix not in {".py", ".md", ".toml"}
                or path.name == "_moved.py"
                or path.name == "test_layout.py"
            ):
                continue
            text = path.read_text(encoding="utf-8")
            for old in olds:
                if _names(text, old):
                    offenders.append(f"{path.relative_to(ROOT)}: {old}")
    assert not offenders, offenders


def _names(text: str, dotted: str) -> bool:
    import re

    return re.search(re.escape(dotted) + r"(?![\w])", text) is not None


def test_old_paths_warn_only_when_used() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        importlib.import_module("jiedai_flow.process.engine")


def test_no_file_holds_a_merge_conflict_marker() -> None:
    marked = []
    for base in ("src", "tests", "benchmarks", "examples", "docs"):
        for path in (ROOT / base).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".md", ".toml", ".html", ".yml", ".txt"}:
                lines = path.read_text(encoding="utf-8").splitlines()
                if any(line.startswith(("<<<<<<< ", ">>>>>>> ")) for line in lines):
                    marked.append(str(path.relative_to(ROOT)))
    assert not marked, marked


def test_bilingual_texts_are_named_zh_and_en() -> None:
    """One convention for text in two languages: ``*_zh`` beside ``*_en`` (``label``/``title`` read
    the Chinese field under their earlier names)."""
    import attrs

    unpaired = []
    for name in sorted(_modules()):
        if name.startswith(
            ("jiedai_flow.server", "jiedai_flow.cli.__main__", "jiedai_flow.storage.migrations")
        ):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            module = importlib.import_module(name)
        for value in vars(module).values():
            if not (isinstance(value, type) and attrs.has(value) and value.__module__ == name):
                continue
            fields = {f.name for f in attrs.fields(value)}
            for field in fields:
                if field.endswith("_en") and f"{field[:-3]}_zh" not in fields:
                    unpaired.append(f"{name}.{value.__name__}.{field}")
                if field.endswith("_zh") and f"{field[:-3]}_en" not in fields:
                    unpaired.append(f"{name}.{value.__name__}.{field}")
    assert not unpaired, unpaired
