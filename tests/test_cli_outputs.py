"""Output files 输出文件: ``--output`` and ``import --template FILE`` never write over the database in
use, a configuration file the run reads, or any SQLite database — a slip of the shell (the database's
name where the report's was meant) used to destroy every reception and the audit trail with exit 0.
An ordinary file of the same name is still replaced: reports are made again at will."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

import pytest

from tests.test_cli import Site, jiedai, site, walk_to_archive

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["site"]  # the fixture


def _unchanged(path: Path, before: bytes) -> None:
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "command",
    [
        ("export", "{id}", "--format", "csv", "--output", "{target}"),
        ("report", "summary", "--year", "2026", "--format", "csv", "--output", "{target}"),
        ("report", "summary", "--year", "2026", "--format", "xlsx", "--output", "{target}"),
        ("diagram", "--output", "{target}"),
        ("history", "{id}", "--format", "html", "--output", "{target}"),
    ],
)
@pytest.mark.parametrize(
    "target", ["jiedai.db", "jiedai-actors.toml", "jiedai-standards.toml", "copy.sqlite"]
)
def test_output_never_writes_over_the_database_or_a_file_the_run_reads(
    site: Site, command: tuple[str, ...], target: str
) -> None:
    rid = site.new()
    walk_to_archive(rid)
    shutil.copy(site.path / "jiedai.db", site.path / "copy.sqlite")
    path = site.path / target
    before = path.read_bytes()
    result = jiedai(*(part.format(id=rid, target=target) for part in command), code=2)
    assert f"不会写到 {target}" in result.output
    assert "will not write over" in result.output
    _unchanged(path, before)
    assert rid in jiedai("--json", "list").stdout  # the database still answers


def test_output_replaces_an_ordinary_file(site: Site) -> None:
    rid = site.new()
    walk_to_archive(rid)
    report = site.path / "list.csv"
    report.write_text("old\n", encoding="utf-8")
    jiedai("export", rid, "--format", "csv", "--output", report)
    assert report.read_text(encoding="utf-8-sig") != "old\n"


def test_import_template_keeps_an_existing_file_unless_forced(site: Site) -> None:
    data = site.path / "mydata.csv"
    jiedai("import", "--template", data)
    data.write_text(data.read_text(encoding="utf-8-sig") + "more rows\n", encoding="utf-8-sig")
    before = data.read_bytes()
    result = jiedai("import", "--template", data, code=2)
    assert "已存在，保留" in result.output
    assert "--force" in result.output
    _unchanged(data, before)
    jiedai("import", "--template", data, "--force")
    assert data.read_bytes() != before
    actors = site.path / "jiedai-actors.toml"
    kept = actors.read_bytes()
    jiedai("import", "--template", actors, "--force", code=2)
    _unchanged(actors, kept)


def test_a_file_the_command_cannot_write_is_a_json_error_under_json(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``--json`` every error is a JSON object on stdout, a file system failure too (it was plain
    text on stderr and an empty stdout)."""
    monkeypatch.setenv("JIEDAI_AUDIT_KEY", "k1:0123456789abcdef0123456789abcdef")
    result = jiedai("--json", "audit", "checkpoint", "--to", site.path / "no" / "such" / "dir", code=4)
    error = json.loads(result.stdout)["error"]
    assert (error["code"], error["exit_code"]) == ("storage", 4)
    assert error["message_zh"].startswith("无法访问文件或数据库")
    assert "No such file or directory" in error["message_en"]
    plain = jiedai("audit", "checkpoint", "--to", site.path / "no" / "such" / "dir", code=4)
    assert "无法访问文件或数据库" in plain.output


def test_an_output_named_for_another_format_is_refused(site: Site) -> None:
    rid = site.new()
    walk_to_archive(rid)
    result = jiedai("export", rid, "--format", "xlsx", "--output", "list.html", code=2)
    assert "--format html" in result.output
    assert not (site.path / "list.html").exists()
    jiedai("export", rid, "--format", "xlsx", "--output", "list.xlsx")
    jiedai("export", rid, "--format", "html", "--output", "list.htm")
    jiedai("report", "summary", "--year", "2026", "--format", "csv", "--output", "summary.txt")


def test_list_with_the_dates_swapped_says_so(site: Site) -> None:
    site.new()
    result = jiedai("list", "--from", "2026-12-31", "--to", "2026-01-01", code=2)
    assert "写反了" in result.output
    assert "swapped" in result.output


def test_output_never_writes_over_a_file_the_run_reads_under_another_name(site: Site) -> None:
    """A hard link is the actors file under another name."""
    rid = site.new()
    walk_to_archive(rid)
    actors = site.path / "jiedai-actors.toml"
    (site.path / "linked.toml").hardlink_to(actors)
    kept = actors.read_bytes()
    jiedai("export", rid, "--format", "csv", "--output", "linked.toml", code=2)
    _unchanged(actors, kept)
