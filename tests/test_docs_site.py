"""The docs site (mkdocs.yml) stays whole: every export documented, every page in the nav, the hooks page
Chinese first, benchmark figures on the dated performance page only, and no reference to a document that
is not in the repository. ``mkdocs build --strict`` (in .ci/run) checks links and anchors; these tests
catch what it cannot: bare mentions of outside files, and pages nobody would notice are missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import jiedai_flow
from jiedai_flow import docgen
from jiedai_flow.docgen import builtin_rules

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MKDOCS = ROOT / "mkdocs.yml"
_CJK = re.compile(r"[\u4e00-\u9fff]")

LOCAL_RULE_EXAMPLES = {"LA-01", "XX-01"}
"""Rule ids of the local rules in docs/snippets and the tutorial's example package, not built-in rules."""


def pages() -> list[Path]:
    """Every markdown page of the site (the rendered report examples under docs/examples are not pages)."""
    return sorted(p for p in DOCS.rglob("*.md") if "examples" not in p.relative_to(DOCS).parts)


def nav_pages() -> list[str]:
    """Paths (relative to docs/) named in the ``nav`` of mkdocs.yml."""
    nav = MKDOCS.read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    return re.findall(r"^\s+- (?:[^\n]*?: )?([\w/.-]+\.md)$", nav, re.MULTILINE)


def texts() -> list[tuple[Path, str]]:
    """The text a reader can meet: pages, the README, and the package and examples sources (docstrings are
    rendered in the API reference; locality files are quoted in docs/standards.md)."""
    files = [*pages(), ROOT / "README.md"]
    for folder in (ROOT / "src", ROOT / "examples"):
        files += [p for p in folder.rglob("*") if p.suffix in {".py", ".toml", ".md"} and p.is_file()]
    return [(p, p.read_text(encoding="utf-8")) for p in files if "egg-info" not in str(p)]


# -- the API reference --------------------------------------------------------------------------------


def api_names() -> dict[str, str]:
    """{name: api page} for every ``::: jiedai_flow.NAME`` directive under docs/api."""
    found: dict[str, str] = {}
    for page in sorted((DOCS / "api").glob("*.md")):
        for name in re.findall(r"^::: jiedai_flow\.(\w+)$", page.read_text(encoding="utf-8"), re.MULTILINE):
            assert name not in found, f"{name} is documented on both {found[name]} and {page.name}"
            found[name] = page.name
    return found


def test_every_export_is_in_the_api_reference() -> None:
    missing = sorted(set(jiedai_flow.__all__) - set(api_names()))
    assert not missing, f"add a '::: jiedai_flow.NAME' line to a page of docs/api/ for: {', '.join(missing)}"


def test_the_api_reference_documents_only_exports() -> None:
    stale = sorted(set(api_names()) - set(jiedai_flow.__all__))
    assert not stale, f"docs/api/ documents names that jiedai_flow no longer exports: {', '.join(stale)}"


# -- the nav ----------------------------------------------------------------------------------------------


def test_every_page_is_in_the_nav_once() -> None:
    """A new page needs a place in one section of the nav (mkdocs --strict fails too, later and slower)."""
    listed = nav_pages()
    assert len(listed) == len(set(listed)), "a page is listed twice in the nav of mkdocs.yml"
    on_disk = {p.relative_to(DOCS).as_posix() for p in pages()}
    assert not on_disk - set(listed), f"add to the nav of mkdocs.yml: {sorted(on_disk - set(listed))}"
    assert not set(listed) - on_disk, f"the nav names missing pages: {sorted(set(listed) - on_disk)}"


def test_the_nav_has_the_four_sections_each_with_an_index_page() -> None:
    text = MKDOCS.read_text(encoding="utf-8")
    for section, index in [
        ("教程 Tutorials", "tutorials/index.md"),
        ("操作指南 How-to", "how-to/index.md"),
        ("参考 Reference", "reference/index.md"),
        ("解释 Explanation", "explanation/index.md"),
    ]:
        assert re.search(rf"^  - {section}:\n      - {re.escape(index)}$", text, re.MULTILINE), section
    assert "language: zh" in text
    assert "paths: [src]" in text, "mkdocstrings must read this checkout's src, not an installed copy"


# -- the hooks page, Chinese first ----------------------------------------------------------------------


def test_every_hook_has_a_chinese_summary() -> None:
    hooks = {name for name, _, _ in docgen.specs()}
    missing = sorted(hooks - set(docgen.HOOKS_ZH))
    assert not missing, f"add a Chinese summary to jiedai_flow.docgen.HOOKS_ZH for: {', '.join(missing)}"
    assert not set(docgen.HOOKS_ZH) - hooks, "HOOKS_ZH names hooks that do not exist"
    assert all(_CJK.search(text) for text in docgen.HOOKS_ZH.values())


