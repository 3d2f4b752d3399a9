"""The ``jiedai`` command line driven as a user would, through click's CliRunner, on a real SQLite
file (and PostgreSQL for the whole lifecycle): every command, ``--json`` for scripts, and every
user mistake ending in a message and its documented exit code, never a traceback."""

from __future__ import annotations

import json
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pytest
from click.testing import CliRunner, Result

from jiedai_flow.cli import main
from jiedai_flow.docgen import CLI_PATH, render_cli
from tests.databases import private_database

if TYPE_CHECKING:
    from collections.abc import Iterator

ENV = {"COLUMNS": "300", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"}
"""Wide tables, and no installed plugin changing what the sample receptions meet."""


def jiedai(*args: str | Path, code: int | None = 0) -> Result:
    """Run ``jiedai args``; fail the test on a traceback or (unless ``code`` is None) another exit code."""
    result = CliRunner().invoke(main, [str(a) for a in args], env=ENV, prog_name="jiedai")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(
            "".join(traceback.format_exception(result.exception)) + "\n--- output ---\n" + result.output
        )
    assert "Traceback" not in result.output
    if code is not None:
        assert result.exit_code == code, result.output
    return result


def as_json(*args: str | Path, code: int = 0) -> Any:
    """Run ``jiedai --json args`` and parse what it printed."""
    return json.loads(jiedai("--json", *args, code=code).stdout)


@attrs.frozen
class Site:
    """A working directory after ``jiedai init``: database, actors, standards, example files."""

    path: Path
    url: str

    def new(self, file: str = "jiedai-reception.toml") -> str:
        return str(as_json("new", file)["id"])


def make_site(url: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.chdir(path)
    monkeypatch.setenv("JIEDAI_DB", url)
    jiedai("init")
    return Site(path, url)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    """A site on a SQLite file."""
    return make_site(f"sqlite:///{tmp_path / 'jiedai.db'}", tmp_path, monkeypatch)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_site(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Site]:
    """A site on a SQLite file, then on a private PostgreSQL schema."""
    for url in private_database(request.param, tmp_path):
        yield make_site(url, tmp_path, monkeypatch)


def walk_to_archive(reception_id: str) -> None:
    """The sample reception from submission to its archive, as the sample actors."""
    jiedai("submit", reception_id, "--as", "zhang.wei")
    jiedai("approve", reception_id, "--as", "sun.hao", "--reason", "同意，按标准安排")
    jiedai("approve", reception_id, "--as", "li.na", "--reason", "同意")
    jiedai("start", reception_id, "--as", "zhang.wei")
    jiedai("finish", reception_id, "--as", "zhang.wei")
    jiedai("claim", reception_id, "--as", "zhang.wei", "--list", "jiedai-list.toml")
    jiedai("settle", reception_id, "--as", "wang.fang")
    jiedai("archive", reception_id, "--as", "wang.fang")


# -- the whole process -------------------------------------------------------------------------


def test_a_reception_goes_from_its_letter_to_its_archive_through_the_cli(any_site: Site) -> None:
    """init, new, submit, two approvals, start, finish, claim, settle, archive; show, history,
    audit verify and the exports then agree on what happened."""
    created = jiedai("new", "jiedai-reception.toml")
    assert "草拟" in created.output
    assert (
        "提交审批（submit，经办人 handler）" in created.output
    )  # the next steps and who may (both languages)
    reception_id = as_json("list")["items"][0]["id"]
    assert f"ID {reception_id[:8]} " in created.output  # short: commands take a unique prefix
    draft = jiedai("show", reception_id).output  # the checks of the next steps, named as clerks name them
    assert "「提交审批」环节未发现问题" in draft
    assert "no findings at submit" in draft

    walk_to_archive(reception_id)

    shown = as_json("show", reception_id)
    assert shown["reception"]["state"] == "archived"
    assert shown["state_label"] == "已归档"
    assert [e["trigger"] for e in shown["history"]] == [
        "create", "submit", "approve", "approve", "start", "finish", "claim", "settle", "archive",
    ]  # fmt: skip
    assert [a["actor_id"] for a in shown["reception"]["approvals"]] == ["sun.hao", "li.na"]
    text = jiedai("show", reception_id).output
    for expected in ("已归档", "市农函", "部门负责人", "分管领导", "时间线", "孙浩"):
        assert expected in text
    assert "当前状态没有需要规则检查的下一步操作" in text
    assert "同意，按标准安排" in jiedai("history", reception_id).output
    assert "审计链完整" in jiedai("audit", "verify").output

    html = jiedai("export", reception_id).stdout
    assert "接待清单" in html
    assert "刘建国" in html
    assert "刘建国" in jiedai("export", reception_id, "--format", "csv").stdout
    jiedai("export", reception_id, "--format", "xlsx", "--output", "list.xlsx")
    assert (any_site.path / "list.xlsx").stat().st_size > 0


def test_reports_come_as_a_table_csv_html_xlsx_and_json(site: Site) -> None:
    """Every report kind in every format, on a year with one archived reception."""
    reception_id = site.new()
    walk_to_archive(reception_id)
    year = as_json("show", reception_id)["reception"]["start"][:4]
    summary = as_json("report", "summary", "--year", year)
    assert summary["rows"][0]["host_unit"] == "县政府办公室"
    assert summary["rows"][0]["batches"] == 1
    assert "县政府办公室" in jiedai("report", "summary", "--year", year).output
    assert "县政府办公室" in jiedai("report", "disclosure", "--year", year, "--format", "csv").stdout
    assert "<table" in jiedai("report", "red-flags", "--year", year, "--format", "html").stdout
    jiedai("report", "disclosure", "--year", year, "--format", "xlsx", "--output", "d.xlsx")
    assert (site.path / "d.xlsx").exists()


def test_a_refusal_prints_every_finding_with_rule_severity_path_and_citation(site: Site) -> None:
    """Too many companions and too dear a meal: submit exits 1 and lists both findings."""
    big = Path("jiedai-reception.toml").read_text(encoding="utf-8")
    big = big.replace("companions = 2", "companions = 6").replace('cost = "275.00"', 'cost = "990.00"')
    Path("big.toml").write_text(big, encoding="utf-8")
    reception_id = site.new("big.toml")

    refused = jiedai("submit", reception_id, "--as", "zhang.wei", code=1)
    for expected in (
        "M-02",
        "不予通过",
        "M-03",
        "须书面说明",
        "$.plan.meals[0].companions",
        "第十条",
        "--explain",
        "「提交审批」的检查结果",  # the trigger's label, as the message above the table says it
    ):
        assert expected in refused.output
    assert "「submit」" not in refused.output

    data = as_json("submit", reception_id, "--as", "zhang.wei", code=1)["error"]
    assert data["code"] == "rule_violation"
    assert data["exit_code"] == 1
    assert {"M-02", "M-03"} <= {f["rule_id"] for f in data["findings"]}
    assert all({"rule_id", "severity", "path", "citation", "message_zh"} <= set(f) for f in data["findings"])
    assert as_json("show", reception_id)["reception"]["state"] == "draft"


def test_registering_without_the_handler_role_names_no_reception(site: Site) -> None:
    """Nothing was registered, so the refusal names no reception id, and it says what was refused
    in words (the label of ``create``), not the engine's trigger name."""
    refused = jiedai("--lang", "both", "new", "jiedai-reception.toml", "--as", "chen.jie", code=2).output
    assert "chen.jie 无权登记公函（需要角色：经办人）" in refused
    assert "chen.jie may not register a reception (requires one of the roles: handler)" in refused
    assert "接待记录" not in refused
    assert "「create」" not in refused
    data = as_json("new", "jiedai-reception.toml", "--as", "chen.jie", code=2)["error"]
    assert (data["code"], data.get("reception_id", "")) == ("not_authorized", "")
    assert as_json("list")["items"] == []


def dear_meal() -> str:
    """The sample reception with a meal dear enough to need a written explanation (M-03), written to
    dear.toml; its text."""
    dear = (
        Path("jiedai-reception.toml")
        .read_text(encoding="utf-8")
        .replace('cost = "275.00"', 'cost = "390.00"')
    )
    Path("dear.toml").write_text(dear, encoding="utf-8")
    return dear


def test_a_written_explanation_lets_a_finding_that_needs_one_pass(site: Site) -> None:
    """M-03 needs an explanation: with --explain the submission goes through and records it."""
    dear_meal()
    reception_id = site.new("dear.toml")
    jiedai("submit", reception_id, "--as", "zhang.wei", code=1)
    done = as_json("submit", reception_id, "--as", "zhang.wei", "--explain", "M-03=上级检查组临时增加工作餐")
    assert done["state"] == "submitted"
    explanations = as_json("show", reception_id)["reception"]["explanations"]
    assert [(e["rule_id"], e["text"]) for e in explanations] == [("M-03", "上级检查组临时增加工作餐")]


def test_a_refusal_counts_only_what_refuses_and_says_a_misspelt_explanation(site: Site) -> None:
    """An explanation given counts as given (the table marks it 已说明, the count leaves it out); an
    explanation for a rule id no finding needing one has is said, with the nearest id."""
    dear = dear_meal()
    reception_id = site.new("dear.toml")
    misspelt = jiedai("submit", reception_id, "--as", "zhang.wei", "--explain", "M03=检查组临时增加", code=1)
    assert "说明的规则 M03 本次没有须书面说明的结果，是不是 M-03？" in misspelt.output
    data = as_json("submit", reception_id, "--as", "zhang.wei", "--explain", "M03=检查组临时增加", code=1)
    assert data["error"]["unused_explanations"] == {"M03": "M-03"}

    big = dear.replace("companions = 2", "companions = 6").replace('cost = "390.00"', 'cost = "990.00"')
    Path("big.toml").write_text(big, encoding="utf-8")
    both = site.new("big.toml")
    refused = jiedai("submit", both, "--as", "zhang.wei", "--explain", "M-03=检查组临时增加", code=1)
    assert "有 1 项检查结果未通过" in refused.output  # M-02 alone: M-03 was explained
    assert "（已说明）" in refused.output
    data = as_json("submit", both, "--as", "zhang.wei", "--explain", "M-03=检查组临时增加", code=1)
    assert data["error"]["explained"] == ["M-03"]


def test_fire_takes_trigger_ids_hyphens_and_chinese_labels(site: Site) -> None:
    reception_id = site.new()
    assert as_json("fire", reception_id, "提交审批", "--as", "zhang.wei")["state"] == "submitted"
    assert as_json("fire", reception_id, "withdraw", "--as", "zhang.wei")["state"] == "draft"
    cancelled = as_json("fire", reception_id, "cancel", "--as", "zhang.wei", "--reason", "来访取消")
    assert cancelled["state"] == "cancelled"
    assert cancelled["event"]["reason"] == "来访取消"


def test_a_retried_request_id_returns_the_first_result_and_changes_nothing(site: Site) -> None:
    reception_id = site.new()
    first = as_json("submit", reception_id, "--as", "zhang.wei", "--request-id", "r-1")
    again = as_json("submit", reception_id, "--as", "zhang.wei", "--request-id", "r-1")
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["version"] == first["version"]
    assert "replayed" in jiedai("submit", reception_id, "--as", "zhang.wei", "--request-id", "r-1").output


def test_edit_takes_a_revised_plan_file(site: Site) -> None:
    reception_id = site.new()
    Path("plan.toml").write_text(
        '[plan]\nbudget = "300.00"\nactivities = []\ncompanions = []\n\n[[plan.meals]]\non = 2030-01-01\n'
        'kind = "午餐"\nvenue = "县机关食堂"\nvenue_type = "机关食堂"\nguests = 3\ncompanions = 1\n'
        'cost = "200.00"\n',
        encoding="utf-8",
    )
    edited = as_json("edit", reception_id, "--as", "zhang.wei", "--plan", "plan.toml")
    assert edited["version"] == 2
    plan = as_json("show", reception_id)["reception"]["plan"]
    assert (plan["budget"], plan["meals"][0]["cost"]) == ("300.00", "200.00")
    assert (plan["activities"], plan["companions"]) == ([], [])  # written empty: meant


def test_a_revised_plan_file_that_leaves_out_parts_of_the_plan_is_refused(site: Site) -> None:
    """A file holding only ``budget = "500.00"`` replaced the whole plan: the meals, activities and
    companions were gone, and the old plan is kept nowhere."""
    reception_id = site.new()
    before = as_json("show", reception_id)["reception"]
    Path("budget.toml").write_text('budget = "500.00"\n', encoding="utf-8")
    error = as_json("edit", reception_id, "--as", "zhang.wei", "--plan", "budget.toml", code=2)["error"]
    (problem,) = error["problems"]
    assert problem["path"] == "--plan"
    assert "meals" in problem["message_en"]
    assert "activities" in problem["message_en"]
    assert "整个替换原方案" in problem["message_zh"]
    after = as_json("show", reception_id)["reception"]
    assert (after["version"], after["plan"]) == (before["version"], before["plan"])


# -- listing and checking -----------------------------------------------------------------------


def test_list_filters_by_state_unit_type_and_dates_and_pages_with_a_cursor(site: Site) -> None:
    ids = [site.new() for _ in range(3)]
    jiedai("submit", ids[0], "--as", "zhang.wei")
    page = as_json("list", "--limit", "2")
    assert len(page["items"]) == 2
    rest = as_json("list", "--limit", "2", "--after", page["next_cursor"])
    assert rest["next_cursor"] is None
    assert {i["id"] for i in page["items"] + rest["items"]} == set(ids)
    assert "--after" in jiedai("list", "--limit", "2").output

    assert [i["id"] for i in as_json("list", "--state", "待审批")["items"]] == [ids[0]]
    assert len(as_json("list", "--state", "draft", "--state", "submitted")["items"]) == 3
    assert len(as_json("list", "--host-unit", "县政府办公室", "--jurisdiction", "341502")["items"]) == 3
    assert as_json("list", "--host-unit", "别的单位")["items"] == []
    assert len(as_json("list", "--type", "国内公务接待")["items"]) == 3
    assert as_json("list", "--type", "foreign")["items"] == []
    start = as_json("list")["items"][0]["start"]
    assert len(as_json("list", "--from", start, "--to", start)["items"]) == 3
    assert as_json("list", "--to", "2000-01-01")["items"] == []
    assert "没有符合条件" in jiedai("list", "--to", "2000-01-01").output


def test_check_of_a_file_is_a_dry_run_that_saves_nothing(site: Site) -> None:
    clean = as_json("check", "jiedai-reception.toml")
    assert clean["ok"] is True
    assert "submit" in clean["by_stage"]
    assert as_json("list")["items"] == []

    Path("big.toml").write_text(
        Path("jiedai-reception.toml").read_text(encoding="utf-8").replace("companions = 2", "companions = 6"),
        encoding="utf-8",
    )
    refused = jiedai("check", "big.toml", "--stage", "submit", code=1)
    assert "M-02" in refused.output
    assert as_json("list")["items"] == []


def test_check_of_a_saved_reception_runs_the_next_stages_or_all(site: Site) -> None:
    reception_id = site.new()
    assert as_json("check", reception_id)["ok"] is True
    every = as_json("check", reception_id, "--all", code=1)  # a draft has no list to claim with
    assert {"submit", "claim", "settle"} <= set(every["by_stage"])
    assert "F-01" in {f["rule_id"] for f in every["by_stage"]["claim"]}


def test_json_output_of_read_commands_parses(site: Site) -> None:
    reception_id = site.new()
    assert as_json("history", reception_id)[0]["trigger"] == "create"
    assert "plugins" in as_json("plugins")
    assert as_json("db", "upgrade")["revision"]
    assert as_json("audit", "verify")["ok"] is True
    assert "stateDiagram-v2" in as_json("diagram", reception_id)["content"]
    assert as_json("show", reception_id, "--json")["reception"]["id"] == reception_id  # per-command flag


def test_plugins_lists_names_distributions_and_hooks() -> None:
    text = jiedai("plugins").output
    assert "jiedai.national" in text
    assert "jiedai_register_rules" in text


def test_init_keeps_existing_files_unless_forced(site: Site) -> None:
    actors = Path("jiedai-actors.toml")
    actors.write_text(actors.read_text(encoding="utf-8") + "\n# mine\n", encoding="utf-8")
    again = as_json("init")
    assert {f["status"] for f in again["files"]} == {"kept"}
    assert "# mine" in actors.read_text(encoding="utf-8")
    forced = as_json("init", "--force")
    assert {f["status"] for f in forced["files"]} == {"written"}
    assert "# mine" not in actors.read_text(encoding="utf-8")


def test_init_and_db_upgrade_say_what_they_did_to_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Created, upgraded from one revision to another, or already current: never "already at the
    latest" for a database just made."""
    from jiedai_flow.storage.migrate import head_revision, upgrade

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JIEDAI_DB", f"sqlite:///{tmp_path / 'new.db'}")
    head = head_revision()
    said = jiedai("init").stdout
    assert "数据库已创建" in said
    assert f"database created at revision {head}:" in said
    said = jiedai("db", "upgrade").stdout
    assert "数据库已是最新结构" in said
    assert f"schema already at revision {head}:" in said
    monkeypatch.setenv("JIEDAI_DB", f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(f"sqlite:///{tmp_path / 'old.db'}", "0008")
    said = jiedai("db", "upgrade").stdout
    assert "数据库结构已升级" in said
    assert f"schema upgraded 0008 → {head}:" in said
    assert as_json("db", "upgrade")["previous_revision"] == head


# -- user mistakes: a message and an exit code, never a traceback ----------------------------------


def _files(path: Path) -> None:
    (path / "broken.toml").write_text("[reception\njurisdiction = ", encoding="utf-8")
    (path / "broken.json").write_text('{"reception": {,}', encoding="utf-8")
    (path / "list.json").write_text("[1, 2]", encoding="utf-8")
    (path / "binary.toml").write_bytes(b"\xff\xfe\x00\x81 not text")
    (path / "fields.toml").write_text(
        '[reception]\njurisdiction = "34x"\nhost_unit = ""\nhandler = "zhang.wei"\nextra = 1\n'
        '[letter]\nkind = "公函"\nnumber = ""\n[plan]\nbudget = 12.345\n',
        encoding="utf-8",
    )
    (path / "actors-bad.toml").write_text('[[actor]]\nid = "x"\nroles = ["神仙"]\n', encoding="utf-8")
    (path / "standards-bad.toml").write_text('name = "x"\nlevel = "galaxy"\n', encoding="utf-8")
    (path / "adir").mkdir()


MISTAKES: list[tuple[list[str], int, str]] = [
    (["new", "missing.toml"], 2, "文件不存在"),
    (["new", "adir"], 2, "is a directory"),
    (["new", "broken.toml"], 2, "TOML 语法错误"),
    (["new", "broken.json"], 2, "JSON 语法错误"),
    (["new", "list.json"], 2, "顶层应为对象"),
    (["new", "binary.toml"], 2, "UTF-8"),
    (["new", "fields.toml"], 2, "$.reception.jurisdiction"),
    (["new", "fields.toml"], 2, "$.reception.extra"),
    (["new", "fields.toml"], 2, "$.plan.budget"),
    (["--actors", "nobody.toml", "new", "jiedai-reception.toml"], 2, "jiedai init"),
    (["--actors", "actors-bad.toml", "new", "jiedai-reception.toml"], 2, "$.actor[0].roles[0]"),
    (["--standards", "standards-bad.toml", "list"], 2, "$.level"),
    (["--standards", "missing.toml", "list"], 2, "不存在"),
    (["new", "jiedai-reception.toml", "--as", "nobody"], 2, "zhang.wei（张伟）"),
    (["show", "no-such-id"], 2, "不存在"),
    (["history", "no-such-id"], 2, "不存在"),
    (["check", "no-such-id"], 2, "既不是文件"),
    (["diagram", "no-such-id"], 2, "不存在"),
    (["export", "no-such-id"], 2, "不存在"),
    (["fire", "ID", "fly", "--as", "li.na"], 2, "未知操作"),
    (["approve", "ID", "--as", "nobody"], 2, "未知参与人"),
    (["approve", "ID", "--as", "zhang.wei"], 2, "无权"),
    (["approve", "ID"], 2, "--as"),
    (["approve", "ID", "--as", "li.na", "--explain", "M-02"], 2, "RULE=TEXT"),
    (["cancel", "ID", "--as", "zhang.wei"], 2, "必须填写理由"),
    (["claim", "ID", "--as", "zhang.wei", "--list", "broken.toml"], 2, "TOML 语法错误"),
    (["start", "ID", "--as", "zhang.wei"], 3, "不能执行"),
    (["approve", "ID", "--as", "sun.hao", "--expect-version", "1"], 3, "已被他人修改"),
    (["list", "--from", "2026-02-30"], 2, "没有这一天"),  # written right, but no such day
    (["list", "--from", "2026/02/03"], 2, "YYYY-MM-DD"),
    (["list", "--state", "flying"], 2, "未知状态"),
    (["show", "ID", "--db", "sqlite:///other.db"], 2, "是 jiedai 本身的选项，请写在命令名之前"),
    (["token", "revoke", "x", "--db", "memory://"], 2, "jiedai --db … token revoke …"),
    (["list", "--type", "alien"], 2, "不是有效取值"),
    (["list", "--after", "not-a-cursor"], 2, "游标无效"),
    (["list", "--limit", "0"], 2, "--limit"),
    (["report", "summary", "--year", "2026", "--format", "xlsx"], 2, "--output"),
    (
        ["report", "summary", "--year", "2026", "--format", "html", "--output", "adir/no/x.html"],
        2,
        "无法写入",
    ),
    (["report", "weekly", "--year", "2026"], 2, "weekly"),
    (["export", "ID"], 3, "尚未填报接待清单"),
    (["import", "missing.csv", "--as", "admin"], 2, "不存在"),
    (["import", "broken.toml", "--as", "admin"], 2, "不支持的文件类型"),
    (["import", "jiedai-reception.toml", "--as", "zhang.wei"], 2, "不能批量导入"),
    (["--db", "sqlite:////nonexistent/dir/x.db", "list"], 4, "nonexistent"),
    (["--db", "nosuchdialect://x", "list"], 4, "没有存储后端"),
    (["frobnicate"], 2, "No such command"),
]


@pytest.mark.parametrize(("args", "code", "says"), [pytest.param(*m, id=" ".join(m[0])) for m in MISTAKES])
def test_a_user_mistake_gives_a_message_and_its_exit_code_not_a_traceback(
    site: Site, args: list[str], code: int, says: str
) -> None:
    _files(site.path)
    reception_id = site.new()
    jiedai("submit", reception_id, "--as", "zhang.wei")
    result = jiedai(*(reception_id if a == "ID" else a for a in args), code=code)
    assert says in result.output


def test_a_mistake_with_json_is_a_json_error_object(site: Site) -> None:
    data = as_json("show", "no-such-id", code=2)["error"]
    assert (data["code"], data["exit_code"], data["reception_id"]) == ("not_found", 2, "no-such-id")
    Path("fields.toml").write_text('[reception]\njurisdiction = "34x"\n', encoding="utf-8")
    problems = as_json("new", "fields.toml", code=2)["error"]["problems"]
    assert "$.reception.jurisdiction" in {p["path"] for p in problems}


def test_a_field_error_in_a_reception_plan_or_list_file_names_its_line(site: Site) -> None:
    """The clerk is told the line as well as the path, as for standards files; a plan or list file
    may hold its table (``[plan]``) or just its fields, and the line is right either way."""
    text = (site.path / "jiedai-reception.toml").read_text(encoding="utf-8")
    text = text.replace("[[plan.meals]]", "[[plan.meals]]\ncovers = 8", 1)
    Path("bad.toml").write_text(text, encoding="utf-8")
    line = text.splitlines().index("covers = 8") + 1
    problems = as_json("new", "bad.toml", code=2)["error"]["problems"]
    assert [(p["path"], p["line"]) for p in problems] == [("$.plan.meals[0].covers", line)]
    assert f"第 {line} 行" in jiedai("new", "bad.toml", code=2).output

    reception_id = site.new()
    Path("bare.toml").write_text("# 清单\nsigned_by = 5\nguests = []\n", encoding="utf-8")
    Path("wrapped.toml").write_text("[list]\nguests = []\nsigned_by = 5\n", encoding="utf-8")
    for file, path, line in (
        ("bare.toml", "$.reception_list.signed_by", 2),
        ("wrapped.toml", "$.list.signed_by", 3),
    ):
        error = as_json("claim", reception_id, "--as", "zhang.wei", "--list", file, code=2)["error"]
        assert [(p["path"], p["line"]) for p in error["problems"]] == [(path, line)]

    Path("plan.json").write_text('{"meals": 3}', encoding="utf-8")  # JSON: the path, no line
    error = as_json("amend", reception_id, "--as", "zhang.wei", "--plan", "plan.json", code=2)["error"]
    assert [(p["path"], p["line"], p["message_zh"]) for p in error["problems"]] == [
        ("$.plan.meals", None, "应为列表，收到 3（int）")
    ]


# -- the reference page ---------------------------------------------------------------------------


def test_docs_cli_md_is_generated_from_the_current_commands() -> None:
    """docs/cli.md must equal `python -m jiedai_flow.docgen cli` (regenerate it when commands change)."""
    page = Path(__file__).resolve().parents[1] / CLI_PATH
    assert page.read_text(encoding="utf-8") == render_cli(), (
        "run: python -m jiedai_flow.docgen cli > docs/cli.md"
    )


def test_the_shortcut_table_names_real_commands_with_their_description() -> None:
    """``start_urgent`` is the trigger, ``start-urgent`` the command: the table lists what runs."""
    import re

    from jiedai_flow.cli.commands import trigger_commands, trigger_help

    text = render_cli()
    table = text.split("## 快捷操作 Shortcuts")[1].split("## ")[0]
    rows = re.findall(r"^\| `jiedai (\S+) ID` \| (.*) \|$", table, re.MULTILINE)
    assert rows == [(name, trigger_help(t)) for name, t in trigger_commands().items()]
    for name in trigger_commands():  # in the table only, like every other shortcut
        assert f"### `jiedai {name}`" not in text


def test_the_reference_documents_every_command_and_the_exit_codes() -> None:
    text = render_cli()
    for name in main.commands:
        assert f"`jiedai {name}" in text
    assert "退出码 exit codes" in text
    assert "letter_number" in text  # the import columns


def test_the_exit_code_table_lists_every_code_the_command_line_uses() -> None:
    """0 to 5: the internal error (5, a bug, its traceback in the log) has its row too."""
    import re

    from jiedai_flow.cli import common

    text = render_cli().split("## 退出码 Exit codes")[1]
    listed = [int(c) for c in re.findall(r"^\| (\d) \|", text, re.MULTILINE)]
    used = sorted(v for k, v in vars(common).items() if k.startswith("EXIT_") and isinstance(v, int))
    assert listed == used == [0, 1, 2, 3, 4, 5]
    assert "| 5 | 内部错误" in text
    assert "$JIEDAI_LOG" in text.split("| 5 |")[1].splitlines()[0]
