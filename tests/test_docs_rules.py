"""docs/rules.md is generated from the rule registry; docs/tutorial.md and docs/standards.md quote real
files verbatim and show real loader output. Each test fails when a page goes stale."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jiedai_flow import Citation, Finding, Rule, Severity, ValidationError, docgen
from jiedai_flow.builtin.national._common import explain
from jiedai_flow.domain import localities
from jiedai_flow.domain.standards import STANDARDS_FIELDS
from jiedai_flow.domain.standards_toml import load_standards_text
from jiedai_flow.testing import make_engine

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jiedai_flow import RuleContext

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLE = "examples/jiedai-county-example"
_QUOTE = re.compile(r"<!-- file: (?P<path>\S+) -->\n```(?P<lang>\w+)\n(?P<body>.*?)```", re.DOTALL)
_TOML = re.compile(r"(?P<marker><!-- bad-example -->\n)?```toml\n(?P<body>.*?)```", re.DOTALL)


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# -- docs/rules.md ------------------------------------------------------------------------------------


def test_docs_rules_md_is_up_to_date() -> None:
    """docs/rules.md is exactly what docgen generates from the rules registered now."""
    current = page("rules.md") if (DOCS / "rules.md").exists() else ""
    assert current == docgen.render_rules(), f"docs/rules.md is stale; run: {docgen.REGENERATE_RULES}"


def test_the_page_is_generated_from_the_engines_registry() -> None:
    """docgen reads the same rules an engine with the built-in plugins registers, with their plugins."""
    registered = make_engine().rules.rules
    listed = docgen.builtin_rules()
    assert sorted(r.id for r in listed) == sorted(registered)
    assert {r.id: r.plugin for r in listed} == {rid: r.plugin for rid, r in registered.items()}


def test_every_rule_has_a_section_with_its_stages_and_citation() -> None:
    text = docgen.render_rules()
    for rule in docgen.builtin_rules():
        section = text.split(f"\n### {rule.id} ", 1)[1].split("\n### ", 1)[0]
        assert section.startswith(rule.title)
        for stage in rule.stages:
            assert f"`{stage}`" in section
        assert str(rule.citation or "—") in section
        assert f"`{rule.plugin}`" in section


def test_rules_are_in_catalogue_order_by_family() -> None:
    ids = [r.id for r in docgen.builtin_rules()]
    families = list(dict.fromkeys(i.split("-")[0] for i in ids))
    order = list(docgen._FAMILIES)
    assert families == sorted(families, key=order.index)
    for family in families:
        numbers = [int(i.split("-")[1]) for i in ids if i.startswith(f"{family}-")]
        assert numbers == sorted(numbers)


def _warns(ctx: RuleContext) -> Iterator[Finding]:
    yield Finding("XX-09", Severity.WARNING, "提醒", "warning", "$", Citation("示例"))


def _through_a_helper(ctx: RuleContext) -> Iterator[Finding]:
    yield _explained()


def _explained() -> Finding:
    return explain("XX-10", "须说明", "explain", "$", Citation("示例"))


def test_severities_are_read_from_the_checks_code() -> None:
    """Named Severity members and the national finding helpers, followed through the module's functions."""
    assert docgen.severities(_warns) == (Severity.WARNING,)
    assert docgen.severities(_through_a_helper) == (Severity.NEEDS_EXPLANATION,)
    assert docgen.severities(len) == ()
    rule = Rule("XX-09", "示例", frozenset({"submit"}), _warns, title_en="example")
    assert "| XX-09 | 示例 | example | 提醒 | — |" in docgen.render_rules([rule])


