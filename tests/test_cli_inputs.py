"""Input mistakes on the command line, from a CLI review: each ends in a message that names what
is wrong (the file, field path and line where there is one) and the usage exit code 2, never a
traceback, an internal error, or a command that goes ahead and does something else."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.test_cli import as_json, jiedai, site

if TYPE_CHECKING:
    from tests.test_cli import Site

__all__ = ["site"]


# -- the standards file ------------------------------------------------------------------------------

TOO_LONG = [
    ("claim_deadline_months = 1", "claim_deadline_months = 99999999999999", "0 到 120"),
    ("claim_deadline_months = 1", "claim_deadline_months = 120000", "0 到 120"),
    ("claim_deadline_months = 1", "claim_deadline_days = 3661", "0 到 3660"),
    ("claim_deadline_months = 1", "approval_deadline_workdays = 251", "0 到 250"),
    ("claim_deadline_months = 1", "retroactive_window_days = 100000000", "0 到 366"),
]


@pytest.mark.parametrize(("old", "new", "bounds"), TOO_LONG, ids=[t[1] for t in TOO_LONG])
def test_a_time_limit_past_the_calendar_is_refused_when_the_standards_load(
    site: Site, old: str, new: str, bounds: str
) -> None:
    """A limit added to dates is bounded when the file is read, at its field and line, rather
    than loading and then breaking F-04 (OverflowError) or ``remind`` (an internal error)."""
    text = (site.path / "jiedai-standards.toml").read_text(encoding="utf-8")
    assert old in text
    (site.path / "t6.toml").write_text(text.replace(old, new), encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row == old)
    field = new.split(" = ")[0]
    refused = jiedai("--standards", "t6.toml", "list", code=2).output
    assert f"$.standards.{field}（第 {line} 行" in refused
    assert bounds in refused
    assert "t6.toml" in refused


def test_the_longest_time_limits_still_work_to_the_end(site: Site) -> None:
    """At the bounds the dates stay inside the calendar: ``show`` judges F-04 without an error."""
    text = (site.path / "jiedai-standards.toml").read_text(encoding="utf-8")
    longest = text.replace(
        "claim_deadline_months = 1",
        "claim_deadline_months = 120\nclaim_deadline_days = 3660\n"
        "approval_deadline_workdays = 250\nretroactive_window_days = 366",
    )
    (site.path / "long.toml").write_text(longest, encoding="utf-8")
    rid = str(as_json("--standards", "long.toml", "new", "jiedai-reception.toml")["id"])
    jiedai("--standards", "long.toml", "submit", rid, "--as", "zhang.wei")
    jiedai("--standards", "long.toml", "show", rid)
    jiedai("--standards", "long.toml", "remind", "--today", "2026-12-31")


# -- the actors file ---------------------------------------------------------------------------------


def test_a_blank_id_or_name_in_the_actors_file_is_named_at_its_place(site: Site) -> None:
    """As every other mistake in the actors file: the file, the field path and the line, all at once
    (it used to say only 「「id」不能为空」 once ``--as`` built the actor)."""
    rid = site.new()
    text = (site.path / "jiedai-actors.toml").read_text(encoding="utf-8")
    blank = text.replace('id = "zhang.wei"', 'id = ""', 1).replace('name = "张伟"', 'name = "  "', 1)
    (site.path / "a.toml").write_text(blank, encoding="utf-8")
    lines = text.splitlines()
    id_line, name_line = lines.index('id = "zhang.wei"') + 1, lines.index('name = "张伟"') + 1
    refused = jiedai("--actors", "a.toml", "submit", rid, "--as", "zhao.min", code=2).output
    assert "a.toml" in refused
    assert f"$.actor[0].id（第 {id_line} 行" in refused
    assert f"$.actor[0].name（第 {name_line} 行" in refused


# -- approval operations -----------------------------------------------------------------------------


def test_jump_takes_a_state_or_a_step_not_both(site: Site) -> None:
    """Both went to the state while the audit note said 「跳转到第 1 环节」: a usage error, nothing done."""
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    both = ("--state", "draft", "--to-step", "1")
    refused = jiedai("jump", rid, "--as", "admin", *both, "--reason", "x", code=2)
    assert "--state 与 --to-step 只能选一个" in refused.output
    assert as_json("show", rid)["reception"]["state"] == "submitted"
    jiedai("jump", rid, "--as", "admin", "--state", "draft", "--reason", "退回经办人")
    assert as_json("show", rid)["reception"]["state"] == "draft"


def test_assign_refuses_an_owner_nobody_knows_as_transfer_and_cc_do(site: Site) -> None:
    """An execution task for an unknown id was one nobody could ever complete; none is made."""
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    jiedai("approve", rid, "--as", "sun.hao")
    jiedai("approve", rid, "--as", "li.na")
    items = ("--item", "接站=zhao.min", "--item", "工作餐=ghost")
    refused = jiedai("assign", rid, "--as", "chen.jie", *items, code=2).output
    assert "参与人名单里没有 ghost" in refused
    assert not [t for t in as_json("show", rid)["reception"]["tasks"] if t["kind"] == "execution"]
    jiedai("assign", rid, "--as", "chen.jie", "--item", "接站=zhao.min", "--item", "会议室=unit:县政府办公室")


# -- tokens --------------------------------------------------------------------------------------------


def test_token_revoke_wants_the_id_not_the_token_and_not_one_character(site: Site) -> None:
    """The token itself is not its id (the hint says where ids are, and the secret is not echoed);
    a prefix of one character revoked whichever token it matched."""
    del site
    made = as_json("token", "create", "--actor", "zhang.wei")
    secret, token_id = made["token"], made["id"]
    mistaken = jiedai("token", "revoke", secret, code=2).output
    assert "是令牌本身，不是它的 ID" in mistaken
    assert "token list" in mistaken
    assert secret not in mistaken
    short = jiedai("token", "revoke", token_id[0], code=2).output
    assert "前缀至少 6 位" in short
    unknown = jiedai("token", "revoke", "zz-none", code=2).output
    assert "没有令牌 zz-none；令牌的 ID 见 jiedai token list" in unknown
    assert not as_json("token", "list")[0]["revoked_at"]
    assert as_json("token", "revoke", token_id[:6])["id"] == token_id


def test_an_unknown_person_after_to_or_stand_in_is_a_usage_error_as_after_as(site: Site) -> None:
    """A misspelt id is the same mistake after ``--to`` or ``--stand-in`` as after ``--as``: exit 2
    (it was 3, a conflict), and nothing happens."""
    rid = site.new()
    jiedai("submit", rid, "--as", "zhang.wei")
    for command, option in (("transfer", "--to"), ("delegate", "--to"), ("cc", "--to")):
        reason = () if command == "cc" else ("--reason", "x")
        refused = jiedai(command, rid, "--as", "sun.hao", option, "ghost", *reason, code=2).output
        assert "参与人名单里没有 ghost" in refused
    days = ("--from", "2026-01-01", "--to", "2026-02-01", "--reason", "出差")
    jiedai("proxy", "set", "--as", "sun.hao", "--stand-in", "ghost", *days, code=2)
    jiedai("proxy", "set", "--as", "admin", "--for", "ghost", "--stand-in", "li.na", *days, code=2)
    assert as_json("proxy", "list") == []
    known = jiedai("transfer", rid, "--as", "sun.hao", "--to", "zhang.wei", "--reason", "x", code=3)
    assert "经办人" in known.output  # a known person the operation may still refuse
