"""Every command speaks the language chosen with ``--lang`` / ``$JIEDAI_LANG`` (default Chinese):
zh Chinese only, en English only, both side by side; and its tables stay readable at 80 columns."""

from __future__ import annotations

import json
import re
import traceback
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner

from jiedai_flow.cli import main
from jiedai_flow.process.lifecycle import DEFAULT_PROCESS, Phase

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from click.testing import Result

ENV = {"JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1", "JIEDAI_CALENDAR": "", "JIEDAI_LANG": ""}

CJK = re.compile(r"[\u3400-\u9fff]")
TOKEN = re.compile(r"[A-Za-z0-9_.\-/$@'<>=\[\]~*]+")
IDENTIFIERS = {
    # what Chinese output legitimately carries in Latin letters: the program, placeholders, units
    "jiedai",
    "ID",
    "UTC",
    "OPTIONS",
    "YYYY-MM-DD",
    "README",
    "CSV",
    "JSON",
    "HTML",
    "TOML",
    "URL",
    "xlsx",
    # triggers: each is a command too (jiedai claim), quoted by rule messages as 须书面说明（claim）
    "submit",
    "approve",
    "claim",
    "settle",
    "list",  # a command, in its usage line
    "chinesecalendar",  # the package that knows the holidays
    "oa",  # the token's label
    "nothing",  # the value given, quoted back
    # states, triggers, phases and conditions by name: what --state, jiedai fire and process files take
    *(s.name for s in DEFAULT_PROCESS.states),
    *(t.name for t in DEFAULT_PROCESS.triggers),
    *(p.value for p in Phase),
    *(part for t in DEFAULT_PROCESS.transitions if t.condition for part in t.condition.split(":")),
}

DATA = (
    # people, units and places are data: they print as written whatever the language
    "县政府办公室",
    "市农业农村局",
    "县政府",
    "张伟",
    "孙浩",
    "李娜",
    "王芳",
    "陈杰",
)


def english_words(text: str) -> list[str]:
    """The English words of ``text``: runs of two or more letters that are not an identifier
    (``zhang.wei``, ``F-05``, ``--as``, ``341502-2026-00001``, ``docs/x.md``) or a known name."""
    words = []
    for token in TOKEN.findall(text):
        bare = token.strip("'.[]<>")
        if re.fullmatch(r"[A-Za-z]{2,}", bare) and bare not in IDENTIFIERS:
            words.append(bare)
    return words


def chinese(text: str, data: tuple[str, ...] = ()) -> list[str]:
    """The Chinese characters of ``text`` outside data (names, units, places)."""
    for known in sorted(DATA + data, key=len, reverse=True):
        text = text.replace(known, "")
    return CJK.findall(text)


