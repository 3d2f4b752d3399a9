"""``jiedai tasks`` and the approval-operation commands, on the sample site ``jiedai init`` writes
(approval levels 部门负责人 → 分管领导: pool tasks by level)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import TYPE_CHECKING

from tests.test_cli import as_json, jiedai, site

if TYPE_CHECKING:
    import pytest

    from tests.test_cli import Site

__all__ = ["site"]

AWAY = ("--from", str(date.today() - timedelta(days=30)), "--to", str(date.today() + timedelta(days=300)))
"""A stand-in period around today (a period beyond a year either way is refused)."""


def test_open_tasks_claim_delegate_reply_and_approve_through_the_command_line(site: Site) -> None:
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    assert as_json("tasks", "--as", "sun.hao")["items"][0]["reception_id"] == rid  # 部门负责人's pool
    assert as_json("tasks", "--as", "li.na")["items"] == []  # 分管领导: not yet
    jiedai("claim-task", rid, "--as", "sun.hao")
    jiedai("delegate", rid, "--as", "sun.hao", "--to", "chen.jie", "--reason", "请办公室核对人数")
    assert as_json("tasks", "--as", "sun.hao")["items"] == []
    assert [r["reception_id"] for r in as_json("tasks", "--as", "chen.jie")["items"]] == [rid]
    jiedai("reply", rid, "--as", "chen.jie", "--reason", "人数与公函一致")
    jiedai("approve", rid, "--as", "sun.hao", "--reason", "同意")
    assert [r["reception_id"] for r in as_json("tasks", "--as", "li.na")["items"]] == [rid]
    done = as_json("tasks", "--as", "sun.hao", "--done")["items"]
    assert [r["outcome"] for r in done] == ["agree"]
    counts = as_json("tasks", "--as", "zhang.wei", "--counts")
    assert counts["started"] == 1
    english = jiedai("--lang", "en", "tasks", "--as", "zhang.wei", "--counts").output
    assert "open 0 · done 0 · copied 0 (unread 0) · started 1" in english
    assert "待办" not in english


def test_send_back_urge_cc_and_a_refusal_exit_code(site: Site) -> None:
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("approve", rid, "--as", "sun.hao")
    jiedai("send-back", rid, "--as", "li.na", "--to-step", "1", "--reason", "请部门负责人重新核对餐费")
    assert [r["reception_id"] for r in as_json("tasks", "--as", "sun.hao")["items"]] == [rid]
    early = jiedai("send-back", rid, "--as", "sun.hao", "--to-step", "1", "--reason", "x", code=3)
    assert "还没有已通过的环节" in early.output  # steps counted from 1, as the option takes them
    jiedai("approve", rid, "--as", "sun.hao")
    late = jiedai("send-back", rid, "--as", "li.na", "--to-step", "2", "--reason", "x", code=3)
    assert "只能驳回到已通过的环节（第 1 环节「部门负责人」），收到第 2 环节" in late.output
    jiedai("send-back", rid, "--as", "li.na", "--to-step", "1", "--reason", "再核对一次")
    jiedai("urge", rid, "--as", "zhang.wei")
    again = jiedai("urge", rid, "--as", "zhang.wei", code=3)
    assert "分钟后再催" in again.output
    jiedai("cc", rid, "--as", "zhang.wei", "--to", "liu.yang")
    assert [r["reception_id"] for r in as_json("tasks", "--as", "liu.yang", "--cc")["items"]] == [rid]
    refused = jiedai("transfer", rid, "--as", "sun.hao", "--to", "zhang.wei", "--reason", "转经办人", code=3)
    assert "经办人" in refused.output
    usage = jiedai("send-back", rid, "--as", "li.na", "--to-step", "0", "--reason", "x", code=2)
    assert "从 1 起" in usage.output


def test_a_stand_in_set_by_command_signs_on_behalf(site: Site) -> None:
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai(
        "proxy",
        "set",
        "--as",
        "sun.hao",
        "--stand-in",
        "li.na",
        *AWAY,
        "--reason",
        "出差",
    )
    listed = as_json("proxy", "list")
    assert [(p["principal"], p["stand_in"]) for p in listed] == [("sun.hao", "li.na")]
    sent_again = jiedai("proxy", "set", "--as", "sun.hao", "--stand-in", "li.na", *AWAY).output
    assert f"代理 {listed[0]['id'][:8]} 已经设过" in sent_again  # one designation, not a second one
    assert len(as_json("proxy", "list")) == 1
    # li.na (分管领导) is not in the 部门负责人 pool: the stand-in acts only on sun.hao's own tasks
    jiedai("claim-task", rid, "--as", "sun.hao")
    assert [r["reception_id"] for r in as_json("tasks", "--as", "li.na")["items"]] == [rid]
    jiedai("approve", rid, "--as", "li.na", "--reason", "代签")
    shown = as_json("show", rid)
    assert shown["reception"]["approvals"][0]["on_behalf_of"] == "sun.hao"
    jiedai("proxy", "revoke", listed[0]["id"][:8], "--as", "sun.hao")
    again = jiedai("proxy", "revoke", listed[0]["id"][:8], "--as", "sun.hao").output
    assert "已撤销过 / stand-in " in again
    assert as_json("proxy", "list")[0]["revoked"] is True


def test_approve_and_return_name_the_task_and_a_bad_cursor_is_a_usage_error(site: Site) -> None:
    """A stand-in who holds several tasks names the one they act on (``--task``, an id prefix);
    a cursor not given by a previous page is the user's mistake (exit 2), not an internal error."""
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("claim-task", rid, "--as", "sun.hao")
    jiedai("proxy", "set", "--as", "sun.hao", "--stand-in", "zhou.lei", *AWAY, "--reason", "出差")
    task = as_json("tasks", "--as", "zhou.lei")["items"][0]["task_id"]
    refused = jiedai("return", rid, "--as", "zhou.lei", "--task", "zzzz", "--reason", "x", code=3)
    assert "没有对应「zzzz」的任务" in refused.output
    jiedai("approve", rid, "--as", "zhou.lei", "--task", task[:8], "--reason", "代签")
    assert as_json("show", rid)["reception"]["approvals"][0]["on_behalf_of"] == "sun.hao"
    for view in ("--mine", "--done", "--cc", "--started"):
        bad = jiedai("tasks", "--as", "sun.hao", view, "--after", "garbage", code=2)
        assert "游标无效" in bad.output


