"""The installed ``jiedai`` script run as real processes, as a clerk's shell or a script would: on a
SQLite file and a PostgreSQL schema, the whole lifecycle with ``--json`` parsed at each step, and
mistakes that end with a message on stderr and the documented exit code, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.databases import private_database

if TYPE_CHECKING:
    from collections.abc import Iterator

SCRIPT = Path(sys.executable).parent / "jiedai"


class Shell:
    """Runs ``jiedai`` in a directory with a database, like a user's shell."""

    def __init__(self, cwd: Path, url: str) -> None:
        self.cwd = cwd
        self.env = {
            **os.environ,
            "JIEDAI_DB": url,
            "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1",
            "PYTHONIOENCODING": "utf-8",
            "COLUMNS": "200",
        }

    def run(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(SCRIPT), *args],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        assert "Traceback" not in done.stdout, done.stdout
        assert done.returncode == code, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def json(self, *args: str, code: int = 0) -> Any:
        return json.loads(self.run("--json", *args, code=code).stdout)


@pytest.fixture(params=["sqlite", "postgresql"])
def shell(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Shell]:
    """A directory after ``jiedai init`` on a SQLite file, then on a PostgreSQL schema."""
    assert SCRIPT.exists(), f"console script not installed next to {sys.executable}"
    for url in private_database(request.param, tmp_path):
        made = Shell(tmp_path, url)
        made.run("init")
        yield made


@pytest.fixture
def sqlite_shell(tmp_path: Path) -> Shell:
    """The same on a SQLite file only: how mistakes are reported does not depend on the database."""
    made = Shell(tmp_path, f"sqlite:///{tmp_path / 'jiedai.db'}")
    made.run("init")
    return made


def test_a_whole_reception_through_the_installed_script(shell: Shell) -> None:
    created = shell.json("new", "jiedai-reception.toml")
    rid = created["id"]
    assert (created["state"], created["version"]) == ("draft", 1)
    steps = [
        ("submit", "zhang.wei", "submitted"),
        ("approve", "sun.hao", "submitted"),
        ("approve", "li.na", "approved"),
        ("start", "zhang.wei", "in_progress"),
        ("finish", "zhang.wei", "completed"),
        ("claim", "zhang.wei", "settling"),
        ("settle", "wang.fang", "settled"),
        ("archive", "wang.fang", "archived"),
    ]
    for version, (trigger, actor, state) in enumerate(steps, start=2):
        extra = ["--list", "jiedai-list.toml"] if trigger == "claim" else []
        done = shell.json(trigger, rid, "--as", actor, *extra)
        assert (done["trigger"], done["state"], done["version"]) == (trigger, state, version)
    assert [e["trigger"] for e in shell.json("history", rid)][-1] == "archive"
    assert shell.json("audit", "verify") == {"ok": True, "checked": 9, "problem": None}
    listed = shell.json("list", "--state", "archived")
    assert [i["number"] for i in listed["items"]] == [created["number"]]
    text = shell.run("show", rid).stdout
    assert "已归档" in text
    assert "王芳" in text
    assert "class archived current" in shell.run("diagram", rid).stdout


def test_a_refusal_exits_1_with_the_findings_on_stderr(shell: Shell) -> None:
    source = (shell.cwd / "jiedai-reception.toml").read_text(encoding="utf-8")
    (shell.cwd / "big.toml").write_text(source.replace("companions = 2", "companions = 6"), encoding="utf-8")
    rid = shell.json("new", "big.toml")["id"]
    refused = shell.run("submit", rid, "--as", "zhang.wei", code=1)
    assert "M-02" in refused.stderr
    assert "$.plan.meals[0].companions" in refused.stderr
    assert refused.stdout == ""
    error = shell.json("submit", rid, "--as", "zhang.wei", code=1)["error"]
    assert "M-02" in {f["rule_id"] for f in error["findings"]}


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["new", "nowhere.toml"], 2, "文件不存在"),
        (["new", "broken.toml"], 2, "TOML 语法错误"),
        (["show", "0000"], 2, "不存在"),
        (["fire", "0000", "fly", "--as", "li.na"], 2, "未知操作"),
        (["approve", "0000", "--as", "ghost"], 2, "未知参与人"),
        (["list", "--from", "yesterday"], 2, "YYYY-MM-DD"),
        (["import", "broken.csv", "--as", "admin"], 2, "未知的列"),
        (["--db", "sqlite:////nonexistent/dir/x.db", "list"], 4, "nonexistent"),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else None,
)
def test_a_mistake_in_a_real_process_is_a_message_and_an_exit_code(
    sqlite_shell: Shell, args: list[str], code: int, says: str
) -> None:
    shell = sqlite_shell
    (shell.cwd / "broken.toml").write_text("[reception\n", encoding="utf-8")
    (shell.cwd / "broken.csv").write_text("what,is,this\n1,2,3\n", encoding="utf-8")
    done = shell.run(*args, code=code)
    assert says in done.stderr


def test_import_through_the_installed_script(shell: Shell) -> None:
    header = "公函编号,来函单位,公务事由,公务内容,开始日期,接待对象,接待单位,辖区,经办人,导入状态\n"
    good = "市农函〔2024〕3号,市农业农村局,考察调研,春耕调研,2024-03-05,刘建国/副局长,县政府办公室,341502,"
    good += "张伟,草拟\n"
    bad = "x,市农业农村局,考察调研,调研,2024-02-30,周明/科员,县政府办公室,341502,张伟,草拟\n"
    (shell.cwd / "past.csv").write_text(header + good + bad, encoding="utf-8")
    refused = shell.json("import", "past.csv", "--as", "admin", code=2)
    assert (refused["written"], [e["row"] for e in refused["errors"]]) == (False, [3])
    done = shell.json("import", "past.csv", "--as", "admin", "--skip-bad", code=2)
    assert [i["state"] for i in done["imported"]] == ["draft"]
    assert shell.json("audit", "verify")["ok"] is True