def test_rules_command_prints_the_page(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert docgen.main(["rules"]) == 0
    assert capsysbinary.readouterr().out.decode("utf-8") == docgen.render_rules()


def test_check_without_paths_checks_every_page_rules_included(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    for path, render, _ in docgen.PAGES.values():
        path.write_text(render(), encoding="utf-8")
    assert docgen.main(["--check"]) == 0
    docgen.RULES_PATH.unlink()
    assert docgen.main(["--check"]) == 1  # rules.md missing
    assert docgen.REGENERATE_RULES in capsys.readouterr().err
    docgen.RULES_PATH.write_text(docgen.render_rules() + "edited\n", encoding="utf-8")
    assert docgen.main(["--check"]) == 1
    docgen.RULES_PATH.write_text(docgen.render_rules(), encoding="utf-8")
    assert docgen.main(["--check"]) == 0
    docgen.DEFAULT_PATH.write_text("stale", encoding="utf-8")
    assert docgen.main(["--check"]) == 1
    assert docgen.REGENERATE in capsys.readouterr().err


def test_check_of_a_path_named_rules_md_compares_with_the_rules_page(tmp_path: Path) -> None:
    rules, hooks = tmp_path / "rules.md", tmp_path / "hooks.md"
    rules.write_text(docgen.render_rules(), encoding="utf-8")
    hooks.write_text(docgen.render_hooks(), encoding="utf-8")
    assert docgen.main(["--check", str(rules), str(hooks)]) == 0
    rules.write_text(docgen.render_hooks(), encoding="utf-8")
    assert docgen.main(["--check", str(rules)]) == 1


# -- quoted files --------------------------------------------------------------------------------------


def quotes(name: str) -> dict[str, str]:
    """{path: quoted text} of every ``<!-- file: PATH -->`` code block of docs/<name>."""
    found = {m["path"]: m["body"] for m in _QUOTE.finditer(page(name))}
    assert len(found) == page(name).count("<!-- file: "), (
        f"a file marker in {name} is not followed by a block"
    )
    return found


@pytest.mark.parametrize("name", ["tutorial.md", "standards.md"])
def test_quoted_files_are_verbatim_copies(name: str) -> None:
    for path, body in quotes(name).items():
        assert body == (ROOT / path).read_text(encoding="utf-8"), f"docs/{name} quotes {path} out of date"


def test_the_tutorial_quotes_the_whole_example_package() -> None:
    assert set(quotes("tutorial.md")) == {
        f"{EXAMPLE}/src/jiedai_county_example/standards.toml",
        f"{EXAMPLE}/src/jiedai_county_example/university.toml",
        f"{EXAMPLE}/src/jiedai_county_example/plugin.py",
        f"{EXAMPLE}/src/jiedai_county_example/templates/title.html",
        f"{EXAMPLE}/pyproject.toml",
        f"{EXAMPLE}/tests/test_xx_county.py",
    }


def _cells(line: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in re.split(r"[┃│]", line.strip())[1:-1])


def test_the_tutorials_plugins_table_is_what_jiedai_plugins_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """The header and every row the tutorial shows for `jiedai plugins` (the default, Chinese only) are rows
    of the real table; the example county's row is checked where that package is installed (as in CI)."""
    from click.testing import CliRunner

    from jiedai_flow.cli import main as jiedai

    monkeypatch.delenv("JIEDAI_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    monkeypatch.delenv("JIEDAI_LANG", raising=False)
    monkeypatch.delenv("JIEDAI_BLOCKED_PLUGINS", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(jiedai, ["plugins"])
    assert result.exit_code == 0, result.output
    printed = {_cells(line) for line in result.output.splitlines() if line.startswith(("┃", "│"))}
    section = page("tutorial.md").split("`jiedai plugins` 列出已安装的插件", 1)[1]
    shown = [_cells(line) for line in section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()]
    assert shown[0] in printed  # the header
    for row in shown[1:]:
        if row[0] != "…" and (row[0] != "xx_county" or any(p[0] == "xx_county" for p in printed)):
            assert row in printed, f"docs/tutorial.md shows {row}, jiedai plugins prints {sorted(printed)}"


def test_the_standards_page_quotes_every_shipped_locality() -> None:
    shipped = {str(localities.path(name).relative_to(ROOT)) for name in localities.available()}
    assert set(quotes("standards.md")) == shipped
    for name in localities.available():
        assert f"| `{name}` " in page("standards.md")


def test_the_tutorials_error_example_is_what_the_loader_says() -> None:
    toml = (ROOT / EXAMPLE / "src/jiedai_county_example/standards.toml").read_text(encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_standards_text(toml.replace('amount = "50.00"', "amount = 50.0", 1), source="standards.toml")
    assert str(caught.value) in page("tutorial.md")


def test_toml_examples_in_the_standards_page_load_and_the_bad_one_fails_as_shown() -> None:
    text = page("standards.md")
    blocks = list(_TOML.finditer(text))
    bad = [b for b in blocks if b["marker"]]
    assert len(bad) == 1
    for block in blocks:
        if block["marker"]:
            with pytest.raises(ValidationError) as caught:
                load_standards_text(block["body"], source="bad.toml")
            shown = text[block.end() :].split("```text\n", 1)[1].split("```", 1)[0]
            assert shown == f"{caught.value}\n"
        else:
            load_standards_text(block["body"])


def test_the_standards_page_documents_every_field() -> None:
    text = page("standards.md")
    missing = [name for name in STANDARDS_FIELDS if f"| `{name}` |" not in text]
    assert not missing, f"docs/standards.md does not document: {', '.join(missing)}"