def test_the_hooks_page_leads_with_chinese() -> None:
    """The text after the title, after every phase heading and after every hook heading starts in Chinese."""
    page = docgen.render_hooks()
    lines = [line for line in page.splitlines() if line and not line.startswith("<!--")]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("### "):  # a hook: "### `name`", then its Chinese summary
            assert _CJK.match(lines[i + 1].lstrip("*")), f"{line} does not start with Chinese"
        elif line.startswith("#"):
            assert _CJK.match(line.lstrip("# ")), f"heading not Chinese first: {line}"
    assert _CJK.match(lines[1]), "the page's introduction is Chinese first"


# -- benchmark figures: one dated page ----------------------------------------------------------------

_FIGURE = re.compile(r"\d ?(?:µs|ms)\b|流程/秒|条/秒|lifecycles/s|RATIO [\w/ -]+ = \d")


def test_the_performance_page_is_dated() -> None:
    head = (DOCS / "performance.md").read_text(encoding="utf-8")[:400]
    assert re.search(r"Figures as of \d{4}-\d{2}-\d{2}", head)


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.relative_to(DOCS).as_posix())
def test_benchmark_figures_are_only_on_the_performance_page(page: Path) -> None:
    if page.name == "performance.md":
        return
    found = _FIGURE.findall(page.read_text(encoding="utf-8"))
    assert not found, f"{page.name} has benchmark figures {found[:3]}: put them on docs/performance.md"


# -- no document outside the repository ---------------------------------------------------------------

_MD_MENTION = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w-]+\.md)\b")
_SOURCE_KEY = re.compile(r"参考资料 (S\d+)")
_RULE_ID = re.compile(r"(?<![\w-])([A-Z]{1,2}-\d{2})(?![\w-])")


def _exists(mentioned: str, where: Path) -> bool:
    bases = (where.parent, ROOT, DOCS, DOCS / "examples")  # docs/examples: files the report examples write
    return any((base / mentioned).exists() for base in bases)


def listed_source_keys() -> set[str]:
    return set(re.findall(r"^\| (S\d+) \|", (DOCS / "sources.md").read_text(encoding="utf-8"), re.MULTILINE))


def outside_references(text: str, where: Path, keys: set[str]) -> list[str]:
    """What in ``text`` (found in file ``where``) points outside the repository: a "§" citation (the
    sections of a document not held here), a markdown file that does not exist, a source key
    ("参考资料 S12") that docs/sources.md does not list."""
    found = [f"…{text[max(m.start() - 20, 0) : m.end() + 10]}…" for m in re.finditer("§", text)]
    found += [name for name in _MD_MENTION.findall(text) if not _exists(name, where)]
    found += [f"参考资料 {key}" for key in _SOURCE_KEY.findall(text) if key not in keys]
    return found


def test_nothing_refers_to_a_document_outside_the_repository() -> None:
    """Cite docs/rules.md, docs/sources.md (and add a source key there) or the public document by name."""
    keys = listed_source_keys()
    found = [
        f"{path.relative_to(ROOT)}: {what}"
        for path, text in texts()
        for what in outside_references(text, path, keys)
    ]
    assert not found, "references to documents not in the repository:\n" + "\n".join(found)


def test_the_shipped_localities_cite_listed_sources() -> None:
    used = {key for _, text in texts() for key in _SOURCE_KEY.findall(text)}
    assert used, "the shipped localities cite their sources by key"
    assert used <= listed_source_keys()


def test_rule_ids_in_the_docs_are_rules_that_exist() -> None:
    """A rule id in a page is a built-in rule (docs/rules.md) or one of the documented local examples."""
    known = {rule.id for rule in builtin_rules()} | LOCAL_RULE_EXAMPLES
    found = sorted(
        {
            f"{path.relative_to(ROOT)}: {rule_id}"
            for path in [*pages(), ROOT / "README.md"]
            for rule_id in _RULE_ID.findall(path.read_text(encoding="utf-8"))
            if rule_id not in known
        }
    )
    assert not found, "ids that are no rule of jiedai_flow:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "text",
    [
        "起点是 design.md 的草图",
        "编号见 reference §5",
        "依据 R-02、§4.1 第 10 步",
        "（参考资料 S99）",
        "见 approvals.md",
    ],
)
def test_outside_references_are_caught(text: str) -> None:
    """Each kind of citation the issue found is flagged (approvals.md until a page of that name exists)."""
    flagged = outside_references(text, DOCS / "index.md", {"S12"})
    assert flagged or (DOCS / "approvals.md").exists()


def test_references_to_what_the_repository_holds_pass() -> None:
    text = "见 docs/rules.md、[来源](sources.md)、README.md、`examples/jiedai-county-example/README.md`"
    text += "（参考资料 S12）"
    assert outside_references(text, DOCS / "index.md", {"S12"}) == []