def test_task_lists_read_in_chinese_with_china_time(site: Site) -> None:
    """Chinese output is Chinese only (``--lang both`` adds English), moments in China time as
    ``show`` prints them, how a task ended in words (同意), people by name."""
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("cc", rid, "--as", "zhang.wei", "--to", "liu.yang")
    jiedai("approve", rid, "--as", "sun.hao")
    done = jiedai("--lang", "zh", "tasks", "--as", "sun.hao", "--done").output
    acted = as_json("tasks", "--as", "sun.hao", "--done")["items"][0]["at"]
    from datetime import datetime

    from jiedai_flow.domain.clock import CHINA_TZ

    local = datetime.fromisoformat(acted).astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    assert local in done
    assert "同意" in done
    assert "number" not in done
    assert "agree" not in done
    copied = jiedai("--lang", "zh", "tasks", "--as", "liu.yang", "--cc").output
    assert "张伟（zhang.wei）" in copied
    assert "待审批" in copied
    assert "编号 number" in jiedai("--lang", "both", "tasks", "--as", "li.na").output
    jiedai("proxy", "set", "--as", "li.na", "--stand-in", "zhou.lei", *AWAY, "--reason", "出差")
    listed = jiedai("--lang", "zh", "proxy", "list").output
    assert "李娜" in listed
    assert "周磊" in listed
    assert "stand-in" not in listed