def run(*args: str, code: int = 0, columns: int = 200) -> Result:
    result = CliRunner().invoke(main, list(args), env=ENV | {"COLUMNS": str(columns)}, prog_name="jiedai")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError("".join(traceback.format_exception(result.exception)) + result.output)
    assert result.exit_code == code, result.output
    return result


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder made by ``jiedai init`` after the README's command block, one token, an import
    template, and one reception past its deadline."""
    where = tmp_path_factory.mktemp("lang")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(where)
        run("init")
        number = json.loads(run("new", "jiedai-reception.toml", "--json").output)["number"]
        run("submit", number, "--as", "zhang.wei")
        run("approve", number, "--as", "sun.hao", "--reason", "同意")
        run("approve", number, "--as", "li.na", "--reason", "同意")
        run("start", number, "--as", "zhang.wei")
        run("finish", number, "--as", "zhang.wei")
        run("claim", number, "--as", "zhang.wei", "--list", "jiedai-list.toml")
        run("settle", number, "--as", "wang.fang")
        run("token", "create", "--actor", "zhang.wei", "--label", "oa")
        run("import", "--template", "t.csv")
        # the template's row imports as it is: a second row with a day that does not exist gives
        # the dry run a bad row to report
        template = (where / "t.csv").read_bytes().decode("utf-8-sig")
        example = template.rstrip("\r\n").splitlines()[-1]
        bad = re.sub(r"\d{4}-\d{2}-\d{2}", "2026-13-01", example, count=1)
        assert bad != example
        (where / "t.csv").write_text(template.rstrip("\r\n") + "\n" + bad + "\n", encoding="utf-8-sig")
        yield where


COMMANDS = {
    "report summary": (("report", "summary", "--year", "2026"), 0),
    "report disclosure": (("report", "disclosure", "--year", "2026"), 0),
    "report red-flags": (("report", "red-flags", "--year", "2026"), 0),
    "calendar show": (("calendar", "show", "2026"), 0),
    "calendar check known": (("calendar", "check", "2026"), 0),
    "calendar check unknown": (("calendar", "check", "2027"), 1),
    "token list": (("token", "list"), 0),
    "remind": (("remind", "--today", "2026-06-01"), 0),
    "dispatch": (("dispatch", "--once"), 0),
    "import dry run": (("import", "t.csv", "--as", "chen.jie", "--dry-run"), 2),
    "show": (("show", "341502-2026-00001"), 0),
    "history": (("history", "341502-2026-00001"), 0),
    "tasks": (("tasks", "--as", "li.na"), 0),
    "tasks --done": (("tasks", "--as", "sun.hao", "--done"), 0),
    "tasks --cc": (("tasks", "--as", "li.na", "--cc"), 0),
    "tasks --started": (("tasks", "--as", "zhang.wei", "--started"), 0),
    "tasks --counts": (("tasks", "--as", "zhang.wei", "--counts"), 0),
    "process list": (("process", "list"), 0),
    "process show": (("process", "show", "reception@1"), 0),
    "process diff": (("process", "diff", "reception@1", "reception@1"), 0),
    "process migrate to itself": (("process", "migrate", "reception@1", "reception@1", "--dry-run"), 2),
    "process replay": (("process", "replay", "reception@1", "--source", "reception@1"), 0),
    "demo": (("demo",), 0),
    "bad date": (("list", "--from", "2026-13-01"), 2),
    "bad date shape": (("list", "--from", "2026-1x"), 2),
    "bad --explain": (("submit", "341502-2026-00001", "--as", "zhang.wei", "--explain", "nothing"), 2),
    "list": (("list",), 0),
    "audit verify": (("audit", "verify"), 0),
}

# what the demo and the import template are about: data, printed as written
DEMO_DATA = (
    "市农函〔2026〕12号",
    "同意，按标准安排",
    "同意",
    "县机关食堂",
    "公务卡 6222****1234",
)
IMPORT_DATA = ("县农业示范园",)
# what the README's reception records: its guests, steps, opinions, and the notes its audit trail
# keeps (recorded in Chinese only)
SHOW_DATA = (
    "市农函〔2026〕12号",
    "高标准农田建设考察调研",
    "刘建国",
    "陈晓华",
    "周明",
    "副局长",
    "科长",
    "科员",
    "部门负责人",
    "分管领导",
    "县政府办公室主任",
    "同意",
    "第 1 环节「部门负责人」同意",
    "第 2 环节「分管领导」同意",
    "认领「部门负责人」任务",  # the note of claim-task
)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_chinese_output_has_no_english(folder: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(folder)
    args, code = COMMANDS[name]
    for given in (("--lang", "zh"), ()):
        out = run(*given, *args, code=code).output
        assert not english_words(out), out
        assert CJK.search(out), out


@pytest.mark.parametrize("name", list(COMMANDS))
def test_english_output_has_no_chinese(folder: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(folder)
    args, code = COMMANDS[name]
    out = run("--lang", "en", *args, code=code).output
    assert not chinese(out, DEMO_DATA + IMPORT_DATA + SHOW_DATA), out
    assert english_words(out), out


@pytest.mark.parametrize("name", list(COMMANDS))
def test_both_shows_chinese_and_english(folder: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.chdir(folder)
    args, code = COMMANDS[name]
    out = run("--lang", "both", *args, code=code).output
    assert chinese(out, DEMO_DATA + IMPORT_DATA + SHOW_DATA), out
    assert english_words(out), out


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_an_action_and_a_task_operation_print_their_result_in_the_chosen_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """jiedai new, submit and claim-task: the one-line result, its states and what may follow (in a
    folder of its own, so that the shared one keeps its one settled reception)."""
    monkeypatch.chdir(tmp_path)
    run("init")
    number = json.loads(run("new", "jiedai-reception.toml", "--json").output)["number"]
    outs = [
        run("--lang", lang, "submit", number, "--as", "zhang.wei").output,
        run("--lang", lang, "claim-task", number, "--as", "sun.hao").output,
    ]
    for out in outs:
        if lang == "zh":
            assert not english_words(out), out
        elif lang == "en":
            assert not chinese(out, SHOW_DATA), out
            assert "awaiting approval" in out
        else:
            assert "待审批 awaiting approval" in out
    if lang == "en":
        assert "✓ submit — 张伟 (zhang.wei): draft → 「awaiting approval」" in outs[0]
        assert "return for correction (return, approver)" in outs[0]


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_an_audit_checkpoint_speaks_the_chosen_language(
    folder: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.chdir(folder)
    monkeypatch.setitem(ENV, "JIEDAI_AUDIT_KEY", "k1:" + "00" * 32)
    out = run("--lang", lang, "audit", "checkpoint").output
    assert ("检查点" in out) is (lang != "en")
    assert ("checkpoint" in out) is (lang != "zh")
    if lang == "zh":
        assert not english_words(out), out
    if lang == "en":
        assert not CJK.search(out), out


def test_a_mistake_in_the_config_file_speaks_the_chosen_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jiedai.toml").write_text('databse = "sqlite:///x.db"\n', encoding="utf-8")
    zh = run("list", code=2).output
    assert "databse" in zh
    assert "未知的配置项" in zh
    assert set(english_words(zh)) <= {"databse", "database", "actors", "standards", "calendar"} | {
        "notifiers",
        "lang",
    }, zh
    en = run("--lang", "en", "list", code=2).output
    assert "unknown setting 'databse'" in en
    assert not CJK.search(en), en
    both = run("--lang", "both", "list", code=2).output
    assert "未知的配置项" in both
    assert "unknown setting" in both


def test_json_output_carries_both_languages_whatever_the_setting(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder)
    zh = json.loads(run("--lang", "zh", "--json", "list", "--from", "2026-13-01", code=2).output)
    assert zh["error"]["message_zh"] != zh["error"]["message_en"]
    assert not CJK.search(zh["error"]["message_en"])


# -- 80 columns ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_a_reception_number_is_never_broken_at_80_columns(
    folder: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.chdir(folder)
    out = run("--lang", lang, "list", columns=80).output
    assert "341502-2026-00001" in out
    assert "275.00" in out  # the last column, whole: nothing cropped at the right edge
    assert all(len(line) <= 80 for line in out.splitlines())


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_a_submitted_receptions_amount_is_whole_at_80_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """A submitted reception (「awaiting approval」 in English, over two lines): the units give way,
    not the amount (it was cut to 「275.」 at the right edge in English)."""
    monkeypatch.chdir(tmp_path)
    run("init")
    number = json.loads(run("new", "jiedai-reception.toml", "--json").output)["number"]
    run("submit", number, "--as", "zhang.wei")
    out = run("--lang", lang, "list", columns=80).output
    assert number in out
    assert "275.00" in out
    assert all(len(line) <= 80 for line in out.splitlines())


@pytest.mark.parametrize("lang", ["zh", "en", "both"])
def test_the_annual_summary_is_readable_at_80_columns(
    folder: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.chdir(folder)
    out = run("--lang", lang, "report", "summary", "--year", "2026", columns=80).output
    assert "县政府办公室" in out  # the host unit, whole
    assert "341502" in out
    assert "275.00" in out  # an amount, whole
    heading = {"zh": "预算执行率", "en": "budget used", "both": "预算执行率"}[lang]
    assert heading in out  # a header, whole


def test_english_output_shows_a_state_by_its_english_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--lang en names a state of the default process in words (under way), not by its id
    (in_progress): in the list, the details, the audit trail; --state takes the words too. The
    Chinese output is as it was."""
    monkeypatch.chdir(tmp_path)
    run("init")
    number = json.loads(run("new", "jiedai-reception.toml", "--json").output)["number"]
    run("submit", number, "--as", "zhang.wei")
    run("approve", number, "--as", "sun.hao", "--reason", "同意")
    run("approve", number, "--as", "li.na", "--reason", "同意")
    started = run("--lang", "en", "start", number, "--as", "zhang.wei").output
    assert "approved → 「under way」" in started
    listed = run("--lang", "en", "list").output
    assert "under way" in listed
    assert "in_progress" not in listed
    assert number in run("--lang", "en", "list", "--state", "under way").output
    shown = run("--lang", "en", "show", number).output
    assert "under way (in_progress, v5)" in shown
    history = run("--lang", "en", "history", number).output
    assert "awaiting approval → approved" in history
    assert "approved → under way" in history
    assert "in_progress" not in history
    assert "接待中（in_progress，v5）" in run("--lang", "zh", "show", number).output
    assert "接待中" in run("--lang", "zh", "list").output
    assert "接待中 under way" in run("--lang", "both", "show", number).output


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_tables_keep_words_and_numbers_whole_at_80_columns(
    folder: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    monkeypatch.chdir(folder)
    for kind in ("disclosure", "red-flags"):
        out = run("--lang", lang, "report", kind, "--year", "2026", columns=80).output
        assert all(len(line) <= 80 for line in out.splitlines()), out
        assert "…" not in out, out
