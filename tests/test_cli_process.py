"""``jiedai process list|show|diff|migrate|replay`` on a SQLite file, with version 2 of the default
process contributed by a plugin (registered here the way an installed county package would be)."""

from __future__ import annotations

import json
import traceback
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner, Result

import jiedai_flow.process.engine
from jiedai_flow.cli import main
from tests.test_process_migration import STEPS, V2, Version2, _engine, _reception

if TYPE_CHECKING:
    from pathlib import Path

ENV = {"COLUMNS": "250", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1", "JIEDAI_CALENDAR": ""}
ACTORS_TOML = """\
[[actor]]
id = "admin"
name = "系统管理员"
roles = ["admin"]

[[actor]]
id = "zhang.wei"
name = "张伟"
roles = ["handler"]
unit = "县政府办公室"
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    """A database with receptions in every stage on version 1, and the CLI's engines with version 2."""
    url = f"sqlite:///{tmp_path / 'j.db'}"
    engine = _engine(url)
    ids = [_reception(engine, n) for n in range(len(STEPS) + 1)]
    engine.store.close()
    opened = jiedai_flow.process.engine.open_engine

    def with_version_2(*args: Any, plugins: Any = (), **kwargs: Any) -> Any:
        return opened(*args, plugins=[*plugins, ("county_v2", Version2())], **kwargs)

    monkeypatch.setattr(jiedai_flow.process.engine, "open_engine", with_version_2)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jiedai-actors.toml").write_text(ACTORS_TOML, encoding="utf-8")
    return url, ids


def jiedai(url: str, *args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(main, ["--db", url, *args], env=ENV, prog_name="jiedai")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("".join(traceback.format_exception(result.exception)) + result.output)
    assert result.exit_code == code, result.output
    return result


def test_list_shows_both_versions_with_their_receptions(site: tuple[str, list[str]]) -> None:
    url, ids = site
    rows = json.loads(jiedai(url, "--json", "process", "list").stdout)
    assert [(r["key"], r["receptions"], r["default"]) for r in rows] == [
        ("reception@1", len(ids), True),
        ("reception@2", 0, False),
    ]
    assert rows[1]["origin"] == "county_v2"  # the plugin that contributed it
    assert "reception@2" in jiedai(url, "process", "list").stdout


def test_show_lists_states_with_phases_and_trigger_declarations(site: tuple[str, list[str]]) -> None:
    url, _ = site
    out = jiedai(url, "process", "show", "reception@2").stdout
    assert "ended" in out
    assert "held" in out  # the phase of 接待结束
    assert "开启审批链" in out  # submit opens the approval chain
    data = json.loads(jiedai(url, "--json", "process", "show", "reception@2").stdout)
    assert {s["name"] for s in data["states"]} == {s.name for s in V2.states}
    jiedai(url, "process", "show", "nowhere@1", code=2)


def test_diff_names_the_renamed_state_and_the_removed_trigger(site: tuple[str, list[str]]) -> None:
    url, _ = site
    out = jiedai(url, "process", "diff", "reception@1", "reception@2").stdout
    assert "+ 新增状态 states added: ended" in out
    assert "- 删除操作 triggers removed: start_urgent" in out


def test_migrate_dry_run_then_apply_then_replay(site: tuple[str, list[str]]) -> None:
    url, ids = site
    dry = json.loads(
        jiedai(
            url,
            "--json",
            "process",
            "migrate",
            "reception@1",
            "reception@2",
            "--map",
            "completed=ended",
            "--dry-run",
        ).stdout
    )
    assert len(dry["moves"]) == len(ids)
    assert {m["before"]: m["after"] for m in dry["moves"]}["completed"] == "ended"
    blocked = jiedai(url, "process", "migrate", "reception@1", "reception@2", "--dry-run", code=3).stdout
    assert "没有状态「completed」" in blocked  # without the map, 接待结束 has no place
    jiedai(
        url, "process", "migrate", "reception@1", "reception@2", "--map", "completed=ended", code=2
    )  # no --as
    refused = jiedai(
        url, "process", "migrate", "reception@1", "reception@2", "--map", "completed=ended",
        "--as", "zhang.wei", "--reason", "x", code=3,
    )  # fmt: skip
    assert "被拒绝 refused 8" in refused.stdout
    done = json.loads(
        jiedai(
            url,
            "--json",
            "process",
            "migrate",
            "reception@1",
            "reception@2",
            "--map",
            "completed=ended",
            "--as",
            "admin",
            "--reason",
            "2027 年起使用新版流程",
        ).stdout
    )
    assert sorted(done["applied"]) == sorted(ids)
    # the trails before the migration speak version 1: the map translates them
    jiedai(url, "process", "replay", "reception@2", *ids, code=1)
    args = ("--json", "process", "replay", "reception@2", *ids, "--map", "completed=ended")
    replayed = json.loads(jiedai(url, *args).stdout)
    assert replayed["ok"]
    assert replayed["receptions"] == len(ids)


def test_replay_of_version_1_trails_against_version_2_needs_the_map(site: tuple[str, list[str]]) -> None:
    url, _ = site
    out = jiedai(url, "process", "replay", "reception@2", "--source", "reception@1", code=1).stdout
    assert "不允许" in out
    assert "completed" in out
    jiedai(url, "process", "replay", "reception@2", "--source", "reception@1", "--map", "completed=ended")
    jiedai(url, "process", "replay", "reception@2", "--map", "a=b", code=2)  # no ids, no --source


def test_migrating_a_version_to_itself_is_a_usage_error_and_writes_nothing(
    site: tuple[str, list[str]],
) -> None:
    """It reported 已迁移 11 and wrote 11 audit events for a migration that changed nothing."""
    url, ids = site
    args = ("process", "migrate", "reception@1", "reception@1")
    refused = jiedai(url, *args, "--as", "admin", "--reason", "x", code=2).output
    assert "源流程与目标流程都是 reception@1，迁移不会改变任何接待" in refused
    jiedai(url, *args, "--dry-run", code=2)
    history = json.loads(jiedai(url, "--json", "history", ids[0]).stdout)
    assert "migrate" not in json.dumps(history)


def test_a_map_naming_a_state_or_trigger_nobody_has_is_a_usage_error(site: tuple[str, list[str]]) -> None:
    """A misspelt name on the command line is the user's mistake (exit 2), not a broken plugin (4)."""
    url, _ = site
    migrate = ("process", "migrate", "reception@1", "reception@2", "--dry-run")
    refused = jiedai(url, *migrate, "--map", "nosuch=ended", code=2).output
    assert "迁移计划有误：源流程没有状态 nosuch" in refused
    replay = ("process", "replay", "reception@2", "--source", "reception@1")
    refused = jiedai(url, *replay, "--map-trigger", "fnish=finish", code=2).output
    assert "源流程没有操作 fnish" in refused
