"""The hook specs, the typed facade and docs/hooks.md describe the same hooks."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pluggy
import pytest

from jiedai_flow import docgen, hookspecs
from jiedai_flow.plugins import Hooks

DOCS = Path(__file__).resolve().parents[1] / "docs" / "hooks.md"
FIRST = "Stops at the first non-None result"
EVERY = "Called for every plugin"

SPECS = {name: (func, kind) for name, func, kind in docgen.specs()}


def _facade_methods() -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(Hooks, inspect.isfunction)
        if not name.startswith("_")
    }


def test_there_are_specs() -> None:
    """The spec discovery finds the hooks (guards the tests below from passing vacuously)."""
    assert "jiedai_authorize" in SPECS
    assert len(SPECS) >= 8


def test_every_spec_name_starts_with_jiedai() -> None:
    """Every hook is prefixed ``jiedai_``."""
    assert [name for name in SPECS if not name.startswith("jiedai_")] == []


def test_docgen_finds_every_hook_pluggy_finds() -> None:
    """docgen and pluggy agree on which functions are specs."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    assert set(SPECS) == {name for name in vars(pm.hook) if name.startswith("jiedai_")}


def test_facade_names_the_same_hooks_as_the_specs() -> None:
    """``Hooks`` has one method per spec, and no other public method."""
    assert set(_facade_methods()) == set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_facade_method_takes_the_spec_arguments(name: str) -> None:
    """Each facade method takes exactly the spec's arguments, in the same order."""
    method = _facade_methods()[name]
    spec = inspect.signature(SPECS[name][0])
    assert [p for p in method.parameters if p != "self"] == list(spec.parameters)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_facade_forwards_every_argument_to_the_hook(name: str) -> None:
    """Calling the facade calls the hook of the same name with every argument, by keyword."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    calls: list[tuple[str, dict[str, Any]]] = []
    pm.add_hookcall_monitoring(lambda n, _i, kw: calls.append((n, dict(kw))), lambda *_: None)
    kwargs = {arg: object() for arg in inspect.signature(SPECS[name][0]).parameters}
    getattr(Hooks(pm), name)(**kwargs)
    assert calls == [(name, kwargs)]


@pytest.mark.parametrize("name", sorted(SPECS))
def test_spec_docstring_follows_the_template(name: str) -> None:
    """Summary, ``:param:`` per argument, ``:return:``, and the call-semantics sentence that matches."""
    func, kind = SPECS[name]
    doc = inspect.getdoc(func) or ""
    assert doc.splitlines()[0].strip(), "first line is the summary"
    for arg in inspect.signature(func).parameters:
        assert f":param {arg}:" in doc, f"{name}: missing ':param {arg}:'"
    assert ":return:" in doc
    expected, other = (FIRST, EVERY) if kind == "firstresult" else (EVERY, FIRST)
    assert expected in doc, f"{name} is {kind}: its docstring must say {expected!r}"
    assert other not in doc


def test_docs_hooks_md_is_up_to_date() -> None:
    """docs/hooks.md is exactly what docgen generates now."""
    current = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    assert current == docgen.render_hooks(), f"docs/hooks.md is stale; run: {docgen.REGENERATE}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_every_hook_is_in_the_reference(name: str) -> None:
    """Each hook has its own section in docs/hooks.md."""
    assert f"### `{name}`" in DOCS.read_text(encoding="utf-8")


def test_reference_has_signatures_semantics_and_builtin_table() -> None:
    """The page shows annotations as written, the call semantics and the built-in plugins."""
    text = docgen.render_hooks()
    assert text.startswith("# 插件钩子参考 Hooks reference\n")
    assert "jiedai_storage(url: str) -> Store | None" in text
    assert "task: Task | None) -> Verdict | bool | None" in text
    assert "firstresult" in text
    assert "1:N" in text
    assert "| `jiedai.national` | `jiedai_flow.builtin.national` |" in text
    assert "`jiedai_authorize` (trylast)" in text  # separation of duties is the engine's, not a wrapper


def test_builtin_table_lists_each_builtin_plugin() -> None:
    """One row per entry of ``BUILTIN_PLUGINS``, in order."""
    from jiedai_flow.plugins import BUILTIN_PLUGINS

    rows = docgen.render_builtin_table().splitlines()[2:]
    assert [row.split("|")[1].strip(" `") for row in rows] == [name for name, _ in BUILTIN_PLUGINS]


def test_check_exits_1_when_stale_and_0_when_fresh(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--check`` compares a file with the generated text."""
    page = tmp_path / "hooks.md"
    assert docgen.main(["--check", str(page)]) == 1  # missing
    page.write_text(docgen.render_hooks() + "edited\n", encoding="utf-8")
    assert docgen.main(["--check", str(page)]) == 1
    assert docgen.REGENERATE in capsys.readouterr().err
    page.write_text(docgen.render_hooks(), encoding="utf-8")
    assert docgen.main(["--check", str(page)]) == 0


def test_hooks_command_prints_the_page(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    """``hooks`` writes the page as UTF-8 whatever the console encoding."""
    assert docgen.main(["hooks"]) == 0
    assert capsysbinary.readouterr().out.decode("utf-8") == docgen.render_hooks()