def test_a_token_is_revoked_by_the_id_token_list_shows_or_a_unique_prefix(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``token list`` shows whole ids (a cut one could not be revoked); ``token revoke`` takes a
    unique prefix of at least 6 characters, and a prefix of several is refused naming them."""
    del site
    made = iter(["abcdef01" + "0" * 24, "abcdef02" + "0" * 24, *(f"{n:032x}" for n in range(15))])
    monkeypatch.setattr("jiedai_flow.server.tokens.new_id", lambda: next(made))
    ids = [as_json("token", "create", "--actor", "zhang.wei")["id"] for _ in range(17)]
    listed = jiedai("token", "list").output
    assert all(i in listed for i in ids)
    first, second = ids[:2]
    refused = jiedai("token", "revoke", "abcdef0", code=2)
    assert "对应多个令牌" in refused.output
    assert first in refused.output
    assert as_json("token", "revoke", "abcdef01")["id"] == first
    again = jiedai("token", "revoke", first).output  # said as what it is, not as a new revocation
    assert "吊销过" in again
    assert "already revoked" in again
    assert as_json("token", "revoke", first)["already"] is True
    assert "没有令牌" in jiedai("token", "revoke", "zz-none", code=2).output
    revoked = {t["id"]: t["revoked_at"] for t in as_json("token", "list")}
    assert revoked[first]
    assert not revoked[second]


def test_token_list_in_an_80_column_terminal_cuts_nothing(site: Site) -> None:
    """In a narrow terminal the id stays whole on its line (to copy for ``token revoke``) and the
    other columns wrap rather than end in "…"."""
    from click.testing import CliRunner
    from rich.cells import cell_len

    from jiedai_flow.cli import main

    del site
    label = "财政局预算一体化系统对接（生产环境）"
    made = as_json("token", "create", "--actor", "zhang.wei", "--label", label)
    env = {"COLUMNS": "80", "JIEDAI_DISABLE_PLUGIN_AUTOLOAD": "1"}
    shown = CliRunner().invoke(main, ["token", "list"], env=env, prog_name="jiedai").output
    assert "…" not in shown
    rows = [line.split("│") for line in shown.splitlines() if "│" in line]  # a table without an edge
    assert max(cell_len(line) for line in shown.splitlines()) <= 80
    assert rows[0][0].strip() == made["id"]
    assert "".join(cells[1].strip() for cells in rows) == "zhang.wei"
    assert "".join(cells[2].strip() for cells in rows) == label


def test_a_misspelt_department_in_a_countersign_is_refused_at_submission(site: Site) -> None:
    """The county's standards file names 「县财政厅」 for 「县财政局」: with the actors file listing
    everyone, the submission is refused (exit code 4) naming the step and the nearest department,
    before a task nobody could claim is opened."""
    from pathlib import Path

    standards = Path("jiedai-standards.toml")
    text = standards.read_text(encoding="utf-8")
    standards.write_text(
        text + '\n[[standards.countersigns]]\nlabel = "财政会签"\nkind = "parallel"\nunits = ["县财政厅"]\n',
        encoding="utf-8",
    )
    actors = Path("jiedai-actors.toml")
    actors.write_text(
        actors.read_text(encoding="utf-8")
        + '\n[[actor]]\nid = "qian.cz"\nname = "钱财政"\nroles = ["approver"]\nunit = "县财政局"\n',
        encoding="utf-8",
    )
    rid = site.new()
    refused = jiedai("submit", rid, "--as", "zhang.wei", code=4)
    assert "「财政会签」" in refused.output
    assert "是不是「县财政局」" in refused.output
    assert as_json("show", rid)["reception"]["state"] == "draft"


def test_read_has_no_reason_option(site: Site) -> None:
    """已阅 carries no text (docs/approvals.md): ``jiedai read`` offered ``--reason`` 理由或意见 and
    then refused whatever was typed there. It has no such option; the operations that do take a
    reason keep theirs."""
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("cc", rid, "--as", "zhang.wei", "--to", "liu.yang")
    assert "--reason" not in jiedai("read", "--help").output
    refused = jiedai("read", rid, "--as", "liu.yang", "--reason", "纪检意见", code=2)
    assert "--reason" in refused.output
    assert as_json("tasks", "--as", "liu.yang", "--counts")["cc_unread"] == 1  # nothing was done
    jiedai("read", rid, "--as", "liu.yang")
    assert as_json("tasks", "--as", "liu.yang", "--counts")["cc_unread"] == 0
    for taking in ("comment", "urge", "add-signer", "transfer"):
        assert "--reason" in jiedai(taking, "--help").output, taking


def test_add_signer_without_a_position_adds_after_or_alongside_as_the_step_takes_them(site: Site) -> None:
    """``--position`` left out: after the adder on an ordinary step, alongside on a 票签 — which
    takes nothing else, so the old default (after) was refused there with exit code 3."""
    from pathlib import Path

    from tests._http_server import COUNTERSIGN_ACTORS

    actors = Path("jiedai-actors.toml")
    actors.write_text(actors.read_text(encoding="utf-8") + COUNTERSIGN_ACTORS, encoding="utf-8")
    standards = Path("jiedai-standards.toml")
    vote = '[[standards.countersigns]]\nlabel = "党组会票签"\nkind = "vote"\npeople = ["qian.bo", "zheng.li"]'
    standards.write_text(standards.read_text(encoding="utf-8") + f"\n{vote}\n", encoding="utf-8")
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("add-signer", rid, "--as", "sun.hao", "--to", "wu.gang", "--reason", "请吴刚在我之后审")
    assert as_json("tasks", "--as", "wu.gang")["items"] == []  # after 孙浩
    jiedai("approve", rid, "--as", "sun.hao")
    assert [r["reception_id"] for r in as_json("tasks", "--as", "wu.gang")["items"]] == [rid]
    jiedai("approve", rid, "--as", "wu.gang")
    jiedai("approve", rid, "--as", "li.na")
    assert [r["reception_id"] for r in as_json("tasks", "--as", "qian.bo")["items"]] == [rid]  # the vote
    named = ("add-signer", rid, "--as", "qian.bo", "--to", "he.ping", "--reason", "请何平也投票")
    refused = jiedai(*named, "--position", "after", code=3)
    assert "只能并加签" in refused.output
    jiedai(*named)
    assert [r["reception_id"] for r in as_json("tasks", "--as", "he.ping")["items"]] == [rid]  # at once
    assert "[default: after]" not in jiedai("add-signer", "--help").output


def test_a_pool_task_a_colleague_claimed_is_refused_naming_them(site: Site) -> None:
    """钱博 and 孙浩 are both 部门负责人: 钱博 claims the pool's task first, so 孙浩's claim or
    signature is refused saying 钱博 has it (exit code 3), not 「无权」 (exit code 2) — which stays
    for 李娜, an approver of another level."""
    from pathlib import Path

    actors = Path("jiedai-actors.toml")
    actors.write_text(
        actors.read_text(encoding="utf-8")
        + '\n[[actor]]\nid = "qian.bo"\nname = "钱博"\nroles = ["approver"]\nlevels = ["部门负责人"]\n',
        encoding="utf-8",
    )
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("claim-task", rid, "--as", "qian.bo")
    for args in (("claim-task", rid), ("approve", rid, "--reason", "同意")):
        lost = jiedai(*args, "--as", "sun.hao", code=3)
        assert "「部门负责人」的任务已由 钱博（qian.bo） 认领" in lost.output
        assert "无权" not in lost.output
    assert "无权" in jiedai("approve", rid, "--as", "li.na", code=2).output


def test_refusals_name_the_option_to_give(site: Site) -> None:
    """A refusal about one field names the option that fills it: --reason for a missing reason,
    --to for 抄送 to nobody or a stand-in ending before it starts, --after for a bad cursor; in
    ``--json`` the problem's path is the option."""
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    backwards = ("--stand-in", "li.na", "--from", "2026-03-10", "--to", "2026-03-01")
    for args, option, code in (
        (("transfer", rid, "--as", "sun.hao", "--to", "li.na"), "--reason", 2),
        (("return", rid, "--as", "sun.hao"), "--reason", 2),
        (("cc", rid, "--as", "zhang.wei", "--to", ""), "--to", 3),
        (("proxy", "set", "--as", "sun.hao", *backwards), "--to", 3),
    ):
        said = jiedai(*args, code=code).output
        assert option in said, (args, said)
        error = as_json(*args, code=code)["error"]
        assert [p["path"] for p in error["problems"]] == [option], args
    nobody = jiedai("cc", rid, "--as", "zhang.wei", "--to", "", code=3).output
    assert "未给出抄送人" in nobody
    assert "参与人名单里没有" not in nobody
    bad = jiedai("tasks", "--as", "sun.hao", "--after", "garbage", code=2).output
    assert "--after" in bad
    error = as_json("tasks", "--as", "sun.hao", "--after", "garbage", code=2)["error"]
    assert [p["path"] for p in error["problems"]] == ["--after"]


def test_a_stand_in_period_of_a_mistyped_year_is_a_usage_error_naming_the_option(site: Site) -> None:
    """``proxy set --from 0001-01-01`` or ``--to 9999-12-31`` is refused, exit 2 without a traceback,
    Chinese first then English, naming --from or --to (both when both are wrong); nothing is set."""
    today = date.today()
    for first, last, options in (
        ("0001-01-01", str(today), ["--from"]),
        (str(today), "9999-12-31", ["--to"]),
        ("0001-01-01", "9999-12-31", ["--from", "--to"]),
        (str(today - timedelta(days=400)), str(today + timedelta(days=400)), ["--from", "--to"]),
    ):
        args = ("proxy", "set", "--as", "sun.hao", "--stand-in", "li.na", "--from", first, "--to", last)
        said = jiedai(*args, code=2).output
        for option in options:
            assert f"  - {option}：" in said, said
        assert said.index("超过一年") < said.index("more than a year"), said
        error = json.loads(jiedai("--json", *args, code=2).stdout)["error"]
        assert (error["code"], error["exit_code"]) == ("validation", 2)
        assert [p["path"] for p in error["problems"]] == options
    english = jiedai("--lang", "en", "proxy", "set", "--as", "sun.hao", "--stand-in", "li.na",
                     "--from", "0001-01-01", "--to", str(today), code=2).output  # fmt: skip
    assert "--from: start 0001-01-01 is more than a year before today" in english
    assert as_json("proxy", "list") == []


def test_fire_points_an_approval_operation_to_its_own_command(site: Site) -> None:
    """``fire ID 转办`` or ``fire ID urge`` is the wrong command, not a missing 「操作值 Transfer」:
    the message names the operation's own command (a usage error, exit code 2)."""
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    for trigger, command in (
        ("转办", "jiedai transfer"),
        ("urge", "jiedai urge"),
        ("认领", "jiedai claim-task"),
    ):
        said = jiedai("fire", rid, trigger, "--as", "sun.hao", "--reason", "x", code=2).output
        assert f"{command} {rid} --as sun.hao" in said, said
        assert "操作值" not in said
    with_task = jiedai(
        "fire", rid, "转办", "--as", "sun.hao", "--reason", "x", "--task", "abc", code=2
    ).output
    assert "jiedai transfer" in with_task  # not an internal error
